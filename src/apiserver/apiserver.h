// The Kubernetes API server: discovery, and the REST verbs of the registered resources over
// the Store, answering through the HTTP layer (apiserver/http.h). The layers, in the order a
// request meets them (docs/apiserver.md has the map):
//
//   router (router.h) -> authentication, authorization (chain.h) -> verb handler
//   (handlers/handlers.h) -> storage of the path (registry/rest.h: the generic store of
//   registry/store.h or a subresource's) -> admission (chain.h) -> strategy of the kind
//   (strategy.h) -> store and watch cache (store/store.h, watch_cache.h)
//
// Errors are metav1.Status objects (api::ApiError) with upstream's reason, code and details.
//
// Thread-safety: Serve() may be called from any number of server threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/http.h"
#include "apiserver/registry/rest.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace keelson::apiserver {

class AdmissionPlugin;
class Authenticator;
class Authorizer;
class TokenSigner;

struct ApiServerOptions {
  // What /version reports; kubectl picks its matching version from the minor.
  std::string major = "1";
  std::string minor = "33";
  std::string git_version = "v1.33.0";
  // Where Service ClusterIPs come from.
  std::string service_cidr = "10.43.0.0/16";
  // The watch cache of each resource (see docs/apiserver.md): changes kept for resuming
  // watches, the unsent bytes at which a slow watcher is closed, how often watchers that ask
  // for bookmarks get one.
  size_t watch_cache_ring = 10000;
  size_t max_watcher_backlog = 16 << 20;
  std::chrono::milliseconds bookmark_interval{1000};
  // Whether Bootstrap() starts the watch cache of every stored resource (as a cluster's
  // components soon would by watching them all), so that the first LIST is served from
  // memory; otherwise a resource's cache starts when it is first listed or watched.
  bool start_watch_caches = true;
  // Signs the service account tokens of POST serviceaccounts/NAME/token (apiserver/token.h);
  // when null, a key made at start that lives as long as the server.
  std::shared_ptr<const TokenSigner> token_signer;
  // The tokens' issuer (`iss`), and the audience of a TokenRequest that names none.
  std::string service_account_issuer = "https://kubernetes.default.svc.cluster.local";
  // The request chain (apiserver/chain.h): who a request is made as (system:anonymous when
  // null), whether it is allowed (everything when null), and the admission plugins that run
  // after NamespaceLifecycle on every write.
  std::shared_ptr<const Authenticator> authenticator;
  std::shared_ptr<const Authorizer> authorizer;
  std::vector<std::shared_ptr<const AdmissionPlugin>> admission;
  // Where time comes from (timestamps, deadlines, watch cache intervals); the system's clock
  // when null.
  std::shared_ptr<const Clock> clock;
  // Threads of the request executor: handlers run there, never on the HTTP threads, since
  // they may wait on the store.
  int request_threads = 4;
};

class ApiServer : public Handler {
 public:
  // `store` must outlive the server.
  static Result<std::unique_ptr<ApiServer>> Create(store::Store* store, ApiServerOptions options);
  ~ApiServer() override = default;

  // Creates what a cluster has from its first start (the default, kube-system, kube-public
  // and kube-node-lease namespaces) when missing.
  virtual Status Bootstrap() = 0;
  // Points the `kubernetes` Service of the default namespace (created by Bootstrap) at where
  // the API is served: its targetPort, and its Endpoints and EndpointSlice.
  virtual Status PublishEndpoint(const std::string& address, int port) = 0;
  // Ends open watches.
  virtual void Shutdown() = 0;

  // The storage of a path (a resource, or one of its subresources), to drive the server
  // in-process as its handlers do; null when nothing serves it. Owned by the server.
  virtual RestStorage* Storage(std::string_view group, std::string_view resource,
                               std::string_view subresource = "") = 0;
};

}  // namespace keelson::apiserver
