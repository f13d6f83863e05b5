#include "api/fields.h"

#include <algorithm>
#include <cstdint>

#include "api/validation.h"

namespace keelson::api {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Byte length of the valid UTF-8 sequence starting at s[i], or 0 if the byte there does not
// start one (Go's range loop then yields U+FFFD for that single byte).
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  uint8_t c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

// Splits on commas that are not escaped; the backslashes stay in the terms.
std::vector<std::string_view> SplitTerms(std::string_view selector) {
  std::vector<std::string_view> terms;
  if (selector.empty()) return terms;
  size_t start = 0;
  bool in_slash = false;
  for (size_t i = 0; i < selector.size(); ++i) {
    if (in_slash) {
      in_slash = false;
    } else if (selector[i] == '\\') {
      in_slash = true;
    } else if (selector[i] == ',') {
      terms.push_back(selector.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.push_back(selector.substr(start));
  return terms;
}

struct SplitResult {
  std::string_view lhs;
  FieldRequirement::Operator op;
  std::string_view rhs;
};

// The first position where "!=", "==" or "=" starts splits the term (tried in that order, so
// "a==b" is not read as "a" "=" "=b").
std::optional<SplitResult> SplitTerm(std::string_view term) {
  for (size_t i = 0; i < term.size(); ++i) {
    std::string_view rest = term.substr(i);
    if (rest.starts_with("!=")) {
      return SplitResult{term.substr(0, i), FieldRequirement::Operator::kNotEquals, rest.substr(2)};
    }
    if (rest.starts_with("==")) {
      return SplitResult{term.substr(0, i), FieldRequirement::Operator::kEquals, rest.substr(2)};
    }
    if (rest.starts_with("=")) {
      return SplitResult{term.substr(0, i), FieldRequirement::Operator::kEquals, rest.substr(1)};
    }
  }
  return std::nullopt;
}

}  // namespace

std::string EscapeFieldValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

Result<std::string> UnescapeFieldValue(std::string_view value) {
  if (value.find_first_of("\\,=") == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size());
  bool in_slash = false;
  for (size_t i = 0; i < value.size();) {
    size_t len = Utf8Length(value, i);
    std::string_view rune = len == 0 ? kReplacementChar : value.substr(i, len);
    i += len == 0 ? 1 : len;
    if (in_slash) {
      if (rune != "\\" && rune != "," && rune != "=") {
        return InvalidArgumentError("invalid field selector: invalid escape sequence: \\" +
                                    std::string(rune));
      }
      out += rune;
      in_slash = false;
      continue;
    }
    if (rune == "\\") {
      in_slash = true;
    } else if (rune == "," || rune == "=") {
      // Upstream formats the rune with %v, which prints its number (44 or 61).
      return InvalidArgumentError("invalid field selector: unescaped character in value: " +
                                  std::to_string(static_cast<int>(rune[0])));
    } else {
      out += rune;
    }
  }
  if (in_slash) return InvalidArgumentError("invalid field selector: invalid escape sequence: \\");
  return out;
}

Result<FieldSelector> FieldSelector::Parse(std::string_view selector) {
  std::vector<std::string_view> parts = SplitTerms(selector);
  std::sort(parts.begin(), parts.end());
  FieldSelector out;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    auto split = SplitTerm(part);
    if (!split) {
      return InvalidArgumentError("invalid selector: '" + std::string(selector) +
                                  "'; can't understand '" + std::string(part) + "'");
    }
    auto value = UnescapeFieldValue(split->rhs);
    if (!value.ok()) return value.status();
    out.requirements_.push_back({std::string(split->lhs), split->op, std::move(value).value()});
  }
  return out;
}

bool FieldSelector::Matches(const Fields& fields) const {
  for (const auto& r : requirements_) {
    auto it = fields.find(r.field);
    std::string_view actual = it == fields.end() ? std::string_view() : it->second;
    const bool equal = actual == r.value;
    if (equal != (r.op == FieldRequirement::Operator::kEquals)) return false;
  }
  return true;
}

std::string FieldSelector::String() const {
  std::string out;
  for (size_t i = 0; i < requirements_.size(); ++i) {
    const auto& r = requirements_[i];
    if (i > 0) out += ',';
    out += r.field;
    out += r.op == FieldRequirement::Operator::kEquals ? "=" : "!=";
    out += EscapeFieldValue(r.value);
  }
  return out;
}

std::optional<std::string> FieldSelector::RequiresExactMatch(std::string_view field) const {
  for (const auto& r : requirements_) {
    if (r.field == field && r.op == FieldRequirement::Operator::kEquals) return r.value;
  }
  return std::nullopt;
}

Status FieldSelector::CheckSupported(const std::set<std::string>& supported,
                                     [[maybe_unused]] std::string_view resource) const {
  for (const auto& r : requirements_) {
    if (!supported.contains(r.field)) {
      return InvalidArgumentError("field label not supported: " + r.field);
    }
  }
  return Status::Ok();
}

Status FieldSelector::CheckDefaultSupported() const {
  for (const auto& r : requirements_) {
    if (r.field != "metadata.name" && r.field != "metadata.namespace") {
      return InvalidArgumentError(GoQuote(r.field) +
                                  " is not a known field selector: only \"metadata.name\", "
                                  "\"metadata.namespace\"");
    }
  }
  return Status::Ok();
}

}  // namespace keelson::api
