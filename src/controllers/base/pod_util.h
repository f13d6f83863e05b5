// Pod and ownership predicates the controllers share (upstream's podutil and the parts of
// controller_utils every workload controller reads). Pure functions over the JSON objects.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"
#include "common/clock.h"

namespace keelson::controllers {

// status.phase ("" when absent).
std::string_view PodPhase(const api::Object& pod);
// The pod's status condition of `type`, or null.
const api::Object* GetPodCondition(const api::Object& pod, std::string_view type);
// The Ready condition is True.
bool IsPodReady(const api::Object& pod);
// Ready for at least `min_ready_seconds` at `now` (by the Ready condition's
// lastTransitionTime), as upstream's IsPodAvailable.
bool IsPodAvailable(const api::Object& pod, int64_t min_ready_seconds, Clock::WallTime now);
// Neither Succeeded nor Failed, and not being deleted (upstream's IsPodActive).
bool IsPodActive(const api::Object& pod);
// Succeeded or Failed.
bool IsPodTerminal(const api::Object& pod);

// An owner reference to `owner` marking it the controller, with blockOwnerDeletion, as the
// workload controllers set on what they create. `api_version` and `kind` are the owner's.
api::OwnerReference NewControllerRef(const api::Object& owner, std::string_view api_version,
                                     std::string_view kind);
// Whether `obj`'s controller reference points at the object with uid `owner_uid`.
bool IsControlledBy(const api::Object& obj, std::string_view owner_uid);

}  // namespace keelson::controllers
