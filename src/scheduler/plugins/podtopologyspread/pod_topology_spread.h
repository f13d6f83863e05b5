// PodTopologySpread: spreads matching pods evenly across topology domains.
//
// Filter (whenUnsatisfiable: DoNotSchedule): on a node of domain d, matching pods in d + (1 if
// the pod matches itself) - the global minimum over eligible domains must not exceed maxSkew;
// the minimum is 0 while fewer than minDomains domains exist. Eligible nodes follow
// nodeAffinityPolicy (default Honor: the pod's node affinity/selector) and nodeTaintsPolicy
// (default Ignore). Reasons: "node(s) didn't match pod topology spread constraints" and
// "... (missing required label)".
//
// Score (ScheduleAnyway, and the cluster default constraints for pods without their own —
// upstream's system defaults: hostname maxSkew 3 and zone maxSkew 5 — selecting the pod by the
// Services, ReplicationControllers, ReplicaSets and StatefulSets that select it): fewer
// matching pods in the node's domains score higher, as upstream.
#pragma once

#include <vector>

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::podtopologyspread {

inline constexpr std::string_view kName = "PodTopologySpread";
inline constexpr std::string_view kErrReasonConstraintsNotMatch =
    "node(s) didn't match pod topology spread constraints";
inline constexpr std::string_view kErrReasonNodeLabelNotMatch =
    "node(s) didn't match pod topology spread constraints (missing required label)";

struct DefaultConstraint {
  int32_t max_skew = 1;
  std::string topology_key;
  bool do_not_schedule = false;
};

struct Args {
  bool system_defaulting = true;  // defaultingType System (else List)
  std::vector<DefaultConstraint> default_constraints;
};
Result<Args> ParseArgs(const boost::json::object& args);

class PodTopologySpread final : public PreFilterPlugin,
                                public FilterPlugin,
                                public PreScorePlugin,
                                public ScorePlugin,
                                public EnqueueExtensions {
 public:
  PodTopologySpread(Args args, Handle* handle);
  std::string_view Name() const override { return kName; }

  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, PreFilterResult* result) override;
  bool HasExtensions() const override { return true; }
  PluginStatus AddPod(CycleState& state, const PodInfo& pod, const PodInfoPtr& to_add,
                      const NodeInfo& node) override;
  PluginStatus RemovePod(CycleState& state, const PodInfo& pod, const PodInfoPtr& to_remove,
                         const NodeInfo& node) override;
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;

  PluginStatus PreScore(CycleState& state, const PodInfo& pod,
                        const std::vector<NodeInfoPtr>& nodes) override;
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  bool HasNormalize() const override { return true; }
  void NormalizeScore(const CycleState& state, const PodInfo& pod,
                      std::vector<NodeScore>& scores) const override;

  std::vector<ClusterEventWithHint> EventsToRegister() const override;

  // The constraints that apply to the pod: its own, or the defaults (with the default
  // selector); only those of the given kind.
  std::vector<TopologySpreadConstraint> ConstraintsFor(const PodInfo& pod,
                                                       bool do_not_schedule) const;

 private:
  Args args_;
  Handle* handle_;
};

}  // namespace keelson::scheduler::podtopologyspread
