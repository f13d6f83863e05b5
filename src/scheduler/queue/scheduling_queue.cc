#include "scheduler/queue/scheduling_queue.h"

#include <algorithm>

#include "scheduler/framework/framework.h"

namespace keelson::scheduler {

bool SchedulingQueue::ActiveLess::operator()(const Entry* a, const Entry* b) const {
  if (q->less_) {
    if (q->less_->Less(a->info, b->info)) return true;
    if (q->less_->Less(b->info, a->info)) return false;
  }
  return a->seq < b->seq;
}

SchedulingQueue::SchedulingQueue(std::shared_ptr<const Clock> clock, QueueOptions options,
                                 std::vector<Framework*> frameworks)
    : clock_(std::move(clock)),
      options_(options),
      frameworks_(std::move(frameworks)),
      active_(ActiveLess{this}) {
  if (!frameworks_.empty()) less_ = frameworks_[0]->QueueSort();
  for (auto* f : frameworks_) hints_[f->SchedulerName()] = f->EventsToRegister();
}

SchedulingQueue::~SchedulingQueue() { Close(); }

Framework* SchedulingQueue::FrameworkFor(const PodInfo& pod) const {
  for (auto* f : frameworks_) {
    if (f->SchedulerName() == pod.scheduler_name) return f;
  }
  return frameworks_.empty() ? nullptr : frameworks_[0];
}

Clock::MonoTime SchedulingQueue::BackoffExpiry(const QueuedPodInfo& info) const {
  auto d = options_.initial_backoff;
  for (int i = 1; i < info.attempts; ++i) {
    d *= 2;
    if (d > options_.max_backoff) {
      d = options_.max_backoff;
      break;
    }
  }
  if (d > options_.max_backoff) d = options_.max_backoff;
  return info.timestamp + d;
}

void SchedulingQueue::PushActiveLocked(Entry* e) {
  e->where = Where::kActive;
  e->seq = next_seq_++;
  active_.insert(e);
  cv_.notify_one();
}

void SchedulingQueue::ParkLocked(Entry* e) {
  e->where = Where::kUnschedulable;
  unschedulable_.insert(e);
}

void SchedulingQueue::RemoveLocked(Entry* e) {
  switch (e->where) {
    case Where::kActive: active_.erase(e); break;
    case Where::kBackoff: backoff_.erase({e->backoff_expiry, e}); break;
    case Where::kUnschedulable: unschedulable_.erase(e); break;
    case Where::kInFlight: break;
  }
}

// Runs PreEnqueue: a pod still gated stays parked.
void SchedulingQueue::ToActiveOrBackoffLocked(Entry* e, bool force_active) {
  if (Framework* f = FrameworkFor(*e->info.pod)) {
    PluginStatus s = f->RunPreEnqueuePlugins(*e->info.pod);
    if (!s.IsSuccess()) {
      e->info.gated = true;
      e->info.gating_plugin = s.plugin();
      if (e->where != Where::kUnschedulable) ParkLocked(e);
      return;
    }
  }
  bool was_gated = e->info.gated;
  e->info.gated = false;
  e->info.gating_plugin.clear();
  if (e->where == Where::kUnschedulable) unschedulable_.erase(e);
  auto now = clock_->Monotonic();
  if (!force_active && !was_gated && e->info.attempts > 0 && BackoffExpiry(e->info) > now) {
    e->where = Where::kBackoff;
    e->backoff_expiry = BackoffExpiry(e->info);
    backoff_.insert({e->backoff_expiry, e});
    return;
  }
  PushActiveLocked(e);
}

void SchedulingQueue::Add(PodInfoPtr pod) {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return;
  std::string uid = pod->uid;
  if (pods_.count(uid)) return;
  Entry& e = pods_[uid];
  e.info.pod = pod;
  e.info.timestamp = clock_->Monotonic();
  e.where = Where::kUnschedulable;  // parked until ToActiveOrBackoffLocked below
  unschedulable_.insert(&e);
  if (!pod->nominated_node_name.empty()) {
    nominated_[pod->nominated_node_name].push_back(pod);
    nominated_node_of_[uid] = pod->nominated_node_name;
    nominated_count_.store(nominated_node_of_.size());
  }
  ToActiveOrBackoffLocked(&e, /*force_active=*/true);
}

void SchedulingQueue::Update(const PodInfoPtr& old_pod, PodInfoPtr new_pod) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pods_.find(new_pod->uid);
    if (it != pods_.end()) {
      Entry& e = it->second;
      // The nomination follows status.nominatedNodeName.
      auto nit = nominated_node_of_.find(new_pod->uid);
      std::string nominated = nit == nominated_node_of_.end() ? "" : nit->second;
      if (!new_pod->nominated_node_name.empty() && new_pod->nominated_node_name != nominated) {
        if (!nominated.empty()) {
          auto& v = nominated_[nominated];
          v.erase(std::remove_if(v.begin(), v.end(),
                                 [&](const PodInfoPtr& p) { return p->uid == new_pod->uid; }),
                  v.end());
        }
        nominated_[new_pod->nominated_node_name].push_back(new_pod);
        nominated_node_of_[new_pod->uid] = new_pod->nominated_node_name;
        nominated_count_.store(nominated_node_of_.size());
      }
      switch (e.where) {
        case Where::kActive:
          active_.erase(&e);
          e.info.pod = new_pod;
          active_.insert(&e);
          return;
        case Where::kBackoff:
          e.info.pod = new_pod;
          return;
        case Where::kInFlight: {
          e.info.pod = new_pod;
          ClusterEvent ev{EventResource::kUnscheduledPod,
                          old_pod ? PodUpdateActions(*old_pod, *new_pod) : kUpdateOther,
                          "UnscheduledPodUpdate"};
          in_flight_events_.push_back({++event_seq_, ev, EventObjects{old_pod, new_pod, {}, {}, {}, {}}});
          return;
        }
        case Where::kUnschedulable: {
          PodInfoPtr prev = e.info.pod;
          e.info.pod = new_pod;
          if (e.info.gated) {
            ToActiveOrBackoffLocked(&e);
            return;
          }
          ClusterEvent ev{EventResource::kUnscheduledPod, PodUpdateActions(*prev, *new_pod),
                          "UnscheduledPodUpdate"};
          EventObjects objs{prev, new_pod, {}, {}, {}, {}};
          if (HintSaysQueue(e, ev, objs)) ToActiveOrBackoffLocked(&e);
          return;
        }
      }
      return;
    }
  }
  Add(std::move(new_pod));
}

void SchedulingQueue::Delete(const PodInfo& pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto nit = nominated_node_of_.find(pod.uid);
  if (nit != nominated_node_of_.end()) {
    auto& v = nominated_[nit->second];
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const PodInfoPtr& p) { return p->uid == pod.uid; }),
            v.end());
    if (v.empty()) nominated_.erase(nit->second);
    nominated_node_of_.erase(nit);
    nominated_count_.store(nominated_node_of_.size());
  }
  auto it = pods_.find(pod.uid);
  if (it == pods_.end()) return;
  if (it->second.where == Where::kInFlight) {
    it->second.deleted_in_flight = true;
    return;
  }
  RemoveLocked(&it->second);
  pods_.erase(it);
}

std::optional<QueuedPodInfo> SchedulingQueue::PopLocked() {
  if (active_.empty()) return std::nullopt;
  Entry* e = *active_.begin();
  active_.erase(active_.begin());
  e->where = Where::kInFlight;
  e->popped_at_event = event_seq_;
  in_flight_seqs_.insert(e->popped_at_event);
  ++in_flight_;
  ++e->info.attempts;
  if (e->info.attempts == 1) e->info.initial_attempt = clock_->Monotonic();
  QueuedPodInfo out = e->info;
  e->info.unschedulable_plugins.clear();
  e->info.pending_plugins.clear();
  return out;
}

std::optional<QueuedPodInfo> SchedulingQueue::Pop() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return closed_ || !active_.empty(); });
  if (closed_) return std::nullopt;
  return PopLocked();
}

std::optional<QueuedPodInfo> SchedulingQueue::TryPop() {
  std::lock_guard<std::mutex> l(mu_);
  return PopLocked();
}

void SchedulingQueue::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool SchedulingQueue::HintSaysQueue(const Entry& e, const ClusterEvent& event,
                                    const EventObjects& objects) const {
  const auto& info = e.info;
  // A pod rejected by no plugin (an error) is moved by any event.
  if (info.unschedulable_plugins.empty() && info.pending_plugins.empty() && !info.gated) {
    return true;
  }
  auto it = hints_.find(info.pod->scheduler_name);
  if (it == hints_.end()) return true;
  for (const auto& [plugin, reg] : it->second) {
    bool relevant = info.gated ? plugin == info.gating_plugin
                               : (info.unschedulable_plugins.count(plugin) ||
                                  info.pending_plugins.count(plugin));
    if (!relevant || !reg.event.Matches(event)) continue;
    if (!reg.hint || reg.hint(*info.pod, objects) == QueueingHint::kQueue) return true;
  }
  return false;
}

void SchedulingQueue::AddUnschedulableIfNotPresent(QueuedPodInfo info) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(info.pod->uid);
  if (it == pods_.end()) return;
  Entry& e = it->second;
  if (e.where != Where::kInFlight) return;
  --in_flight_;
  in_flight_seqs_.erase(in_flight_seqs_.find(e.popped_at_event));
  if (e.deleted_in_flight) {
    pods_.erase(it);
    PruneInFlightEventsLocked();
    return;
  }
  PodInfoPtr latest = e.info.pod;  // an update while in flight wins
  e.info = std::move(info);
  e.info.pod = latest;
  e.info.timestamp = clock_->Monotonic();
  e.info.last_failure = e.info.timestamp;
  bool queue = false;
  for (const auto& ev : in_flight_events_) {
    if (ev.seq > e.popped_at_event && HintSaysQueue(e, ev.event, ev.objects)) {
      queue = true;
      break;
    }
  }
  if (e.info.unschedulable_plugins.empty() && e.info.pending_plugins.empty()) queue = true;
  e.where = Where::kUnschedulable;
  unschedulable_.insert(&e);
  if (queue) ToActiveOrBackoffLocked(&e);
  PruneInFlightEventsLocked();
}

void SchedulingQueue::Done(std::string_view uid) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(std::string(uid));
  if (it == pods_.end() || it->second.where != Where::kInFlight) return;
  --in_flight_;
  in_flight_seqs_.erase(in_flight_seqs_.find(it->second.popped_at_event));
  pods_.erase(it);
  PruneInFlightEventsLocked();
}

void SchedulingQueue::PruneInFlightEventsLocked() {
  if (in_flight_ == 0) {
    in_flight_events_.clear();
    return;
  }
  uint64_t min_seq = *in_flight_seqs_.begin();
  while (!in_flight_events_.empty() && in_flight_events_.front().seq <= min_seq) {
    in_flight_events_.pop_front();
  }
}

void SchedulingQueue::MoveAllToActiveOrBackoffQueue(const ClusterEvent& event,
                                                    const EventObjects& objects) {
  std::lock_guard<std::mutex> l(mu_);
  if (in_flight_ > 0) in_flight_events_.push_back({++event_seq_, event, objects});
  if (unschedulable_.empty()) return;
  std::vector<Entry*> move;
  for (Entry* e : unschedulable_) {
    if (HintSaysQueue(*e, event, objects)) move.push_back(e);
  }
  for (Entry* e : move) ToActiveOrBackoffLocked(e);
}

void SchedulingQueue::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  auto now = clock_->Monotonic();
  while (!backoff_.empty() && backoff_.begin()->first <= now) {
    Entry* e = backoff_.begin()->second;
    backoff_.erase(backoff_.begin());
    PushActiveLocked(e);
  }
  if (unschedulable_.empty()) return;
  std::vector<Entry*> move;
  for (Entry* e : unschedulable_) {
    if (!e->info.gated && now - e->info.timestamp > options_.max_in_unschedulable) {
      move.push_back(e);
    }
  }
  for (Entry* e : move) ToActiveOrBackoffLocked(e);
}

void SchedulingQueue::AddNominatedPod(const PodInfoPtr& pod, std::string_view node) {
  std::lock_guard<std::mutex> l(mu_);
  auto nit = nominated_node_of_.find(pod->uid);
  if (nit != nominated_node_of_.end()) {
    auto& v = nominated_[nit->second];
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const PodInfoPtr& p) { return p->uid == pod->uid; }),
            v.end());
  }
  nominated_[std::string(node)].push_back(pod);
  nominated_node_of_[pod->uid] = node;
  nominated_count_.store(nominated_node_of_.size());
}

void SchedulingQueue::DeleteNominatedPodIfExists(std::string_view uid) {
  std::lock_guard<std::mutex> l(mu_);
  auto nit = nominated_node_of_.find(std::string(uid));
  if (nit == nominated_node_of_.end()) return;
  auto& v = nominated_[nit->second];
  v.erase(std::remove_if(v.begin(), v.end(), [&](const PodInfoPtr& p) { return p->uid == uid; }),
          v.end());
  if (v.empty()) nominated_.erase(nit->second);
  nominated_node_of_.erase(nit);
  nominated_count_.store(nominated_node_of_.size());
}

std::vector<PodInfoPtr> SchedulingQueue::NominatedPodsForNode(std::string_view node) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = nominated_.find(std::string(node));
  return it == nominated_.end() ? std::vector<PodInfoPtr>{} : it->second;
}

std::map<std::string, std::vector<PodInfoPtr>, std::less<>> SchedulingQueue::NominatedPods() const {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, std::vector<PodInfoPtr>, std::less<>> out;
  for (const auto& [node, pods] : nominated_) {
    if (!pods.empty()) out.emplace(node, pods);
  }
  return out;
}

bool SchedulingQueue::HasNominatedPods() const {
  return nominated_count_.load(std::memory_order_relaxed) > 0;
}

size_t SchedulingQueue::ActiveCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return active_.size();
}

size_t SchedulingQueue::BackoffCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return backoff_.size();
}

size_t SchedulingQueue::UnschedulableCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return unschedulable_.size();
}

bool SchedulingQueue::Has(std::string_view uid) const {
  std::lock_guard<std::mutex> l(mu_);
  return pods_.count(std::string(uid)) > 0;
}

std::string SchedulingQueue::WhereIs(std::string_view uid) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(std::string(uid));
  if (it == pods_.end()) return "";
  switch (it->second.where) {
    case Where::kActive: return "active";
    case Where::kBackoff: return "backoff";
    case Where::kUnschedulable: return it->second.info.gated ? "gated" : "unschedulable";
    case Where::kInFlight: return "inflight";
  }
  return "";
}

}  // namespace keelson::scheduler
