// Rate limiters, all timed by an injected Clock.
//
// TokenBucket limits how fast a client sends requests (client-side QPS and burst, as
// upstream's flowcontrol token bucket): `qps` tokens a second accumulate up to `burst`; the
// bucket starts full. A qps of zero or less means no limit.
//
// RateLimiter decides how long a work queue item waits before it is retried (upstream's
// workqueue rate limiters): per-item exponential backoff, an overall token bucket, and the
// maximum of several. DefaultControllerRateLimiter() is upstream's controller default: the
// larger of 5 ms doubling per failure up to 1000 s for the item, and a 10 qps / 100 burst
// bucket over all items.
//
// Thread-safety: every method of every limiter may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"

namespace keelson::client {

class TokenBucket {
 public:
  TokenBucket(double qps, int burst, std::shared_ptr<const Clock> clock);

  // Takes a token when one is there now.
  bool TryAccept();
  // Takes the next token, now or in the future, and returns how long until it is due (zero
  // when it was there). A reservation is never given back.
  std::chrono::nanoseconds Reserve();
  // Takes the next token and waits on the clock until it is due. Returns false when `stop`
  // was requested before (the token stays taken).
  bool Accept(std::stop_token stop = {});

  bool unlimited() const { return qps_ <= 0; }

 private:
  const double qps_;
  const double burst_;
  const std::shared_ptr<const Clock> clock_;
  std::mutex mu_;
  double tokens_;          // guarded by mu_; negative when tokens are reserved ahead
  Clock::MonoTime last_;   // guarded by mu_: when tokens_ was last brought up to date
};

// Waits on `clock` until `deadline` or until `stop` is requested; returns false in the latter
// case. For retries and backoff that must be cut short when their owner stops.
bool SleepUntil(const Clock& clock, Clock::MonoTime deadline, std::stop_token stop = {});

// How long a work queue item waits before its next try.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Records one more failure of `item` and returns how long it should wait.
  virtual std::chrono::nanoseconds When(const std::string& item) = 0;
  // Forgets the failures of `item` (it succeeded).
  virtual void Forget(const std::string& item) = 0;
  // Failures of `item` since it was last forgotten.
  virtual int NumRequeues(const std::string& item) = 0;
};

// base * 2^failures, at most `max`.
std::unique_ptr<RateLimiter> NewItemExponentialFailureRateLimiter(std::chrono::nanoseconds base,
                                                                  std::chrono::nanoseconds max);
// One token bucket over all items: When() reserves the next token.
std::unique_ptr<RateLimiter> NewBucketRateLimiter(double qps, int burst,
                                                  std::shared_ptr<const Clock> clock);
// The longest wait of `limiters`.
std::unique_ptr<RateLimiter> NewMaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters);
// Max of 5 ms..1000 s per item and 10 qps / 100 burst overall.
std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(std::shared_ptr<const Clock> clock);

}  // namespace keelson::client
