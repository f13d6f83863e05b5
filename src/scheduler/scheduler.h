// Scheduler: the scheduler core's public face. It is handed cluster events (OnEvent) and acts
// through a SchedulerClient (client.h); how the events are watched and how the client reaches
// the API is the wiring's business, not this library's.
//
//   events -> OnEvent -> cache (bound and assumed pods, nodes) / queue (pods to schedule) /
//                        listers (claims, volumes, PDBs, namespaces, priority classes, ...)
//   scheduling loop:  Pop -> snapshot update -> PreFilter/Filter (parallel over nodes, stops at
//                     percentageOfNodesToScore) -> PreScore/Score -> select -> assume ->
//                     Reserve -> Permit -> binding cycle posted to the API threads
//   binding cycle:    wait on Permit -> PreBind -> Bind (client) -> PostBind, "Scheduled" event;
//                     on failure the pod is forgotten and re-queued
//   failures:         FailedScheduling event ("0/N nodes are available: ..."), PodScheduled=False
//                     (Unschedulable or SchedulerError), nominatedNodeName after preemption,
//                     the pod parked until an event may help it (queueing hints) or backed off.
//
// Pods are handled by the profile named by spec.schedulerName; a pod naming a scheduler that
// has no profile is left alone (its resources still count once it is bound elsewhere).
//
// Threading: OnEvent may be called from any thread (one at a time per object, in order).
// Run starts the scheduling thread and a 1 s flush ticker; ScheduleOne runs one cycle on the
// caller's thread instead (tests and benchmarks; not together with Run). API calls run on
// SchedulerOptions::api_threads threads. Stop (and the destructor) stop everything.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"
#include "scheduler/client.h"
#include "scheduler/config.h"
#include "scheduler/framework/registry.h"
#include "scheduler/framework/types.h"

namespace keelson::scheduler {

class Cache;
class SchedulingQueue;

enum class ResourceKind : uint8_t {
  kPod,
  kNode,
  kPersistentVolumeClaim,
  kPersistentVolume,
  kStorageClass,
  kPodDisruptionBudget,
  kPriorityClass,
  kNamespace,
  kService,
  kReplicationController,
  kReplicaSet,
  kStatefulSet,
};

struct SchedulerOptions {
  std::shared_ptr<const Clock> clock = RealClock();
  // Threads for API calls (bindings, status patches, preemption); they may block.
  int api_threads = 16;
  // Threads filtering and scoring nodes, the scheduling thread included; 0: the
  // configuration's parallelism capped at the machine's cores.
  int parallelism = 0;
  // Seeds the tie-break between equally scored nodes and preemption's start offset.
  uint64_t seed = 1;
};

struct SchedulerStats {
  uint64_t attempts = 0;
  uint64_t scheduled = 0;       // bound successfully
  uint64_t unschedulable = 0;   // attempts that found no node
  uint64_t errors = 0;          // attempts or bindings that failed with an error
  uint64_t preemptions = 0;     // nominations made by preemption
};

class Scheduler {
 public:
  // InvalidArgument when a profile cannot be built (unknown plugin, bad args, ...). `client`
  // must outlive the scheduler.
  static Result<std::unique_ptr<Scheduler>> Create(const Configuration& config,
                                                   SchedulerClient* client,
                                                   SchedulerOptions options = {},
                                                   const Registry& registry = DefaultRegistry());
  virtual ~Scheduler() = default;

  // An object was added (old null), updated, or deleted (now null).
  virtual void OnEvent(ResourceKind kind, ObjectPtr old_obj, ObjectPtr new_obj) = 0;

  virtual void Run() = 0;
  virtual void Stop() = 0;

  // One scheduling cycle for the head of the active queue; false when it is empty. The
  // binding cycle it starts runs on the API threads.
  virtual bool ScheduleOne() = 0;
  // Waits until the API work posted so far (bindings, patches, deletions) is done.
  virtual void WaitForApiCalls() = 0;
  // Moves finished backoffs and long-parked pods (what Run's ticker does each second).
  virtual void FlushQueue() = 0;
  // Lets a pod waiting in Permit go on (for Permit plugins); false when it is not waiting.
  virtual bool AllowWaitingPod(std::string_view uid, std::string_view plugin) = 0;

  virtual SchedulerStats Stats() const = 0;
  virtual const Cache& cache() const = 0;
  virtual const SchedulingQueue& queue() const = 0;

 private:
  static const Registry& DefaultRegistry();
};

// Upstream's numFeasibleNodesToFind: all nodes below 100; else `percentage` of them (0: the
// adaptive default 50 - nodes/125, at least 5), and at least 100.
int32_t NumFeasibleNodesToFind(int32_t percentage, int32_t num_all_nodes);

}  // namespace keelson::scheduler
