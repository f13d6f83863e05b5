// NodeResourcesBalancedAllocation (Score): favours nodes whose resources would be used in
// balance with the pod added: (1 - standard deviation of the used fractions) * 100, over the
// configured resources (cpu and memory by default). Skipped for pods requesting nothing.
#pragma once

#include <span>
#include <vector>

#include "scheduler/framework/interface.h"
#include "scheduler/plugins/noderesources/resource_allocation.h"

namespace keelson::scheduler::noderesources {

inline constexpr std::string_view kBalancedAllocationName = "NodeResourcesBalancedAllocation";

Result<std::vector<ResourceSpec>> ParseBalancedAllocationArgs(const boost::json::object& args);

class BalancedAllocation final : public PreScorePlugin, public ScorePlugin {
 public:
  explicit BalancedAllocation(std::vector<ResourceSpec> resources)
      : resources_(std::move(resources)) {}
  std::string_view Name() const override { return kBalancedAllocationName; }
  PluginStatus PreScore(CycleState& state, const PodInfo& pod,
                        const std::vector<NodeInfoPtr>& nodes) override;
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;

 private:
  std::vector<ResourceSpec> resources_;
};

int64_t BalancedResourceScore(std::span<const int64_t> requested,
                              std::span<const int64_t> allocatable);

}  // namespace keelson::scheduler::noderesources
