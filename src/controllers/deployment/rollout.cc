// Upstream's rolling.go, recreate.go, progress.go and rollback.go.
#include <algorithm>

#include "api/errors.h"
#include "client/time_format.h"
#include "common/log.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"
#include "controllers/deployment/deployment_controller_impl.h"

namespace keelson::controllers::deployment {

namespace json = boost::json;

namespace {

RsList Append(RsList list, const client::ObjectPtr& rs) {
  list.push_back(rs);
  return list;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

// --- rolling.go ---

Status DeploymentController::RolloutRolling(api::Object& d, const RsList& rs_list) {
  auto all = GetAllReplicaSetsAndSyncRevision(d, rs_list, true);
  if (!all.ok()) return all.status();
  const client::ObjectPtr& new_rs = all->new_rs;
  RsList all_rss = Append(all->old_rss, new_rs);

  auto scaled_up = ReconcileNewReplicaSet(all_rss, new_rs, d);
  if (!scaled_up.ok()) return scaled_up.status();
  if (*scaled_up) return SyncRolloutStatus(all_rss, new_rs, d);

  auto scaled_down =
      ReconcileOldReplicaSets(all_rss, FilterActiveReplicaSets(all->old_rss), new_rs, d);
  if (!scaled_down.ok()) return scaled_down.status();
  if (*scaled_down) return SyncRolloutStatus(all_rss, new_rs, d);

  if (DeploymentComplete(d, CanonicalStatus(ValueAt(d, {"status"})))) {
    KEELSON_RETURN_IF_ERROR(CleanupDeployment(all->old_rss, d));
  }
  return SyncRolloutStatus(all_rss, new_rs, d);
}

Result<bool> DeploymentController::ReconcileNewReplicaSet(const RsList& all_rss,
                                                          const client::ObjectPtr& new_rs,
                                                          const api::Object& d) {
  int64_t replicas = Replicas(d);
  if (Replicas(*new_rs) == replicas) return false;
  if (Replicas(*new_rs) > replicas) {
    auto r = ScaleReplicaSetAndRecordEvent(new_rs, replicas, d);
    if (!r.ok()) return r.status();
    return r->scaled;
  }
  auto count = NewRSNewReplicas(d, all_rss, *new_rs);
  if (!count.ok()) return count.status();
  auto r = ScaleReplicaSetAndRecordEvent(new_rs, *count, d);
  if (!r.ok()) return r.status();
  return r->scaled;
}

Result<bool> DeploymentController::ReconcileOldReplicaSets(const RsList& all_rss, RsList old_rss,
                                                           const client::ObjectPtr& new_rs,
                                                           const api::Object& d) {
  if (ReplicaCount(old_rss) == 0) return false;  // nothing left to scale down
  int64_t all_pods = ReplicaCount(all_rss);
  int64_t min_available = Replicas(d) - MaxUnavailable(d);
  // Unavailable pods of the new ReplicaSet count against what may go, so that a new
  // template that never becomes available does not eat the old ones (upstream's two cases:
  // a rollback to a good template can still scale the bad pods away).
  int64_t new_unavailable = Replicas(*new_rs) - StatusInt(*new_rs, "availableReplicas");
  int64_t max_scaled_down = all_pods - min_available - new_unavailable;
  if (max_scaled_down <= 0) return false;

  // Unhealthy replicas first: they would otherwise block the rollout until it times out.
  auto cleaned = CleanupUnhealthyReplicas(std::move(old_rss), d, max_scaled_down);
  if (!cleaned.ok()) return false;  // as upstream: retried by the next sync
  auto& [remaining, cleanup_count] = *cleaned;
  auto scaled = ScaleDownOldReplicaSetsForRollingUpdate(Append(remaining, new_rs), remaining, d);
  if (!scaled.ok()) return false;
  return cleanup_count + *scaled > 0;
}

Result<std::pair<RsList, int64_t>> DeploymentController::CleanupUnhealthyReplicas(
    RsList old_rss, const api::Object& d, int64_t max_cleanup) {
  SortByCreation(&old_rss);
  // The ReplicaSet controller deletes not-ready, unscheduled and pending pods first, so
  // scaling these down removes the unhealthy ones and does not lower availability.
  int64_t total = 0;
  for (auto& rs : old_rss) {
    if (total >= max_cleanup) break;
    int64_t replicas = Replicas(*rs);
    int64_t available = StatusInt(*rs, "availableReplicas");
    if (replicas == 0 || replicas == available) continue;
    int64_t scaled_down = std::min(max_cleanup - total, replicas - available);
    int64_t new_count = replicas - scaled_down;
    if (new_count > replicas) {
      return InvalidArgumentError("when cleaning up unhealthy replicas, got invalid request to scale down " +
                                  std::string(api::GetNamespace(*rs)) + "/" +
                                  std::string(api::GetName(*rs)) + " " + std::to_string(replicas) +
                                  " -> " + std::to_string(new_count));
    }
    auto r = ScaleReplicaSetAndRecordEvent(rs, new_count, d);
    if (!r.ok()) return r.status();
    total += scaled_down;
    rs = r->rs;
  }
  return std::pair<RsList, int64_t>{std::move(old_rss), total};
}

Result<int64_t> DeploymentController::ScaleDownOldReplicaSetsForRollingUpdate(const RsList& all_rss,
                                                                             RsList old_rss,
                                                                             const api::Object& d) {
  int64_t min_available = Replicas(d) - MaxUnavailable(d);
  int64_t available = AvailableReplicaCount(all_rss);
  if (available <= min_available) return 0;
  SortByCreation(&old_rss);
  int64_t total = 0;
  int64_t wanted = available - min_available;
  for (const auto& rs : old_rss) {
    if (total >= wanted) break;
    int64_t replicas = Replicas(*rs);
    if (replicas == 0) continue;
    int64_t scale_down = std::min(replicas, wanted - total);
    auto r = ScaleReplicaSetAndRecordEvent(rs, replicas - scale_down, d);
    if (!r.ok()) return r.status();
    total += scale_down;
  }
  return total;
}

// --- recreate.go ---

Status DeploymentController::RolloutRecreate(api::Object& d, const RsList& rs_list) {
  // No new ReplicaSet yet: nothing scales up before the old ones are down.
  auto all = GetAllReplicaSetsAndSyncRevision(d, rs_list, false);
  if (!all.ok()) return all.status();
  client::ObjectPtr new_rs = all->new_rs;
  RsList old_rss = all->old_rss;
  RsList all_rss = Append(old_rss, new_rs);

  bool scaled_down = false;
  for (const auto& rs : FilterActiveReplicaSets(old_rss)) {
    auto r = ScaleReplicaSetAndRecordEvent(rs, 0, d);
    if (!r.ok()) return r.status();
    scaled_down = scaled_down || r->scaled;
  }
  if (scaled_down) return SyncRolloutStatus(all_rss, new_rs, d);

  // Old pods still running (or their ReplicaSets think so): wait.
  if (OldPodsRunning(new_rs, old_rss, rs_list)) return SyncRolloutStatus(all_rss, new_rs, d);

  if (!new_rs) {
    auto created = GetAllReplicaSetsAndSyncRevision(d, rs_list, true);
    if (!created.ok()) return created.status();
    new_rs = created->new_rs;
    old_rss = created->old_rss;
    all_rss = Append(old_rss, new_rs);
  }
  auto r = ScaleReplicaSetAndRecordEvent(new_rs, Replicas(d), d);
  if (!r.ok()) return r.status();

  if (DeploymentComplete(d, CanonicalStatus(ValueAt(d, {"status"})))) {
    KEELSON_RETURN_IF_ERROR(CleanupDeployment(old_rss, d));
  }
  return SyncRolloutStatus(all_rss, new_rs, d);
}

bool DeploymentController::OldPodsRunning(const client::ObjectPtr& new_rs, const RsList& old_rss,
                                           const RsList& rs_list) const {
  if (ActualReplicaCount(old_rss) > 0) return true;
  for (const auto& rs : rs_list) {
    if (new_rs && api::GetUid(*rs) == api::GetUid(*new_rs)) continue;
    for (const auto& pod : ControlledBy(pods_, api::GetUid(*rs))) {
      // Terminal pods do not count; Unknown ones might still run.
      if (!IsPodTerminal(*pod)) return true;
    }
  }
  return false;
}

// --- progress.go ---

Status DeploymentController::SyncRolloutStatus(const RsList& all_rss,
                                               const client::ObjectPtr& new_rs, api::Object& d) {
  json::object status = CalculateStatus(all_rss, new_rs, d);
  if (!HasProgressDeadline(d)) RemoveCondition(&status, "Progressing");

  json::object current_status = CanonicalStatus(ValueAt(d, {"status"}));
  std::optional<json::object> current;
  if (const json::object* c = GetCondition(current_status, "Progressing")) current = *c;
  auto reason_of = [](const json::object& c) { return StringAt(c, {"reason"}); };
  // One active ReplicaSet after a completed rollout: a resync, no progress to estimate.
  bool complete_deployment = IntAt(status, {"replicas"}) == IntAt(status, {"updatedReplicas"}) &&
                             current && reason_of(*current) == kNewRSAvailableReason;
  Clock::WallTime now = clock_->Now();
  std::string subject = new_rs ? "ReplicaSet " + Quoted(api::GetName(*new_rs))
                               : "Deployment " + Quoted(api::GetName(d));
  if (HasProgressDeadline(d) && !complete_deployment) {
    if (DeploymentComplete(d, status)) {
      SetCondition(&status, NewCondition("Progressing", "True", kNewRSAvailableReason,
                                         subject + " has successfully progressed.", now));
    } else if (DeploymentProgressing(d, status)) {
      // Progress moves lastUpdateTime even with the same reason: replaced, not set.
      json::object cond = NewCondition("Progressing", "True", kReplicaSetUpdatedReason,
                                       subject + " is progressing.", now);
      if (current) {
        if (StringAt(*current, {"status"}) == "True") {
          if (const json::value* t = current->if_contains("lastTransitionTime")) {
            cond["lastTransitionTime"] = *t;
          }
        }
        RemoveCondition(&status, "Progressing");
      }
      SetCondition(&status, std::move(cond));
    } else if (DeploymentTimedOut(d, status, now)) {
      SetCondition(&status, NewCondition("Progressing", "False", kTimedOutReason,
                                         subject + " has timed out progressing.", now));
    }
  }

  // ReplicaSet failures (the new one's first) become the Deployment's.
  std::optional<json::object> failure;
  auto failure_of = [](const api::Object& rs) -> std::optional<json::object> {
    const api::Object* c = StatusCondition(rs, "ReplicaFailure");
    if (c == nullptr) return std::nullopt;
    json::object out{{"type", "ReplicaFailure"}};
    for (const char* f : {"status"}) {
      if (const json::value* v = c->if_contains(f)) out[f] = *v;
    }
    if (const json::value* t = c->if_contains("lastTransitionTime")) {
      out["lastUpdateTime"] = *t;
      out["lastTransitionTime"] = *t;
    }
    for (const char* f : {"reason", "message"}) {
      if (const json::value* v = c->if_contains(f)) out[f] = *v;
    }
    return out;
  };
  if (new_rs) failure = failure_of(*new_rs);
  for (const auto& rs : all_rss) {
    if (failure) break;
    if (rs) failure = failure_of(*rs);
  }
  if (failure) {
    SetCondition(&status, std::move(*failure));
  } else {
    RemoveCondition(&status, "ReplicaFailure");
  }

  if (current_status == status) {
    RequeueStuckDeployment(d, status);
    return Status::Ok();
  }
  d["status"] = std::move(status);
  return WriteStatus(d);
}

void DeploymentController::RequeueStuckDeployment(const api::Object& d,
                                                  const json::object& new_status) {
  json::object current_status = CanonicalStatus(ValueAt(d, {"status"}));
  const json::object* current = GetCondition(current_status, "Progressing");
  if (!HasProgressDeadline(d) || current == nullptr) return;
  if (DeploymentComplete(d, new_status) || StringAt(*current, {"reason"}) == kTimedOutReason) return;
  auto last = client::ParseTime(StringAt(*current, {"lastUpdateTime"}));
  if (!last) return;
  // No sign of progress: check again when the deadline passes.
  auto deadline = *last + std::chrono::seconds(IntAt(d, {"spec", "progressDeadlineSeconds"}));
  auto after = deadline - clock_->Now();
  std::string key = client::ObjectKey(d);
  if (after < std::chrono::seconds(1)) {
    queue_.EnqueueRateLimited(key);
    return;
  }
  // A second more against skew.
  queue_.EnqueueAfter(key, std::chrono::duration_cast<std::chrono::nanoseconds>(after) +
                               std::chrono::seconds(1));
}

// --- rollback.go ---

Status DeploymentController::Rollback(api::Object& d, const RsList& rs_list) {
  auto all = GetAllReplicaSetsAndSyncRevision(d, rs_list, true);
  if (!all.ok()) return all.status();
  RsList all_rss = Append(all->old_rss, all->new_rs);
  int64_t revision = RollbackTo(d).value_or(0);
  if (revision == 0) {
    // The revision before the current one.
    revision = LastRevision(all_rss);
    if (revision == 0) {
      Event(d, client::kEventTypeWarning, kRollbackRevisionNotFound, "Unable to find last revision.");
      return UpdateDeploymentAndClearRollbackTo(d);
    }
  }
  for (const auto& rs : all_rss) {
    if (!rs) continue;
    auto v = Revision(*rs);
    if (!v || *v != revision) continue;
    bool performed = false;
    if (!EqualIgnoreHash(ValueAt(d, {"spec", "template"}), ValueAt(*rs, {"spec", "template"}))) {
      // The template comes back without the hash label, the annotations with it (so that the
      // change-cause of that revision is the Deployment's again).
      json::value tmpl = *ValueAt(*rs, {"spec", "template"});
      if (json::object* to = tmpl.if_object()) {
        if (json::value* m = to->if_contains("metadata"); m && m->is_object()) {
          if (json::value* l = m->get_object().if_contains("labels"); l && l->is_object()) {
            l->get_object().erase(kPodTemplateHashLabel);
          }
        }
      }
      d["spec"].as_object()["template"] = std::move(tmpl);
      SetDeploymentAnnotationsTo(&d, *rs);
      performed = true;
    } else {
      Event(d, client::kEventTypeWarning, kRollbackTemplateUnchanged,
            "The rollback revision contains the same template as current deployment " +
                Quoted(api::GetName(d)));
    }
    Status st = UpdateDeploymentAndClearRollbackTo(d);
    if (performed && st.ok()) {
      Event(d, client::kEventTypeNormal, kRollbackDone,
            "Rolled back deployment " + Quoted(api::GetName(d)) + " to revision " +
                std::to_string(revision));
    }
    return st;
  }
  Event(d, client::kEventTypeWarning, kRollbackRevisionNotFound,
        "Unable to find the revision to rollback to.");
  return UpdateDeploymentAndClearRollbackTo(d);
}

Status DeploymentController::UpdateDeploymentAndClearRollbackTo(api::Object& d) {
  if (json::value* a = api::MutableMetadata(&d).if_contains("annotations"); a && a->is_object()) {
    a->get_object().erase(kRollbackToAnnotation);
  }
  auto updated = d_client_.Namespace(api::GetNamespace(d)).Update(d);
  return updated.ok() ? Status::Ok() : updated.error().ToStatus();
}

}  // namespace keelson::controllers::deployment
