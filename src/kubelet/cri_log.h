// Container logs as the runtime writes them, in the CRI log format (one entry a line):
//
//   <RFC 3339 time with nanoseconds> <stdout|stderr> <F|P>[:more tags] <text>
//
// where P marks a partial entry (the runtime split a long line; the next entries continue it
// until an F). ReadCriLog() turns such a file into what `kubectl logs` shows, with upstream
// kubelet's options (tailLines, sinceTime/sinceSeconds, timestamps, limitBytes, follow),
// following the file as it grows and across rotation (the file renamed away and a new one
// created at its path) until the container exits.
//
// Pure functions and one blocking reader; thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/status.h"

namespace keelson::kubelet {

struct CriLogEntry {
  std::string timestamp;  // as written
  std::chrono::system_clock::time_point time;
  std::string stream;    // "stdout" or "stderr"
  bool partial = false;  // tagged P: the line goes on in the next entry
  std::string text;      // without the file's newline
};

// Parses one line of a log file (without its newline). InvalidArgument when it is not an
// entry (a bad time, stream or tag).
Result<CriLogEntry> ParseCriLogLine(std::string_view line);

// An RFC 3339 time with optional fraction and a Z or ±hh:mm offset; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view text);

struct CriLogOptions {
  bool timestamps = false;             // each line starts with its entry's time
  std::optional<int64_t> tail_lines;   // only the last N lines of the file
  std::optional<int64_t> limit_bytes;  // at most N bytes of output
  std::optional<std::chrono::system_clock::time_point> since;  // entries from then on
  bool follow = false;  // keep reading until the container exits
};

// What one entry adds to the output, given whether the output is at the start of a line
// (a partial entry's continuation gets no timestamp). Updates `at_line_start`.
std::string FormatCriLogEntry(const CriLogEntry& entry, bool timestamps, bool* at_line_start);

struct CriLogFollow {
  // Whether the container may still write (checked while the file does not grow); once it
  // says false, what the file holds is read and the reader returns.
  std::function<bool()> running;
  std::chrono::milliseconds poll_interval{100};
  // How often `running` is asked while the file does not grow.
  std::chrono::milliseconds running_check_interval{500};
};

// Reads the log file at `path` as `options` say and passes the output to `sink` in pieces
// (a false return stops reading). With options.follow, waits for more as `follow` says until
// the container has exited, `stop` is requested, or `sink` refuses. Lines that are not
// entries are skipped. Errors: NotFound when the file does not exist (and, following, is not
// created within a second); Internal for a read error.
Status ReadCriLog(const std::string& path, const CriLogOptions& options,
                  const std::function<bool(std::string_view)>& sink, const CriLogFollow& follow,
                  std::stop_token stop = {});

}  // namespace keelson::kubelet
