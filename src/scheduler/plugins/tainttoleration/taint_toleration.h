// TaintToleration: Filter rejects a node with a NoSchedule or NoExecute taint the pod does not
// tolerate ("node(s) had untolerated taint {key: value}"); Score counts the PreferNoSchedule
// taints the pod does not tolerate, normalised in reverse (fewer is better).
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::tainttoleration {

inline constexpr std::string_view kName = "TaintToleration";

class TaintToleration final : public FilterPlugin,
                              public PreScorePlugin,
                              public ScorePlugin,
                              public EnqueueExtensions {
 public:
  std::string_view Name() const override { return kName; }
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  PluginStatus PreScore(CycleState& state, const PodInfo& pod,
                        const std::vector<NodeInfoPtr>& nodes) override;
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  bool HasNormalize() const override { return true; }
  void NormalizeScore(const CycleState& state, const PodInfo& pod,
                      std::vector<NodeScore>& scores) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;
};

// The first NoSchedule/NoExecute taint of `taints` that `tolerations` do not tolerate.
const Taint* FindUntoleratedTaint(const std::vector<Taint>& taints,
                                  const std::vector<Toleration>& tolerations);

}  // namespace keelson::scheduler::tainttoleration
