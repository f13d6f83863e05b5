#include "controllers/queue_worker.h"

#include <utility>

#include "common/log.h"

namespace keelson::controllers {

namespace {

client::WorkQueueOptions QueueOptions(QueueWorkerOptions& o) {
  client::WorkQueueOptions q;
  q.name = o.name;
  q.clock = o.clock;
  q.rate_limiter = std::move(o.rate_limiter);
  return q;
}

}  // namespace

QueueWorker::QueueWorker(QueueWorkerOptions options, SyncFunc sync)
    : name_(options.name), max_retries_(options.max_retries), sync_(std::move(sync)),
      queue_(QueueOptions(options)) {}

QueueWorker::~QueueWorker() { Stop(); }

void QueueWorker::Start(int workers) {
  if (!workers_.empty()) return;
  for (int i = 0; i < std::max(workers, 1); ++i) workers_.emplace_back([this] { Work(); });
}

void QueueWorker::Stop() {
  queue_.ShutDown();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void QueueWorker::Work() {
  while (auto key = queue_.Get()) {
    Status st = sync_(*key);
    if (st.ok()) {
      queue_.Forget(*key);
    } else if (max_retries_ >= 0 && queue_.NumRequeues(*key) >= max_retries_) {
      LogWarning(name_, "dropping " + *key + " out of the queue: " + st.message());
      queue_.Forget(*key);
    } else {
      // Conflicts are the normal race with other writers, FailedPrecondition a wait on
      // someone else: retried without a log line.
      if (st.code() != StatusCode::kConflict && st.code() != StatusCode::kFailedPrecondition) {
        LogWarning(name_, "error syncing " + *key + ", requeuing: " + st.message());
      }
      queue_.AddRateLimited(*key);
    }
    queue_.Done(*key);
  }
}

}  // namespace keelson::controllers
