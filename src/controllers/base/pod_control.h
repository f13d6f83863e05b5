// How workload controllers create and delete pods (upstream's PodControlInterface and
// RealPodControl, GetPodFromTemplate and slowStartBatch from pkg/controller), and how they
// fan the writes out.
//
// PodControl writes through the REST client and records upstream's events on the owner:
// SuccessfulCreate "Created pod: NAME", FailedCreate "Error creating: ERR" (not when the
// namespace is terminating), SuccessfulDelete "Deleted pod: NAME", FailedDelete
// "Error deleting: ERR".
//
// ParallelRunner runs a batch of blocking calls (pod creates and deletes) on a bounded set of
// threads, made when first needed; SlowStartBatch sends creates in batches of 1, 2, 4, ...
// (each batch in parallel) and stops after the first batch with a failure, so that a
// controller whose creates all fail (a quota, a bad template) sends one or a few, not
// hundreds.
//
// Thread-safety: PodControl and ParallelRunner may be used from any number of threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "client/event_recorder.h"
#include "client/rest_client.h"
#include "common/status.h"

namespace keelson::controllers {

// The pod a controller creates from its pod template (spec.template): generateName
// "<owner name>-" (the name alone when that is not a valid prefix), the template's labels,
// annotations and finalizers, the template's spec, and `controller_ref` as its only owner
// reference (none when null). InvalidArgument when the template has no labels (upstream
// refuses to create pods no selector can find).
Result<api::Object> PodFromTemplate(const api::Object& pod_template, const api::Object& owner,
                                    const api::OwnerReference* controller_ref);

// Whether `e` carries the cause that the namespace is terminating (creates there fail).
bool HasNamespaceTerminatingCause(const api::ApiError& e);

class PodControl {
 public:
  virtual ~PodControl() = default;
  // Creates `pod` (from PodFromTemplate) in `ns` on behalf of `owner`; records the event.
  virtual api::ApiResult<api::Object> CreatePod(std::string_view ns, const api::Object& pod,
                                                const api::Object& owner) = 0;
  // Deletes pod `name` in `ns` on behalf of `owner`; records the event (not for NotFound,
  // which is returned as it is).
  virtual api::ApiResult<api::Object> DeletePod(std::string_view ns, std::string_view name,
                                                const api::Object& owner) = 0;
  // Applies a strategic merge patch to pod `name` in `ns`.
  virtual api::ApiResult<api::Object> PatchPod(std::string_view ns, std::string_view name,
                                               std::string_view patch) = 0;
};

// PodControl through `client`, recording on `recorder`. Both must outlive it.
std::unique_ptr<PodControl> NewPodControl(client::RestClient* client,
                                          client::EventRecorder* recorder);

// Runs fn(0) ... fn(n-1), up to `max_threads` at once on its own threads plus the caller's,
// and returns when all have returned. Threads are made when a batch first needs them and
// then wait for the next batch.
class ParallelRunner {
 public:
  explicit ParallelRunner(int max_threads);
  ~ParallelRunner();  // joins the threads
  ParallelRunner(const ParallelRunner&) = delete;
  ParallelRunner& operator=(const ParallelRunner&) = delete;

  void Run(int n, const std::function<void(int)>& fn);

 private:
  struct Batch;
  void Loop();
  static void Drain(Batch& b);

  const int max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Batch>> pending_;  // guarded by mu_: helpers wanted
  int idle_ = 0;                                // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::vector<std::thread> threads_;            // guarded by mu_
};

struct SlowStartResult {
  int successes = 0;
  Status first_error;  // of the batch that failed, when one did
};

// Calls `fn` `count` times in batches of initial_batch_size, then twice the last, ... (never
// more than what remains); each batch runs in parallel on `runner`. After a batch in which a
// call failed no more batches start.
SlowStartResult SlowStartBatch(int count, int initial_batch_size, ParallelRunner& runner,
                               const std::function<Status()>& fn);

inline constexpr int kSlowStartInitialBatchSize = 1;

}  // namespace keelson::controllers
