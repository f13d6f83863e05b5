// The one list of which strategy serves which stored resource.
#include "apiserver/strategies/kind_strategy.h"

namespace keelson::apiserver {

StrategyRegistry BuiltInStrategies(const api::ResourceRegistry& registry) {
  using namespace strategies;  // NOLINT: the factories, listed below
  struct Entry {
    const char* group;
    const char* resource;
    Factory make;
    // The resource whose objects it stores, when another's (events.k8s.io/v1 Events are
    // stored as core Events).
    const char* stored_group = nullptr;
    const char* stored_resource = nullptr;
  };
  static constexpr Entry kStrategies[] = {
      {"", "namespaces", NewNamespaceStrategy},
      {"", "pods", NewPodStrategy},
      {"", "nodes", NewNodeStrategy},
      {"", "services", NewServiceStrategy},
      {"", "endpoints", NewEndpointsStrategy},
      {"", "configmaps", NewConfigMapStrategy},
      {"", "secrets", NewSecretStrategy},
      {"", "serviceaccounts", NewServiceAccountStrategy},
      {"", "events", NewEventStrategy},
      {"", "replicationcontrollers", NewReplicationControllerStrategy},
      {"", "limitranges", NewLimitRangeStrategy},
      {"", "resourcequotas", NewResourceQuotaStrategy},
      {"", "persistentvolumes", NewPersistentVolumeStrategy},
      {"", "persistentvolumeclaims", NewPersistentVolumeClaimStrategy},
      {"apps", "deployments", NewDeploymentStrategy},
      {"apps", "replicasets", NewReplicaSetStrategy},
      {"apps", "daemonsets", NewDaemonSetStrategy},
      {"apps", "statefulsets", NewStatefulSetStrategy},
      {"apps", "controllerrevisions", NewControllerRevisionStrategy},
      {"batch", "jobs", NewJobStrategy},
      {"batch", "cronjobs", NewCronJobStrategy},
      {"coordination.k8s.io", "leases", NewLeaseStrategy},
      {"discovery.k8s.io", "endpointslices", NewEndpointSliceStrategy},
      {"events.k8s.io", "events", NewEventsV1EventStrategy, "", "events"},
      {"policy", "poddisruptionbudgets", NewPodDisruptionBudgetStrategy},
      {"scheduling.k8s.io", "priorityclasses", NewPriorityClassStrategy},
      {"rbac.authorization.k8s.io", "roles", NewRoleStrategy},
      {"rbac.authorization.k8s.io", "clusterroles", NewRoleStrategy},
      {"rbac.authorization.k8s.io", "rolebindings", NewRoleBindingStrategy},
      {"rbac.authorization.k8s.io", "clusterrolebindings", NewClusterRoleBindingStrategy},
  };
  StrategyRegistry out;
  for (const Entry& e : kStrategies) {
    const api::ResourceInfo* served = registry.Find(e.group, "v1", e.resource);
    const api::ResourceInfo* stored =
        e.stored_resource ? registry.Find(e.stored_group, "v1", e.stored_resource) : served;
    if (served != nullptr && stored != nullptr) out.Add(*served, e.make(*stored));
  }
  return out;
}

}  // namespace keelson::apiserver
