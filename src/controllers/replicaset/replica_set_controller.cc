#include "controllers/replicaset/replica_set_controller.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "common/log.h"
#include "controllers/base/controller_ref_manager.h"
#include "controllers/base/expectations.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/ranking.h"
#include "controllers/base/workload_util.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {

namespace json = boost::json;

namespace {

std::string PodKey(const api::Object& pod) {
  return client::ObjectKey(api::GetNamespace(pod), api::GetName(pod));
}

// Every template label is on the pod with the same value.
bool FullyLabeled(const api::Object* template_labels, const api::Object& pod) {
  if (template_labels == nullptr) return true;
  const api::Object* labels = ObjectAt(pod, {"metadata", "labels"});
  for (const auto& [k, v] : *template_labels) {
    const json::value* pv = labels ? labels->if_contains(k) : nullptr;
    if (pv == nullptr || *pv != v) return false;
  }
  return true;
}

QueueWorkerOptions QueueOptions(const std::string& name, std::shared_ptr<const Clock> clock) {
  QueueWorkerOptions o;
  o.name = name;
  o.clock = std::move(clock);
  return o;
}

class ReplicaSetController final : public Controller {
 public:
  ReplicaSetController(ControllerContext& ctx, ReplicaSetKind kind,
                       ReplicaSetControllerOptions options, client::SharedInformer* owners,
                       client::SharedInformer* pods, client::ResourceClient owner_client)
      : kind_(std::move(kind)),
        burst_replicas_(std::max(options.burst_replicas, 1)),
        clock_(ctx.clock()),
        owners_(owners->indexer()),
        pods_(pods->indexer()),
        owner_client_(std::move(owner_client)),
        pods_client_(ctx.client()->Resource("", "pods").value()),
        recorder_(ctx.Recorder(kind_.controller_name)),
        pod_control_(options.pod_control ? options.pod_control(ctx, recorder_)
                                         : NewPodControl(ctx.client(), recorder_)),
        expectations_(ctx.clock()),
        runner_(options.max_parallel_writes),
        queue_(QueueOptions(kind_.controller_name, ctx.clock()),
               [this](const std::string& key) { return Sync(key); }) {
    owners->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& o, bool) { queue_.Enqueue(*o); },
        .on_update =
            [this](const client::ObjectPtr& old, const client::ObjectPtr& cur) {
              if (api::GetUid(*old) != api::GetUid(*cur)) OwnerDeleted(*old);
              // Every update: a resync must retry owners whose creates failed earlier.
              queue_.Enqueue(*cur);
            },
        .on_delete = [this](const client::ObjectPtr& o, bool) { OwnerDeleted(*o); },
    });
    pods->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& p, bool) { PodAdded(*p); },
        .on_update = [this](const client::ObjectPtr& old,
                            const client::ObjectPtr& cur) { PodUpdated(*old, *cur); },
        .on_delete = [this](const client::ObjectPtr& p, bool) { PodDeleted(*p); },
    });
  }

  void Start() override { queue_.Start(kind_.workers); }
  void Stop() override { queue_.Stop(); }

 private:
  // --- Event handlers (the informers' handler threads). ---

  void OwnerDeleted(const api::Object& owner) {
    std::string key = client::ObjectKey(owner);
    // A new owner of the same name starts clean.
    expectations_.DeleteExpectations(key);
    queue_.Enqueue(key);
  }

  // The owner the controller reference `obj` carries points at, if it is one of ours and
  // cached with that uid.
  client::ObjectPtr ResolveControllerRef(const api::Object& obj) const {
    if (ControllerKindOf(obj) != kind_.kind) return nullptr;
    client::ObjectPtr owner = owners_.Get(api::GetNamespace(obj), ControllerNameOf(obj));
    if (!owner || api::GetUid(*owner) != ControllerUidOf(obj)) return nullptr;
    return owner;
  }

  // Owners of the pod's namespace whose selector matches it (for orphans).
  std::vector<client::ObjectPtr> OwnersSelecting(const api::Object& pod) const {
    std::vector<client::ObjectPtr> out;
    auto in_ns = owners_.ByIndex(client::kNamespaceIndex, api::GetNamespace(pod));
    if (!in_ns.ok()) return out;
    for (auto& o : *in_ns) {
      auto sel = kind_.selector(*o);
      if (!sel.ok() || sel->Empty()) continue;
      if (SelectorMatches(*sel, pod)) out.push_back(std::move(o));
    }
    if (out.size() > 1) {
      LogWarning(kind_.controller_name, "user error! more than one " + kind_.kind +
                                            " is selecting pod " + PodKey(pod));
    }
    return out;
  }

  void PodAdded(const api::Object& pod) {
    if (api::IsBeingDeleted(pod)) {
      // A restarted manager sees pods already being deleted: not a creation to observe.
      PodDeleted(pod);
      return;
    }
    if (!ControllerUidOf(pod).empty()) {
      client::ObjectPtr owner = ResolveControllerRef(pod);
      if (!owner) return;
      std::string key = client::ObjectKey(*owner);
      expectations_.CreationObserved(key);
      queue_.Enqueue(key);
      return;
    }
    // An orphan: the owners that select it may adopt it. No creation is observed.
    for (const auto& o : OwnersSelecting(pod)) queue_.Enqueue(*o);
  }

  void PodUpdated(const api::Object& old, const api::Object& cur) {
    if (api::GetResourceVersion(old) == api::GetResourceVersion(cur)) return;  // resync
    bool labels_changed = !SameLabels(old, cur);
    if (api::IsBeingDeleted(cur)) {
      // Graceful deletion started: the owner should replace the pod now, not when the kubelet
      // is done with it.
      PodDeleted(cur);
      if (labels_changed) PodDeleted(old);
      return;
    }
    json::value cur_ref = ControllerRefJson(cur);
    json::value old_ref = ControllerRefJson(old);
    bool ref_changed = cur_ref != old_ref;
    if (ref_changed && !old_ref.is_null()) {
      if (client::ObjectPtr o = ResolveControllerRef(old)) queue_.Enqueue(*o);
    }
    if (!cur_ref.is_null()) {
      client::ObjectPtr owner = ResolveControllerRef(cur);
      if (!owner) return;
      queue_.Enqueue(*owner);
      int64_t min_ready = IntAt(*owner, {"spec", "minReadySeconds"});
      if (!IsPodReady(old) && IsPodReady(cur) && min_ready > 0) {
        // Check availability once it can have happened (a second more against skew).
        queue_.EnqueueAfter(client::ObjectKey(*owner),
                            std::chrono::seconds(min_ready) + std::chrono::seconds(1));
      }
      return;
    }
    if (labels_changed || ref_changed) {
      for (const auto& o : OwnersSelecting(cur)) queue_.Enqueue(*o);
    }
  }

  void PodDeleted(const api::Object& pod) {
    if (ControllerUidOf(pod).empty()) return;  // nobody waits for orphans
    client::ObjectPtr owner = ResolveControllerRef(pod);
    if (!owner) return;
    std::string key = client::ObjectKey(*owner);
    expectations_.DeletionObserved(key, PodKey(pod));
    queue_.Enqueue(key);
  }

  // --- The sync (worker threads). ---

  Status Sync(const std::string& key) {
    auto [ns, name] = SplitKey(key);
    client::ObjectPtr owner = owners_.Get(ns, name);
    if (!owner) {
      expectations_.DeleteExpectations(key);
      return Status::Ok();
    }
    bool needs_sync = expectations_.SatisfiedExpectations(key);
    auto selector = kind_.selector(*owner);
    if (!selector.ok()) {
      // Validation keeps these out; nothing to act on, and retrying will not help.
      LogWarning(kind_.controller_name, "error converting pod selector to selector for " +
                                            kind_.kind + " " + key + ": " +
                                            selector.status().message());
      return Status::Ok();
    }
    std::string uid(api::GetUid(*owner));
    std::vector<client::ObjectPtr> candidates = ClaimCandidates(pods_, ns, uid);
    std::erase_if(candidates, [](const client::ObjectPtr& p) { return !IsPodActive(*p); });

    ControllerRefManager refs(
        *owner, *selector, kind_.api_version, kind_.kind, pods_client_.Namespace(ns),
        ControllerRefManager::RecheckDeletionTimestamp(owner_client_.Namespace(ns),
                                                       std::string(name), uid));
    Status claim_errors;
    std::vector<client::ObjectPtr> pods = refs.Claim(candidates, nullptr, &claim_errors);
    if (!claim_errors.ok()) return claim_errors;

    Status manage = Status::Ok();
    if (needs_sync && !api::IsBeingDeleted(*owner)) manage = ManageReplicas(key, pods, *owner);

    json::object status = CalculateStatus(*owner, pods, manage);
    auto updated = UpdateStatus(owner, std::move(status));
    if (!updated.ok()) return updated.status();
    const api::Object& u = **updated;
    int64_t min_ready = IntAt(u, {"spec", "minReadySeconds"});
    int64_t replicas = SpecReplicas(u);
    if (manage.ok() && min_ready > 0 && IntAt(u, {"status", "readyReplicas"}) == replicas &&
        IntAt(u, {"status", "availableReplicas"}) != replicas) {
      // A last line of defense against clock skew.
      queue_.EnqueueAfter(key, std::chrono::seconds(min_ready));
    }
    return manage;
  }

  Status ManageReplicas(const std::string& key, const std::vector<client::ObjectPtr>& pods,
                        const api::Object& owner) {
    int64_t diff = static_cast<int64_t>(pods.size()) - SpecReplicas(owner);
    std::string ns(api::GetNamespace(owner));
    if (diff < 0) {
      int count = static_cast<int>(std::min<int64_t>(-diff, burst_replicas_));
      // Expected before the first create is sent: the informer may see it before we return.
      expectations_.ExpectCreations(key, count);
      api::OwnerReference ref = NewControllerRef(owner, kind_.api_version, kind_.kind);
      const api::Object* tmpl = ObjectAt(owner, {"spec", "template"});
      static const api::Object kEmpty;
      auto pod = PodFromTemplate(tmpl ? *tmpl : kEmpty, owner, &ref);
      SlowStartResult r = SlowStartBatch(
          count, kSlowStartInitialBatchSize, runner_, [&]() -> Status {
            if (!pod.ok()) {
              recorder_->Event(owner, client::kEventTypeWarning, "FailedCreate", "Create",
                               "Error creating: " + pod.status().message());
              return pod.status();
            }
            auto created = pod_control_->CreatePod(ns, *pod, owner);
            if (created.ok()) return Status::Ok();
            // Every create in a terminating namespace fails: nothing to do.
            if (HasNamespaceTerminatingCause(created.error())) return Status::Ok();
            return created.error().ToStatus();
          });
      // Creates that failed or never started will not be observed.
      if (int skipped = count - r.successes; skipped > 0) {
        expectations_.LowerExpectations(key, skipped, 0);
      }
      return r.first_error;
    }
    if (diff > 0) {
      size_t count = static_cast<size_t>(std::min<int64_t>(diff, burst_replicas_));
      std::vector<client::ObjectPtr> doomed =
          GetPodsToDelete(pods, IndirectlyRelatedPods(owner), count, clock_->Now());
      std::vector<std::string> keys;
      keys.reserve(doomed.size());
      for (const auto& p : doomed) keys.push_back(PodKey(*p));
      // Recorded before the deletes so that each is counted once, whether the informer
      // reports a deletion timestamp or the pod gone.
      expectations_.ExpectDeletions(key, keys);
      std::mutex mu;
      Status first = Status::Ok();
      runner_.Run(static_cast<int>(doomed.size()), [&](int i) {
        auto deleted = pod_control_->DeletePod(ns, api::GetName(*doomed[i]), owner);
        if (deleted.ok()) return;
        // Not deleted: the informer will not report it.
        expectations_.DeletionObserved(key, keys[i]);
        if (api::IsNotFound(deleted.error())) return;
        std::lock_guard lock(mu);
        if (first.ok()) first = deleted.error().ToStatus();
      });
      return first;
    }
    return Status::Ok();
  }

  // The active pods of every owner controlled by the same controller as `owner` (the
  // ReplicaSets of one Deployment), for the deletion ranking. None for an owner without a
  // controller, as upstream.
  std::vector<client::ObjectPtr> IndirectlyRelatedPods(const api::Object& owner) const {
    std::vector<client::ObjectPtr> out;
    std::string_view controller = ControllerUidOf(owner);
    if (controller.empty()) return out;
    for (const auto& sibling : ControlledBy(owners_, controller)) {
      for (auto& p : ControlledBy(pods_, api::GetUid(*sibling))) out.push_back(std::move(p));
    }
    return out;
  }

  json::object CalculateStatus(const api::Object& owner, const std::vector<client::ObjectPtr>& pods,
                               const Status& manage) const {
    const api::Object* template_labels = ObjectAt(owner, {"spec", "template", "metadata", "labels"});
    int64_t min_ready = IntAt(owner, {"spec", "minReadySeconds"});
    Clock::WallTime now = clock_->Now();
    int64_t fully_labeled = 0, ready = 0, available = 0;
    for (const auto& p : pods) {
      if (FullyLabeled(template_labels, *p)) ++fully_labeled;
      if (IsPodReady(*p)) {
        ++ready;
        if (IsPodAvailable(*p, min_ready, now)) ++available;
      }
    }
    json::object status;
    if (const api::Object* old = ObjectAt(owner, {"status"})) status = *old;
    const api::Object* failure = StatusCondition(owner, "ReplicaFailure");
    if (!manage.ok() && failure == nullptr) {
      int64_t diff = static_cast<int64_t>(pods.size()) - SpecReplicas(owner);
      std::string reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
      json::array conditions;
      if (const auto* c = status.if_contains("conditions"); c && c->is_array()) {
        conditions = c->get_array();
      }
      conditions.push_back(json::object{{"type", "ReplicaFailure"},
                                        {"status", "True"},
                                        {"lastTransitionTime", Timestamp(now)},
                                        {"reason", reason},
                                        {"message", manage.message()}});
      status["conditions"] = std::move(conditions);
    } else if (manage.ok() && failure != nullptr) {
      json::array conditions;
      for (const auto& c : status.at("conditions").get_array()) {
        const json::object* co = c.if_object();
        const json::value* t = co ? co->if_contains("type") : nullptr;
        if (t && t->is_string() && t->get_string() == "ReplicaFailure") continue;
        conditions.push_back(c);
      }
      if (conditions.empty()) {
        status.erase("conditions");
      } else {
        status["conditions"] = std::move(conditions);
      }
    }
    auto set = [&](const char* field, int64_t v) {
      // Zero counters are left out, as upstream's omitempty fields are.
      if (v == 0) {
        status.erase(field);
      } else {
        status[field] = v;
      }
    };
    status["replicas"] = static_cast<int64_t>(pods.size());
    set("fullyLabeledReplicas", fully_labeled);
    set("readyReplicas", ready);
    set("availableReplicas", available);
    return status;
  }

  // Writes `status` unless nothing changed; one retry on a failed write, with a fresh read.
  Result<client::ObjectPtr> UpdateStatus(const client::ObjectPtr& owner, json::object status) {
    auto same = [&](const api::Object& o) {
      for (const char* f : {"replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"}) {
        if (IntAt(o, {"status", f}) != AsInt(status.if_contains(f)).value_or(0)) return false;
      }
      if (api::GetGeneration(o) != IntAt(o, {"status", "observedGeneration"})) return false;
      const json::value* a = ValueAt(o, {"status", "conditions"});
      const json::value* b = status.if_contains("conditions");
      bool a_empty = a == nullptr || (a->is_array() && a->get_array().empty());
      bool b_empty = b == nullptr || (b->is_array() && b->get_array().empty());
      if (a_empty || b_empty) return a_empty == b_empty;
      return *a == *b;
    };
    if (same(*owner)) return owner;
    client::ResourceClient client = owner_client_.Namespace(api::GetNamespace(*owner));
    api::Object copy = *owner;
    // The generation acted on, so a retry does not claim a newer spec was seen.
    int64_t generation = api::GetGeneration(*owner);
    if (generation != 0) {
      status["observedGeneration"] = generation;
    } else {
      status.erase("observedGeneration");
    }
    for (int attempt = 0;; ++attempt) {
      copy["status"] = status;
      auto written = client.UpdateStatus(copy);
      if (written.ok()) return std::make_shared<const api::Object>(std::move(*written));
      if (attempt >= 1) return written.error().ToStatus();
      auto fresh = client.Get(api::GetName(*owner));
      if (!fresh.ok()) return fresh.error().ToStatus();
      copy = std::move(*fresh);
    }
  }

  const ReplicaSetKind kind_;
  const int burst_replicas_;
  const std::shared_ptr<const Clock> clock_;
  const client::Indexer& owners_;
  const client::Indexer& pods_;
  const client::ResourceClient owner_client_;
  const client::ResourceClient pods_client_;
  client::EventRecorder* const recorder_;
  const std::unique_ptr<PodControl> pod_control_;
  ControllerExpectations expectations_;
  ParallelRunner runner_;
  QueueWorker queue_;  // last: its workers use everything above
};

}  // namespace

ReplicaSetKind ReplicaSetKindFor(const ControllerOptions& options) {
  ReplicaSetKind k;
  k.controller_name = "replicaset-controller";
  k.group = "apps";
  k.resource = "replicasets";
  k.api_version = "apps/v1";
  k.kind = "ReplicaSet";
  k.selector = [](const api::Object& rs) {
    return SelectorFromStructured(ValueAt(rs, {"spec", "selector"}));
  };
  k.workers = options.concurrent_replicaset_syncs;
  return k;
}

Result<std::unique_ptr<Controller>> NewReplicaSetControllerFor(ControllerContext& ctx,
                                                               ReplicaSetKind kind,
                                                               ReplicaSetControllerOptions options) {
  client::SharedInformer* owners = ctx.Informer(kind.group, kind.resource);
  client::SharedInformer* pods = ctx.Informer("", "pods");
  if (!owners || !pods) return InternalError(kind.resource + " or pods unknown");
  auto owner_client = ctx.client()->Resource(kind.group, kind.resource);
  if (!owner_client.ok()) return InternalError(kind.resource + " unknown");
  AddWorkloadIndexes(owners);
  AddWorkloadIndexes(pods);
  return std::unique_ptr<Controller>(new ReplicaSetController(
      ctx, std::move(kind), std::move(options), owners, pods, std::move(*owner_client)));
}

Result<std::unique_ptr<Controller>> NewReplicaSetController(ControllerContext& ctx) {
  return NewReplicaSetControllerFor(ctx, ReplicaSetKindFor(ctx.options()));
}

}  // namespace keelson::controllers
