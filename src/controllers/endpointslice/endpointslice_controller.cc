#include "controllers/endpointslice/endpointslice_controller.h"

#include <boost/json.hpp>

#include <charconv>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "common/log.h"
#include "controllers/endpoint/endpoints_util.h"
#include "controllers/endpointslice/reconciler.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kName = "endpointslice-controller";
constexpr int kMaxRetries = 15;
// Changes of slices queue their Service after this delay, so that a burst is one sync
// (upstream's endpointSliceChangeMinSyncDelay).
constexpr auto kSliceChangeDelay = 1s;

int64_t Revision(std::string_view rv) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), n);
  return ec == std::errc() && p == rv.data() + rv.size() ? n : 0;
}

std::string ServiceKeyOf(const api::Object& slice) {
  auto labels = api::GetLabels(slice);
  auto it = labels.find(kLabelServiceName);
  if (it == labels.end() || it->second.empty()) return "";
  return std::string(api::GetNamespace(slice)) + "/" + it->second;
}

bool ManagedByUs(const api::Object& slice) {
  auto labels = api::GetLabels(slice);
  auto it = labels.find(kLabelManagedBy);
  return it != labels.end() && it->second == kEndpointSliceControllerName;
}

// Upstream's EndpointSliceTracker, by resourceVersion (which keelson's API does not keep
// apart from generation for slices): the version of each slice this controller last wrote,
// or a deletion it expects.
class SliceTracker {
 public:
  static constexpr int64_t kDeletionExpected = -1;

  void Update(const api::Object& slice) {
    std::lock_guard lock(mu_);
    by_service_[ServiceKeyOf(slice)][std::string(api::GetUid(slice))] =
        Revision(api::GetResourceVersion(slice));
  }
  void ExpectDeletion(const api::Object& slice) {
    std::lock_guard lock(mu_);
    by_service_[ServiceKeyOf(slice)][std::string(api::GetUid(slice))] = kDeletionExpected;
  }
  // Whether a change of `slice` is someone else's (or unknown) and needs a sync.
  bool ShouldSync(const api::Object& slice) {
    std::lock_guard lock(mu_);
    auto s = by_service_.find(ServiceKeyOf(slice));
    if (s == by_service_.end()) return true;
    auto it = s->second.find(std::string(api::GetUid(slice)));
    return it == s->second.end() || Revision(api::GetResourceVersion(slice)) > it->second;
  }
  // Whether the cache is older than this controller's writes: a slice it wrote is missing or
  // older, or one it deleted is still there.
  bool Stale(const std::string& service, const std::vector<client::ObjectPtr>& slices) {
    std::lock_guard lock(mu_);
    auto s = by_service_.find(service);
    if (s == by_service_.end()) return false;
    std::map<std::string, int64_t, std::less<>> seen;
    for (const auto& slice : slices) {
      seen[std::string(api::GetUid(*slice))] = Revision(api::GetResourceVersion(*slice));
    }
    for (const auto& [uid, rv] : s->second) {
      auto it = seen.find(uid);
      if (rv == kDeletionExpected) {
        if (it != seen.end()) return true;
        continue;
      }
      if (it == seen.end() || it->second < rv) return true;
    }
    return false;
  }
  // A slice went away; false when this controller deleted it (no sync needed).
  bool HandleDeletion(const api::Object& slice) {
    std::lock_guard lock(mu_);
    auto s = by_service_.find(ServiceKeyOf(slice));
    if (s == by_service_.end()) return true;
    auto it = s->second.find(std::string(api::GetUid(slice)));
    if (it == s->second.end()) return true;
    bool expected = it->second == kDeletionExpected;
    s->second.erase(it);
    return !expected;
  }
  void DeleteService(const std::string& service) {
    std::lock_guard lock(mu_);
    by_service_.erase(service);
  }

 private:
  std::mutex mu_;
  // guarded by mu_: service key -> slice uid -> resourceVersion written (or deletion).
  std::map<std::string, std::map<std::string, int64_t, std::less<>>> by_service_;
};

class EndpointSliceController final : public Controller {
 public:
  EndpointSliceController(ControllerContext& ctx, client::SharedInformer* services,
                          client::SharedInformer* pods, client::SharedInformer* slices,
                          client::SharedInformer* nodes, client::ResourceClient client)
      : services_(&services->indexer()),
        pods_(&pods->indexer()),
        slices_(slices->lister()),
        nodes_(nodes->lister()),
        client_(std::move(client)),
        workers_(ctx.options().concurrent_service_endpoint_syncs),
        max_per_slice_(ctx.options().max_endpoints_per_slice),
        batch_(ctx.options().endpoint_updates_batch_period),
        queue_({.name = kName, .clock = ctx.clock(), .max_retries = kMaxRetries},
               [this](const std::string& key) { return SyncService(key); }) {
    services->AddEventHandler(queue_.EnqueueOnEveryChange());
    pods->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& p, bool) { PodChanged(nullptr, p.get()); },
        .on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& p) {
          PodChanged(old.get(), p.get());
        },
        .on_delete = [this](const client::ObjectPtr& p, bool) { PodChanged(p.get(), nullptr); },
    });
    slices->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& s, bool) {
          if (ManagedByUs(*s) && tracker_.ShouldSync(*s)) QueueServiceOf(*s);
        },
        .on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& s) {
          if (ServiceKeyOf(*old) != ServiceKeyOf(*s)) {
            QueueServiceOf(*s);
            QueueServiceOf(*old);
            return;
          }
          if (ManagedByUs(*old) != ManagedByUs(*s) || (ManagedByUs(*s) && tracker_.ShouldSync(*s))) {
            QueueServiceOf(*s);
          }
        },
        .on_delete = [this](const client::ObjectPtr& s, bool) {
          if (ManagedByUs(*s) && tracker_.HandleDeletion(*s)) QueueServiceOf(*s);
        },
    });
  }

  void Start() override { queue_.Start(workers_); }
  void Stop() override { queue_.Stop(); }

 private:
  void PodChanged(const api::Object* old, const api::Object* cur) {
    for (const auto& key : ServicesToUpdateOnPodChange(*services_, old, cur)) {
      if (batch_.count() > 0) {
        queue_.EnqueueAfter(key, batch_);
      } else {
        queue_.Enqueue(key);
      }
    }
  }

  void QueueServiceOf(const api::Object& slice) {
    std::string key = ServiceKeyOf(slice);
    if (!key.empty()) queue_.EnqueueAfter(key, kSliceChangeDelay);
  }

  Status SyncService(const std::string& key) {
    auto slash = key.find('/');
    const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    client::ObjectPtr service = services_->Get(ns, name);
    if (!service) {
      // Its slices are owned by it: the garbage collector deletes them.
      triggers_.DeleteService(key);
      tracker_.DeleteService(key);
      return Status::Ok();
    }
    if (api::FieldText(*service, "spec.type") == "ExternalName") return Status::Ok();
    if (!ServiceSelector(*service)) return Status::Ok();

    api::LabelSelector mine;
    {
      auto parsed = api::LabelSelector::Parse(std::string(kLabelServiceName) + "=" + name + "," +
                                              std::string(kLabelManagedBy) + "=" +
                                              kEndpointSliceControllerName);
      if (!parsed.ok()) return parsed.status();
      mine = std::move(*parsed);
    }
    std::vector<client::ObjectPtr> slices;
    for (auto& s : slices_.List(ns, mine)) {
      // Slices being deleted are left to finish (the controller would otherwise wait on them).
      if (!api::IsBeingDeleted(*s)) slices.push_back(std::move(s));
    }
    if (tracker_.Stale(key, slices)) {
      // Retried quietly, as a conflict: the cache catches up in a moment.
      return Status(StatusCode::kConflict,
                    "the EndpointSlice cache is out of date for service " + key);
    }
    std::vector<client::ObjectPtr> pods = PodsOfService(*pods_, *service);
    std::optional<Clock::WallTime> trigger = triggers_.Compute(*service, pods);

    ReconcileInput in;
    in.service = service.get();
    in.pods = std::move(pods);
    in.slices = std::move(slices);
    in.node = [this](const std::string& node) { return nodes_.Get("", node); };
    in.max_endpoints_per_slice = max_per_slice_;
    in.controller_name = kEndpointSliceControllerName;
    SlicePlan plan = PlanSlices(in);
    Status skipped = plan.error;
    Status written = Finalize(*service, std::move(plan), trigger);
    if (!written.ok()) return written;
    return skipped;
  }

  static void SetTriggerTime(api::Object* slice, const std::optional<Clock::WallTime>& trigger) {
    auto& meta = api::MutableMetadata(slice);
    auto& annotations = meta["annotations"];
    if (!annotations.is_object()) annotations = json::object();
    if (trigger) {
      annotations.as_object()[kLastChangeTriggerTimeAnnotation] = FormatRfc3339Nano(*trigger);
    } else {
      annotations.as_object().erase(kLastChangeTriggerTimeAnnotation);
    }
    if (annotations.as_object().empty()) meta.erase("annotations");
  }

  // Upstream's finalize: creates become updates of slices that would be deleted, then the
  // writes, recorded in the tracker.
  Status Finalize(const api::Object& service, SlicePlan plan,
                  const std::optional<Clock::WallTime>& trigger) {
    client::ResourceClient slices = client_.Namespace(api::GetNamespace(service));
    for (size_t i = 0; i < plan.remove.size() && !plan.create.empty();) {
      const api::Object& old = plan.remove[i];
      api::Object& slice = plan.create.back();
      bool owned = false;
      for (const auto& o : api::GetOwnerReferences(old)) {
        owned |= o.uid == api::GetUid(service) && o.kind == "Service" && o.api_version == "v1";
      }
      if (api::FieldText(old, "addressType") == api::FieldText(slice, "addressType") && owned) {
        api::SetName(&slice, api::GetName(old));
        api::MutableMetadata(&slice).erase("generateName");
        plan.update.push_back(std::move(slice));
        plan.create.pop_back();
        plan.remove.erase(plan.remove.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    // No new slices for a Service being deleted (the garbage collector is deleting them).
    if (!api::IsBeingDeleted(service)) {
      for (auto& slice : plan.create) {
        SetTriggerTime(&slice, trigger);
        auto created = slices.Create(slice);
        if (!created.ok()) {
          if (api::IsForbidden(created.error())) return Status::Ok();  // namespace terminating
          return created.error().ToStatus();
        }
        tracker_.Update(*created);
      }
    }
    for (auto& slice : plan.update) {
      SetTriggerTime(&slice, trigger);
      auto updated = slices.Update(slice);
      if (!updated.ok()) return updated.error().ToStatus();
      tracker_.Update(*updated);
    }
    for (const auto& slice : plan.remove) {
      auto r = slices.Delete(api::GetName(slice));
      if (!r.ok() && !api::IsNotFound(r.error())) return r.error().ToStatus();
      tracker_.ExpectDeletion(slice);
    }
    return Status::Ok();
  }

  const client::Indexer* services_;
  const client::Indexer* pods_;
  client::Lister slices_;
  client::Lister nodes_;
  client::ResourceClient client_;
  const int workers_;
  const int max_per_slice_;
  const std::chrono::nanoseconds batch_;
  SliceTracker tracker_;
  TriggerTimeTracker triggers_;
  QueueWorker queue_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewEndpointSliceController(ControllerContext& ctx) {
  if (ctx.options().max_endpoints_per_slice < 1 || ctx.options().max_endpoints_per_slice > 1000) {
    return InvalidArgumentError("--max-endpoints-per-slice must be within [1, 1000]");
  }
  client::SharedInformer* services = ctx.Informer("", "services");
  client::SharedInformer* pods = ctx.Informer("", "pods");
  client::SharedInformer* slices = ctx.Informer("discovery.k8s.io", "endpointslices");
  client::SharedInformer* nodes = ctx.Informer("", "nodes");
  auto client = ctx.client()->Resource("discovery.k8s.io", "endpointslices");
  if (!services || !pods || !slices || !nodes || !client.ok()) {
    return InternalError("services, pods, endpointslices or nodes unknown");
  }
  return std::unique_ptr<Controller>(
      new EndpointSliceController(ctx, services, pods, slices, nodes, std::move(*client)));
}

}  // namespace keelson::controllers
