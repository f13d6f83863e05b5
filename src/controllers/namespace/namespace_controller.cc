#include "controllers/namespace/namespace_controller.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "client/time_format.h"
#include "controllers/base/discovery.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kName = "namespace-controller";
constexpr std::string_view kKubernetesFinalizer = "kubernetes";
constexpr int64_t kRemainingPage = 500;

bool HasVerb(const api::ResourceInfo& r, std::string_view verb) {
  return std::find(r.verbs.begin(), r.verbs.end(), verb) != r.verbs.end();
}

std::vector<std::string> SpecFinalizers(const api::Object& ns) {
  std::vector<std::string> out;
  const auto* spec = ns.if_contains("spec");
  const auto* fins = spec && spec->is_object() ? spec->as_object().if_contains("finalizers")
                                                : nullptr;
  if (fins && fins->is_array()) {
    for (const auto& f : fins->as_array()) {
      if (f.is_string()) out.emplace_back(f.as_string());
    }
  }
  return out;
}

// One condition of the namespace's status: True with `reason`/`message` when `problem`, else
// False with the reason and message of things being fine (upstream's wording).
struct Condition {
  std::string type;
  bool problem = false;
  std::string reason;
  std::string message;
};

// What one pass over the content found.
struct Pass {
  std::vector<std::string> discovery_errors;  // group versions that could not be read
  std::vector<std::string> delete_errors;     // "pods: message"
  std::map<std::string, int64_t> remaining;   // "pods." (resource.group) -> count
  std::map<std::string, int64_t> finalizers;  // finalizer -> objects held
  int64_t estimate_seconds = 0;               // the longest grace period still running
  bool Empty() const { return remaining.empty(); }
};

std::string Joined(const std::map<std::string, int64_t>& counts, const char* what) {
  std::string out;
  for (const auto& [name, n] : counts) {
    out += (out.empty() ? "" : ", ") + name + " " + what + " " + std::to_string(n) +
           " resource instances";
  }
  return out;
}

class NamespaceController final : public Controller {
 public:
  NamespaceController(ControllerContext& ctx, client::SharedInformer* namespaces,
                      client::SharedInformer* pods)
      : ctx_(ctx),
        namespaces_lister_(namespaces->lister()),
        namespaces_(ctx.client()->Resource(namespaces->resource())),
        discovery_(ctx.client()),
        workers_(ctx.options().concurrent_namespace_syncs),
        queue_(Options(ctx), [this](const std::string& key) { return Sync(key); }) {
    auto enqueue_deleted = [this](const client::ObjectPtr& ns) {
      if (api::IsBeingDeleted(*ns)) queue_.Enqueue(*ns);
    };
    namespaces->AddEventHandler({
        .on_add = [enqueue_deleted](const client::ObjectPtr& ns, bool) { enqueue_deleted(ns); },
        .on_update = [enqueue_deleted](const client::ObjectPtr&, const client::ObjectPtr& ns) {
          enqueue_deleted(ns);
        },
    });
    // A pod of a namespace being emptied went: look again soon (coalesced).
    pods->AddEventHandler({
        .on_delete = [this](const client::ObjectPtr& pod, bool) {
          std::string ns(api::GetNamespace(*pod));
          client::ObjectPtr owner = namespaces_lister_.Get("", ns);
          if (owner && api::IsBeingDeleted(*owner)) queue_.EnqueueAfter(ns, 200ms);
        },
    });
  }

  void Start() override { queue_.Start(workers_); }
  void Stop() override { queue_.Stop(); }

 private:
  static QueueWorkerOptions Options(ControllerContext& ctx) {
    QueueWorkerOptions o;
    o.name = kName;
    o.clock = ctx.clock();
    // Upstream's namespace queue: 5 ms doubling up to 60 s, no overall bucket (deletions
    // are few and each is much work).
    o.rate_limiter = client::NewItemExponentialFailureRateLimiter(5ms, 60s);
    return o;
  }

  Status Sync(const std::string& name) {
    auto ns = namespaces_.Get(name);
    if (api::IsNotFound(ns)) return Status::Ok();
    if (!ns.ok()) return ns.error().ToStatus();
    if (!api::IsBeingDeleted(*ns)) return Status::Ok();
    std::vector<std::string> finalizers = SpecFinalizers(*ns);
    if (std::find(finalizers.begin(), finalizers.end(), kKubernetesFinalizer) ==
        finalizers.end()) {
      return Status::Ok();  // emptied already; other finalizers are someone else's
    }
    Pass pass = DeleteContent(name);
    KEELSON_RETURN_IF_ERROR(Report(name, pass));
    if (!pass.discovery_errors.empty() || !pass.delete_errors.empty()) {
      return UnavailableError("namespace " + name + " is not empty yet: " +
                              (pass.delete_errors.empty() ? pass.discovery_errors[0]
                                                          : pass.delete_errors[0]));
    }
    if (!pass.Empty()) {
      if (pass.estimate_seconds > 0) {
        // Pods still terminating: look again when the longest grace period ends (sooner
        // when a pod goes, see the pod handler).
        queue_.EnqueueAfter(name, std::chrono::seconds(pass.estimate_seconds));
        return Status::Ok();
      }
      // Objects held by finalizers: checked again with backoff.
      return FailedPreconditionError("namespace " + name + " has content left: " +
                                     Joined(pass.remaining, "has"));
    }
    return Finalize(name);
  }

  Pass DeleteContent(const std::string& ns) {
    Pass pass;
    auto resources = discovery_.Resources();
    if (!resources.ok()) {
      pass.discovery_errors.push_back(resources.error().message);
      return pass;
    }
    const auto now = ctx_.clock()->Now();
    for (const api::ResourceInfo* r : *resources) {
      if (!r->namespaced || !HasVerb(*r, "list") ||
          !(HasVerb(*r, "delete") || HasVerb(*r, "deletecollection"))) {
        continue;
      }
      client::ResourceClient rc = ctx_.client()->Resource(*r).Namespace(ns);
      const std::string qualified = r->resource + "." + r->group;
      if (Status st = DeleteAll(rc, *r); !st.ok()) {
        pass.delete_errors.push_back(qualified + ": " + st.message());
        continue;
      }
      client::ListOptions lo;
      lo.limit = kRemainingPage;
      auto left = rc.List(lo);
      if (!left.ok()) {
        if (!api::IsNotFound(left.error())) {  // a resource that went away meanwhile
          pass.delete_errors.push_back(qualified + ": " + left.error().message);
        }
        continue;
      }
      const auto* items = left->if_contains("items");
      int64_t count = items && items->is_array() ? static_cast<int64_t>(items->as_array().size()) : 0;
      if (count == 0) continue;
      count += std::max<int64_t>(0, std::atoll(
                                        api::FieldText(*left, "metadata.remainingItemCount").c_str()));
      pass.remaining[qualified] = count;
      for (const auto& item : items->as_array()) {
        if (!item.is_object()) continue;
        const api::Object& obj = item.as_object();
        for (const auto& f : api::GetFinalizers(obj)) ++pass.finalizers[f];
        if (r->group.empty() && r->resource == "pods") {
          auto until = client::ParseTime(api::GetDeletionTimestamp(obj));
          if (until && *until > now) {
            pass.estimate_seconds = std::max<int64_t>(
                pass.estimate_seconds,
                std::chrono::duration_cast<std::chrono::seconds>(*until - now).count() + 1);
          }
        }
      }
    }
    return pass;
  }

  // Deletes every object of `r` in the client's namespace (in the background: their own
  // dependents are the garbage collector's).
  static Status DeleteAll(const client::ResourceClient& rc, const api::ResourceInfo& r) {
    client::DeleteOptions opts;
    opts.propagation_policy = "Background";
    if (HasVerb(r, "deletecollection")) {
      auto res = rc.DeleteCollection(opts);
      if (res.ok() || api::IsNotFound(res.error())) return Status::Ok();
      // A resource that refuses collections is deleted one by one.
      if (res.error().code != 405) return res.error().ToStatus();
    }
    auto list = rc.List();
    if (!list.ok()) return api::IsNotFound(list.error()) ? Status::Ok() : list.error().ToStatus();
    const auto* items = list->if_contains("items");
    if (!items || !items->is_array()) return Status::Ok();
    for (const auto& item : items->as_array()) {
      if (!item.is_object() || api::IsBeingDeleted(item.as_object())) continue;
      auto res = rc.Delete(api::GetName(item.as_object()), opts);
      if (!res.ok() && !api::IsNotFound(res.error())) return res.error().ToStatus();
    }
    return Status::Ok();
  }

  std::vector<Condition> Conditions(const Pass& pass) const {
    std::vector<Condition> out;
    out.push_back(pass.discovery_errors.empty()
                      ? Condition{"NamespaceDeletionDiscoveryFailure", false, "ResourcesDiscovered",
                                  "All resources successfully discovered"}
                      : Condition{"NamespaceDeletionDiscoveryFailure", true, "DiscoveryFailed",
                                  "Discovery failed for some groups: " + pass.discovery_errors[0]});
    std::string failures;
    for (const auto& e : pass.delete_errors) failures += (failures.empty() ? "" : ", ") + e;
    out.push_back(pass.delete_errors.empty()
                      ? Condition{"NamespaceDeletionContentFailure", false, "ContentDeleted",
                                  "All content successfully deleted, may be waiting on "
                                  "finalization"}
                      : Condition{"NamespaceDeletionContentFailure", true, "ContentDeletionFailed",
                                  "Failed to delete all resource types, " +
                                      std::to_string(pass.delete_errors.size()) +
                                      " remaining: " + failures});
    out.push_back(pass.remaining.empty()
                      ? Condition{"NamespaceContentRemaining", false, "ContentRemoved",
                                  "All content successfully removed"}
                      : Condition{"NamespaceContentRemaining", true, "SomeResourcesRemain",
                                  "Some resources are remaining: " +
                                      Joined(pass.remaining, "has")});
    out.push_back(pass.finalizers.empty()
                      ? Condition{"NamespaceFinalizersRemaining", false, "ContentHasNoFinalizers",
                                  "All content-preserving finalizers finished"}
                      : Condition{"NamespaceFinalizersRemaining", true, "SomeFinalizersRemain",
                                  "Some content in the namespace has finalizers remaining: " +
                                      Joined(pass.finalizers, "in")});
    return out;
  }

  // Writes the pass's conditions into the namespace's status when they changed.
  Status Report(const std::string& name, const Pass& pass) {
    const std::vector<Condition> want = Conditions(pass);
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto ns = namespaces_.Get(name);
      if (api::IsNotFound(ns)) return Status::Ok();
      if (!ns.ok()) return ns.error().ToStatus();
      api::Object obj = std::move(*ns);
      auto& status = obj["status"];
      if (!status.is_object()) status = json::object();
      auto& list = status.as_object()["conditions"];
      if (!list.is_array()) list = json::array();
      bool changed = false;
      for (const Condition& c : want) {
        json::object* have = nullptr;
        for (auto& v : list.as_array()) {
          if (v.is_object() && api::FieldText(v.as_object(), "type") == c.type) have = &v.as_object();
        }
        const char* st = c.problem ? "True" : "False";
        if (have && api::FieldText(*have, "status") == st &&
            api::FieldText(*have, "reason") == c.reason &&
            api::FieldText(*have, "message") == c.message) {
          continue;
        }
        json::object next{{"type", c.type}, {"status", st}, {"reason", c.reason},
                          {"message", c.message}};
        next["lastTransitionTime"] =
            have && api::FieldText(*have, "status") == st && have->contains("lastTransitionTime")
                ? have->at("lastTransitionTime")
                : json::value(api::FormatTime(ctx_.clock()->Now()));
        if (have) {
          *have = std::move(next);
        } else {
          list.as_array().push_back(std::move(next));
        }
        changed = true;
      }
      if (!changed) return Status::Ok();
      auto updated = namespaces_.UpdateStatus(obj);
      if (updated.ok() || api::IsNotFound(updated)) return Status::Ok();
      if (!api::IsConflict(updated)) return updated.error().ToStatus();
    }
    return Status(StatusCode::kConflict, "namespace " + name + ": status kept changing");
  }

  // Removes `kubernetes` from spec.finalizers; with none left the server deletes the
  // namespace.
  Status Finalize(const std::string& name) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto ns = namespaces_.Get(name);
      if (api::IsNotFound(ns)) return Status::Ok();
      if (!ns.ok()) return ns.error().ToStatus();
      api::Object obj = std::move(*ns);
      json::array keep;
      for (const auto& f : SpecFinalizers(obj)) {
        if (f != kKubernetesFinalizer) keep.emplace_back(f);
      }
      obj["spec"].as_object()["finalizers"] = std::move(keep);
      auto done = namespaces_.UpdateSubresource(name, "finalize", obj);
      if (done.ok() || api::IsNotFound(done)) return Status::Ok();
      if (!api::IsConflict(done)) return done.error().ToStatus();
    }
    return Status(StatusCode::kConflict, "namespace " + name + ": kept changing");
  }

  ControllerContext& ctx_;
  client::Lister namespaces_lister_;
  client::ResourceClient namespaces_;
  ResourceDiscovery discovery_;
  const int workers_;
  QueueWorker queue_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewNamespaceController(ControllerContext& ctx) {
  client::SharedInformer* namespaces = ctx.Informer("", "namespaces");
  client::SharedInformer* pods = ctx.Informer("", "pods");
  if (!namespaces || !pods) return InternalError("namespaces or pods unknown");
  return std::unique_ptr<Controller>(new NamespaceController(ctx, namespaces, pods));
}

}  // namespace keelson::controllers
