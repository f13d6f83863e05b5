#include "apiserver/cron.h"

#include <sys/stat.h>

#include <cctype>
#include <charconv>
#include <vector>

namespace keelson::apiserver {
namespace {

struct Bounds {
  unsigned min, max;
  const char* const* names;  // lower-case names of min, min+1, ...; null when none
};

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec", nullptr};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

// Go's strings.Fields: split on runs of white space.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::string GoQuoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// strconv.Atoi, then non-negative, with robfig's messages.
Result<unsigned> ParseInt(std::string_view expr) {
  std::string_view digits = expr;
  bool neg = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    neg = digits[0] == '-';
    digits.remove_prefix(1);
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || end != digits.data() + digits.size() || ec == std::errc::invalid_argument) {
    return InvalidArgumentError("failed to parse int from " + std::string(expr) +
                                ": strconv.Atoi: parsing " + GoQuoted(expr) + ": invalid syntax");
  }
  if (ec == std::errc::result_out_of_range) {
    return InvalidArgumentError("failed to parse int from " + std::string(expr) +
                                ": strconv.Atoi: parsing " + GoQuoted(expr) +
                                ": value out of range");
  }
  if (neg && value != 0) {
    return InvalidArgumentError("negative number (-" + std::to_string(value) +
                                ") not allowed: " + std::string(expr));
  }
  if (value > 0xffffffffLL) value = 0xffffffffLL;  // beyond every bound either way
  return static_cast<unsigned>(value);
}

Result<unsigned> ParseIntOrName(std::string_view expr, const Bounds& b) {
  if (b.names != nullptr) {
    std::string lower(expr);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (unsigned i = 0; b.names[i] != nullptr; ++i) {
      if (lower == b.names[i]) return b.min + i;
    }
  }
  return ParseInt(expr);
}

struct FieldBits {
  uint64_t bits = 0;
  bool star = false;
};

Result<FieldBits> ParseRange(std::string_view expr, const Bounds& b) {
  auto range_and_step = Split(expr, '/');
  auto low_and_high = Split(range_and_step[0], '-');
  bool single = low_and_high.size() == 1;
  unsigned start = 0, end = 0, step = 1;
  bool star = false;
  if (low_and_high[0] == "*" || low_and_high[0] == "?") {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    auto s = ParseIntOrName(low_and_high[0], b);
    if (!s.ok()) return s.status();
    start = end = *s;
    if (low_and_high.size() == 2) {
      auto e = ParseIntOrName(low_and_high[1], b);
      if (!e.ok()) return e.status();
      end = *e;
    } else if (low_and_high.size() > 2) {
      return InvalidArgumentError("too many hyphens: " + std::string(expr));
    }
  }
  if (range_and_step.size() == 2) {
    auto st = ParseInt(range_and_step[1]);
    if (!st.ok()) return st.status();
    step = *st;
    if (single) end = b.max;  // "N/step" means "N-max/step"
    if (step > 1) star = false;
  } else if (range_and_step.size() > 2) {
    return InvalidArgumentError("too many slashes: " + std::string(expr));
  }
  std::string e(expr);
  if (start < b.min) {
    return InvalidArgumentError("beginning of range (" + std::to_string(start) +
                                ") below minimum (" + std::to_string(b.min) + "): " + e);
  }
  if (end > b.max) {
    return InvalidArgumentError("end of range (" + std::to_string(end) + ") above maximum (" +
                                std::to_string(b.max) + "): " + e);
  }
  if (start > end) {
    return InvalidArgumentError("beginning of range (" + std::to_string(start) +
                                ") beyond end of range (" + std::to_string(end) + "): " + e);
  }
  if (step == 0) return InvalidArgumentError("step of range should be a positive number: " + e);
  FieldBits out;
  for (unsigned i = start; i <= end; i += step) out.bits |= uint64_t{1} << i;
  out.star = star;
  return out;
}

Result<FieldBits> ParseField(std::string_view field, const Bounds& b) {
  FieldBits out;
  for (auto expr : Split(field, ',')) {
    if (expr.empty()) continue;  // strings.FieldsFunc drops empty parts
    auto r = ParseRange(expr, b);
    if (!r.ok()) return r.status();
    out.bits |= r->bits;
    out.star = out.star || r->star;
  }
  return out;
}

// Go's time.ParseDuration; the value in nanoseconds.
Result<int64_t> ParseDuration(std::string_view text) {
  std::string quoted = GoQuoted(text);
  std::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return InvalidArgumentError("time: invalid duration " + quoted);
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    std::string_view number = s.substr(0, i);
    if (number.empty() || number == "." || number.find('.') != number.rfind('.')) {
      return InvalidArgumentError("time: invalid duration " + quoted);
    }
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !std::isdigit(static_cast<unsigned char>(s[u]))) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    if (unit.empty()) return InvalidArgumentError("time: missing unit in duration " + quoted);
    double scale = 0;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else {
      return InvalidArgumentError("time: unknown unit " + GoQuoted(unit) + " in duration " +
                                  quoted);
    }
    total += std::stod(std::string(number)) * scale;
    if (total > 9.223372036854775807e18) {
      return InvalidArgumentError("time: invalid duration " + quoted);
    }
  }
  return static_cast<int64_t>(neg ? -total : total);
}

}  // namespace

std::string LoadLocationError(std::string_view name) {
  if (name.empty() || name == "UTC" || name == "Local") return "";
  if (name.find("..") != std::string_view::npos || name[0] == '/' || name[0] == '\\') {
    return "time: invalid location name";
  }
  struct stat st;
  if (stat("/usr/share/zoneinfo", &st) != 0) return "";  // no database to check against
  std::string path = "/usr/share/zoneinfo/" + std::string(name);
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return "unknown time zone " + std::string(name);
  }
  return "";
}

Result<CronSchedule> ParseCronSchedule(std::string_view spec) {
  if (spec.empty()) return InvalidArgumentError("empty spec string");
  CronSchedule out;
  if (spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=")) {
    size_t eq = spec.find('=');
    size_t space = spec.find(' ');
    std::string_view zone = space == std::string_view::npos
                                ? spec.substr(eq + 1)
                                : spec.substr(eq + 1, space - eq - 1);
    std::string err = LoadLocationError(zone);
    if (space == std::string_view::npos && err.empty()) {
      err = "unknown time zone " + std::string(zone);
    }
    if (!err.empty()) {
      return InvalidArgumentError("provided bad location " + std::string(zone) + ": " + err);
    }
    out.time_zone = std::string(zone);
    spec = spec.substr(space);
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.front()))) {
      spec.remove_prefix(1);
    }
    while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back()))) {
      spec.remove_suffix(1);
    }
  }
  if (spec.starts_with("@")) {
    static constexpr std::pair<std::string_view, const char*> kDescriptors[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    for (auto [name, fields] : kDescriptors) {
      if (spec == name) {
        auto parsed = ParseCronSchedule(fields);
        if (parsed.ok()) parsed->time_zone = out.time_zone;
        return parsed;
      }
    }
    constexpr std::string_view kEvery = "@every ";
    if (spec.starts_with(kEvery)) {
      auto d = ParseDuration(spec.substr(kEvery.size()));
      if (!d.ok()) {
        return InvalidArgumentError("failed to parse duration " + std::string(spec) + ": " +
                                    d.status().message());
      }
      out.every_ns = *d;
      return out;
    }
    return InvalidArgumentError("unrecognized descriptor: " + std::string(spec));
  }
  auto fields = Fields(spec);
  if (fields.size() != 5) {
    std::string list;
    for (auto f : fields) list += (list.empty() ? "" : " ") + std::string(f);
    return InvalidArgumentError("expected exactly 5 fields, found " +
                                std::to_string(fields.size()) + ": [" + list + "]");
  }
  static constexpr Bounds kBounds[] = {
      {0, 59, nullptr}, {0, 23, nullptr}, {1, 31, nullptr}, {1, 12, kMonths}, {0, 6, kDays}};
  FieldBits bits[5];
  for (size_t i = 0; i < 5; ++i) {
    auto b = ParseField(fields[i], kBounds[i]);
    if (!b.ok()) return b.status();
    bits[i] = *b;
  }
  out.minute = bits[0].bits;
  out.hour = bits[1].bits;
  out.day_of_month = bits[2].bits;
  out.any_day_of_month = bits[2].star;
  out.month = bits[3].bits;
  out.day_of_week = bits[4].bits;
  out.any_day_of_week = bits[4].star;
  return out;
}

}  // namespace keelson::apiserver
