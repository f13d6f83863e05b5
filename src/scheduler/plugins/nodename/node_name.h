// NodeName (Filter): a pod naming spec.nodeName fits only that node ("node(s) didn't match
// the requested node name").
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::nodename {

inline constexpr std::string_view kName = "NodeName";
inline constexpr std::string_view kErrReason = "node(s) didn't match the requested node name";

class NodeName final : public FilterPlugin, public EnqueueExtensions {
 public:
  std::string_view Name() const override { return kName; }
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;
};

}  // namespace keelson::scheduler::nodename
