#include "scheduler/plugins/nodeunschedulable/node_unschedulable.h"

namespace keelson::scheduler::nodeunschedulable {

namespace {

bool Admits(const PodInfo& pod, const NodeView& node) {
  if (!node.unschedulable) return true;
  static const Taint kTaint{"node.kubernetes.io/unschedulable", "", TaintEffect::kNoSchedule};
  return TolerationsTolerate(pod.tolerations, kTaint);
}

}  // namespace

PluginStatus NodeUnschedulable::Filter(const CycleState&, const PodInfo& pod,
                                       const NodeInfo& node) const {
  if (Admits(pod, *node.node)) return {};
  static const PluginStatus kRejected(Code::kUnschedulableAndUnresolvable,
                                      std::string(kErrReasonUnschedulable));
  return kRejected;
}

std::vector<ClusterEventWithHint> NodeUnschedulable::EventsToRegister() const {
  return {
      {{EventResource::kNode, kAdd | kUpdateNodeTaint, "NodeChange"},
       [](const PodInfo& pod, const EventObjects& ev) {
         if (!ev.new_node || !Admits(pod, *ev.new_node)) return QueueingHint::kSkip;
         if (ev.old_node && Admits(pod, *ev.old_node)) return QueueingHint::kSkip;
         return QueueingHint::kQueue;
       }},
      {{EventResource::kUnscheduledPod, kUpdatePodToleration, "UnscheduledPodUpdate"}, nullptr},
  };
}

}  // namespace keelson::scheduler::nodeunschedulable
