// NodeResourcesFit: Filter checks that the node has room for the pod's requests (containers,
// init and sidecar containers, overhead) and for one more pod ("Insufficient cpu", "Too many
// pods", ...; UnschedulableAndUnresolvable when the request exceeds the node's allocatable
// outright); Score ranks nodes by the scoring strategy: LeastAllocated (default),
// MostAllocated or RequestedToCapacityRatio, over the configured resources and weights.
#pragma once

#include <set>
#include <string>
#include <span>
#include <vector>

#include "scheduler/framework/interface.h"
#include "scheduler/plugins/noderesources/resource_allocation.h"

namespace keelson::scheduler::noderesources {

inline constexpr std::string_view kFitName = "NodeResourcesFit";

enum class Strategy { kLeastAllocated, kMostAllocated, kRequestedToCapacityRatio };

struct ShapePoint {
  int64_t utilization = 0;  // 0..100
  int64_t score = 0;        // 0..10 in the args, scaled to 0..100
};

struct FitArgs {
  std::set<std::string, std::less<>> ignored_resources;
  std::set<std::string, std::less<>> ignored_resource_groups;
  Strategy strategy = Strategy::kLeastAllocated;
  std::vector<ResourceSpec> resources{{"cpu", 1}, {"memory", 1}};
  std::vector<ShapePoint> shape;  // RequestedToCapacityRatio
};
Result<FitArgs> ParseFitArgs(const boost::json::object& args);

struct InsufficientResource {
  std::string resource;
  std::string reason;
  bool unresolvable = false;
};
// Upstream's fitsRequest: what the node lacks for the pod (empty when it fits).
std::vector<InsufficientResource> Fits(const PodInfo& pod, const NodeInfo& node,
                                       const FitArgs& args);

class Fit final : public FilterPlugin, public ScorePlugin, public EnqueueExtensions {
 public:
  explicit Fit(FitArgs args);
  std::string_view Name() const override { return kFitName; }
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;

 private:
  FitArgs args_;
};

// The scores of the strategies, from per-resource (requested, allocatable) and weights.
int64_t LeastAllocatedScore(std::span<const int64_t> requested,
                            std::span<const int64_t> allocatable,
                            const std::vector<ResourceSpec>& resources);
int64_t MostAllocatedScore(std::span<const int64_t> requested,
                           std::span<const int64_t> allocatable,
                           const std::vector<ResourceSpec>& resources);
int64_t RequestedToCapacityRatioScore(std::span<const int64_t> requested,
                                      std::span<const int64_t> allocatable,
                                      const std::vector<ResourceSpec>& resources,
                                      const std::vector<ShapePoint>& shape);

}  // namespace keelson::scheduler::noderesources
