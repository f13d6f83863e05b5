// YAML request bodies (Content-Type application/yaml, and apply configurations) read into the
// JSON form the API works with, typing plain scalars as Kubernetes' YAML reader does:
// null/~/empty are null, true/false (and the YAML 1.1 yes/no/on/off/y/n spellings) booleans,
// integers and floats numbers, anything else — and every quoted scalar — a string.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>

#include "common/status.h"

namespace keelson::api {

// Parses one YAML document. Errors: InvalidArgument with the parser's line and column.
Result<boost::json::value> YamlToJson(std::string_view text);

}  // namespace keelson::api
