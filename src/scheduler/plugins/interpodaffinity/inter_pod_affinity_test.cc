#include "scheduler/plugins/interpodaffinity/inter_pod_affinity.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

std::string Term(std::string kind, std::string key, std::string value, std::string topology) {
  return R"({")" + kind + R"(":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":
      {"matchLabels":{")" + key + R"(":")" + value + R"("}},"topologyKey":")" + topology + R"("}]}})";
}

class InterPodAffinityTest : public ::testing::Test {
 protected:
  // Zone a: n1, n2; zone b: n3.
  void SetPods(std::vector<std::pair<std::string, PodInfoPtr>> pods) {
    std::map<std::string, std::vector<PodInfoPtr>> by_node;
    for (auto& [n, p] : pods) by_node[n].push_back(WithNodeName(*p, n));
    nodes_ = {MakeNodeInfo(NodeBuilder("n1").Label("zone", "a").View(), by_node["n1"]),
              MakeNodeInfo(NodeBuilder("n2").Label("zone", "a").View(), by_node["n2"]),
              MakeNodeInfo(NodeBuilder("n3").Label("zone", "b").View(), by_node["n3"])};
    h_.SetNodes(nodes_);
  }
  std::vector<PluginStatus> FilterAll(const PodInfo& pod) {
    CycleState state;
    PreFilterResult r;
    std::vector<PluginStatus> out;
    PluginStatus pre = p_.PreFilter(state, pod, &r);
    for (const auto& n : nodes_) out.push_back(pre.IsSkip() ? PluginStatus() : p_.Filter(state, pod, *n));
    return out;
  }
  TestHandle h_;
  interpodaffinity::InterPodAffinity p_{interpodaffinity::Args{}, &h_};
  std::vector<NodeInfoPtr> nodes_;
};

TEST_F(InterPodAffinityTest, RequiredAffinityNeedsAMatchingPodInTheTopology) {
  SetPods({{"n1", PodBuilder("db").Label("app", "db").Info()}});
  auto pod = PodBuilder("web").Affinity(Term("podAffinity", "app", "db", "zone")).Info();
  auto st = FilterAll(*pod);
  EXPECT_TRUE(st[0].IsSuccess());
  EXPECT_TRUE(st[1].IsSuccess());  // same zone
  EXPECT_EQ(st[2].code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(st[2].Message(), "node(s) didn't match pod affinity rules");
}

TEST_F(InterPodAffinityTest, TheFirstPodOfAGroupMayGoWhereItMatchesItself) {
  SetPods({});
  auto pod = PodBuilder("web").Label("app", "web").Affinity(Term("podAffinity", "app", "web", "zone")).Info();
  for (const auto& s : FilterAll(*pod)) EXPECT_TRUE(s.IsSuccess());
  // Not when it does not match its own terms.
  auto other = PodBuilder("x").Affinity(Term("podAffinity", "app", "web", "zone")).Info();
  for (const auto& s : FilterAll(*other)) EXPECT_FALSE(s.IsSuccess());
}

TEST_F(InterPodAffinityTest, ANodeWithoutTheTopologyKeyFailsAffinity) {
  SetPods({{"n1", PodBuilder("db").Label("app", "db").Info()}});
  auto pod = PodBuilder("web").Affinity(Term("podAffinity", "app", "db", "rack")).Info();
  for (const auto& s : FilterAll(*pod)) EXPECT_EQ(s.Message(), "node(s) didn't match pod affinity rules");
}

TEST_F(InterPodAffinityTest, RequiredAntiAffinityKeepsOutOfTheTopology) {
  SetPods({{"n1", PodBuilder("db").Label("app", "db").Info()}});
  auto pod = PodBuilder("web").Affinity(Term("podAntiAffinity", "app", "db", "zone")).Info();
  auto st = FilterAll(*pod);
  EXPECT_EQ(st[0].code(), Code::kUnschedulable);
  EXPECT_EQ(st[0].Message(), "node(s) didn't match pod anti-affinity rules");
  EXPECT_FALSE(st[1].IsSuccess());
  EXPECT_TRUE(st[2].IsSuccess());
}

TEST_F(InterPodAffinityTest, ExistingPodsAntiAffinityIsHonoured) {
  SetPods({{"n3", PodBuilder("loner").Affinity(Term("podAntiAffinity", "app", "web", "zone")).Info()}});
  auto pod = PodBuilder("web").Label("app", "web").Info();
  auto st = FilterAll(*pod);
  EXPECT_TRUE(st[0].IsSuccess());
  EXPECT_EQ(st[2].code(), Code::kUnschedulable);
  EXPECT_EQ(st[2].Message(), "node(s) didn't satisfy existing pods anti-affinity rules");
}

TEST_F(InterPodAffinityTest, TermsMatchOnlyTheirNamespaces) {
  SetPods({{"n1", PodBuilder("db", "other").Label("app", "db").Info()}});
  auto pod = PodBuilder("web").Affinity(Term("podAntiAffinity", "app", "db", "zone")).Info();
  for (const auto& s : FilterAll(*pod)) EXPECT_TRUE(s.IsSuccess());
  // A namespace selector picks namespaces by their labels.
  auto ns = ParseObject(R"({"metadata":{"name":"other","labels":{"team":"x"}}})");
  h_.mutable_listers().SetNamespace("other", ns.get());
  auto selected = PodBuilder("web").Affinity(R"({"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[
      {"labelSelector":{"matchLabels":{"app":"db"}},"namespaceSelector":{"matchLabels":{"team":"x"}},
       "topologyKey":"zone"}]}})").Info();
  auto st = FilterAll(*selected);
  EXPECT_FALSE(st[0].IsSuccess());
  EXPECT_TRUE(st[2].IsSuccess());
}

TEST_F(InterPodAffinityTest, PreferredTermsScoreByTopology) {
  SetPods({{"n1", PodBuilder("db").Label("app", "db").Info()},
           {"n3", PodBuilder("cache").Label("app", "cache").Info()}});
  auto pod = PodBuilder("web").Affinity(R"({
      "podAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":10,"podAffinityTerm":
        {"labelSelector":{"matchLabels":{"app":"db"}},"topologyKey":"zone"}}]},
      "podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":5,"podAffinityTerm":
        {"labelSelector":{"matchLabels":{"app":"cache"}},"topologyKey":"zone"}}]}})").Info();
  // zone a: +10, zone b: -5 -> normalised to 100, 100, 0.
  EXPECT_EQ(RunScore(p_, *pod, nodes_), (std::vector<int64_t>{100, 100, 0}));
}

TEST_F(InterPodAffinityTest, ExistingPodsRequiredAffinityScoresAtHardWeight) {
  SetPods({{"n3", PodBuilder("fan").Affinity(Term("podAffinity", "app", "web", "zone")).Info()}});
  auto pod = PodBuilder("web").Label("app", "web").Info();
  EXPECT_EQ(RunScore(p_, *pod, nodes_), (std::vector<int64_t>{0, 0, 100}));
}

TEST_F(InterPodAffinityTest, PreemptionUpdatesTheStateIncrementally) {
  auto db = WithNodeName(*PodBuilder("db").Label("app", "db").Info(), "n1");
  SetPods({{"n1", db}});
  auto pod = PodBuilder("web").Affinity(Term("podAntiAffinity", "app", "db", "zone")).Info();
  CycleState state;
  PreFilterResult r;
  ASSERT_TRUE(p_.PreFilter(state, *pod, &r).IsSuccess());
  EXPECT_FALSE(p_.Filter(state, *pod, *nodes_[0]).IsSuccess());
  NodeInfo without = *nodes_[0];
  without.RemovePod(db->uid);
  ASSERT_TRUE(p_.RemovePod(state, *pod, db, without).IsSuccess());
  EXPECT_TRUE(p_.Filter(state, *pod, without).IsSuccess());
  ASSERT_TRUE(p_.AddPod(state, *pod, db, *nodes_[0]).IsSuccess());
  EXPECT_FALSE(p_.Filter(state, *pod, *nodes_[0]).IsSuccess());
}

TEST(InterPodAffinityArgs, HardPodAffinityWeightRange) {
  auto a = interpodaffinity::ParseArgs(boost::json::parse(R"({"hardPodAffinityWeight":101})").as_object());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "hardPodAffinityWeight: Invalid value: 101: not in valid range [0, 100]");
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
