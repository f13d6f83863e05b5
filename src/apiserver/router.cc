#include "apiserver/router.h"

#include <algorithm>
#include <cctype>

namespace keelson::apiserver {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Verb(const HttpRequest& req, bool named) {
  const std::string& m = req.method;
  if (m == "GET" || m == "HEAD") {
    if (req.QueryBool("watch")) return "watch";
    return named ? "get" : "list";
  }
  if (m == "POST") return "create";
  if (m == "PUT") return "update";
  if (m == "PATCH") return "patch";
  if (m == "DELETE") return named ? "delete" : "deletecollection";
  return Lower(m);
}

}  // namespace

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) out.emplace_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

RequestInfo ParseRequestInfo(const HttpRequest& req) {
  RequestInfo info;
  info.parts = SplitPath(req.path);
  const auto& parts = info.parts;
  const bool core = !parts.empty() && parts[0] == "api";
  const bool groups = !parts.empty() && parts[0] == "apis";
  // The index of the first segment after the group version.
  const size_t base = core ? 2 : 3;
  if ((!core && !groups) || parts.size() <= base) {
    info.discovery = (core || groups) && req.method == "GET";
    info.verb = Lower(req.method);  // a path that names no resource: the method is the verb
    return info;
  }
  info.resource_request = true;
  info.group = core ? "" : parts[1];
  info.version = core ? parts[1] : parts[2];
  std::vector<std::string> rest(parts.begin() + static_cast<long>(base), parts.end());
  // namespaces/NAME/status and namespaces/NAME/finalize are a namespace's subresources; any
  // other namespaces/NAME/... names a resource in that namespace.
  const bool ns_subresource = core && rest.size() == 3 && rest[0] == "namespaces" &&
                              (rest[2] == "status" || rest[2] == "finalize");
  if (rest.size() >= 3 && rest[0] == "namespaces" && !ns_subresource) {
    info.ns = rest[1];
    info.resource = rest[2];
    if (rest.size() >= 4) info.name = rest[3];
    if (rest.size() >= 5) info.subresource = rest[4];
    info.malformed = rest.size() > 5;
  } else {
    info.resource = rest[0];
    if (rest.size() >= 2) info.name = rest[1];
    if (rest.size() >= 3) info.subresource = rest[2];
    info.malformed = rest.size() > 3;
  }
  info.verb = Verb(req, !info.name.empty());
  return info;
}

}  // namespace keelson::apiserver
