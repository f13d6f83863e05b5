#include "scheduler/plugins/imagelocality/image_locality.h"

namespace keelson::scheduler::imagelocality {

namespace {
constexpr int64_t kMb = 1024 * 1024;
constexpr int64_t kMinThreshold = 23 * kMb;
constexpr int64_t kMaxContainerThreshold = 1000 * kMb;
}  // namespace

int64_t ImageLocality::Score(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  if (pod.images.empty() || node.node->images.empty()) return 0;
  const Snapshot& snap = handle_->snapshot();
  int64_t total_nodes = static_cast<int64_t>(snap.NumNodes());
  if (total_nodes == 0) return 0;
  int64_t sum = 0;
  for (const auto& image : pod.images) {
    const ImageInfo* info = node.node->Image(image);
    if (!info) continue;
    double spread = static_cast<double>(snap.ImageNumNodes(image)) / static_cast<double>(total_nodes);
    sum += static_cast<int64_t>(static_cast<double>(info->size) * spread);
  }
  int64_t max_threshold = kMaxContainerThreshold * static_cast<int64_t>(pod.images.size());
  if (sum < kMinThreshold) sum = kMinThreshold;
  if (sum > max_threshold) sum = max_threshold;
  return kMaxNodeScore * (sum - kMinThreshold) / (max_threshold - kMinThreshold);
}

}  // namespace keelson::scheduler::imagelocality
