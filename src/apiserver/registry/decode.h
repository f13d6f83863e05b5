// The checks a decoded object gets against its kind's schema before anything else reads it,
// as upstream's decoding does them: values of the wrong type are refused (400), unknown fields
// are refused with ?fieldValidation=Strict, reported as warnings by default (Warn) and dropped
// silently with Ignore; then, with `defaults`, the strategy's canonical form and upstream's
// defaults.
#pragma once

#include <optional>

#include "api/errors.h"
#include "api/object.h"
#include "api/resources.h"
#include "apiserver/registry/rest.h"
#include "apiserver/strategy.h"

namespace keelson::apiserver {

// `kind` names the schema; `strategy` may be null (no canonical form).
std::optional<api::ApiError> DecodeChecks(const api::ResourceInfo& kind, const Strategy* strategy,
                                          const RequestContext& ctx, api::Object* obj,
                                          bool defaults = true);

// A patch that did not apply (ApplyPatch's Status): 422 Invalid with its reason, or 413 when
// it went over a budget (too many operations), as upstream answers them.
api::ApiError PatchFailure(const Status& st);

}  // namespace keelson::apiserver
