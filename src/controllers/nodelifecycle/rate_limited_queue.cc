#include "controllers/nodelifecycle/rate_limited_queue.h"

namespace keelson::controllers {

RateLimitedTimedQueue::Limiter RateLimitedTimedQueue::MakeLimiter(double qps,
                                                                  std::shared_ptr<const Clock> clock) {
  Limiter l;
  l.qps = qps;
  if (qps > 0) l.bucket = std::make_unique<client::TokenBucket>(qps, 1, std::move(clock));
  return l;
}

RateLimitedTimedQueue::RateLimitedTimedQueue(double qps, std::shared_ptr<const Clock> clock)
    : clock_(std::move(clock)), limiter_(MakeLimiter(qps, clock_)) {}

bool RateLimitedTimedQueue::Add(const std::string& value, const std::string& uid) {
  std::lock_guard lock(mu_);
  if (!set_.insert(value).second) return false;
  auto now = clock_->Monotonic();
  std::pair<Clock::MonoTime, uint64_t> key{now, seq_++};
  queue_.emplace(key, Value{value, uid, now, now});
  queued_[value] = key;
  return true;
}

bool RateLimitedTimedQueue::Remove(const std::string& value) {
  std::lock_guard lock(mu_);
  if (set_.erase(value) == 0) return false;
  if (auto it = queued_.find(value); it != queued_.end()) {
    queue_.erase(it->second);
    queued_.erase(it);
  }
  return true;
}

std::optional<RateLimitedTimedQueue::Value> RateLimitedTimedQueue::Head() const {
  std::lock_guard lock(mu_);
  if (queue_.empty()) return std::nullopt;
  return queue_.begin()->second;
}

void RateLimitedTimedQueue::Try(const std::function<Outcome(const Value&)>& fn) {
  std::lock_guard limiter_lock(limiter_mu_);
  for (auto head = Head(); head; head = Head()) {
    // As upstream, a token is spent on every look at the head, due or not.
    if (!limiter_.TryAccept()) break;
    auto now = clock_->Monotonic();
    if (now < head->process_at) break;
    Outcome out = fn(*head);
    std::lock_guard lock(mu_);
    auto it = queued_.find(head->value);
    if (it == queued_.end()) continue;  // removed meanwhile
    Value v = std::move(queue_.at(it->second));
    queue_.erase(it->second);
    if (out.done) {
      queued_.erase(it);  // stays in set_: not added again until removed
      continue;
    }
    v.process_at = now + out.retry_after + std::chrono::nanoseconds(1);
    std::pair<Clock::MonoTime, uint64_t> key{v.process_at, seq_++};
    it->second = key;
    queue_.emplace(key, std::move(v));
  }
}

void RateLimitedTimedQueue::SwapLimiter(double qps) {
  std::lock_guard lock(limiter_mu_);
  if (limiter_.qps == qps) return;
  Limiter next = MakeLimiter(qps, clock_);
  if (next.bucket && !limiter_.TryAccept()) next.TryAccept();
  limiter_ = std::move(next);
}

double RateLimitedTimedQueue::qps() const {
  std::lock_guard lock(limiter_mu_);
  return limiter_.qps;
}

size_t RateLimitedTimedQueue::Size() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace keelson::controllers
