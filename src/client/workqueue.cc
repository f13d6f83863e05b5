#include "client/workqueue.h"

namespace keelson::client {

WorkQueue::WorkQueue(WorkQueueOptions options)
    : name_(std::move(options.name)),
      clock_(options.clock ? std::move(options.clock) : RealClock()),
      limiter_(options.rate_limiter ? std::move(options.rate_limiter)
                                    : DefaultControllerRateLimiter(clock_)) {}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;
  if (processing_.contains(key)) return;  // queued again by Done()
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard l(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::nanoseconds delay) {
  std::lock_guard l(mu_);
  if (shutting_down_) return;
  if (delay.count() <= 0) {
    AddLocked(key);
    return;
  }
  auto due = clock_->Monotonic() + delay;
  if (auto it = delayed_at_.find(key); it != delayed_at_.end()) {
    if (it->second <= due) return;
    auto [b, e] = delayed_.equal_range(it->second);
    for (auto d = b; d != e; ++d) {
      if (d->second == key) {
        delayed_.erase(d);
        break;
      }
    }
    it->second = due;
  } else {
    delayed_at_.emplace(key, due);
  }
  delayed_.emplace(due, key);
  // A worker waiting in Get() may have to wake earlier than it planned.
  cv_.notify_all();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  AddAfter(key, limiter_->When(key));
}

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) { return limiter_->NumRequeues(key); }

void WorkQueue::PromoteDueLocked() {
  if (delayed_.empty()) return;
  auto now = clock_->Monotonic();
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    delayed_at_.erase(key);
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock l(mu_);
  while (true) {
    PromoteDueLocked();
    if (!queue_.empty()) break;
    if (shutting_down_) return std::nullopt;
    if (delayed_.empty()) {
      cv_.wait(l);
    } else {
      clock_->WaitUntil(cv_, l, delayed_.begin()->first);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard l(mu_);
  processing_.erase(key);
  if (dirty_.contains(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
  if (draining_ && processing_.empty()) cv_.notify_all();
}

size_t WorkQueue::Len() {
  std::lock_guard l(mu_);
  PromoteDueLocked();
  return queue_.size();
}

size_t WorkQueue::Delayed() {
  std::lock_guard l(mu_);
  PromoteDueLocked();
  return delayed_.size();
}

void WorkQueue::ShutDown() {
  std::lock_guard l(mu_);
  shutting_down_ = true;
  delayed_.clear();
  delayed_at_.clear();
  cv_.notify_all();
}

void WorkQueue::ShutDownWithDrain() {
  std::unique_lock l(mu_);
  shutting_down_ = true;
  draining_ = true;
  delayed_.clear();
  delayed_at_.clear();
  cv_.notify_all();
  cv_.wait(l, [&] { return processing_.empty(); });
}

bool WorkQueue::ShuttingDown() {
  std::lock_guard l(mu_);
  return shutting_down_;
}

}  // namespace keelson::client
