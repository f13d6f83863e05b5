// PrioritySort (QueueSort): higher spec.priority first, then the pod that entered the queue
// first.
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::prioritysort {

inline constexpr std::string_view kName = "PrioritySort";

class PrioritySort final : public QueueSortPlugin {
 public:
  std::string_view Name() const override { return kName; }
  bool Less(const QueuedPodInfo& a, const QueuedPodInfo& b) const override;
};

}  // namespace keelson::scheduler::prioritysort
