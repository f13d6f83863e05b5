// Leader election with two candidates on one in-memory lock and a fake clock: exactly one
// leads; the other takes over once the leader stops renewing and the lease has expired (as
// it observed it); a leader that cannot renew within the renew deadline stops leading;
// release on cancel hands over at once; upstream's timing rules are checked.
#include "client/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace keelson::client {
namespace {

using namespace std::chrono_literals;

// The object both candidates compete for: a record with a version, compare-and-swap updates,
// and a switch that cuts one candidate off (a network partition).
class LockServer {
 public:
  struct State {
    std::optional<LeaderElectionRecord> record;
    int64_t version = 0;
  };
  std::mutex mu;
  State state;
  std::set<std::string> partitioned;  // guarded by mu
};

class FakeLock final : public ResourceLock {
 public:
  FakeLock(LockServer* server, std::string who) : server_(server), who_(std::move(who)) {}

  api::ApiResult<LeaderElectionRecord> Get() override {
    std::lock_guard l(server_->mu);
    if (auto e = Unreachable()) return *e;
    if (!server_->state.record) return api::NewNotFound(Leases(), "lock");
    seen_ = server_->state.version;
    return *server_->state.record;
  }
  api::ApiResult<bool> Create(const LeaderElectionRecord& r) override {
    std::lock_guard l(server_->mu);
    if (auto e = Unreachable()) return *e;
    if (server_->state.record) return api::NewAlreadyExists(Leases(), "lock");
    server_->state.record = r;
    seen_ = ++server_->state.version;
    return true;
  }
  api::ApiResult<bool> Update(const LeaderElectionRecord& r) override {
    std::lock_guard l(server_->mu);
    if (auto e = Unreachable()) return *e;
    if (!seen_ || *seen_ != server_->state.version) return api::NewConflict(Leases(), "lock");
    server_->state.record = r;
    seen_ = ++server_->state.version;
    return true;
  }
  std::string Describe() const override { return "test/lock"; }

 private:
  static const api::ResourceInfo& Leases() {
    static const api::ResourceInfo* r = [] {
      auto* info = new api::ResourceInfo;
      info->group = "coordination.k8s.io";
      info->version = "v1";
      info->resource = "leases";
      info->kind = "Lease";
      return info;
    }();
    return *r;
  }
  std::optional<api::ApiError> Unreachable() {
    if (server_->partitioned.contains(who_)) return api::NewServiceUnavailable("partitioned");
    return std::nullopt;
  }
  LockServer* server_;
  std::string who_;
  std::optional<int64_t> seen_;
};

struct Candidate {
  std::unique_ptr<LeaderElector> elector;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  std::unique_ptr<Candidate> NewCandidate(const std::string& id, bool release = false) {
    auto c = std::make_unique<Candidate>();
    LeaderElectionConfig cfg;
    cfg.identity = id;
    cfg.clock = clock_;
    cfg.release_on_cancel = release;
    Candidate* raw = c.get();
    cfg.on_started_leading = [raw] { ++raw->started; };
    cfg.on_stopped_leading = [raw] { ++raw->stopped; };
    auto e = LeaderElector::Create(std::make_unique<FakeLock>(&server_, id), std::move(cfg));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    c->elector = std::move(*e);
    return c;
  }
  LeaderElectionRecord Record() {
    std::lock_guard l(server_.mu);
    return server_.state.record.value_or(LeaderElectionRecord{});
  }
  // Advances the clock in steps of `step` (each once `waiters` threads sleep on it) until
  // `pred` holds, for at most `max` of fake time; returns the fake time it took.
  template <typename F>
  std::optional<std::chrono::nanoseconds> AdvanceUntil(F pred, size_t waiters,
                                                       std::chrono::nanoseconds max,
                                                       std::chrono::nanoseconds step = 100ms) {
    std::chrono::nanoseconds passed{0};
    while (!pred()) {
      if (passed >= max) return std::nullopt;
      clock_->AwaitWaiters(waiters, 1000ms);
      clock_->Advance(step);
      passed += step;
      std::this_thread::sleep_for(1ms);
    }
    return passed;
  }
  bool RealWait(const std::function<bool()>& pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  LockServer server_;
};

TEST_F(LeaderElectionTest, TimingRulesAreUpstreams) {
  auto make = [&](std::chrono::nanoseconds lease, std::chrono::nanoseconds renew,
                  std::chrono::nanoseconds retry, std::string id = "a") {
    LeaderElectionConfig c;
    c.identity = std::move(id);
    c.lease_duration = lease;
    c.renew_deadline = renew;
    c.retry_period = retry;
    return LeaderElector::Create(std::make_unique<FakeLock>(&server_, "a"), std::move(c));
  };
  EXPECT_TRUE(make(15s, 10s, 2s).ok());
  EXPECT_EQ(make(10s, 10s, 2s).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make(15s, 2400ms, 2s).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(make(15s, 10s, 2s, "").status().code(), StatusCode::kInvalidArgument);
  LeaderElectionConfig defaults;
  EXPECT_EQ(defaults.lease_duration, 15s);
  EXPECT_EQ(defaults.renew_deadline, 10s);
  EXPECT_EQ(defaults.retry_period, 2s);
}

TEST_F(LeaderElectionTest, ExactlyOneLeadsAndTheOtherTakesOverAfterExpiry) {
  auto a = NewCandidate("a");
  a->elector->Start();
  ASSERT_TRUE(RealWait([&] { return a->elector->IsLeader(); }));
  auto b = NewCandidate("b");
  b->elector->Start();
  // For a while both run: a renews, b keeps trying; only a leads.
  auto never = AdvanceUntil([&] { return b->elector->IsLeader(); }, 2, 60s);
  EXPECT_FALSE(never.has_value());
  EXPECT_TRUE(a->elector->IsLeader());
  EXPECT_EQ(b->elector->GetLeader(), "a");
  LeaderElectionRecord r = Record();
  EXPECT_EQ(r.holder_identity, "a");
  EXPECT_EQ(r.lease_duration_seconds, 15);
  EXPECT_EQ(r.leader_transitions, 0);
  EXPECT_GT(r.renew_time, r.acquire_time);  // renewed, acquisition time kept

  // a stops without releasing (as a crashed leader would): b waits out the lease as it last
  // saw it renewed, then takes over.
  a->elector->Stop();
  EXPECT_EQ(a->stopped.load(), 1);
  auto took = AdvanceUntil([&] { return b->elector->IsLeader(); }, 1, 60s);
  ASSERT_TRUE(took.has_value());
  // b judges by when it last saw the record change: a renewed every 2 s, and b looks every
  // 2 to 4.4 s (retry period plus jitter), so it saw the last renewal up to 4.4 s after a
  // stopped, and takes over at its first look after that plus the 15 s lease.
  EXPECT_GE(*took, 13s);
  EXPECT_LE(*took, 15s + 2 * (2s + 2400ms) + 100ms);
  r = Record();
  EXPECT_EQ(r.holder_identity, "b");
  EXPECT_EQ(r.leader_transitions, 1);
  EXPECT_EQ(b->started.load(), 1);
  b->elector->Stop();
}

TEST_F(LeaderElectionTest, LeaderThatCannotRenewStopsAtTheRenewDeadline) {
  auto a = NewCandidate("a");
  a->elector->Start();
  ASSERT_TRUE(RealWait([&] { return a->elector->IsLeader(); }));
  auto b = NewCandidate("b");
  b->elector->Start();
  {
    std::lock_guard l(server_.mu);
    server_.partitioned.insert("a");
  }
  // a's renewals fail from now on: it steps down within the renew deadline (10 s, plus the
  // retry period it may have been sleeping), well before b can take over (15 s).
  auto lost = AdvanceUntil([&] { return !a->elector->IsLeader(); }, 2, 30s);
  ASSERT_TRUE(lost.has_value());
  EXPECT_LE(*lost, 12s + 100ms);
  EXPECT_FALSE(b->elector->IsLeader());
  EXPECT_TRUE(RealWait([&] { return a->elector->Done(); }));
  EXPECT_EQ(a->stopped.load(), 1);
  // Then b takes over once the lease has run out.
  ASSERT_TRUE(AdvanceUntil([&] { return b->elector->IsLeader(); }, 1, 30s).has_value());
  EXPECT_EQ(Record().holder_identity, "b");
  // Exactly one leader all along: a had stopped before b started.
  b->elector->Stop();
}

TEST_F(LeaderElectionTest, ReleaseOnCancelHandsOverAtOnce) {
  auto a = NewCandidate("a", /*release=*/true);
  a->elector->Start();
  ASSERT_TRUE(RealWait([&] { return a->elector->IsLeader(); }));
  auto b = NewCandidate("b");
  b->elector->Start();
  ASSERT_TRUE(clock_->AwaitWaiters(2, 1000ms));
  a->elector->Stop();
  LeaderElectionRecord released = Record();
  EXPECT_EQ(released.holder_identity, "");
  EXPECT_EQ(released.lease_duration_seconds, 1);
  // b's next try (within its retry period and jitter) takes the free lease.
  auto took = AdvanceUntil([&] { return b->elector->IsLeader(); }, 1, 10s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LE(*took, 2s + 2400ms + 100ms);
  EXPECT_EQ(Record().holder_identity, "b");
  EXPECT_EQ(Record().leader_transitions, 1);
  b->elector->Stop();
}

TEST_F(LeaderElectionTest, NewLeaderCallbackReportsChanges) {
  std::mutex mu;
  std::vector<std::string> seen;
  LeaderElectionConfig cfg;
  cfg.identity = "watcher";
  cfg.clock = clock_;
  cfg.on_new_leader = [&](const std::string& id) {
    std::lock_guard l(mu);
    seen.push_back(id);
  };
  {
    std::lock_guard l(server_.mu);
    server_.state.record = LeaderElectionRecord{.holder_identity = "other",
                                                .lease_duration_seconds = 15,
                                                .acquire_time = clock_->Now(),
                                                .renew_time = clock_->Now(),
                                                .leader_transitions = 3};
    server_.state.version = 1;
  }
  auto e = LeaderElector::Create(std::make_unique<FakeLock>(&server_, "watcher"), std::move(cfg));
  ASSERT_TRUE(e.ok());
  (*e)->Start();
  ASSERT_TRUE(RealWait([&] {
    std::lock_guard l(mu);
    return !seen.empty();
  }));
  // The holder never renews: after the lease the watcher takes it.
  ASSERT_TRUE(AdvanceUntil([&] { return (*e)->IsLeader(); }, 1, 30s).has_value());
  (*e)->Stop();
  std::lock_guard l(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"other", "watcher"}));
  EXPECT_EQ(Record().leader_transitions, 4);
}

}  // namespace
}  // namespace keelson::client
