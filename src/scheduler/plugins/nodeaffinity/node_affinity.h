// NodeAffinity: Filter requires spec.nodeSelector and the required node affinity (and the
// profile's addedAffinity) to match the node ("node(s) didn't match Pod's node
// affinity/selector"); PreFilter narrows the nodes when every required term names nodes by
// metadata.name; Score sums the weights of the matching preferred terms, normalised.
#pragma once

#include <optional>

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::nodeaffinity {

inline constexpr std::string_view kName = "NodeAffinity";
inline constexpr std::string_view kErrReasonPod = "node(s) didn't match Pod's node affinity/selector";
inline constexpr std::string_view kErrReasonEnforced =
    "node(s) didn't match scheduler-enforced node affinity";
inline constexpr std::string_view kErrReasonConflict = "pod affinity terms conflict";

struct Args {
  std::optional<NodeSelector> added_required;
  std::vector<PreferredSchedulingTerm> added_preferred;
};
Result<Args> ParseArgs(const boost::json::object& args);

class NodeAffinity final : public PreFilterPlugin,
                           public FilterPlugin,
                           public PreScorePlugin,
                           public ScorePlugin,
                           public EnqueueExtensions {
 public:
  explicit NodeAffinity(Args args) : args_(std::move(args)) {}
  std::string_view Name() const override { return kName; }
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, PreFilterResult* result) override;
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  PluginStatus PreScore(CycleState& state, const PodInfo& pod,
                        const std::vector<NodeInfoPtr>& nodes) override;
  int64_t Score(const CycleState& state, const PodInfo& pod, const NodeInfo& node) const override;
  bool HasNormalize() const override { return true; }
  void NormalizeScore(const CycleState& state, const PodInfo& pod,
                      std::vector<NodeScore>& scores) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;

 private:
  Args args_;
};

// Whether the node meets the pod's nodeSelector and required node affinity (upstream's
// GetRequiredNodeAffinity(pod).Match(node)).
bool MatchesRequired(const PodInfo& pod, const NodeView& node);

}  // namespace keelson::scheduler::nodeaffinity
