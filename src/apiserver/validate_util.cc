#include "apiserver/validate_util.h"

#include <arpa/inet.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "api/quantity.h"

namespace keelson::apiserver::validation {

const json::value* At(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* cur = nullptr;
  const json::object* obj = &o;
  for (auto p : path) {
    if (obj == nullptr) return nullptr;
    cur = obj->if_contains(p);
    if (cur == nullptr) return nullptr;
    obj = cur->is_object() ? &cur->as_object() : nullptr;
  }
  return cur;
}

const json::object* AsObject(const json::value* v) {
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

const json::array* AsArray(const json::value* v) {
  return v != nullptr && v->is_array() ? &v->as_array() : nullptr;
}

const json::object* ObjectAt(const json::object& o,
                             std::initializer_list<std::string_view> path) {
  return AsObject(At(o, path));
}

const json::array* ArrayAt(const json::object& o, std::initializer_list<std::string_view> path) {
  return AsArray(At(o, path));
}

std::string Str(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string Str(const json::object& o, std::string_view key) { return Str(o.if_contains(key)); }

bool Has(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && !v->is_null();
}

api::Labels StringMap(const json::value* v) {
  api::Labels out;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, val] : v->as_object()) {
    out.emplace(std::string(k), val.is_string() ? std::string(val.as_string()) : "");
  }
  return out;
}

size_t SizeOf(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_array()) return v->as_array().size();
  if (v->is_object()) return v->as_object().size();
  return 0;
}

std::string Child(const std::string& base, std::string_view name) {
  return base.empty() ? std::string(name) : base + "." + std::string(name);
}

std::string Index(const std::string& base, size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

std::string Key(const std::string& base, std::string_view key) {
  return base + "[" + std::string(key) + "]";
}

std::string ValueText(const json::value& v) {
  if (v.is_string()) return api::GoQuote(v.as_string());
  if (v.is_null()) return "null";
  return json::serialize(v);
}

std::string ValueText(const json::value* v) { return v == nullptr ? "null" : ValueText(*v); }

void Invalid(Causes* out, const std::string& path, const std::string& value_text,
             std::string_view detail) {
  out->emplace_back(path, "Invalid value: " + value_text + ": " + std::string(detail));
}

void InvalidString(Causes* out, const std::string& path, std::string_view value,
                   std::string_view detail) {
  Invalid(out, path, api::GoQuote(value), detail);
}

void Required(Causes* out, const std::string& path, std::string_view detail) {
  out->emplace_back(path, detail.empty() ? std::string("Required value")
                                         : "Required value: " + std::string(detail));
}

void Forbidden(Causes* out, const std::string& path, std::string_view detail) {
  out->emplace_back(path, "Forbidden: " + std::string(detail));
}

void Duplicate(Causes* out, const std::string& path, const std::string& value_text) {
  out->emplace_back(path, "Duplicate value: " + value_text);
}

void NotFound(Causes* out, const std::string& path, const std::string& value_text) {
  out->emplace_back(path, "Not found: " + value_text);
}

void NotSupportedValue(Causes* out, const std::string& path, std::string_view value,
                       const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + api::GoQuote(a);
  out->emplace_back(path, "Unsupported value: " + api::GoQuote(value) +
                              ": supported values: " + list);
}

void NotSupported(const json::value* v, const std::string& path,
                  const std::vector<std::string>& allowed, Causes* out) {
  if (v == nullptr || !v->is_string()) return;
  std::string_view s = v->as_string();
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return;
  NotSupportedValue(out, path, s, allowed);
}

void NonNegative(const json::object& o, std::string_view key, const std::string& path,
                 Causes* out) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_int64() && v->as_int64() < 0) {
    Invalid(out, path, std::to_string(v->as_int64()), "must be greater than or equal to 0");
  }
}

void Positive(const json::object& o, std::string_view key, const std::string& path,
              Causes* out) {
  const auto* v = o.if_contains(key);
  if (v != nullptr && v->is_int64() && v->as_int64() <= 0) {
    Invalid(out, path, std::to_string(v->as_int64()), "must be greater than 0");
  }
}

void PortNumber(const json::object& o, std::string_view key, const std::string& path,
                bool required, Causes* out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_int64() || (required && v->as_int64() == 0)) {
    if (required) Required(out, path);
    return;
  }
  int64_t p = v->as_int64();
  if (p < 1 || p > 65535) {
    Invalid(out, path, std::to_string(p), "must be between 1 and 65535, inclusive");
  }
}

std::vector<std::string> IsValidPortName(std::string_view name) {
  std::vector<std::string> errs;
  if (name.size() < 1 || name.size() > 15) errs.push_back("must be no more than 15 characters");
  bool charset = true, letter = false;
  for (char c : name) {
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (!(c >= '0' && c <= '9') && c != '-') {
      charset = false;
    }
  }
  if (!charset) {
    errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (!letter) errs.push_back("must contain at least one letter (a-z)");
  if (name.find("--") != std::string_view::npos) {
    errs.push_back("must not contain consecutive hyphens");
  }
  if (!name.empty() && (name.front() == '-' || name.back() == '-')) {
    errs.push_back("must not begin or end with a hyphen");
  }
  return errs;
}

void PortNumOrName(const json::value* v, const std::string& path, Causes* out) {
  if (v == nullptr || v->is_null()) return;
  if (v->is_int64()) {
    int64_t p = v->as_int64();
    if (p < 1 || p > 65535) {
      Invalid(out, path, std::to_string(p), "must be between 1 and 65535, inclusive");
    }
  } else if (v->is_string()) {
    for (const auto& e : IsValidPortName(v->as_string())) {
      InvalidString(out, path, v->as_string(), e);
    }
  }
}

bool SameValue(const json::value* a, const json::value* b) {
  bool a_set = a != nullptr && !a->is_null();
  bool b_set = b != nullptr && !b->is_null();
  if (a_set != b_set) return false;
  return !a_set || *a == *b;
}

void Immutable(const json::value* now, const json::value* was, const std::string& path,
               Causes* out) {
  if (!SameValue(now, was)) Invalid(out, path, ValueText(now), "field is immutable");
}

void DNS1123Label(std::string_view value, const std::string& path, Causes* out) {
  for (const auto& e : api::IsDNS1123Label(value)) InvalidString(out, path, value, e);
}

void DNS1123Subdomain(std::string_view value, const std::string& path, Causes* out) {
  for (const auto& e : api::IsDNS1123Subdomain(value)) InvalidString(out, path, value, e);
}

void QualifiedName(std::string_view value, const std::string& path, Causes* out) {
  for (const auto& e : api::IsQualifiedName(value)) InvalidString(out, path, value, e);
}

void LabelMap(const json::value* v, const std::string& path, Causes* out) {
  for (const auto& e : api::ValidateLabels(StringMap(v))) out->emplace_back(path, e.Body());
}

void LabelSelector(const json::value* v, const std::string& path, Causes* out) {
  const auto* sel = AsObject(v);
  if (sel == nullptr) return;
  LabelMap(sel->if_contains("matchLabels"), Child(path, "matchLabels"), out);
  const auto* exprs = AsArray(sel->if_contains("matchExpressions"));
  if (exprs == nullptr) return;
  for (size_t i = 0; i < exprs->size(); ++i) {
    const auto* e = AsObject(&(*exprs)[i]);
    if (e == nullptr) continue;
    SelectorRequirement(*e, Index(Child(path, "matchExpressions"), i), false, true, out);
  }
}

void SelectorRequirement(const json::object& rq, const std::string& p, bool numeric,
                         bool check_values, Causes* out) {
  std::string op = Str(rq, "operator");
  const auto* values = AsArray(rq.if_contains("values"));
  size_t n = values ? values->size() : 0;
  if (op == "In" || op == "NotIn") {
    if (n == 0) {
      Required(out, p + ".values", "must be specified when `operator` is 'In' or 'NotIn'");
    }
  } else if (op == "Exists" || op == "DoesNotExist") {
    if (n > 0) {
      Forbidden(out, p + ".values",
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
  } else if (numeric && (op == "Gt" || op == "Lt")) {
    if (n != 1) {
      Required(out, p + ".values",
               "must be specified single value when `operator` is 'Lt' or 'Gt'");
    }
  } else {
    InvalidString(out, p + ".operator", op, "not a valid selector operator");
  }
  QualifiedName(Str(rq, "key"), p + ".key", out);
  if (!check_values) return;
  for (size_t j = 0; j < n; ++j) {
    std::string v = Str(&(*values)[j]);
    for (const auto& m : api::IsValidLabelValue(v)) {
      InvalidString(out, Index(p + ".values", j), v, m);
    }
  }
}

bool IsIPv4(std::string_view s) {
  // Go's sloppy IPv4 form: four decimal parts of at most three digits, each 0..255.
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

bool IsIPv6(std::string_view s) {
  if (s.find(':') == std::string_view::npos || s.size() > 45) return false;
  unsigned char buf[16];
  return inet_pton(AF_INET6, std::string(s).c_str(), buf) == 1;
}

bool IsIP(std::string_view s) { return IsIPv4(s) || IsIPv6(s); }

void NonSpecialIP(const std::string& ip, const std::string& path, Causes* out) {
  bool v4 = IsIPv4(ip);
  auto first_octet = [&]() { return v4 ? std::stoi(ip.substr(0, ip.find('.'))) : -1; };
  if (ip == "::" || (v4 && ip.find_first_not_of("0.") == std::string::npos)) {
    InvalidString(out, path, ip, "may not be unspecified (" + ip + ")");
  }
  if (ip == "::1" || first_octet() == 127) {
    InvalidString(out, path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)");
  }
  if (ip.starts_with("169.254.") || ip.starts_with("fe80:")) {
    InvalidString(out, path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
  }
  if (ip.starts_with("224.0.0.") || ip.starts_with("ff02:")) {
    InvalidString(out, path, ip,
                  "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
  }
}

bool IsCIDR(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view ip = s.substr(0, slash), bits = s.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 ||
      bits.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  int n = std::stoi(std::string(bits));
  if (IsIPv4(ip)) return n <= 32;
  return IsIPv6(ip) && n <= 128;
}

std::optional<int> QuantitySign(std::string_view q) { return api::CompareQuantities(q, "0"); }

}  // namespace keelson::apiserver::validation
