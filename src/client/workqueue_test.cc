// The work queue: deduplication, one worker per key, delayed and rate-limited adds on a fake
// clock, shutdown with and without drain.
#include "client/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

namespace keelson::client {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<FakeClock> NewClock() { return std::make_shared<FakeClock>(); }

WorkQueueOptions With(std::shared_ptr<FakeClock> clock) {
  WorkQueueOptions o;
  o.clock = std::move(clock);
  return o;
}

TEST(WorkQueueTest, DeduplicatesWaitingKeys) {
  WorkQueue q(With(NewClock()));
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(q.Get(), "a");
  EXPECT_EQ(q.Get(), "b");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, KeyAddedWhileProcessingIsQueuedOnDone) {
  WorkQueue q(With(NewClock()));
  q.Add("a");
  ASSERT_EQ(q.Get(), "a");
  q.Add("a");
  q.Add("a");
  // Not handed out again while processing.
  EXPECT_EQ(q.Len(), 0u);
  q.Done("a");
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "a");
  q.Done("a");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, NeverTwoWorkersOnOneKey) {
  WorkQueue q;
  constexpr int kKeys = 5;
  std::atomic<int> in_flight[kKeys] = {};
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.Get()) {
        int k = std::stoi(*key);
        if (in_flight[k].fetch_add(1) != 0) overlap = true;
        std::this_thread::sleep_for(50us);
        in_flight[k].fetch_sub(1);
        ++processed;
        q.Done(*key);
      }
    });
  }
  for (int i = 0; i < 4000; ++i) q.Add(std::to_string(i % kKeys));
  q.ShutDownWithDrain();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GT(processed.load(), 0);
}

TEST(WorkQueueTest, AddAfterWaitsForTheClock) {
  auto clock = NewClock();
  WorkQueue q(With(clock));
  q.AddAfter("a", 10s);
  q.AddAfter("b", 5s);
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(q.Delayed(), 2u);
  clock->Advance(5s);
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "b");
  clock->Advance(4999ms);
  EXPECT_EQ(q.Len(), 0u);
  clock->Advance(1ms);
  EXPECT_EQ(q.Get(), "a");
}

TEST(WorkQueueTest, EarlierAddAfterWinsLaterIsIgnored) {
  auto clock = NewClock();
  WorkQueue q(With(clock));
  q.AddAfter("a", 10s);
  q.AddAfter("a", 20s);  // later: ignored
  q.AddAfter("a", 3s);   // earlier: brings it forward
  EXPECT_EQ(q.Delayed(), 1u);
  clock->Advance(3s);
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(q.Get(), "a");
  q.Done("a");
  clock->Advance(20s);
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, AddAfterOfAQueuedKeyDeduplicates) {
  auto clock = NewClock();
  WorkQueue q(With(clock));
  q.Add("a");
  q.AddAfter("a", 1s);
  clock->Advance(1s);
  EXPECT_EQ(q.Len(), 1u);
}

TEST(WorkQueueTest, BlockedGetWakesWhenTheClockReachesADelayedKey) {
  auto clock = NewClock();
  WorkQueue q(With(clock));
  std::optional<std::string> got;
  std::thread worker([&] { got = q.Get(); });
  q.AddAfter("a", 1min);
  ASSERT_TRUE(clock->AwaitWaiters(1, 5000ms));
  clock->Advance(1min);
  worker.join();
  EXPECT_EQ(got, "a");
}

TEST(WorkQueueTest, RateLimitedAddsBackOffExponentiallyPerKey) {
  auto clock = NewClock();
  WorkQueue q(With(clock));
  // 5 ms, 10 ms, 20 ms, 40 ms for successive failures of one key.
  std::chrono::milliseconds expected[] = {5ms, 10ms, 20ms, 40ms};
  for (auto d : expected) {
    q.AddRateLimited("a");
    clock->Advance(d - 1ms);
    EXPECT_EQ(q.Len(), 0u) << d.count();
    clock->Advance(1ms);
    ASSERT_EQ(q.Len(), 1u) << d.count();
    ASSERT_EQ(q.Get(), "a");
    q.Done("a");
  }
  EXPECT_EQ(q.NumRequeues("a"), 4);
  // Another key starts at 5 ms.
  q.AddRateLimited("b");
  clock->Advance(5ms);
  EXPECT_EQ(q.Get(), "b");
  q.Done("b");
  q.Forget("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
  q.AddRateLimited("a");
  clock->Advance(5ms);
  EXPECT_EQ(q.Len(), 1u);
}

TEST(WorkQueueTest, ShutDownEndsGetAfterTheQueueIsEmpty) {
  WorkQueue q(With(NewClock()));
  q.Add("a");
  q.AddAfter("late", 1s);
  q.ShutDown();
  EXPECT_TRUE(q.ShuttingDown());
  q.Add("b");  // ignored
  EXPECT_EQ(q.Get(), "a");
  EXPECT_EQ(q.Get(), std::nullopt);
  EXPECT_EQ(q.Delayed(), 0u);
}

TEST(WorkQueueTest, ShutDownWakesBlockedWorkers) {
  WorkQueue q(With(NewClock()));
  std::vector<std::thread> workers;
  std::atomic<int> ended{0};
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      EXPECT_EQ(q.Get(), std::nullopt);
      ++ended;
    });
  }
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(ended.load(), 3);
}

TEST(WorkQueueTest, ShutDownWithDrainWaitsForKeysInProcess) {
  WorkQueue q(With(NewClock()));
  q.Add("a");
  ASSERT_EQ(q.Get(), "a");
  std::atomic<bool> drained{false};
  std::thread t([&] {
    q.ShutDownWithDrain();
    drained = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(drained.load());
  q.Done("a");
  t.join();
  EXPECT_TRUE(drained.load());
}

}  // namespace
}  // namespace keelson::client
