// Every controller keelson has, in the order they start: the one list to read to know what
// `keelson controller-manager` runs, and the one place a new controller is added.
#include "controllers/controller.h"
#include "controllers/garbagecollector/garbage_collector.h"
#include "controllers/namespace/namespace_controller.h"
#include "controllers/deployment/deployment_controller.h"
#include "controllers/replicaset/replica_set_controller.h"
#include "controllers/replicaset/replication_controller.h"
#include "controllers/serviceaccount/serviceaccounts_controller.h"

namespace keelson::controllers {

const std::vector<ControllerDescriptor>& BuiltInControllers() {
  static const auto* const kControllers = new std::vector<ControllerDescriptor>{
      {"serviceaccount-controller", {"serviceaccount"}, true, NewServiceAccountsController},
      {"namespace-controller", {"namespace"}, true, NewNamespaceController},
      {"garbage-collector-controller", {"garbagecollector"}, true, NewGarbageCollector},
      {"replicaset-controller", {"replicaset"}, true, NewReplicaSetController},
      {"replicationcontroller-controller", {"replicationcontroller"}, true,
       NewReplicationController},
      {"deployment-controller", {"deployment"}, true, NewDeploymentController},
  };
  return *kControllers;
}

}  // namespace keelson::controllers
