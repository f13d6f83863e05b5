// The client library against a real API server on an embedded store in a temp dir, through
// both transports: HTTP over loopback (HttpServer on port 0) and in-process (the server's
// Handler). CRUD with typed errors, subresources, paging, JSON and protobuf, watches with
// bookmarks and 410, informers seeing adds, updates and deletes, leader election writing a
// real Lease with upstream's fields (also as kubectl shows it), the event recorder's series;
// and, over HTTP, a refused connection and a server restart under pooled connections.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <regex>
#include <thread>

#include "apiserver/apiserver.h"
#include "apiserver/http_server.h"
#include "client/event_recorder.h"
#include "client/informer.h"
#include "client/kubeconfig.h"
#include "client/leader_election.h"
#include "client/rest_client.h"
#include "client/time_format.h"
#include "store/mvcc/embedded_store.h"
#include "test/util/processes.h"

namespace keelson::client {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const api::ResourceInfo& Res(std::string_view group, std::string_view resource) {
  for (const auto& r : api::ResourceRegistry::BuiltIn().all()) {
    if (r.group == group && r.resource == resource) return r;
  }
  std::abort();
}

api::Object ConfigMap(std::string_view name, json::object data = {{"k", "v"}},
                      json::object labels = {}) {
  return api::Object{{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", json::object{{"name", name}, {"labels", labels}}},
                     {"data", data}};
}

template <typename F>
bool Eventually(F pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

class ClientIntegrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store::EmbeddedOptions eo;
    eo.data_dir = (dir_.path() / "store").string();
    auto s = store::OpenEmbeddedStore(eo);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    apiserver::ApiServerOptions o;
    o.bookmark_interval = 200ms;
    o.watch_cache_ring = 16;
    auto api = apiserver::ApiServer::Create(store_.get(), std::move(o));
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(*api);
    ASSERT_TRUE(api_->Bootstrap().ok());
    StartHttp(0);
    client_ = NewClient();
  }
  void TearDown() override {
    client_.reset();
    if (http_) http_->Stop();
    api_->Shutdown();
  }
  void StartHttp(int port) {
    apiserver::HttpServerOptions ho;
    ho.port = port;
    auto h = apiserver::HttpServer::Start(ho, api_.get());
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    http_ = std::move(*h);
    server_ = "http://127.0.0.1:" + std::to_string(http_->port());
  }
  bool Http() const { return GetParam() == "http"; }
  std::unique_ptr<RestClient> NewClient(RestConfig config = {}) {
    config.server = server_;
    std::shared_ptr<Transport> t;
    if (Http()) {
      HttpTransportOptions ho;
      ho.server = server_;
      auto ht = NewHttpTransport(ho);
      EXPECT_TRUE(ht.ok());
      t = std::move(*ht);
    } else {
      t = NewInProcessTransport(api_.get());
    }
    return std::make_unique<RestClient>(std::move(config), std::move(t));
  }
  ResourceClient ConfigMaps() { return client_->Resource(Res("", "configmaps")).Namespace("default"); }

  keelson::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<apiserver::ApiServer> api_;
  std::unique_ptr<apiserver::HttpServer> http_;
  std::string server_;
  std::unique_ptr<RestClient> client_;
};

TEST_P(ClientIntegrationTest, CrudWithTypedErrors) {
  auto cms = ConfigMaps();
  auto created = cms.Create(ConfigMap("a", {{"k", "1"}}, {{"app", "x"}}));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_FALSE(api::GetUid(*created).empty());
  EXPECT_TRUE(api::IsAlreadyExists(cms.Create(ConfigMap("a")).error()));
  ASSERT_TRUE(cms.Create(ConfigMap("b", {{"k", "2"}}, {{"app", "y"}})).ok());

  auto got = cms.Get("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->at("data").at("k").as_string(), "1");
  EXPECT_TRUE(api::IsNotFound(cms.Get("nope").error()));

  ListOptions lo;
  lo.label_selector = "app=x";
  auto list = cms.List(lo);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->at("items").as_array().size(), 1u);
  EXPECT_EQ(api::GetKind(list->at("items").as_array()[0].as_object()), "ConfigMap");

  // Update with the resourceVersion read: compare-and-swap.
  api::Object changed = *got;
  changed["data"].as_object()["k"] = "changed";
  auto updated = cms.Update(changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_TRUE(api::IsConflict(cms.Update(changed).error()));  // the old resourceVersion

  auto patched = cms.Patch("a", PatchType::kMerge, R"({"data":{"extra":"e"}})");
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ(patched->at("data").at("extra").as_string(), "e");
  auto strategic = cms.Patch("a", PatchType::kStrategicMerge, R"({"metadata":{"labels":{"s":"1"}}})");
  ASSERT_TRUE(strategic.ok()) << strategic.error().message;
  EXPECT_EQ(api::GetLabels(*strategic).at("s"), "1");

  WriteOptions dry;
  dry.dry_run = true;
  ASSERT_TRUE(cms.Create(ConfigMap("dry"), dry).ok());
  EXPECT_TRUE(api::IsNotFound(cms.Get("dry").error()));

  auto deleted = cms.Delete("a");
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_TRUE(api::IsNotFound(cms.Get("a").error()));
  EXPECT_TRUE(api::IsNotFound(cms.Delete("a").error()));

  DeleteOptions all;
  ASSERT_TRUE(cms.DeleteCollection(all, lo).ok());
  auto left = cms.List();
  ASSERT_TRUE(left.ok());
  // b stays (app=y); kube-root-ca.crt may exist in some clusters, not here.
  std::vector<std::string> names;
  for (const auto& i : left->at("items").as_array()) names.emplace_back(api::GetName(i.as_object()));
  EXPECT_EQ(names, (std::vector<std::string>{"b"}));
}

TEST_P(ClientIntegrationTest, InvalidObjectIsA422WithCauses) {
  auto r = ConfigMaps().Create(ConfigMap("Not_A_Valid_Name"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(api::IsInvalid(r.error()));
  EXPECT_EQ(r.error().code, 422);
}

TEST_P(ClientIntegrationTest, OversizedBodyIsA413) {
  auto r = ConfigMaps().Create(ConfigMap("big", {{"k", std::string(4 << 20, 'x')}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 413);
  EXPECT_EQ(r.error().reason, "RequestEntityTooLarge");
}

TEST_P(ClientIntegrationTest, PodSubresources) {
  auto pods = client_->Resource(Res("", "pods")).Namespace("default");
  json::object pod{
      {"metadata", json::object{{"name", "p"}}},
      {"spec", json::object{{"containers", json::array{json::object{{"name", "c"},
                                                                    {"image", "busybox"}}}}}}};
  ASSERT_TRUE(pods.Create(pod).ok());
  api::Object binding{{"apiVersion", "v1"},
                      {"kind", "Binding"},
                      {"metadata", json::object{{"name", "p"}}},
                      {"target", json::object{{"apiVersion", "v1"}, {"kind", "Node"},
                                              {"name", "node1"}}}};
  auto bound = pods.CreateSubresource("p", "binding", binding);
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  auto got = pods.Get("p");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(api::FieldText(*got, "spec.nodeName"), "node1");
  // Bound twice: upstream's conflict.
  EXPECT_TRUE(api::IsConflict(pods.CreateSubresource("p", "binding", binding).error()));

  // Status through /status.
  api::Object status = *got;
  status["status"].as_object()["phase"] = "Running";
  auto st = pods.UpdateStatus(status);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(api::FieldText(*st, "status.phase"), "Running");

  api::Object eviction{{"apiVersion", "policy/v1"},
                       {"kind", "Eviction"},
                       {"metadata", json::object{{"name", "p"}, {"namespace", "default"}}}};
  auto evicted = pods.CreateSubresource("p", "eviction", eviction);
  ASSERT_TRUE(evicted.ok()) << evicted.error().message;
  // A bound pod is deleted gracefully: marked, then gone once its kubelet finishes.
  auto after = pods.Get("p");
  EXPECT_TRUE(!after.ok() || api::IsBeingDeleted(*after));
}

TEST_P(ClientIntegrationTest, PagedLists) {
  auto cms = ConfigMaps();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cms.Create(ConfigMap("c" + std::to_string(i))).ok());
  ListOptions lo;
  lo.limit = 2;
  std::vector<std::string> names;
  std::string rv;
  for (int page = 0; page < 10; ++page) {
    auto list = cms.List(lo);
    ASSERT_TRUE(list.ok()) << list.error().message;
    for (const auto& i : list->at("items").as_array()) names.emplace_back(api::GetName(i.as_object()));
    const auto& meta = list->at("metadata").as_object();
    if (rv.empty()) rv = std::string(meta.at("resourceVersion").as_string());
    EXPECT_EQ(meta.at("resourceVersion").as_string(), rv);  // one revision for every page
    auto* cont = meta.if_contains("continue");
    if (!cont || cont->as_string().empty()) break;
    lo.continue_token = std::string(cont->as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
}

// A list larger than the server holds back for a slow reader (2 MiB) arrives whole: the
// transport reads the stream as it comes rather than waiting for its end.
TEST_P(ClientIntegrationTest, AWholeListLargerThanTheServersBacklog) {
  auto cms = ConfigMaps();
  const std::string value(4096, 'x');
  for (int i = 0; i < 800; ++i) {
    ASSERT_TRUE(cms.Create(ConfigMap("big" + std::to_string(i), {{"v", value}})).ok());
  }
  auto list = cms.List({});
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->at("items").as_array().size(), 800u);
}

TEST_P(ClientIntegrationTest, ProtobufBothWays) {
  RestConfig cfg;
  cfg.content_type = ContentType::kProtobuf;
  auto pb = NewClient(cfg);
  auto cms = pb->Resource(Res("", "configmaps")).Namespace("default");
  auto created = cms.Create(ConfigMap("pb", {{"k", "v"}}));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->at("data").at("k").as_string(), "v");
  auto list = cms.List();
  ASSERT_TRUE(list.ok()) << list.error().message;
  std::string rv(api::GetResourceVersion(*list));
  EXPECT_FALSE(rv.empty());
  EXPECT_TRUE(api::IsNotFound(cms.Get("nope").error()));  // errors stay JSON

  ListOptions wo;
  wo.resource_version = std::string(api::GetResourceVersion(*created));
  auto w = cms.Watch(wo);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(cms.Patch("pb", PatchType::kMerge, R"({"data":{"k":"w"}})").ok());
  auto ev = (*w)->Next();
  ASSERT_TRUE(ev.ok() && ev->has_value()) << (ev.ok() ? "ended" : ev.error().message);
  EXPECT_EQ((*ev)->type, WatchEventType::kModified);
  EXPECT_EQ((*ev)->object->at("data").at("k").as_string(), "w");
}

TEST_P(ClientIntegrationTest, WatchEventsInOrderWithBookmarks) {
  auto cms = ConfigMaps();
  auto list = cms.List();
  ASSERT_TRUE(list.ok());
  ListOptions wo;
  wo.resource_version = std::string(api::GetResourceVersion(*list));
  wo.allow_watch_bookmarks = true;
  auto w = cms.Watch(wo);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(cms.Create(ConfigMap("w")).ok());
  ASSERT_TRUE(cms.Patch("w", PatchType::kMerge, R"({"data":{"k":"2"}})").ok());
  ASSERT_TRUE(cms.Delete("w").ok());
  std::vector<WatchEventType> types;
  int64_t last_rv = 0;
  bool bookmark = false;
  while (types.size() < 3 || !bookmark) {
    auto ev = (*w)->Next();
    ASSERT_TRUE(ev.ok() && ev->has_value()) << (ev.ok() ? "ended" : ev.error().message);
    int64_t rv = std::stoll(std::string(api::GetResourceVersion(*(*ev)->object)));
    EXPECT_GE(rv, last_rv);
    last_rv = rv;
    if ((*ev)->type == WatchEventType::kBookmark) {
      bookmark = true;
      continue;
    }
    EXPECT_EQ(api::GetName(*(*ev)->object), "w");
    types.push_back((*ev)->type);
  }
  EXPECT_EQ(types, (std::vector<WatchEventType>{WatchEventType::kAdded, WatchEventType::kModified,
                                                WatchEventType::kDeleted}));
  (*w)->Stop();
}

TEST_P(ClientIntegrationTest, WatchFromATooOldResourceVersionIsGone) {
  auto cms = ConfigMaps();
  auto first = cms.Create(ConfigMap("old"));
  ASSERT_TRUE(first.ok());
  // More changes than the watch cache keeps (16).
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(cms.Patch("old", PatchType::kMerge,
                          R"({"data":{"k":")" + std::to_string(i) + R"("}})")
                    .ok());
  }
  ListOptions wo;
  wo.resource_version = std::string(api::GetResourceVersion(*first));
  RestConfig pb_config;
  pb_config.content_type = ContentType::kProtobuf;
  auto pb = NewClient(pb_config);
  for (RestClient* c : {client_.get(), pb.get()}) {
    auto w = c->Resource(Res("", "configmaps")).Namespace("default").Watch(wo);
    if (w.ok()) {
      // The stream started: the 410 is its ERROR event.
      auto ev = (*w)->Next();
      ASSERT_FALSE(ev.ok());
      EXPECT_TRUE(api::IsGone(ev.error())) << ev.error().message;
    } else {
      EXPECT_TRUE(api::IsGone(w.error())) << w.error().message;
    }
  }
}

TEST_P(ClientIntegrationTest, InformerSeesAddsUpdatesAndDeletes) {
  auto cms = ConfigMaps();
  ASSERT_TRUE(cms.Create(ConfigMap("before")).ok());
  SharedInformerFactoryOptions fo;
  fo.namespace_name = "default";
  fo.reflector.page_size = 2;
  SharedInformerFactory factory(client_.get(), fo);
  SharedInformer* informer = factory.InformerFor(Res("", "configmaps"));
  std::mutex mu;
  std::vector<std::string> calls;
  ResourceEventHandler h;
  h.on_add = [&](const ObjectPtr& o, bool initial) {
    std::lock_guard l(mu);
    calls.push_back("add " + std::string(api::GetName(*o)) + (initial ? " initial" : ""));
  };
  h.on_update = [&](const ObjectPtr& old_obj, const ObjectPtr& new_obj) {
    std::lock_guard l(mu);
    calls.push_back("update " + std::string(api::GetName(*new_obj)) + " " +
                    api::FieldText(*old_obj, "data.k") + "->" + api::FieldText(*new_obj, "data.k"));
  };
  h.on_delete = [&](const ObjectPtr& o, bool unknown) {
    std::lock_guard l(mu);
    calls.push_back("delete " + std::string(api::GetName(*o)) + (unknown ? " unknown" : ""));
  };
  informer->AddEventHandler(h);
  factory.Start();
  ASSERT_TRUE(factory.WaitForCacheSync(10s));
  ASSERT_TRUE(cms.Create(ConfigMap("a", {{"k", "1"}})).ok());
  ASSERT_TRUE(cms.Patch("a", PatchType::kMerge, R"({"data":{"k":"2"}})").ok());
  ASSERT_TRUE(cms.Delete("before").ok());
  auto count = [&] {
    std::lock_guard l(mu);
    return calls.size();
  };
  ASSERT_TRUE(Eventually([&] { return count() >= 4; }));
  {
    std::lock_guard l(mu);
    EXPECT_EQ(calls, (std::vector<std::string>{"add before initial", "add a", "update a 1->2",
                                              "delete before"}));
  }
  auto lister = informer->lister();
  ASSERT_NE(lister.Get("default", "a"), nullptr);
  EXPECT_EQ(api::FieldText(*lister.Get("default", "a"), "data.k"), "2");
  EXPECT_EQ(lister.Get("default", "before"), nullptr);
  factory.Shutdown();
}

TEST_P(ClientIntegrationTest, LeaderElectionWritesUpstreamsLease) {
  std::atomic<int> a_led{0}, b_led{0};
  auto elector = [&](const std::string& id, std::atomic<int>* led) {
    LeaderElectionConfig c;
    c.identity = id;
    c.on_started_leading = [led] { ++*led; };
    c.release_on_cancel = true;
    // Short timings (whole seconds of lease, as the Lease field has) keep the test quick.
    c.lease_duration = 2s;
    c.renew_deadline = 1500ms;
    c.retry_period = 200ms;
    auto e = LeaderElector::Create(NewLeaseLock(client_.get(), "kube-system", "test-lock"), c);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(*e);
  };
  auto a = elector("host-a_1", &a_led);
  a->Start();
  ASSERT_TRUE(Eventually([&] { return a->IsLeader(); }));
  auto b = elector("host-b_2", &b_led);
  b->Start();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(a->IsLeader());
  EXPECT_FALSE(b->IsLeader());
  EXPECT_EQ(b->GetLeader(), "host-a_1");

  auto leases = client_->Resource(Res("coordination.k8s.io", "leases")).Namespace("kube-system");
  auto lease = leases.Get("test-lock");
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  const auto& spec = lease->at("spec").as_object();
  EXPECT_EQ(spec.at("holderIdentity").as_string(), "host-a_1");
  EXPECT_EQ(spec.at("leaseDurationSeconds").as_int64(), 2);
  EXPECT_EQ(spec.at("leaseTransitions").as_int64(), 0);
  std::regex micro(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match(std::string(spec.at("acquireTime").as_string()), micro))
      << spec.at("acquireTime").as_string();
  EXPECT_TRUE(std::regex_match(std::string(spec.at("renewTime").as_string()), micro));
  EXPECT_GT(*ParseTime(spec.at("renewTime").as_string()), *ParseTime(spec.at("acquireTime").as_string()));

  if (Http()) {
    // What kubectl shows: upstream's fields under spec.
    std::string kubeconfig = (dir_.path() / "kubeconfig").string();
    std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n"
                                 "    server: " << server_ << "\ncontexts:\n- name: k\n  context:\n"
                                 "    cluster: k\ncurrent-context: k\n";
    // The same file loads into a RestConfig for the same server.
    KubeconfigLoadOptions lo;
    lo.explicit_path = kubeconfig;
    auto cfg = LoadKubeconfig(lo);
    ASSERT_TRUE(cfg.ok());
    EXPECT_EQ(cfg->rest.server, server_);
    auto out = keelson::testing::RunCommand(
        {"kubectl", "--kubeconfig", kubeconfig, "get", "lease", "-n", "kube-system", "test-lock",
         "-o", "yaml"});
    if (out.exit_code != 0 && out.err.find("not found") != std::string::npos &&
        out.out.empty()) {
      GTEST_SKIP() << "kubectl not usable: " << out.err;
    }
    ASSERT_EQ(out.exit_code, 0) << out.err;
    EXPECT_NE(out.out.find("kind: Lease"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("holderIdentity: host-a_1"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("leaseDurationSeconds: 2"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("leaseTransitions: 0"), std::string::npos) << out.out;
    EXPECT_TRUE(std::regex_search(out.out, std::regex(R"(acquireTime: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")")))
        << out.out;
    EXPECT_TRUE(std::regex_search(out.out, std::regex(R"(renewTime: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")")))
        << out.out;
  }

  // a steps down and releases: b takes over, one more transition.
  a->Stop();
  ASSERT_TRUE(Eventually([&] { return b->IsLeader(); }));
  lease = leases.Get("test-lock");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->at("spec").at("holderIdentity").as_string(), "host-b_2");
  EXPECT_EQ(lease->at("spec").at("leaseTransitions").as_int64(), 1);
  b->Stop();
  EXPECT_EQ(a_led.load(), 1);
  EXPECT_EQ(b_led.load(), 1);
}

TEST_P(ClientIntegrationTest, EventRecorderWritesSeries) {
  auto pods = client_->Resource(Res("", "pods")).Namespace("default");
  json::object pod{
      {"metadata", json::object{{"name", "p"}}},
      {"spec", json::object{{"containers", json::array{json::object{{"name", "c"},
                                                                    {"image", "busybox"}}}}}}};
  auto created = pods.Create(pod);
  ASSERT_TRUE(created.ok());
  std::vector<std::string> errors;
  std::mutex mu;
  EventRecorderOptions o;
  o.reporting_controller = "default-scheduler";
  o.log = [&](const std::string& m) {
    std::lock_guard l(mu);
    errors.push_back(m);
  };
  EventRecorder rec(client_.get(), o);
  rec.Event(*created, kEventTypeNormal, "Scheduled", "Binding", "Successfully assigned default/p to node1");
  rec.Event(*created, kEventTypeNormal, "Scheduled", "Binding", "Successfully assigned default/p to node1");
  rec.Event(*created, kEventTypeWarning, "FailedMount", "Mounting", "no such volume");
  rec.Flush();
  {
    std::lock_guard l(mu);
    EXPECT_TRUE(errors.empty()) << errors.front();
  }
  auto events = client_->Resource(Res("events.k8s.io", "events")).Namespace("default").List();
  ASSERT_TRUE(events.ok()) << events.error().message;
  std::map<std::string, json::object> by_reason;
  for (const auto& e : events->at("items").as_array()) {
    by_reason[std::string(e.at("reason").as_string())] = e.as_object();
  }
  ASSERT_EQ(by_reason.size(), 2u);
  const auto& scheduled = by_reason["Scheduled"];
  EXPECT_EQ(scheduled.at("series").at("count").as_int64(), 2);
  EXPECT_EQ(scheduled.at("reportingController").as_string(), "default-scheduler");
  EXPECT_EQ(scheduled.at("regarding").at("name").as_string(), "p");
  EXPECT_EQ(scheduled.at("regarding").at("kind").as_string(), "Pod");
  EXPECT_FALSE(by_reason["FailedMount"].contains("series"));
  EXPECT_EQ(by_reason["FailedMount"].at("type").as_string(), "Warning");
}

// What only the HTTP transport has: connections.
class HttpTransportTest : public ClientIntegrationTest {};

TEST_P(HttpTransportTest, RefusedConnectionIsAConnectionFailure) {
  RestConfig cfg;
  cfg.server = "http://127.0.0.1:" + std::to_string(keelson::testing::FreePort());
  cfg.retry.max_retries = 2;
  cfg.retry.initial_backoff = 10ms;
  auto c = RestClient::NewHttp(cfg);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Resource(Res("", "namespaces")).Get("default");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsConnectionFailure(r.error()));
  EXPECT_TRUE(api::IsServiceUnavailable(r.error()));
  EXPECT_NE(r.error().message.find("connect"), std::string::npos) << r.error().message;

  cfg.server = "https://127.0.0.1:6443";
  EXPECT_EQ(RestClient::NewHttp(cfg).status().code(), StatusCode::kUnimplemented);
}

TEST_P(HttpTransportTest, PooledConnectionsSurviveAServerRestart) {
  auto ns = client_->Resource(Res("", "namespaces"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ns.Get("default").ok());
  int port = http_->port();
  http_->Stop();
  http_.reset();
  StartHttp(port);
  // The idle connection the client kept was closed by the old server; the request goes on a
  // new one.
  auto r = ns.Get("default");
  ASSERT_TRUE(r.ok()) << r.error().message;
  // A watch in progress ends when its server goes away.
  auto w = ConfigMaps().Watch({});
  ASSERT_TRUE(w.ok());
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    http_->Stop();
  });
  while (true) {
    auto ev = (*w)->Next();
    if (!ev.ok() || !ev->has_value()) break;
  }
  stopper.join();
}

TEST_P(ClientIntegrationTest, ConcurrentRequestsShareTheClient) {
  auto cms = ConfigMaps();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string name = "c-" + std::to_string(t) + "-" + std::to_string(i);
        if (cms.Create(ConfigMap(name)).ok() && cms.Get(name).ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
  auto list = cms.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->at("items").as_array().size(), 160u);
}

INSTANTIATE_TEST_SUITE_P(Transports, ClientIntegrationTest, ::testing::Values("http", "inprocess"),
                         [](const auto& info) { return info.param; });
INSTANTIATE_TEST_SUITE_P(Transports, HttpTransportTest, ::testing::Values("http"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace keelson::client
