// Resource quantities ("100m", "1.5Gi", "12e6"). Invariants: nothing crashes or hangs; the
// canonical form of a quantity is a quantity whose canonical form is itself, and compares
// equal to the original.
#include <string>

#include "api/quantity.h"
#include "fuzz/fuzz_util.h"

using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto canonical = api::CanonicalQuantity(text);
  if (!canonical) return 0;
  // As upstream's, the canonical form of a binary quantity that is not a whole number of Ki
  // can read back as a decimal one ("1025033451004096000" -> "1025033451004096k"): the form
  // settles after one more step.
  auto again = api::CanonicalQuantity(*canonical);
  fuzz::Check(again.has_value(), "a canonical quantity does not parse", *canonical);
  auto third = api::CanonicalQuantity(*again);
  fuzz::Check(third == again, "the canonical form is not stable", *canonical + " -> " + *again);
  fuzz::Check(api::CompareQuantities(*canonical, *again) == std::optional<int>(0) ||
                  !api::QuantityNanos(*canonical),
              "canonical forms differ in value", *canonical + " -> " + *again);
  // The value is kept exactly up to 10^18 units; beyond, the canonical form may round.
  auto nanos = api::QuantityNanos(text);
  constexpr __int128 kExact = static_cast<__int128>(1000000000000000000LL) * 1000000000;
  if (nanos && *nanos < kExact && *nanos > -kExact) {
    fuzz::Check(api::QuantityNanos(*canonical) == nanos, "the canonical form has another value",
                std::string(text) + " -> " + *canonical);
    fuzz::Check(api::CompareQuantities(text, *canonical) == 0,
                "a quantity does not equal its canonical form", std::string(text));
  }
  return 0;
}
