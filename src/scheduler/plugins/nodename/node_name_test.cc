#include "scheduler/plugins/nodename/node_name.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

TEST(NodeName, FitsOnlyTheNamedNode) {
  nodename::NodeName p;
  auto pod = PodBuilder("p").Node("a").Info();
  EXPECT_TRUE(RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("a").View())).IsSuccess());
  PluginStatus s = RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("b").View()));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "node(s) didn't match the requested node name");
  EXPECT_TRUE(RunFilter(p, *PodBuilder("q").Info(), *MakeNodeInfo(NodeBuilder("b").View())).IsSuccess());
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
