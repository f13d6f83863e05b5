// SchedulerClient: everything the scheduler asks of the outside world — the only way out of
// the scheduler core (its inputs are the cluster events handed to Scheduler, scheduler.h).
//
// The wiring implements it over the API client: Bind is POST pods/{name}/binding; PatchPodStatus
// patches pods/{name}/status (the PodScheduled condition and/or status.nominatedNodeName);
// DeletePod deletes a preemption victim with a uid precondition; RecordEvent writes an Event
// (events.k8s.io/v1 or core/v1) and may batch or drop them like upstream's recorder.
//
// Threading: Bind, PatchPodStatus and DeletePod are called from the scheduler's API threads
// (SchedulerOptions::api_threads), never from the scheduling cycle, so they may block on the
// network; they are called concurrently and must be thread-safe. RecordEvent may be called
// from any scheduler thread and must not block.
//
// Errors: a non-OK Status fails the binding (the pod is forgotten and retried with backoff);
// NotFound from DeletePod or PatchPodStatus means the pod is gone and is not an error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "scheduler/framework/types.h"

namespace keelson::scheduler {

struct PodRef {
  std::string namespace_;
  std::string name;
  std::string uid;

  static PodRef Of(const PodInfo& pod) { return {pod.namespace_, pod.name, pod.uid}; }
  bool operator==(const PodRef&) const = default;
};

// v1.PodCondition as the scheduler writes it (lastTransitionTime is the client's now).
struct PodCondition {
  std::string type;    // "PodScheduled", "DisruptionTarget"
  std::string status;  // "True" / "False"
  std::string reason;  // "Unschedulable", "SchedulerError", "PreemptionByScheduler"
  std::string message;
};

// What to change in a pod's status; unset members are left alone.
struct PodStatusPatch {
  std::optional<PodCondition> condition;
  // Set to a node name, or "" to clear status.nominatedNodeName.
  std::optional<std::string> nominated_node_name;
};

// What an event is about (v1.ObjectReference).
struct ObjectReference {
  std::string kind = "Pod";
  std::string api_version = "v1";
  std::string namespace_;
  std::string name;
  std::string uid;

  static ObjectReference Of(const PodInfo& pod) {
    return {"Pod", "v1", pod.namespace_, pod.name, pod.uid};
  }
};

struct Event {
  std::string type;    // "Normal" or "Warning"
  std::string reason;  // "Scheduled", "FailedScheduling", "Preempted"
  std::string action;  // "Binding", "Scheduling", "Preempting"
  std::string message;
  ObjectReference regarding;
  std::optional<ObjectReference> related;
  std::string reporting_controller;  // the profile's schedulerName
};

class SchedulerClient {
 public:
  virtual ~SchedulerClient() = default;
  virtual Status Bind(const PodRef& pod, std::string_view node) = 0;
  virtual Status PatchPodStatus(const PodRef& pod, const PodStatusPatch& patch) = 0;
  virtual Status DeletePod(const PodRef& pod) = 0;
  virtual void RecordEvent(Event event) = 0;
};

}  // namespace keelson::scheduler
