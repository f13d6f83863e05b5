// The ReplicationController controller: the ReplicaSet controller (replica_set_controller.h)
// run for v1 ReplicationControllers, as upstream's pkg/controller/replication wraps its
// ReplicaSet controller. The adapter is the ReplicaSetKind: the v1 kind and resource, owner
// references to "v1"/"ReplicationController", events as "replication-controller", and the
// selector read from the plain map of spec.selector (upstream converts it to a ReplicaSet's
// matchLabels). Status fields and the ReplicaFailure condition are the same.
#pragma once

#include <memory>

#include "controllers/replicaset/replica_set_controller.h"

namespace keelson::controllers {

// ReplicaSetKind of v1 ReplicationControllers, with concurrent_rc_syncs workers.
ReplicaSetKind ReplicationControllerKindFor(const ControllerOptions& options);

// The registered "replicationcontroller-controller".
Result<std::unique_ptr<Controller>> NewReplicationController(ControllerContext& ctx);

}  // namespace keelson::controllers
