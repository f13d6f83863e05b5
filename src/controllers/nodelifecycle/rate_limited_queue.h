// RateLimitedTimedQueue: the node lifecycle controller's per-zone queue of nodes to taint
// NoExecute (upstream's scheduler.RateLimitedTimedQueue). Nodes are kept in the order they are
// due; Try() takes them one by one while its token bucket (burst 1) lets it, so a zone's
// nodes are tainted at most `qps` a second. A node added once is not added again until
// Remove() (the node recovered, or its taint disappeared); a node whose action succeeded
// leaves the queue but stays in the set.
//
// The limiter can be swapped as the zone's state changes (SwapLimiter); a qps of zero or less
// never lets anything through (the zone's evictions are stopped).
//
// Thread-safety: every method may be called from any thread; Try() runs `fn` with the
// queue's limiter lock held, so callers must not call back into the same queue from `fn`.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "client/rate_limiter.h"
#include "common/clock.h"

namespace keelson::controllers {

class RateLimitedTimedQueue {
 public:
  struct Value {
    std::string value;  // the node's name
    std::string uid;
    Clock::MonoTime added_at;
    Clock::MonoTime process_at;
  };
  // What an action answers: done, or try again after `retry_after`.
  struct Outcome {
    bool done = true;
    std::chrono::nanoseconds retry_after{0};
  };

  RateLimitedTimedQueue(double qps, std::shared_ptr<const Clock> clock);

  // Adds `value` to be processed now unless it was added before and not removed. Returns
  // whether it was added.
  bool Add(const std::string& value, const std::string& uid);
  // Removes `value` from the queue and the set, so it can be added again. Returns whether
  // it was in the set.
  bool Remove(const std::string& value);
  // Processes the due values in order while the limiter lets it: `fn` done takes the value
  // out of the queue (it stays in the set), otherwise it is due again after retry_after.
  void Try(const std::function<Outcome(const Value&)>& fn);
  // Replaces the limiter with one of `qps` (burst 1) unless it has that rate already; when
  // the old one had no token left, the new one starts without one either.
  void SwapLimiter(double qps);

  double qps() const;
  size_t Size() const;

 private:
  // A limiter that never lets through when qps <= 0.
  struct Limiter {
    double qps = 0;
    std::unique_ptr<client::TokenBucket> bucket;
    bool TryAccept() { return bucket && bucket->TryAccept(); }
  };
  static Limiter MakeLimiter(double qps, std::shared_ptr<const Clock> clock);
  std::optional<Value> Head() const;

  const std::shared_ptr<const Clock> clock_;

  mutable std::mutex mu_;
  // guarded by mu_: the queue ordered by (process_at, insertion), its index, and the set of
  // values added and not removed.
  std::map<std::pair<Clock::MonoTime, uint64_t>, Value> queue_;
  std::map<std::string, std::pair<Clock::MonoTime, uint64_t>> queued_;
  std::set<std::string> set_;
  uint64_t seq_ = 0;

  mutable std::mutex limiter_mu_;
  Limiter limiter_;  // guarded by limiter_mu_
};

}  // namespace keelson::controllers
