// The ReplicaSet and ReplicationController controllers against an in-process API server.
// Pods have no scheduler or kubelet here: tests bind them and set their status themselves.
#include "controllers/replicaset/replica_set_controller.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/errors.h"
#include "controllers/base/workload_util.h"
#include "controllers/replicaset/replication_controller.h"
#include "controllers/testing/workload_fixture.h"

namespace keelson::controllers {
namespace {

using namespace std::chrono_literals;
using testing::ControlPlane;
using testing::ControllerRunner;
using testing::Eventually;

namespace json = boost::json;

std::string ReplicaSet(std::string_view name, int replicas, std::string_view extra_spec = "",
                       std::string_view template_meta = "") {
  return "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: " + std::string(name) +
         "\nspec:\n  replicas: " + std::to_string(replicas) +
         "\n  selector:\n    matchLabels:\n      app: " + std::string(name) + "\n" +
         std::string(extra_spec) + "  template:\n    metadata:\n      labels:\n        app: " +
         std::string(name) + "\n" + std::string(template_meta) +
         "    spec:\n      containers:\n      - name: c\n        image: nginx\n";
}

int64_t StatusOf(const std::optional<api::Object>& o, std::string_view field) {
  return o ? IntAt(*o, {"status", field}) : -1;
}

class ReplicaSetControllerTest : public ::testing::Test {
 protected:
  void Start(ReplicaSetControllerOptions options = {}) {
    runner_ = std::make_unique<ControllerRunner>(
        api_->client(),
        std::vector<ControllerFactory>{[options](ControllerContext& ctx) {
                                         return NewReplicaSetControllerFor(
                                             ctx, ReplicaSetKindFor(ctx.options()), options);
                                       },
                                       NewReplicationController});
    ASSERT_TRUE(runner_->ok());
  }

  std::optional<api::Object> Rs(std::string_view name, std::string_view ns = "default") {
    return api_->Get("apps", "replicasets", ns, name);
  }

  void Scale(std::string_view name, int replicas, std::string_view ns = "default") {
    auto r = api_->Resource("apps", "replicasets", ns)
                 .Patch(name, client::PatchType::kMerge,
                        R"({"spec":{"replicas":)" + std::to_string(replicas) + "}}");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  size_t Live(std::string_view app, std::string_view ns = "default") {
    return api_->LivePods(ns, "app=" + std::string(app)).size();
  }

  std::unique_ptr<ControlPlane> api_ = std::make_unique<ControlPlane>();
  std::unique_ptr<ControllerRunner> runner_;
};

TEST_F(ReplicaSetControllerTest, CreatesPodsFromTheTemplateAndScales) {
  Start();
  api_->Create("apps", "replicasets", "default",
               ReplicaSet("web", 3, "", "      annotations:\n        team: blue\n"));
  ASSERT_TRUE(Eventually([&] { return Live("web") == 3; }));
  auto rs = Rs("web");
  for (const auto& p : api_->LivePods("default", "app=web")) {
    EXPECT_EQ(api::GetGenerateName(p), "web-");
    EXPECT_TRUE(std::string(api::GetName(p)).starts_with("web-"));
    EXPECT_EQ(api::GetAnnotations(p).at("team"), "blue");
    auto ref = api::GetControllerOf(p);
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(ref->kind, "ReplicaSet");
    EXPECT_EQ(ref->api_version, "apps/v1");
    EXPECT_EQ(ref->name, "web");
    EXPECT_EQ(ref->uid, api::GetUid(*rs));
    EXPECT_TRUE(ref->block_owner_deletion);
  }
  ASSERT_TRUE(Eventually([&] {
    auto r = Rs("web");
    return StatusOf(r, "replicas") == 3 && StatusOf(r, "fullyLabeledReplicas") == 3 &&
           StatusOf(r, "observedGeneration") == 1;
  }));
  EXPECT_GE(api_->CountEvents("default", "web", "SuccessfulCreate"), 1);

  Scale("web", 5);
  ASSERT_TRUE(Eventually([&] { return Live("web") == 5; }));
  Scale("web", 1);
  ASSERT_TRUE(Eventually([&] { return Live("web") == 1; }));
  ASSERT_TRUE(Eventually([&] {
    auto r = Rs("web");
    return StatusOf(r, "replicas") == 1 && StatusOf(r, "observedGeneration") == 3;
  }));
  EXPECT_TRUE(Eventually([&] { return api_->CountEvents("default", "web", "SuccessfulDelete") >= 1; }));
  // And it stays there.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Live("web"), 1u);
}

TEST_F(ReplicaSetControllerTest, DeletesPodsInUpstreamsOrder) {
  Start();
  api_->Create("apps", "replicasets", "default", ReplicaSet("rank", 6));
  ASSERT_TRUE(Eventually([&] { return Live("rank") == 6; }));
  auto pods = api_->LivePods("default", "app=rank");
  auto now = std::chrono::system_clock::now();
  std::string unassigned(api::GetName(pods[0]));          // 1st: not on a node
  std::string pending(api::GetName(pods[1]));             // 2nd: on a node, Pending
  std::string not_ready(api::GetName(pods[2]));           // 3rd: Running, not ready
  std::string cheap(api::GetName(pods[3]));               // 4th: ready, deletion cost -5
  std::string recent(api::GetName(pods[4]));              // 5th: ready 2 s ago
  std::string old_ready(api::GetName(pods[5]));           // last: ready an hour ago
  for (size_t i = 1; i < pods.size(); ++i) api_->Bind("default", api::GetName(pods[i]), "node-a");
  api_->SetPodReady("default", not_ready, false);
  api_->SetPodReady("default", cheap, true, now - 3600s);
  api_->SetPodReady("default", recent, true, now - 2s);
  api_->SetPodReady("default", old_ready, true, now - 3600s);
  auto patched = api_->Resource("", "pods", "default")
                     .Patch(cheap, client::PatchType::kMerge,
                            R"({"metadata":{"annotations":{"controller.kubernetes.io/pod-deletion-cost":"-5"}}})");
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  ASSERT_TRUE(Eventually([&] { return StatusOf(Rs("rank"), "readyReplicas") == 3; }));

  auto live_names = [&] {
    std::set<std::string> names;
    for (const auto& p : api_->LivePods("default", "app=rank")) names.emplace(api::GetName(p));
    return names;
  };
  for (const std::string& next : {unassigned, pending, not_ready, cheap, recent}) {
    size_t before = live_names().size();
    Scale("rank", static_cast<int>(before) - 1);
    ASSERT_TRUE(Eventually([&] { return live_names().size() == before - 1; })) << next;
    EXPECT_EQ(live_names().count(next), 0u) << next << " should have gone first";
  }
  EXPECT_EQ(live_names(), std::set<std::string>{old_ready});
}

TEST(ReplicaSetQuotaTest, SlowStartStopsAtTheFirstFailedBatch) {
  auto quota = std::make_shared<testing::PodQuota>("default", 3);
  ControlPlane api({quota});
  ControllerRunner runner(api.client(), {NewReplicaSetController});
  ASSERT_TRUE(runner.ok());
  api.Create("apps", "replicasets", "default", ReplicaSet("q", 20));
  // Batches of 1 and 2 pass, the batch of 4 fails: 3 pods, 4 refusals, not 17.
  ASSERT_TRUE(Eventually([&] { return api.LivePods("default", "app=q").size() == 3; }));
  ASSERT_TRUE(Eventually([&] {
    auto rs = api.Get("apps", "replicasets", "default", "q");
    return rs && StatusCondition(*rs, "ReplicaFailure") != nullptr;
  }));
  auto rs = api.Get("apps", "replicasets", "default", "q");
  const api::Object* failure = StatusCondition(*rs, "ReplicaFailure");
  EXPECT_EQ(failure->at("status"), "True");
  EXPECT_EQ(failure->at("reason"), "FailedCreate");
  EXPECT_NE(std::string(failure->at("message").as_string()).find("exceeded quota"), std::string::npos)
      << failure->at("message");
  EXPECT_GE(quota->refused(), 4);
  EXPECT_TRUE(Eventually([&] {
    auto r = api.Get("apps", "replicasets", "default", "q");
    return r && IntAt(*r, {"status", "replicas"}) == 3;
  }));
  // Retries are rate limited (5 ms doubling) and start with a batch of one.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(quota->admitted(), 3);
  EXPECT_LT(quota->refused(), 4 + 12);
  EXPECT_GE(api.CountEvents("default", "q", "FailedCreate"), 1);
}

TEST_F(ReplicaSetControllerTest, ExpectationsHoldBackASyncBeforeTheInformerSawItsCreates) {
  auto gate = std::make_shared<testing::WatchGate>("/pods");
  auto client = api_->NewClient(gate);
  runner_ = std::make_unique<ControllerRunner>(client.get(),
                                               std::vector<ControllerFactory>{NewReplicaSetController});
  ASSERT_TRUE(runner_->ok());
  gate->Close();
  api_->Create("apps", "replicasets", "default", ReplicaSet("slow", 5));
  ASSERT_TRUE(Eventually([&] { return Live("slow") == 5; }));
  // The controller's cache has none of its pods: every sync now would create 5 more.
  auto rss = api_->Resource("apps", "replicasets", "default");
  for (int i = 0; i < 5; ++i) {
    auto r = rss.Patch("slow", client::PatchType::kMerge,
                       R"({"metadata":{"annotations":{"poke":")" + std::to_string(i) + R"("}}})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Live("slow"), 5u);
  gate->Open();
  ASSERT_TRUE(Eventually([&] { return StatusOf(Rs("slow"), "replicas") == 5; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Live("slow"), 5u);
  runner_.reset();
}

TEST_F(ReplicaSetControllerTest, AdoptsOrphansReleasesMismatchesAndIgnoresOthersPods) {
  // An orphan that matches, and a pod whose controller does not exist.
  api_->Create("", "pods", "default",
               "metadata: {name: orphan, labels: {app: adopt}}\n"
               "spec: {containers: [{name: c, image: nginx}]}");
  api_->Create("", "pods", "default",
               "metadata:\n  name: foreign\n  labels: {app: adopt}\n  ownerReferences:\n"
               "  - {apiVersion: apps/v1, kind: ReplicaSet, name: gone, "
               "uid: 7d1c2a3e-0000-4000-8000-000000000000, controller: true}\n"
               "spec: {containers: [{name: c, image: nginx}]}");
  Start();
  api_->Create("apps", "replicasets", "default", ReplicaSet("adopt", 3));
  ASSERT_TRUE(Eventually([&] {
    auto p = api_->Get("", "pods", "default", "orphan");
    return p && api::GetControllerOf(*p).has_value();
  }));
  auto rs = Rs("adopt");
  EXPECT_EQ(api::GetControllerOf(*api_->Get("", "pods", "default", "orphan"))->uid, api::GetUid(*rs));
  // The foreign pod is neither adopted nor counted: 3 of its own besides it.
  ASSERT_TRUE(Eventually([&] { return StatusOf(Rs("adopt"), "replicas") == 3; }));
  EXPECT_EQ(Live("adopt"), 4u);
  EXPECT_EQ(api::GetControllerOf(*api_->Get("", "pods", "default", "foreign"))->name, "gone");

  // A pod relabelled out of the selector is released and replaced.
  auto r = api_->Resource("", "pods", "default")
               .Patch("orphan", client::PatchType::kMerge, R"({"metadata":{"labels":{"app":"away"}}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(Eventually([&] {
    auto p = api_->Get("", "pods", "default", "orphan");
    return p && !api::GetControllerOf(*p).has_value();
  }));
  ASSERT_TRUE(Eventually([&] { return Live("adopt") == 4; }));

  // Settled: no retries, no more writes.
  ASSERT_TRUE(Eventually([&] { return StatusOf(Rs("adopt"), "replicas") == 3; }));
  std::this_thread::sleep_for(200ms);
  std::string rv(api::GetResourceVersion(*Rs("adopt")));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(api::GetResourceVersion(*Rs("adopt")), rv);
  EXPECT_EQ(Live("adopt"), 4u);
}

TEST_F(ReplicaSetControllerTest, StatusCountsReadyAvailableAndFullyLabeled) {
  Start();
  api_->Create("apps", "replicasets", "default",
               ReplicaSet("st", 2, "  minReadySeconds: 2\n", "        tier: web\n"));
  ASSERT_TRUE(Eventually([&] { return Live("st") == 2; }));
  auto pods = api_->LivePods("default", "app=st");
  api_->SetPodReady("default", api::GetName(pods[0]), true);
  api_->SetPodReady("default", api::GetName(pods[1]), true, std::chrono::system_clock::now() - 60s);
  ASSERT_TRUE(Eventually([&] {
    auto r = Rs("st");
    return StatusOf(r, "readyReplicas") == 2 && StatusOf(r, "availableReplicas") == 1;
  }));
  // Available once ready for minReadySeconds: the controller comes back by itself.
  ASSERT_TRUE(Eventually([&] { return StatusOf(Rs("st"), "availableReplicas") == 2; }, 10s));
  EXPECT_EQ(StatusOf(Rs("st"), "fullyLabeledReplicas"), 2);
  // A pod that lost a template label still counts, but not as fully labeled.
  auto r = api_->Resource("", "pods", "default")
               .Patch(api::GetName(pods[0]), client::PatchType::kJson,
                      R"([{"op":"remove","path":"/metadata/labels/tier"}])");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(Eventually([&] {
    auto s = Rs("st");
    return StatusOf(s, "replicas") == 2 && StatusOf(s, "fullyLabeledReplicas") == 1;
  }));
}

TEST_F(ReplicaSetControllerTest, ReplicationControllersRunThroughTheAdapter) {
  Start();
  api_->Create("", "replicationcontrollers", "default",
               "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: legacy}\n"
               "spec:\n  replicas: 3\n  selector: {app: legacy}\n  template:\n"
               "    metadata: {labels: {app: legacy}}\n"
               "    spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_TRUE(Eventually([&] { return Live("legacy") == 3; }));
  auto rc = api_->Get("", "replicationcontrollers", "default", "legacy");
  for (const auto& p : api_->LivePods("default", "app=legacy")) {
    auto ref = api::GetControllerOf(p);
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(ref->kind, "ReplicationController");
    EXPECT_EQ(ref->api_version, "v1");
    EXPECT_EQ(ref->uid, api::GetUid(*rc));
  }
  ASSERT_TRUE(Eventually([&] {
    auto r = api_->Get("", "replicationcontrollers", "default", "legacy");
    return StatusOf(r, "replicas") == 3 && StatusOf(r, "observedGeneration") == 1;
  }));
  auto s = api_->Resource("", "replicationcontrollers", "default")
               .Patch("legacy", client::PatchType::kMerge, R"({"spec":{"replicas":1}})");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(Eventually([&] { return Live("legacy") == 1; }));
  // The ReplicaSet controller leaves them alone and vice versa: no ReplicaSet exists.
  EXPECT_TRUE(Eventually([&] { return api_->CountEvents("default", "legacy", "SuccessfulDelete") >= 1; }));
}

TEST_F(ReplicaSetControllerTest, ZeroReplicasAndADeletedOwnerAreQuiet) {
  Start();
  api_->Create("apps", "replicasets", "default", ReplicaSet("none", 0));
  ASSERT_TRUE(Eventually([&] { return StatusOf(Rs("none"), "observedGeneration") == 1; }));
  EXPECT_EQ(Live("none"), 0u);
  api_->Create("apps", "replicasets", "default", ReplicaSet("brief", 2));
  ASSERT_TRUE(Eventually([&] { return Live("brief") == 2; }));
  ASSERT_TRUE(api_->Resource("apps", "replicasets", "default").Delete("brief").ok());
  // Its pods stay (no garbage collector here) and nobody adopts them back.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(Live("brief"), 2u);
  std::string rv(api::GetResourceVersion(*Rs("none")));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api::GetResourceVersion(*Rs("none")), rv);
}

TEST(ReplicaSetRegistryTest, RegisteredUnderUpstreamsNames) {
  for (const char* name : {"replicaset", "replicaset-controller", "replicationcontroller",
                           "replicationcontroller-controller"}) {
    auto s = SelectControllers({name}, BuiltInControllers());
    ASSERT_TRUE(s.ok()) << name;
    ASSERT_EQ(s->size(), 1u) << name;
  }
}

}  // namespace
}  // namespace keelson::controllers
