#include "scheduler/framework/parallelize.h"

#include <algorithm>
#include <atomic>
#include <cmath>

namespace keelson::scheduler {

struct Parallelizer::Job {
  const std::function<void(int, int)>* fn = nullptr;
  int n = 0;
  int chunk = 1;
  std::atomic<int> next{0};
};

Parallelizer::Parallelizer(int parallelism) : parallelism_(std::max(1, parallelism)) {
  for (int i = 1; i < parallelism_; ++i) threads_.emplace_back([this, i] { Worker(i); });
}

Parallelizer::~Parallelizer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Parallelizer::RunChunks(Job* job, int worker) {
  for (;;) {
    int start = job->next.fetch_add(job->chunk, std::memory_order_relaxed);
    if (start >= job->n) return;
    int end = std::min(job->n, start + job->chunk);
    for (int i = start; i < end; ++i) (*job->fn)(i, worker);
  }
}

void Parallelizer::Worker(int index) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || (job_ != nullptr && job_seq_ != seen); });
    if (stop_) return;
    seen = job_seq_;
    Job* job = job_;
    ++active_;
    l.unlock();
    RunChunks(job, index);
    l.lock();
    if (--active_ == 0) done_cv_.notify_all();
  }
}

void Parallelizer::Until(int n, const std::function<void(int)>& fn) {
  UntilWithWorker(n, [&fn](int i, int) { fn(i); });
}

void Parallelizer::UntilWithWorker(int n, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  if (threads_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  // Upstream's chunkSizeFor: about sqrt(n), at most n/parallelism + 1.
  int chunk = static_cast<int>(std::sqrt(static_cast<double>(n)));
  chunk = std::min(chunk, n / parallelism_ + 1);
  job.chunk = std::max(1, chunk);
  {
    std::lock_guard<std::mutex> l(mu_);
    job_ = &job;
    ++job_seq_;
  }
  cv_.notify_all();
  RunChunks(&job, 0);
  std::unique_lock<std::mutex> l(mu_);
  job_ = nullptr;
  // Workers that picked the job up finish their chunk; late ones see job_ == nullptr.
  done_cv_.wait(l, [&] { return active_ == 0; });
}

}  // namespace keelson::scheduler
