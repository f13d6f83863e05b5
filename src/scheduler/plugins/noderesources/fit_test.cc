#include "scheduler/plugins/noderesources/fit.h"

#include "scheduler/plugins/noderesources/balanced_allocation.h"
#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

using noderesources::Fit;
using noderesources::FitArgs;

Fit MakeFit(std::string_view args = "{}") {
  auto a = noderesources::ParseFitArgs(boost::json::parse(args).as_object());
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return Fit(std::move(*a));
}

NodeInfoPtr Node(std::string cpu, std::string mem, std::string pods, std::vector<PodInfoPtr> running = {}) {
  return MakeNodeInfo(NodeBuilder("n").Capacity(cpu, mem, pods).View(), running);
}

TEST(NodeResourcesFit, PodRequestsCountInitSidecarContainersAndOverhead) {
  // containers 100m + 200m; an init container 500m; a sidecar 50m; overhead 10m.
  auto pod = PodBuilder("p").Req("100m", "100Mi").AddContainer("b", "img", "200m", "100Mi")
                 .InitContainer("500m", "1Gi").InitContainer("50m", "10Mi", /*sidecar=*/true)
                 .Overhead("10m", "1Mi").Info();
  // max(100+200+50, 500) + 10 = 510m; memory max(100+100+10 Mi, 1Gi) + 1Mi.
  EXPECT_EQ(pod->requests.milli_cpu, 510);
  EXPECT_EQ(pod->requests.memory, (1024 + 1) * 1024 * 1024);
  // A sidecar started before an init container runs beside it.
  auto pod2 = PodBuilder("q").Req("100m").InitContainer("300m", "", true).InitContainer("500m", "").Info();
  EXPECT_EQ(pod2->requests.milli_cpu, 800);  // max(100+300, 300+500)
  // Scoring's non-zero defaults apply per container that requests nothing.
  auto empty = PodBuilder("e").Info();
  EXPECT_EQ(empty->requests.milli_cpu, 0);
  EXPECT_EQ(empty->non_zero_milli_cpu, 100);
  EXPECT_EQ(empty->non_zero_memory, 200 * 1024 * 1024);
}

TEST(NodeResourcesFit, EachInsufficientResourceIsAReason) {
  auto p = MakeFit();
  auto running = PodBuilder("r").Req("3", "3Gi").Node("n").Info();
  auto node = Node("4", "4Gi", "110", {running});
  PluginStatus s = RunFilter(p, *PodBuilder("p").Req("2", "2Gi").Info(), *node);
  EXPECT_EQ(s.code(), Code::kUnschedulable);
  EXPECT_EQ(s.reasons(), (std::vector<std::string>{"Insufficient cpu", "Insufficient memory"}));
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").Req("1", "1Gi").Info(), *node).IsSuccess());
}

TEST(NodeResourcesFit, MoreThanTheNodeHasIsUnresolvable) {
  auto p = MakeFit();
  PluginStatus s = RunFilter(p, *PodBuilder("p").Req("8").Info(), *Node("4", "4Gi", "110"));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "Insufficient cpu");
}

TEST(NodeResourcesFit, TooManyPods) {
  auto p = MakeFit();
  auto node = Node("4", "4Gi", "1", {PodBuilder("r").Node("n").Info()});
  PluginStatus s = RunFilter(p, *PodBuilder("p").Info(), *node);
  EXPECT_EQ(s.code(), Code::kUnschedulable);
  EXPECT_EQ(s.Message(), "Too many pods");
}

TEST(NodeResourcesFit, ExtendedAndEphemeralResources) {
  auto p = MakeFit();
  auto node = MakeNodeInfo(NodeBuilder("n").Allocatable("example.com/gpu", "1").Allocatable("ephemeral-storage", "1Gi").View());
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").ReqResource("example.com/gpu", "1").Info(), *node).IsSuccess());
  PluginStatus s = RunFilter(p, *PodBuilder("p").ReqResource("example.com/gpu", "2").Info(), *node);
  EXPECT_EQ(s.Message(), "Insufficient example.com/gpu");
  EXPECT_EQ(RunFilter(p, *PodBuilder("p").ReqResource("ephemeral-storage", "2Gi").Info(), *node).Message(),
            "Insufficient ephemeral-storage");
  // Ignored resources and groups are not checked.
  auto ignoring = MakeFit(R"({"ignoredResources":["example.com/gpu"]})");
  EXPECT_TRUE(RunFilter(ignoring, *PodBuilder("p").ReqResource("example.com/gpu", "2").Info(), *node).IsSuccess());
  auto ignoring_group = MakeFit(R"({"ignoredResourceGroups":["example.com"]})");
  EXPECT_TRUE(RunFilter(ignoring_group, *PodBuilder("p").ReqResource("example.com/gpu", "2").Info(), *node).IsSuccess());
}

TEST(NodeResourcesFit, LeastAllocatedScore) {
  auto p = MakeFit();
  // Node 4 cpu / 8Gi with 1 cpu / 2Gi used; the pod asks 1 cpu / 2Gi:
  // cpu (4000-2000)*100/4000 = 50, memory (8-4)*100/8 = 50.
  auto node = MakeNodeInfo(NodeBuilder("a").Capacity("4", "8Gi").View(), {PodBuilder("r").Req("1", "2Gi").Node("a").Info()});
  auto empty = MakeNodeInfo(NodeBuilder("b").Capacity("4", "8Gi").View());
  EXPECT_EQ(RunScore(p, *PodBuilder("p").Req("1", "2Gi").Info(), {node, empty}), (std::vector<int64_t>{50, 75}));
}

TEST(NodeResourcesFit, MostAllocatedScore) {
  auto p = MakeFit(R"({"scoringStrategy":{"type":"MostAllocated","resources":[{"name":"cpu","weight":1},{"name":"memory","weight":1}]}})");
  auto node = MakeNodeInfo(NodeBuilder("a").Capacity("4", "8Gi").View(), {PodBuilder("r").Req("1", "2Gi").Node("a").Info()});
  auto empty = MakeNodeInfo(NodeBuilder("b").Capacity("4", "8Gi").View());
  EXPECT_EQ(RunScore(p, *PodBuilder("p").Req("1", "2Gi").Info(), {node, empty}), (std::vector<int64_t>{50, 25}));
}

TEST(NodeResourcesFit, RequestedToCapacityRatioScore) {
  auto p = MakeFit(R"({"scoringStrategy":{"type":"RequestedToCapacityRatio",
      "resources":[{"name":"cpu","weight":1}],
      "requestedToCapacityRatio":{"shape":[{"utilization":0,"score":0},{"utilization":100,"score":10}]}}})");
  // 3 of 4 cpu used with the pod: 75% on a 0..100 line.
  auto node = MakeNodeInfo(NodeBuilder("a").Capacity("4", "8Gi").View(), {PodBuilder("r").Req("2").Node("a").Info()});
  EXPECT_EQ(RunScore(p, *PodBuilder("p").Req("1").Info(), {node}), (std::vector<int64_t>{75}));
}

TEST(NodeResourcesFit, ArgsErrorsNameTheField) {
  auto bad = noderesources::ParseFitArgs(boost::json::parse(R"({"scoringStrategy":{"type":"Best"}})").as_object());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "scoringStrategy.type: Unsupported value: \"Best\": supported values: \"LeastAllocated\", "
            "\"MostAllocated\", \"RequestedToCapacityRatio\"");
  auto weight = noderesources::ParseFitArgs(boost::json::parse(
      R"({"scoringStrategy":{"resources":[{"name":"cpu","weight":0}]}})").as_object());
  ASSERT_FALSE(weight.ok());
  EXPECT_EQ(weight.status().message(),
            "scoringStrategy.resources[0].weight: Invalid value: 0: resource weight of cpu should be in range [1, 100]");
}

TEST(NodeResourcesBalancedAllocation, ScoresBalancedUseHigher) {
  noderesources::BalancedAllocation p({{"cpu", 1}, {"memory", 1}});
  // With the pod: a: cpu 2/4 = 0.5, memory 2/8 = 0.25 -> (1 - 0.125) * 100 = 87.
  //               b: cpu 2/4 = 0.5, memory 4/8 = 0.5 -> 100.
  auto a = MakeNodeInfo(NodeBuilder("a").Capacity("4", "8Gi").View(), {PodBuilder("r").Req("1", "1Gi").Node("a").Info()});
  auto b = MakeNodeInfo(NodeBuilder("b").Capacity("4", "8Gi").View(), {PodBuilder("r").Req("1", "3Gi").Node("b").Info()});
  EXPECT_EQ(RunScore(p, *PodBuilder("p").Req("1", "1Gi").Info(), {a, b}), (std::vector<int64_t>{87, 100}));
}

TEST(NodeResourcesBalancedAllocation, SkipsPodsRequestingNothing) {
  noderesources::BalancedAllocation p({{"cpu", 1}, {"memory", 1}});
  CycleState state;
  EXPECT_TRUE(p.PreScore(state, *PodBuilder("p").Info(), {}).IsSkip());
}

TEST(NodeResourcesFit, QueuesWhenANodeThatFitsArrives) {
  auto p = MakeFit();
  auto hints = p.EventsToRegister();
  auto pod = PodBuilder("p").Req("2").Info();
  EXPECT_EQ(hints[1].hint(*pod, EventObjects{{}, {}, {}, NodeBuilder("n").Capacity("4", "8Gi").View(), {}, {}}),
            QueueingHint::kQueue);
  EXPECT_EQ(hints[1].hint(*pod, EventObjects{{}, {}, {}, NodeBuilder("n").Capacity("1", "8Gi").View(), {}, {}}),
            QueueingHint::kSkip);
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
