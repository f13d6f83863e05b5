#include "api/http.h"

#include <cctype>

namespace keelson::api {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

std::string_view HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

bool HttpRequest::HasQuery(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return true;
  }
  return false;
}

bool HttpRequest::QueryBool(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k != name) continue;
    if (v == "0" || v.size() != 5) return v != "0";
    for (size_t i = 0; i < 5; ++i) {
      if (std::tolower(static_cast<unsigned char>(v[i])) != "false"[i]) return true;
    }
    return false;
  }
  return false;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int h = hex(s[i + 1]);
      int l = hex(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    out.emplace_back(PercentDecode(part.substr(0, eq), true),
                     eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1), true));
  }
  return out;
}

}  // namespace keelson::api
