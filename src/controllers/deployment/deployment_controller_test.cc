// The Deployment controller with the ReplicaSet controller against an in-process API server.
// Pods have no scheduler or kubelet here: a FakeKubelet (or the test) makes them Ready.
#include "controllers/deployment/deployment_controller.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <set>
#include <thread>

#include "api/errors.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"
#include "controllers/deployment/deployment_util.h"
#include "controllers/replicaset/replica_set_controller.h"
#include "controllers/testing/workload_fixture.h"

namespace keelson::controllers {
namespace {

using namespace std::chrono_literals;
using testing::ControlPlane;
using testing::ControllerRunner;
using testing::Eventually;
using testing::FakeKubelet;

namespace json = boost::json;

struct DeploymentSpec {
  std::string name;
  int replicas = 3;
  std::string image = "nginx:1";
  std::string strategy;       // YAML under spec.strategy, "" for the default
  std::string extra_spec;     // more of spec, indented by two
  std::string annotations;    // metadata annotations, indented by four
};

std::string Manifest(const DeploymentSpec& s) {
  std::string m = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + s.name + "\n";
  if (!s.annotations.empty()) m += "  annotations:\n" + s.annotations;
  m += "spec:\n  replicas: " + std::to_string(s.replicas) + "\n";
  if (!s.strategy.empty()) m += "  strategy:\n" + s.strategy;
  m += s.extra_spec;
  m += "  selector:\n    matchLabels:\n      app: " + s.name +
       "\n  template:\n    metadata:\n      labels:\n        app: " + s.name +
       "\n    spec:\n      containers:\n      - name: c\n        image: " + s.image + "\n";
  return m;
}

class DeploymentControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<ControllerRunner>(
        api_.client(), std::vector<ControllerFactory>{NewReplicaSetController, NewDeploymentController});
    ASSERT_TRUE(runner_->ok());
  }
  void TearDown() override { runner_.reset(); }

  std::optional<api::Object> D(std::string_view name) {
    return api_.Get("apps", "deployments", "default", name);
  }

  // The Deployment's ReplicaSets (by controller reference), oldest first.
  std::vector<api::Object> ReplicaSets(std::string_view deployment) {
    auto d = D(deployment);
    std::vector<api::Object> out;
    if (!d) return out;
    auto list = api_.Resource("apps", "replicasets", "default").List();
    if (!list.ok()) return out;
    for (auto& item : list->at("items").as_array()) {
      auto& rs = item.as_object();
      if (ControllerUidOf(rs) == api::GetUid(*d)) out.push_back(std::move(rs));
    }
    std::sort(out.begin(), out.end(), [](const api::Object& a, const api::Object& b) {
      auto ra = deployment::Revision(a).value_or(0), rb = deployment::Revision(b).value_or(0);
      return ra < rb;
    });
    return out;
  }

  std::optional<api::Object> RsWithImage(std::string_view deployment, std::string_view image) {
    for (auto& rs : ReplicaSets(deployment)) {
      const auto* containers = ValueAt(rs, {"spec", "template", "spec", "containers"});
      if (containers && containers->as_array()[0].as_object().at("image").as_string() == image) return rs;
    }
    return std::nullopt;
  }

  void SetImage(std::string_view name, std::string_view image) {
    auto r = api_.Resource("apps", "deployments", "default")
                 .Patch(name, client::PatchType::kStrategicMerge,
                        R"({"spec":{"template":{"spec":{"containers":[{"name":"c","image":")" +
                            std::string(image) + R"("}]}}}})");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  void Patch(std::string_view name, std::string_view merge_patch) {
    auto r = api_.Resource("apps", "deployments", "default")
                 .Patch(name, client::PatchType::kMerge, merge_patch);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // The rollout finished as `kubectl rollout status` sees it.
  bool Complete(std::string_view name) {
    auto d = D(name);
    if (!d) return false;
    int64_t replicas = IntAt(*d, {"spec", "replicas"});
    return IntAt(*d, {"status", "observedGeneration"}) >= api::GetGeneration(*d) &&
           IntAt(*d, {"status", "updatedReplicas"}) == replicas &&
           IntAt(*d, {"status", "replicas"}) == replicas &&
           IntAt(*d, {"status", "availableReplicas"}) == replicas;
  }

  std::string ConditionReason(std::string_view name, std::string_view type) {
    auto d = D(name);
    if (!d) return "";
    const api::Object* c = StatusCondition(*d, type);
    return c ? std::string(StringAt(*c, {"reason"})) : "";
  }

  ControlPlane api_;
  std::unique_ptr<ControllerRunner> runner_;
};

TEST_F(DeploymentControllerTest, RollsOutANewReplicaSetWithTheTemplateHash) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "web",
                        .extra_spec = "  minReadySeconds: 0\n",
                        .annotations = "    kubernetes.io/change-cause: first\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("web"); }));
  auto rss = ReplicaSets("web");
  ASSERT_EQ(rss.size(), 1u);
  const api::Object& rs = rss[0];
  auto d = D("web");
  std::string hash(StringAt(rs, {"metadata", "labels", "pod-template-hash"}));
  ASSERT_FALSE(hash.empty());
  EXPECT_EQ(api::GetName(rs), "web-" + hash);
  EXPECT_EQ(hash, deployment::ComputeHash(*ValueAt(*d, {"spec", "template"}), std::nullopt));
  EXPECT_EQ(StringAt(rs, {"spec", "selector", "matchLabels", "pod-template-hash"}), hash);
  EXPECT_EQ(StringAt(rs, {"spec", "template", "metadata", "labels", "pod-template-hash"}), hash);
  EXPECT_EQ(deployment::Annotation(rs, deployment::kRevisionAnnotation), "1");
  EXPECT_EQ(deployment::Annotation(rs, deployment::kDesiredReplicasAnnotation), "3");
  EXPECT_EQ(deployment::Annotation(rs, deployment::kMaxReplicasAnnotation), "4");  // 25% of 3, up
  EXPECT_EQ(deployment::Annotation(rs, "kubernetes.io/change-cause"), "first");
  EXPECT_EQ(deployment::Annotation(*d, deployment::kRevisionAnnotation), "1");
  for (const auto& p : api_.LivePods("default", "app=web")) {
    EXPECT_EQ(StringAt(p, {"metadata", "labels", "pod-template-hash"}), hash);
  }
  EXPECT_EQ(IntAt(*d, {"status", "readyReplicas"}), 3);
  EXPECT_EQ(IntAt(*d, {"status", "unavailableReplicas"}), 0);
  EXPECT_EQ(ConditionReason("web", "Available"), "MinimumReplicasAvailable");
  ASSERT_TRUE(Eventually([&] { return ConditionReason("web", "Progressing") == "NewReplicaSetAvailable"; }));
  auto done = D("web");
  const api::Object* progressing = StatusCondition(*done, "Progressing");
  EXPECT_EQ(StringAt(*progressing, {"message"}), "ReplicaSet \"web-" + hash + "\" has successfully progressed.");
  EXPECT_GE(api_.CountEvents("default", "web", "ScalingReplicaSet"), 1);
}

TEST_F(DeploymentControllerTest, RollingUpdateKeepsWithinMaxSurgeAndMaxUnavailable) {
  // Old pods become ready at once; new ones only when the test says so.
  FakeKubelet kubelet(&api_, "default", [](const api::Object& p) {
    return p.at("spec").at("containers").as_array()[0].at("image") == "nginx:1";
  });
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "roll",
                        .replicas = 4,
                        .strategy = "    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n"
                                    "      maxUnavailable: 0\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("roll"); }));
  SetImage("roll", "nginx:2");
  int steps = 0;
  for (;;) {
    // Each step: at most 5 pods wanted, never fewer than 4 available.
    std::optional<api::Object> new_rs, old_rs;
    ASSERT_TRUE(Eventually([&] {
      new_rs = RsWithImage("roll", "nginx:2");
      old_rs = RsWithImage("roll", "nginx:1");
      return new_rs && old_rs;
    }));
    int64_t wanted = SpecReplicas(*new_rs) + SpecReplicas(*old_rs);
    EXPECT_LE(wanted, 5);
    auto d = D("roll");
    EXPECT_GE(IntAt(*d, {"status", "availableReplicas"}), 4);
    if (SpecReplicas(*old_rs) == 0 && SpecReplicas(*new_rs) == 4) break;
    // Make one new pod ready, then wait for the controllers to move.
    auto pods = api_.LivePods("default", "app=roll");
    std::string next;
    for (const auto& p : pods) {
      if (!IsPodReady(p) && p.at("spec").at("containers").as_array()[0].at("image") == "nginx:2") {
        next = std::string(api::GetName(p));
        break;
      }
    }
    if (next.empty()) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    // Before the new pod is ready, the old ReplicaSet may not shrink (maxUnavailable 0).
    std::this_thread::sleep_for(100ms);
    auto still = RsWithImage("roll", "nginx:1");
    EXPECT_EQ(SpecReplicas(*still), SpecReplicas(*old_rs)) << "scaled down before a new pod was ready";
    api_.SetPodReady("default", next, true);
    ++steps;
    ASSERT_LT(steps, 20);
  }
  EXPECT_EQ(steps, 4);
  ASSERT_TRUE(Eventually([&] { return Complete("roll"); }));
  EXPECT_EQ(deployment::Annotation(*D("roll"), deployment::kRevisionAnnotation), "2");
}

TEST_F(DeploymentControllerTest, MaxUnavailableScalesTheOldDownFirst) {
  FakeKubelet kubelet(&api_, "default", [](const api::Object& p) {
    return p.at("spec").at("containers").as_array()[0].at("image") == "nginx:1";
  });
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "down",
                        .replicas = 4,
                        .strategy = "    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 0\n"
                                    "      maxUnavailable: 1\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("down"); }));
  SetImage("down", "nginx:2");
  // No surge: the old ReplicaSet gives one up before the new one gets it, and no more while
  // the new pod is not ready.
  ASSERT_TRUE(Eventually([&] {
    auto n = RsWithImage("down", "nginx:2");
    auto o = RsWithImage("down", "nginx:1");
    return n && o && SpecReplicas(*o) == 3 && SpecReplicas(*n) == 1;
  }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(SpecReplicas(*RsWithImage("down", "nginx:1")), 3);
  EXPECT_EQ(SpecReplicas(*RsWithImage("down", "nginx:2")), 1);
}

TEST_F(DeploymentControllerTest, RecreateWaitsForTheOldPodsToBeGone) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "rec", .replicas = 2, .strategy = "    type: Recreate\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("rec"); }));
  // Bound pods are deleted gracefully: they stay until their kubelet is done.
  auto old_pods = api_.LivePods("default", "app=rec");
  for (const auto& p : old_pods) api_.Bind("default", api::GetName(p), "node-a");
  SetImage("rec", "nginx:2");
  ASSERT_TRUE(Eventually([&] {
    auto o = RsWithImage("rec", "nginx:1");
    return o && SpecReplicas(*o) == 0;
  }));
  ASSERT_TRUE(Eventually([&] { return api_.LivePods("default", "app=rec").empty(); }));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(RsWithImage("rec", "nginx:2").has_value()) << "new pods before the old ones are gone";
  // The kubelet finishes them.
  client::DeleteOptions now;
  now.grace_period_seconds = 0;
  for (const auto& p : old_pods) {
    auto r = api_.Resource("", "pods", "default").Delete(api::GetName(p), now);
    ASSERT_TRUE(r.ok() || api::IsNotFound(r.error()));
  }
  ASSERT_TRUE(Eventually([&] {
    auto n = RsWithImage("rec", "nginx:2");
    return n && SpecReplicas(*n) == 2;
  }));
  ASSERT_TRUE(Eventually([&] { return Complete("rec"); }));
}

TEST_F(DeploymentControllerTest, PausedDeploymentsScaleButDoNotRollOut) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "deployments", "default", Manifest({.name = "pz", .replicas = 2}));
  ASSERT_TRUE(Eventually([&] { return Complete("pz"); }));
  Patch("pz", R"({"spec":{"paused":true}})");
  ASSERT_TRUE(Eventually([&] { return ConditionReason("pz", "Progressing") == "DeploymentPaused"; }));
  EXPECT_EQ(StringAt(*StatusCondition(*D("pz"), "Progressing"), {"status"}), "Unknown");
  SetImage("pz", "nginx:2");
  Patch("pz", R"({"spec":{"replicas":3}})");
  ASSERT_TRUE(Eventually([&] { return api_.LivePods("default", "app=pz").size() == 3; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ReplicaSets("pz").size(), 1u) << "rolled out while paused";
  EXPECT_EQ(SpecReplicas(*RsWithImage("pz", "nginx:1")), 3);

  Patch("pz", R"({"spec":{"paused":false}})");
  ASSERT_TRUE(Eventually([&] {
    auto n = RsWithImage("pz", "nginx:2");
    return n && SpecReplicas(*n) == 3 && Complete("pz");
  }));
  ASSERT_TRUE(Eventually([&] { return ConditionReason("pz", "Progressing") == "NewReplicaSetAvailable"; }));
}

TEST_F(DeploymentControllerTest, RollbackReusesTheOldReplicaSet) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "rb", .replicas = 2, .annotations = "    kubernetes.io/change-cause: v1\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("rb"); }));
  auto first = ReplicaSets("rb")[0];
  Patch("rb", R"({"metadata":{"annotations":{"kubernetes.io/change-cause":"v2"}}})");
  SetImage("rb", "nginx:2");
  ASSERT_TRUE(Eventually([&] { return Complete("rb") && ReplicaSets("rb").size() == 2; }));
  ASSERT_TRUE(Eventually([&] {
    return deployment::Annotation(*D("rb"), deployment::kRevisionAnnotation) == "2";
  }));

  // What `kubectl rollout undo` does: revision 1's template and annotations into the
  // Deployment (without the hash label).
  json::value tmpl = *ValueAt(first, {"spec", "template"});
  tmpl.as_object()["metadata"].as_object()["labels"].as_object().erase("pod-template-hash");
  json::object patch{
      {"metadata", json::object{{"annotations", json::object{{"kubernetes.io/change-cause", "v1"}}}}},
      {"spec", json::object{{"template", tmpl}}}};
  Patch("rb", json::serialize(patch));

  ASSERT_TRUE(Eventually([&] {
    auto rs = api_.Get("apps", "replicasets", "default", api::GetName(first));
    return rs && deployment::Annotation(*rs, deployment::kRevisionAnnotation) == "3";
  }));
  auto reused = api_.Get("apps", "replicasets", "default", api::GetName(first));
  EXPECT_EQ(api::GetUid(*reused), api::GetUid(first));
  EXPECT_EQ(deployment::Annotation(*reused, deployment::kRevisionHistoryAnnotation), "1");
  ASSERT_TRUE(Eventually([&] { return Complete("rb") && SpecReplicas(*RsWithImage("rb", "nginx:2")) == 0; }));
  EXPECT_EQ(ReplicaSets("rb").size(), 2u);
  ASSERT_TRUE(Eventually([&] {
    return deployment::Annotation(*D("rb"), deployment::kRevisionAnnotation) == "3";
  }));

  // The annotation form of a rollback (to the last revision: 2).
  Patch("rb", R"({"metadata":{"annotations":{"deprecated.deployment.rollback.to":"0"}}})");
  ASSERT_TRUE(Eventually([&] {
    auto d = D("rb");
    return d && !deployment::HasAnnotation(*d, deployment::kRollbackToAnnotation) &&
           ValueAt(*d, {"spec", "template", "spec", "containers"})->as_array()[0].at("image") == "nginx:2";
  }));
  ASSERT_TRUE(Eventually([&] {
    auto n = RsWithImage("rb", "nginx:2");
    return n && deployment::Annotation(*n, deployment::kRevisionAnnotation) == "4" && Complete("rb");
  }));
  EXPECT_EQ(deployment::Annotation(*D("rb"), "kubernetes.io/change-cause"), "v2");
  EXPECT_GE(api_.CountEvents("default", "rb", "DeploymentRollback"), 1);
}

TEST_F(DeploymentControllerTest, RevisionHistoryLimitDeletesTheOldest) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "hist", .replicas = 1, .extra_spec = "  revisionHistoryLimit: 1\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("hist"); }));
  for (const char* image : {"nginx:2", "nginx:3", "nginx:4"}) {
    SetImage("hist", image);
    ASSERT_TRUE(Eventually([&] {
      auto n = RsWithImage("hist", image);
      return n && Complete("hist") && SpecReplicas(*n) == 1 && ReplicaSets("hist").size() == 2;
    })) << image;
  }
  auto rss = ReplicaSets("hist");
  ASSERT_EQ(rss.size(), 2u);
  EXPECT_EQ(deployment::Annotation(rss[0], deployment::kRevisionAnnotation), "3");
  EXPECT_EQ(deployment::Annotation(rss[1], deployment::kRevisionAnnotation), "4");
}

TEST_F(DeploymentControllerTest, ProgressDeadlineExceeded) {
  // No kubelet: pods never become ready. (A deadline long enough for the first condition to
  // be seen on a loaded machine.)
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "stuck", .replicas = 1, .extra_spec = "  progressDeadlineSeconds: 5\n"}));
  // Progressing first: the ReplicaSet created, then updated as its pod is created.
  ASSERT_TRUE(Eventually([&] {
    auto r = ConditionReason("stuck", "Progressing");
    return r == "NewReplicaSetCreated" || r == "ReplicaSetUpdated";
  })) << boost::json::serialize(D("stuck")->at("status"));
  ASSERT_TRUE(Eventually([&] { return ConditionReason("stuck", "Progressing") == "ProgressDeadlineExceeded"; },
                         20s));
  auto d = D("stuck");
  const api::Object* c = StatusCondition(*d, "Progressing");
  EXPECT_EQ(StringAt(*c, {"status"}), "False");
  EXPECT_EQ(StringAt(*c, {"message"}),
            "ReplicaSet \"" + std::string(api::GetName(ReplicaSets("stuck")[0])) + "\" has timed out progressing.");
  EXPECT_EQ(ConditionReason("stuck", "Available"), "MinimumReplicasUnavailable");
  // Progress after the deadline: the rollout completes and says so.
  for (const auto& p : api_.LivePods("default", "app=stuck")) api_.SetPodReady("default", api::GetName(p), true);
  ASSERT_TRUE(Eventually([&] { return Complete("stuck"); }));
}

TEST_F(DeploymentControllerTest, ScalingDuringARolloutIsProportional) {
  FakeKubelet kubelet(&api_, "default", [](const api::Object& p) {
    return p.at("spec").at("containers").as_array()[0].at("image") == "nginx:1";
  });
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "prop",
                        .replicas = 10,
                        .strategy = "    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 3\n"
                                    "      maxUnavailable: 2\n"}));
  ASSERT_TRUE(Eventually([&] { return Complete("prop"); }));
  // A template whose pods never become ready: the rollout stops at 8 old and 5 new.
  SetImage("prop", "nginx:bad");
  ASSERT_TRUE(Eventually([&] {
    auto n = RsWithImage("prop", "nginx:bad");
    auto o = RsWithImage("prop", "nginx:1");
    return n && o && SpecReplicas(*o) == 8 && SpecReplicas(*n) == 5;
  }));
  std::this_thread::sleep_for(300ms);
  Patch("prop", R"({"spec":{"replicas":20}})");
  // 23 allowed (20 + surge 3), 10 to add: 8 -> 14 and 5 -> 9 by their share of 13.
  ASSERT_TRUE(Eventually([&] {
    auto n = RsWithImage("prop", "nginx:bad");
    auto o = RsWithImage("prop", "nginx:1");
    return n && o && SpecReplicas(*o) == 14 && SpecReplicas(*n) == 9;
  })) << "old " << SpecReplicas(*RsWithImage("prop", "nginx:1")) << " new "
      << SpecReplicas(*RsWithImage("prop", "nginx:bad"));
  auto o = RsWithImage("prop", "nginx:1");
  EXPECT_EQ(deployment::Annotation(*o, deployment::kDesiredReplicasAnnotation), "20");
  EXPECT_EQ(deployment::Annotation(*o, deployment::kMaxReplicasAnnotation), "23");
}

TEST_F(DeploymentControllerTest, HashCollisionBumpsCollisionCount) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "deployments", "default",
              Manifest({.name = "col", .replicas = 1, .extra_spec = "  paused: true\n"}));
  auto d = D("col");
  std::string hash = deployment::ComputeHash(*ValueAt(*d, {"spec", "template"}), std::nullopt);
  // Someone else's ReplicaSet holds the name the Deployment would use.
  api_.Create("apps", "replicasets", "default",
              "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: col-" + hash +
                  ", labels: {other: x}}\nspec:\n  replicas: 0\n  selector: {matchLabels: {other: x}}\n"
                  "  template:\n    metadata: {labels: {other: x}}\n"
                  "    spec: {containers: [{name: c, image: busybox}]}\n");
  Patch("col", R"({"spec":{"paused":false}})");
  ASSERT_TRUE(Eventually([&] { return Complete("col"); }));
  d = D("col");
  EXPECT_EQ(IntAt(*d, {"status", "collisionCount"}), 1);
  auto rss = ReplicaSets("col");
  ASSERT_EQ(rss.size(), 1u);
  EXPECT_EQ(api::GetName(rss[0]), "col-" + deployment::ComputeHash(*ValueAt(*d, {"spec", "template"}), 1));
  EXPECT_NE(api::GetName(rss[0]), "col-" + hash);
}

TEST_F(DeploymentControllerTest, AReplicaSetOwnedByAMissingDeploymentIsLeftAlone) {
  FakeKubelet kubelet(&api_, "default");
  api_.Create("apps", "replicasets", "default",
              "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: stray\n  labels: {app: own}\n"
              "  ownerReferences:\n  - {apiVersion: apps/v1, kind: Deployment, name: own, "
              "uid: 1b0c0ffe-0000-4000-8000-000000000000, controller: true}\n"
              "spec:\n  replicas: 1\n  selector: {matchLabels: {app: own, kind: stray}}\n"
              "  template:\n    metadata: {labels: {app: own, kind: stray}}\n"
              "    spec: {containers: [{name: c, image: busybox}]}\n");
  api_.Create("apps", "deployments", "default", Manifest({.name = "own", .replicas = 2}));
  ASSERT_TRUE(Eventually([&] { return Complete("own"); }));
  EXPECT_EQ(ReplicaSets("own").size(), 1u);
  auto stray = api_.Get("apps", "replicasets", "default", "stray");
  EXPECT_EQ(api::GetControllerOf(*stray)->name, "own");
  EXPECT_NE(api::GetControllerOf(*stray)->uid, api::GetUid(*D("own")));
  // Settled, no retries.
  std::this_thread::sleep_for(300ms);
  std::string rv(api::GetResourceVersion(*D("own")));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(api::GetResourceVersion(*D("own")), rv);
}

TEST_F(DeploymentControllerTest, AManagerRestartedMidRolloutResumesWithoutDuplicates) {
  api_.Create("apps", "deployments", "default", Manifest({.name = "again", .replicas = 1500}));
  // Stopped while the first ReplicaSet is still creating its pods (a sync in progress
  // finishes its batch; the expectations of this manager die with it).
  ASSERT_TRUE(Eventually([&] { return api_.LivePods("default", "app=again").size() >= 50; }));
  runner_.reset();
  size_t at_stop = api_.LivePods("default", "app=again").size();
  EXPECT_LT(at_stop, 1500u) << "too late to stop mid-rollout";
  runner_ = std::make_unique<ControllerRunner>(
      api_.client(), std::vector<ControllerFactory>{NewReplicaSetController, NewDeploymentController});
  ASSERT_TRUE(runner_->ok());
  ASSERT_TRUE(Eventually([&] {
    auto rs = ReplicaSets("again");
    return rs.size() == 1 && IntAt(rs[0], {"status", "replicas"}) == 1500;
  }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api_.LivePods("default", "app=again").size(), 1500u);
  EXPECT_EQ(ReplicaSets("again").size(), 1u);
}

TEST(DeploymentRegistryTest, RegisteredUnderUpstreamsNames) {
  for (const char* name : {"deployment", "deployment-controller"}) {
    auto s = SelectControllers({name}, BuiltInControllers());
    ASSERT_TRUE(s.ok()) << name;
    ASSERT_EQ(s->size(), 1u);
    EXPECT_EQ((*s)[0], "deployment-controller");
  }
}

}  // namespace
}  // namespace keelson::controllers
