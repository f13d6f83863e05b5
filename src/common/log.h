// Log lines of the long-running components (controllers, scheduler, agents), on stderr in
// klog's header format so that operators read them as they read upstream's:
//
//   I1205 21:50:00.123456   12345 deployment-controller] message
//
// One write per line, so lines from concurrent threads never interleave.
#pragma once

#include <string_view>

namespace keelson {

enum class LogSeverity { kInfo, kWarning, kError };

// Writes one line for `component` ("" for none).
void LogLine(LogSeverity severity, std::string_view component, std::string_view message);

inline void LogInfo(std::string_view component, std::string_view message) {
  LogLine(LogSeverity::kInfo, component, message);
}
inline void LogWarning(std::string_view component, std::string_view message) {
  LogLine(LogSeverity::kWarning, component, message);
}
inline void LogError(std::string_view component, std::string_view message) {
  LogLine(LogSeverity::kError, component, message);
}

}  // namespace keelson
