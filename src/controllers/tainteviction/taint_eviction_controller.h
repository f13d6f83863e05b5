// The taint eviction controller (upstream's pkg/controller/tainteviction, the NoExecute taint
// manager, a controller of its own since 1.29): pods on a node with NoExecute taints they do
// not tolerate are deleted; pods that tolerate them for tolerationSeconds are deleted once the
// shortest of those has passed since the taints appeared; pods that tolerate them forever
// stay. A deletion still to come is cancelled when the taints go (the node recovered), the pod
// goes, or its tolerations change.
//
// Node changes of the NoExecute taints and pod changes of tolerations or node go through two
// work queues (node names, pod keys); each decision is taken under a lock so that a node's
// and its pods' updates never race. Due deletions are queued to a third worker queue, which
// sets the pod's DisruptionTarget condition (DeletionByTaintManager) and deletes it with its
// own grace period. Events (TaintManagerEviction, "Marking for deletion Pod ns/name" and
// "Cancelling deletion of Pod ns/name") are recorded as "taint-eviction-controller".
//
// Threads: 8 node and pod workers, 4 deletion workers, one timer thread.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewTaintEvictionController(ControllerContext& ctx);

}  // namespace keelson::controllers
