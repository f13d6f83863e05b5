// WorkQueue: the rate-limited queue of keys between a controller's informer handlers and its
// workers (upstream's workqueue.TypedRateLimitingInterface, for string keys such as
// "namespace/name").
//
// - Deduplication: a key added while it waits is queued once.
// - One worker per key: a key handed out by Get() is not handed out again until Done(); an
//   Add() in between marks it, and Done() queues it again.
// - Delayed adds: AddAfter() queues the key once the clock reaches the delay; an earlier
//   AddAfter of a waiting key brings it forward, a later one leaves it.
// - Rate-limited adds: AddRateLimited() delays the key by the rate limiter (by default
//   upstream's: 5 ms doubling per failure up to 1000 s per key, and 10 qps / 100 burst over
//   all keys); Forget() clears a key's failures once it succeeded.
// - Shutdown: ShutDown() makes Add ignored and drops delayed keys; Get() still hands out what
//   is queued, then returns nullopt to every worker. ShutDownWithDrain() also waits until
//   every key handed out is Done().
//
// Time comes from the injected clock: delays are due when Clock::Monotonic() reaches them
// (a FakeClock's Advance() makes them due at once).
//
// Thread-safety: every method may be called from any thread; Get() typically from several
// worker threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>

#include "client/rate_limiter.h"
#include "common/clock.h"

namespace keelson::client {

struct WorkQueueOptions {
  // For messages and metrics.
  std::string name;
  // The system's clock when null.
  std::shared_ptr<const Clock> clock;
  // DefaultControllerRateLimiter(clock) when null.
  std::unique_ptr<RateLimiter> rate_limiter;
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();  // ShutDown()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` unless it is queued already (or being processed: then once it is Done).
  // Ignored after shutdown.
  void Add(const std::string& key);
  // Adds `key` once `delay` has passed on the clock (at once when it is not positive).
  void AddAfter(const std::string& key, std::chrono::nanoseconds delay);
  // AddAfter(key, rate limiter's When(key)).
  void AddRateLimited(const std::string& key);
  // Clears the rate limiter's failures of `key`; does not remove it from the queue.
  void Forget(const std::string& key);
  // The failures the rate limiter has counted for `key`.
  int NumRequeues(const std::string& key);

  // Blocks until a key is ready and hands it out; nullopt once the queue is shut down and
  // empty. The caller must call Done(key) when it has finished with it.
  std::optional<std::string> Get();
  // Ends the processing of a key handed out by Get(); queues it again if it was added
  // meanwhile.
  void Done(const std::string& key);

  // Keys ready to be handed out (not those processing or still delayed).
  size_t Len();
  // Keys waiting for their delay.
  size_t Delayed();

  void ShutDown();
  // ShutDown(), then waits until every key handed out has been Done().
  void ShutDownWithDrain();
  bool ShuttingDown();

 private:
  // Moves delayed keys that are due into the queue. mu_ held.
  void PromoteDueLocked();
  void AddLocked(const std::string& key);

  const std::string name_;
  const std::shared_ptr<const Clock> clock_;
  const std::unique_ptr<RateLimiter> limiter_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;                 // guarded by mu_: ready, in order
  std::unordered_set<std::string> dirty_;         // guarded by mu_: queued or to be requeued
  std::unordered_set<std::string> processing_;    // guarded by mu_: handed out, not Done
  // guarded by mu_: delayed keys by due time, and each delayed key's due time.
  std::multimap<Clock::MonoTime, std::string> delayed_;
  std::map<std::string, Clock::MonoTime> delayed_at_;
  bool shutting_down_ = false;  // guarded by mu_
  bool draining_ = false;       // guarded by mu_
};

}  // namespace keelson::client
