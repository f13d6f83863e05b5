#include "common/log.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace keelson {

void LogLine(LogSeverity severity, std::string_view component, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char letter = severity == LogSeverity::kInfo ? 'I' : severity == LogSeverity::kWarning ? 'W' : 'E';
  char header[64];
  std::snprintf(header, sizeof(header), "%c%02d%02d %02d:%02d:%02d.%06lld %7ld ", letter,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros), static_cast<long>(::syscall(SYS_gettid)));
  std::string line = header;
  line.append(component);
  line += "] ";
  line.append(message);
  line += '\n';
  // One write(2): concurrent lines do not interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace keelson
