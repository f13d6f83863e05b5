// The pod garbage collector (upstream's pkg/controller/podgc). Every 20 seconds, from the
// informer caches:
//   - terminated pods (phase neither Pending, Running nor Unknown) beyond
//     --terminated-pod-gc-threshold are deleted, evicted ones first, then oldest first (0
//     turns this off);
//   - terminating pods on a node that is not Ready and has the node.kubernetes.io/out-of-service
//     taint are deleted;
//   - pods bound to a node the cache does not have are orphans once the node is still missing
//     after a quarantine of 40 seconds and a GET of the node answers NotFound; they get the
//     DisruptionTarget condition (DeletionByPodGC, "PodGC: node no longer exists");
//   - terminating pods that were never scheduled are deleted.
// Each deletion first sets the pod's phase to Failed (unless it already ended) through the
// status subresource, then deletes it with a grace period of 0, as upstream.
//
// Threads: one loop; a pass deletes with up to 8 threads.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewPodGcController(ControllerContext& ctx);

}  // namespace keelson::controllers
