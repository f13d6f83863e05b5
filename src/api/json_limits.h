// The limits on JSON that comes from clients (request bodies, patches, embedded raw objects)
// and the one parse call that enforces them, so that every decoder agrees on what a JSON
// document may be.
//
// Boost.JSON's own defaults (boost::json::parse_options{}) allow a nesting depth of 32, no
// comments, no trailing commas and strict UTF-8; the size of a document is
// not bounded by the parser (the HTTP layer's --max-request-bytes bounds it, 3 MiB by default).
// The parser itself is not recursive, but destroying, comparing and walking the values it
// builds are: the depth limit is what keeps those within the stack.
//
// keelson's limits:
//   - depth: at most kJsonMaxDepth (100) nested arrays and objects. The deepest built-in
//     object (a pod template's affinity terms inside a CronJob) is about 15 levels deep;
//     100 matches the YAML decoder's limit, so an object accepted as YAML or protobuf can
//     always be read back as JSON.
//   - text: strict UTF-8 (invalid sequences are refused, as upstream's decoder refuses them),
//     no comments, no trailing commas.
//   - size: whatever the HTTP layer let through.
//
// Thread-safe.
#pragma once

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace keelson::api {

inline constexpr size_t kJsonMaxDepth = 100;

// The parse options for every JSON document a client sends (and every stored object).
boost::json::parse_options JsonParseOptions();

// Parses one JSON document within the limits above. Errors: InvalidArgument "json: ..." with
// the parser's reason ("the document is nested more than 100 levels deep" for depth).
Result<boost::json::value> ParseJson(std::string_view text);

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF), as the JSON parser requires of strings. Decoders whose input is not JSON
// text (YAML, protobuf) check their strings with it, so that nothing is stored that would not
// read back.
bool IsValidUtf8(std::string_view text);

}  // namespace keelson::api
