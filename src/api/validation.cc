#include "api/validation.h"

#include <cstdint>
#include <cstdio>
#include <set>

namespace keelson::api {
namespace {

// The regular expressions upstream prints in its messages. The checks themselves are
// hand-written below; these strings are only message text.
constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDNS1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDNS1123LabelErrMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr std::string_view kDNS1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view kDNS1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDNS1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?";
constexpr std::string_view kDNS1035LabelErrMsg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool MatchesQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool MatchesDNS1123Label(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool MatchesDNS1123Subdomain(std::string_view s) {
  while (true) {
    size_t dot = s.find('.');
    if (!MatchesDNS1123Label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// [a-z]([-a-z0-9]*[a-z0-9])?
bool MatchesDNS1035Label(std::string_view s) {
  return MatchesDNS1123Label(s) && s.front() >= 'a' && s.front() <= 'z';
}

std::vector<std::string> PrefixEach(std::vector<std::string> msgs, std::string_view prefix) {
  for (auto& m : msgs) m.insert(0, prefix);
  return msgs;
}

// generic.go's maskTrailingDash: a generateName prefix may end in '-'. Upstream replaces the
// last two bytes with "a" (so the masked name is one byte shorter); kept as is so that the
// length limits bite at exactly the same place.
std::string MaskTrailingDash(std::string_view name) {
  if (name.size() > 1 && name.back() == '-') {
    return std::string(name.substr(0, name.size() - 2)) + "a";
  }
  return std::string(name);
}

// Decodes one UTF-8 sequence at s[i] the way Go does: returns the code point and its length,
// or -1 and length 1 for an invalid byte (overlong forms, surrogates, > U+10FFFF included).
std::pair<int32_t, size_t> DecodeRune(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t c0 = b(i);
  if (c0 < 0x80) return {c0, 1};
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c0 >= 0xC2 && c0 <= 0xDF && cont(i + 1)) {
    return {((c0 & 0x1F) << 6) | (b(i + 1) & 0x3F), 2};
  }
  if (c0 >= 0xE0 && c0 <= 0xEF && cont(i + 1) && cont(i + 2)) {
    int32_t r = ((c0 & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
    if (r >= 0x800 && (r < 0xD800 || r > 0xDFFF)) return {r, 3};
  }
  if (c0 >= 0xF0 && c0 <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    int32_t r = ((c0 & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) |
                (b(i + 3) & 0x3F);
    if (r >= 0x10000 && r <= 0x10FFFF) return {r, 4};
  }
  return {-1, 1};
}

// An approximation of Go's unicode.IsPrint for non-ASCII code points: the C1 controls and a
// few invisible format characters are not printable; everything else is treated as such.
bool IsPrintNonAscii(int32_t r) {
  if (r >= 0x80 && r <= 0xA0) return false;  // C1 controls and NBSP
  switch (r) {
    case 0xAD: case 0x2028: case 0x2029: case 0xFEFF: case 0x200B: case 0x200E: case 0x200F:
      return false;
    default:
      return true;
  }
}

}  // namespace

std::string MaxLenError(size_t length) {
  return "must be no more than " + std::to_string(length) + " characters";
}

std::string EmptyError() { return "must be non-empty"; }

std::string RegexError(std::string_view msg, std::string_view regex,
                       const std::vector<std::string_view>& examples) {
  std::string out(msg);
  if (examples.empty()) {
    out += " (regex used for validation is '";
    out += regex;
    out += "')";
    return out;
  }
  out += " (e.g. ";
  for (size_t i = 0; i < examples.size(); ++i) {
    if (i > 0) out += " or ";
    out += "'";
    out += examples[i];
    out += "', ";
  }
  out += "regex used for validation is '";
  out += regex;
  out += "')";
  return out;
}

std::vector<std::string> IsDNS1123Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123LabelMaxLength) errs.push_back(MaxLenError(kDNS1123LabelMaxLength));
  if (!MatchesDNS1123Label(value)) {
    if (MatchesDNS1123Subdomain(value)) {
      errs.push_back("must not contain dots");
    } else {
      errs.push_back(RegexError(kDNS1123LabelErrMsg, kDNS1123LabelFmt, {"my-name", "123-abc"}));
    }
  }
  return errs;
}

std::vector<std::string> IsDNS1123Subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1123SubdomainMaxLength) {
    errs.push_back(MaxLenError(kDNS1123SubdomainMaxLength));
  }
  if (!MatchesDNS1123Subdomain(value)) {
    errs.push_back(RegexError(kDNS1123SubdomainErrMsg, kDNS1123SubdomainFmt, {"example.com"}));
  }
  return errs;
}

std::vector<std::string> IsDNS1035Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDNS1035LabelMaxLength) errs.push_back(MaxLenError(kDNS1035LabelMaxLength));
  if (!MatchesDNS1035Label(value)) {
    errs.push_back(RegexError(kDNS1035LabelErrMsg, kDNS1035LabelFmt, {"my-name", "abc-123"}));
  }
  return errs;
}

std::vector<std::string> IsQualifiedName(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name;
  size_t slashes = 0;
  for (char c : value) slashes += c == '/';
  if (slashes == 0) {
    name = value;
  } else if (slashes == 1) {
    size_t slash = value.find('/');
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part " + EmptyError());
    } else if (auto msgs = IsDNS1123Subdomain(prefix); !msgs.empty()) {
      for (auto& m : PrefixEach(std::move(msgs), "prefix part ")) errs.push_back(std::move(m));
    }
  } else {
    errs.push_back("a qualified name " +
                   RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                              {"MyName", "my.name", "123-abc"}) +
                   " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    return errs;
  }
  if (name.empty()) {
    errs.push_back("name part " + EmptyError());
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back("name part " + MaxLenError(kQualifiedNameMaxLength));
  }
  if (!MatchesQualifiedNamePart(name)) {
    errs.push_back("name part " + RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                                             {"MyName", "my.name", "123-abc"}));
  }
  return errs;
}

std::vector<std::string> IsValidLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(MaxLenError(kLabelValueMaxLength));
  if (!value.empty() && !MatchesQualifiedNamePart(value)) {
    errs.push_back(
        RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errs;
}

std::vector<std::string> NameIsDNSSubdomain(std::string_view name, bool prefix) {
  return prefix ? IsDNS1123Subdomain(MaskTrailingDash(name)) : IsDNS1123Subdomain(name);
}

std::vector<std::string> NameIsDNSLabel(std::string_view name, bool prefix) {
  return prefix ? IsDNS1123Label(MaskTrailingDash(name)) : IsDNS1123Label(name);
}

std::vector<std::string> NameIsDNS1035Label(std::string_view name, bool prefix) {
  return prefix ? IsDNS1035Label(MaskTrailingDash(name)) : IsDNS1035Label(name);
}

std::string_view FieldError::Reason() const {
  switch (type) {
    case Type::kInvalid: return "FieldValueInvalid";
    case Type::kRequired: return "FieldValueRequired";
    case Type::kForbidden: return "FieldValueForbidden";
    case Type::kTooLong: return "FieldValueTooLong";
    case Type::kNotSupported: return "FieldValueNotSupported";
  }
  return "FieldValueInvalid";
}

std::string FieldError::Body() const {
  std::string s;
  switch (type) {
    case Type::kInvalid: s = "Invalid value: " + GoQuote(bad_value); break;
    case Type::kNotSupported: s = "Unsupported value: " + GoQuote(bad_value); break;
    case Type::kRequired: s = "Required value"; break;
    case Type::kForbidden: s = "Forbidden"; break;
    case Type::kTooLong: s = "Too long"; break;
  }
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

std::string FieldError::ToString(std::string_view base) const {
  std::string path(base);
  if (!field.empty()) {
    if (!path.empty() && field.front() != '[') path += '.';
    path += field;
  }
  return path + ": " + Body();
}

std::string AggregateMessage(const std::vector<std::string>& messages) {
  if (messages.size() == 1) return messages.front();
  std::set<std::string_view> seen;
  std::string out;
  for (const auto& m : messages) {
    if (!seen.insert(m).second) continue;
    if (seen.size() > 1) out += ", ";
    out += m;
  }
  return seen.size() == 1 ? out : "[" + out + "]";
}

std::string AggregateMessage(const std::vector<FieldError>& errors, std::string_view base) {
  std::vector<std::string> messages;
  messages.reserve(errors.size());
  for (const auto& e : errors) messages.push_back(e.ToString(base));
  return AggregateMessage(messages);
}

std::vector<FieldError> ValidateLabels(const Labels& labels) {
  std::vector<FieldError> errs;
  for (const auto& [key, value] : labels) {
    for (auto& msg : IsQualifiedName(key)) {
      errs.push_back({FieldError::Type::kInvalid, "", key, std::move(msg)});
    }
    for (auto& msg : IsValidLabelValue(value)) {
      errs.push_back({FieldError::Type::kInvalid, "", value, std::move(msg)});
    }
  }
  return errs;
}

std::vector<FieldError> ValidateAnnotations(const Annotations& annotations) {
  std::vector<FieldError> errs;
  size_t total = 0;
  for (const auto& [key, value] : annotations) {
    total += key.size() + value.size();
    // Annotation keys are qualified names, except that case does not matter.
    std::string lower(key);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    for (auto& msg : IsQualifiedName(lower)) {
      errs.push_back({FieldError::Type::kInvalid, "", key, std::move(msg)});
    }
  }
  if (total > kTotalAnnotationSizeLimitBytes) {
    errs.push_back({FieldError::Type::kTooLong, "", "",
                    "may not be more than " + std::to_string(kTotalAnnotationSizeLimitBytes) +
                        " bytes"});
  }
  return errs;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    auto [r, len] = DecodeRune(s, i);
    if (r < 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<uint8_t>(s[i]));
      out += buf;
    } else if (r < 0x80) {
      char c = static_cast<char>(r);
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (r < 0x20 || r == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(r));
            out += buf;
          } else {
            out += c;
          }
      }
    } else if (IsPrintNonAscii(r)) {
      out.append(s.substr(i, len));
    } else {
      std::snprintf(buf, sizeof buf, r < 0x10000 ? "\\u%04x" : "\\U%08x",
                    static_cast<unsigned>(r));
      out += buf;
    }
    i += len;
  }
  out += '"';
  return out;
}

}  // namespace keelson::api
