// Resource quantities ("100m", "1.5Gi", "12e6"): parsing and the canonical form upstream
// stores and prints them in (1000m is "1", 0.5 is "500m", 1024Mi is "1Gi", 1.5Gi is
// "1536Mi"). Values are kept to nano precision, rounded up, as upstream does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keelson::api {

// The canonical form of a quantity, or nullopt when `text` is not a quantity. Quantities
// beyond the range this handles (magnitudes over about 10^27) come back unchanged.
std::optional<std::string> CanonicalQuantity(std::string_view text);

// -1, 0 or 1 as `a` is less than, equal to or greater than `b`; nullopt when either is not a
// quantity or is beyond the range this handles.
std::optional<int> CompareQuantities(std::string_view a, std::string_view b);

// The value of a quantity in nano units (1 is 10^9, "100m" is 10^8), rounded up as the
// canonical form is; nullopt when `text` is not a quantity or is out of that range.
std::optional<__int128> QuantityNanos(std::string_view text);

}  // namespace keelson::api
