#include "common/clock.h"

namespace keelson {
namespace {

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime Monotonic() const override { return std::chrono::steady_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 MonoTime deadline) const override {
    cv.wait_until(lock, deadline);
  }
};

}  // namespace

const std::shared_ptr<const Clock>& RealClock() {
  static const auto* clock = new std::shared_ptr<const Clock>(std::make_shared<SystemClock>());
  return *clock;
}

FakeClock::FakeClock(WallTime wall, MonoTime mono) : wall_(wall), mono_(mono) {}

Clock::WallTime FakeClock::Now() const {
  std::lock_guard l(mu_);
  return wall_;
}

Clock::MonoTime FakeClock::Monotonic() const {
  std::lock_guard l(mu_);
  return mono_;
}

void FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          MonoTime deadline) const {
  {
    std::lock_guard l(mu_);
    if (mono_ >= deadline) return;
    waiting_.insert(&cv);
  }
  waiters_changed_.notify_all();
  // Advance() notifies without holding the caller's mutex, so a notification may come just
  // before this wait starts: the short real timeout bounds what such a race costs.
  cv.wait_for(lock, std::chrono::milliseconds(5));
  std::lock_guard l(mu_);
  waiting_.erase(waiting_.find(&cv));
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  std::multiset<std::condition_variable*> wake;
  {
    std::lock_guard l(mu_);
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    mono_ += d;
    wake = waiting_;
  }
  for (auto* cv : wake) cv->notify_all();
}

size_t FakeClock::Waiters() const {
  std::lock_guard l(mu_);
  return waiting_.size();
}

bool FakeClock::AwaitWaiters(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  return waiters_changed_.wait_for(l, timeout, [&] { return waiting_.size() >= n; });
}

}  // namespace keelson
