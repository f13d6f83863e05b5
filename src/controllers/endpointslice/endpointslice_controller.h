// The EndpointSlice controller (upstream's pkg/controller/endpointslice with the reconciler of
// staging/src/k8s.io/endpointslice): the discovery.k8s.io/v1 EndpointSlices of every Service
// with a selector.
//
// Each pod the selector matches that is not terminal and has an IP is an endpoint of the
// slices of its address type (the Service's IP families): its addresses, conditions (serving:
// the pod is Ready; terminating: it is being deleted; ready: serving and not terminating, or
// always with publishNotReadyAddresses), hostname (when its subdomain is the Service),
// targetRef, nodeName and its node's zone. Endpoints are grouped by the ports their pod
// offers (named targetPorts resolved per pod) and packed at most --max-endpoints-per-slice to
// a slice, with upstream's labels (the Service's own, kubernetes.io/service-name,
// endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io,
// service.kubernetes.io/headless), generateName "<service>-", the Service as controlling
// owner, and the endpoints.kubernetes.io/last-change-trigger-time annotation. The reconciler
// minimises churn as upstream's: endpoints stay in their slice and are updated in place, new
// ones fill the slices already being updated (fullest first), then the unchanged slice they
// fit best, then new slices; a slice to create replaces one to delete; a Service with no
// endpoint keeps one empty placeholder slice. Slices of another owner, address type or port
// set are deleted. Slices of a deleted Service are left to the garbage collector (they are
// owned by it), as upstream.
//
// A tracker remembers the resourceVersion of every slice this controller wrote, so that its
// own writes do not queue the Service again and a sync waits (retries) while the cache is
// older than them. Pods on a node the cache does not have are left out (unless
// publishNotReadyAddresses) and the Service is retried.
//
// Keys are Services ("ns/name"); pod changes queue only the Services whose selectors match
// (endpoint/endpoints_util.h); a sync reads the namespace's pods through the namespace index.
// Threads: --concurrent-service-endpoint-syncs workers.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

inline constexpr const char* kEndpointSliceControllerName = "endpointslice-controller.k8s.io";

Result<std::unique_ptr<Controller>> NewEndpointSliceController(ControllerContext& ctx);

}  // namespace keelson::controllers
