// The Deployment controller (upstream's pkg/controller/deployment): rolls Deployments out
// through ReplicaSets.
//
// Keys are "namespace/name" of Deployments. Informers: Deployments, ReplicaSets and pods;
// ReplicaSets and pods carry the workload indexes (controllers/base/workload_util.h), so a
// sync reads the Deployment's ReplicaSets (and the namespace's orphan ReplicaSets it may
// adopt) without listing the namespace. A sync, as upstream's syncDeployment:
//   - claims ReplicaSets by selector and controller reference (adopt, release);
//   - a Deployment being deleted only gets its status;
//   - pause and resume set the Progressing condition (DeploymentPaused / DeploymentResumed)
//     so that a paused time never counts against progressDeadlineSeconds; a paused
//     Deployment still scales (proportionally) but does not roll out;
//   - a rollback asked for with the deprecated.deployment.rollback.to annotation copies that
//     revision's template back (kubectl >= 1.27 does the copy itself; either way the old
//     ReplicaSet becomes the new one again and gets the next revision, its former revisions
//     in deployment.kubernetes.io/revision-history);
//   - a change of spec.replicas is a scaling event: every active ReplicaSet is scaled in
//     proportion to its share (max-replicas annotation), leftovers to the largest;
//   - otherwise the strategy runs: RollingUpdate creates the new ReplicaSet
//     (<name>-<pod-template-hash>, the hash also in its selector, labels and template labels;
//     status.collisionCount on a name clash) and moves replicas within maxSurge and
//     maxUnavailable (percentages rounded up for surge, down for unavailable); Recreate scales
//     the old ones to zero, waits for their pods to be gone, then scales the new one up;
//   - old ReplicaSets beyond revisionHistoryLimit are deleted once the rollout completes;
//   - status: replicas, updatedReplicas, readyReplicas, availableReplicas,
//     unavailableReplicas, observedGeneration, the Available condition
//     (MinimumReplicasAvailable / MinimumReplicasUnavailable), the Progressing condition
//     (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
//     ProgressDeadlineExceeded, ReplicaSetCreateError) and ReplicaFailure from the
//     ReplicaSets; a stuck rollout is requeued for its deadline.
// Events (reporting as "deployment-controller"): ScalingReplicaSet, ReplicaSetCreateError,
// SelectingAll and the rollback reasons. A key that keeps failing is dropped after 15
// retries, as upstream's.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

// The registered "deployment-controller".
Result<std::unique_ptr<Controller>> NewDeploymentController(ControllerContext& ctx);

}  // namespace keelson::controllers
