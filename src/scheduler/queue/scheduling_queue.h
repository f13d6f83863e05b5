// SchedulingQueue: the pods waiting for a node (upstream's PriorityQueue).
//
//  - activeQ: a heap ordered by the QueueSort plugin (PrioritySort: priority, then the time
//    the pod entered the queue); Pop takes its head.
//  - backoffQ: pods that failed and wait out their backoff: initial * 2^(attempts-1), capped
//    at max (1 s and 10 s by default), from their last failure. Flush moves the ones whose
//    backoff has expired to activeQ (upstream every second).
//  - unschedulable pods: parked after a failure until a cluster event that one of the plugins
//    that rejected them registered says (through its queueing hint) they may fit now; then
//    they go to backoffQ or, if their backoff is over, activeQ. Flush also moves pods parked
//    longer than podMaxInUnschedulablePodsDuration (5 minutes) back.
//  - gated pods: a PreEnqueue plugin (SchedulingGates) keeps them parked until an update of
//    the pod lets them in.
//  - in-flight pods (popped, being scheduled): events that arrive meanwhile are remembered, so
//    a pod that then fails is not parked if one of them may have made it schedulable.
//
// It also keeps the nominator: the pods nominated to a node by preemption.
//
// Thread-safety: every method may be called from any thread (one mutex inside). Pop blocks;
// Close wakes it. Hints and PreEnqueue run under the queue's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "scheduler/framework/events.h"
#include "scheduler/framework/interface.h"

namespace keelson::scheduler {

class Framework;

struct QueueOptions {
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds max_in_unschedulable{5 * 60 * 1000};
};

class SchedulingQueue {
 public:
  // `frameworks` maps scheduler names to their profile (PreEnqueue, events, QueueSort of the
  // first). They must outlive the queue.
  SchedulingQueue(std::shared_ptr<const Clock> clock, QueueOptions options,
                  std::vector<Framework*> frameworks);
  ~SchedulingQueue();

  // A new unscheduled pod of one of the profiles.
  void Add(PodInfoPtr pod);
  void Update(const PodInfoPtr& old_pod, PodInfoPtr new_pod);
  void Delete(const PodInfo& pod);

  // The head of activeQ; blocks while activeQ is empty. nullopt after Close.
  std::optional<QueuedPodInfo> Pop();
  // The head of activeQ, or nullopt when it is empty (never blocks).
  std::optional<QueuedPodInfo> TryPop();
  void Close();

  // The popped pod failed: parked as unschedulable, or put in backoffQ when an event that came
  // while it was in flight may help it, or when it failed with an error (no rejecting plugin).
  void AddUnschedulableIfNotPresent(QueuedPodInfo info);
  // The popped pod's scheduling cycle is over (it was assumed, or re-queued).
  void Done(std::string_view uid);

  // A cluster event: parked pods that it may help move to backoffQ/activeQ.
  void MoveAllToActiveOrBackoffQueue(const ClusterEvent& event, const EventObjects& objects);
  // Moves expired backoffs to activeQ and long-parked pods back (upstream's two flushes).
  void Flush();

  // Nominator.
  void AddNominatedPod(const PodInfoPtr& pod, std::string_view node);
  void DeleteNominatedPodIfExists(std::string_view uid);
  std::vector<PodInfoPtr> NominatedPodsForNode(std::string_view node) const;
  // Every nomination: node -> pods.
  std::map<std::string, std::vector<PodInfoPtr>, std::less<>> NominatedPods() const;
  bool HasNominatedPods() const;

  // For tests and metrics.
  size_t ActiveCount() const;
  size_t BackoffCount() const;
  size_t UnschedulableCount() const;
  bool Has(std::string_view uid) const;
  // Where a pod is: "active", "backoff", "unschedulable", "gated", "inflight" or "".
  std::string WhereIs(std::string_view uid) const;

 private:
  enum class Where : uint8_t { kActive, kBackoff, kUnschedulable, kInFlight };
  struct Entry {
    QueuedPodInfo info;
    Where where = Where::kActive;
    uint64_t seq = 0;             // tie-break in activeQ
    uint64_t popped_at_event = 0; // in flight: events after this one happened meanwhile
    Clock::MonoTime backoff_expiry{};
    bool deleted_in_flight = false;
  };
  struct ActiveLess {
    const SchedulingQueue* q;
    bool operator()(const Entry* a, const Entry* b) const;
  };
  struct InFlightEvent {
    uint64_t seq;
    ClusterEvent event;
    EventObjects objects;
  };

  Framework* FrameworkFor(const PodInfo& pod) const;
  void PushActiveLocked(Entry* e);
  void ToActiveOrBackoffLocked(Entry* e, bool force_active = false);
  void ParkLocked(Entry* e);
  void RemoveLocked(Entry* e);
  Clock::MonoTime BackoffExpiry(const QueuedPodInfo& info) const;
  bool HintSaysQueue(const Entry& e, const ClusterEvent& event, const EventObjects& objects) const;
  std::optional<QueuedPodInfo> PopLocked();
  void PruneInFlightEventsLocked();

  std::shared_ptr<const Clock> clock_;
  QueueOptions options_;
  std::vector<Framework*> frameworks_;
  const QueueSortPlugin* less_ = nullptr;
  // Per scheduler name: (plugin, registration).
  std::map<std::string, std::vector<std::pair<std::string, ClusterEventWithHint>>, std::less<>>
      hints_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;                                // guarded by mu_
  uint64_t next_seq_ = 0;                              // guarded by mu_
  std::unordered_map<std::string, Entry> pods_;        // by uid; guarded by mu_
  std::set<Entry*, ActiveLess> active_;                // guarded by mu_
  std::set<std::pair<Clock::MonoTime, Entry*>> backoff_;  // guarded by mu_
  // The parked entries (Where::kUnschedulable), so that a cluster event looks at them only,
  // not at every queued pod.
  std::unordered_set<Entry*> unschedulable_;           // guarded by mu_
  size_t in_flight_ = 0;                               // guarded by mu_
  uint64_t event_seq_ = 0;                             // guarded by mu_
  std::deque<InFlightEvent> in_flight_events_;         // guarded by mu_
  std::multiset<uint64_t> in_flight_seqs_;             // popped_at_event of in-flight pods

  // Nominator; guarded by mu_.
  std::unordered_map<std::string, std::vector<PodInfoPtr>> nominated_;  // node -> pods
  std::unordered_map<std::string, std::string> nominated_node_of_;      // uid -> node
  std::atomic<size_t> nominated_count_{0};  // nominated_node_of_.size(), read without mu_
};

}  // namespace keelson::scheduler
