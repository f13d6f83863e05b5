// NodePorts: a pod asking for host ports fits a node only if none of them is taken there
// ("node(s) didn't have free ports for the requested pod ports"). Same protocol and port
// conflict when the IPs are equal or either is 0.0.0.0.
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::nodeports {

inline constexpr std::string_view kName = "NodePorts";
inline constexpr std::string_view kErrReason =
    "node(s) didn't have free ports for the requested pod ports";

class NodePorts final : public PreFilterPlugin, public FilterPlugin, public EnqueueExtensions {
 public:
  std::string_view Name() const override { return kName; }
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, PreFilterResult* result) override;
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;
};

bool FitsPorts(const std::vector<HostPort>& wanted, const std::vector<HostPort>& used);

}  // namespace keelson::scheduler::nodeports
