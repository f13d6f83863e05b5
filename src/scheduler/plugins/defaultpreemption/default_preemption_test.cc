#include "scheduler/plugins/defaultpreemption/default_preemption.h"

#include "scheduler/framework/framework.h"
#include "scheduler/plugins/registry.h"
#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

using defaultpreemption::Candidate;
using defaultpreemption::DefaultPreemption;

PodInfoPtr Victim(std::string name, int priority, int64_t start = 100) {
  auto p = std::make_shared<PodInfo>(*PodBuilder(name).Priority(priority).Info());
  p->start_time = start;
  return p;
}

TEST(DefaultPreemption, PicksTheNodeAsUpstream) {
  // Fewest PDB violations first.
  std::vector<Candidate> c = {{"a", {Victim("x", 1)}, 1, 0}, {"b", {Victim("y", 5)}, 0, 1}};
  EXPECT_EQ(DefaultPreemption::PickOneNodeForPreemption(c)->node, "b");
  // Then the lowest highest-victim priority.
  c = {{"a", {Victim("x", 5)}, 0, 0}, {"b", {Victim("y", 3), Victim("z", 1)}, 0, 1}};
  EXPECT_EQ(DefaultPreemption::PickOneNodeForPreemption(c)->node, "b");
  // Then the lowest sum of priorities.
  c = {{"a", {Victim("x", 3), Victim("w", 2)}, 0, 0}, {"b", {Victim("y", 3), Victim("z", 1)}, 0, 1}};
  EXPECT_EQ(DefaultPreemption::PickOneNodeForPreemption(c)->node, "b");
  // Then the fewest victims (equal sums).
  c = {{"a", {Victim("x", 3), Victim("w", 0)}, 0, 0}, {"b", {Victim("y", 3), Victim("z", 0)}, 0, 1},
       {"c", {Victim("v", 3)}, 0, 2}};
  EXPECT_EQ(DefaultPreemption::PickOneNodeForPreemption(c)->node, "c");
  // Then the latest start of the highest-priority victims; then the first found.
  c = {{"a", {Victim("x", 3, 100)}, 0, 0}, {"b", {Victim("y", 3, 200)}, 0, 1}};
  EXPECT_EQ(DefaultPreemption::PickOneNodeForPreemption(c)->node, "b");
  c = {{"a", {Victim("x", 3, 100)}, 0, 1}, {"b", {Victim("y", 3, 100)}, 0, 0}};
  EXPECT_EQ(DefaultPreemption::PickOneNodeForPreemption(c)->node, "b");
}

TEST(DefaultPreemption, NumberOfCandidates) {
  TestHandle h;
  DefaultPreemption p({}, &h);
  EXPECT_EQ(p.NumCandidates(50), 50);
  EXPECT_EQ(p.NumCandidates(500), 100);
  EXPECT_EQ(p.NumCandidates(5000), 500);
  auto bad = defaultpreemption::ParseArgs(boost::json::parse(R"({"minCandidateNodesPercentage":101})").as_object());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "minCandidateNodesPercentage: Invalid value: 101: not in valid range [0, 100]");
}

class SelectVictimsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fw = Framework::Create(DefaultConfiguration().profiles[0], InTreeRegistry(), &h_);
    ASSERT_TRUE(fw.ok()) << fw.status().ToString();
    fw_ = std::move(*fw);
    h_.SetFramework(fw_.get());
    low1_ = WithNodeName(*PodBuilder("low1").Req("1").Priority(1).Label("app", "a").Info(), "n");
    low2_ = WithNodeName(*PodBuilder("low2").Req("2").Priority(2).Label("app", "b").Info(), "n");
    node_ = MakeNodeInfo(NodeBuilder("n").Capacity("4", "8Gi").View(), {low1_, low2_});
    h_.SetNodes({node_});
  }
  std::vector<PodInfoPtr> Select(const PodInfo& pod, int* violations) {
    CycleState state;
    PreFilterResult r;
    EXPECT_TRUE(fw_->RunPreFilterPlugins(state, pod, &r).IsSuccess());
    NodeInfo copy = *node_;
    std::vector<PodInfoPtr> victims;
    auto* p = const_cast<DefaultPreemption*>(
        dynamic_cast<const DefaultPreemption*>(fw_->PluginByName("DefaultPreemption")));
    last_ = p->SelectVictimsOnNode(state, pod, copy, h_.listers().Pdbs(), &victims, violations);
    return victims;
  }
  TestHandle h_;
  std::unique_ptr<Framework> fw_;
  PodInfoPtr low1_, low2_;
  NodeInfoPtr node_;
  PluginStatus last_;
};

TEST_F(SelectVictimsTest, ReprievesTheMostImportantPodsThatCanStay) {
  int violations = -1;
  auto victims = Select(*PodBuilder("p").Req("3").Priority(10).Info(), &violations);
  ASSERT_TRUE(last_.IsSuccess()) << last_.Message();
  ASSERT_EQ(victims.size(), 1u);
  EXPECT_EQ(victims[0]->name, "low2");  // with low2 back there would be 1 cpu left
  EXPECT_EQ(violations, 0);
}

TEST_F(SelectVictimsTest, CountsDisruptionBudgetViolations) {
  auto pdb = ParseObject(R"({"metadata":{"name":"b","namespace":"default"},
      "spec":{"selector":{"matchLabels":{"app":"b"}}},"status":{"disruptionsAllowed":0}})");
  h_.mutable_listers().SetPdb("default", "b", pdb.get());
  int violations = -1;
  auto victims = Select(*PodBuilder("p").Req("3").Priority(10).Info(), &violations);
  ASSERT_EQ(victims.size(), 1u);
  EXPECT_EQ(victims[0]->name, "low2");
  EXPECT_EQ(violations, 1);
}

TEST_F(SelectVictimsTest, NoLowerPriorityPodsMeansNoVictims) {
  int violations = 0;
  auto victims = Select(*PodBuilder("p").Req("3").Priority(1).Info(), &violations);
  EXPECT_TRUE(victims.empty());
  EXPECT_EQ(last_.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(last_.Message(), "No preemption victims found for incoming pod");
}

TEST_F(SelectVictimsTest, ANodeThatCannotFitEvenEmptyReportsTheFilter) {
  int violations = 0;
  Select(*PodBuilder("p").Req("5").Priority(10).Info(), &violations);
  EXPECT_EQ(last_.Message(), "Insufficient cpu");
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
