// The scheduling framework's plugin interfaces, one per extension point (upstream's
// framework/interface.go): PreEnqueue, QueueSort, PreFilter (+ AddPod/RemovePod extensions),
// Filter, PostFilter, PreScore, Score (+ NormalizeScore), Reserve/Unreserve, Permit, PreBind,
// Bind, PostBind, and EnqueueExtensions (the events that can make a rejected pod schedulable).
//
// A plugin is one class deriving from Plugin and from the interfaces of the points it
// implements, nothing else; the framework finds them with dynamic_cast when it builds a
// profile. Plugins are created by a factory from the registry (plugins/registry.h) with their
// args and a Handle on the scheduler.
//
// Threading: PreEnqueue and queueing hints run on the event thread under the queue's lock;
// PreFilter, PreScore, NormalizeScore, Reserve, Permit and PostFilter on the scheduling
// thread; Filter and Score concurrently for different nodes (they must only read the cycle
// state and the node); Unreserve, PreBind, Bind and PostBind on a binding thread. A plugin
// keeps no per-pod state of its own outside CycleState.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "common/clock.h"
#include "scheduler/framework/cycle_state.h"
#include "scheduler/framework/events.h"
#include "scheduler/framework/listers.h"
#include "scheduler/framework/snapshot.h"
#include "scheduler/framework/status.h"
#include "scheduler/framework/types.h"

namespace keelson::scheduler {

class SchedulerClient;
class Framework;
class Parallelizer;

inline constexpr int64_t kMaxNodeScore = 100;
inline constexpr int64_t kMinNodeScore = 0;

// A pod in the scheduling queue (upstream's QueuedPodInfo).
struct QueuedPodInfo {
  PodInfoPtr pod;
  Clock::MonoTime timestamp{};          // when it last entered the queue (QueueSort ties)
  Clock::MonoTime initial_attempt{};    // first time it was popped
  Clock::MonoTime last_failure{};       // when its last attempt failed (backoff start)
  int attempts = 0;
  std::set<std::string, std::less<>> unschedulable_plugins;  // that rejected it last time
  std::set<std::string, std::less<>> pending_plugins;
  bool gated = false;  // a PreEnqueue plugin keeps it out of the active queue
  std::string gating_plugin;
};

// Which nodes a PreFilter plugin allows; nullopt is all nodes.
using PreFilterResult = std::optional<std::set<std::string, std::less<>>>;

// The status of each node that failed Filter, and the status of the nodes not listed. Keys
// are views of the snapshot's node names, which outlive the cycle that fills the map. A flat
// list: a failed cycle sets one entry per node without allocating per entry; Get is a linear
// search, meant for single lookups (iterate Entries() otherwise).
class NodeToStatus {
 public:
  // Each node is set at most once.
  void Set(std::string_view node, PluginStatus status) {
    entries_.emplace_back(node, std::move(status));
  }
  const PluginStatus* Get(std::string_view node) const;
  // The status of a node not in the map (nodes PreFilter excluded or never evaluated).
  const PluginStatus& AbsentNodesStatus() const { return absent_; }
  void SetAbsentNodesStatus(PluginStatus s) { absent_ = std::move(s); }
  size_t Len() const { return entries_.size(); }
  const std::vector<std::pair<std::string_view, PluginStatus>>& Entries() const {
    return entries_;
  }
  void Reserve(size_t n) { entries_.reserve(n); }

 private:
  std::vector<std::pair<std::string_view, PluginStatus>> entries_;
  PluginStatus absent_{Code::kUnschedulableAndUnresolvable};
};

struct PostFilterResult {
  std::optional<std::string> nominated_node_name;  // "" clears a nomination
};

struct NodeScore {
  std::string_view name;
  int64_t score = 0;
};

// What plugins may use of the scheduler. Every accessor is thread-safe.
class Handle {
 public:
  virtual ~Handle() = default;
  // The snapshot of the cycle under way (valid on the scheduling and filter/score threads).
  virtual const Snapshot& snapshot() const = 0;
  virtual const Listers& listers() const = 0;
  virtual Parallelizer& parallelizer() = 0;
  virtual const Clock& clock() const = 0;
  // Where plugins send what they change in the cluster (binding, preemption); may be null in
  // unit tests of plugins that do not use it.
  virtual SchedulerClient* client() = 0;
  // The pods nominated to run on `node` (preemptors waiting for their victims to go).
  virtual std::vector<PodInfoPtr> NominatedPodsForNode(std::string_view node) const = 0;
  // Records a pod's removal from nomination (a victim's nominated pods are re-queued).
  virtual void ClearNomination(const PodInfo& pod) = 0;
  // The profile's framework (preemption runs its filters).
  virtual Framework* framework() = 0;
  // Pods waiting in Permit (preemption rejects victims there).
  virtual bool RejectWaitingPod(std::string_view uid, std::string_view plugin,
                                std::string_view message) = 0;
  virtual std::string_view scheduler_name() const = 0;
  // Runs an API call (through client()) later on one of the scheduler's API threads, so the
  // scheduling cycle never waits on the API.
  virtual void PostApiCall(std::function<void()> call) = 0;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual std::string_view Name() const = 0;
};

class PreEnqueuePlugin : public virtual Plugin {
 public:
  // Whether the pod may enter the active queue at all (SchedulingGates).
  virtual PluginStatus PreEnqueue(const PodInfo& pod) = 0;
};

class QueueSortPlugin : public virtual Plugin {
 public:
  virtual bool Less(const QueuedPodInfo& a, const QueuedPodInfo& b) const = 0;
};

class EnqueueExtensions : public virtual Plugin {
 public:
  virtual std::vector<ClusterEventWithHint> EventsToRegister() const = 0;
};

class PreFilterPlugin : public virtual Plugin {
 public:
  // Computes the cycle's state; may narrow the nodes (`result`). Skip: Filter is not run.
  virtual PluginStatus PreFilter(CycleState& state, const PodInfo& pod,
                                 PreFilterResult* result) = 0;
  // Incremental updates of the state when preemption or nominated pods add/remove a pod on
  // `node` (upstream's PreFilterExtensions). Plugins whose state does not depend on other
  // pods keep the defaults.
  virtual bool HasExtensions() const { return false; }
  virtual PluginStatus AddPod(CycleState& /*state*/, const PodInfo& /*pod*/,
                              const PodInfoPtr& /*to_add*/, const NodeInfo& /*node*/) {
    return {};
  }
  virtual PluginStatus RemovePod(CycleState& /*state*/, const PodInfo& /*pod*/,
                                 const PodInfoPtr& /*to_remove*/, const NodeInfo& /*node*/) {
    return {};
  }
};

class FilterPlugin : public virtual Plugin {
 public:
  virtual PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                              const NodeInfo& node) const = 0;
};

class PostFilterPlugin : public virtual Plugin {
 public:
  virtual PluginStatus PostFilter(CycleState& state, const PodInfo& pod,
                                  const NodeToStatus& statuses, PostFilterResult* result) = 0;
};

class PreScorePlugin : public virtual Plugin {
 public:
  // `nodes` are the feasible nodes. Skip: Score is not run.
  virtual PluginStatus PreScore(CycleState& state, const PodInfo& pod,
                                const std::vector<NodeInfoPtr>& nodes) = 0;
};

class ScorePlugin : public virtual Plugin {
 public:
  virtual int64_t Score(const CycleState& state, const PodInfo& pod,
                        const NodeInfo& node) const = 0;
  // Whether NormalizeScore does anything.
  virtual bool HasNormalize() const { return false; }
  virtual void NormalizeScore(const CycleState& /*state*/, const PodInfo& /*pod*/,
                              std::vector<NodeScore>& /*scores*/) const {}
};

class ReservePlugin : public virtual Plugin {
 public:
  virtual PluginStatus Reserve(CycleState& state, const PodInfo& pod, std::string_view node) = 0;
  virtual void Unreserve(CycleState& state, const PodInfo& pod, std::string_view node) = 0;
};

class PermitPlugin : public virtual Plugin {
 public:
  // Success, Wait (with *timeout set) or a rejection.
  virtual PluginStatus Permit(CycleState& state, const PodInfo& pod, std::string_view node,
                              std::chrono::milliseconds* timeout) = 0;
};

class PreBindPlugin : public virtual Plugin {
 public:
  virtual PluginStatus PreBind(CycleState& state, const PodInfo& pod, std::string_view node) = 0;
};

class BindPlugin : public virtual Plugin {
 public:
  // Skip passes the pod on to the next bind plugin.
  virtual PluginStatus Bind(CycleState& state, const PodInfo& pod, std::string_view node) = 0;
};

class PostBindPlugin : public virtual Plugin {
 public:
  virtual void PostBind(CycleState& state, const PodInfo& pod, std::string_view node) = 0;
};

// Upstream's DefaultNormalizeScore: scales scores to [0, max_priority] by the highest score,
// reversed (max - score) when `reverse`.
void DefaultNormalizeScore(int64_t max_priority, bool reverse, std::vector<NodeScore>& scores);

}  // namespace keelson::scheduler
