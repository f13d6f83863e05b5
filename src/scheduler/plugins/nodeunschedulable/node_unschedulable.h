// NodeUnschedulable (Filter): a node with spec.unschedulable admits only pods that tolerate
// the node.kubernetes.io/unschedulable:NoSchedule taint ("node(s) were unschedulable").
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::nodeunschedulable {

inline constexpr std::string_view kName = "NodeUnschedulable";
inline constexpr std::string_view kErrReasonUnschedulable = "node(s) were unschedulable";

class NodeUnschedulable final : public FilterPlugin, public EnqueueExtensions {
 public:
  std::string_view Name() const override { return kName; }
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;
};

}  // namespace keelson::scheduler::nodeunschedulable
