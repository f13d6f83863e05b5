// The ReplicaSet controller (upstream's pkg/controller/replicaset): keeps spec.replicas pods
// running for every ReplicaSet, and writes its status. The ReplicationController controller
// is the same implementation run for another kind (replication_controller.h), as upstream
// runs its ReplicaSet controller behind a conversion adapter.
//
// Keys are "namespace/name" of the owner. Informers: the owner kind's and pods, each with
// the workload indexes (workload_util.h): pods by their controller's uid and orphan pods by
// namespace, so a sync reads the owner's pods and the namespace's orphans, never the whole
// namespace. A sync:
//   1. claims pods (ControllerRefManager): adopts matching orphans, releases owned pods the
//      selector no longer matches; only active pods (not terminal, not being deleted) count;
//   2. if the owner's expectations are met (expectations.h) and it is not being deleted,
//      creates or deletes the difference, at most burst_replicas (500) per sync: creates in
//      slow-start batches (1, 2, 4, ...; each batch in parallel, stopping at the first batch
//      with a failure), deletes in parallel, the pods chosen by ranking.h;
//   3. writes status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas with
//      minReadySeconds, observedGeneration, the ReplicaFailure condition of a failed create
//      or delete) when it changed, retrying once on a conflict;
//   4. requeues after minReadySeconds while ready pods are not yet available.
// Events: SuccessfulCreate, FailedCreate, SuccessfulDelete, FailedDelete on the owner.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/labels.h"
#include "controllers/base/pod_control.h"
#include "controllers/controller.h"

namespace keelson::controllers {

// The kind a replica set controller runs for.
struct ReplicaSetKind {
  std::string controller_name;  // "replicaset-controller": the event recorder and logs
  std::string group;            // "apps"
  std::string resource;         // "replicasets"
  std::string api_version;      // "apps/v1": owner references
  std::string kind;             // "ReplicaSet"
  // The owner's pod selector (InvalidArgument when it cannot be one).
  std::function<Result<api::LabelSelector>(const api::Object& owner)> selector;
  // Worker threads.
  int workers = 5;
};

struct ReplicaSetControllerOptions {
  // Creates and deletes per sync (upstream's BurstReplicas).
  int burst_replicas = 500;
  // Pod writes in flight at once per controller (the threads of its ParallelRunner, plus
  // the worker's own).
  int max_parallel_writes = 63;
  // Where pods are created and deleted; PodControl through the context's client and the
  // kind's recorder when null. Tests inject failures here.
  std::function<std::unique_ptr<PodControl>(ControllerContext&, client::EventRecorder*)>
      pod_control;
};

// ReplicaSetKind of apps/v1 ReplicaSets, with concurrent_replicaset_syncs workers.
ReplicaSetKind ReplicaSetKindFor(const ControllerOptions& options);

// A replica set controller for `kind`.
Result<std::unique_ptr<Controller>> NewReplicaSetControllerFor(
    ControllerContext& ctx, ReplicaSetKind kind, ReplicaSetControllerOptions options = {});

// The registered "replicaset-controller".
Result<std::unique_ptr<Controller>> NewReplicaSetController(ControllerContext& ctx);

}  // namespace keelson::controllers
