#include "api/json_limits.h"

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

Result<boost::json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, {}, JsonParseOptions());
  if (ec == boost::json::error::too_deep) {
    return InvalidArgumentError("json: the document is nested more than " +
                                std::to_string(kJsonMaxDepth) + " levels deep");
  }
  if (ec) return InvalidArgumentError("json: " + ec.message());
  return v;
}

}  // namespace keelson::api
