// ParallelFor: runs fn(0) ... fn(n - 1) on up to `workers` threads and returns when all are
// done (upstream's workqueue.ParallelizeUntil), for passes whose pieces mostly wait on the
// API. Small passes run on the caller's thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace keelson::controllers {

inline void ParallelFor(int workers, size_t n, const std::function<void(size_t)>& fn) {
  const size_t threads = std::min<size_t>(std::max(workers, 1), n);
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
}

}  // namespace keelson::controllers
