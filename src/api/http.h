// HTTP request and response values as the API machinery sees them: plain data, no Boost.Beast
// or Asio, shared by the API server (which fills requests from the wire) and clients of the
// API (which build them).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keelson::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // percent-decoded path
  // Query parameters in order, percent-decoded ("+" is a space), repeated keys kept.
  std::vector<std::pair<std::string, std::string>> query;
  // Header names lowercased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header or query value with this name, or "".
  std::string_view Header(std::string_view lowercase_name) const;
  std::string_view Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  // A boolean parameter as upstream reads it: absent is false, "0" and "false" (any case) are
  // false, anything else (even an empty value) is true.
  bool QueryBool(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Percent-decoding of a path or query part; `plus_is_space` for query parts.
std::string PercentDecode(std::string_view s, bool plus_is_space);
// The parameters of a query string ("a=1&b=x+y"), decoded, in order.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace keelson::api
