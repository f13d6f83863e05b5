// The pod garbage collector in a controller manager against an in-process API server, on a
// fake clock (its 20 s period and 40 s quarantine pass without waiting).
#include "controllers/podgc/pod_gc_controller.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <thread>

#include "controllers/base/pod_util.h"
#include "controllers/controller_manager.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::Eventually;

constexpr const char* kHold = "keelson.test/hold";

class PodGcTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  void StartManager(int threshold = 12500) {
    ControllerManagerOptions o;
    o.controllers = {"podgc"};
    o.leader_elect = false;
    o.clock = clock_;
    o.controller.terminated_pod_gc_threshold = threshold;
    client_ = api_.NewClient(clock_, "kube-controller-manager");
    auto m = ControllerManager::Create(client_.get(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    manager_->Start();
    ASSERT_TRUE(manager_->WaitRunning(true, 10s));
  }

  // A pod in `phase` (set through its status, as a kubelet does), bound to `node` when given,
  // held by a finalizer when `hold` (so that what the collector did stays visible).
  void CreatePod(const std::string& name, const std::string& node, const std::string& phase,
                 bool hold = false, const std::string& reason = "") {
    json::object meta{{"name", name}, {"namespace", "default"}};
    if (hold) meta["finalizers"] = json::array{kHold};
    json::object spec{{"containers", json::array{json::object{{"name", "c"}, {"image", "busybox"}}}}};
    if (!node.empty()) spec["nodeName"] = node;
    auto pods = api_.Resource("", "pods", "default");
    ASSERT_TRUE(pods.Create(json::object{{"metadata", meta}, {"spec", spec}}).ok()) << name;
    json::object status{{"phase", phase}};
    if (!reason.empty()) status["reason"] = reason;
    json::object patch{{"status", status}};
    ASSERT_TRUE(pods.Patch(name, client::PatchType::kMerge, json::serialize(patch), {}, "status").ok());
  }

  void Release(const std::string& pod) {
    (void)api_.Resource("", "pods", "default")
        .Patch(pod, client::PatchType::kMerge, R"({"metadata":{"finalizers":null}})");
  }

  bool Exists(const std::string& pod) { return api_.Get("", "pods", "default", pod).has_value(); }
  bool Terminating(const std::string& pod) {
    auto p = api_.Get("", "pods", "default", pod);
    return p && api::IsBeingDeleted(*p);
  }

  std::optional<std::chrono::seconds> AdvanceUntil(const std::function<bool()>& pred,
                                                   std::chrono::seconds limit) {
    for (auto t = 0s;; t += 1s) {
      for (int i = 0; i < 10; ++i) {
        if (pred()) return t;
        std::this_thread::sleep_for(10ms);
      }
      if (t >= limit) return std::nullopt;
      clock_->Advance(1s);
    }
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  testing::InProcessApi api_;
  std::unique_ptr<client::RestClient> client_;
  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(PodGcTest, TerminatedPodsOverTheThresholdGoEvictedFirstThenOldest) {
  CreatePod("t-a", "", "Succeeded");
  CreatePod("t-b", "", "Failed");
  CreatePod("t-c", "", "Succeeded");
  CreatePod("t-d", "", "Failed", false, "Evicted");
  CreatePod("running", "", "Running");
  CreatePod("pending", "", "Pending");
  StartManager(/*threshold=*/2);
  EXPECT_TRUE(Eventually([&] { return !Exists("t-d") && !Exists("t-a"); }));
  std::this_thread::sleep_for(200ms);
  for (const char* kept : {"t-b", "t-c", "running", "pending"}) EXPECT_TRUE(Exists(kept)) << kept;
}

TEST_F(PodGcTest, NoThresholdKeepsTerminatedPods) {
  CreatePod("t-a", "", "Succeeded");
  StartManager(/*threshold=*/0);
  EXPECT_FALSE(AdvanceUntil([&] { return !Exists("t-a"); }, 60s));
}

TEST_F(PodGcTest, PodsOfAMissingNodeGoAfterTheQuarantine) {
  api_.Create("", "nodes", "", R"({"metadata":{"name":"real"}})");
  CreatePod("orphan", "ghost", "Running", /*hold=*/true);
  CreatePod("housed", "real", "Running");
  StartManager();
  auto gone = AdvanceUntil([&] { return Terminating("orphan"); }, 100s);
  ASSERT_TRUE(gone.has_value());
  EXPECT_GE(*gone, 40s);
  EXPECT_LE(*gone, 42s);
  auto pod = api_.Get("", "pods", "default", "orphan");
  ASSERT_TRUE(pod);
  EXPECT_EQ(PodPhase(*pod), "Failed");
  EXPECT_EQ(api::GetDeletionGracePeriodSeconds(*pod), 0);  // forced
  const api::Object* c = GetPodCondition(*pod, "DisruptionTarget");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->at("status"), "True");
  EXPECT_EQ(c->at("reason"), "DeletionByPodGC");
  EXPECT_EQ(c->at("message"), "PodGC: node no longer exists");
  EXPECT_FALSE(Terminating("housed"));
  Release("orphan");
}

TEST_F(PodGcTest, UnscheduledTerminatingPodsAreForceDeleted) {
  CreatePod("unscheduled", "", "Pending", /*hold=*/true);
  ASSERT_TRUE(api_.Resource("", "pods", "default").Delete("unscheduled").ok());
  StartManager();
  EXPECT_TRUE(AdvanceUntil([&] {
    auto p = api_.Get("", "pods", "default", "unscheduled");
    return p && PodPhase(*p) == "Failed";
  }, 30s));
  Release("unscheduled");
}

TEST_F(PodGcTest, TerminatingPodsOnOutOfServiceNodesAreForceDeleted) {
  api_.Create("", "nodes", "", R"({"metadata":{"name":"down"},
      "spec":{"taints":[{"key":"node.kubernetes.io/out-of-service","value":"nodeshutdown",
                         "effect":"NoExecute"}]},
      "status":{"conditions":[{"type":"Ready","status":"False"}]}})");
  api_.Create("", "nodes", "", R"({"metadata":{"name":"up"},
      "status":{"conditions":[{"type":"Ready","status":"True"}]}})");
  CreatePod("on-down", "down", "Running");
  CreatePod("on-up", "up", "Running");
  for (const char* p : {"on-down", "on-up"}) {
    ASSERT_TRUE(api_.Resource("", "pods", "default").Delete(p).ok());
    ASSERT_TRUE(Terminating(p));  // waiting for a kubelet
  }
  StartManager();
  EXPECT_TRUE(AdvanceUntil([&] { return !Exists("on-down"); }, 30s));
  EXPECT_TRUE(Terminating("on-up"));
}

}  // namespace
}  // namespace keelson::controllers
