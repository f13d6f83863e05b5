// QueueWorker: a controller's work queue and the workers that drain it (upstream's
// processNextWorkItem loop, written once).
//
// Informer handlers Enqueue() keys ("namespace/name"); each worker takes a key, calls
// sync(key) and then:
//   - on OK: Forget(key) (its failures are cleared);
//   - on an error: logs it (not a Conflict, the usual race with other writers, nor a
//     FailedPrecondition, which a sync returns to wait on someone else) and re-adds the key
//     rate-limited (per-key exponential backoff,
//     5 ms doubling up to 1000 s, under an overall 10 qps / 100 burst), so an object a
//     controller cannot act on is retried slowly, never in a hot loop; with max_retries >= 0
//     the key is dropped after that many failures (upstream's deployment controller: 15).
// A key is never synced by two workers at once (client/workqueue.h).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/indexer.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "common/clock.h"
#include "common/status.h"

namespace keelson::controllers {

struct QueueWorkerOptions {
  // The controller's name, for logs ("deployment-controller").
  std::string name;
  // The system's clock when null.
  std::shared_ptr<const Clock> clock;
  // Failures after which a key is dropped (until it is enqueued again); -1: never dropped.
  int max_retries = -1;
  // The rate limiter of the queue; the default controller rate limiter when null.
  std::unique_ptr<client::RateLimiter> rate_limiter;
};

class QueueWorker {
 public:
  using SyncFunc = std::function<Status(const std::string& key)>;

  QueueWorker(QueueWorkerOptions options, SyncFunc sync);
  ~QueueWorker();  // Stop()
  QueueWorker(const QueueWorker&) = delete;
  QueueWorker& operator=(const QueueWorker&) = delete;

  void Enqueue(const std::string& key) { queue_.Add(key); }
  // The key of `obj` ("namespace/name").
  void Enqueue(const api::Object& obj) { queue_.Add(client::ObjectKey(obj)); }
  void EnqueueAfter(const std::string& key, std::chrono::nanoseconds delay) {
    queue_.AddAfter(key, delay);
  }
  void EnqueueRateLimited(const std::string& key) { queue_.AddRateLimited(key); }
  // Informer handlers that queue the object's key on every add, update and delete.
  client::ResourceEventHandler EnqueueOnEveryChange() {
    return {
        .on_add = [this](const client::ObjectPtr& o, bool) { Enqueue(*o); },
        .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& o) { Enqueue(*o); },
        .on_delete = [this](const client::ObjectPtr& o, bool) { Enqueue(*o); },
    };
  }

  // Starts `workers` threads (once).
  void Start(int workers);
  // Shuts the queue down and joins the workers (a sync in progress finishes). Idempotent.
  void Stop();

  client::WorkQueue& queue() { return queue_; }

 private:
  void Work();

  const std::string name_;
  const int max_retries_;
  const SyncFunc sync_;
  client::WorkQueue queue_;
  std::vector<std::thread> workers_;
};

}  // namespace keelson::controllers
