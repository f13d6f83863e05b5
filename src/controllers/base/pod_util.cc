#include "controllers/base/pod_util.h"

#include "client/time_format.h"

namespace keelson::controllers {

std::string_view PodPhase(const api::Object& pod) {
  const auto* status = pod.if_contains("status");
  if (!status || !status->is_object()) return {};
  const auto* phase = status->as_object().if_contains("phase");
  return phase && phase->is_string() ? std::string_view(phase->as_string()) : std::string_view();
}

const api::Object* GetPodCondition(const api::Object& pod, std::string_view type) {
  const auto* status = pod.if_contains("status");
  if (!status || !status->is_object()) return nullptr;
  const auto* conditions = status->as_object().if_contains("conditions");
  if (!conditions || !conditions->is_array()) return nullptr;
  for (const auto& c : conditions->as_array()) {
    if (!c.is_object()) continue;
    const auto* t = c.as_object().if_contains("type");
    if (t && t->is_string() && t->as_string() == type) return &c.as_object();
  }
  return nullptr;
}

namespace {

bool ConditionTrue(const api::Object* c) {
  if (!c) return false;
  const auto* s = c->if_contains("status");
  return s && s->is_string() && s->as_string() == "True";
}

}  // namespace

bool IsPodReady(const api::Object& pod) { return ConditionTrue(GetPodCondition(pod, "Ready")); }

bool IsPodAvailable(const api::Object& pod, int64_t min_ready_seconds, Clock::WallTime now) {
  const api::Object* ready = GetPodCondition(pod, "Ready");
  if (!ConditionTrue(ready)) return false;
  if (min_ready_seconds <= 0) return true;
  const auto* since = ready->if_contains("lastTransitionTime");
  if (!since || !since->is_string()) return false;
  auto t = client::ParseTime(since->as_string());
  return t && *t + std::chrono::seconds(min_ready_seconds) < now;
}

bool IsPodTerminal(const api::Object& pod) {
  auto phase = PodPhase(pod);
  return phase == "Succeeded" || phase == "Failed";
}

bool IsPodActive(const api::Object& pod) {
  return !IsPodTerminal(pod) && !api::IsBeingDeleted(pod);
}

api::OwnerReference NewControllerRef(const api::Object& owner, std::string_view api_version,
                                     std::string_view kind) {
  api::OwnerReference ref;
  ref.api_version = api_version;
  ref.kind = kind;
  ref.name = api::GetName(owner);
  ref.uid = api::GetUid(owner);
  ref.controller = true;
  ref.block_owner_deletion = true;
  return ref;
}

bool IsControlledBy(const api::Object& obj, std::string_view owner_uid) {
  auto ref = api::GetControllerOf(obj);
  return ref && ref->uid == owner_uid;
}

}  // namespace keelson::controllers
