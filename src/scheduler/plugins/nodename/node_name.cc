#include "scheduler/plugins/nodename/node_name.h"

namespace keelson::scheduler::nodename {

PluginStatus NodeName::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  if (pod.node_name.empty() || pod.node_name == node.node->name) return {};
  static const PluginStatus kRejected(Code::kUnschedulableAndUnresolvable, std::string(kErrReason));
  return kRejected;
}

std::vector<ClusterEventWithHint> NodeName::EventsToRegister() const {
  return {{{EventResource::kNode, kAdd, "NodeAdd"},
           [](const PodInfo& pod, const EventObjects& ev) {
             return ev.new_node && (pod.node_name.empty() || pod.node_name == ev.new_node->name)
                        ? QueueingHint::kQueue
                        : QueueingHint::kSkip;
           }}};
}

}  // namespace keelson::scheduler::nodename
