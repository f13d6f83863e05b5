// The Endpoints controller (upstream's pkg/controller/endpoint): the core/v1 Endpoints of every
// Service with a selector, named as the Service.
//
// For each pod of the Service's namespace its selector matches that is an endpoint (not
// terminal, with an IP of the Service's first IP family, not terminating unless
// publishNotReadyAddresses) the Endpoints list an address — ip, hostname (when the pod's
// subdomain is the Service), nodeName, targetRef — among `addresses` when the pod is Ready or
// the Service has publishNotReadyAddresses, else among `notReadyAddresses`, for each Service
// port whose targetPort the pod has (named ports resolved against the pod's container
// ports); addresses sharing ports are packed into one subset (upstream's RepackSubsets). A
// headless Service without ports gets its addresses without ports. Past 1000 addresses the
// list is cut (annotation endpoints.kubernetes.io/over-capacity: truncated). Labels are the
// Service's (plus service.kubernetes.io/headless for a headless one); the annotation
// endpoints.kubernetes.io/last-change-trigger-time carries the earliest pod readiness change
// (or the Service's creation) the write reflects. A write that changes nothing is skipped.
//
// Services without a selector (the `kubernetes` Service, whose Endpoints the API server
// writes) and ExternalName Services are left alone; a deleted Service's Endpoints are deleted,
// and so are leftover Endpoints without a Service when the controller starts.
//
// Keys are Services ("ns/name"). A pod change queues only the Services whose selectors match
// its old or new labels (ServicesToUpdateOnPodChange), found through the Services' namespace
// index; a sync reads the namespace's pods through the pods' namespace index and matches the
// selector, never every pod. Events: FailedToCreateEndpoint, FailedToUpdateEndpoint
// ("endpoint-controller").
//
// Threads: --concurrent-endpoint-syncs workers.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewEndpointsController(ControllerContext& ctx);

}  // namespace keelson::controllers
