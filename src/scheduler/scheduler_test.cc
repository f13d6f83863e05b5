// The scheduler end to end over a fake client: binding, FailedScheduling texts and status,
// preemption with nominatedNodeName, re-queueing on cluster events, backoff, scheduling gates,
// profiles and pods of unknown schedulers.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include "scheduler/cache/cache.h"
#include "scheduler/plugins/registry.h"
#include "scheduler/queue/scheduling_queue.h"
#include "scheduler/testing/fakes.h"

namespace keelson::scheduler {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::NodeBuilder;
using testing::PodBuilder;

class SchedulerTest : public ::testing::Test {
 protected:
  void Start(const Configuration& config = DefaultConfiguration()) {
    SchedulerOptions o;
    o.clock = clock_;
    o.api_threads = 2;
    o.parallelism = 2;
    auto s = Scheduler::Create(config, &client_, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sched_ = std::move(*s);
    // The informer: a bound pod comes back with spec.nodeName.
    client_.on_bind = [this](const PodRef& ref, std::string_view node) {
      std::lock_guard<std::mutex> l(pods_mu_);
      auto it = pods_.find(ref.uid);
      if (it == pods_.end()) return;
      auto bound = std::make_shared<api::Object>(*it->second);
      (*bound)["spec"].as_object()["nodeName"] = std::string(node);
      pending_updates_.emplace_back(it->second, bound);
      it->second = bound;
    };
    client_.on_delete = [this](const PodRef& ref) {
      std::lock_guard<std::mutex> l(pods_mu_);
      auto it = pods_.find(ref.uid);
      if (it == pods_.end()) return;
      pending_updates_.emplace_back(it->second, nullptr);
      pods_.erase(it);
    };
  }
  void AddNode(const NodeBuilder& n) { sched_->OnEvent(ResourceKind::kNode, nullptr, n.Obj()); }
  ObjectPtr AddPod(const PodBuilder& p) {
    ObjectPtr o = p.Obj();
    {
      std::lock_guard<std::mutex> l(pods_mu_);
      pods_[std::string(api::GetUid(*o))] = o;
    }
    sched_->OnEvent(ResourceKind::kPod, nullptr, o);
    return o;
  }
  // Schedules what is active, waits for the API calls, and delivers the resulting pod events.
  void Drain() {
    for (int round = 0; round < 10; ++round) {
      while (sched_->ScheduleOne()) {
      }
      sched_->WaitForApiCalls();
      std::vector<std::pair<ObjectPtr, ObjectPtr>> updates;
      {
        std::lock_guard<std::mutex> l(pods_mu_);
        updates.swap(pending_updates_);
      }
      if (updates.empty()) return;
      for (auto& [o, n] : updates) sched_->OnEvent(ResourceKind::kPod, o, n);
    }
  }
  std::string BoundNode(std::string_view pod_name) {
    std::lock_guard<std::mutex> l(client_.mu);
    for (const auto& b : client_.bindings) {
      if (b.pod.name == pod_name) return b.node;
    }
    return "";
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  FakeClient client_;
  std::unique_ptr<Scheduler> sched_;
  std::mutex pods_mu_;
  std::map<std::string, ObjectPtr> pods_;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> pending_updates_;
};

TEST_F(SchedulerTest, BindsToTheNodeThatFitsAndRecordsScheduled) {
  Start();
  AddNode(NodeBuilder("small").Capacity("1", "1Gi"));
  AddNode(NodeBuilder("big").Capacity("8", "16Gi"));
  AddPod(PodBuilder("p").Req("2", "1Gi"));
  Drain();
  EXPECT_EQ(BoundNode("p"), "big");
  auto scheduled = client_.EventsWithReason("Scheduled");
  ASSERT_EQ(scheduled.size(), 1u);
  EXPECT_EQ(scheduled[0].message, "Successfully assigned default/p to big");
  EXPECT_EQ(scheduled[0].type, "Normal");
  EXPECT_EQ(sched_->Stats().scheduled, 1u);
  EXPECT_EQ(sched_->cache().AssumedPodCount(), 0u);  // confirmed by the pod update
}

TEST_F(SchedulerTest, FailedSchedulingSummarisesReasonsAndSetsPodScheduledFalse) {
  Start();
  // Two nodes too full (an equal-priority pod each: no victims), one tainted.
  AddNode(NodeBuilder("n1").Capacity("2", "1Gi"));
  AddNode(NodeBuilder("n2").Capacity("2", "1Gi"));
  AddNode(NodeBuilder("n3").Taint("dedicated", "gpu", "NoSchedule"));
  AddPod(PodBuilder("a").Req("1").Node("n1"));
  AddPod(PodBuilder("b").Req("1").Node("n2"));
  ObjectPtr p = AddPod(PodBuilder("p").Req("2"));
  Drain();
  EXPECT_EQ(BoundNode("p"), "");
  auto failed = client_.EventsWithReason("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].type, "Warning");
  EXPECT_EQ(failed[0].message,
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
            "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not "
            "helpful for scheduling, 2 No preemption victims found for incoming pod.");
  std::lock_guard<std::mutex> l(client_.mu);
  ASSERT_EQ(client_.patches.size(), 1u);
  const auto& cond = client_.patches[0].second.condition;
  ASSERT_TRUE(cond.has_value());
  EXPECT_EQ(cond->type, "PodScheduled");
  EXPECT_EQ(cond->status, "False");
  EXPECT_EQ(cond->reason, "Unschedulable");
  EXPECT_EQ(cond->message, failed[0].message);
  EXPECT_EQ(sched_->queue().WhereIs(std::string(api::GetUid(*p))), "unschedulable");
}

TEST_F(SchedulerTest, ARequestLargerThanEveryNodeIsNotPreemptedFor) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("1", "1Gi"));
  AddPod(PodBuilder("low").Req("500m").Priority(0).Node("n1"));
  AddPod(PodBuilder("p").Req("2").Priority(100));
  Drain();
  auto failed = client_.EventsWithReason("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].message,
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 "
            "Preemption is not helpful for scheduling.");
  std::lock_guard<std::mutex> l(client_.mu);
  EXPECT_TRUE(client_.deletions.empty());
}

TEST_F(SchedulerTest, NoNodesIsASchedulerError) {
  Start();
  AddPod(PodBuilder("p"));
  Drain();
  auto failed = client_.EventsWithReason("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].message, "no nodes available to schedule pods");
  std::lock_guard<std::mutex> l(client_.mu);
  ASSERT_EQ(client_.patches.size(), 1u);
  EXPECT_EQ(client_.patches[0].second.condition->reason, "SchedulerError");
}

TEST_F(SchedulerTest, PodOfAnotherSchedulerIsLeftAlone) {
  Start();
  AddNode(NodeBuilder("n1"));
  AddPod(PodBuilder("p").SchedulerName("my-scheduler"));
  EXPECT_EQ(sched_->queue().ActiveCount(), 0u);
  Drain();
  EXPECT_EQ(BoundNode("p"), "");
  std::lock_guard<std::mutex> l(client_.mu);
  EXPECT_TRUE(client_.events.empty());
  EXPECT_TRUE(client_.patches.empty());
}

TEST_F(SchedulerTest, ProfilesScheduleTheirOwnPods) {
  auto config = LoadConfiguration(R"(
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: no-scoring
  plugins:
    score:
      disabled:
      - name: '*'
)",
                                  InTreeRegistry());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Start(*config);
  AddNode(NodeBuilder("n1"));
  AddPod(PodBuilder("a"));
  AddPod(PodBuilder("b").SchedulerName("no-scoring"));
  Drain();
  EXPECT_EQ(BoundNode("a"), "n1");
  EXPECT_EQ(BoundNode("b"), "n1");
  for (const auto& e : client_.EventsWithReason("Scheduled")) {
    EXPECT_EQ(e.reporting_controller, e.regarding.name == "a" ? "default-scheduler" : "no-scoring");
  }
}

TEST_F(SchedulerTest, AssumedPodsCountBeforeTheirBindingIsConfirmed) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("4", "8Gi"));
  AddNode(NodeBuilder("n2").Capacity("4", "8Gi"));
  AddPod(PodBuilder("a").Req("3"));
  AddPod(PodBuilder("b").Req("3"));
  // Both cycles run before any binding comes back from the informer.
  ASSERT_TRUE(sched_->ScheduleOne());
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  EXPECT_NE(BoundNode("a"), "");
  EXPECT_NE(BoundNode("b"), "");
  EXPECT_NE(BoundNode("a"), BoundNode("b"));
  EXPECT_EQ(sched_->cache().AssumedPodCount(), 2u);
  Drain();
  EXPECT_EQ(sched_->cache().AssumedPodCount(), 0u);
}

TEST_F(SchedulerTest, PreemptsALowerPriorityPodAndNominatesTheNode) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("4", "8Gi"));
  AddPod(PodBuilder("low").Req("3").Priority(10).Node("n1"));
  AddPod(PodBuilder("high").Req("2").Priority(1000));
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  {
    std::lock_guard<std::mutex> l(client_.mu);
    ASSERT_EQ(client_.deletions.size(), 1u);
    EXPECT_EQ(client_.deletions[0].name, "low");
    // The victim gets DisruptionTarget before it is deleted; the preemptor its nomination.
    bool disruption = false, nominated = false;
    for (const auto& [ref, patch] : client_.patches) {
      if (ref.name == "low" && patch.condition && patch.condition->type == "DisruptionTarget") {
        disruption = patch.condition->reason == "PreemptionByScheduler";
      }
      if (ref.name == "high" && patch.nominated_node_name) {
        nominated = *patch.nominated_node_name == "n1";
      }
    }
    EXPECT_TRUE(disruption);
    EXPECT_TRUE(nominated);
  }
  auto preempted = client_.EventsWithReason("Preempted");
  ASSERT_EQ(preempted.size(), 1u);
  EXPECT_EQ(preempted[0].regarding.name, "low");
  EXPECT_EQ(sched_->Stats().preemptions, 1u);
  // The victim's deletion moves the preemptor back; it lands on the nominated node.
  Drain();
  clock_->Advance(2s);
  sched_->FlushQueue();
  Drain();
  EXPECT_EQ(BoundNode("high"), "n1");
}

TEST_F(SchedulerTest, PreemptionAvoidsViolatingADisruptionBudget) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("4", "8Gi"));
  AddNode(NodeBuilder("n2").Capacity("4", "8Gi"));
  AddPod(PodBuilder("guarded").Req("3").Priority(1).Label("app", "db").Node("n1"));
  AddPod(PodBuilder("free").Req("3").Priority(1).Label("app", "web").Node("n2"));
  auto pdb = std::make_shared<const api::Object>(boost::json::parse(R"({
    "metadata":{"name":"db","namespace":"default"},
    "spec":{"selector":{"matchLabels":{"app":"db"}}},
    "status":{"disruptionsAllowed":0}})").as_object());
  sched_->OnEvent(ResourceKind::kPodDisruptionBudget, nullptr, pdb);
  AddPod(PodBuilder("high").Req("2").Priority(100));
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  std::lock_guard<std::mutex> l(client_.mu);
  ASSERT_EQ(client_.deletions.size(), 1u);
  EXPECT_EQ(client_.deletions[0].name, "free");
}

TEST_F(SchedulerTest, PreemptionPolicyNeverDoesNotPreempt) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("4", "8Gi"));
  AddPod(PodBuilder("low").Req("3").Priority(10).Node("n1"));
  AddPod(PodBuilder("high").Req("2").Priority(1000).PreemptNever());
  Drain();
  auto failed = client_.EventsWithReason("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].message,
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
            "preemptionPolicy=Never.");
  std::lock_guard<std::mutex> l(client_.mu);
  EXPECT_TRUE(client_.deletions.empty());
}

TEST_F(SchedulerTest, UnschedulablePodIsRequeuedByANodeThatFits) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("1", "1Gi"));
  ObjectPtr p = AddPod(PodBuilder("p").Req("2"));
  Drain();
  std::string uid(api::GetUid(*p));
  EXPECT_EQ(sched_->queue().WhereIs(uid), "unschedulable");
  // A node too small does not move it (NodeResourcesFit's hint says Skip).
  AddNode(NodeBuilder("n2").Capacity("1", "1Gi"));
  EXPECT_EQ(sched_->queue().WhereIs(uid), "unschedulable");
  AddNode(NodeBuilder("n3").Capacity("4", "8Gi"));
  EXPECT_EQ(sched_->queue().WhereIs(uid), "backoff");
  clock_->Advance(1100ms);
  sched_->FlushQueue();
  EXPECT_EQ(sched_->queue().WhereIs(uid), "active");
  Drain();
  EXPECT_EQ(BoundNode("p"), "n3");
}

TEST_F(SchedulerTest, NodeAffinityHintMovesOnlyOnAMatchingNode) {
  Start();
  AddNode(NodeBuilder("n1"));
  ObjectPtr p = AddPod(PodBuilder("p").NodeSelector("disk", "ssd"));
  Drain();
  std::string uid(api::GetUid(*p));
  EXPECT_EQ(sched_->queue().WhereIs(uid), "unschedulable");
  AddNode(NodeBuilder("n2").Label("disk", "hdd"));
  EXPECT_EQ(sched_->queue().WhereIs(uid), "unschedulable");
  // A label update that makes a node match moves it.
  auto old_node = NodeBuilder("n2").Label("disk", "hdd").Obj();
  auto new_node = NodeBuilder("n2").Label("disk", "ssd").Obj();
  sched_->OnEvent(ResourceKind::kNode, old_node, new_node);
  EXPECT_NE(sched_->queue().WhereIs(uid), "unschedulable");
  clock_->Advance(2s);
  sched_->FlushQueue();
  Drain();
  EXPECT_EQ(BoundNode("p"), "n2");
}

TEST_F(SchedulerTest, UnschedulablePodsAreFlushedAfterFiveMinutes) {
  Start();
  AddNode(NodeBuilder("n1").Capacity("1", "1Gi"));
  ObjectPtr p = AddPod(PodBuilder("p").Req("2"));
  Drain();
  std::string uid(api::GetUid(*p));
  clock_->Advance(4min);
  sched_->FlushQueue();
  EXPECT_EQ(sched_->queue().WhereIs(uid), "unschedulable");
  clock_->Advance(61s);
  sched_->FlushQueue();
  EXPECT_EQ(sched_->queue().WhereIs(uid), "active");
}

TEST_F(SchedulerTest, GatedPodWaitsUntilItsGatesAreRemoved) {
  Start();
  AddNode(NodeBuilder("n1"));
  ObjectPtr gated = AddPod(PodBuilder("p").Gate("example.com/wait"));
  std::string uid(api::GetUid(*gated));
  EXPECT_EQ(sched_->queue().WhereIs(uid), "gated");
  EXPECT_FALSE(sched_->ScheduleOne());
  auto ungated = std::make_shared<api::Object>(*gated);
  (*ungated)["spec"].as_object().erase("schedulingGates");
  sched_->OnEvent(ResourceKind::kPod, gated, ungated);
  EXPECT_EQ(sched_->queue().WhereIs(uid), "active");
  {
    std::lock_guard<std::mutex> l(pods_mu_);
    pods_[uid] = ungated;
  }
  Drain();
  EXPECT_EQ(BoundNode("p"), "n1");
}

TEST_F(SchedulerTest, FailedBindingForgetsThePodAndRetriesAfterBackoff) {
  Start();
  AddNode(NodeBuilder("n1"));
  ObjectPtr p = AddPod(PodBuilder("p"));
  client_.bind_error = UnavailableError("connection refused");
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  std::string uid(api::GetUid(*p));
  EXPECT_EQ(sched_->cache().AssumedPodCount(), 0u);
  EXPECT_EQ(sched_->queue().WhereIs(uid), "backoff");
  EXPECT_EQ(sched_->Stats().errors, 1u);
  client_.bind_error = Status::Ok();
  clock_->Advance(1100ms);
  sched_->FlushQueue();
  Drain();
  EXPECT_EQ(BoundNode("p"), "n1");
}

TEST_F(SchedulerTest, PriorityClassNameResolvesWhenPriorityIsUnset) {
  Start();
  auto pc = std::make_shared<const api::Object>(boost::json::parse(
      R"({"metadata":{"name":"high"},"value":1000})").as_object());
  sched_->OnEvent(ResourceKind::kPriorityClass, nullptr, pc);
  AddNode(NodeBuilder("n1").Capacity("4", "8Gi"));
  AddPod(PodBuilder("low").Req("3").Priority(0).Node("n1"));
  AddPod(PodBuilder("high").Req("2").PriorityClassName("high"));
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  std::lock_guard<std::mutex> l(client_.mu);
  ASSERT_EQ(client_.deletions.size(), 1u);
  EXPECT_EQ(client_.deletions[0].name, "low");
}

TEST_F(SchedulerTest, RunSchedulesInTheBackground) {
  Start();
  AddNode(NodeBuilder("n1"));
  sched_->Run();
  AddPod(PodBuilder("p"));
  for (int i = 0; i < 200 && BoundNode("p").empty(); ++i) std::this_thread::sleep_for(5ms);
  sched_->Stop();
  EXPECT_EQ(BoundNode("p"), "n1");
}

TEST(NumFeasibleNodesToFind, FollowsUpstreamsAdaptiveDefault) {
  EXPECT_EQ(NumFeasibleNodesToFind(0, 50), 50);
  EXPECT_EQ(NumFeasibleNodesToFind(0, 99), 99);
  EXPECT_EQ(NumFeasibleNodesToFind(0, 100), 100);   // 49% of 100 is below the minimum 100
  EXPECT_EQ(NumFeasibleNodesToFind(0, 1000), 420);  // 50 - 8 = 42%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 5000), 500);  // 50 - 40 = 10%
  EXPECT_EQ(NumFeasibleNodesToFind(0, 10000), 500); // at least 5%
  EXPECT_EQ(NumFeasibleNodesToFind(100, 5000), 5000);
  EXPECT_EQ(NumFeasibleNodesToFind(1, 5000), 100);
}

}  // namespace
}  // namespace keelson::scheduler
