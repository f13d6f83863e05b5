// Which pods a controller deletes first when it has too many (upstream's ActivePodsWithRanks
// and the ReplicaSet controller's getPodsToDelete, with the PodDeletionCost and
// LogarithmicScaleDown features on, as they are by default).
//
// A pod comes before another (is deleted first) when, at the first rule that tells them
// apart:
//   1. it is not assigned to a node and the other is;
//   2. its phase is earlier: Pending < Unknown < Running;
//   3. it is not ready and the other is;
//   4. its controller.kubernetes.io/pod-deletion-cost annotation is lower (0 when absent or
//      not an int32);
//   5. its rank is higher: more active related pods (the pods of the owner's sibling
//      ReplicaSets) run on its node;
//   6. both ready: it became ready more recently, comparing the log2 of the time since (at
//      `now`); the same bucket orders by uid, a pseudo-random choice;
//   7. a container of it restarted more often;
//   8. it was created more recently, again by log2 bucket and then uid.
//
// Pure functions; thread-compatible.
#pragma once

#include <vector>

#include "client/indexer.h"
#include "common/clock.h"

namespace keelson::controllers {

// The `diff` pods of `pods` to delete first. `related` are the active pods that count for
// rule 5 (a superset of `pods`, usually). All of `pods` when diff >= their number.
std::vector<client::ObjectPtr> GetPodsToDelete(std::vector<client::ObjectPtr> pods,
                                               const std::vector<client::ObjectPtr>& related,
                                               size_t diff, Clock::WallTime now);

// `pods` ordered by the rules above, with the rank of each pod given by `ranks` (same order).
// For tests and other controllers.
std::vector<client::ObjectPtr> SortPodsForDeletion(const std::vector<client::ObjectPtr>& pods,
                                                   const std::vector<int>& ranks,
                                                   Clock::WallTime now);

}  // namespace keelson::controllers
