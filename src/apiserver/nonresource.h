// The paths that name no resource: /version, the health endpoints (/healthz, /livez,
// /readyz), /metrics, service account issuer discovery and the OpenAPI documents.
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/resources.h"
#include "apiserver/http.h"
#include "apiserver/metrics.h"
#include "apiserver/openapi.h"
#include "apiserver/token.h"
#include "apiserver/watch_caches.h"
#include "common/status.h"
#include "store/store.h"

namespace keelson::apiserver {

struct VersionInfo {
  std::string major, minor, git_version;
};
HttpResponse VersionResponse(const VersionInfo& v);

// One health check (etcd, a post-start hook, ...): OK or why not.
struct HealthCheck {
  std::string name;
  std::function<Status()> run;
};
// /healthz, /livez, /readyz and /<endpoint>/<check>, with ?verbose and ?exclude=, as upstream
// answers them. `parts` are the path's segments.
HttpResponse HealthResponse(const HttpRequest& req, const std::vector<std::string>& parts,
                            const std::vector<HealthCheck>& checks);

// Prometheus text: the request metrics, apiserver_storage_objects (from the watch caches, or
// counted in the store for resources without one) and the watch caches' metrics.
HttpResponse MetricsResponse(const RequestMetrics& metrics, const WatchCaches& caches,
                             const api::ResourceRegistry& registry, store::Store* store);

// /.well-known/openid-configuration and /openid/v1/jwks: how others verify the tokens this
// server signs. `external_url` is where clients reach the API.
HttpResponse OpenIdResponse(const std::string& path, const TokenSigner& signer,
                            const std::string& issuer, const std::string& external_url);

// /openapi/v2 (JSON or protobuf), /openapi/v3 and /openapi/v3/<group-version path>.
HttpResponse OpenApiResponse(const HttpRequest& req, const std::vector<std::string>& parts,
                             const OpenApi& openapi);

}  // namespace keelson::apiserver
