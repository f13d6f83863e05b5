#include "scheduler/plugins/schedulinggates/scheduling_gates.h"

#include "scheduler/plugins/prioritysort/priority_sort.h"
#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

TEST(SchedulingGates, KeepsAGatedPodOut) {
  schedulinggates::SchedulingGates p;
  EXPECT_TRUE(p.PreEnqueue(*PodBuilder("p").Info()).IsSuccess());
  PluginStatus s = p.PreEnqueue(*PodBuilder("p").Gate("a").Gate("b").Info());
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "waiting for scheduling gates: [a b]");
}

QueuedPodInfo Queued(PodInfoPtr pod) {
  QueuedPodInfo q;
  q.pod = std::move(pod);
  return q;
}

TEST(PrioritySort, HigherPriorityFirstThenEarlierInQueue) {
  prioritysort::PrioritySort p;
  QueuedPodInfo high = Queued(PodBuilder("h").Priority(10).Info());
  QueuedPodInfo low = Queued(PodBuilder("l").Priority(1).Info());
  EXPECT_TRUE(p.Less(high, low));
  EXPECT_FALSE(p.Less(low, high));
  QueuedPodInfo early = Queued(PodBuilder("e").Info()), late = Queued(PodBuilder("t").Info());
  early.timestamp = Clock::MonoTime(std::chrono::seconds(1));
  late.timestamp = Clock::MonoTime(std::chrono::seconds(2));
  EXPECT_TRUE(p.Less(early, late));
  EXPECT_FALSE(p.Less(late, early));
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
