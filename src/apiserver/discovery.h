// API discovery: /api and /apis in the aggregated form (apidiscovery.k8s.io v2, or v2beta1 for
// kubectl 1.27-1.29) when the client asks for it and the legacy APIVersions/APIGroupList
// otherwise; /apis/GROUP (APIGroup); /api/v1 and /apis/GROUP/VERSION (APIResourceList), with
// the subresources each resource serves.
//
// Immutable once built; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "api/resources.h"
#include "apiserver/http.h"
#include "apiserver/registry/install.h"

namespace keelson::apiserver {

class Discovery {
 public:
  // Both must outlive this.
  Discovery(const api::ResourceRegistry& registry, const Storages& storages)
      : registry_(registry), storages_(storages) {}

  // The answer for a discovery path (`parts`: its segments, starting "api" or "apis").
  HttpResponse Serve(const HttpRequest& req, const std::vector<std::string>& parts) const;

 private:
  HttpResponse Aggregated(bool core, const std::string& version) const;
  HttpResponse Legacy(const HttpRequest& req, bool core) const;
  HttpResponse Group(const std::string& group) const;
  HttpResponse ResourceList(const std::string& group, const std::string& version) const;

  const api::ResourceRegistry& registry_;
  const Storages& storages_;
};

}  // namespace keelson::apiserver
