// The API server's wiring: what it owns, Serve() (authentication -> router -> authorization ->
// the verb handler on the request executor), start-up objects and shutdown.
#include <boost/json.hpp>

#include <atomic>
#include <mutex>

#include "api/errors.h"
#include "api/json_limits.h"
#include "api/object.h"
#include "api/protobuf.h"
#include "apiserver/apiserver.h"
#include "apiserver/admission_priority.h"
#include "apiserver/chain.h"
#include "apiserver/discovery.h"
#include "apiserver/events_v1.h"
#include "apiserver/handlers/handlers.h"
#include "apiserver/metrics.h"
#include "apiserver/negotiation.h"
#include "apiserver/nonresource.h"
#include "apiserver/openapi.h"
#include "apiserver/pod_streams.h"
#include "apiserver/registry/install.h"
#include "apiserver/router.h"
#include "apiserver/service_alloc.h"
#include "apiserver/strategy.h"
#include "apiserver/token.h"
#include "apiserver/watch_caches.h"
#include "common/executor.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using store::Store;

using Handle = void (*)(const RequestScope&, const HttpRequest&, std::shared_ptr<Exchange>);

// The objects of a cluster-scoped collection from its watch cache, or from the store while
// the cache is not ready; from the cache, only those whose JSON holds `containing` (a cheap
// pre-filter: callers check the parsed objects themselves).
Result<std::vector<json::object>> CachedCollection(GenericStore* s, std::string_view containing) {
  std::vector<json::object> out;
  if (WatchCache* cache = s->Cache()) {
    CacheListRequest req;
    req.prefix = s->CollectionPrefix("");
    auto listed = cache->List(req);
    if (listed.ok()) {
      for (const auto& item : listed->items) {
        if (item->json().find(containing) == std::string_view::npos) continue;
        boost::system::error_code ec;
        json::value v = json::parse(item->json(), ec, {}, api::JsonParseOptions());
        if (!ec && v.is_object()) out.push_back(std::move(v.as_object()));
      }
      return out;
    }
  }
  auto read = s->ReadCollection("");
  if (!read.ok()) return read.error().ToStatus();
  for (auto& o : read->second) out.push_back(std::move(o));
  return out;
}

// The handler of a verb.
Handle HandlerFor(const RequestInfo& info) {
  const std::string& v = info.verb;
  if (v == "get") return HandleGet;
  if (v == "list") return HandleList;
  if (v == "watch") return HandleWatch;
  if (v == "create") return HandleCreate;
  if (v == "update") return info.name.empty() ? nullptr : HandleUpdate;
  if (v == "patch") return info.name.empty() ? nullptr : HandlePatch;
  if (v == "delete") return HandleDelete;
  if (v == "deletecollection") return info.subresource.empty() ? HandleDeleteCollection : nullptr;
  return nullptr;
}

// Who makes a write, for managedFields: the fieldManager parameter, else the client's name
// from its User-Agent ("kubectl/v1.33.1 (linux/amd64) ..." is "kubectl").
std::string FieldManager(const HttpRequest& req) {
  std::string manager(req.Query("fieldManager"));
  if (manager.empty()) {
    std::string_view ua = req.Header("user-agent");
    manager = std::string(ua.substr(0, ua.find('/')));
  }
  return manager;
}

// The query's dryRun values of a create, update or patch, checked as upstream checks its
// CreateOptions, UpdateOptions and PatchOptions: "All" or nothing.
std::optional<api::ApiError> WriteOptionsError(const HttpRequest& req) {
  std::string list;
  bool all = true;
  for (const auto& [k, v] : req.query) {
    if (k != "dryRun") continue;
    all = all && v == "All";
    list += (list.empty() ? "" : ", ") + api::GoQuote(v);
  }
  if (all) return std::nullopt;
  api::ResourceInfo options;
  options.group = "meta.k8s.io";
  options.version = "v1";
  options.kind = req.method == "POST" ? "CreateOptions"
                 : req.method == "PUT" ? "UpdateOptions"
                                       : "PatchOptions";
  return api::NewInvalid(options, "",
                         {{"dryRun", "Unsupported value: []string{" + list +
                                         "}: supported values: \"All\""}});
}

// The metrics labels of a resource request.
RequestLabels LabelsOf(const HttpRequest& req, const RequestInfo& info) {
  RequestLabels l;
  l.verb = req.method;
  if (info.verb == "list" || info.verb == "watch" || info.verb == "deletecollection") {
    for (auto& c : l.verb = info.verb) c = static_cast<char>(std::toupper(c));
  }
  l.group = info.group;
  l.version = info.version;
  l.resource = info.resource;
  l.subresource = info.subresource;
  l.scope = !info.name.empty() ? "resource" : !info.ns.empty() ? "namespace" : "cluster";
  l.dry_run = std::string(req.Query("dryRun"));
  return l;
}

class ApiServerImpl final : public ApiServer {
 public:
  ApiServerImpl(Store* store, ApiServerOptions opts, ServiceAllocator alloc);
  ~ApiServerImpl() override { Shutdown(); }

  Status Bootstrap() override;
  Status PublishEndpoint(const std::string& address, int port) override;
  void Shutdown() override;
  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override;
  RestStorage* Storage(std::string_view group, std::string_view resource,
                       std::string_view subresource) override;

 private:
  void ServeNonResource(const RequestInfo& info, const HttpRequest& req, Exchange& ex);
  void ServeResource(const RequestInfo& info, HttpRequest req, UserInfo user,
                     std::shared_ptr<Exchange> ex);
  // The encoders of a resource request's answer, around `ex`.
  std::shared_ptr<Exchange> Encoders(const HttpRequest& req, const RequestInfo& info,
                                     const RequestContext& ctx, std::shared_ptr<Exchange> ex);
  Status CreateIfMissing(const std::string& key, const json::object& obj);
  // The store key of an object of a resource (by its plural name) the server bootstraps.
  std::string Key(std::string_view resource, std::string_view ns, std::string_view name);

  Store* store_;
  ApiServerOptions opts_;
  const api::ResourceRegistry& registry_;
  const StrategyRegistry strategies_;
  const OpenApi openapi_;
  ServiceAllocator alloc_;
  AdmissionChain admission_;
  RequestMetrics metrics_;
  ThreadPool pool_;
  WatchCaches caches_;
  Storages storages_;  // after what the storages use: destroyed first
  std::unique_ptr<PodStreams> pod_streams_;  // reads through storages_
  const Discovery discovery_;
  std::mutex external_mu_;
  std::string external_url_;  // where clients reach the API; guarded by external_mu_
  std::atomic<bool> bootstrapped_{false};
  std::atomic<bool> stopping_{false};
};

ApiServerImpl::ApiServerImpl(Store* store, ApiServerOptions opts, ServiceAllocator alloc)
    : store_(store), opts_(std::move(opts)), registry_(api::ResourceRegistry::BuiltIn()),
      strategies_(BuiltInStrategies(registry_)), openapi_(registry_, opts_.git_version),
      alloc_(std::move(alloc)), admission_({}), pool_(opts_.request_threads),
      caches_(store, [this] {
        WatchCacheOptions o;
        o.ring_capacity = opts_.watch_cache_ring;
        o.max_watcher_backlog = opts_.max_watcher_backlog;
        o.bookmark_interval = opts_.bookmark_interval;
        o.clock = opts_.clock;
        return o;
      }()),
      discovery_(registry_, storages_) {
  // NamespaceLifecycle first, then the configured plugins.
  std::vector<std::shared_ptr<const AdmissionPlugin>> plugins = {
      // As upstream's plugin reads an informer's cache, with a live lookup on a miss.
      NamespaceLifecycle([this](const std::string& name) -> Result<json::object> {
        auto ns = storages_.Store("", "namespaces")->ReadCached("", name);
        if (!ns.ok()) return ns.error().ToStatus();
        return std::move(*ns);
      }),
      // Also from the cache: a class created a moment ago may not be seen yet, as upstream.
      PriorityAdmission(PriorityClassReader{
          [this](const std::string& name) -> Result<json::object> {
            auto pc = storages_.Store("scheduling.k8s.io", "priorityclasses")->ReadCached("", name);
            if (!pc.ok()) return pc.error().ToStatus();
            return std::move(*pc);
          },
          [this]() -> Result<std::vector<json::object>> {
            return CachedCollection(storages_.Store("scheduling.k8s.io", "priorityclasses"),
                                    "\"globalDefault\":true");
          }})};
  for (auto& p : opts_.admission) plugins.push_back(p);
  admission_ = AdmissionChain(std::move(plugins));
  StorageDeps deps;
  deps.registry = &registry_;
  deps.strategies = &strategies_;
  deps.store = StoreDeps{store_, &caches_, &admission_, opts_.clock, &pool_};
  deps.allocator = &alloc_;
  deps.tokens = TokenIssuer{opts_.token_signer, opts_.service_account_issuer, opts_.clock};
  deps.authorizer = opts_.authorizer;
  InstallStorages(deps, &storages_);
  PodStreamsDeps streams;
  streams.read_pod = [this](const std::string& ns, const std::string& name) {
    return storages_.Store("", "pods")->Read(ns, name);
  };
  streams.read_node = [this](const std::string& name) {
    return storages_.Store("", "nodes")->Read("", name);
  };
  streams.signer = opts_.token_signer;
  streams.issuer = opts_.service_account_issuer;
  streams.clock = opts_.clock;
  pod_streams_ = std::make_unique<PodStreams>(std::move(streams));
}

RestStorage* ApiServerImpl::Storage(std::string_view group, std::string_view resource,
                                    std::string_view subresource) {
  const api::ResourceInfo* r = registry_.Find(group, "v1", resource);
  const Route* route = r ? storages_.Find(*r, subresource) : nullptr;
  return route ? route->storage : nullptr;
}

void ApiServerImpl::Serve(HttpRequest req, std::shared_ptr<Exchange> ex) {
  auto user = opts_.authenticator->Authenticate(req);
  if (!user.ok()) return WriteError(*ex, api::NewUnauthorized());
  RequestInfo info = ParseRequestInfo(req);
  if (info.resource_request) return ServeResource(info, std::move(req), *user, std::move(ex));
  auto a = AttributesOf(req, *user, "", "", "", "", "", "");
  if (auto d = opts_.authorizer->Authorize(a); !d.allowed) {
    return WriteError(*ex, api::NewForbidden(ForbiddenMessage(a, d.reason)));
  }
  // Off the HTTP threads: health and metrics read the store.
  pool_.Post([this, info = std::move(info), req = std::move(req), ex = std::move(ex)] {
    ServeNonResource(info, req, *ex);
  });
}

void ApiServerImpl::ServeNonResource(const RequestInfo& info, const HttpRequest& req,
                                     Exchange& ex) {
  const auto& parts = info.parts;
  const std::string first = parts.empty() ? "" : parts[0];
  if (info.discovery) return ex.Respond(discovery_.Serve(req, parts));
  if (req.path == "/version" || req.path == "/version/") {
    return ex.Respond(VersionResponse({opts_.major, opts_.minor, opts_.git_version}));
  }
  if (first == "healthz" || first == "livez" || first == "readyz") {
    std::vector<HealthCheck> checks = {
        {"ping", [] { return Status::Ok(); }},
        {"etcd",
         [this] {
           store::RangeRequest rr;
           rr.key = "/registry/health";
           rr.count_only = true;
           auto r = store_->Range(rr);
           return r.ok() ? Status::Ok() : r.status();
         }},
        {"poststarthook/bootstrap-controller", [this] {
           return bootstrapped_ ? Status::Ok() : UnavailableError("not finished");
         }}};
    if (first == "readyz") {
      checks.push_back({"shutdown", [this] {
                          return stopping_ ? UnavailableError("shutting down") : Status::Ok();
                        }});
    }
    return ex.Respond(HealthResponse(req, parts, checks));
  }
  if (req.path == "/metrics") {
    HttpResponse r = MetricsResponse(metrics_, caches_, registry_, store_);
    r.body += pod_streams_->MetricsText();
    return ex.Respond(std::move(r));
  }
  if (req.path == "/.well-known/openid-configuration" || req.path == "/openid/v1/jwks") {
    std::lock_guard l(external_mu_);
    return ex.Respond(OpenIdResponse(req.path, *opts_.token_signer,
                                     opts_.service_account_issuer, external_url_));
  }
  if (first == "openapi") return ex.Respond(OpenApiResponse(req, parts, openapi_));
  WriteError(ex, api::NewNotFoundPath());
}

void ApiServerImpl::ServeResource(const RequestInfo& info, HttpRequest req, UserInfo user,
                                  std::shared_ptr<Exchange> ex) {
  const api::ResourceInfo* r = registry_.Find(info.group, info.version, info.resource);
  const Route* route = r && !info.malformed && (info.ns.empty() || r->namespaced)
                           ? storages_.Find(*r, info.subresource)
                           : nullptr;
  // pods/log, exec, attach and portforward are answered by the pod's kubelet (pod_streams.h).
  const bool pod_stream = r && route == nullptr && r->group.empty() && r->resource == "pods" &&
                          !info.malformed && !info.ns.empty() &&
                          PodStreams::Serves(info.subresource);
  if ((route == nullptr && !pod_stream) || (!info.subresource.empty() && info.name.empty())) {
    return WriteError(*ex, api::NewNotFoundPath());
  }
  auto attrs = std::make_shared<RequestAttributes>(AttributesOf(
      req, std::move(user), info.group, info.version, r->resource, info.subresource, info.ns,
      info.name));
  if (auto d = opts_.authorizer->Authorize(*attrs); !d.allowed) {
    json::object details{{"kind", r->resource}};
    if (!info.name.empty()) details["name"] = info.name;
    if (!r->group.empty()) details["group"] = r->group;
    return WriteError(*ex, api::NewForbidden(ForbiddenMessage(*attrs, d.reason), details));
  }
  if (pod_stream) {
    // Off the HTTP threads: the pod and its node are read first.
    return pool_.Post([this, info, req = std::move(req), ex = std::move(ex)] {
      pod_streams_->Serve(req, info.ns, info.name, info.subresource, ex);
    });
  }
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    if (auto err = WriteOptionsError(req)) return WriteError(*ex, *err);
  }
  RequestScope scope{route, RequestContext{}, opts_.clock};
  RequestContext& ctx = scope.ctx;
  ctx.ns = info.ns;
  ctx.name = info.name;
  ctx.attrs = std::move(attrs);
  ctx.dry_run = req.Query("dryRun") == "All";
  ctx.field_manager = FieldManager(req);
  std::string_view mode = req.Query("fieldValidation");
  if (mode == "Strict") ctx.field_validation = FieldValidation::kStrict;
  if (mode == "Ignore") ctx.field_validation = FieldValidation::kIgnore;
  if (!mode.empty() && mode != "Strict" && mode != "Warn" && mode != "Ignore") {
    return WriteError(*ex, api::NewBadRequest("fieldValidation parameter unsupported value: \"" +
                                              std::string(mode) +
                                              "\"; supported values: \"Ignore\", \"Strict\", "
                                              "\"Warn\""));
  }
  ctx.warnings = std::make_shared<Warnings>();
  Handle handle = HandlerFor(info);
  ex = Encoders(req, info, ctx, std::move(ex));
  if (handle == nullptr) return WriteError(*ex, api::NewMethodNotAllowed());
  // A create that waits on nothing runs here; anything that may wait on the store runs on the
  // request executor.
  if (handle == HandleCreate && route->storage->CreateNeverBlocks()) return handle(scope, req, ex);
  pool_.Post([handle, scope = std::move(scope), req = std::move(req), ex = std::move(ex)] {
    handle(scope, req, ex);
  });
}

std::shared_ptr<Exchange> ApiServerImpl::Encoders(const HttpRequest& req, const RequestInfo& info,
                                                  const RequestContext& ctx,
                                                  std::shared_ptr<Exchange> ex) {
  const bool watch = info.verb == "watch";
  ex = std::make_shared<ObservingExchange>(std::move(ex), &metrics_, LabelsOf(req, info),
                                           opts_.clock.get());
  if (auto version = MetadataExchange::Wanted(req.Header("accept")); !version.empty()) {
    ex = std::make_shared<MetadataExchange>(std::move(ex), watch, std::move(version));
  } else if (api::AcceptsProtobuf(req.Header("accept"))) {
    ex = std::make_shared<ProtobufExchange>(std::move(ex), watch);
  }
  // Inside the encoders above, which see events.k8s.io/v1 objects.
  if (info.group == "events.k8s.io") {
    ex = std::make_shared<EventsV1Exchange>(std::move(ex), watch);
  }
  return std::make_shared<WarningExchange>(std::move(ex), ctx.warnings);
}

void ApiServerImpl::Shutdown() {
  if (stopping_.exchange(true)) return;
  caches_.Stop();  // ends every watch
  pool_.Stop();
  pod_streams_->Stop();
}

// --- start-up -------------------------------------------------------------------------------

std::string ApiServerImpl::Key(std::string_view resource, std::string_view ns,
                               std::string_view name) {
  for (const auto& r : registry_.all()) {
    if (r.resource != resource) continue;
    if (GenericStore* s = storages_.Store(r.group, r.resource)) return s->Key(ns, name);
  }
  return {};
}

Status ApiServerImpl::CreateIfMissing(const std::string& key, const json::object& obj) {
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                       store::Compare::Target::kCreate, key, "", 0, ""});
  store::RequestOp put{store::PutRequest{key, json::serialize(obj)}};
  txn.success.push_back(std::move(put));
  auto r = store_->Txn(std::move(txn));
  return r.ok() ? Status::Ok() : r.status();
}

Status ApiServerImpl::Bootstrap() {
  // Before serving: reconcile Service address and port allocations with the Services.
  KEELSON_RETURN_IF_ERROR(alloc_.Repair());
  const std::string now = api::FormatTime(opts_.clock->Now());
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    json::object ns{
        {"apiVersion", "v1"},
        {"kind", "Namespace"},
        {"metadata", json::object{{"name", name},
                                  {"uid", api::NewUid()},
                                  {"creationTimestamp", now},
                                  {"labels", json::object{{"kubernetes.io/metadata.name", name}}}}},
        {"spec", json::object{{"finalizers", json::array{"kubernetes"}}}},
        {"status", json::object{{"phase", "Active"}}}};
    KEELSON_RETURN_IF_ERROR(CreateIfMissing(Key("namespaces", "", name), ns));
  }
  // The `kubernetes` Service, on the first address of the service range.
  std::string svc_key = Key("services", "default", "kubernetes");
  if (auto cur = store_->Get(svc_key); !cur.ok() && cur.status().code() == StatusCode::kNotFound) {
    json::object svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{
      "name":"kubernetes","namespace":"default","labels":{"component":"apiserver",
      "provider":"kubernetes"}},"spec":{"type":"ClusterIP","sessionAffinity":"None",
      "ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}})").as_object();
    auto& meta = api::MutableMetadata(&svc);
    meta["uid"] = api::NewUid();
    meta["creationTimestamp"] = now;
    svc["spec"].as_object()["clusterIP"] = alloc_.FirstAddress();
    store::TxnRequest txn;
    txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                         store::Compare::Target::kCreate, svc_key, "", 0, ""});
    auto errs = alloc_.AllocateForCreate(&svc, "default/kubernetes", &txn);
    if (!errs.empty()) return InternalError("the kubernetes service: " + errs[0].message);
    txn.success.push_back(store::RequestOp{store::PutRequest{svc_key, json::serialize(svc)}});
    auto res = store_->Txn(std::move(txn));
    if (!res.ok()) return res.status();
  }
  // The two built-in priority classes, as upstream creates them.
  struct Builtin {
    const char* name;
    int64_t value;
    const char* description;
  };
  for (const Builtin& b :
       {Builtin{"system-node-critical", 2000001000,
                "Used for system critical pods that must not be moved from their current node."},
        Builtin{"system-cluster-critical", 2000000000,
                "Used for system critical pods that must run in the cluster, but can be moved "
                "to another node if necessary."}}) {
    json::object pc{{"apiVersion", "scheduling.k8s.io/v1"},
                    {"kind", "PriorityClass"},
                    {"metadata", json::object{{"name", b.name},
                                              {"uid", api::NewUid()},
                                              {"creationTimestamp", now}}},
                    {"value", b.value},
                    {"globalDefault", false},
                    {"description", b.description},
                    {"preemptionPolicy", "PreemptLowerPriority"}};
    KEELSON_RETURN_IF_ERROR(CreateIfMissing(Key("priorityclasses", "", b.name), pc));
  }
  // The caches load in the background: serving does not wait for them (a LIST that comes
  // first waits for its own cache, as it would have anyway).
  if (opts_.start_watch_caches) {
    for (const auto& r : registry_.all()) {
      if (GenericStore* s = storages_.Store(r.group, r.resource)) s->Cache();
    }
  }
  bootstrapped_ = true;
  return Status::Ok();
}

Status ApiServerImpl::PublishEndpoint(const std::string& address, int port) {
  {
    std::lock_guard l(external_mu_);
    external_url_ = "http://" + address + ":" + std::to_string(port);
  }
  // The `kubernetes` Service's port targets the API's.
  std::string svc_key = Key("services", "default", "kubernetes");
  json::object want{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", port}};
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto cur = store_->Get(svc_key);
    if (!cur.ok()) return cur.status();
    auto svc = GenericStore::Decode(*cur);
    if (!svc.ok()) return svc.error().ToStatus();
    auto& ports = (*svc)["spec"].as_object()["ports"];
    if (ports.is_array() && ports.as_array().size() == 1 && ports.as_array()[0] == want) break;
    ports = json::array{want};
    api::MutableMetadata(&*svc).erase("resourceVersion");
    store::TxnRequest txn;
    txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                         store::Compare::Target::kMod, svc_key, "",
                                         cur->mod_revision, ""});
    txn.success.push_back(store::RequestOp{store::PutRequest{svc_key, json::serialize(*svc)}});
    auto res = store_->Txn(std::move(txn));
    if (!res.ok()) return res.status();
    if (res->succeeded) break;
  }
  // Its Endpoints and EndpointSlice: the API's address.
  json::object port_entry{{"name", "https"}, {"port", port}, {"protocol", "TCP"}};
  json::object endpoints{
      {"apiVersion", "v1"},
      {"kind", "Endpoints"},
      {"metadata", json::object{{"name", "kubernetes"}, {"namespace", "default"},
                                {"labels", json::object{{"endpointslice.kubernetes.io/skip-mirror",
                                                         "true"}}}}},
      {"subsets", json::array{json::object{
                      {"addresses", json::array{json::object{{"ip", address}}}},
                      {"ports", json::array{port_entry}}}}}};
  json::object slice{
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata", json::object{{"name", "kubernetes"}, {"namespace", "default"},
                                {"labels", json::object{{"kubernetes.io/service-name", "kubernetes"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", json::array{json::object{
                        {"addresses", json::array{address}},
                        {"conditions", json::object{{"ready", true}}}}}},
      {"ports", json::array{port_entry}}};
  for (auto* obj : {&endpoints, &slice}) {
    std::string key = Key(obj == &endpoints ? "endpoints" : "endpointslices", "default",
                          "kubernetes");
    auto& meta = api::MutableMetadata(obj);
    auto cur = store_->Get(key);
    if (cur.ok()) {
      auto old = GenericStore::Decode(*cur);
      if (old.ok()) {
        const auto& om = *api::GetMetadata(*old);
        meta["uid"] = om.contains("uid") ? om.at("uid") : json::value(api::NewUid());
        meta["creationTimestamp"] = om.contains("creationTimestamp")
                                        ? om.at("creationTimestamp")
                                        : json::value(api::FormatTime(opts_.clock->Now()));
        json::object cmp = *old;
        api::MutableMetadata(&cmp).erase("resourceVersion");
        if (cmp == *obj) continue;  // already says so
      }
    } else {
      meta["uid"] = api::NewUid();
      meta["creationTimestamp"] = api::FormatTime(opts_.clock->Now());
    }
    auto put = store_->Put(key, json::serialize(*obj));
    if (!put.ok()) return put.status();
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::Create(store::Store* store,
                                                     ApiServerOptions options) {
  if (store == nullptr) return InvalidArgumentError("api server needs a store");
  if (options.authenticator == nullptr) options.authenticator = AnonymousAuthenticator();
  if (options.authorizer == nullptr) options.authorizer = AlwaysAllowAuthorizer();
  if (options.clock == nullptr) options.clock = RealClock();
  ServiceAllocOptions ao;
  ao.service_cidr = options.service_cidr;
  auto alloc = ServiceAllocator::Create(store, ao);
  if (!alloc.ok()) return alloc.status();
  if (options.token_signer == nullptr) {
    auto signer = TokenSigner::Ephemeral();
    if (!signer.ok()) return signer.status();
    options.token_signer = std::move(*signer);
  }
  return std::unique_ptr<ApiServer>(
      std::make_unique<ApiServerImpl>(store, std::move(options), std::move(*alloc)));
}

}  // namespace keelson::apiserver
