// Executor: where work that may block runs (store reads on a remote backend, long lists), so
// that I/O threads never wait. ThreadPool is the implementation: a fixed set of threads
// taking tasks in order.
//
// Thread-safety: Post may be called from any thread, also from a task.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace keelson {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` later on one of the executor's threads. Tasks posted after Stop() are dropped.
  virtual void Post(std::function<void()> task) = 0;
};

class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool() override;  // Stop()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(std::function<void()> task) override;
  // Drops queued tasks, waits for running ones to finish and joins the threads.
  void Stop();
  // Tasks queued and not yet started.
  size_t Queued() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace keelson
