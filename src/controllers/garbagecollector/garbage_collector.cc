#include "controllers/garbagecollector/garbage_collector.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/json.hpp>

#include "api/errors.h"
#include "api/object.h"
#include "common/log.h"
#include "controllers/base/discovery.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kName = "garbage-collector-controller";
constexpr std::string_view kOrphan = "orphan";
constexpr std::string_view kForeground = "foregroundDeletion";

std::string_view GroupOf(std::string_view api_version) {
  auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

// A node of the ownership graph. Guarded by the collector's mutex.
struct Node {
  std::string uid;
  std::string api_version;
  std::string kind;
  std::string ns;  // the object's; for a virtual node, its first dependent's
  std::string name;
  bool is_virtual = false;        // only seen as an owner so far
  bool being_deleted = false;
  bool deleting_dependents = false;  // being deleted with foregroundDeletion
  bool orphaning = false;            // being deleted with orphan
  std::vector<api::OwnerReference> owners;
  std::unordered_set<Node*> dependents;
  client::ObjectPtr latest;       // the object as last seen (null when virtual)
};

// Uids confirmed absent by a GET, most recent first (upstream's absentOwnerCache).
class AbsentCache {
 public:
  explicit AbsentCache(size_t capacity) : capacity_(capacity) {}
  void Add(const std::string& uid) {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(uid); it != index_.end()) order_.erase(it->second);
    order_.push_front(uid);
    index_[uid] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
  }
  bool Has(const std::string& uid) {
    std::lock_guard lock(mu_);
    return index_.contains(uid);
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::list<std::string> order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

class GarbageCollector final : public Controller {
 public:
  explicit GarbageCollector(ControllerContext& ctx)
      : ctx_(ctx),
        discovery_(ctx.client()),
        absent_(10000),
        delete_queue_(QueueOptions("garbage-collector-delete", ctx),
                      [this](const std::string& uid) { return AttemptToDelete(uid); }),
        orphan_queue_(QueueOptions("garbage-collector-orphan", ctx),
                      [this](const std::string& uid) { return AttemptToOrphan(uid); }) {}

  ~GarbageCollector() override { Stop(); }

  // Makes an informer for every resource the collector follows (before the manager starts
  // and syncs them).
  Status Monitor() {
    auto resources = discovery_.Resources();
    if (!resources.ok()) return resources.error().ToStatus();
    const auto& ignored = ctx_.options().gc_ignored_resources;
    for (const api::ResourceInfo* r : *resources) {
      const std::string qualified = r->group.empty() ? r->resource : r->resource + "." + r->group;
      if (std::find(ignored.begin(), ignored.end(), qualified) != ignored.end()) continue;
      auto has = [&](std::string_view v) {
        return std::find(r->verbs.begin(), r->verbs.end(), v) != r->verbs.end();
      };
      if (!has("list") || !has("watch") || !has("delete")) continue;
      mapper_[{r->group, r->kind}] = r;
      client::SharedInformer* informer = ctx_.informers()->InformerFor(*r);
      informer->AddEventHandler({
          .on_add = [this, r](const client::ObjectPtr& obj, bool) { Push({r, obj, false}); },
          .on_update =
              [this, r](const client::ObjectPtr& old_obj, const client::ObjectPtr& obj) {
                if (old_obj != obj) Push({r, obj, false});  // resyncs change nothing
              },
          .on_delete = [this, r](const client::ObjectPtr& obj,
                                 bool) { Push({r, obj, true}); },
      });
    }
    return Status::Ok();
  }

  void Start() override {
    std::lock_guard lock(events_mu_);
    if (graph_thread_.joinable()) return;
    graph_thread_ = std::thread([this] { ProcessEvents(); });
    const int workers = std::max(1, ctx_.options().concurrent_gc_syncs);
    delete_queue_.Start(workers);
    orphan_queue_.Start(std::min(workers, 4));
  }

  void Stop() override {
    {
      std::lock_guard lock(events_mu_);
      stopping_ = true;
    }
    events_cv_.notify_all();
    if (graph_thread_.joinable()) graph_thread_.join();
    delete_queue_.Stop();
    orphan_queue_.Stop();
  }

 private:
  struct Event {
    const api::ResourceInfo* resource = nullptr;
    client::ObjectPtr obj;  // null for a virtual delete
    bool deleted = false;
    std::string uid;        // a virtual delete's uid
  };

  static QueueWorkerOptions QueueOptions(std::string name, ControllerContext& ctx) {
    QueueWorkerOptions o;
    o.name = std::move(name);
    o.clock = ctx.clock();
    return o;
  }

  void Push(Event e) {
    {
      std::lock_guard lock(events_mu_);
      events_.push_back(std::move(e));
    }
    events_cv_.notify_one();
  }

  void ProcessEvents() {
    std::unique_lock lock(events_mu_);
    while (true) {
      events_cv_.wait(lock, [&] { return stopping_ || !events_.empty(); });
      if (stopping_) return;
      std::deque<Event> batch;
      batch.swap(events_);
      lock.unlock();
      {
        std::lock_guard graph(mu_);
        for (auto& e : batch) Apply(e);
      }
      lock.lock();
    }
  }

  // --- the graph (mu_ held) -------------------------------------------------------------

  Node* Find(const std::string& uid) {
    auto it = nodes_.find(uid);
    return it == nodes_.end() ? nullptr : it->second.get();
  }

  void Apply(const Event& e) {
    if (!e.obj) return RemoveNode(e.uid, /*virtual_delete=*/true);
    const std::string uid(api::GetUid(*e.obj));
    if (uid.empty()) return;
    if (e.deleted) return RemoveNode(uid, false);
    Node* node = Find(uid);
    const bool was_deleting = node && node->deleting_dependents;
    const bool was_orphaning = node && node->orphaning;
    std::vector<api::OwnerReference> owners = api::GetOwnerReferences(*e.obj);
    if (!node) {
      auto fresh = std::make_unique<Node>();
      node = fresh.get();
      node->uid = uid;
      nodes_.emplace(uid, std::move(fresh));
    }
    node->is_virtual = false;
    node->api_version = e.resource->GroupVersion();
    node->kind = e.resource->kind;
    node->ns = std::string(api::GetNamespace(*e.obj));
    node->name = std::string(api::GetName(*e.obj));
    UpdateOwners(node, owners);
    node->latest = e.obj;
    node->being_deleted = api::IsBeingDeleted(*e.obj);
    node->deleting_dependents = node->being_deleted && api::HasFinalizer(*e.obj, kForeground);
    node->orphaning = node->being_deleted && api::HasFinalizer(*e.obj, kOrphan);
    if (node->orphaning && !was_orphaning) orphan_queue_.Enqueue(uid);
    if (node->deleting_dependents && !was_deleting) {
      for (Node* dep : node->dependents) delete_queue_.Enqueue(dep->uid);
      delete_queue_.Enqueue(uid);
    }
  }

  // Links `node` to the owners in `now` it is not linked to yet, unlinks it from those gone;
  // owners waiting on their dependents are looked at again when one leaves or stops blocking.
  void UpdateOwners(Node* node, const std::vector<api::OwnerReference>& now) {
    auto find_ref = [](const std::vector<api::OwnerReference>& refs, const std::string& uid) {
      return std::find_if(refs.begin(), refs.end(),
                          [&](const api::OwnerReference& r) { return r.uid == uid; });
    };
    for (const auto& old_ref : node->owners) {
      auto still = find_ref(now, old_ref.uid);
      Node* owner = Find(old_ref.uid);
      if (!owner) continue;
      if (still == now.end()) owner->dependents.erase(node);
      const bool unblocked = still == now.end() ||
                             (old_ref.block_owner_deletion && !still->block_owner_deletion);
      if (unblocked && owner->deleting_dependents) delete_queue_.Enqueue(owner->uid);
    }
    for (const auto& ref : now) {
      if (find_ref(node->owners, ref.uid) != node->owners.end()) continue;
      Node* owner = Find(ref.uid);
      if (!owner) {
        // Not seen (yet): a virtual owner, verified against the API.
        auto fresh = std::make_unique<Node>();
        owner = fresh.get();
        owner->uid = ref.uid;
        owner->api_version = ref.api_version;
        owner->kind = ref.kind;
        owner->name = ref.name;
        owner->is_virtual = true;
        nodes_.emplace(ref.uid, std::move(fresh));
        delete_queue_.Enqueue(ref.uid);
      }
      if (owner->is_virtual && owner->ns.empty() && owner->dependents.empty()) {
        owner->ns = node->ns;  // a namespaced owner is in its dependents' namespace
      }
      owner->dependents.insert(node);
    }
    node->owners = now;
  }

  void RemoveNode(const std::string& uid, bool virtual_delete) {
    Node* node = Find(uid);
    if (!node) return;
    // A virtual delete only removes a node that is still virtual (an observed object is the
    // informers' to remove).
    if (virtual_delete && !node->is_virtual) return;
    if (!node->dependents.empty()) absent_.Add(uid);
    for (Node* dep : node->dependents) delete_queue_.Enqueue(dep->uid);
    for (const auto& ref : node->owners) {
      Node* owner = Find(ref.uid);
      if (!owner) continue;
      owner->dependents.erase(node);
      if (owner->deleting_dependents) delete_queue_.Enqueue(owner->uid);
    }
    // Dependents keep their references to this uid, which is gone from the graph (and
    // remembered as absent).
    nodes_.erase(uid);
  }

  // --- the API ------------------------------------------------------------------------------

  // The resource of `kind` in the group of `api_version`, re-reading discovery once when
  // unknown.
  const api::ResourceInfo* Resolve(std::string_view api_version, std::string_view kind) {
    std::lock_guard lock(mapper_mu_);
    auto key = std::make_pair(std::string(GroupOf(api_version)), std::string(kind));
    if (auto it = mapper_.find(key); it != mapper_.end()) return it->second;
    discovery_.Invalidate();
    if (auto all = discovery_.Resources(); all.ok()) {
      for (const api::ResourceInfo* r : *all) mapper_[{r->group, r->kind}] = r;
    }
    auto it = mapper_.find(key);
    return it == mapper_.end() ? nullptr : it->second;
  }

  // Whether the owner `ref` of an object in namespace `ns` exists: from the graph when it
  // holds the owner as observed, else from the API (and the cache of absent uids). The owner
  // object when found through the API (null otherwise).
  enum class OwnerState { kSolid, kDangling, kWaiting };
  api::ApiResult<OwnerState> ClassifyOwner(const api::OwnerReference& ref, const std::string& ns) {
    {
      std::lock_guard lock(mu_);
      if (Node* owner = Find(ref.uid); owner && !owner->is_virtual) {
        return owner->deleting_dependents ? OwnerState::kWaiting : OwnerState::kSolid;
      }
    }
    if (absent_.Has(ref.uid)) return OwnerState::kDangling;
    const api::ResourceInfo* r = Resolve(ref.api_version, ref.kind);
    if (!r) {
      api::ApiError e = api::NewBadRequest("owner kind " + ref.kind + " of " + ref.api_version +
                                           " is not served");
      e.reason = "UnknownOwnerKind";
      return e;
    }
    auto owner = ctx_.client()->Resource(*r).Namespace(r->namespaced ? ns : "").Get(ref.name);
    if (api::IsNotFound(owner) || (owner.ok() && api::GetUid(*owner) != ref.uid)) {
      absent_.Add(ref.uid);
      return OwnerState::kDangling;
    }
    if (!owner.ok()) return owner.error();
    return api::IsBeingDeleted(*owner) && api::HasFinalizer(*owner, kForeground)
               ? OwnerState::kWaiting
               : OwnerState::kSolid;
  }

  // The attempt-to-delete work item.
  Status AttemptToDelete(const std::string& uid) {
    std::unique_lock lock(mu_);
    Node* node = Find(uid);
    if (!node) return Status::Ok();
    if (node->is_virtual) {
      std::string api_version = node->api_version, kind = node->kind, ns = node->ns,
                  name = node->name;
      lock.unlock();
      return VerifyVirtual(uid, api_version, kind, ns, name);
    }
    if (node->deleting_dependents) return ProcessDeletingDependents(node, lock);
    if (node->being_deleted) return Status::Ok();
    client::ObjectPtr obj = node->latest;
    std::vector<api::OwnerReference> owners = node->owners;
    const bool has_dependents = !node->dependents.empty();
    const std::string api_version = node->api_version, kind = node->kind, ns = node->ns;
    lock.unlock();
    if (owners.empty()) return Status::Ok();

    std::vector<std::string> dangling, waiting;
    bool solid = false;
    for (const auto& ref : owners) {
      auto state = ClassifyOwner(ref, ns);
      if (!state.ok()) {
        // An owner of a kind not served: backoff without noise (see VerifyVirtual).
        if (state.error().reason == "UnknownOwnerKind") {
          return FailedPreconditionError(state.error().message);
        }
        return state.error().ToStatus();
      }
      switch (*state) {
        case OwnerState::kSolid: solid = true; break;
        case OwnerState::kDangling: dangling.push_back(ref.uid); break;
        case OwnerState::kWaiting: waiting.push_back(ref.uid); break;
      }
    }
    if (solid) {
      if (dangling.empty() && waiting.empty()) return Status::Ok();
      // Keeps the solid owners only.
      std::vector<std::string> drop = dangling;
      drop.insert(drop.end(), waiting.begin(), waiting.end());
      return RemoveOwnerRefs(api_version, kind, *obj, drop);
    }
    std::string policy;
    if (!waiting.empty() && has_dependents) {
      policy = "Foreground";  // its own dependents go first, its owners wait for it
    } else if (api::HasFinalizer(*obj, kOrphan)) {
      policy = "Orphan";
    } else if (api::HasFinalizer(*obj, kForeground)) {
      policy = "Foreground";
    } else {
      policy = "Background";
    }
    return DeleteObject(api_version, kind, *obj, policy);
  }

  Status VerifyVirtual(const std::string& uid, const std::string& api_version,
                       const std::string& kind, const std::string& ns, const std::string& name) {
    const api::ResourceInfo* r = Resolve(api_version, kind);
    if (!r) {
      // A kind the server does not serve (yet: a custom resource may come): tried again with
      // backoff, as upstream does, and nothing is deleted meanwhile.
      return FailedPreconditionError("owner kind " + kind + " of " + api_version + " is not served");
    }
    auto owner = ctx_.client()->Resource(*r).Namespace(r->namespaced ? ns : "").Get(name);
    if (owner.ok() && api::GetUid(*owner) == uid) return Status::Ok();  // its informer will tell
    if (!owner.ok() && !api::IsNotFound(owner)) return owner.error().ToStatus();
    absent_.Add(uid);
    Push({nullptr, nullptr, true, uid});
    return Status::Ok();
  }

  // An owner in the foreground: its dependents go; without blocking ones left, so does its
  // finalizer. `lock` holds mu_.
  Status ProcessDeletingDependents(Node* node, std::unique_lock<std::mutex>& lock) {
    bool blocked = false;
    std::vector<std::string> to_delete;  // blocking dependents not in the foreground yet
    for (Node* dep : node->dependents) {
      for (const auto& ref : dep->owners) {
        if (ref.uid != node->uid || !ref.block_owner_deletion) continue;
        blocked = true;
        if (!dep->deleting_dependents) to_delete.push_back(dep->uid);
      }
    }
    const std::string api_version = node->api_version, kind = node->kind, ns = node->ns,
                      name = node->name;
    lock.unlock();
    if (blocked) {
      for (const auto& dep : to_delete) delete_queue_.Enqueue(dep);
      return Status::Ok();  // each dependent's removal queues the owner again
    }
    return RemoveFinalizer(api_version, kind, ns, name, kForeground);
  }

  // The attempt-to-orphan work item: the owner's references leave its dependents, then its
  // orphan finalizer goes.
  Status AttemptToOrphan(const std::string& uid) {
    std::vector<std::pair<std::string, client::ObjectPtr>> deps;  // (apiVersion/kind, object)
    std::string api_version, kind, ns, name;
    {
      std::lock_guard lock(mu_);
      Node* node = Find(uid);
      if (!node || !node->orphaning) return Status::Ok();
      api_version = node->api_version;
      kind = node->kind;
      ns = node->ns;
      name = node->name;
      for (Node* dep : node->dependents) {
        if (dep->latest) deps.emplace_back(dep->api_version + "\n" + dep->kind, dep->latest);
      }
    }
    for (const auto& [type, obj] : deps) {
      auto nl = type.find('\n');
      KEELSON_RETURN_IF_ERROR(
          RemoveOwnerRefs(type.substr(0, nl), type.substr(nl + 1), *obj, {uid}));
    }
    return RemoveFinalizer(api_version, kind, ns, name, kOrphan);
  }

  // Removes the references to `uids` from the object's ownerReferences (a merge patch with
  // its resourceVersion as precondition, read again on a conflict).
  Status RemoveOwnerRefs(const std::string& api_version, const std::string& kind,
                         const api::Object& seen, const std::vector<std::string>& uids) {
    const api::ResourceInfo* r = Resolve(api_version, kind);
    if (!r) return InternalError("unknown kind " + kind);
    auto rc = ctx_.client()->Resource(*r).Namespace(api::GetNamespace(seen));
    api::Object obj = seen;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (api::GetUid(obj) != api::GetUid(seen)) return Status::Ok();
      json::array keep;
      bool changed = false;
      for (const auto& ref : api::GetOwnerReferences(obj)) {
        if (std::find(uids.begin(), uids.end(), ref.uid) != uids.end()) {
          changed = true;
        } else {
          keep.push_back(api::ToJson(ref));
        }
      }
      if (!changed) return Status::Ok();
      json::object meta{{"resourceVersion", api::GetResourceVersion(obj)},
                        {"ownerReferences", keep.empty() ? json::value(nullptr) : json::value(keep)}};
      auto res = rc.Patch(api::GetName(obj), client::PatchType::kMerge,
                          json::serialize(json::object{{"metadata", std::move(meta)}}));
      if (res.ok() || api::IsNotFound(res)) return Status::Ok();
      if (!api::IsConflict(res)) return res.error().ToStatus();
      auto fresh = rc.Get(api::GetName(obj));
      if (api::IsNotFound(fresh)) return Status::Ok();
      if (!fresh.ok()) return fresh.error().ToStatus();
      obj = std::move(*fresh);
    }
    return Status(StatusCode::kConflict, "ownerReferences of " + std::string(api::GetName(seen)) +
                                             " kept changing");
  }

  Status RemoveFinalizer(const std::string& api_version, const std::string& kind,
                         const std::string& ns, const std::string& name,
                         std::string_view finalizer) {
    const api::ResourceInfo* r = Resolve(api_version, kind);
    if (!r) return InternalError("unknown kind " + kind);
    auto rc = ctx_.client()->Resource(*r).Namespace(r->namespaced ? ns : "");
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto obj = rc.Get(name);
      if (api::IsNotFound(obj)) return Status::Ok();
      if (!obj.ok()) return obj.error().ToStatus();
      if (!api::HasFinalizer(*obj, finalizer)) return Status::Ok();
      json::array keep;
      for (const auto& f : api::GetFinalizers(*obj)) {
        if (f != finalizer) keep.emplace_back(f);
      }
      json::object meta{{"resourceVersion", api::GetResourceVersion(*obj)},
                        {"finalizers", keep.empty() ? json::value(nullptr) : json::value(keep)}};
      auto res = rc.Patch(name, client::PatchType::kMerge,
                          json::serialize(json::object{{"metadata", std::move(meta)}}));
      if (res.ok() || api::IsNotFound(res)) return Status::Ok();
      if (!api::IsConflict(res)) return res.error().ToStatus();
    }
    return Status(StatusCode::kConflict, "finalizers of " + name + " kept changing");
  }

  // Deletes the object as last seen (uid and resourceVersion preconditions).
  Status DeleteObject(const std::string& api_version, const std::string& kind,
                      const api::Object& obj, const std::string& policy) {
    const api::ResourceInfo* r = Resolve(api_version, kind);
    if (!r) return InternalError("unknown kind " + kind);
    client::DeleteOptions opts;
    opts.propagation_policy = policy;
    opts.precondition_uid = std::string(api::GetUid(obj));
    opts.precondition_resource_version = std::string(api::GetResourceVersion(obj));
    auto res = ctx_.client()->Resource(*r).Namespace(api::GetNamespace(obj)).Delete(
        api::GetName(obj), opts);
    if (res.ok() || api::IsNotFound(res)) return Status::Ok();
    // A conflict: the object changed since the informer's copy; its update event brings the
    // newer copy, and the key is tried again.
    return res.error().ToStatus();
  }

  ControllerContext& ctx_;
  ResourceDiscovery discovery_;
  AbsentCache absent_;

  std::mutex mapper_mu_;
  std::map<std::pair<std::string, std::string>, const api::ResourceInfo*> mapper_;  // mapper_mu_

  std::mutex mu_;  // the graph
  std::unordered_map<std::string, std::unique_ptr<Node>> nodes_;  // guarded by mu_

  std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::deque<Event> events_;  // guarded by events_mu_
  bool stopping_ = false;     // guarded by events_mu_
  std::thread graph_thread_;

  QueueWorker delete_queue_;
  QueueWorker orphan_queue_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewGarbageCollector(ControllerContext& ctx) {
  auto gc = std::make_unique<GarbageCollector>(ctx);
  KEELSON_RETURN_IF_ERROR(gc->Monitor());
  return std::unique_ptr<Controller>(std::move(gc));
}

}  // namespace keelson::controllers
