// The cache: assumed pods counted before their binding is confirmed, forgotten on failure,
// confirmed by the informer; snapshots updated incrementally and shared copy-on-write.
#include "scheduler/cache/cache.h"

#include <gtest/gtest.h>

#include "scheduler/testing/fakes.h"

namespace keelson::scheduler {
namespace {

using testing::NodeBuilder;
using testing::PodBuilder;

TEST(Cache, AssumeConfirmAndForget) {
  Cache c;
  c.AddNode(NodeBuilder("n1").View());
  auto pod = WithNodeName(*PodBuilder("p").Req("1").Info(), "n1");
  ASSERT_TRUE(c.AssumePod(pod).ok());
  EXPECT_TRUE(c.IsAssumedPod(pod->uid));
  EXPECT_EQ(c.AssumePod(pod).code(), StatusCode::kAlreadyExists);
  Snapshot s;
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.Get("n1")->requested.milli_cpu, 1000);
  ASSERT_TRUE(c.ForgetPod(pod->uid).ok());
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.Get("n1")->requested.milli_cpu, 0);
  EXPECT_EQ(c.ForgetPod(pod->uid).code(), StatusCode::kNotFound);
  // The informer's bound pod confirms an assumed one (on the node it names).
  ASSERT_TRUE(c.AssumePod(pod).ok());
  c.FinishBinding(pod->uid);
  c.AddPod(pod);
  EXPECT_FALSE(c.IsAssumedPod(pod->uid));
  EXPECT_EQ(c.PodCount(), 1u);
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.Get("n1")->pods.size(), 1u);
}

TEST(Cache, SnapshotsAreNotChangedByLaterUpdates) {
  Cache c;
  c.AddNode(NodeBuilder("n1").View());
  c.AddNode(NodeBuilder("n2").View());
  Snapshot s;
  c.UpdateSnapshot(&s);
  NodeInfoPtr before = s.GetPtr("n1");
  NodeInfoPtr other = s.GetPtr("n2");
  c.AddPod(WithNodeName(*PodBuilder("p").Req("1").Info(), "n1"));
  EXPECT_EQ(before->pods.size(), 0u);  // copied on write
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.Get("n1")->pods.size(), 1u);
  EXPECT_NE(s.GetPtr("n1"), before);
  EXPECT_EQ(s.GetPtr("n2"), other);  // untouched nodes are shared, not copied
  EXPECT_GT(s.Get("n1")->generation, other->generation);
}

TEST(Cache, PodsBeforeTheirNodeAndNodesRemovedWithPods) {
  Cache c;
  auto pod = WithNodeName(*PodBuilder("p").Info(), "late");
  c.AddPod(pod);
  Snapshot s;
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.NumNodes(), 0u);  // no Node object yet
  c.AddNode(NodeBuilder("late").View());
  c.UpdateSnapshot(&s);
  ASSERT_EQ(s.NumNodes(), 1u);
  EXPECT_EQ(s.Get("late")->pods.size(), 1u);
  c.RemoveNode("late");
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.NumNodes(), 0u);
  c.RemovePod(*pod);
  EXPECT_EQ(c.PodCount(), 0u);
}

TEST(Cache, NodeTreeInterleavesZones) {
  Cache c;
  for (int i = 0; i < 3; ++i) c.AddNode(NodeBuilder("a" + std::to_string(i)).Label("topology.kubernetes.io/zone", "a").View());
  c.AddNode(NodeBuilder("b0").Label("topology.kubernetes.io/zone", "b").View());
  Snapshot s;
  c.UpdateSnapshot(&s);
  std::vector<std::string> order;
  for (const auto& n : s.NodeInfos()) order.push_back(n->Name());
  EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "a1", "a2"}));
}

TEST(Cache, AffinityListsAndImagesFollowChanges) {
  Cache c;
  c.AddNode(NodeBuilder("n1").Image("app:v1", 100).View());
  c.AddNode(NodeBuilder("n2").Image("app:v1", 100).View());
  Snapshot s;
  c.UpdateSnapshot(&s);
  EXPECT_EQ(s.ImageNumNodes("app:v1"), 2);
  EXPECT_TRUE(s.HavePodsWithAffinity().empty());
  auto pod = WithNodeName(*PodBuilder("p").Affinity(R"({"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[
      {"labelSelector":{"matchLabels":{"a":"b"}},"topologyKey":"kubernetes.io/hostname"}]}})").Info(), "n2");
  c.AddPod(pod);
  c.UpdateSnapshot(&s);
  ASSERT_EQ(s.HavePodsWithRequiredAntiAffinity().size(), 1u);
  EXPECT_EQ(s.HavePodsWithRequiredAntiAffinity()[0]->Name(), "n2");
  c.RemovePod(*pod);
  c.RemoveNode("n1");
  c.UpdateSnapshot(&s);
  EXPECT_TRUE(s.HavePodsWithRequiredAntiAffinity().empty());
  EXPECT_EQ(s.ImageNumNodes("app:v1"), 1);
}

}  // namespace
}  // namespace keelson::scheduler
