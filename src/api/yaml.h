// YAML request bodies (Content-Type application/yaml, and apply configurations) read into the
// JSON form the API works with, typing plain scalars as Kubernetes' YAML reader does:
// null/~/empty are null, true/false (and the YAML 1.1 yes/no/on/off/y/n spellings) booleans,
// integers and floats numbers, anything else — and every quoted scalar — a string.
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace keelson::api {

// The budget of one document's conversion, as upstream's decoder bounds alias expansion
// (CVE-2019-11253): the nodes and the scalar bytes it decodes to may be at most
// kYamlMaxExpansion per byte of its text, plus a small allowance for tiny documents.
inline constexpr size_t kYamlMaxExpansion = 4;
inline constexpr size_t kYamlMinNodes = 1000;
inline constexpr size_t kYamlMinBytes = 64 * 1024;

// Parses one YAML document. Errors: InvalidArgument with the parser's line and column, for
// nesting deeper than 100 levels, and for a document whose aliases expand it beyond its
// budget ("yaml: document contains excessive aliasing ...").
Result<boost::json::value> YamlToJson(std::string_view text);

}  // namespace keelson::api
