#include "controllers/deployment/deployment_controller.h"

#include <charconv>

#include "api/errors.h"
#include "common/log.h"
#include "controllers/base/controller_ref_manager.h"
#include "controllers/base/workload_util.h"
#include "controllers/deployment/deployment_controller_impl.h"

namespace keelson::controllers {

namespace deployment {

namespace json = boost::json;

namespace {

constexpr const char* kName = "deployment-controller";
// Upstream's maxRetries: 5 ms doubling gives up after about 82 s of retries.
constexpr int kMaxRetries = 15;

QueueWorkerOptions QueueOptions(std::shared_ptr<const Clock> clock) {
  QueueWorkerOptions o;
  o.name = kName;
  o.clock = std::move(clock);
  o.max_retries = kMaxRetries;
  return o;
}

// A selector that selects everything: present, with neither matchLabels nor
// matchExpressions.
bool SelectsEverything(const api::Object& d) {
  const json::value* sel = ValueAt(d, {"spec", "selector"});
  if (sel == nullptr || !sel->is_object()) return false;
  for (const char* f : {"matchLabels", "matchExpressions"}) {
    const json::value* v = sel->get_object().if_contains(f);
    if (v == nullptr || v->is_null()) continue;
    if (v->is_object() && v->get_object().empty()) continue;
    if (v->is_array() && v->get_array().empty()) continue;
    return false;
  }
  return true;
}

}  // namespace

DeploymentController::DeploymentController(ControllerContext& ctx,
                                           client::SharedInformer* deployments,
                                           client::SharedInformer* replica_sets,
                                           client::SharedInformer* pods,
                                           client::ResourceClient d_client,
                                           client::ResourceClient rs_client)
    : clock_(ctx.clock()),
      deployments_(deployments->indexer()),
      replica_sets_(replica_sets->indexer()),
      pods_(pods->indexer()),
      d_client_(std::move(d_client)),
      rs_client_(std::move(rs_client)),
      recorder_(ctx.Recorder(kName)),
      workers_(ctx.options().concurrent_deployment_syncs),
      queue_(QueueOptions(ctx.clock()), [this](const std::string& key) { return Sync(key); }) {
  deployments->AddEventHandler({
      .on_add = [this](const client::ObjectPtr& d, bool) { Enqueue(*d); },
      .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& d) { Enqueue(*d); },
      .on_delete = [this](const client::ObjectPtr& d, bool) { Enqueue(*d); },
  });
  replica_sets->AddEventHandler({
      .on_add = [this](const client::ObjectPtr& rs, bool) { ReplicaSetAdded(*rs); },
      .on_update = [this](const client::ObjectPtr& old,
                          const client::ObjectPtr& cur) { ReplicaSetUpdated(*old, *cur); },
      .on_delete = [this](const client::ObjectPtr& rs, bool) { ReplicaSetDeleted(*rs); },
  });
  pods->AddEventHandler({
      .on_add = nullptr,
      .on_update = nullptr,
      .on_delete = [this](const client::ObjectPtr& p, bool) { PodDeleted(*p); },
  });
}

client::ObjectPtr DeploymentController::ResolveControllerRef(const api::Object& obj) const {
  if (ControllerKindOf(obj) != "Deployment") return nullptr;
  client::ObjectPtr d = deployments_.Get(api::GetNamespace(obj), ControllerNameOf(obj));
  if (!d || api::GetUid(*d) != ControllerUidOf(obj)) return nullptr;
  return d;
}

std::vector<client::ObjectPtr> DeploymentController::DeploymentsSelecting(
    const api::Object& rs) const {
  std::vector<client::ObjectPtr> out;
  const api::Object* labels = ObjectAt(rs, {"metadata", "labels"});
  if (labels == nullptr || labels->empty()) return out;
  auto in_ns = deployments_.ByIndex(client::kNamespaceIndex, api::GetNamespace(rs));
  if (!in_ns.ok()) return out;
  for (auto& d : *in_ns) {
    auto sel = SelectorFromStructured(ValueAt(*d, {"spec", "selector"}));
    // An invalid or empty selector matches nothing here.
    if (!sel.ok() || sel->Empty()) continue;
    if (SelectorMatches(*sel, rs)) out.push_back(std::move(d));
  }
  return out;
}

void DeploymentController::ReplicaSetAdded(const api::Object& rs) {
  if (api::IsBeingDeleted(rs)) {
    // A restarted manager can see a ReplicaSet already being deleted.
    ReplicaSetDeleted(rs);
    return;
  }
  if (!ControllerUidOf(rs).empty()) {
    if (client::ObjectPtr d = ResolveControllerRef(rs)) Enqueue(*d);
    return;
  }
  // An orphan: whoever selects it may adopt it.
  for (const auto& d : DeploymentsSelecting(rs)) Enqueue(*d);
}

void DeploymentController::ReplicaSetUpdated(const api::Object& old, const api::Object& cur) {
  if (api::GetResourceVersion(old) == api::GetResourceVersion(cur)) return;  // resync
  json::value cur_ref = ControllerRefJson(cur);
  json::value old_ref = ControllerRefJson(old);
  bool ref_changed = cur_ref != old_ref;
  if (ref_changed && !old_ref.is_null()) {
    if (client::ObjectPtr d = ResolveControllerRef(old)) Enqueue(*d);
  }
  if (!cur_ref.is_null()) {
    if (client::ObjectPtr d = ResolveControllerRef(cur)) Enqueue(*d);
    return;
  }
  if (!SameLabels(old, cur) || ref_changed) {
    for (const auto& d : DeploymentsSelecting(cur)) Enqueue(*d);
  }
}

void DeploymentController::ReplicaSetDeleted(const api::Object& rs) {
  if (ControllerUidOf(rs).empty()) return;
  if (client::ObjectPtr d = ResolveControllerRef(rs)) Enqueue(*d);
}

size_t DeploymentController::PodsOf(const RsList& rss) const {
  size_t n = 0;
  for (const auto& rs : rss) {
    if (rs) n += ControlledBy(pods_, api::GetUid(*rs)).size();
  }
  return n;
}

void DeploymentController::PodDeleted(const api::Object& pod) {
  // A Recreate Deployment waits for its old pods to be gone: sync it when the last goes.
  if (ControllerKindOf(pod) != "ReplicaSet") return;
  client::ObjectPtr rs = replica_sets_.Get(api::GetNamespace(pod), ControllerNameOf(pod));
  if (!rs || api::GetUid(*rs) != ControllerUidOf(pod)) return;
  client::ObjectPtr d = ResolveControllerRef(*rs);
  if (!d || StringAt(*d, {"spec", "strategy", "type"}) != "Recreate") return;
  if (PodsOf(ControlledBy(replica_sets_, api::GetUid(*d))) == 0) Enqueue(*d);
}

Result<RsList> DeploymentController::ReplicaSetsForDeployment(const api::Object& d) {
  std::string_view ns = api::GetNamespace(d);
  auto selector = SelectorFromStructured(ValueAt(d, {"spec", "selector"}));
  if (!selector.ok()) {
    return InvalidArgumentError("deployment " + std::string(ns) + "/" +
                                std::string(api::GetName(d)) +
                                " has invalid label selector: " + selector.status().message());
  }
  std::string uid(api::GetUid(d));
  RsList candidates = ClaimCandidates(replica_sets_, ns, uid);
  // Adoption first re-reads the Deployment, uncached: it must not be being deleted.
  ControllerRefManager refs(d, *selector, "apps/v1", "Deployment", rs_client_.Namespace(ns),
                            ControllerRefManager::RecheckDeletionTimestamp(
                                d_client_.Namespace(ns), std::string(api::GetName(d)), uid));
  Status errors;
  RsList claimed = refs.Claim(candidates, nullptr, &errors);
  if (!errors.ok()) return errors;
  return claimed;
}

bool IsNamespaceTerminatingStatus(const Status& st) {
  return st.code() == StatusCode::kFailedPrecondition && st.message() == kNamespaceTerminatingMessage;
}

std::optional<int64_t> RollbackTo(const api::Object& d) {
  if (!HasAnnotation(d, kRollbackToAnnotation)) return std::nullopt;
  std::string_view v = Annotation(d, kRollbackToAnnotation);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  // Not a number: ignored, as upstream does.
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

Status DeploymentController::Sync(const std::string& key) {
  Status st = SyncDeployment(key);
  return IsNamespaceTerminatingStatus(st) ? Status::Ok() : st;
}

Status DeploymentController::SyncDeployment(const std::string& key) {
  auto [ns, name] = SplitKey(key);
  client::ObjectPtr cached = deployments_.Get(ns, name);
  if (!cached) return Status::Ok();  // deleted
  api::Object d = *cached;

  if (SelectsEverything(d)) {
    Event(d, client::kEventTypeWarning, "SelectingAll",
          "This deployment is selecting all pods. A non-empty selector is required.");
    if (StatusInt(d, "observedGeneration") < api::GetGeneration(d)) {
      json::object status = CanonicalStatus(ValueAt(d, {"status"}));
      status["observedGeneration"] = api::GetGeneration(d);
      d["status"] = std::move(status);
      WriteStatus(d).IgnoreError();
    }
    return Status::Ok();
  }

  auto rs_list = ReplicaSetsForDeployment(d);
  if (!rs_list.ok()) return rs_list.status();

  if (api::IsBeingDeleted(d)) return SyncStatusOnly(d, *rs_list);

  // Pausing and resuming show in the Progressing condition, so that time spent paused does
  // not count against the progress deadline once resumed.
  KEELSON_RETURN_IF_ERROR(CheckPausedConditions(d));
  if (IsPaused(d)) return SyncScaleOrPaused(d, *rs_list);

  // A rollback is not re-entrant: nothing else until its annotation is cleared.
  if (RollbackTo(d)) return Rollback(d, *rs_list);

  auto scaling = IsScalingEvent(d, *rs_list);
  if (!scaling.ok()) return scaling.status();
  if (*scaling) return SyncScaleOrPaused(d, *rs_list);

  std::string_view strategy = StringAt(d, {"spec", "strategy", "type"});
  if (strategy == "Recreate") return RolloutRecreate(d, *rs_list);
  if (strategy == "RollingUpdate") return RolloutRolling(d, *rs_list);
  return InvalidArgumentError("unexpected deployment strategy type: " + std::string(strategy));
}

void DeploymentController::Event(const api::Object& d, std::string_view type,
                                 std::string_view reason, std::string_view note,
                                 const api::Object* related) {
  std::string_view action = reason == "ScalingReplicaSet"                ? "Scaling"
                            : reason == kFailedRSCreateReason             ? "Create"
                            : reason == "SelectingAll"                    ? "Select"
                                                                          : "Rollback";
  client::ObjectReference regarding = client::ReferenceTo(d);
  if (related != nullptr) {
    client::ObjectReference rel = client::ReferenceTo(*related);
    recorder_->Event(regarding, &rel, type, reason, action, note);
  } else {
    recorder_->Event(regarding, nullptr, type, reason, action, note);
  }
}

}  // namespace deployment

Result<std::unique_ptr<Controller>> NewDeploymentController(ControllerContext& ctx) {
  client::SharedInformer* deployments = ctx.Informer("apps", "deployments");
  client::SharedInformer* replica_sets = ctx.Informer("apps", "replicasets");
  client::SharedInformer* pods = ctx.Informer("", "pods");
  if (!deployments || !replica_sets || !pods) {
    return InternalError("deployments, replicasets or pods unknown");
  }
  auto d_client = ctx.client()->Resource("apps", "deployments");
  auto rs_client = ctx.client()->Resource("apps", "replicasets");
  if (!d_client.ok() || !rs_client.ok()) return InternalError("deployments or replicasets unknown");
  AddWorkloadIndexes(replica_sets);
  AddWorkloadIndexes(pods);
  return std::unique_ptr<Controller>(new deployment::DeploymentController(
      ctx, deployments, replica_sets, pods, std::move(*d_client), std::move(*rs_client)));
}

}  // namespace keelson::controllers
