// InterPodAffinity: required pod affinity and anti-affinity over a topologyKey, both ways
// (the incoming pod's terms against existing pods, and existing pods' anti-affinity against
// the incoming pod), and preferred terms for scoring (plus existing pods' required affinity at
// hardPodAffinityWeight).
//
// Filter reasons: "node(s) didn't match pod affinity rules" (UnschedulableAndUnresolvable),
// "node(s) didn't match pod anti-affinity rules" and "node(s) didn't satisfy existing pods
// anti-affinity rules" (Unschedulable). A pod whose affinity matches no existing pod may still
// go where it matches its own terms (the first pod of a group), as upstream.
#pragma once

#include <map>
#include <string>

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::interpodaffinity {

inline constexpr std::string_view kName = "InterPodAffinity";
inline constexpr std::string_view kErrReasonExistingAntiAffinityRulesNotMatch =
    "node(s) didn't satisfy existing pods anti-affinity rules";
inline constexpr std::string_view kErrReasonAffinityRulesNotMatch =
    "node(s) didn't match pod affinity rules";
inline constexpr std::string_view kErrReasonAntiAffinityRulesNotMatch =
    "node(s) didn't match pod anti-affinity rules";

struct Args {
  int32_t hard_pod_affinity_weight = 1;
  bool ignore_preferred_terms_of_existing_pods = false;
};
Result<Args> ParseArgs(const boost::json::object& args);

// topologyKey -> topology value -> count.
using TopologyCounts = std::map<std::string, std::map<std::string, int64_t, std::less<>>, std::less<>>;

class InterPodAffinity final : public PreFilterPlugin,
                               public FilterPlugin,
                               public PreScorePlugin,
                               public ScorePlugin,
                               public EnqueueExtensions {
 public:
  InterPodAffinity(Args args, Handle* handle) : args_(args), handle_(handle) {}
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

 private:
  // The pod's terms with their namespace selectors resolved to namespaces.
  std::vector<AffinityTerm> Resolve(const std::vector<AffinityTerm>& terms) const;

  Args args_;
  Handle* handle_;
};

}  // namespace keelson::scheduler::interpodaffinity
