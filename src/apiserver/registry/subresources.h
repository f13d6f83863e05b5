// The storages of subresources and of the kinds that are not stored, each a RestStorage of
// its own over the generic store of the resource it belongs to (as upstream's pod, scale and
// token REST storages are):
//
//   status    GET, PUT, PATCH of an object's status; nothing else changes
//   scale     GET, PUT, PATCH of an autoscaling/v1 Scale: spec.replicas of a workload
//   binding   POST pods/NAME/binding: sets spec.nodeName of a pod not yet bound
//   eviction  POST pods/NAME/eviction: a delete that respects the pod's disruption budgets
//   token     POST serviceaccounts/NAME/token: a signed TokenRequest, never stored
//   finalize  PUT namespaces/NAME/finalize: the namespace's spec.finalizers, nothing else
//   reviews   POST selfsubjectaccessreviews / selfsubjectreviews: answered, never stored
//   events.k8s.io/v1 events: the core Events in another form
//
// Thread-safety: as RestStorage.
#pragma once

#include <memory>
#include <string>

#include "apiserver/registry/store.h"
#include "apiserver/token.h"

namespace keelson::apiserver {

// Finds the generic store of another resource (token requests read pods, secrets and nodes;
// evictions read disruption budgets).
using StoreLookup = std::function<GenericStore*(std::string_view group, std::string_view resource)>;

std::unique_ptr<RestStorage> NewStatusStorage(GenericStore& main);
std::unique_ptr<RestStorage> NewScaleStorage(GenericStore& main);
std::unique_ptr<RestStorage> NewBindingStorage(GenericStore& pods);
std::unique_ptr<RestStorage> NewEvictionStorage(GenericStore& pods, StoreLookup stores);
std::unique_ptr<RestStorage> NewFinalizeStorage(GenericStore& namespaces);

struct TokenIssuer {
  std::shared_ptr<const TokenSigner> signer;
  std::string issuer;  // `iss`, and the audience of a request that names none
  std::shared_ptr<const Clock> clock;
};
std::unique_ptr<RestStorage> NewTokenStorage(GenericStore& service_accounts, StoreLookup stores,
                                             TokenIssuer issuer);

// The reviews, answered for the requester (RequestContext::attrs): selfsubjectaccessreviews
// from `authorizer`, selfsubjectreviews from who the request was authenticated as.
std::unique_ptr<RestStorage> NewAccessReviewStorage(const api::ResourceInfo& review,
                                                    std::shared_ptr<const Authorizer> authorizer);
std::unique_ptr<RestStorage> NewSelfSubjectReviewStorage(const api::ResourceInfo& review);

// events.k8s.io/v1: `core_events` is a generic store over the core Events with the
// events.k8s.io strategy; bodies are converted to the core form on the way in (answers are
// converted by the handlers' encoder, events_v1.h).
std::unique_ptr<RestStorage> NewEventsV1Storage(const api::ResourceInfo& v1,
                                                std::unique_ptr<GenericStore> core_events);

// The kinds subresources answer in.
const api::ResourceInfo& ScaleKind();
const api::ResourceInfo& BindingKind();
const api::ResourceInfo& EvictionKind();
const api::ResourceInfo& TokenRequestKind();

}  // namespace keelson::apiserver
