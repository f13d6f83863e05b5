#include "client/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace keelson::client {

using std::chrono::nanoseconds;

TokenBucket::TokenBucket(double qps, int burst, std::shared_ptr<const Clock> clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(clock ? std::move(clock) : RealClock()),
      tokens_(burst_), last_(clock_->Monotonic()) {}

nanoseconds TokenBucket::Reserve() {
  if (unlimited()) return nanoseconds(0);
  std::lock_guard l(mu_);
  auto now = clock_->Monotonic();
  if (now > last_) {
    double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + secs * qps_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return nanoseconds(0);
  return nanoseconds(static_cast<int64_t>(std::ceil(-tokens_ / qps_ * 1e9)));
}

bool TokenBucket::TryAccept() {
  if (unlimited()) return true;
  std::lock_guard l(mu_);
  auto now = clock_->Monotonic();
  if (now > last_) {
    double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + secs * qps_);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool TokenBucket::Accept(std::stop_token stop) {
  nanoseconds wait = Reserve();
  if (wait.count() == 0) return !stop.stop_requested();
  return SleepUntil(*clock_, clock_->Monotonic() + wait, stop);
}

bool SleepUntil(const Clock& clock, Clock::MonoTime deadline, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  std::stop_callback on_stop(stop, [&] {
    std::lock_guard l(mu);
    stopped = true;
    cv.notify_all();
  });
  std::unique_lock l(mu);
  while (!stopped && clock.Monotonic() < deadline) clock.WaitUntil(cv, l, deadline);
  return !stopped;
}

namespace {

class ItemExponentialFailure final : public RateLimiter {
 public:
  ItemExponentialFailure(nanoseconds base, nanoseconds max) : base_(base), max_(max) {}

  nanoseconds When(const std::string& item) override {
    std::lock_guard l(mu_);
    int exp = failures_[item]++;
    // base * 2^exp, computed in floating point so that a large exponent cannot overflow.
    double d = static_cast<double>(base_.count()) * std::pow(2.0, exp);
    if (d > static_cast<double>(max_.count())) return max_;
    return nanoseconds(static_cast<int64_t>(d));
  }
  void Forget(const std::string& item) override {
    std::lock_guard l(mu_);
    failures_.erase(item);
  }
  int NumRequeues(const std::string& item) override {
    std::lock_guard l(mu_);
    auto it = failures_.find(item);
    return it == failures_.end() ? 0 : it->second;
  }

 private:
  const nanoseconds base_;
  const nanoseconds max_;
  std::mutex mu_;
  std::map<std::string, int> failures_;  // guarded by mu_
};

class Bucket final : public RateLimiter {
 public:
  Bucket(double qps, int burst, std::shared_ptr<const Clock> clock)
      : bucket_(qps, burst, std::move(clock)) {}
  nanoseconds When(const std::string&) override { return bucket_.Reserve(); }
  void Forget(const std::string&) override {}
  int NumRequeues(const std::string&) override { return 0; }

 private:
  TokenBucket bucket_;
};

class MaxOf final : public RateLimiter {
 public:
  explicit MaxOf(std::vector<std::unique_ptr<RateLimiter>> limiters)
      : limiters_(std::move(limiters)) {}
  nanoseconds When(const std::string& item) override {
    nanoseconds longest(0);
    for (auto& l : limiters_) longest = std::max(longest, l->When(item));
    return longest;
  }
  void Forget(const std::string& item) override {
    for (auto& l : limiters_) l->Forget(item);
  }
  int NumRequeues(const std::string& item) override {
    int most = 0;
    for (auto& l : limiters_) most = std::max(most, l->NumRequeues(item));
    return most;
  }

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

}  // namespace

std::unique_ptr<RateLimiter> NewItemExponentialFailureRateLimiter(nanoseconds base,
                                                                  nanoseconds max) {
  return std::make_unique<ItemExponentialFailure>(base, max);
}

std::unique_ptr<RateLimiter> NewBucketRateLimiter(double qps, int burst,
                                                  std::shared_ptr<const Clock> clock) {
  return std::make_unique<Bucket>(qps, burst, std::move(clock));
}

std::unique_ptr<RateLimiter> NewMaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters) {
  return std::make_unique<MaxOf>(std::move(limiters));
}

std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(std::shared_ptr<const Clock> clock) {
  std::vector<std::unique_ptr<RateLimiter>> v;
  v.push_back(NewItemExponentialFailureRateLimiter(std::chrono::milliseconds(5),
                                                   std::chrono::seconds(1000)));
  v.push_back(NewBucketRateLimiter(10, 100, std::move(clock)));
  return NewMaxOfRateLimiter(std::move(v));
}

}  // namespace keelson::client
