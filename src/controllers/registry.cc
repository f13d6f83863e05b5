// Every controller keelson has, in the order they start: the one list to read to know what
// `keelson controller-manager` runs, and the one place a new controller is added.
#include "controllers/controller.h"
#include "controllers/garbagecollector/garbage_collector.h"
#include "controllers/namespace/namespace_controller.h"
#include "controllers/deployment/deployment_controller.h"
#include "controllers/replicaset/replica_set_controller.h"
#include "controllers/replicaset/replication_controller.h"
#include "controllers/endpoint/endpoints_controller.h"
#include "controllers/endpointslice/endpointslice_controller.h"
#include "controllers/nodeipam/node_ipam_controller.h"
#include "controllers/nodelifecycle/node_lifecycle_controller.h"
#include "controllers/podgc/pod_gc_controller.h"
#include "controllers/serviceaccount/serviceaccounts_controller.h"
#include "controllers/tainteviction/taint_eviction_controller.h"

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
      {"endpoints-controller", {"endpoint"}, true, NewEndpointsController},
      {"endpointslice-controller", {"endpointslice"}, true, NewEndpointSliceController},
      {"node-ipam-controller", {"nodeipam"}, true, NewNodeIpamController},
      {"node-lifecycle-controller", {"nodelifecycle"}, true, NewNodeLifecycleController},
      {"taint-eviction-controller", {}, true, NewTaintEvictionController},
      {"pod-garbage-collector-controller", {"podgc"}, true, NewPodGcController},
  };
  return *kControllers;
}

}  // namespace keelson::controllers
