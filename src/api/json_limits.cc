#include "api/json_limits.h"

#include <cmath>

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>

#include <string>

namespace keelson::api {

boost::json::parse_options JsonParseOptions() {
  boost::json::parse_options o;
  o.max_depth = kJsonMaxDepth;
  o.allow_comments = false;
  o.allow_trailing_commas = false;
  o.allow_invalid_utf8 = false;
  return o;
}

namespace {

// Whether every number of `v` is finite: a number too large for a double parses as infinity,
// which JSON cannot write back.
bool AllFinite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& e : v.get_array()) {
        if (!AllFinite(e)) return false;
      }
      return true;
    case boost::json::kind::object:
      for (const auto& [k, e] : v.get_object()) {
        if (!AllFinite(e)) return false;
      }
      return true;
    default:
      return true;
  }
}

}  // namespace

Result<boost::json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, {}, JsonParseOptions());
  if (ec == boost::json::error::too_deep) {
    return InvalidArgumentError("json: the document is nested more than " +
                                std::to_string(kJsonMaxDepth) + " levels deep");
  }
  if (ec) return InvalidArgumentError("json: " + ec.message());
  if (!AllFinite(v)) return InvalidArgumentError("json: a number is out of range");
  return v;
}

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i < n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xbf) return false;
    }
    p += n;
  }
  return true;
}

}  // namespace keelson::api
