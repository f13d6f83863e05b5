// Times as the API writes them: metav1.MicroTime (Lease acquireTime and renewTime,
// events.k8s.io/v1 eventTime and series.lastObservedTime) and reading RFC 3339 back.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace keelson::client {

// RFC 3339 in UTC with six fractional digits: "2026-01-01T00:00:00.000000Z".
std::string FormatMicroTime(Clock::WallTime t);
// `t` cut to whole microseconds, as it reads back from FormatMicroTime.
Clock::WallTime TruncateToMicros(Clock::WallTime t);
// Reads an RFC 3339 time ("Z" or a numeric offset, with or without fractional seconds);
// nullopt when `text` is not one.
std::optional<Clock::WallTime> ParseTime(std::string_view text);

}  // namespace keelson::client
