#include "scheduler/plugins/podtopologyspread/pod_topology_spread.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

std::string Spread(int max_skew, std::string key, std::string when, std::string extra = "") {
  return R"([{"maxSkew":)" + std::to_string(max_skew) + R"(,"topologyKey":")" + key +
         R"(","whenUnsatisfiable":")" + when + R"(","labelSelector":{"matchLabels":{"app":"web"}})" +
         extra + "}]";
}

class PodTopologySpreadTest : public ::testing::Test {
 protected:
  // Zones: a (n1, n2), b (n3), c (n4); the pods per node as given.
  void SetCluster(std::vector<int> web_pods, std::vector<NodeBuilder> extra = {}) {
    std::vector<NodeBuilder> builders = {NodeBuilder("n1").Label("zone", "a"), NodeBuilder("n2").Label("zone", "a"),
                                         NodeBuilder("n3").Label("zone", "b"), NodeBuilder("n4").Label("zone", "c")};
    for (auto& b : extra) builders.push_back(b);
    nodes_.clear();
    for (size_t i = 0; i < builders.size(); ++i) {
      std::vector<PodInfoPtr> pods;
      auto view = builders[i].View();
      for (int k = 0; i < web_pods.size() && k < web_pods[i]; ++k) {
        pods.push_back(WithNodeName(*PodBuilder("w" + std::to_string(i) + "-" + std::to_string(k)).Label("app", "web").Info(), view->name));
      }
      nodes_.push_back(MakeNodeInfo(view, pods));
    }
    h_.SetNodes(nodes_);
  }
  std::vector<PluginStatus> FilterAll(const PodInfo& pod) {
    CycleState state;
    PreFilterResult r;
    std::vector<PluginStatus> out;
    PluginStatus pre = p_->PreFilter(state, pod, &r);
    for (const auto& n : nodes_) out.push_back(pre.IsSkip() ? PluginStatus() : p_->Filter(state, pod, *n));
    return out;
  }
  void Make(std::string_view args = "{}") {
    auto a = podtopologyspread::ParseArgs(boost::json::parse(args).as_object());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    p_ = std::make_unique<podtopologyspread::PodTopologySpread>(std::move(*a), &h_);
  }
  TestHandle h_;
  std::unique_ptr<podtopologyspread::PodTopologySpread> p_;
  std::vector<NodeInfoPtr> nodes_;
};

TEST_F(PodTopologySpreadTest, SkewAboveMaxSkewIsRejected) {
  Make();
  SetCluster({2, 0, 1, 0});  // a: 2, b: 1, c: 0
  auto pod = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule")).Info();
  auto st = FilterAll(*pod);
  EXPECT_EQ(st[0].code(), Code::kUnschedulable);
  EXPECT_EQ(st[0].Message(), "node(s) didn't match pod topology spread constraints");
  EXPECT_FALSE(st[2].IsSuccess());  // b: 1 + 1 - 0 = 2 > 1
  EXPECT_TRUE(st[3].IsSuccess());   // c: 0 + 1 - 0 = 1
}

TEST_F(PodTopologySpreadTest, ANodeWithoutTheKeyIsUnresolvable) {
  Make();
  SetCluster({0, 0, 0, 0}, {NodeBuilder("bare")});
  auto pod = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule")).Info();
  auto st = FilterAll(*pod);
  EXPECT_EQ(st[4].code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(st[4].Message(), "node(s) didn't match pod topology spread constraints (missing required label)");
}

TEST_F(PodTopologySpreadTest, MinDomainsTreatsTheMinimumAsZero) {
  Make();
  SetCluster({1, 0, 1, 1});  // every zone has one: minimum 1
  auto pod = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule")).Info();
  EXPECT_TRUE(FilterAll(*pod)[0].IsSuccess());  // 1 + 1 - 1 = 1
  auto with_min = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule", R"(,"minDomains":4)")).Info();
  EXPECT_FALSE(FilterAll(*with_min)[0].IsSuccess());  // 3 domains < 4: minimum 0 -> 2 > 1
}

TEST_F(PodTopologySpreadTest, NodeAffinityPolicyHonorCountsOnlyMatchingNodes) {
  Make();
  // Zone c's node lacks disk=ssd: with Honor it is not a domain, so the minimum is zone b's 0.
  SetCluster({0, 0, 0, 0});
  std::vector<NodeBuilder> nodes = {NodeBuilder("n1").Label("zone", "a").Label("disk", "ssd"),
                                    NodeBuilder("n3").Label("zone", "b").Label("disk", "ssd"),
                                    NodeBuilder("n4").Label("zone", "c")};
  nodes_ = {MakeNodeInfo(nodes[0].View(), {WithNodeName(*PodBuilder("x").Label("app", "web").Info(), "n1")}),
            MakeNodeInfo(nodes[1].View(), {WithNodeName(*PodBuilder("y").Label("app", "web").Info(), "n3")}),
            MakeNodeInfo(nodes[2].View())};
  h_.SetNodes(nodes_);
  auto honor = PodBuilder("p").Label("app", "web").NodeSelector("disk", "ssd").Spread(Spread(1, "zone", "DoNotSchedule")).Info();
  EXPECT_TRUE(FilterAll(*honor)[0].IsSuccess());  // min over a, b = 1: 1 + 1 - 1 = 1
  auto ignore = PodBuilder("p").Label("app", "web").NodeSelector("disk", "ssd")
                    .Spread(Spread(1, "zone", "DoNotSchedule", R"(,"nodeAffinityPolicy":"Ignore")")).Info();
  EXPECT_FALSE(FilterAll(*ignore)[0].IsSuccess());  // zone c counts: min 0 -> 2 > 1
}

TEST_F(PodTopologySpreadTest, NodeTaintsPolicyHonorSkipsUntoleratedNodes) {
  Make();
  nodes_ = {MakeNodeInfo(NodeBuilder("n1").Label("zone", "a").View(), {WithNodeName(*PodBuilder("x").Label("app", "web").Info(), "n1")}),
            MakeNodeInfo(NodeBuilder("n2").Label("zone", "b").Taint("k", "v", "NoSchedule").View())};
  h_.SetNodes(nodes_);
  auto ignore = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule")).Info();
  EXPECT_FALSE(FilterAll(*ignore)[0].IsSuccess());
  auto honor = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule", R"(,"nodeTaintsPolicy":"Honor")")).Info();
  EXPECT_TRUE(FilterAll(*honor)[0].IsSuccess());
}

TEST_F(PodTopologySpreadTest, ScoreFavoursLessCrowdedDomains) {
  Make();
  SetCluster({2, 0, 1, 0});
  auto pod = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "ScheduleAnyway")).Info();
  // Counts a: 2, a: 2, b: 1, c: 0 with weight log(3 + 2); normalised: fewer is higher.
  auto scores = RunScore(*p_, *pod, nodes_);
  EXPECT_EQ(scores[0], scores[1]);
  EXPECT_LT(scores[0], scores[2]);
  EXPECT_LT(scores[2], scores[3]);
  EXPECT_EQ(scores[3], 100);
}

TEST_F(PodTopologySpreadTest, DefaultConstraintsSpreadPodsOfAService) {
  Make();
  SetCluster({2, 0, 0, 0});
  auto svc = ParseObject(R"({"metadata":{"name":"web","namespace":"default"},"spec":{"selector":{"app":"web"}}})");
  h_.mutable_listers().SetWorkload(WorkloadKind::kService, "default", "web", svc.get());
  auto pod = PodBuilder("p").Label("app", "web").Info();
  auto cs = p_->ConstraintsFor(*pod, false);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].topology_key, "kubernetes.io/hostname");
  EXPECT_EQ(cs[0].max_skew, 3);
  EXPECT_EQ(cs[1].topology_key, "topology.kubernetes.io/zone");
  EXPECT_EQ(cs[1].max_skew, 5);
  auto scores = RunScore(*p_, *pod, nodes_);
  EXPECT_LT(scores[0], scores[1]);  // n1 already has two of them
  // A pod no workload selects gets no default constraints.
  EXPECT_TRUE(p_->ConstraintsFor(*PodBuilder("q").Label("app", "other").Info(), false).empty());
}

TEST_F(PodTopologySpreadTest, ArgsErrorsNameTheField) {
  auto a = podtopologyspread::ParseArgs(boost::json::parse(
      R"({"defaultingType":"List","defaultConstraints":[{"maxSkew":0,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}]})").as_object());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "defaultConstraints[0].maxSkew: Invalid value: 0: must be greater than zero");
  auto b = podtopologyspread::ParseArgs(boost::json::parse(R"({"defaultingType":"Cluster"})").as_object());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "defaultingType: Unsupported value: \"Cluster\": supported values: \"List\", \"System\"");
}

TEST_F(PodTopologySpreadTest, CountsAreReusedWhileNodesAreUnchanged) {
  Make();
  // NodeInfos from the cache carry generations; a changed node (new generation) is recounted.
  auto n1 = std::make_shared<NodeInfo>(*MakeNodeInfo(NodeBuilder("n1").Label("zone", "a").View()));
  auto n2 = std::make_shared<NodeInfo>(*MakeNodeInfo(NodeBuilder("n2").Label("zone", "b").View()));
  n1->generation = 1;
  n2->generation = 2;
  nodes_ = {n1, n2};
  h_.SetNodes(nodes_);
  auto pod = PodBuilder("p").Label("app", "web").Spread(Spread(1, "zone", "DoNotSchedule")).Info();
  EXPECT_TRUE(FilterAll(*pod)[0].IsSuccess());
  auto n1b = std::make_shared<NodeInfo>(*n1);
  n1b->AddPod(WithNodeName(*PodBuilder("w").Label("app", "web").Info(), "n1"));
  n1b->generation = 3;
  nodes_ = {n1b, n2};
  h_.SetNodes(nodes_);
  auto st = FilterAll(*pod);
  EXPECT_FALSE(st[0].IsSuccess());
  EXPECT_TRUE(st[1].IsSuccess());
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
