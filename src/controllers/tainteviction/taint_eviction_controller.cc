#include "controllers/tainteviction/taint_eviction_controller.h"

#include <boost/json.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "common/log.h"
#include "controllers/base/pod_util.h"
#include "controllers/nodelifecycle/node_util.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kName = "taint-eviction-controller";
constexpr int kUpdateWorkers = 8;
constexpr int kDeletionWorkers = 4;

client::ObjectReference PodRef(std::string_view key) {
  client::ObjectReference r;
  r.api_version = "v1";
  r.kind = "Pod";
  auto slash = key.find('/');
  r.namespace_name = key.substr(0, slash);
  r.name = key.substr(slash + 1);
  return r;
}

class TaintEvictionController final : public Controller {
 public:
  TaintEvictionController(ControllerContext& ctx, client::SharedInformer* nodes,
                          client::SharedInformer* pods, client::ResourceClient pod_client)
      : clock_(ctx.clock()),
        nodes_(nodes->lister()),
        pods_(&pods->indexer()),
        pod_lister_(pods->lister()),
        pod_client_(std::move(pod_client)),
        recorder_(ctx.Recorder(kName)),
        node_queue_({.name = std::string(kName) + "-nodes", .clock = ctx.clock()},
                    [this](const std::string& key) { return HandleNodeUpdate(key); }),
        pod_queue_({.name = std::string(kName) + "-pods", .clock = ctx.clock()},
                   [this](const std::string& key) { return HandlePodUpdate(key); }),
        deletions_({.name = kName, .clock = ctx.clock()},
                   [this](const std::string& key) { return DeletePod(key); }) {
    pods->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& p, bool) {
          if (!api::FieldText(*p, "spec.nodeName").empty()) pod_queue_.Enqueue(*p);
        },
        .on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& p) {
          std::string node = api::FieldText(*p, "spec.nodeName");
          if (node == api::FieldText(*old, "spec.nodeName") &&
              PodTolerations(*old) == PodTolerations(*p)) {
            return;
          }
          pod_queue_.Enqueue(*p);
        },
        .on_delete = [this](const client::ObjectPtr& p, bool) { pod_queue_.Enqueue(*p); },
    });
    nodes->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& n, bool) {
          node_queue_.Enqueue(std::string(api::GetName(*n)));
        },
        .on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& n) {
          if (NoExecuteTaints(*old) == NoExecuteTaints(*n)) return;
          node_queue_.Enqueue(std::string(api::GetName(*n)));
        },
        .on_delete = [this](const client::ObjectPtr& n, bool) {
          node_queue_.Enqueue(std::string(api::GetName(*n)));
        },
    });
  }

  ~TaintEvictionController() override { Stop(); }

  void Start() override {
    node_queue_.Start(kUpdateWorkers);
    pod_queue_.Start(kUpdateWorkers);
    deletions_.Start(kDeletionWorkers);
    timer_ = std::thread([this] { TimerLoop(); });
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (timer_.joinable()) timer_.join();
    node_queue_.Stop();
    pod_queue_.Stop();
    deletions_.Stop();
  }

 private:
  // A scheduled deletion (upstream's TimedWorker).
  struct Work {
    uint64_t id;
    Clock::MonoTime created_at;
    Clock::MonoTime fire_at;
    bool fired = false;
    bool announced = false;
  };

  // --- decisions (under mu_) ----------------------------------------------------------------

  Status HandleNodeUpdate(const std::string& name) {
    client::ObjectPtr node = nodes_.Get("", name);
    std::lock_guard lock(mu_);
    if (!node) {
      tainted_nodes_.erase(name);
      return Status::Ok();
    }
    std::vector<json::object> taints = NoExecuteTaints(*node);
    if (taints.empty()) {
      tainted_nodes_.erase(name);
    } else {
      tainted_nodes_[name] = taints;
    }
    // The taints are recorded before the pods are read: a pod seen later is decided by its
    // own update, with these taints.
    auto pods = pods_->ByIndex(client::kNodeNameIndex, name);
    if (!pods.ok() || pods->empty()) return Status::Ok();
    if (taints.empty()) {
      for (const auto& pod : *pods) CancelLocked(client::ObjectKey(*pod), true);
      return Status::Ok();
    }
    const auto now = clock_->Monotonic();
    for (const auto& pod : *pods) {
      ProcessPodOnNodeLocked(client::ObjectKey(*pod), PodTolerations(*pod), taints, now);
    }
    return Status::Ok();
  }

  Status HandlePodUpdate(const std::string& key) {
    auto slash = key.find('/');
    client::ObjectPtr pod = pod_lister_.Get(key.substr(0, slash), key.substr(slash + 1));
    std::lock_guard lock(mu_);
    if (!pod) {
      CancelLocked(key, true);
      return Status::Ok();
    }
    std::string node = api::FieldText(*pod, "spec.nodeName");
    if (node.empty()) return Status::Ok();
    auto it = tainted_nodes_.find(node);
    if (it == tainted_nodes_.end()) {
      // The node has no NoExecute taint (or is gone): nothing should be scheduled.
      CancelLocked(key, true);
      return Status::Ok();
    }
    ProcessPodOnNodeLocked(key, PodTolerations(*pod), it->second, clock_->Monotonic());
    return Status::Ok();
  }

  void ProcessPodOnNodeLocked(const std::string& key, const json::array& tolerations,
                              const std::vector<json::object>& taints, Clock::MonoTime now) {
    if (taints.empty()) {
      CancelLocked(key, true);
      return;
    }
    MatchingTolerations m = GetMatchingTolerations(taints, tolerations);
    if (!m.all_tolerated) {
      // Not tolerated: deleted right away.
      CancelLocked(key, true);
      AddWorkLocked(key, now, now);
      return;
    }
    auto min = MinTolerationTime(m.used);
    if (!min) {
      CancelLocked(key, true);  // tolerated forever
      return;
    }
    Clock::MonoTime start = now;
    if (auto it = works_.find(key); it != works_.end()) {
      // A deletion scheduled earlier keeps its time when that is sooner (upstream's rule).
      start = it->second.created_at;
      if (start + *min < now + *min) return;
      CancelLocked(key, true);
    }
    AddWorkLocked(key, start, start + *min);
  }

  void AddWorkLocked(const std::string& key, Clock::MonoTime created, Clock::MonoTime fire) {
    if (works_.count(key)) return;
    Work w{next_id_++, created, fire};
    timers_.emplace(fire, w.id, key);
    works_.emplace(key, w);
    cv_.notify_all();
  }

  // Cancels the deletion of `key`, if one is scheduled (or due and not done); records the
  // cancellation when `event`.
  void CancelLocked(const std::string& key, bool event) {
    auto it = works_.find(key);
    if (it == works_.end()) return;
    if (!it->second.fired) timers_.erase({it->second.fire_at, it->second.id, key});
    works_.erase(it);
    if (event) {
      recorder_->Event(PodRef(key), nullptr, client::kEventTypeNormal, "TaintManagerEviction",
                       "Cancel", "Cancelling deletion of Pod " + key);
    }
  }

  // --- timers and deletions -----------------------------------------------------------------

  void TimerLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      const auto now = clock_->Monotonic();
      while (!timers_.empty() && std::get<0>(*timers_.begin()) <= now) {
        auto [fire, id, key] = *timers_.begin();
        timers_.erase(timers_.begin());
        auto it = works_.find(key);
        if (it == works_.end() || it->second.id != id) continue;
        it->second.fired = true;
        deletions_.Enqueue(key);
      }
      auto deadline = timers_.empty() ? now + 1s : std::min(std::get<0>(*timers_.begin()), now + 1s);
      clock_->WaitUntil(cv_, lock, deadline);
    }
  }

  // Upstream's addConditionAndDeletePod: the DisruptionTarget condition, then the delete.
  Status DeletePod(const std::string& key) {
    uint64_t id;
    {
      std::lock_guard lock(mu_);
      auto it = works_.find(key);
      if (it == works_.end() || !it->second.fired) return Status::Ok();  // cancelled
      id = it->second.id;
      if (!it->second.announced) {
        it->second.announced = true;
        recorder_->Event(PodRef(key), nullptr, client::kEventTypeNormal, "TaintManagerEviction",
                         "Delete", "Marking for deletion Pod " + key);
      }
    }
    auto slash = key.find('/');
    const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    client::ResourceClient pods = pod_client_.Namespace(ns);
    auto done = [&] {
      std::lock_guard lock(mu_);
      auto it = works_.find(key);
      if (it != works_.end() && it->second.id == id) works_.erase(it);
      return Status::Ok();
    };
    auto pod = pods.Get(name);
    if (!pod.ok()) return api::IsNotFound(pod.error()) ? done() : pod.error().ToStatus();
    const api::Object* cond = GetPodCondition(*pod, "DisruptionTarget");
    if (!cond || api::FieldText(*cond, "status") != "True" ||
        api::FieldText(*cond, "reason") != "DeletionByTaintManager") {
      json::object patch{
          {"metadata", json::object{{"uid", api::GetUid(*pod)}}},
          {"status",
           json::object{{"conditions",
                         json::array{json::object{
                             {"type", "DisruptionTarget"},
                             {"status", "True"},
                             {"reason", "DeletionByTaintManager"},
                             {"message", "Taint manager: deleting due to NoExecute taint"},
                             {"lastTransitionTime", api::FormatTime(clock_->Now())}}}}}}};
      auto r = pods.Patch(name, client::PatchType::kStrategicMerge, json::serialize(patch), {},
                          "status");
      if (!r.ok()) return api::IsNotFound(r.error()) ? done() : r.error().ToStatus();
    }
    LogInfo(kName, "deleting pod " + key);
    auto r = pods.Delete(name);
    if (!r.ok() && !api::IsNotFound(r.error())) return r.error().ToStatus();
    return done();
  }

  const std::shared_ptr<const Clock> clock_;
  client::Lister nodes_;
  const client::Indexer* pods_;
  client::Lister pod_lister_;
  client::ResourceClient pod_client_;
  client::EventRecorder* recorder_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                        // guarded by mu_
  std::unordered_map<std::string, std::vector<json::object>> tainted_nodes_;  // guarded by mu_
  std::unordered_map<std::string, Work> works_;                  // guarded by mu_
  std::set<std::tuple<Clock::MonoTime, uint64_t, std::string>> timers_;  // guarded by mu_
  uint64_t next_id_ = 1;                                         // guarded by mu_

  QueueWorker node_queue_;
  QueueWorker pod_queue_;
  QueueWorker deletions_;
  std::thread timer_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewTaintEvictionController(ControllerContext& ctx) {
  client::SharedInformer* nodes = ctx.Informer("", "nodes");
  client::SharedInformer* pods = ctx.Informer("", "pods");
  if (!nodes || !pods) return InternalError("nodes or pods unknown");
  (void)pods->AddIndex(std::string(client::kNodeNameIndex), client::NodeNameIndexFunc());
  auto pod_client = ctx.client()->Resource("", "pods");
  if (!pod_client.ok()) return InternalError("pods unknown");
  return std::unique_ptr<Controller>(
      new TaintEvictionController(ctx, nodes, pods, std::move(*pod_client)));
}

}  // namespace keelson::controllers
