#include "scheduler/plugins/prioritysort/priority_sort.h"

namespace keelson::scheduler::prioritysort {

bool PrioritySort::Less(const QueuedPodInfo& a, const QueuedPodInfo& b) const {
  int32_t pa = a.pod->priority, pb = b.pod->priority;
  return pa > pb || (pa == pb && a.timestamp < b.timestamp);
}

}  // namespace keelson::scheduler::prioritysort
