// Helpers shared by the fuzz targets: what a target does when an invariant breaks, and the
// JSON checks several of them make.
#pragma once

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/json_limits.h"

namespace keelson::fuzz {

// Reports a broken invariant and aborts, so that libFuzzer keeps the input as a crash.
[[noreturn]] inline void Fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %.*s\n%.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size() > 4000 ? 4000 : detail.size()),
               detail.data());
  std::abort();
}

inline void Check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) Fail(what, detail);
}

// What the server stores must be readable again: `v` serialized parses within the limits.
inline std::string CheckReadable(const boost::json::value& v, std::string_view what) {
  std::string text = boost::json::serialize(v);
  auto back = api::ParseJson(text);
  if (!back.ok()) Fail(what, back.status().message() + "\n" + text);
  return text;
}

// The document of a request body: JSON, or else YAML, as the API server reads apply
// configurations.
boost::json::value* ParseBody(std::string_view text, boost::json::value* storage);

}  // namespace keelson::fuzz
