// The node lifecycle controller (upstream's pkg/controller/nodelifecycle): node health from
// the kubelets' heartbeats, the taints that follow from it, and the per-zone rate limits on
// NoExecute taints that the taint eviction controller turns into evictions.
//
// Every --node-monitor-period the controller looks at each node (from the informer caches):
//   - a heartbeat is a newer lease renewTime in kube-node-lease, or a new lastHeartbeatTime
//     of the Ready condition; a node without one for --node-monitor-grace-period (a new node
//     without a Ready condition: --node-startup-grace-period) gets its Ready, MemoryPressure,
//     DiskPressure and PIDPressure conditions set to Unknown ("NodeStatusUnknown", "Kubelet
//     stopped posting node status.");
//   - when Ready leaves True, the node's pods (found through the pods' spec.nodeName index)
//     get their Ready condition set to False (upstream's MarkPodsNotReady) and a NodeNotReady
//     event; pods bound later to a node that is not Ready get the same;
//   - a node whose Ready is False or Unknown joins its zone's queue for the not-ready or
//     unreachable NoExecute taint, which a tainting pass (every 100 ms) applies at the zone's
//     rate: --node-eviction-rate in a Normal zone, --secondary-node-eviction-rate in a
//     PartialDisruption zone larger than --large-cluster-size-threshold (none in a smaller
//     one), the normal rate in a FullDisruption zone, and nothing at all while every zone is
//     fully disrupted (then the NoExecute taints are removed: the control plane, not the
//     nodes, is probably what failed). A zone is PartialDisruption when more than two and at
//     least --unhealthy-zone-threshold of its nodes are not Ready, FullDisruption when none is;
//   - a node Ready again loses both NoExecute taints and leaves its zone's queue.
// Node changes (a worker queue of node names) keep the NoSchedule taints in line with the
// conditions (not-ready, unreachable, memory-, disk-, pid-pressure, network-unavailable) and
// spec.unschedulable, and the beta os/arch labels with the stable ones.
//
// Events are recorded as "node-controller": RegisteredNode, RemovingNode, NodeNotReady.
//
// Threads: the monitor loop, the tainting loop, 8 node workers and 4 pod workers; a monitor
// pass writes with up to 8 threads. Per period the work is O(nodes) map lookups; pods are
// only read for nodes whose Ready condition changed.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewNodeLifecycleController(ControllerContext& ctx);

}  // namespace keelson::controllers
