// ImageLocality (Score): favours nodes that already have the pod's images, by image size
// scaled by how widely the image is spread (size * nodes having it / all nodes), between 23 MB
// and 1000 MB per container, as upstream.
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::imagelocality {

inline constexpr std::string_view kName = "ImageLocality";

class ImageLocality final : public ScorePlugin {
 public:
  explicit ImageLocality(Handle* handle) : handle_(handle) {}
  std::string_view Name() const override { return kName; }
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;

 private:
  Handle* handle_;
};

}  // namespace keelson::scheduler::imagelocality
