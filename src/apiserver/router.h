// The router: what a request's URL and method ask for, as upstream's RequestInfoFactory reads
// them — a resource request (/api/v1/... and /apis/GROUP/VERSION/..., namespaced or not, with
// an object name and a subresource) with its verb, or a path that names no resource
// (discovery, /version, /healthz, /metrics, /openapi, ...).
//
// Pure functions of the request; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apiserver/http.h"

namespace keelson::apiserver {

struct RequestInfo {
  // True for /api/v1/<resource>... and /apis/<group>/<version>/<resource>...; false for
  // everything else, discovery included.
  bool resource_request = false;
  // Discovery: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version> (GET).
  bool discovery = false;
  // A resource request whose path has more parts than any resource path has.
  bool malformed = false;
  // get, list, watch, create, update, patch, delete, deletecollection; for other requests the
  // lower-case method.
  std::string verb;
  std::string group, version, resource, subresource, ns, name;
  std::vector<std::string> parts;  // the path's non-empty segments
};

RequestInfo ParseRequestInfo(const HttpRequest& req);

// The path's non-empty segments.
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace keelson::apiserver
