// Upstream's sync.go: the new ReplicaSet and revisions, scaling (proportional during a
// rollout), cleanup of old revisions, and status.
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>

#include "api/errors.h"
#include "common/log.h"
#include "controllers/base/pod_control.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"
#include "controllers/deployment/deployment_controller_impl.h"

namespace keelson::controllers::deployment {

namespace json = boost::json;

namespace {

json::object& MutableStatus(api::Object& d) {
  json::value& s = d["status"];
  if (!s.is_object()) s = json::object();
  return s.get_object();
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

RsList Append(RsList list, const client::ObjectPtr& rs) {
  list.push_back(rs);
  return list;
}

}  // namespace

Status NamespaceTerminatingStatus() {
  return Status(StatusCode::kFailedPrecondition, std::string(kNamespaceTerminatingMessage));
}

Status DeploymentController::WriteStatus(api::Object& d) {
  client::ResourceClient client = d_client_.Namespace(api::GetNamespace(d));
  auto written = client.UpdateStatus(d);
  if (!written.ok()) return written.error().ToStatus();
  api::Object result = std::move(*written);
  // The revision annotation goes with the status upstream; a server whose status writes keep
  // the stored metadata gets it through a patch of the Deployment.
  if (HasAnnotation(d, kRevisionAnnotation) &&
      Annotation(result, kRevisionAnnotation) != Annotation(d, kRevisionAnnotation)) {
    json::object patch{
        {"metadata",
         json::object{{"annotations",
                       json::object{{kRevisionAnnotation, Annotation(d, kRevisionAnnotation)}}}}}};
    auto patched = client.Patch(api::GetName(d), client::PatchType::kMerge, json::serialize(patch));
    if (!patched.ok()) return patched.error().ToStatus();
    result = std::move(*patched);
  }
  // Later writes of this sync build on what was written.
  api::SetResourceVersion(&d, api::GetResourceVersion(result));
  return Status::Ok();
}

Status DeploymentController::SyncStatusOnly(api::Object& d, const RsList& rs_list) {
  auto all = GetAllReplicaSetsAndSyncRevision(d, rs_list, false);
  if (!all.ok()) return all.status();
  return SyncDeploymentStatus(Append(all->old_rss, all->new_rs), all->new_rs, d);
}

Status DeploymentController::SyncScaleOrPaused(api::Object& d, const RsList& rs_list) {
  auto all = GetAllReplicaSetsAndSyncRevision(d, rs_list, false);
  if (!all.ok()) return all.status();
  KEELSON_RETURN_IF_ERROR(Scale(d, all->new_rs, all->old_rss));
  // A paused Deployment is cleaned up here, when no rollback is in flight.
  if (IsPaused(d) && !RollbackTo(d)) {
    KEELSON_RETURN_IF_ERROR(CleanupDeployment(all->old_rss, d));
  }
  return SyncDeploymentStatus(Append(all->old_rss, all->new_rs), all->new_rs, d);
}

Status DeploymentController::CheckPausedConditions(api::Object& d) {
  if (!HasProgressDeadline(d)) return Status::Ok();
  json::object& status = MutableStatus(d);
  const json::object* cond = GetCondition(status, "Progressing");
  std::string_view reason = cond ? StringAt(*cond, {"reason"}) : std::string_view();
  // A reported lack of progress is not overwritten by a pause.
  if (cond != nullptr && reason == kTimedOutReason) return Status::Ok();
  bool paused_cond = cond != nullptr && reason == kPausedDeployReason;
  Clock::WallTime now = clock_->Now();
  if (IsPaused(d) && !paused_cond) {
    SetCondition(&status, NewCondition("Progressing", "Unknown", kPausedDeployReason,
                                       "Deployment is paused", now));
  } else if (!IsPaused(d) && paused_cond) {
    SetCondition(&status, NewCondition("Progressing", "Unknown", kResumedDeployReason,
                                       "Deployment is resumed", now));
  } else {
    return Status::Ok();
  }
  return WriteStatus(d);
}

Result<DeploymentController::AllReplicaSets> DeploymentController::GetAllReplicaSetsAndSyncRevision(
    api::Object& d, const RsList& rs_list, bool create_if_not_existed) {
  AllReplicaSets all;
  all.old_rss = FindOldReplicaSets(d, rs_list);
  auto new_rs = GetNewReplicaSet(d, rs_list, all.old_rss, create_if_not_existed);
  if (!new_rs.ok()) return new_rs.status();
  all.new_rs = std::move(*new_rs);
  return all;
}

Result<client::ObjectPtr> DeploymentController::GetNewReplicaSet(api::Object& d,
                                                                 const RsList& rs_list,
                                                                 const RsList& old_rss,
                                                                 bool create_if_not_existed) {
  std::string ns(api::GetNamespace(d));
  client::ObjectPtr existing = FindNewReplicaSet(d, rs_list);
  int64_t new_revision = MaxRevision(old_rss) + 1;
  Clock::WallTime now = clock_->Now();

  if (existing) {
    // The new ReplicaSet takes the Deployment's annotations, the next revision (a rollback
    // re-uses an old one) and minReadySeconds.
    api::Object copy = *existing;
    bool annotations = SetNewReplicaSetAnnotations(d, &copy, new_revision, true,
                                                   kMaxRevHistoryLengthInChars);
    int64_t min_ready = IntAt(d, {"spec", "minReadySeconds"});
    if (annotations || IntAt(*existing, {"spec", "minReadySeconds"}) != min_ready) {
      json::object& spec = copy["spec"].as_object();
      if (min_ready == 0) {
        spec.erase("minReadySeconds");
      } else {
        spec["minReadySeconds"] = min_ready;
      }
      auto updated = rs_client_.Namespace(ns).Update(copy);
      if (!updated.ok()) return updated.error().ToStatus();
      return std::make_shared<const api::Object>(std::move(*updated));
    }
    // The Deployment takes the revision the ReplicaSet has (set by an earlier sync).
    bool needs_update = SetDeploymentRevision(&d, Annotation(copy, kRevisionAnnotation));
    json::object& status = MutableStatus(d);
    if (HasProgressDeadline(d) && GetCondition(status, "Progressing") == nullptr) {
      // A Deployment that did not report progress before starts with the ReplicaSet found.
      SetCondition(&status, NewCondition("Progressing", "True", kFoundNewRSReason,
                                         "Found new replica set " + Quoted(api::GetName(copy)), now));
      needs_update = true;
    }
    if (needs_update) KEELSON_RETURN_IF_ERROR(WriteStatus(d));
    return existing;
  }

  if (!create_if_not_existed) return client::ObjectPtr();

  // The new ReplicaSet: the template with its hash in the labels, the selector and the name.
  json::value tmpl = json::object();
  if (const json::value* t = ValueAt(d, {"spec", "template"})) tmpl = *t;
  std::optional<int64_t> collisions = AsInt(ValueAt(d, {"status", "collisionCount"}));
  std::string hash = ComputeHash(tmpl, collisions);
  if (!tmpl.is_object()) tmpl = json::object();
  json::value& tmeta = tmpl.get_object()["metadata"];
  if (!tmeta.is_object()) tmeta = json::object();
  json::value& tlabels = tmeta.get_object()["labels"];
  if (!tlabels.is_object()) tlabels = json::object();
  tlabels.get_object()[kPodTemplateHashLabel] = hash;
  json::object selector;
  if (const json::object* s = ObjectAt(d, {"spec", "selector"})) selector = *s;
  json::value& match = selector["matchLabels"];
  if (!match.is_object()) match = json::object();
  match.get_object()[kPodTemplateHashLabel] = hash;

  std::string name = std::string(api::GetName(d)) + "-" + hash;
  json::object spec{{"replicas", 0}, {"selector", std::move(selector)}, {"template", tmpl}};
  if (int64_t min_ready = IntAt(d, {"spec", "minReadySeconds"}); min_ready != 0) {
    spec["minReadySeconds"] = min_ready;
  }
  api::Object rs{{"apiVersion", "apps/v1"},
                 {"kind", "ReplicaSet"},
                 {"metadata", json::object{{"name", name},
                                           {"namespace", ns},
                                           {"labels", tlabels}}},
                 {"spec", std::move(spec)}};
  api::SetOwnerReferences(&rs, {NewControllerRef(d, "apps/v1", "Deployment")});
  auto count = NewRSNewReplicas(d, Append(old_rss, std::make_shared<const api::Object>(rs)), rs);
  if (!count.ok()) return count.status();
  rs["spec"].as_object()["replicas"] = *count;
  SetNewReplicaSetAnnotations(d, &rs, new_revision, false, kMaxRevHistoryLengthInChars);

  bool already_exists = false;
  client::ObjectPtr created;
  auto result = rs_client_.Namespace(ns).Create(rs);
  if (result.ok()) {
    created = std::make_shared<const api::Object>(std::move(*result));
  } else if (api::IsAlreadyExists(result.error())) {
    // A slow cache or a fast resync: ours if we control it and it has our template; otherwise
    // a hash collision, resolved by the next sync with a bumped collisionCount.
    already_exists = true;
    client::ObjectPtr cached = replica_sets_.Get(ns, name);
    if (!cached) return NotFoundError("replicaset.apps \"" + name + "\" not found");
    if (ControllerUidOf(*cached) == api::GetUid(d) &&
        EqualIgnoreHash(ValueAt(d, {"spec", "template"}), ValueAt(*cached, {"spec", "template"}))) {
      created = cached;
    } else {
      json::object& status = MutableStatus(d);
      int64_t before = collisions.value_or(0);
      status["collisionCount"] = before + 1;
      if (WriteStatus(d).ok()) {
        LogInfo("deployment-controller",
                "found a hash collision for deployment " + ns + "/" + std::string(api::GetName(d)) +
                    " - bumping collisionCount (" + std::to_string(before) + "->" +
                    std::to_string(before + 1) + ") to resolve it");
      }
      return result.error().ToStatus();
    }
  } else if (HasNamespaceTerminatingCause(result.error())) {
    // Every later create fails too.
    return NamespaceTerminatingStatus();
  } else {
    std::string msg = "Failed to create new replica set " + Quoted(name) + ": " + result.error().message;
    if (HasProgressDeadline(d)) {
      SetCondition(&MutableStatus(d),
                   NewCondition("Progressing", "False", kFailedRSCreateReason, msg, now));
      // The bigger issue is reported below; this write may fail.
      WriteStatus(d).IgnoreError();
    }
    Event(d, client::kEventTypeWarning, kFailedRSCreateReason, msg);
    return result.error().ToStatus();
  }
  if (!already_exists && *count > 0) {
    Event(d, client::kEventTypeNormal, "ScalingReplicaSet",
          "Scaled up replica set " + std::string(api::GetName(*created)) + " to " +
              std::to_string(*count),
          created.get());
  }
  bool needs_update = SetDeploymentRevision(&d, std::to_string(new_revision));
  if (!already_exists && HasProgressDeadline(d)) {
    SetCondition(&MutableStatus(d),
                 NewCondition("Progressing", "True", kNewReplicaSetReason,
                              "Created new replica set " + Quoted(api::GetName(*created)), now));
    needs_update = true;
  }
  if (needs_update) KEELSON_RETURN_IF_ERROR(WriteStatus(d));
  return created;
}

Status DeploymentController::Scale(api::Object& d, const client::ObjectPtr& new_rs, RsList old_rss) {
  int64_t replicas = Replicas(d);
  // One active ReplicaSet (or none: the newest) takes the whole size.
  if (client::ObjectPtr only = FindActiveOrLatest(new_rs, old_rss)) {
    if (Replicas(*only) == replicas) return Status::Ok();
    return ScaleReplicaSetAndRecordEvent(only, replicas, d).status();
  }
  // A saturated new ReplicaSet (an adoption during a rollout): old ones go to zero.
  if (IsSaturated(d, new_rs.get())) {
    for (const auto& old : FilterActiveReplicaSets(old_rss)) {
      auto r = ScaleReplicaSetAndRecordEvent(old, 0, d);
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  }
  // Several active ReplicaSets during a rolling update: each scaled in proportion.
  if (!IsRollingUpdate(d)) return Status::Ok();
  RsList all = FilterActiveReplicaSets(Append(old_rss, new_rs));
  int64_t all_replicas = ReplicaCount(all);
  int64_t allowed = replicas > 0 ? replicas + MaxSurge(d) : 0;
  int64_t to_add = allowed - all_replicas;
  // Larger first; ties: newer first when adding, older first when removing.
  std::string_view operation;
  if (to_add > 0) {
    SortBySizeNewer(&all);
    operation = "up";
  } else if (to_add < 0) {
    SortBySizeOlder(&all);
    operation = "down";
  }
  int64_t added = 0;
  std::vector<int64_t> sizes;
  for (const auto& rs : all) {
    if (to_add != 0) {
      int64_t proportion = GetProportion(rs.get(), d, to_add, added);
      sizes.push_back(Replicas(*rs) + proportion);
      added += proportion;
    } else {
      sizes.push_back(Replicas(*rs));
    }
  }
  for (size_t i = 0; i < all.size(); ++i) {
    // What is left over goes to the largest.
    if (i == 0 && to_add != 0) sizes[0] = std::max<int64_t>(sizes[0] + (to_add - added), 0);
    auto r = ScaleReplicaSet(all[i], sizes[i], d, operation);
    if (!r.ok()) return r.status();  // the Deployment is requeued
  }
  return Status::Ok();
}

Result<DeploymentController::ScaleResult> DeploymentController::ScaleReplicaSetAndRecordEvent(
    const client::ObjectPtr& rs, int64_t new_scale, const api::Object& d) {
  if (Replicas(*rs) == new_scale) return ScaleResult{false, rs};
  return ScaleReplicaSet(rs, new_scale, d, Replicas(*rs) < new_scale ? "up" : "down");
}

Result<DeploymentController::ScaleResult> DeploymentController::ScaleReplicaSet(
    const client::ObjectPtr& rs, int64_t new_scale, const api::Object& d,
    std::string_view operation) {
  int64_t old_scale = Replicas(*rs);
  bool size_needs_update = old_scale != new_scale;
  int64_t desired = Replicas(d);
  int64_t max = desired + MaxSurge(d);
  if (!size_needs_update && !ReplicasAnnotationsNeedUpdate(*rs, desired, max)) {
    return ScaleResult{false, rs};
  }
  api::Object copy = *rs;
  copy["spec"].as_object()["replicas"] = new_scale;
  SetReplicasAnnotations(&copy, desired, max);
  auto updated = rs_client_.Namespace(api::GetNamespace(*rs)).Update(copy);
  if (!updated.ok()) return updated.error().ToStatus();
  ScaleResult r{size_needs_update, std::make_shared<const api::Object>(std::move(*updated))};
  if (size_needs_update) {
    Event(d, client::kEventTypeNormal, "ScalingReplicaSet",
          "Scaled " + std::string(operation) + " replica set " + std::string(api::GetName(*rs)) +
              " to " + std::to_string(new_scale) + " from " + std::to_string(old_scale),
          r.rs.get());
  }
  return r;
}

Status DeploymentController::CleanupDeployment(const RsList& old_rss, const api::Object& d) {
  if (!HasRevisionHistoryLimit(d)) return Status::Ok();
  RsList cleanable;
  for (const auto& rs : old_rss) {
    if (rs && !api::IsBeingDeleted(*rs)) cleanable.push_back(rs);
  }
  int64_t limit = IntAt(d, {"spec", "revisionHistoryLimit"});
  int64_t diff = static_cast<int64_t>(cleanable.size()) - limit;
  if (diff <= 0) return Status::Ok();
  SortByRevision(&cleanable);
  for (int64_t i = 0; i < diff; ++i) {
    const api::Object& rs = *cleanable[static_cast<size_t>(i)];
    // Only ReplicaSets that are at zero and know it.
    if (StatusInt(rs, "replicas") != 0 || Replicas(rs) != 0 ||
        api::GetGeneration(rs) > StatusInt(rs, "observedGeneration") || api::IsBeingDeleted(rs)) {
      continue;
    }
    auto deleted = rs_client_.Namespace(api::GetNamespace(rs)).Delete(api::GetName(rs));
    // One error stops the pass, on the theory that the server may be overloaded.
    if (!deleted.ok() && !api::IsNotFound(deleted.error())) return deleted.error().ToStatus();
  }
  return Status::Ok();
}

json::object DeploymentController::CalculateStatus(const RsList& all_rss,
                                                   const client::ObjectPtr& new_rs,
                                                   const api::Object& d) const {
  int64_t available = AvailableReplicaCount(all_rss);
  int64_t total = ReplicaCount(all_rss);
  // More available than desired (scaling down) is not negative unavailability.
  int64_t unavailable = std::max<int64_t>(total - available, 0);
  json::object status;
  auto set = [&](const char* f, int64_t v) {
    if (v != 0) status[f] = v;
  };
  set("observedGeneration", api::GetGeneration(d));
  set("replicas", ActualReplicaCount(all_rss));
  set("updatedReplicas", ActualReplicaCount({new_rs}));
  set("readyReplicas", ReadyReplicaCount(all_rss));
  set("availableReplicas", available);
  set("unavailableReplicas", unavailable);
  if (const json::value* c = ValueAt(d, {"status", "conditions"}); c && c->is_array() && !c->get_array().empty()) {
    status["conditions"] = *c;
  }
  if (const json::value* cc = ValueAt(d, {"status", "collisionCount"})) status["collisionCount"] = *cc;
  Clock::WallTime now = clock_->Now();
  if (available >= Replicas(d) - MaxUnavailable(d)) {
    SetCondition(&status, NewCondition("Available", "True", kMinimumReplicasAvailable,
                                       "Deployment has minimum availability.", now));
  } else {
    SetCondition(&status, NewCondition("Available", "False", kMinimumReplicasUnavailable,
                                       "Deployment does not have minimum availability.", now));
  }
  return status;
}

Status DeploymentController::SyncDeploymentStatus(const RsList& all_rss,
                                                  const client::ObjectPtr& new_rs, api::Object& d) {
  json::object status = CalculateStatus(all_rss, new_rs, d);
  if (CanonicalStatus(ValueAt(d, {"status"})) == status) return Status::Ok();
  d["status"] = std::move(status);
  return WriteStatus(d);
}

Result<bool> DeploymentController::IsScalingEvent(api::Object& d, const RsList& rs_list) {
  auto all = GetAllReplicaSetsAndSyncRevision(d, rs_list, false);
  if (!all.ok()) return all.status();
  for (const auto& rs : FilterActiveReplicaSets(Append(all->old_rss, all->new_rs))) {
    auto desired = DesiredReplicasAnnotation(*rs);
    if (desired && *desired != Replicas(d)) return true;
  }
  return false;
}

}  // namespace keelson::controllers::deployment
