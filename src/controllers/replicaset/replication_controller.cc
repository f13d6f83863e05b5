#include "controllers/replicaset/replication_controller.h"

#include "controllers/base/workload_util.h"

namespace keelson::controllers {

ReplicaSetKind ReplicationControllerKindFor(const ControllerOptions& options) {
  ReplicaSetKind k;
  k.controller_name = "replication-controller";
  k.group = "";
  k.resource = "replicationcontrollers";
  k.api_version = "v1";
  k.kind = "ReplicationController";
  k.selector = [](const api::Object& rc) -> Result<api::LabelSelector> {
    return SelectorFromMap(ValueAt(rc, {"spec", "selector"}));
  };
  k.workers = options.concurrent_rc_syncs;
  return k;
}

Result<std::unique_ptr<Controller>> NewReplicationController(ControllerContext& ctx) {
  return NewReplicaSetControllerFor(ctx, ReplicationControllerKindFor(ctx.options()));
}

}  // namespace keelson::controllers
