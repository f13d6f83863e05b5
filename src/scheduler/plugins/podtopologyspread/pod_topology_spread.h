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

#include <deque>
#include <mutex>
#include <unordered_map>
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
  // Matching-pod counts per node for one (namespace, selector), kept across cycles and reused
  // while the node's NodeInfo is unchanged (its generation): a cycle recounts only the nodes
  // that changed since the last pod with the same selector. Used by PreFilter on the
  // scheduling thread only (its parallel workers write distinct entries).
  struct CountCache {
    struct Entry {
      int64_t generation = -1;
      int32_t domain = -1;  // index into domains; -1: the node lacks the topology key
      int32_t count = 0;
    };
    std::string key;
    uint64_t last_used = 0;
    std::vector<Entry> per_node;  // by snapshot position
    // The topology values seen, interned (stable addresses), and their indexes.
    std::mutex mu;  // guards domains and domain_index while workers intern values
    std::deque<std::string> domains;
    std::unordered_map<std::string_view, int32_t> domain_index;
  };
  static constexpr size_t kMaxCaches = 8;
  CountCache* CacheFor(std::string_view prefix, const api::LabelSelector& selector, size_t nodes);
  // The node's domain index (-1 without the key) and its pods matching `c`.
  // `generation` is the node's (from Snapshot::Generations()); the NodeInfo is only read
  // when the cached entry is stale.
  static std::pair<int32_t, int32_t> CachedCount(CountCache* cache, size_t index,
                                                 int64_t generation, const NodeInfo& ni,
                                                 const TopologySpreadConstraint& c,
                                                 std::string_view ns);

  struct Slot {
    int32_t domain = -1;
    int32_t count = 0;
  };

  Args args_;
  Handle* handle_;
  std::deque<CountCache> caches_;
  std::vector<Slot> slots_;
  uint64_t tick_ = 0;
};

}  // namespace keelson::scheduler::podtopologyspread
