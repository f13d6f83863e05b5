// Rate limiters on a fake clock: the token bucket of the client, the work queue's per-item
// exponential backoff, the overall bucket and their maximum.
#include "client/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace keelson::client {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST(TokenBucketTest, StartsFullThenRefillsAtQps) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucket b(10, 3, clock);
  EXPECT_TRUE(b.TryAccept());
  EXPECT_TRUE(b.TryAccept());
  EXPECT_TRUE(b.TryAccept());
  EXPECT_FALSE(b.TryAccept());
  clock->Advance(99ms);
  EXPECT_FALSE(b.TryAccept());
  clock->Advance(1ms);
  EXPECT_TRUE(b.TryAccept());
  // Never more than the burst.
  clock->Advance(1h);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.TryAccept());
  EXPECT_FALSE(b.TryAccept());
}

TEST(TokenBucketTest, ReserveSpacesRequestsAtQps) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucket b(5, 2, clock);
  EXPECT_EQ(b.Reserve(), nanoseconds(0));
  EXPECT_EQ(b.Reserve(), nanoseconds(0));
  EXPECT_EQ(b.Reserve(), nanoseconds(200ms));
  EXPECT_EQ(b.Reserve(), nanoseconds(400ms));
}

TEST(TokenBucketTest, AcceptWaitsOnTheClockAndStops) {
  auto clock = std::make_shared<FakeClock>();
  TokenBucket b(1, 1, clock);
  ASSERT_TRUE(b.Accept());
  std::atomic<bool> got{false};
  std::thread t([&] { got = b.Accept(); });
  ASSERT_TRUE(clock->AwaitWaiters(1, 5000ms));
  EXPECT_FALSE(got.load());
  clock->Advance(1s);
  t.join();
  EXPECT_TRUE(got.load());

  std::stop_source stop;
  std::atomic<bool> accepted{true};
  std::thread t2([&] { accepted = b.Accept(stop.get_token()); });
  ASSERT_TRUE(clock->AwaitWaiters(1, 5000ms));
  stop.request_stop();
  t2.join();
  EXPECT_FALSE(accepted.load());
}

TEST(TokenBucketTest, ZeroQpsIsUnlimited) {
  TokenBucket b(0, 1, std::make_shared<FakeClock>());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.TryAccept());
  EXPECT_EQ(b.Reserve(), nanoseconds(0));
}

TEST(RateLimiterTest, ItemExponentialFailure) {
  auto r = NewItemExponentialFailureRateLimiter(5ms, 1000s);
  EXPECT_EQ(r->When("a"), nanoseconds(5ms));
  EXPECT_EQ(r->When("a"), nanoseconds(10ms));
  EXPECT_EQ(r->When("a"), nanoseconds(20ms));
  EXPECT_EQ(r->When("b"), nanoseconds(5ms));
  EXPECT_EQ(r->NumRequeues("a"), 3);
  for (int i = 0; i < 100; ++i) r->When("a");
  EXPECT_EQ(r->When("a"), nanoseconds(1000s));  // capped, no overflow
  r->Forget("a");
  EXPECT_EQ(r->NumRequeues("a"), 0);
  EXPECT_EQ(r->When("a"), nanoseconds(5ms));
}

TEST(RateLimiterTest, DefaultControllerLimiterIsTheMaxOfItemAndBucket) {
  auto clock = std::make_shared<FakeClock>();
  auto r = DefaultControllerRateLimiter(clock);
  // The 100-token burst: each distinct key's first failure waits its 5 ms.
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(r->When("k" + std::to_string(i)), nanoseconds(5ms)) << i;
  }
  // Then the bucket's 10 qps dominates: 100 ms, 200 ms, ...
  EXPECT_EQ(r->When("x"), nanoseconds(100ms));
  EXPECT_EQ(r->When("y"), nanoseconds(200ms));
  EXPECT_EQ(r->NumRequeues("x"), 1);
  r->Forget("x");
  EXPECT_EQ(r->NumRequeues("x"), 0);
}

TEST(SleepUntilTest, ReturnsAtTheDeadlineOrOnStop) {
  auto clock = std::make_shared<FakeClock>();
  std::atomic<bool> result{false};
  std::thread t([&] { result = SleepUntil(*clock, clock->Monotonic() + 10s); });
  ASSERT_TRUE(clock->AwaitWaiters(1, 5000ms));
  clock->Advance(10s);
  t.join();
  EXPECT_TRUE(result.load());

  std::stop_source stop;
  std::thread t2([&] { result = SleepUntil(*clock, clock->Monotonic() + 10s, stop.get_token()); });
  ASSERT_TRUE(clock->AwaitWaiters(1, 5000ms));
  stop.request_stop();
  t2.join();
  EXPECT_FALSE(result.load());
}

}  // namespace
}  // namespace keelson::client
