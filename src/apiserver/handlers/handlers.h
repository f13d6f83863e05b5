// The verb handlers: one small function per verb (upstream's endpoints/handlers/get.go,
// create.go, ...), each doing the same few steps — read the request's options, decode the
// body, call the path's storage (registry/rest.h), encode the answer — and answering every
// failure through WriteError. The router (router.h) has already found the path's Route,
// authenticated and authorized the request and built its RequestContext; the encoders of the
// answer (protobuf, PartialObjectMetadata, events.k8s.io/v1, metrics, warnings) wrap the
// Exchange before a handler sees it.
//
// Handlers run on the request executor (they may block on store reads); they answer through
// the Exchange from whichever thread completes the work.
#pragma once

#include <memory>
#include <optional>

#include "api/errors.h"
#include "apiserver/http.h"
#include "apiserver/registry/install.h"
#include "common/clock.h"

namespace keelson::apiserver {

// One request's path and context, as the router resolved them.
struct RequestScope {
  const Route* route = nullptr;
  RequestContext ctx;
  std::shared_ptr<const Clock> clock;
};

void HandleGet(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex);
void HandleList(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex);
void HandleWatch(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex);
void HandleCreate(const RequestScope& scope, const HttpRequest& req,
                  std::shared_ptr<Exchange> ex);
void HandleUpdate(const RequestScope& scope, const HttpRequest& req,
                  std::shared_ptr<Exchange> ex);
void HandlePatch(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex);
void HandleDelete(const RequestScope& scope, const HttpRequest& req,
                  std::shared_ptr<Exchange> ex);
void HandleDeleteCollection(const RequestScope& scope, const HttpRequest& req,
                            std::shared_ptr<Exchange> ex);

// --- shared by the handlers (responses.cc) ---------------------------------------------------

// The one way a failure is answered: the metav1.Status with its HTTP code.
void WriteError(Exchange& ex, const api::ApiError& e);
// A JSON object answer.
void WriteObject(Exchange& ex, int code, const api::Object& obj);
// A cached object as JSON (for Tables); null should it not parse.
boost::json::value ParseCached(const CachedObject& o);

// The request body as an object of `kind` (JSON, YAML or protobuf, by Content-Type). A body
// that leaves apiVersion or kind out is taken as `kind`, one that names another is refused.
// (Its namespace is the storage's to check.) Errors: 400, 415.
api::ApiResult<api::Object> DecodeBody(const HttpRequest& req, const api::ResourceInfo& kind);
// The options and selectors of a LIST or WATCH; nullopt after answering what is wrong with
// them (400, or upstream's 422 on ListOptions).
std::optional<ListRequest> ReadListRequest(const RequestScope& scope, const HttpRequest& req,
                                           Exchange& ex);
// The request's label and field selectors, checked against the kind's field labels (400).
api::ApiResult<Selection> ParseSelection(const HttpRequest& req, const Route& route);

}  // namespace keelson::apiserver
