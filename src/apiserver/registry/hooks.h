// The WriteHooks (store.h) of the resources whose writes carry side effects in the same
// transaction:
//   - Services claim their ClusterIP and node ports when created or changed and free them
//     when deleted (service_alloc.h);
//   - a namespace deleted outright takes its content with it, Services' claims included (until
//     the namespace controller empties namespaces through the Terminating phase).
#pragma once

#include <memory>

#include "api/resources.h"
#include "apiserver/registry/store.h"
#include "apiserver/service_alloc.h"

namespace keelson::apiserver {

// `alloc` must outlive the hooks.
std::unique_ptr<WriteHooks> NewServiceHooks(ServiceAllocator* alloc);
// `registry` names every namespaced resource to empty; `store` is read for the Services whose
// claims go.
std::unique_ptr<WriteHooks> NewNamespaceHooks(const api::ResourceRegistry& registry,
                                              store::Store* store, ServiceAllocator* alloc);

}  // namespace keelson::apiserver
