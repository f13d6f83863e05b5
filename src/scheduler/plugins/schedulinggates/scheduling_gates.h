// SchedulingGates (PreEnqueue): a pod with spec.schedulingGates stays out of the active queue
// ("waiting for scheduling gates: [a b]") until an update removes the last gate.
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::schedulinggates {

inline constexpr std::string_view kName = "SchedulingGates";

class SchedulingGates final : public PreEnqueuePlugin, public EnqueueExtensions {
 public:
  std::string_view Name() const override { return kName; }
  PluginStatus PreEnqueue(const PodInfo& pod) override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;
};

}  // namespace keelson::scheduler::schedulinggates
