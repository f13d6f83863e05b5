// FlagSet: the commands' flags, parsed as upstream's components parse theirs (pflag):
// `--name value` or `--name=value`; booleans as `--name`, `--name=true|false`; durations in
// Go's form ("40s", "1m30s", "500ms", "2h"); lists comma-separated. Every flag carries its
// help line, printed by Usage() in the order flags were added.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keelson::cmd {

// A Go duration: a sequence of number+unit ("1h5m", "1.5s", "300ms"; units ns, us, ms, s, m,
// h); "0" alone is zero. InvalidArgument otherwise.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);
// The Go form of `d` ("1m30s", "500ms", "0s").
std::string FormatGoDuration(std::chrono::nanoseconds d);

class FlagSet {
 public:
  explicit FlagSet(std::string command) : command_(std::move(command)) {}

  void String(std::string name, std::string* out, std::string help);
  void Int(std::string name, int* out, int min, int max, std::string help);
  void Int64(std::string name, int64_t* out, int64_t min, int64_t max, std::string help);
  void Double(std::string name, double* out, double min, double max, std::string help);
  void Bool(std::string name, bool* out, std::string help);
  void Duration(std::string name, std::chrono::nanoseconds* out, std::string help);
  void List(std::string name, std::vector<std::string>* out, std::string help);
  // A flag parsed by `parse` (an error message, or "" when the value is good).
  void Custom(std::string name, std::string value_name,
              std::function<std::string(std::string_view)> parse, std::string help,
              bool is_bool = false);

  // Parses argv[1..argc): InvalidArgument naming the flag for an unknown flag, a missing or
  // bad value. Sets *help when -h/--help was given (and parses nothing more).
  Status Parse(int argc, char** argv, bool* help);
  // "Flags:" and one entry per flag.
  std::string Usage() const;

 private:
  struct Flag {
    std::string name;
    std::string value_name;
    std::string help;
    bool is_bool = false;
    std::function<std::string(std::string_view)> parse;
  };
  std::string command_;
  std::vector<Flag> flags_;
};

}  // namespace keelson::cmd
