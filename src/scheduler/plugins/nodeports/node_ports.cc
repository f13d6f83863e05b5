#include "scheduler/plugins/nodeports/node_ports.h"

namespace keelson::scheduler::nodeports {

bool FitsPorts(const std::vector<HostPort>& wanted, const std::vector<HostPort>& used) {
  for (const auto& w : wanted) {
    for (const auto& u : used) {
      if (HostPortsConflict(w, u)) return false;
    }
  }
  return true;
}

PluginStatus NodePorts::PreFilter(CycleState&, const PodInfo& pod, PreFilterResult*) {
  if (pod.host_ports.empty()) return PluginStatus::Skip();
  return {};
}

PluginStatus NodePorts::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  if (FitsPorts(pod.host_ports, node.used_ports)) return {};
  static const PluginStatus kRejected(Code::kUnschedulable, std::string(kErrReason));
  return kRejected;
}

std::vector<ClusterEventWithHint> NodePorts::EventsToRegister() const {
  return {
      {{EventResource::kAssignedPod, kDelete, "AssignedPodDelete"},
       [](const PodInfo& pod, const EventObjects& ev) {
         if (!ev.old_pod) return QueueingHint::kSkip;
         return FitsPorts(pod.host_ports, ev.old_pod->host_ports) ? QueueingHint::kSkip
                                                                  : QueueingHint::kQueue;
       }},
      {{EventResource::kNode, kAdd, "NodeAdd"}, nullptr},
  };
}

}  // namespace keelson::scheduler::nodeports
