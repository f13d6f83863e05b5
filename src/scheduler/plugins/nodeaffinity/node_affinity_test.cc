#include "scheduler/plugins/nodeaffinity/node_affinity.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

nodeaffinity::NodeAffinity Make(std::string_view args = "{}") {
  auto a = nodeaffinity::ParseArgs(boost::json::parse(args).as_object());
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return nodeaffinity::NodeAffinity(std::move(*a));
}

std::string Required(std::string_view terms) {
  return std::string(R"({"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":)") +
         std::string(terms) + "}}}";
}

TEST(NodeAffinity, NodeSelectorMustMatch) {
  auto p = Make();
  auto pod = PodBuilder("p").NodeSelector("disk", "ssd").Info();
  PluginStatus s = RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("n").Label("disk", "hdd").View()));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "node(s) didn't match Pod's node affinity/selector");
  EXPECT_TRUE(RunFilter(p, *pod, *MakeNodeInfo(NodeBuilder("n").Label("disk", "ssd").View())).IsSuccess());
}

TEST(NodeAffinity, RequiredTermsAreOredAndTheirExpressionsAnded) {
  auto p = Make();
  auto pod = PodBuilder("p").Affinity(Required(R"([
      {"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]},
                           {"key":"gpu","operator":"DoesNotExist"}]},
      {"matchExpressions":[{"key":"special","operator":"Exists"}]}])")).Info();
  auto fits = [&](NodeBuilder n) { return RunFilter(p, *pod, *MakeNodeInfo(n.View())).IsSuccess(); };
  EXPECT_TRUE(fits(NodeBuilder("n").Label("zone", "a")));
  EXPECT_FALSE(fits(NodeBuilder("n").Label("zone", "a").Label("gpu", "1")));
  EXPECT_FALSE(fits(NodeBuilder("n").Label("zone", "c")));
  EXPECT_TRUE(fits(NodeBuilder("n").Label("zone", "c").Label("special", "")));
}

TEST(NodeAffinity, OperatorsAsUpstream) {
  auto p = Make();
  auto with = [&](std::string expr) {
    return PodBuilder("p").Affinity(Required("[{\"matchExpressions\":[" + expr + "]}]")).Info();
  };
  auto node = MakeNodeInfo(NodeBuilder("n").Label("cores", "8").Label("zone", "a").View());
  EXPECT_TRUE(RunFilter(p, *with(R"({"key":"cores","operator":"Gt","values":["4"]})"), *node).IsSuccess());
  EXPECT_FALSE(RunFilter(p, *with(R"({"key":"cores","operator":"Gt","values":["8"]})"), *node).IsSuccess());
  EXPECT_TRUE(RunFilter(p, *with(R"({"key":"cores","operator":"Lt","values":["16"]})"), *node).IsSuccess());
  EXPECT_FALSE(RunFilter(p, *with(R"({"key":"zone","operator":"Gt","values":["1"]})"), *node).IsSuccess());
  EXPECT_TRUE(RunFilter(p, *with(R"({"key":"zone","operator":"NotIn","values":["b"]})"), *node).IsSuccess());
  EXPECT_TRUE(RunFilter(p, *with(R"({"key":"missing","operator":"NotIn","values":["b"]})"), *node).IsSuccess());
  // An empty term matches nothing.
  EXPECT_FALSE(RunFilter(p, *PodBuilder("p").Affinity(Required("[{}]")).Info(), *node).IsSuccess());
}

TEST(NodeAffinity, MatchFieldsByNameNarrowTheNodesAtPreFilter) {
  auto p = Make();
  auto pod = PodBuilder("p").Affinity(Required(
      R"([{"matchFields":[{"key":"metadata.name","operator":"In","values":["n2"]}]}])")).Info();
  CycleState state;
  PreFilterResult r;
  ASSERT_TRUE(p.PreFilter(state, *pod, &r).IsSuccess());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::set<std::string, std::less<>>{"n2"}));
  EXPECT_TRUE(p.Filter(state, *pod, *MakeNodeInfo(NodeBuilder("n2").View())).IsSuccess());
  EXPECT_FALSE(p.Filter(state, *pod, *MakeNodeInfo(NodeBuilder("n1").View())).IsSuccess());
}

TEST(NodeAffinity, SkipsPodsWithoutNodeConstraints) {
  auto p = Make();
  CycleState state;
  PreFilterResult r;
  EXPECT_TRUE(p.PreFilter(state, *PodBuilder("p").Info(), &r).IsSkip());
  EXPECT_TRUE(p.PreScore(state, *PodBuilder("p").Info(), {}).IsSkip());
}

TEST(NodeAffinity, PreferredTermsScoreTheirWeightsNormalised) {
  auto p = Make();
  auto pod = PodBuilder("p").Affinity(R"({"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[
      {"weight":2,"preference":{"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}},
      {"weight":8,"preference":{"matchExpressions":[{"key":"disk","operator":"In","values":["ssd"]}]}}]}})").Info();
  std::vector<NodeInfoPtr> nodes = {
      MakeNodeInfo(NodeBuilder("none").View()),
      MakeNodeInfo(NodeBuilder("zone").Label("zone", "a").View()),
      MakeNodeInfo(NodeBuilder("disk").Label("disk", "ssd").View()),
      MakeNodeInfo(NodeBuilder("both").Label("zone", "a").Label("disk", "ssd").View()),
  };
  EXPECT_EQ(RunScore(p, *pod, nodes), (std::vector<int64_t>{0, 20, 80, 100}));
}

TEST(NodeAffinity, AddedAffinityIsEnforcedForEveryPod) {
  auto p = Make(R"({"addedAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
      {"matchExpressions":[{"key":"pool","operator":"In","values":["batch"]}]}]}}})");
  PluginStatus s = RunFilter(p, *PodBuilder("p").Info(), *MakeNodeInfo(NodeBuilder("n").View()));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "node(s) didn't match scheduler-enforced node affinity");
  EXPECT_TRUE(RunFilter(p, *PodBuilder("p").Info(), *MakeNodeInfo(NodeBuilder("n").Label("pool", "batch").View())).IsSuccess());
}

TEST(NodeAffinity, QueuesOnlyWhenANodeStartsToMatch) {
  auto p = Make();
  auto hints = p.EventsToRegister();
  auto pod = PodBuilder("p").NodeSelector("disk", "ssd").Info();
  EXPECT_EQ(hints[0].hint(*pod, EventObjects{{}, {}, {}, NodeBuilder("n").Label("disk", "ssd").View(), {}, {}}),
            QueueingHint::kQueue);
  EXPECT_EQ(hints[0].hint(*pod, EventObjects{{}, {}, {}, NodeBuilder("n").View(), {}, {}}), QueueingHint::kSkip);
  EXPECT_EQ(hints[0].hint(*pod, EventObjects{{}, {}, NodeBuilder("n").Label("disk", "ssd").View(),
                                             NodeBuilder("n").Label("disk", "ssd").Label("x", "y").View(), {}, {}}),
            QueueingHint::kSkip);
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
