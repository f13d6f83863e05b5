#include "scheduler/scheduler.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "common/executor.h"
#include "scheduler/cache/cache.h"
#include "scheduler/framework/framework.h"
#include "scheduler/framework/parallelize.h"
#include "scheduler/plugins/registry.h"
#include "scheduler/queue/scheduling_queue.h"

namespace keelson::scheduler {

namespace json = boost::json;

int32_t NumFeasibleNodesToFind(int32_t percentage, int32_t num_all_nodes) {
  constexpr int32_t kMinFeasibleNodesToFind = 100;
  constexpr int32_t kMinFeasibleNodesPercentageToFind = 5;
  if (num_all_nodes < kMinFeasibleNodesToFind) return num_all_nodes;
  if (percentage == 0) {
    percentage = 50 - num_all_nodes / 125;
    if (percentage < kMinFeasibleNodesPercentageToFind) {
      percentage = kMinFeasibleNodesPercentageToFind;
    }
  }
  int32_t n = static_cast<int32_t>(static_cast<int64_t>(num_all_nodes) * percentage / 100);
  if (n < kMinFeasibleNodesToFind) return kMinFeasibleNodesToFind;
  return n;
}

const Registry& Scheduler::DefaultRegistry() {
  static const Registry* r = new Registry(InTreeRegistry());
  return *r;
}

namespace {

// What a failed attempt learned (upstream's Diagnosis).
struct Diagnosis {
  NodeToStatus statuses;
  std::set<std::string, std::less<>> unschedulable_plugins;
  std::set<std::string, std::less<>> pending_plugins;
  std::string pre_filter_msg;
  std::string post_filter_msg;
};

// Upstream's FitError.Error().
std::string FitErrorMessage(size_t num_all_nodes, const Diagnosis& d) {
  std::string msg = "0/" + std::to_string(num_all_nodes) + " nodes are available:";
  if (!d.pre_filter_msg.empty()) {
    msg += " " + d.pre_filter_msg + ".";
  } else {
    std::map<std::string, size_t> reasons;
    for (const auto& [_, st] : d.statuses.Entries()) {
      for (const auto& r : st.reasons()) ++reasons[r];
    }
    if (d.statuses.Len() < num_all_nodes) {
      for (const auto& r : d.statuses.AbsentNodesStatus().reasons()) {
        reasons[r] += num_all_nodes - d.statuses.Len();
      }
    }
    std::vector<std::string> parts;
    for (const auto& [r, n] : reasons) parts.push_back(std::to_string(n) + " " + r);
    std::sort(parts.begin(), parts.end());
    std::string joined;
    for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
    if (!joined.empty()) msg += " " + joined + ".";
  }
  if (!d.post_filter_msg.empty()) msg += " " + d.post_filter_msg;
  return msg;
}

struct WaitingPod {
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string, std::less<>> pending;  // plugins still to allow
  std::optional<PluginStatus> rejected;
};

class SchedulerImpl;

// The Handle of one profile.
class ProfileHandle final : public Handle {
 public:
  ProfileHandle(SchedulerImpl* s, std::string name) : s_(s), name_(std::move(name)) {}
  const Snapshot& snapshot() const override;
  const Listers& listers() const override;
  Parallelizer& parallelizer() override;
  const Clock& clock() const override;
  SchedulerClient* client() override;
  std::vector<PodInfoPtr> NominatedPodsForNode(std::string_view node) const override;
  void ClearNomination(const PodInfo& pod) override;
  Framework* framework() override { return framework_; }
  bool RejectWaitingPod(std::string_view uid, std::string_view plugin,
                        std::string_view message) override;
  std::string_view scheduler_name() const override { return name_; }
  void PostApiCall(std::function<void()> call) override;

  void set_framework(Framework* f) { framework_ = f; }

 private:
  SchedulerImpl* s_;
  std::string name_;
  Framework* framework_ = nullptr;
};

class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(const Configuration& config, SchedulerClient* client, SchedulerOptions options)
      : config_(config),
        client_(client),
        options_(std::move(options)),
        parallelizer_(options_.parallelism > 0
                          ? options_.parallelism
                          : std::max(1, std::min<int>(config.parallelism,
                                                      static_cast<int>(std::thread::hardware_concurrency())))),
        api_pool_(std::max(1, options_.api_threads)),
        rng_(options_.seed) {}

  ~SchedulerImpl() override { Stop(); }

  Status Init(const Registry& registry) {
    for (const auto& prof : config_.profiles) {
      auto handle = std::make_unique<ProfileHandle>(this, prof.scheduler_name);
      auto fw = Framework::Create(prof, registry, handle.get());
      if (!fw.ok()) {
        return InvalidArgumentError("creating profile for scheduler name " + prof.scheduler_name +
                                    ": " + fw.status().message());
      }
      handle->set_framework(fw->get());
      profiles_.push_back({std::move(*fw), std::move(handle)});
    }
    std::vector<Framework*> fws;
    for (auto& p : profiles_) fws.push_back(p.framework.get());
    QueueOptions qo;
    qo.initial_backoff = std::chrono::seconds(config_.pod_initial_backoff_seconds);
    qo.max_backoff = std::chrono::seconds(config_.pod_max_backoff_seconds);
    queue_ = std::make_unique<SchedulingQueue>(options_.clock, qo, std::move(fws));
    return Status::Ok();
  }

  // --- events ---------------------------------------------------------------------------------

  void OnEvent(ResourceKind kind, ObjectPtr old_obj, ObjectPtr new_obj) override;

  // --- running --------------------------------------------------------------------------------

  void Run() override {
    std::lock_guard<std::mutex> l(run_mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    loop_ = std::thread([this] {
      while (true) {
        auto qi = queue_->Pop();
        if (!qi) return;
        ScheduleQueued(std::move(*qi));
      }
    });
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> l(tick_mu_);
      while (!stopping_) {
        options_.clock->WaitUntil(tick_cv_, l, options_.clock->Monotonic() + std::chrono::seconds(1));
        if (stopping_) break;
        l.unlock();
        queue_->Flush();
        l.lock();
      }
    });
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> l(run_mu_);
      {
        std::lock_guard<std::mutex> tl(tick_mu_);
        stopping_ = true;
      }
      tick_cv_.notify_all();
      if (queue_) queue_->Close();
      if (loop_.joinable()) loop_.join();
      if (ticker_.joinable()) ticker_.join();
      running_ = false;
    }
    // Release pods waiting in Permit so their binding cycles end.
    std::vector<std::shared_ptr<WaitingPod>> waiting;
    {
      std::lock_guard<std::mutex> l(waiting_mu_);
      for (auto& [_, w] : waiting_) waiting.push_back(w);
    }
    for (auto& w : waiting) {
      std::lock_guard<std::mutex> l(w->mu);
      w->rejected = PluginStatus(Code::kUnschedulable, "scheduler stopped");
      w->cv.notify_all();
    }
    WaitForApiCalls();
  }

  bool ScheduleOne() override {
    auto qi = queue_->TryPop();
    if (!qi) return false;
    ScheduleQueued(std::move(*qi));
    return true;
  }

  void WaitForApiCalls() override {
    std::unique_lock<std::mutex> l(api_mu_);
    api_cv_.wait(l, [&] { return api_pending_ == 0; });
  }

  void FlushQueue() override { queue_->Flush(); }

  bool AllowWaitingPod(std::string_view uid, std::string_view plugin) override {
    std::shared_ptr<WaitingPod> w;
    {
      std::lock_guard<std::mutex> l(waiting_mu_);
      auto it = waiting_.find(std::string(uid));
      if (it == waiting_.end()) return false;
      w = it->second;
    }
    std::lock_guard<std::mutex> l(w->mu);
    w->pending.erase(std::string(plugin));
    w->cv.notify_all();
    return true;
  }

  bool RejectWaiting(std::string_view uid, std::string_view plugin, std::string_view message) {
    std::shared_ptr<WaitingPod> w;
    {
      std::lock_guard<std::mutex> l(waiting_mu_);
      auto it = waiting_.find(std::string(uid));
      if (it == waiting_.end()) return false;
      w = it->second;
    }
    std::lock_guard<std::mutex> l(w->mu);
    w->rejected = PluginStatus(Code::kUnschedulable, std::string(message)).WithPlugin(plugin);
    w->cv.notify_all();
    return true;
  }

  SchedulerStats Stats() const override {
    SchedulerStats s;
    s.attempts = attempts_.load();
    s.scheduled = scheduled_.load();
    s.unschedulable = unschedulable_.load();
    s.errors = errors_.load();
    s.preemptions = preemptions_.load();
    return s;
  }
  const Cache& cache() const override { return cache_; }
  const SchedulingQueue& queue() const override { return *queue_; }

  // For the handles.
  const Snapshot& snapshot() const { return snapshot_; }
  const Listers& listers() const { return listers_; }
  Parallelizer& parallelizer() { return parallelizer_; }
  const Clock& clock() const { return *options_.clock; }
  SchedulerClient* client() { return client_; }
  SchedulingQueue& mutable_queue() { return *queue_; }
  // The pods nominated to `node` as the current cycle started (read by the filter workers
  // without locking; the scheduling thread refreshes it between cycles).
  std::vector<PodInfoPtr> CycleNominatedPods(std::string_view node) const {
    if (cycle_nominated_.empty()) return {};
    auto it = cycle_nominated_.find(node);
    return it == cycle_nominated_.end() ? std::vector<PodInfoPtr>{} : it->second;
  }

  void PostApiCall(std::function<void()> call) {
    {
      std::lock_guard<std::mutex> l(api_mu_);
      ++api_pending_;
    }
    api_pool_.Post([this, call = std::move(call)] {
      call();
      std::lock_guard<std::mutex> l(api_mu_);
      if (--api_pending_ == 0) api_cv_.notify_all();
    });
  }

 private:
  struct ProfileRuntime {
    std::unique_ptr<Framework> framework;
    std::unique_ptr<ProfileHandle> handle;
  };

  Framework* FrameworkFor(std::string_view scheduler_name) const {
    for (const auto& p : profiles_) {
      if (p.framework->SchedulerName() == scheduler_name) return p.framework.get();
    }
    return nullptr;
  }

  PodInfoPtr ViewOf(const ObjectPtr& obj) const;
  void OnPodEvent(const ObjectPtr& old_obj, const ObjectPtr& new_obj);
  void OnNodeEvent(const ObjectPtr& old_obj, const ObjectPtr& new_obj);
  void ScheduleQueued(QueuedPodInfo qi);
  // The scheduling algorithm: the chosen node, or a failure with its diagnosis.
  PluginStatus SchedulePod(Framework* fw, CycleState& state, const PodInfo& pod,
                           std::string* node, Diagnosis* diag);
  std::vector<NodeInfoPtr> FindNodesThatFit(Framework* fw, CycleState& state, const PodInfo& pod,
                                            Diagnosis* diag, PluginStatus* error);
  void HandleFailure(Framework* fw, QueuedPodInfo qi, const PluginStatus& status,
                     const Diagnosis& diag, std::optional<std::string> nominated_node);
  void BindingCycle(Framework* fw, std::shared_ptr<CycleState> state, QueuedPodInfo qi,
                    PodInfoPtr assumed, std::shared_ptr<WaitingPod> waiting);

  Configuration config_;
  SchedulerClient* client_;
  SchedulerOptions options_;
  Cache cache_;
  Listers listers_;
  Snapshot snapshot_;  // the scheduling thread's
  Parallelizer parallelizer_;
  ThreadPool api_pool_;
  std::vector<ProfileRuntime> profiles_;
  std::unique_ptr<SchedulingQueue> queue_;
  std::mt19937_64 rng_;        // scheduling thread only
  std::map<std::string, std::vector<PodInfoPtr>, std::less<>> cycle_nominated_;  // ditto
  size_t next_start_node_ = 0;  // scheduling thread only

  std::mutex run_mu_;
  bool running_ = false;
  std::thread loop_, ticker_;
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stopping_ = false;  // guarded by tick_mu_

  std::mutex api_mu_;
  std::condition_variable api_cv_;
  int64_t api_pending_ = 0;  // guarded by api_mu_

  std::mutex waiting_mu_;
  std::map<std::string, std::shared_ptr<WaitingPod>, std::less<>> waiting_;  // guarded

  std::atomic<uint64_t> attempts_{0}, scheduled_{0}, unschedulable_{0}, errors_{0},
      preemptions_{0};
};

const Snapshot& ProfileHandle::snapshot() const { return s_->snapshot(); }
const Listers& ProfileHandle::listers() const { return s_->listers(); }
Parallelizer& ProfileHandle::parallelizer() { return s_->parallelizer(); }
const Clock& ProfileHandle::clock() const { return s_->clock(); }
SchedulerClient* ProfileHandle::client() { return s_->client(); }
std::vector<PodInfoPtr> ProfileHandle::NominatedPodsForNode(std::string_view node) const {
  return s_->CycleNominatedPods(node);
}
void ProfileHandle::ClearNomination(const PodInfo& pod) {
  s_->mutable_queue().DeleteNominatedPodIfExists(pod.uid);
}
bool ProfileHandle::RejectWaitingPod(std::string_view uid, std::string_view plugin,
                                     std::string_view message) {
  return s_->RejectWaiting(uid, plugin, message);
}
void ProfileHandle::PostApiCall(std::function<void()> call) { s_->PostApiCall(std::move(call)); }

// --- events -----------------------------------------------------------------------------------

PodInfoPtr SchedulerImpl::ViewOf(const ObjectPtr& obj) const {
  if (!obj) return nullptr;
  PodInfoPtr p = MakePodInfo(obj);
  if (p->has_priority) return p;
  // spec.priority is normally set by the Priority admission plugin from priorityClassName;
  // where it was not, the class (or the global default) is resolved here the same way.
  std::shared_ptr<const PriorityClassView> pc =
      p->priority_class_name.empty() ? listers_.GlobalDefaultPriorityClass()
                                     : listers_.PriorityClass(p->priority_class_name);
  if (!pc) return p;
  auto m = std::make_shared<PodInfo>(*p);
  m->priority = pc->value;
  if (pc->preempt_never) m->preempt_never = true;
  return m;
}

void SchedulerImpl::OnEvent(ResourceKind kind, ObjectPtr old_obj, ObjectPtr new_obj) {
  const api::Object* any = new_obj ? new_obj.get() : old_obj.get();
  if (!any) return;
  std::string_view ns = api::GetNamespace(*any);
  std::string_view name = api::GetName(*any);
  const api::Object* now = new_obj.get();
  EventResource res = EventResource::kWildcard;
  switch (kind) {
    case ResourceKind::kPod: OnPodEvent(old_obj, new_obj); return;
    case ResourceKind::kNode: OnNodeEvent(old_obj, new_obj); return;
    case ResourceKind::kPersistentVolumeClaim:
      listers_.SetPvc(ns, name, now);
      res = EventResource::kPersistentVolumeClaim;
      break;
    case ResourceKind::kPersistentVolume:
      listers_.SetPv(name, now);
      res = EventResource::kPersistentVolume;
      break;
    case ResourceKind::kStorageClass:
      listers_.SetStorageClass(name, now);
      res = EventResource::kStorageClass;
      break;
    case ResourceKind::kPodDisruptionBudget:
      listers_.SetPdb(ns, name, now);
      return;
    case ResourceKind::kPriorityClass: listers_.SetPriorityClass(name, now); return;
    case ResourceKind::kNamespace:
      listers_.SetNamespace(name, now);
      res = EventResource::kNamespace;
      break;
    case ResourceKind::kService: listers_.SetWorkload(WorkloadKind::kService, ns, name, now); return;
    case ResourceKind::kReplicationController:
      listers_.SetWorkload(WorkloadKind::kReplicationController, ns, name, now);
      return;
    case ResourceKind::kReplicaSet:
      listers_.SetWorkload(WorkloadKind::kReplicaSet, ns, name, now);
      return;
    case ResourceKind::kStatefulSet:
      listers_.SetWorkload(WorkloadKind::kStatefulSet, ns, name, now);
      return;
  }
  uint32_t action = !old_obj ? kAdd : (!new_obj ? kDelete : kUpdateOther);
  queue_->MoveAllToActiveOrBackoffQueue(ClusterEvent{res, action, ""},
                                        EventObjects{{}, {}, {}, {}, old_obj, new_obj});
}

void SchedulerImpl::OnNodeEvent(const ObjectPtr& old_obj, const ObjectPtr& new_obj) {
  if (!new_obj) {
    NodeViewPtr old_view = MakeNodeView(old_obj);
    cache_.RemoveNode(old_view->name);
    queue_->MoveAllToActiveOrBackoffQueue({EventResource::kNode, kDelete, "NodeDelete"},
                                          EventObjects{{}, {}, old_view, {}, {}, {}});
    return;
  }
  NodeViewPtr view = MakeNodeView(new_obj);
  NodeViewPtr old_view = old_obj ? MakeNodeView(old_obj) : nullptr;
  cache_.AddNode(view);
  uint32_t actions = old_view ? NodeUpdateActions(*old_view, *view) : kAdd;
  if (actions == 0) return;
  queue_->MoveAllToActiveOrBackoffQueue(
      {EventResource::kNode, actions, old_view ? "NodeUpdate" : "NodeAdd"},
      EventObjects{{}, {}, old_view, view, {}, {}});
}

void SchedulerImpl::OnPodEvent(const ObjectPtr& old_obj, const ObjectPtr& new_obj) {
  PodInfoPtr old_pod = ViewOf(old_obj);
  PodInfoPtr new_pod = ViewOf(new_obj);
  // Terminal pods are gone as far as scheduling is concerned.
  if (new_pod && new_pod->terminal) new_pod = nullptr;
  if (old_pod && old_pod->terminal) old_pod = nullptr;
  if (!old_pod && !new_pod) return;

  bool old_assigned = old_pod && !old_pod->node_name.empty();
  bool new_assigned = new_pod && !new_pod->node_name.empty();

  if (!new_pod) {  // deleted
    if (old_assigned || cache_.GetPod(old_pod->uid)) {
      PodInfoPtr cached = cache_.GetPod(old_pod->uid);
      cache_.RemovePod(cached ? *cached : *old_pod);
      queue_->MoveAllToActiveOrBackoffQueue(
          {EventResource::kAssignedPod, kDelete, "AssignedPodDelete"},
          EventObjects{cached ? cached : old_pod, {}, {}, {}, {}, {}});
    }
    if (!old_assigned) queue_->Delete(*old_pod);
    return;
  }
  if (new_assigned) {
    if (!old_pod || !old_assigned) {
      // Bound (by us: confirms the assumed pod; or by someone else).
      queue_->Delete(*new_pod);
      cache_.AddPod(new_pod);
      queue_->MoveAllToActiveOrBackoffQueue({EventResource::kAssignedPod, kAdd, "AssignedPodAdd"},
                                            EventObjects{{}, new_pod, {}, {}, {}, {}});
      return;
    }
    cache_.UpdatePod(old_pod, new_pod);
    uint32_t actions = PodUpdateActions(*old_pod, *new_pod);
    queue_->MoveAllToActiveOrBackoffQueue({EventResource::kAssignedPod, actions, "AssignedPodUpdate"},
                                          EventObjects{old_pod, new_pod, {}, {}, {}, {}});
    return;
  }
  // Unassigned: ours only when a profile has its scheduler name.
  if (!FrameworkFor(new_pod->scheduler_name)) return;
  if (cache_.IsAssumedPod(new_pod->uid)) return;  // a stale update of a pod being bound
  if (!old_pod) {
    queue_->Add(new_pod);
  } else {
    queue_->Update(old_pod, new_pod);
  }
}

// --- the scheduling cycle ---------------------------------------------------------------------

std::vector<NodeInfoPtr> SchedulerImpl::FindNodesThatFit(Framework* fw, CycleState& state,
                                                         const PodInfo& pod, Diagnosis* diag,
                                                         PluginStatus* error) {
  PreFilterResult pre;
  std::vector<std::string> narrowed_by;
  PluginStatus s = fw->RunPreFilterPlugins(state, pod, &pre, &narrowed_by);
  if (!s.IsSuccess()) {
    if (!s.IsRejected()) {
      *error = s;
      return {};
    }
    diag->statuses.SetAbsentNodesStatus(s);
    diag->pre_filter_msg = s.Message();
    if (!s.plugin().empty()) diag->unschedulable_plugins.emplace(s.plugin());
    return {};
  }
  // A pod nominated by an earlier preemption tries its node first.
  if (!pod.nominated_node_name.empty()) {
    if (NodeInfoPtr ni = snapshot_.GetPtr(pod.nominated_node_name)) {
      if (fw->RunFilterPluginsWithNominatedPods(state, pod, *ni).IsSuccess()) return {ni};
    }
  }
  const auto& all = snapshot_.NodeInfos();
  std::vector<NodeInfoPtr> subset;
  const std::vector<NodeInfoPtr>* nodes = &all;
  if (pre) {
    for (const auto& name : *pre) {
      if (auto ni = snapshot_.GetPtr(name)) subset.push_back(std::move(ni));
    }
    nodes = &subset;
    std::string list;
    for (const auto& n : narrowed_by) list += (list.empty() ? "" : " ") + n;
    diag->statuses.SetAbsentNodesStatus(PluginStatus(
        Code::kUnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [" + list + "]"));
  }
  const int32_t n = static_cast<int32_t>(nodes->size());
  if (n == 0) return {};
  int32_t pct = fw->PercentageOfNodesToScore().value_or(config_.percentage_of_nodes_to_score);
  const int32_t want = NumFeasibleNodesToFind(pct, n);
  const size_t start = next_start_node_ % static_cast<size_t>(n);
  std::vector<NodeInfoPtr> feasible(static_cast<size_t>(want));
  // Positions in the snapshot's list (known when the nodes are the whole list).
  std::vector<int32_t> positions(pre ? 0 : static_cast<size_t>(want));
  if (!fw->HasFilterPlugins()) {
    for (int32_t i = 0; i < want; ++i) {
      feasible[i] = (*nodes)[(start + i) % n];
      if (!pre) positions[i] = static_cast<int32_t>((start + i) % n);
    }
    next_start_node_ = (start + want) % all.size();
    state.SetFeasiblePositions(std::move(positions));
    return feasible;
  }
  std::atomic<int32_t> found{0};
  std::atomic<int32_t> failed{0};
  std::atomic<bool> abort{false};
  std::mutex mu;
  // Per worker, so failing nodes (all of them when nothing fits) take no lock.
  std::vector<std::vector<std::pair<const NodeInfo*, PluginStatus>>> failures(
      parallelizer_.parallelism());
  PluginStatus first_error;
  auto check = [&](int i, int worker) {
    if (abort.load(std::memory_order_relaxed) || found.load(std::memory_order_relaxed) >= want) {
      return;
    }
    // The nodes are scattered in memory: fetch the next ones' NodeInfo and NodeView ahead.
    if (i + 4 < n) PrefetchNodeInfo((*nodes)[(start + static_cast<size_t>(i) + 4) % n].get());
    if (i + 2 < n) PrefetchNodeView((*nodes)[(start + static_cast<size_t>(i) + 2) % n].get());
    const NodeInfoPtr& ni = (*nodes)[(start + static_cast<size_t>(i)) % n];
    PluginStatus st = fw->RunFilterPluginsWithNominatedPods(state, pod, *ni);
    if (st.IsSuccess()) {
      int32_t k = found.fetch_add(1);
      if (k >= want) {
        found.fetch_sub(1);
      } else {
        feasible[k] = ni;
        if (!pre) positions[k] = static_cast<int32_t>((start + static_cast<size_t>(i)) % n);
      }
      return;
    }
    failed.fetch_add(1);
    if (!st.IsRejected()) {
      std::lock_guard<std::mutex> l(mu);
      if (!abort) first_error = st;
      abort = true;
      return;
    }
    failures[worker].emplace_back(ni.get(), std::move(st));
  };
  if (n >= 64) {
    parallelizer_.UntilWithWorker(n, check);
  } else {
    for (int32_t i = 0; i < n; ++i) check(i, 0);
  }
  if (abort) {
    *error = first_error;
    return {};
  }
  std::vector<std::string_view> plugins;  // few distinct: dedupe before building strings
  diag->statuses.Reserve(static_cast<size_t>(failed.load()));
  for (auto& per_worker : failures) {
    for (auto& [ni, st] : per_worker) {
      std::string_view p = st.plugin();
      if (!p.empty() && std::find(plugins.begin(), plugins.end(), p) == plugins.end()) {
        plugins.push_back(p);
      }
      diag->statuses.Set(ni->Name(), std::move(st));
    }
  }
  for (auto p : plugins) diag->unschedulable_plugins.emplace(p);
  int32_t processed = found.load() + failed.load();
  if (!all.empty()) next_start_node_ = (start + static_cast<size_t>(processed)) % all.size();
  feasible.resize(static_cast<size_t>(found.load()));
  if (!pre) {
    positions.resize(feasible.size());
    state.SetFeasiblePositions(std::move(positions));
  }
  return feasible;
}

PluginStatus SchedulerImpl::SchedulePod(Framework* fw, CycleState& state, const PodInfo& pod,
                                        std::string* node, Diagnosis* diag) {
  if (snapshot_.NumNodes() == 0) {
    return PluginStatus(Code::kError, "no nodes available to schedule pods");
  }
  PluginStatus error;
  auto feasible = FindNodesThatFit(fw, state, pod, diag, &error);
  if (!error.IsSuccess()) return error;
  if (feasible.empty()) return PluginStatus(Code::kUnschedulable);
  if (feasible.size() == 1) {
    *node = feasible[0]->Name();
    return {};
  }
  PluginStatus s = fw->RunPreScorePlugins(state, pod, feasible);
  if (!s.IsSuccess()) return s;
  std::vector<int64_t> totals = fw->RunScorePlugins(state, pod, feasible);
  // The highest total; ties broken uniformly at random (reservoir sampling, as upstream).
  size_t best = 0;
  int64_t best_score = totals[0];
  uint64_t ties = 1;
  for (size_t i = 1; i < totals.size(); ++i) {
    if (totals[i] > best_score) {
      best = i;
      best_score = totals[i];
      ties = 1;
    } else if (totals[i] == best_score) {
      ++ties;
      if (rng_() % ties == 0) best = i;
    }
  }
  *node = feasible[best]->Name();
  return {};
}

void SchedulerImpl::ScheduleQueued(QueuedPodInfo qi) {
  const PodInfoPtr pod = qi.pod;
  Framework* fw = FrameworkFor(pod->scheduler_name);
  if (!fw) {
    queue_->Done(pod->uid);
    return;
  }
  // A pod being deleted, or already assumed, is not scheduled.
  if (pod->terminating || cache_.IsAssumedPod(pod->uid)) {
    queue_->Done(pod->uid);
    return;
  }
  ++attempts_;
  cache_.UpdateSnapshot(&snapshot_);
  auto state = std::make_shared<CycleState>();
  state->SetNominatedPodsPossible(queue_->HasNominatedPods());
  cycle_nominated_.clear();
  if (state->NominatedPodsPossible()) cycle_nominated_ = queue_->NominatedPods();
  Diagnosis diag;
  std::string node;
  PluginStatus s;
  if (!pod->parse_error.empty()) {
    s = PluginStatus(Code::kError, pod->parse_error);
  } else {
    s = SchedulePod(fw, *state, *pod, &node, &diag);
  }
  if (!s.IsSuccess()) {
    std::optional<std::string> nominated;
    if (s.IsRejected()) {  // no node fits: upstream's FitError
      if (fw->HasPostFilterPlugins()) {
        PostFilterResult pr;
        PluginStatus ps = fw->RunPostFilterPlugins(*state, *pod, diag.statuses, &pr);
        if (ps.IsSuccess() || ps.IsRejected()) {
          diag.post_filter_msg = ps.Message();
        }
        nominated = pr.nominated_node_name;
        if (ps.IsSuccess() && nominated && !nominated->empty()) ++preemptions_;
      }
      s = PluginStatus(Code::kUnschedulable, FitErrorMessage(snapshot_.NumNodes(), diag));
      ++unschedulable_;
    } else {
      ++errors_;
    }
    HandleFailure(fw, std::move(qi), s, diag, nominated);
    return;
  }

  // Assume the pod on the node, so the next cycles count it, then reserve and permit.
  PodInfoPtr assumed = WithNodeName(*WithNominatedNodeName(*pod, ""), node);
  queue_->DeleteNominatedPodIfExists(pod->uid);
  Status as = cache_.AssumePod(assumed);
  if (!as.ok()) {
    ++errors_;
    HandleFailure(fw, std::move(qi), PluginStatus(Code::kError, as.message()), diag, std::nullopt);
    return;
  }
  PluginStatus rs = fw->RunReservePluginsReserve(*state, *assumed, node);
  if (!rs.IsSuccess()) {
    fw->RunReservePluginsUnreserve(*state, *assumed, node);
    cache_.ForgetPod(assumed->uid).IgnoreError();
    if (rs.IsRejected() && !rs.plugin().empty()) diag.unschedulable_plugins.emplace(rs.plugin());
    ++errors_;
    HandleFailure(fw, std::move(qi), rs, diag, std::nullopt);
    return;
  }
  std::chrono::milliseconds timeout{0};
  std::vector<std::string> waiting_plugins;
  PluginStatus ps = fw->RunPermitPlugins(*state, *assumed, node, &timeout, &waiting_plugins);
  std::shared_ptr<WaitingPod> waiting;
  if (ps.IsWait()) {
    waiting = std::make_shared<WaitingPod>();
    waiting->pending.insert(waiting_plugins.begin(), waiting_plugins.end());
    std::lock_guard<std::mutex> l(waiting_mu_);
    waiting_[pod->uid] = waiting;
    // The timeout is enforced by the binding cycle.
    (void)timeout;
  } else if (!ps.IsSuccess()) {
    fw->RunReservePluginsUnreserve(*state, *assumed, node);
    cache_.ForgetPod(assumed->uid).IgnoreError();
    if (ps.IsRejected() && !ps.plugin().empty()) diag.unschedulable_plugins.emplace(ps.plugin());
    ++errors_;
    HandleFailure(fw, std::move(qi), ps, diag, std::nullopt);
    return;
  }
  // The pod stays in flight in the queue until its binding cycle ends.
  auto deadline = options_.clock->Monotonic() + timeout;
  PostApiCall([this, fw, state, qi = std::move(qi), assumed, waiting, deadline]() mutable {
    if (waiting) {
      std::unique_lock<std::mutex> l(waiting->mu);
      while (!waiting->rejected && !waiting->pending.empty()) {
        if (options_.clock->Monotonic() >= deadline) {
          waiting->rejected = PluginStatus(Code::kUnschedulable,
                                           "rejected due to timeout after waiting at permit");
          break;
        }
        options_.clock->WaitUntil(waiting->cv, l, deadline);
      }
    }
    BindingCycle(fw, state, std::move(qi), assumed, waiting);
  });
}

void SchedulerImpl::BindingCycle(Framework* fw, std::shared_ptr<CycleState> state,
                                 QueuedPodInfo qi, PodInfoPtr assumed,
                                 std::shared_ptr<WaitingPod> waiting) {
  const std::string node = assumed->node_name;
  PluginStatus s;
  if (waiting) {
    {
      std::lock_guard<std::mutex> l(waiting_mu_);
      waiting_.erase(assumed->uid);
    }
    if (waiting->rejected) s = *waiting->rejected;
  }
  if (s.IsSuccess()) s = fw->RunPreBindPlugins(*state, *assumed, node);
  if (s.IsSuccess()) {
    s = fw->RunBindPlugins(*state, *assumed, node);
    if (s.IsSkip()) s = PluginStatus(Code::kError, "no bind plugin bound the pod");
  }
  if (!s.IsSuccess()) {
    fw->RunReservePluginsUnreserve(*state, *assumed, node);
    cache_.ForgetPod(assumed->uid).IgnoreError();
    // The node's resources are free again: pods waiting for them may fit.
    queue_->MoveAllToActiveOrBackoffQueue({EventResource::kAssignedPod, kDelete, "AssignedPodDelete"},
                                          EventObjects{assumed, {}, {}, {}, {}, {}});
    ++errors_;
    Diagnosis diag;
    if (s.IsRejected() && !s.plugin().empty()) diag.unschedulable_plugins.emplace(s.plugin());
    HandleFailure(fw, std::move(qi), s.IsRejected() ? s : PluginStatus(Code::kError, "binding rejected: " + s.Message()),
                  diag, std::nullopt);
    return;
  }
  cache_.FinishBinding(assumed->uid);
  queue_->Done(assumed->uid);
  fw->RunPostBindPlugins(*state, *assumed, node);
  ++scheduled_;
  if (client_) {
    client_->RecordEvent(Event{"Normal", "Scheduled", "Binding",
                               "Successfully assigned " + assumed->namespace_ + "/" +
                                   assumed->name + " to " + node,
                               ObjectReference::Of(*assumed), std::nullopt,
                               fw->SchedulerName()});
  }
}

void SchedulerImpl::HandleFailure(Framework* fw, QueuedPodInfo qi, const PluginStatus& status,
                                  const Diagnosis& diag, std::optional<std::string> nominated) {
  PodInfoPtr pod = qi.pod;
  const std::string reason = status.IsRejected() ? "Unschedulable" : "SchedulerError";
  std::string message = status.Message();
  if (message.empty()) message = FitErrorMessage(snapshot_.NumNodes(), diag);
  qi.unschedulable_plugins = diag.unschedulable_plugins;
  qi.pending_plugins = diag.pending_plugins;
  // A pod bound or deleted meanwhile is not re-queued (the queue drops deleted ones).
  PodInfoPtr cached = cache_.GetPod(pod->uid);
  if (cached && !cache_.IsAssumedPod(pod->uid)) {
    queue_->Done(pod->uid);
    return;
  }
  queue_->AddUnschedulableIfNotPresent(qi);
  std::string old_nominated = pod->nominated_node_name;
  if (nominated) {
    if (nominated->empty()) {
      queue_->DeleteNominatedPodIfExists(pod->uid);
    } else {
      queue_->AddNominatedPod(WithNominatedNodeName(*pod, *nominated), *nominated);
    }
  }
  if (!client_) return;
  client_->RecordEvent(Event{"Warning", "FailedScheduling", "Scheduling", message,
                             ObjectReference::Of(*pod), std::nullopt, fw->SchedulerName()});
  // PodScheduled=False (and the nomination), unless the pod already says exactly that.
  PodStatusPatch patch;
  bool same_condition = false;
  if (const auto* status_obj = pod->object->if_contains("status"); status_obj && status_obj->is_object()) {
    if (const auto* conds = status_obj->as_object().if_contains("conditions"); conds && conds->is_array()) {
      for (const auto& c : conds->as_array()) {
        if (!c.is_object()) continue;
        const auto& co = c.as_object();
        auto str = [&](std::string_view k) {
          const auto* v = co.if_contains(k);
          return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
        };
        if (str("type") == "PodScheduled" && str("status") == "False" && str("reason") == reason &&
            str("message") == message) {
          same_condition = true;
        }
      }
    }
  }
  bool nomination_changes = nominated && *nominated != old_nominated;
  if (same_condition && !nomination_changes) return;
  patch.condition = PodCondition{"PodScheduled", "False", reason, message};
  if (nomination_changes) patch.nominated_node_name = *nominated;
  PodRef ref = PodRef::Of(*pod);
  PostApiCall([this, ref, patch] { client_->PatchPodStatus(ref, patch).IgnoreError(); });
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const Configuration& config,
                                                     SchedulerClient* client,
                                                     SchedulerOptions options,
                                                     const Registry& registry) {
  if (config.profiles.empty()) return InvalidArgumentError("profiles: Required value");
  auto s = std::make_unique<SchedulerImpl>(config, client, std::move(options));
  KEELSON_RETURN_IF_ERROR(s->Init(registry));
  return std::unique_ptr<Scheduler>(std::move(s));
}

}  // namespace keelson::scheduler
