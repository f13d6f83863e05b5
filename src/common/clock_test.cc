// FakeClock: time moves only on Advance, waiters wake when their deadline passes, and a test
// can wait until its threads sleep on the clock.
#include "common/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace keelson {
namespace {

using namespace std::chrono_literals;

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock clock;
  auto wall = clock.Now();
  auto mono = clock.Monotonic();
  std::this_thread::sleep_for(2ms);
  EXPECT_EQ(clock.Now(), wall);
  clock.Advance(3s);
  EXPECT_EQ(clock.Now() - wall, 3s);
  EXPECT_EQ(clock.Monotonic() - mono, 3s);
}

TEST(FakeClockTest, WaitersWakeAtTheirDeadlineAndAreCounted) {
  FakeClock clock;
  EXPECT_EQ(clock.Waiters(), 0u);
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> woke{false};
  auto deadline = clock.Monotonic() + 10s;
  std::thread t([&] {
    std::unique_lock l(mu);
    while (clock.Monotonic() < deadline) clock.WaitUntil(cv, l, deadline);
    woke = true;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1, 5000ms));
  EXPECT_FALSE(woke.load());
  clock.Advance(9s);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(woke.load());
  clock.Advance(1s);
  t.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(clock.Waiters(), 0u);
  // Nobody waits: AwaitWaiters gives up.
  EXPECT_FALSE(clock.AwaitWaiters(1, 10ms));
}

TEST(FakeClockTest, WaitUntilAPassedDeadlineReturnsAtOnce) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock l(mu);
  clock.WaitUntil(cv, l, clock.Monotonic());
  EXPECT_EQ(clock.Waiters(), 0u);
}

}  // namespace
}  // namespace keelson
