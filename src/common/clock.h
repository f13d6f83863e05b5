// Clock: where components read the time and wait for it, so that tests can move time instead
// of sleeping (as leveldb's Env does for the file system).
//
// Now() is wall-clock time, for timestamps written into objects (creationTimestamp,
// deletionTimestamp, token claims). Monotonic() is for intervals and deadlines. WaitUntil()
// blocks on a condition variable until notified or until Monotonic() reaches the deadline.
//
// Thread-safety: every method may be called from any thread. FakeClock's time moves only
// when a test calls Advance().
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

namespace keelson {

class Clock {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  using MonoTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual WallTime Now() const = 0;
  virtual MonoTime Monotonic() const = 0;
  // Waits on `cv` (with `lock` held on entry and on return) until it is notified or the
  // clock reaches `deadline`. Spurious returns are allowed: callers re-check their condition.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         MonoTime deadline) const = 0;
};

// The system's clocks. Shared; never destroyed.
const std::shared_ptr<const Clock>& RealClock();

// A clock for tests: starts at the given times and moves only when told to. Waiters wake when
// the time passes their deadline (within a few milliseconds of real time).
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wall = WallTime(std::chrono::seconds(1767225600)),
                     MonoTime mono = MonoTime(std::chrono::hours(1)));

  WallTime Now() const override;
  MonoTime Monotonic() const override;
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 MonoTime deadline) const override;

  // Moves both clocks forward and wakes every waiter.
  void Advance(std::chrono::nanoseconds d);

  // How many threads are inside WaitUntil() for a deadline not yet reached.
  size_t Waiters() const;
  // Blocks, in real time and for at most `timeout`, until at least `n` threads are inside
  // WaitUntil(); returns whether they were. A test advances time once the threads it drives
  // have gone to sleep on the clock, so each step of theirs happens at a known time. (A
  // waiter leaves WaitUntil for an instant every few milliseconds, see WaitUntil; this waits
  // through that.)
  bool AwaitWaiters(size_t n, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  WallTime wall_;                                    // guarded by mu_
  MonoTime mono_;                                    // guarded by mu_
  mutable std::multiset<std::condition_variable*> waiting_;  // guarded by mu_
  mutable std::condition_variable waiters_changed_;  // notified when waiting_ grows
};

}  // namespace keelson
