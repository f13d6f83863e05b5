// In-process benchmarks of the embedded store (no network): the ceiling `keelson store` can
// reach, and start-up time and memory with many keys and revisions.
//
//   build/bench/embedded_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "store/mvcc/embedded_store.h"

namespace keelson::store {
namespace {

std::string TempPath(const char* tag) {
  auto p = std::filesystem::temp_directory_path() /
           (std::string("keelson-bench-") + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

// Puts with `state.range(0)` requests in flight (as that many concurrent clients would have).
void BM_PutInFlight(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  const size_t value_size = static_cast<size_t>(state.range(1));
  std::string dir = TempPath("put");
  EmbeddedOptions o;
  o.data_dir = dir;
  auto s = OpenEmbeddedStore(o);
  if (!s.ok()) {
    state.SkipWithError(s.status().ToString().c_str());
    return;
  }
  Store* store = s->get();
  std::string value(value_size, 'v');
  std::mutex mu;
  std::condition_variable cv;
  int outstanding = 0;
  int64_t seq = 0, errors = 0;
  for (auto _ : state) {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return outstanding < in_flight; });
    ++outstanding;
    l.unlock();
    PutRequest p;
    p.key = "/bench/" + std::to_string(seq++ % 100000);
    p.value = value;
    TxnRequest t;
    t.success.push_back(RequestOp{std::move(p)});
    store->TxnAsync(std::move(t), [&](Result<TxnResponse> r) {
      std::lock_guard g(mu);
      if (!r.ok()) ++errors;
      --outstanding;
      cv.notify_one();
    });
  }
  std::unique_lock l(mu);
  cv.wait(l, [&] { return outstanding == 0; });
  state.SetItemsProcessed(state.iterations());
  state.counters["errors"] = static_cast<double>(errors);
  l.unlock();
  s->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PutInFlight)->Args({1, 256})->Args({16, 256})->Args({256, 256})->Args({256, 4096})
    ->UseRealTime()->MinTime(2);

void BM_GetOneKey(benchmark::State& state) {
  std::string dir = TempPath("get");
  EmbeddedOptions o;
  o.data_dir = dir;
  auto s = OpenEmbeddedStore(o);
  if (!s.ok() || !(*s)->Put("/bench/key", std::string(256, 'v')).ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  RangeRequest r;
  r.key = "/bench/key";
  for (auto _ : state) {
    auto resp = (*s)->Range(r);
    benchmark::DoNotOptimize(resp);
  }
  state.SetItemsProcessed(state.iterations());
  s->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_GetOneKey)->UseRealTime();

// Opening a store that holds `range(0)` keys, each written `range(1)` times.
void BM_OpenLargeStore(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const int versions = static_cast<int>(state.range(1));
  std::string dir = TempPath("open");
  {
    EmbeddedOptions o;
    o.data_dir = dir;
    o.auto_compact_retention = std::chrono::seconds(0);
    auto s = OpenEmbeddedStore(o);
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      return;
    }
    std::string value(200, 'x');
    // Large transactions keep the set-up quick: 1000 puts per revision.
    for (int v = 0; v < versions; ++v) {
      for (int base = 0; base < keys; base += 1000) {
        TxnRequest t;
        for (int k = base; k < std::min(keys, base + 1000); ++k) {
          t.success.push_back(RequestOp{PutRequest{"/registry/pods/ns/p" + std::to_string(k), value}});
        }
        if (!(*s)->Txn(std::move(t)).ok()) {
          state.SkipWithError("load failed");
          return;
        }
      }
    }
  }
  for (auto _ : state) {
    EmbeddedOptions o;
    o.data_dir = dir;
    auto s = OpenEmbeddedStore(o);
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      return;
    }
    RangeRequest r;
    r.key = "/registry/pods/ns/p0";
    benchmark::DoNotOptimize((*s)->Range(r));
  }
  std::error_code ec;
  state.counters["db_MiB"] = static_cast<double>(
      std::filesystem::file_size(std::filesystem::path(dir) / "data.mdb", ec)) / (1 << 20);
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["maxrss_MiB"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_OpenLargeStore)->Args({1000000, 2})->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace keelson::store

BENCHMARK_MAIN();
