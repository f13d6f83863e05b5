#include "scheduler/plugins/schedulinggates/scheduling_gates.h"

namespace keelson::scheduler::schedulinggates {

PluginStatus SchedulingGates::PreEnqueue(const PodInfo& pod) {
  if (pod.scheduling_gates.empty()) return {};
  std::string gates;
  for (const auto& g : pod.scheduling_gates) gates += (gates.empty() ? "" : " ") + g;
  return PluginStatus(Code::kUnschedulableAndUnresolvable,
                      "waiting for scheduling gates: [" + gates + "]");
}

std::vector<ClusterEventWithHint> SchedulingGates::EventsToRegister() const {
  return {{{EventResource::kUnscheduledPod, kUpdatePodSchedulingGatesEliminated,
            "UnscheduledPodUpdate"},
           [](const PodInfo& pod, const EventObjects&) {
             return pod.scheduling_gates.empty() ? QueueingHint::kQueue : QueueingHint::kSkip;
           }}};
}

}  // namespace keelson::scheduler::schedulinggates
