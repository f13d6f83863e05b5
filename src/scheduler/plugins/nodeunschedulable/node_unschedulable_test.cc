#include "scheduler/plugins/nodeunschedulable/node_unschedulable.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

TEST(NodeUnschedulable, RejectsAnUnschedulableNode) {
  nodeunschedulable::NodeUnschedulable p;
  auto node = MakeNodeInfo(NodeBuilder("n").Unschedulable().View());
  PluginStatus s = RunFilter(p, *PodBuilder("p").Info(), *node);
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "node(s) were unschedulable");
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").Info(), *MakeNodeInfo(NodeBuilder("m").View())).IsSuccess());
}

TEST(NodeUnschedulable, AdmitsAPodToleratingTheUnschedulableTaint) {
  nodeunschedulable::NodeUnschedulable p;
  auto node = MakeNodeInfo(NodeBuilder("n").Unschedulable().View());
  auto pod = PodBuilder("p").Toleration("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule").Info();
  EXPECT_TRUE(RunFilter(p, *pod, *node).IsSuccess());
}

TEST(NodeUnschedulable, QueuesWhenANodeBecomesSchedulable) {
  nodeunschedulable::NodeUnschedulable p;
  auto hints = p.EventsToRegister();
  auto pod = PodBuilder("p").Info();
  EventObjects ev{{}, {}, NodeBuilder("n").Unschedulable().View(), NodeBuilder("n").View(), {}, {}};
  EXPECT_EQ(hints[0].hint(*pod, ev), QueueingHint::kQueue);
  EventObjects still{{}, {}, NodeBuilder("n").Unschedulable().View(),
                     NodeBuilder("n").Unschedulable().Label("x", "y").View(), {}, {}};
  EXPECT_EQ(hints[0].hint(*pod, still), QueueingHint::kSkip);
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
