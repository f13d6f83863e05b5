// Cluster events and queueing hints: how the scheduling queue learns that a pod it parked as
// unschedulable may fit now (upstream's ClusterEvent, ActionType and QueueingHintFn).
//
// Each plugin that can reject a pod registers the events that can make the pod schedulable,
// optionally with a hint function that looks at the change and answers Queue or Skip. When an
// event arrives, a parked pod is moved back to the active (or backoff) queue only if one of the
// plugins that rejected it registered the event and its hint answers Queue.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scheduler/framework/types.h"

namespace keelson::scheduler {

enum class EventResource : uint8_t {
  kAssignedPod,     // a pod bound to a node (another pod than the one parked)
  kUnscheduledPod,  // the parked pod itself was updated
  kNode,
  kPersistentVolumeClaim,
  kPersistentVolume,
  kStorageClass,
  kNamespace,
  kPodDisruptionBudget,
  kWildcard,  // matches every resource (used for "move everything")
};

// Bits; an event carries one or more, a registration matches when any bit is shared.
enum ActionType : uint32_t {
  kAdd = 1u << 0,
  kDelete = 1u << 1,
  kUpdateNodeAllocatable = 1u << 2,
  kUpdateNodeLabel = 1u << 3,
  kUpdateNodeTaint = 1u << 4,  // also spec.unschedulable
  kUpdateNodeCondition = 1u << 5,
  kUpdateNodeAnnotation = 1u << 6,
  kUpdatePodLabel = 1u << 7,
  kUpdatePodScaleDown = 1u << 8,
  kUpdatePodToleration = 1u << 9,
  kUpdatePodSchedulingGatesEliminated = 1u << 10,
  kUpdateOther = 1u << 11,  // any other update
  kUpdate = kUpdateNodeAllocatable | kUpdateNodeLabel | kUpdateNodeTaint | kUpdateNodeCondition |
            kUpdateNodeAnnotation | kUpdatePodLabel | kUpdatePodScaleDown | kUpdatePodToleration |
            kUpdatePodSchedulingGatesEliminated | kUpdateOther,
  kAll = kAdd | kDelete | kUpdate,
};

struct ClusterEvent {
  EventResource resource = EventResource::kWildcard;
  uint32_t actions = kAll;
  std::string label;  // for logs and metrics ("NodeAdd", "AssignedPodDelete", ...)

  bool Matches(const ClusterEvent& incoming) const {
    return (resource == EventResource::kWildcard || incoming.resource == EventResource::kWildcard ||
            resource == incoming.resource) &&
           (actions & incoming.actions) != 0;
  }
};

// The objects of an event, as typed views where the scheduler has them. For a delete only the
// old ones are set, for an add only the new ones.
struct EventObjects {
  PodInfoPtr old_pod, new_pod;
  NodeViewPtr old_node, new_node;
  ObjectPtr old_obj, new_obj;  // the other kinds
};

enum class QueueingHint : uint8_t { kSkip, kQueue };

// Whether `event` may make `pod` schedulable. Called on the thread that delivers events, under
// the queue's lock: quick and side-effect free.
using QueueingHintFn = std::function<QueueingHint(const PodInfo& pod, const EventObjects& event)>;

struct ClusterEventWithHint {
  ClusterEvent event;
  QueueingHintFn hint;  // null: always Queue
};

// The actions a node update carries (upstream's nodeSchedulingPropertiesChange).
uint32_t NodeUpdateActions(const NodeView& old_node, const NodeView& new_node);
// The actions an update of a pod carries (labels, scale-down, tolerations, gates, other).
uint32_t PodUpdateActions(const PodInfo& old_pod, const PodInfo& new_pod);

}  // namespace keelson::scheduler
