#include "cmd/flags.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <optional>
#include <cstdlib>

namespace keelson::cmd {

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  auto bad = [&] { return InvalidArgumentError("invalid duration \"" + std::string(text) + "\""); };
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return bad();
  long double total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t n = 0;
    while (n < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[n])) || rest[n] == '.')) {
      ++n;
    }
    if (n == 0) return bad();
    std::string number(rest.substr(0, n));
    char* end = nullptr;
    long double value = std::strtold(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return bad();
    rest.remove_prefix(n);
    size_t u = 0;
    while (u < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[u])) && rest[u] != '.') ++u;
    std::string_view unit = rest.substr(0, u);
    rest.remove_prefix(u);
    long double scale = unit == "ns" ? 1
                        : unit == "us" || unit == "µs" ? 1e3
                        : unit == "ms" ? 1e6
                        : unit == "s" ? 1e9
                        : unit == "m" ? 60e9
                        : unit == "h" ? 3600e9
                                      : -1;
    if (scale < 0) return bad();
    total += value * scale;
  }
  if (total > 9.2e18L) return bad();
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
}

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d.count() == 0) return "0s";
  if (d < seconds(1)) {
    if (d.count() % 1000000 == 0) return std::to_string(d.count() / 1000000) + "ms";
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "us";
    return std::to_string(d.count()) + "ns";
  }
  std::string out;
  auto h = duration_cast<hours>(d);
  auto m = duration_cast<minutes>(d - h);
  auto s = duration<double>(d - h - m).count();
  if (h.count()) out += std::to_string(h.count()) + "h";
  if (h.count() || m.count()) out += std::to_string(m.count()) + "m";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", s);
  return out + buf + "s";
}

void FlagSet::String(std::string name, std::string* out, std::string help) {
  Custom(std::move(name), "string", [out](std::string_view v) {
    *out = std::string(v);
    return std::string();
  }, std::move(help));
}

void FlagSet::Int(std::string name, int* out, int min, int max, std::string help) {
  Custom(std::move(name), "int", [out, min, max](std::string_view v) -> std::string {
    std::string s(v);
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || n < min || n > max) {
      return "needs a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    }
    *out = static_cast<int>(n);
    return "";
  }, std::move(help));
}

void FlagSet::Int64(std::string name, int64_t* out, int64_t min, int64_t max, std::string help) {
  Custom(std::move(name), "int", [out, min, max](std::string_view v) -> std::string {
    std::string s(v);
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0 || n < min || n > max) {
      return "needs a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    }
    *out = n;
    return "";
  }, std::move(help));
}

void FlagSet::Double(std::string name, double* out, double min, double max, std::string help) {
  Custom(std::move(name), "float", [out, min, max](std::string_view v) -> std::string {
    std::string s(v);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(d >= min && d <= max)) return "needs a number in range";
    *out = d;
    return "";
  }, std::move(help));
}

void FlagSet::Bool(std::string name, bool* out, std::string help) {
  Custom(std::move(name), "", [out](std::string_view v) -> std::string {
    if (v == "true" || v == "1" || v == "t" || v == "True" || v == "TRUE") {
      *out = true;
    } else if (v == "false" || v == "0" || v == "f" || v == "False" || v == "FALSE") {
      *out = false;
    } else {
      return "needs true or false";
    }
    return "";
  }, std::move(help), /*is_bool=*/true);
}

void FlagSet::Duration(std::string name, std::chrono::nanoseconds* out, std::string help) {
  Custom(std::move(name), "duration", [out](std::string_view v) -> std::string {
    auto d = ParseGoDuration(v);
    if (!d.ok() || d->count() < 0) return "needs a duration such as 40s, 1m30s or 500ms";
    *out = *d;
    return "";
  }, std::move(help));
}

void FlagSet::List(std::string name, std::vector<std::string>* out, std::string help) {
  Custom(std::move(name), "strings", [out](std::string_view v) -> std::string {
    out->clear();
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      if (!item.empty()) out->emplace_back(item);
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
    return "";
  }, std::move(help));
}

void FlagSet::Custom(std::string name, std::string value_name,
                     std::function<std::string(std::string_view)> parse, std::string help,
                     bool is_bool) {
  flags_.push_back({std::move(name), std::move(value_name), std::move(help), is_bool,
                    std::move(parse)});
}

Status FlagSet::Parse(int argc, char** argv, bool* help) {
  *help = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return Status::Ok();
    }
    if (arg.substr(0, 2) != "--") {
      return InvalidArgumentError("unexpected argument \"" + std::string(arg) + "\"");
    }
    std::string_view name = arg.substr(2);
    std::optional<std::string_view> value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Flag* flag = nullptr;
    for (const auto& f : flags_) {
      if (f.name == name) flag = &f;
    }
    if (!flag) return InvalidArgumentError("unknown flag: --" + std::string(name));
    if (!value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return InvalidArgumentError("flag needs an argument: --" + std::string(name));
      }
    }
    if (std::string e = flag->parse(*value); !e.empty()) {
      return InvalidArgumentError("invalid argument \"" + std::string(*value) + "\" for --" +
                                  std::string(name) + ": " + e);
    }
  }
  return Status::Ok();
}

std::string FlagSet::Usage() const {
  std::string out = "Flags:\n";
  for (const auto& f : flags_) {
    std::string head = "  --" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
    if (head.size() < 40) {
      head.resize(40, ' ');
    } else {
      head += "\n" + std::string(40, ' ');
    }
    // Help lines wrap onto the same column.
    std::string help;
    for (char c : f.help) help += c == '\n' ? std::string("\n") + std::string(40, ' ') : std::string(1, c);
    out += head + help + "\n";
  }
  out += "  -h, --help                            show this help\n";
  return out;
}

}  // namespace keelson::cmd
