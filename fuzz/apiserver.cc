// The whole API server in process: ApiServer over the embedded store (in a scratch
// directory), each input one request through Serve() with a capturing Exchange. The first
// byte picks the request (verb, resource, content type), the rest is its body: creates,
// updates, patches of each type and applies of ConfigMaps, Pods, Deployments and Services,
// in JSON, YAML and protobuf, deletes with DeleteOptions.
// Invariants: nothing crashes, leaks or hangs (every request is answered within 10 s); a
// refused request (4xx, 5xx) leaves the store as it was; an object a request stored reads
// back with GET, as JSON within the limits.
#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "apiserver/apiserver.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/temp_dir.h"
#include "store/mvcc/embedded_store.h"

using namespace keelson;
namespace json = boost::json;

namespace {

// Collects one answer (a response, or a stream until its end).
class Capture final : public apiserver::Exchange {
 public:
  void Respond(apiserver::HttpResponse r) override {
    std::lock_guard l(mu_);
    response_ = std::move(r);
    done_ = true;
    cv_.notify_all();
  }
  void StartStream(int status, std::string content_type) override {
    std::lock_guard l(mu_);
    response_.status = status;
    response_.content_type = std::move(content_type);
  }
  bool Write(std::string data) override {
    std::lock_guard l(mu_);
    response_.body += data;
    return true;
  }
  void EndStream() override {
    std::lock_guard l(mu_);
    done_ = true;
    cv_.notify_all();
  }
  size_t Backlog() const override { return 0; }
  void OnClose(std::function<void()>) override {}

  // The answer, or nullopt when there is none within `timeout`.
  std::optional<apiserver::HttpResponse> Wait(std::chrono::seconds timeout) {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, timeout, [&] { return done_; })) return std::nullopt;
    return response_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  apiserver::HttpResponse response_;
  bool done_ = false;
};

struct Route {
  const char* method;
  const char* target;
  const char* content_type;
};

// Objects named "fuzz" exist for the updates, patches and deletes to work on.
constexpr Route kRoutes[] = {
    {"POST", "/api/v1/namespaces/default/configmaps", "application/json"},
    {"POST", "/api/v1/namespaces/default/configmaps", "application/yaml"},
    {"POST", "/api/v1/namespaces/default/pods", "application/json"},
    {"POST", "/api/v1/namespaces/default/pods", "application/vnd.kubernetes.protobuf"},
    {"POST", "/apis/apps/v1/namespaces/default/deployments", "application/yaml"},
    {"POST", "/api/v1/namespaces/default/services", "application/json"},
    {"POST", "/api/v1/namespaces", "application/json"},
    {"PUT", "/api/v1/namespaces/default/configmaps/fuzz", "application/json"},
    {"PUT", "/apis/apps/v1/namespaces/default/deployments/fuzz", "application/vnd.kubernetes.protobuf"},
    {"PATCH", "/api/v1/namespaces/default/configmaps/fuzz", "application/merge-patch+json"},
    {"PATCH", "/api/v1/namespaces/default/pods/fuzz", "application/json-patch+json"},
    {"PATCH", "/apis/apps/v1/namespaces/default/deployments/fuzz",
     "application/strategic-merge-patch+json"},
    {"PATCH", "/apis/apps/v1/namespaces/default/deployments/fuzz?fieldManager=fuzz",
     "application/apply-patch+yaml"},
    {"PATCH", "/api/v1/namespaces/default/services/fuzz?fieldManager=fuzz&force=true",
     "application/apply-patch+yaml"},
    {"PUT", "/apis/apps/v1/namespaces/default/deployments/fuzz/status", "application/json"},
    {"DELETE", "/api/v1/namespaces/default/configmaps/fuzz", "application/json"},
};

constexpr const char* kBaseline[][2] = {
    {"/api/v1/namespaces/default/configmaps",
     R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fuzz"},"data":{"a":"b"}})"},
    {"/api/v1/namespaces/default/pods",
     R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"fuzz","labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"nginx"}]}})"},
    {"/apis/apps/v1/namespaces/default/deployments",
     R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"fuzz"},"spec":{
        "replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":
        {"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})"},
    {"/api/v1/namespaces/default/services",
     R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"fuzz"},"spec":{"selector":
        {"app":"web"},"ports":[{"port":80}]}})"},
};

struct Harness {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<apiserver::ApiServer> api;
};

apiserver::HttpResponse Call(Harness* h, std::string method, std::string target,
                             std::string content_type, std::string body) {
  apiserver::HttpRequest req;
  req.method = std::move(method);
  req.target = target;
  auto q = target.find('?');
  req.path = apiserver::PercentDecode(std::string_view(target).substr(0, q), false);
  if (q != std::string::npos) req.query = apiserver::ParseQuery(std::string_view(target).substr(q + 1));
  if (!content_type.empty()) req.headers.emplace_back("content-type", std::move(content_type));
  req.body = std::move(body);
  std::string what = req.method + " " + req.target + "\n" + req.body;
  auto capture = std::make_shared<Capture>();
  h->api->Serve(std::move(req), capture);
  auto r = capture->Wait(std::chrono::seconds(10));
  if (!r) fuzz::Fail("a request was not answered within 10 seconds", what);
  return *r;
}

void EnsureBaseline(Harness* h) {
  for (const auto& [collection, body] : kBaseline) {
    auto r = Call(h, "POST", collection, "application/json", body);
    if (r.status != 201 && r.status != 409) fuzz::Fail("cannot create a baseline object", r.body);
  }
}

Harness* Start() {
  auto* h = new Harness;
  store::EmbeddedOptions eo;
  eo.data_dir = fuzz::ScratchDir("apiserver") + "/store";
  eo.auto_compact_retention = std::chrono::seconds(0);
  auto st = store::OpenEmbeddedStore(eo);
  if (!st.ok()) fuzz::Fail("cannot open the store", st.status().message());
  h->store = std::move(*st);
  apiserver::ApiServerOptions ao;
  ao.start_watch_caches = false;
  auto api = apiserver::ApiServer::Create(h->store.get(), std::move(ao));
  if (!api.ok()) fuzz::Fail("cannot create the API server", api.status().message());
  h->api = std::move(*api);
  if (Status b = h->api->Bootstrap(); !b.ok()) fuzz::Fail("bootstrap", b.message());
  EnsureBaseline(h);
  return h;
}

int64_t Revision(Harness* h) {
  store::RangeRequest rr;
  rr.key = "/registry/keelson-fuzz-probe";
  auto r = h->store->Range(rr);
  if (!r.ok()) fuzz::Fail("cannot read the store", r.status().message());
  return r->revision;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = Start();
  if (size < 1) return 0;
  const Route& route = kRoutes[data[0] % std::size(kRoutes)];
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  int64_t before = Revision(h);
  auto r = Call(h, route.method, route.target, route.content_type, body);
  int64_t after = Revision(h);
  if (r.status >= 400) {
    fuzz::Check(after == before, "a refused request changed the store",
                std::to_string(r.status) + " " + route.method + " " + route.target + "\n" +
                    r.body + "\n" + body);
    return 0;
  }
  if (std::string_view(route.method) == "POST" && r.status == 201 &&
      r.content_type == "application/json") {
    // What was created reads back, and goes again so that the store stays small.
    auto created = api::ParseJson(r.body);
    fuzz::Check(created.ok() && created->is_object(), "a create answered something unreadable",
                r.body);
    const auto* meta = created->as_object().if_contains("metadata");
    const auto* name = meta && meta->is_object() ? meta->as_object().if_contains("name") : nullptr;
    fuzz::Check(name && name->is_string(), "a created object has no name", r.body);
    std::string item = std::string(route.target) + "/" + std::string(name->as_string());
    auto got = Call(h, "GET", item, "", "");
    fuzz::Check(got.status == 200 && api::ParseJson(got.body).ok(),
                "a created object does not read back", item + "\n" + got.body);
    if (name->as_string() != "fuzz") {
      auto del = Call(h, "DELETE", item + "?gracePeriodSeconds=0", "", "");
      fuzz::Check(del.status == 200 || del.status == 202 || del.status == 404,
                  "a created object cannot be deleted", item + "\n" + del.body);
    }
  } else if (r.status < 300 && std::string_view(route.method) != "DELETE") {
    std::string item(route.target);
    item = item.substr(0, item.find('?'));
    if (item.ends_with("/status")) item.resize(item.size() - 7);
    auto got = Call(h, "GET", item, "", "");
    fuzz::Check(got.status == 200 && api::ParseJson(got.body).ok(),
                "a written object does not read back", item + "\n" + got.body);
  }
  if (std::string_view(route.method) == "DELETE") EnsureBaseline(h);
  return 0;
}
