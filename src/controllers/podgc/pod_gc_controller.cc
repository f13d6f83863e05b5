#include "controllers/podgc/pod_gc_controller.h"

#include <boost/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "client/workqueue.h"
#include "common/log.h"
#include "controllers/base/pod_util.h"
#include "controllers/nodelifecycle/node_util.h"
#include "controllers/nodelifecycle/parallel.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kName = "pod-garbage-collector-controller";
// Upstream's gcCheckPeriod and quarantineTime.
constexpr auto kCheckPeriod = 20s;
constexpr auto kQuarantine = 40s;
constexpr int kDeleters = 8;

bool IsTerminated(const api::Object& pod) {
  auto phase = PodPhase(pod);
  return phase != "Pending" && phase != "Running" && phase != "Unknown";
}

bool IsEvicted(const api::Object& pod) {
  return PodPhase(pod) == "Failed" && api::FieldText(pod, "status.reason") == "Evicted";
}

class PodGcController final : public Controller {
 public:
  PodGcController(ControllerContext& ctx, client::SharedInformer* pods,
                  client::SharedInformer* nodes, client::ResourceClient pod_client,
                  client::ResourceClient node_client)
      : clock_(ctx.clock()),
        threshold_(ctx.options().terminated_pod_gc_threshold),
        pods_(pods->lister()),
        nodes_(nodes->lister()),
        pod_client_(std::move(pod_client)),
        node_client_(std::move(node_client)),
        quarantine_({.name = "orphaned_pods_nodes", .clock = ctx.clock()}) {}

  ~PodGcController() override { Stop(); }

  void Start() override { loop_ = std::thread([this] { Loop(); }); }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (loop_.joinable()) loop_.join();
    quarantine_.ShutDown();
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Gc();
      lock.lock();
      auto deadline = clock_->Monotonic() + kCheckPeriod;
      while (!stopping_ && clock_->Monotonic() < deadline) clock_->WaitUntil(cv_, lock, deadline);
    }
  }

  void Gc() {
    std::vector<client::ObjectPtr> pods = pods_.List();
    std::vector<client::ObjectPtr> nodes = nodes_.List();
    if (threshold_ > 0) GcTerminated(pods);
    GcTerminating(pods);
    GcOrphaned(pods, nodes);
    GcUnscheduledTerminating(pods);
  }

  void GcTerminated(const std::vector<client::ObjectPtr>& pods) {
    std::vector<client::ObjectPtr> terminated;
    for (const auto& p : pods) {
      if (IsTerminated(*p)) terminated.push_back(p);
    }
    const int64_t excess = static_cast<int64_t>(terminated.size()) - threshold_;
    if (excess <= 0) return;
    LogInfo(kName, "garbage collecting " + std::to_string(excess) + " terminated pods");
    // Evicted pods first, then the oldest, names breaking ties.
    std::sort(terminated.begin(), terminated.end(),
              [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
                bool ea = IsEvicted(*a), eb = IsEvicted(*b);
                if (ea != eb) return ea;
                auto ca = api::GetCreationTimestamp(*a), cb = api::GetCreationTimestamp(*b);
                if (ca != cb) return ca < cb;
                return api::GetName(*a) < api::GetName(*b);
              });
    terminated.resize(excess);
    DeleteAll(terminated, nullptr);
  }

  void GcTerminating(const std::vector<client::ObjectPtr>& pods) {
    std::vector<client::ObjectPtr> out_of_service;
    for (const auto& p : pods) {
      if (!api::IsBeingDeleted(*p)) continue;
      client::ObjectPtr node = nodes_.Get("", api::FieldText(*p, "spec.nodeName"));
      if (!node) continue;
      bool tainted = false;
      for (const auto& t : GetTaints(*node)) {
        tainted |= api::FieldText(t, "key") == kTaintNodeOutOfService;
      }
      if (!IsNodeReady(*node) && tainted) out_of_service.push_back(p);
    }
    if (out_of_service.empty()) return;
    LogInfo(kName, "garbage collecting " + std::to_string(out_of_service.size()) +
                       " terminating pods on out-of-service nodes");
    DeleteAll(out_of_service, nullptr);
  }

  void GcOrphaned(const std::vector<client::ObjectPtr>& pods,
                  const std::vector<client::ObjectPtr>& nodes) {
    std::set<std::string, std::less<>> existing;
    for (const auto& n : nodes) existing.emplace(api::GetName(*n));
    // Nodes newly found missing wait out the quarantine (a node may be in the API before it
    // is in the cache).
    for (const auto& p : pods) {
      std::string node = api::FieldText(*p, "spec.nodeName");
      if (!node.empty() && !existing.count(node)) quarantine_.AddAfter(node, kQuarantine);
    }
    std::set<std::string> deleted;
    while (quarantine_.Len() > 0) {
      auto node = quarantine_.Get();
      if (!node) return;
      if (!existing.count(*node)) {
        auto got = node_client_.Get(*node);
        if (!got.ok() && api::IsNotFound(got.error())) {
          deleted.insert(*node);
        } else if (!got.ok()) {
          LogWarning(kName, "getting node " + *node + ": " + got.error().message);
        }
      }
      quarantine_.Done(*node);
    }
    if (deleted.empty()) return;
    std::vector<client::ObjectPtr> orphans;
    for (const auto& p : pods) {
      if (deleted.count(api::FieldText(*p, "spec.nodeName"))) orphans.push_back(p);
    }
    json::object condition{{"type", "DisruptionTarget"},
                           {"status", "True"},
                           {"reason", "DeletionByPodGC"},
                           {"message", "PodGC: node no longer exists"}};
    DeleteAll(orphans, &condition);
  }

  void GcUnscheduledTerminating(const std::vector<client::ObjectPtr>& pods) {
    std::vector<client::ObjectPtr> unscheduled;
    for (const auto& p : pods) {
      if (api::IsBeingDeleted(*p) && api::FieldText(*p, "spec.nodeName").empty()) {
        unscheduled.push_back(p);
      }
    }
    DeleteAll(unscheduled, nullptr);
  }

  void DeleteAll(const std::vector<client::ObjectPtr>& pods, const json::object* condition) {
    ParallelFor(kDeleters, pods.size(), [&](size_t i) {
      Status st = MarkFailedAndDelete(*pods[i], condition);
      if (!st.ok()) {
        LogWarning(kName, "deleting pod " + client::ObjectKey(*pods[i]) + ": " + st.message());
      }
    });
  }

  // The pod's phase goes Failed (with `condition`, if any) unless it ended already; then the
  // pod is deleted at once.
  Status MarkFailedAndDelete(const api::Object& pod, const json::object* condition) {
    const std::string name(api::GetName(pod));
    client::ResourceClient pods = pod_client_.Namespace(api::GetNamespace(pod));
    LogInfo(kName, "force deleting pod " + client::ObjectKey(pod));
    auto phase = PodPhase(pod);
    if (phase != "Succeeded" && phase != "Failed") {
      json::object status{{"phase", "Failed"}};
      if (condition) {
        json::object c = *condition;
        const api::Object* old = GetPodCondition(pod, api::FieldText(c, "type"));
        // The transition time moves only when the status does (upstream's UpdatePodCondition).
        c["lastTransitionTime"] = old && api::FieldText(*old, "status") == api::FieldText(c, "status")
                                      ? json::value(api::FieldText(*old, "lastTransitionTime"))
                                      : json::value(api::FormatTime(clock_->Now()));
        status["conditions"] = json::array{std::move(c)};
      }
      json::object patch{{"metadata", json::object{{"uid", api::GetUid(pod)}}},
                         {"status", std::move(status)}};
      auto r = pods.Patch(name, client::PatchType::kStrategicMerge, json::serialize(patch), {},
                          "status");
      if (!r.ok()) return api::IsNotFound(r.error()) ? Status::Ok() : r.error().ToStatus();
    }
    client::DeleteOptions opts;
    opts.grace_period_seconds = 0;
    opts.precondition_uid = std::string(api::GetUid(pod));
    auto r = pods.Delete(name, opts);
    if (!r.ok() && !api::IsNotFound(r.error()) && !api::IsConflict(r.error())) {
      return r.error().ToStatus();
    }
    return Status::Ok();
  }

  const std::shared_ptr<const Clock> clock_;
  const int64_t threshold_;
  client::Lister pods_;
  client::Lister nodes_;
  client::ResourceClient pod_client_;
  client::ResourceClient node_client_;
  client::WorkQueue quarantine_;  // the loop thread only

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread loop_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewPodGcController(ControllerContext& ctx) {
  client::SharedInformer* pods = ctx.Informer("", "pods");
  client::SharedInformer* nodes = ctx.Informer("", "nodes");
  auto pod_client = ctx.client()->Resource("", "pods");
  auto node_client = ctx.client()->Resource("", "nodes");
  if (!pods || !nodes || !pod_client.ok() || !node_client.ok()) {
    return InternalError("pods or nodes unknown");
  }
  return std::unique_ptr<Controller>(new PodGcController(
      ctx, pods, nodes, std::move(*pod_client), std::move(*node_client)));
}

}  // namespace keelson::controllers
