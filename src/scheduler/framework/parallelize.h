// Parallelizer: runs a function over [0, n) on a bounded number of threads, the calling
// thread included (upstream's parallelize.Until). Work is handed out in chunks from a shared
// counter, so a slow node does not hold up a thread's whole share. A function that wants to
// stop early (enough feasible nodes found) checks its own flag.
//
// Thread-safety: Until may be called from one thread at a time (the scheduling thread); the
// function runs concurrently on up to `parallelism` threads.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace keelson::scheduler {

class Parallelizer {
 public:
  // parallelism 1 runs everything on the calling thread.
  explicit Parallelizer(int parallelism);
  ~Parallelizer();
  Parallelizer(const Parallelizer&) = delete;
  Parallelizer& operator=(const Parallelizer&) = delete;

  int parallelism() const { return parallelism_; }
  // Calls fn(i) for every i in [0, n); returns when all calls have returned.
  void Until(int n, const std::function<void(int)>& fn);
  // The same with the index of the thread making the call, in [0, parallelism()): lets the
  // caller accumulate per thread without locks and merge once at the end.
  void UntilWithWorker(int n, const std::function<void(int i, int worker)>& fn);

 private:
  struct Job;
  void Worker(int index);
  void RunChunks(Job* job, int worker);

  int parallelism_;
  std::mutex mu_;
  std::condition_variable cv_;       // workers wait for a job
  std::condition_variable done_cv_;  // the caller waits for workers
  Job* job_ = nullptr;               // guarded by mu_
  uint64_t job_seq_ = 0;             // guarded by mu_
  int active_ = 0;                   // workers inside the current job; guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace keelson::scheduler
