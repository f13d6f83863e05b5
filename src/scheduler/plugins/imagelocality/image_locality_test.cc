#include "scheduler/plugins/imagelocality/image_locality.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

constexpr int64_t kMb = 1024 * 1024;

TEST(ImageLocality, FavoursNodesHavingTheImagesScaledBySpread) {
  TestHandle h;
  auto a = MakeNodeInfo(NodeBuilder("a").Image("registry/app:v1", 500 * kMb).View());
  auto b = MakeNodeInfo(NodeBuilder("b").Image("registry/app:v1", 500 * kMb).Image("big:latest", 2000 * kMb).View());
  auto c = MakeNodeInfo(NodeBuilder("c").View());
  h.SetNodes({a, b, c});
  imagelocality::ImageLocality p(&h);
  auto pod = PodBuilder("p").Image("registry/app:v1").Info();
  // 500 MB on 2 of 3 nodes: 333 MB; (333 - 23) * 100 / (1000 - 23) = 31.
  auto scores = RunScore(p, *pod, {a, b, c});
  EXPECT_EQ(scores[0], 31);
  EXPECT_EQ(scores[1], 31);
  EXPECT_EQ(scores[2], 0);
  // An image name without a tag is ":latest"; a big image is capped at 1000 MB per container.
  auto big = PodBuilder("q").Image("big").Info();
  EXPECT_EQ(RunScore(p, *big, {b})[0], (2000 * kMb / 3 - 23 * kMb) * 100 / (977 * kMb));
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
