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

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <string>

#include "scheduler/framework/interface.h"
#include "scheduler/plugins/interpodaffinity/flat_counter.h"

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

// topologyKey -> topology value -> count. The values are views of the snapshot's node labels:
// valid during the scheduling cycle that computed them.
using TopologyCounts = std::map<std::string, FlatCounter, std::less<>>;

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

  // What one node adds to a count: its label (key and value, owned by the node's NodeView)
  // and the amount.
  struct Contribution {
    const std::string* key;
    const std::string* value;
    int64_t delta;
  };
  struct NodeEntry {
    int64_t generation = -1;
    std::vector<Contribution> contributions;
  };
  enum Category { kExistingAnti, kAffinity, kAntiAffinity, kScore, kCategories };
  // Per-node contributions for pods with the same signature (namespace, labels, terms),
  // reused while the node's NodeInfo is unchanged (its generation): a cycle recomputes only
  // the nodes that changed. Used from PreFilter/PreScore on the scheduling thread; their
  // parallel workers write distinct entries.
  struct ContributionCache {
    std::string signature;
    uint64_t last_used = 0;
    std::vector<NodeEntry> nodes[kCategories];  // by snapshot position
  };
  static constexpr size_t kMaxCaches = 8;
  ContributionCache* CacheFor(const std::string& signature, size_t nodes);
  using ComputeFn = std::function<void(const NodeInfo&, std::vector<Contribution>*)>;
  struct Job {
    Category category;
    ComputeFn compute;
    TopologyCounts* counts;
  };
  // Fills each job's counts from every node in one pass, recomputing a node's contributions
  // with the job's `compute` when its entry is stale.
  void Aggregate(ContributionCache* cache, const std::vector<Job>& jobs);
  // The canonical copy of a topology key (so contributions compare keys by address).
  const std::string* InternKey(const std::string& key);

  Args args_;
  Handle* handle_;
  std::deque<ContributionCache> caches_;
  uint64_t tick_ = 0;
  std::mutex keys_mu_;
  std::deque<std::string> keys_;  // guarded by keys_mu_; never shrinks
};

}  // namespace keelson::scheduler::interpodaffinity
