// The scheduling queue: order, backoff 1 s doubling to 10 s, parking and re-queueing by
// cluster events through the plugins' hints, events while in flight, the 5 minute flush,
// gated pods and the nominator.
#include "scheduler/queue/scheduling_queue.h"

#include <gtest/gtest.h>

#include "scheduler/framework/framework.h"
#include "scheduler/plugins/registry.h"
#include "scheduler/testing/fakes.h"

namespace keelson::scheduler {
namespace {

using namespace std::chrono_literals;
using testing::NodeBuilder;
using testing::PodBuilder;

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fw = Framework::Create(DefaultConfiguration().profiles[0], InTreeRegistry(), &handle_);
    ASSERT_TRUE(fw.ok()) << fw.status().ToString();
    fw_ = std::move(*fw);
    q_ = std::make_unique<SchedulingQueue>(clock_, QueueOptions{}, std::vector<Framework*>{fw_.get()});
  }
  // Pops the pod and fails it as if `plugin` rejected it.
  QueuedPodInfo Fail(std::string_view plugin) {
    auto qi = q_->TryPop();
    EXPECT_TRUE(qi.has_value());
    if (!plugin.empty()) qi->unschedulable_plugins.insert(std::string(plugin));
    q_->AddUnschedulableIfNotPresent(*qi);
    return *qi;
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  testing::TestHandle handle_;
  std::unique_ptr<Framework> fw_;
  std::unique_ptr<SchedulingQueue> q_;
};

TEST_F(QueueTest, PopsByPriorityThenArrival) {
  q_->Add(PodBuilder("a").Priority(1).Info());
  clock_->Advance(1ms);
  q_->Add(PodBuilder("b").Priority(5).Info());
  clock_->Advance(1ms);
  q_->Add(PodBuilder("c").Priority(1).Info());
  EXPECT_EQ(q_->TryPop()->pod->name, "b");
  EXPECT_EQ(q_->TryPop()->pod->name, "a");
  EXPECT_EQ(q_->TryPop()->pod->name, "c");
  EXPECT_FALSE(q_->TryPop().has_value());
}

TEST_F(QueueTest, BackoffDoublesFromOneSecondUpToTen) {
  auto pod = PodBuilder("p").Info();
  q_->Add(pod);
  // A pod failing with an error (no rejecting plugin) goes to backoff directly.
  std::vector<std::chrono::milliseconds> expected = {1000ms, 2000ms, 4000ms, 8000ms, 10000ms, 10000ms};
  for (auto want : expected) {
    Fail("");
    EXPECT_EQ(q_->WhereIs(pod->uid), "backoff");
    clock_->Advance(want - 1ms);
    q_->Flush();
    EXPECT_EQ(q_->WhereIs(pod->uid), "backoff") << want.count();
    clock_->Advance(1ms);
    q_->Flush();
    ASSERT_EQ(q_->WhereIs(pod->uid), "active") << want.count();
  }
}

TEST_F(QueueTest, UnschedulablePodsWaitForAnEventTheirPluginsRegistered) {
  auto pod = PodBuilder("p").Req("2").Info();
  q_->Add(pod);
  Fail("NodeResourcesFit");
  EXPECT_EQ(q_->WhereIs(pod->uid), "unschedulable");
  // An event no rejecting plugin registered: stays.
  q_->MoveAllToActiveOrBackoffQueue({EventResource::kPersistentVolume, kAdd, "PvAdd"}, {});
  EXPECT_EQ(q_->WhereIs(pod->uid), "unschedulable");
  // A registered event whose hint says Skip (a node too small): stays.
  q_->MoveAllToActiveOrBackoffQueue({EventResource::kNode, kAdd, "NodeAdd"},
                                    EventObjects{{}, {}, {}, NodeBuilder("n").Capacity("1", "1Gi").View(), {}, {}});
  EXPECT_EQ(q_->WhereIs(pod->uid), "unschedulable");
  // A node that fits: moves (to backoff, then active once the backoff is over).
  q_->MoveAllToActiveOrBackoffQueue({EventResource::kNode, kAdd, "NodeAdd"},
                                    EventObjects{{}, {}, {}, NodeBuilder("n").Capacity("4", "1Gi").View(), {}, {}});
  EXPECT_EQ(q_->WhereIs(pod->uid), "backoff");
  clock_->Advance(1s);
  q_->Flush();
  EXPECT_EQ(q_->WhereIs(pod->uid), "active");
}

TEST_F(QueueTest, AnEventAfterTheBackoffMovesStraightToActive) {
  auto pod = PodBuilder("p").Info();
  q_->Add(pod);
  Fail("NodeAffinity");
  clock_->Advance(2s);
  q_->MoveAllToActiveOrBackoffQueue({EventResource::kNode, kAdd, "NodeAdd"},
                                    EventObjects{{}, {}, {}, NodeBuilder("n").View(), {}, {}});
  EXPECT_EQ(q_->WhereIs(pod->uid), "active");
}

TEST_F(QueueTest, AnEventWhileInFlightIsNotLost) {
  auto pod = PodBuilder("p").Req("2").Info();
  q_->Add(pod);
  auto qi = q_->TryPop();
  ASSERT_TRUE(qi);
  // While the pod is being scheduled, a node that fits arrives.
  q_->MoveAllToActiveOrBackoffQueue({EventResource::kNode, kAdd, "NodeAdd"},
                                    EventObjects{{}, {}, {}, NodeBuilder("n").Capacity("4", "1Gi").View(), {}, {}});
  qi->unschedulable_plugins.insert("NodeResourcesFit");
  q_->AddUnschedulableIfNotPresent(*qi);
  EXPECT_EQ(q_->WhereIs(pod->uid), "backoff");
}

TEST_F(QueueTest, ParkedPodsAreFlushedAfterFiveMinutes) {
  auto pod = PodBuilder("p").Info();
  q_->Add(pod);
  Fail("NodeAffinity");
  clock_->Advance(5min);
  q_->Flush();
  EXPECT_EQ(q_->WhereIs(pod->uid), "unschedulable");
  clock_->Advance(1s);
  q_->Flush();
  EXPECT_EQ(q_->WhereIs(pod->uid), "active");
}

TEST_F(QueueTest, AnUpdateOfAParkedPodIsCheckedByTheHints) {
  auto pod = PodBuilder("p").Toleration("a", "Exists", "", "").Info();
  q_->Add(pod);
  Fail("TaintToleration");
  // A label change is not an event TaintToleration registered.
  auto relabelled = PodBuilder("p").Uid(pod->uid).Toleration("a", "Exists", "", "").Label("x", "y").Info();
  q_->Update(pod, relabelled);
  EXPECT_EQ(q_->WhereIs(pod->uid), "unschedulable");
  // A toleration change is.
  auto tolerating = PodBuilder("p").Uid(pod->uid).Toleration("b", "Exists", "", "").Info();
  q_->Update(relabelled, tolerating);
  EXPECT_EQ(q_->WhereIs(pod->uid), "backoff");
}

TEST_F(QueueTest, GatedPodsEnterOnceUngated) {
  auto gated = PodBuilder("p").Gate("wait").Info();
  q_->Add(gated);
  EXPECT_EQ(q_->WhereIs(gated->uid), "gated");
  EXPECT_FALSE(q_->TryPop().has_value());
  // The 5 minute flush does not release gated pods.
  clock_->Advance(6min);
  q_->Flush();
  EXPECT_EQ(q_->WhereIs(gated->uid), "gated");
  q_->Update(gated, PodBuilder("p").Uid(gated->uid).Info());
  EXPECT_EQ(q_->WhereIs(gated->uid), "active");
}

TEST_F(QueueTest, DeletedPodsLeave) {
  auto a = PodBuilder("a").Info();
  auto b = PodBuilder("b").Info();
  q_->Add(a);
  q_->Add(b);
  q_->Delete(*a);
  EXPECT_FALSE(q_->Has(a->uid));
  auto popped = q_->TryPop();
  q_->Delete(*b);  // deleted while in flight
  q_->AddUnschedulableIfNotPresent(*popped);
  EXPECT_FALSE(q_->Has(b->uid));
}

TEST_F(QueueTest, Nominator) {
  auto p = PodBuilder("p").Info();
  EXPECT_FALSE(q_->HasNominatedPods());
  q_->AddNominatedPod(p, "n1");
  EXPECT_TRUE(q_->HasNominatedPods());
  ASSERT_EQ(q_->NominatedPodsForNode("n1").size(), 1u);
  q_->AddNominatedPod(p, "n2");
  EXPECT_TRUE(q_->NominatedPodsForNode("n1").empty());
  EXPECT_EQ(q_->NominatedPodsForNode("n2").size(), 1u);
  q_->DeleteNominatedPodIfExists(p->uid);
  EXPECT_FALSE(q_->HasNominatedPods());
  // A pod arriving with status.nominatedNodeName is nominated.
  auto n = PodBuilder("n").NominatedNode("n3").Info();
  q_->Add(n);
  EXPECT_EQ(q_->NominatedPodsForNode("n3").size(), 1u);
}

TEST_F(QueueTest, PopBlocksUntilAPodArrivesOrClose) {
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    q_->Add(PodBuilder("late").Info());
  });
  auto qi = q_->Pop();
  ASSERT_TRUE(qi.has_value());
  EXPECT_EQ(qi->pod->name, "late");
  EXPECT_EQ(qi->attempts, 1);
  t.join();
  std::thread c([&] {
    std::this_thread::sleep_for(20ms);
    q_->Close();
  });
  EXPECT_FALSE(q_->Pop().has_value());
  c.join();
}

}  // namespace
}  // namespace keelson::scheduler
