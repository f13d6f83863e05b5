#include "scheduler/plugins/tainttoleration/taint_toleration.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

TEST(TaintToleration, RejectsAnUntoleratedNoScheduleOrNoExecuteTaint) {
  tainttoleration::TaintToleration p;
  auto pod = PodBuilder("p").Info();
  PluginStatus s = RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("n").Taint("dedicated", "gpu", "NoSchedule").View()));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "node(s) had untolerated taint {dedicated: gpu}");
  s = RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("n").Taint("maint", "", "NoExecute").View()));
  EXPECT_EQ(s.Message(), "node(s) had untolerated taint {maint: }");
  // PreferNoSchedule never filters.
  EXPECT_TRUE(RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("n").Taint("a", "b", "PreferNoSchedule").View())).IsSuccess());
}

TEST(TaintToleration, TolerationsMatchAsUpstream) {
  tainttoleration::TaintToleration p;
  auto node = MakeNodeInfo(NodeBuilder("n").Taint("dedicated", "gpu", "NoSchedule").View());
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").Toleration("dedicated", "Equal", "gpu", "NoSchedule").Info(), *node).IsSuccess());
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").Toleration("dedicated", "Exists", "", "").Info(), *node).IsSuccess());
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").Toleration("", "Exists", "", "").Info(), *node).IsSuccess());
  EXPECT_FALSE(RunFilter(p, *PodBuilder("p").Toleration("dedicated", "Equal", "cpu", "NoSchedule").Info(), *node).IsSuccess());
  EXPECT_FALSE(RunFilter(p, *PodBuilder("p").Toleration("dedicated", "Exists", "", "NoExecute").Info(), *node).IsSuccess());
}

TEST(TaintToleration, ScoresFewerIntolerablePreferNoScheduleTaintsHigher) {
  tainttoleration::TaintToleration p;
  std::vector<NodeInfoPtr> nodes = {
      MakeNodeInfo(NodeBuilder("none").View()),
      MakeNodeInfo(NodeBuilder("one").Taint("a", "1", "PreferNoSchedule").View()),
      MakeNodeInfo(NodeBuilder("two").Taint("a", "1", "PreferNoSchedule").Taint("b", "2", "PreferNoSchedule").View()),
      MakeNodeInfo(NodeBuilder("tolerated").Taint("c", "3", "PreferNoSchedule").View()),
  };
  auto pod = PodBuilder("p").Toleration("c", "Equal", "3", "PreferNoSchedule").Info();
  EXPECT_EQ(RunScore(p, *pod, nodes), (std::vector<int64_t>{100, 50, 0, 100}));
  // No intolerable taint anywhere: every node scores the maximum.
  EXPECT_EQ(RunScore(p, *pod, {nodes[0], nodes[3]}), (std::vector<int64_t>{100, 100}));
}

TEST(TaintToleration, QueuesWhenATaintIsRemoved) {
  tainttoleration::TaintToleration p;
  auto hints = p.EventsToRegister();
  auto pod = PodBuilder("p").Info();
  EventObjects removed{{}, {}, NodeBuilder("n").Taint("a", "b", "NoSchedule").View(), NodeBuilder("n").View(), {}, {}};
  EXPECT_EQ(hints[0].hint(*pod, removed), QueueingHint::kQueue);
  EventObjects added{{}, {}, NodeBuilder("n").View(), NodeBuilder("n").Taint("a", "b", "NoSchedule").View(), {}, {}};
  EXPECT_EQ(hints[0].hint(*pod, added), QueueingHint::kSkip);
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
