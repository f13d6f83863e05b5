// The node lifecycle and taint eviction controllers in a controller manager against an
// in-process API server, on a fake clock: the test plays the kubelets (leases, node status,
// pods) and moves time one step at a time.
#include "controllers/nodelifecycle/node_lifecycle_controller.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <functional>
#include <optional>
#include <thread>

#include "client/time_format.h"
#include "controllers/controller_manager.h"
#include "controllers/nodelifecycle/node_util.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::Eventually;

class NodeLifecycleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  void StartManager(ControllerOptions opts = {}) {
    ControllerManagerOptions o;
    o.controllers = {"node-lifecycle-controller", "taint-eviction-controller"};
    o.leader_elect = false;
    o.clock = clock_;
    o.controller = opts;
    client_ = api_.NewClient(clock_, "kube-controller-manager");
    auto m = ControllerManager::Create(client_.get(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    manager_->Start();
    ASSERT_TRUE(manager_->WaitRunning(true, 10s));
  }

  static json::object Condition(const char* type, const char* status, const char* reason,
                                const std::string& now) {
    return {{"type", type}, {"status", status}, {"reason", reason}, {"message", reason},
            {"lastHeartbeatTime", now}, {"lastTransitionTime", now}};
  }

  json::array HealthyConditions() {
    const std::string now = api::FormatTime(clock_->Now());
    return {Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", now),
            Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", now),
            Condition("PIDPressure", "False", "KubeletHasSufficientPID", now),
            Condition("Ready", "True", "KubeletReady", now)};
  }

  // A node as a kubelet registers it (Ready, with its lease), or without any status.
  void CreateNode(const std::string& name, const std::string& zone, bool registered = true) {
    json::object node{{"apiVersion", "v1"},
                      {"kind", "Node"},
                      {"metadata", json::object{{"name", name},
                                                {"labels", json::object{
                                                               {"topology.kubernetes.io/zone", zone},
                                                               {"kubernetes.io/os", "linux"}}}}}};
    if (registered) node["status"] = json::object{{"conditions", HealthyConditions()}};
    ASSERT_TRUE(api_.Resource("", "nodes").Create(node).ok()) << name;
    if (!registered) return;
    json::object lease{
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", json::object{{"name", name}, {"namespace", "kube-node-lease"}}},
        {"spec", json::object{{"holderIdentity", name},
                              {"leaseDurationSeconds", 40},
                              {"renewTime", client::FormatMicroTime(clock_->Now())}}}};
    ASSERT_TRUE(api_.Resource("coordination.k8s.io", "leases", "kube-node-lease").Create(lease).ok());
  }

  void Renew(const std::string& node) {
    json::object patch{{"spec", json::object{{"renewTime", client::FormatMicroTime(clock_->Now())}}}};
    auto r = api_.Resource("coordination.k8s.io", "leases", "kube-node-lease")
                 .Patch(node, client::PatchType::kMerge, json::serialize(patch));
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // The kubelet is back: its lease, and its status Ready with a new heartbeat.
  void Revive(const std::string& node) {
    Renew(node);
    json::object patch{{"status", json::object{{"conditions", HealthyConditions()}}}};
    auto r = api_.Resource("", "nodes").Patch(node, client::PatchType::kStrategicMerge,
                                              json::serialize(patch), {}, "status");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // A pod bound to `node`, Running and Ready as its kubelet reports it.
  void CreatePod(const std::string& name, const std::string& node,
                 json::array tolerations = {}) {
    json::object spec{{"nodeName", node},
                      {"containers", json::array{json::object{{"name", "c"}, {"image", "busybox"}}}}};
    if (!tolerations.empty()) spec["tolerations"] = std::move(tolerations);
    json::object pod{{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", json::object{{"name", name}, {"namespace", "default"}}},
                     {"spec", std::move(spec)}};
    auto pods = api_.Resource("", "pods", "default");
    ASSERT_TRUE(pods.Create(pod).ok()) << name;
    const std::string now = api::FormatTime(clock_->Now());
    json::object status{
        {"status", json::object{{"phase", "Running"},
                                {"podIP", "10.1.0.1"},
                                {"conditions", json::array{json::object{{"type", "Ready"},
                                                                        {"status", "True"},
                                                                        {"lastTransitionTime", now}}}}}}};
    ASSERT_TRUE(pods.Patch(name, client::PatchType::kMerge, json::serialize(status), {}, "status").ok());
  }

  static json::array Tolerate(const char* key, std::optional<int64_t> seconds) {
    json::object t{{"key", key}, {"operator", "Exists"}, {"effect", "NoExecute"}};
    if (seconds) t["tolerationSeconds"] = *seconds;
    return {t};
  }

  std::string ReadyStatus(const std::string& node) {
    auto n = api_.Get("", "nodes", "", node);
    return n ? std::string(ConditionStatus(GetNodeCondition(*n, "Ready"))) : "";
  }
  bool HasTaint(const std::string& node, std::string_view key, std::string_view effect) {
    auto n = api_.Get("", "nodes", "", node);
    return n && TaintExists(GetTaints(*n), {std::string(key), std::string(effect)});
  }
  bool Evicted(const std::string& pod) {
    auto p = api_.Get("", "pods", "default", pod);
    return !p || api::IsBeingDeleted(*p);
  }
  std::string PodReady(const std::string& pod) {
    auto p = api_.Get("", "pods", "default", pod);
    if (!p) return "";
    for (const auto& c : p->at("status").as_object().at("conditions").as_array()) {
      if (c.as_object().at("type") == "Ready") return std::string(c.as_object().at("status").as_string());
    }
    return "";
  }

  // Moves the clock `step` at a time, renewing the leases of `alive` after each step and
  // giving the controllers 100 ms of real time to act, until `pred` holds or `limit` has
  // passed. Returns the time advanced when it held.
  std::optional<std::chrono::seconds> AdvanceUntil(const std::function<bool()>& pred,
                                                   const std::vector<std::string>& alive,
                                                   std::chrono::seconds limit,
                                                   std::chrono::seconds step = 1s) {
    for (auto t = 0s;; t += step) {
      for (int i = 0; i < 10; ++i) {
        if (pred()) return t;
        std::this_thread::sleep_for(10ms);
      }
      if (t >= limit) return std::nullopt;
      clock_->Advance(step);
      for (const auto& n : alive) Renew(n);
    }
  }

  // Wall time from now: creation timestamps (the server's clock) and the controllers' agree.
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  testing::InProcessApi api_;
  std::unique_ptr<client::RestClient> client_;
  std::unique_ptr<ControllerManager> manager_;
};

ControllerOptions FastEvictions() {
  ControllerOptions o;
  o.node_eviction_rate = 100;  // the rate limit has a test of its own
  return o;
}

TEST_F(NodeLifecycleTest, SilentNodeGoesUnknownAfterTheGracePeriodWithTaintsAndPodsNotReady) {
  for (const char* n : {"a", "b", "c"}) CreateNode(n, "z1");
  CreatePod("on-c", "c");
  CreatePod("on-a", "a");
  StartManager(FastEvictions());
  // c stops heartbeating; the others go on. Nothing happens within the 40 s grace period.
  auto unknown = AdvanceUntil([&] { return ReadyStatus("c") == "Unknown"; }, {"a", "b"}, 60s);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_GT(*unknown, 40s);
  EXPECT_LE(*unknown, 46s);  // the first monitor pass (every 5 s) after it
  auto node = api_.Get("", "nodes", "", "c");
  ASSERT_TRUE(node);
  for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
    const json::object* c = GetNodeCondition(*node, type);
    ASSERT_NE(c, nullptr) << type;
    EXPECT_EQ(c->at("status"), "Unknown") << type;
    EXPECT_EQ(c->at("reason"), "NodeStatusUnknown") << type;
    EXPECT_EQ(c->at("message"), "Kubelet stopped posting node status.") << type;
  }
  EXPECT_TRUE(Eventually([&] { return PodReady("on-c") == "False"; }));
  EXPECT_EQ(PodReady("on-a"), "True");
  // Both unreachable taints follow.
  EXPECT_TRUE(AdvanceUntil([&] {
    return HasTaint("c", kTaintNodeUnreachable, "NoSchedule") &&
           HasTaint("c", kTaintNodeUnreachable, "NoExecute");
  }, {"a", "b"}, 10s));
  EXPECT_EQ(ReadyStatus("a"), "True");
  EXPECT_FALSE(HasTaint("a", kTaintNodeUnreachable, "NoSchedule"));
  EXPECT_FALSE(HasTaint("a", kTaintNodeUnreachable, "NoExecute"));
  // A Ready node that reports False gets the not-ready taints instead.
  json::object patch{{"status", json::object{{"conditions", json::array{json::object{
                                    {"type", "Ready"}, {"status", "False"},
                                    {"reason", "KubeletNotReady"},
                                    {"lastHeartbeatTime", api::FormatTime(clock_->Now())}}}}}}};
  ASSERT_TRUE(api_.Resource("", "nodes")
                  .Patch("b", client::PatchType::kStrategicMerge, json::serialize(patch), {}, "status")
                  .ok());
  EXPECT_TRUE(AdvanceUntil([&] {
    return HasTaint("b", kTaintNodeNotReady, "NoSchedule") &&
           HasTaint("b", kTaintNodeNotReady, "NoExecute") &&
           !HasTaint("b", kTaintNodeUnreachable, "NoExecute");
  }, {"a", "b"}, 15s));
}

TEST_F(NodeLifecycleTest, PodsAreEvictedAfterTheirTolerationSeconds) {
  for (const char* n : {"a", "b", "c"}) CreateNode(n, "z1");
  CreatePod("short", "c", Tolerate("node.kubernetes.io/unreachable", 30));
  CreatePod("forever", "c", Tolerate("node.kubernetes.io/unreachable", std::nullopt));
  CreatePod("default", "c");
  // The API server gave the pod without tolerations upstream's 300 s ones.
  auto def = api_.Get("", "pods", "default", "default");
  ASSERT_TRUE(def);
  EXPECT_EQ(json::serialize(def->at("spec").as_object().at("tolerations")),
            R"([{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},)"
            R"({"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}])");
  StartManager(FastEvictions());
  ASSERT_TRUE(AdvanceUntil([&] { return HasTaint("c", kTaintNodeUnreachable, "NoExecute"); },
                           {"a", "b"}, 70s));
  auto evicted = AdvanceUntil([&] { return Evicted("short"); }, {"a", "b"}, 60s);
  ASSERT_TRUE(evicted.has_value());
  EXPECT_GE(*evicted, 29s);
  EXPECT_LE(*evicted, 31s);
  auto pod = api_.Get("", "pods", "default", "short");
  ASSERT_TRUE(pod);
  bool disruption = false;
  for (const auto& c : pod->at("status").as_object().at("conditions").as_array()) {
    if (c.as_object().at("type") == "DisruptionTarget") {
      disruption = true;
      EXPECT_EQ(c.as_object().at("reason"), "DeletionByTaintManager");
    }
  }
  EXPECT_TRUE(disruption);
  EXPECT_FALSE(Evicted("forever"));
  EXPECT_FALSE(Evicted("default"));
  evicted = AdvanceUntil([&] { return Evicted("default"); }, {"a", "b"}, 400s, 10s);
  ASSERT_TRUE(evicted.has_value());
  EXPECT_GE(*evicted, 260s);  // 300 s from the taint, 30 s of which passed already
  EXPECT_LE(*evicted, 280s);
  EXPECT_FALSE(AdvanceUntil([&] { return Evicted("forever"); }, {"a", "b"}, 600s, 60s));
}

TEST_F(NodeLifecycleTest, NoExecuteTaintsAreRateLimitedPerZone) {
  for (int i = 0; i < 6; ++i) CreateNode("n" + std::to_string(i), "z1");
  StartManager();  // upstream's 0.1 nodes per second
  const std::vector<std::string> alive = {"n2", "n3", "n4", "n5"};
  auto tainted = [&] {
    int n = 0;
    for (const char* node : {"n0", "n1"}) n += HasTaint(node, kTaintNodeUnreachable, "NoExecute");
    return n;
  };
  ASSERT_TRUE(AdvanceUntil([&] { return tainted() == 1; }, alive, 70s));
  EXPECT_TRUE(HasTaint("n0", kTaintNodeUnreachable, "NoSchedule"));
  EXPECT_TRUE(HasTaint("n1", kTaintNodeUnreachable, "NoSchedule"));
  auto second = AdvanceUntil([&] { return tainted() == 2; }, alive, 30s);
  ASSERT_TRUE(second.has_value());
  EXPECT_GE(*second, 8s);
  EXPECT_LE(*second, 11s);
}

TEST_F(NodeLifecycleTest, SmallPartiallyDisruptedZoneIsNotEvicted) {
  for (int i = 0; i < 4; ++i) CreateNode("z1-" + std::to_string(i), "z1");
  CreateNode("z2-0", "z2");
  StartManager(FastEvictions());
  const std::vector<std::string> alive = {"z1-3", "z2-0"};
  // Three of four nodes of z1 fail: more than two and over 55%, in a zone of at most 50.
  ASSERT_TRUE(AdvanceUntil([&] {
    return HasTaint("z1-0", kTaintNodeUnreachable, "NoSchedule") &&
           HasTaint("z1-1", kTaintNodeUnreachable, "NoSchedule") &&
           HasTaint("z1-2", kTaintNodeUnreachable, "NoSchedule");
  }, alive, 70s));
  EXPECT_FALSE(AdvanceUntil([&] {
    for (const char* n : {"z1-0", "z1-1", "z1-2"}) {
      if (HasTaint(n, kTaintNodeUnreachable, "NoExecute")) return true;
    }
    return false;
  }, alive, 60s, 5s));
}

TEST_F(NodeLifecycleTest, NoEvictionsWhileEveryZoneIsFullyDisrupted) {
  for (const char* n : {"z1-0", "z1-1"}) CreateNode(n, "z1");
  CreateNode("z2-0", "z2");
  CreatePod("p", "z1-0");
  StartManager(FastEvictions());
  // Every node stops at once: the control plane, not the nodes, is suspect.
  ASSERT_TRUE(AdvanceUntil([&] {
    return ReadyStatus("z1-0") == "Unknown" && ReadyStatus("z1-1") == "Unknown" &&
           ReadyStatus("z2-0") == "Unknown";
  }, {}, 70s));
  EXPECT_FALSE(AdvanceUntil([&] {
    for (const char* n : {"z1-0", "z1-1", "z2-0"}) {
      if (HasTaint(n, kTaintNodeUnreachable, "NoExecute")) return true;
    }
    return Evicted("p");
  }, {}, 400s, 10s));
  EXPECT_TRUE(HasTaint("z1-0", kTaintNodeUnreachable, "NoSchedule"));
  // z2 comes back: z1 alone is fully disrupted, and evicted at the normal rate.
  Revive("z2-0");
  EXPECT_TRUE(AdvanceUntil([&] {
    return HasTaint("z1-0", kTaintNodeUnreachable, "NoExecute") &&
           HasTaint("z1-1", kTaintNodeUnreachable, "NoExecute");
  }, {"z2-0"}, 20s));
  EXPECT_FALSE(HasTaint("z2-0", kTaintNodeUnreachable, "NoExecute"));
}

TEST_F(NodeLifecycleTest, RecoveredNodeLosesItsTaintsAndKeepsItsPods) {
  for (const char* n : {"a", "b", "c"}) CreateNode(n, "z1");
  CreatePod("default", "c");
  StartManager(FastEvictions());
  ASSERT_TRUE(AdvanceUntil([&] {
    return HasTaint("c", kTaintNodeUnreachable, "NoExecute") &&
           HasTaint("c", kTaintNodeUnreachable, "NoSchedule");
  }, {"a", "b"}, 70s));
  Revive("c");
  EXPECT_TRUE(AdvanceUntil([&] {
    return ReadyStatus("c") == "True" && !HasTaint("c", kTaintNodeUnreachable, "NoExecute") &&
           !HasTaint("c", kTaintNodeUnreachable, "NoSchedule");
  }, {"a", "b", "c"}, 15s));
  // The eviction it had coming (300 s) was cancelled.
  EXPECT_FALSE(AdvanceUntil([&] { return Evicted("default"); }, {"a", "b", "c"}, 400s, 20s));
  EXPECT_EQ(ReadyStatus("c"), "True");
}

TEST_F(NodeLifecycleTest, NewNodeHasTheStartupGracePeriod) {
  for (const char* n : {"a", "b"}) CreateNode(n, "z1");
  CreateNode("new", "z1", /*registered=*/false);
  StartManager(FastEvictions());
  // Past the 40 s grace period, within the 60 s startup one: left alone.
  auto set = AdvanceUntil([&] { return !ReadyStatus("new").empty(); }, {"a", "b"}, 80s);
  ASSERT_TRUE(set.has_value());
  EXPECT_GT(*set, 55s);
  EXPECT_LE(*set, 66s);
  auto node = api_.Get("", "nodes", "", "new");
  ASSERT_TRUE(node);
  const json::object* ready = GetNodeCondition(*node, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->at("status"), "Unknown");
  EXPECT_EQ(ready->at("reason"), "NodeStatusNeverUpdated");
  EXPECT_EQ(ready->at("message"), "Kubelet never posted node status.");
}

TEST_F(NodeLifecycleTest, BadSettingsAreRefused) {
  ControllerOptions o;
  o.unhealthy_zone_threshold = 2;
  client::SharedInformerFactory informers(api_.client());
  ControllerContext ctx(api_.client(), &informers, clock_, o);
  auto c = NewNodeLifecycleController(ctx);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--unhealthy-zone-threshold"), std::string::npos);
}

}  // namespace
}  // namespace keelson::controllers
