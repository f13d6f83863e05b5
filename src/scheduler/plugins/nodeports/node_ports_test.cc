#include "scheduler/plugins/nodeports/node_ports.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

TEST(NodePorts, RejectsATakenHostPort) {
  nodeports::NodePorts p;
  auto running = PodBuilder("r").HostPort(8080).Node("n").Info();
  auto node = MakeNodeInfo(NodeBuilder("n").View(), {running});
  PluginStatus s = RunFilter(p, *PodBuilder("p").HostPort(8080).Info(), *node);
  EXPECT_EQ(s.code(), Code::kUnschedulable);
  EXPECT_EQ(s.Message(), "node(s) didn't have free ports for the requested pod ports");
}

TEST(NodePorts, ProtocolAndAddressDecideConflicts) {
  nodeports::NodePorts p;
  auto node = MakeNodeInfo(NodeBuilder("n").View(), {PodBuilder("r").HostPort(53, "UDP", "10.0.0.1").Node("n").Info()});
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").HostPort(53, "TCP").Info(), *node).IsSuccess());
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").HostPort(53, "UDP", "10.0.0.2").Info(), *node).IsSuccess());
  EXPECT_FALSE(RunFilter(p, *PodBuilder("p").HostPort(53, "UDP", "10.0.0.1").Info(), *node).IsSuccess());
  // 0.0.0.0 conflicts with every address.
  EXPECT_FALSE(RunFilter(p, *PodBuilder("p").HostPort(53, "UDP").Info(), *node).IsSuccess());
}

TEST(NodePorts, SkipsPodsWithoutHostPorts) {
  nodeports::NodePorts p;
  CycleState state;
  PreFilterResult r;
  EXPECT_TRUE(p.PreFilter(state, *PodBuilder("p").Info(), &r).IsSkip());
}

TEST(NodePorts, QueuesWhenAConflictingPodGoes) {
  nodeports::NodePorts p;
  auto hints = p.EventsToRegister();
  auto pod = PodBuilder("p").HostPort(80).Info();
  EXPECT_EQ(hints[0].hint(*pod, EventObjects{PodBuilder("r").HostPort(80).Node("n").Info(), {}, {}, {}, {}, {}}),
            QueueingHint::kQueue);
  EXPECT_EQ(hints[0].hint(*pod, EventObjects{PodBuilder("r").HostPort(81).Node("n").Info(), {}, {}, {}, {}, {}}),
            QueueingHint::kSkip);
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
