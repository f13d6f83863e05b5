// The namespace controller: empties namespaces being deleted, then lets them go.
//
// A DELETE of a namespace only marks it (deletionTimestamp, phase Terminating) while its
// spec.finalizers hold the `kubernetes` finalizer. For such a namespace this controller:
//   1. deletes its content: every namespaced resource the server's discovery lists, by
//      deletecollection (propagationPolicy Background) where the resource allows it, else by
//      list and delete;
//   2. looks at what remains: pods still terminating (their grace periods), objects held by
//      finalizers;
//   3. reports in the namespace's status conditions, as upstream names them:
//      NamespaceDeletionDiscoveryFailure, NamespaceDeletionContentFailure,
//      NamespaceContentRemaining, NamespaceFinalizersRemaining (True with the reason when
//      something is wrong or left, False once it is not);
//   4. once nothing remains, removes `kubernetes` from spec.finalizers through the
//      namespace's finalize subresource; the API server then deletes the namespace.
//
// Keys are namespace names. A namespace is queued when it is marked for deletion, and again
// (200 ms later, coalesced) when a pod in it goes — upstream waits out the longest grace
// period instead; here a namespace whose pods stop early goes early. Content held by
// finalizers is checked again with the queue's backoff.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewNamespaceController(ControllerContext& ctx);

}  // namespace keelson::controllers
