#include "client/leader_election.h"

#include "client/time_format.h"

namespace keelson::client {

namespace {

constexpr double kJitterFactor = 1.2;

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t IntField(const api::Object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return 0;
}

std::string StrField(const api::Object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

LeaderElectionRecord RecordOf(const api::Object& lease) {
  LeaderElectionRecord r;
  const auto* spec = lease.if_contains("spec");
  if (spec == nullptr || !spec->is_object()) return r;
  const auto& s = spec->as_object();
  r.holder_identity = StrField(s, "holderIdentity");
  r.lease_duration_seconds = IntField(s, "leaseDurationSeconds");
  if (auto t = ParseTime(StrField(s, "acquireTime"))) r.acquire_time = *t;
  if (auto t = ParseTime(StrField(s, "renewTime"))) r.renew_time = *t;
  r.leader_transitions = IntField(s, "leaseTransitions");
  return r;
}

// The LeaseSpec of a record, with upstream's field names.
api::Object SpecOf(const LeaderElectionRecord& r) {
  api::Object spec;
  spec["holderIdentity"] = r.holder_identity;
  spec["leaseDurationSeconds"] = r.lease_duration_seconds;
  spec["acquireTime"] = FormatMicroTime(r.acquire_time);
  spec["renewTime"] = FormatMicroTime(r.renew_time);
  spec["leaseTransitions"] = r.leader_transitions;
  return spec;
}

class LeaseLock final : public ResourceLock {
 public:
  LeaseLock(RestClient* client, std::string ns, std::string name)
      : leases_(client->Resource("coordination.k8s.io", "leases")->Namespace(ns)),
        ns_(std::move(ns)), name_(std::move(name)) {}

  api::ApiResult<LeaderElectionRecord> Get() override {
    auto lease = leases_.Get(name_);
    if (!lease.ok()) return lease.error();
    lease_ = std::move(*lease);
    return RecordOf(*lease_);
  }

  api::ApiResult<bool> Create(const LeaderElectionRecord& record) override {
    api::Object lease{{"apiVersion", "coordination.k8s.io/v1"}, {"kind", "Lease"}};
    api::SetNamespace(&lease, ns_);
    api::SetName(&lease, name_);
    lease["spec"] = SpecOf(record);
    auto created = leases_.Create(lease);
    if (!created.ok()) return created.error();
    lease_ = std::move(*created);
    return true;
  }

  api::ApiResult<bool> Update(const LeaderElectionRecord& record) override {
    if (!lease_) return api::NewInternalError("lease not initialized, call get or create first");
    api::Object lease = *lease_;
    lease["spec"] = SpecOf(record);
    auto updated = leases_.Update(lease);
    if (!updated.ok()) return updated.error();
    lease_ = std::move(*updated);
    return true;
  }

  std::string Describe() const override { return ns_ + "/" + name_; }

 private:
  const ResourceClient leases_;
  const std::string ns_;
  const std::string name_;
  std::optional<api::Object> lease_;  // the last read or written
};

}  // namespace

std::unique_ptr<ResourceLock> NewLeaseLock(RestClient* client, std::string ns, std::string name) {
  return std::make_unique<LeaseLock>(client, std::move(ns), std::move(name));
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::Create(std::unique_ptr<ResourceLock> lock,
                                                             LeaderElectionConfig config) {
  using std::chrono::nanoseconds;
  if (config.lease_duration <= config.renew_deadline) {
    return InvalidArgumentError("leaseDuration must be greater than renewDeadline");
  }
  if (config.renew_deadline <=
      nanoseconds(static_cast<int64_t>(kJitterFactor * static_cast<double>(config.retry_period.count())))) {
    return InvalidArgumentError("renewDeadline must be greater than retryPeriod*JitterFactor");
  }
  if (config.lease_duration.count() < 1) {
    return InvalidArgumentError("leaseDuration must be greater than zero");
  }
  if (config.renew_deadline.count() < 1) {
    return InvalidArgumentError("renewDeadline must be greater than zero");
  }
  if (config.retry_period.count() < 1) {
    return InvalidArgumentError("retryPeriod must be greater than zero");
  }
  if (config.identity.empty()) return InvalidArgumentError("Lock identity is empty");
  if (!lock) return InvalidArgumentError("Lock must not be nil");
  return std::unique_ptr<LeaderElector>(new LeaderElector(std::move(lock), std::move(config)));
}

LeaderElector::LeaderElector(std::unique_ptr<ResourceLock> lock, LeaderElectionConfig config)
    : config_(std::move(config)), clock_(config_.clock ? config_.clock : RealClock()),
      lock_(std::move(lock)), rng_(reinterpret_cast<uintptr_t>(this)) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  std::lock_guard l(mu_);
  if (thread_.joinable() || done_) return;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  stop_.request_stop();
  std::thread t;
  {
    std::lock_guard l(mu_);
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

bool LeaderElector::IsLeader() const {
  std::lock_guard l(mu_);
  return leading_;
}

std::string LeaderElector::GetLeader() const {
  std::lock_guard l(mu_);
  return observed_.holder_identity;
}

bool LeaderElector::Done() const {
  std::lock_guard l(mu_);
  return done_;
}

void LeaderElector::Log(const std::string& msg) const {
  if (config_.log) config_.log("leader election " + lock_->Describe() + ": " + msg);
}

bool LeaderElector::Sleep(std::chrono::nanoseconds d) {
  return SleepUntil(*clock_, clock_->Monotonic() + d, stop_.get_token());
}

void LeaderElector::SetObserved(const LeaderElectionRecord& record) {
  std::string report;
  {
    std::lock_guard l(mu_);
    observed_ = record;
    observed_time_ = clock_->Monotonic();
    if (record.holder_identity == reported_leader_) return;
    reported_leader_ = record.holder_identity;
    report = reported_leader_;
  }
  if (config_.on_new_leader) config_.on_new_leader(report);
}

bool LeaderElector::LeaseValid(Clock::MonoTime now) const {
  std::lock_guard l(mu_);
  return observed_time_ + std::chrono::seconds(observed_.lease_duration_seconds) > now;
}

bool LeaderElector::TryAcquireOrRenew() {
  auto now_wall = TruncateToMicros(clock_->Now());
  auto now = clock_->Monotonic();
  LeaderElectionRecord record;
  record.holder_identity = config_.identity;
  record.lease_duration_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(config_.lease_duration).count();
  record.acquire_time = now_wall;
  record.renew_time = now_wall;

  LeaderElectionRecord observed;
  bool observed_mine;
  {
    std::lock_guard l(mu_);
    observed = observed_;
    observed_mine = observed_.holder_identity == config_.identity;
  }
  // Fast path: the leader renews over the record it wrote last.
  if (observed_mine && LeaseValid(now)) {
    record.acquire_time = observed.acquire_time;
    record.leader_transitions = observed.leader_transitions;
    auto r = lock_->Update(record);
    if (r.ok()) {
      SetObserved(record);
      return true;
    }
    Log("failed to update lock optimistically: " + r.error().message + ", falling back to slow path");
  }

  auto current = lock_->Get();
  if (!current.ok()) {
    if (!api::IsNotFound(current.error())) {
      Log("error retrieving resource lock: " + current.error().message);
      return false;
    }
    auto created = lock_->Create(record);
    if (!created.ok()) {
      Log("error initially creating lock: " + created.error().message);
      return false;
    }
    SetObserved(record);
    return true;
  }
  {
    std::lock_guard l(mu_);
    observed = observed_;
  }
  if (!(*current == observed)) SetObserved(*current);
  bool mine = current->holder_identity == config_.identity;
  if (!current->holder_identity.empty() && LeaseValid(now) && !mine) {
    return false;  // held by another and not expired
  }
  if (mine) {
    record.acquire_time = current->acquire_time;
    record.leader_transitions = current->leader_transitions;
  } else {
    record.leader_transitions = current->leader_transitions + 1;
  }
  auto updated = lock_->Update(record);
  if (!updated.ok()) {
    Log("failed to update lock: " + updated.error().message);
    return false;
  }
  SetObserved(record);
  return true;
}

bool LeaderElector::Acquire() {
  while (!stop_.stop_requested()) {
    if (TryAcquireOrRenew()) return true;
    double unit = static_cast<double>(SplitMix(&rng_) >> 11) / static_cast<double>(1ULL << 53);
    auto wait = config_.retry_period +
                std::chrono::nanoseconds(static_cast<int64_t>(
                    unit * kJitterFactor * static_cast<double>(config_.retry_period.count())));
    if (!Sleep(wait)) return false;
  }
  return false;
}

void LeaderElector::Renew() {
  while (!stop_.stop_requested()) {
    auto deadline = clock_->Monotonic() + config_.renew_deadline;
    bool renewed = false;
    while (!stop_.stop_requested()) {
      bool ok = TryAcquireOrRenew();
      if (ok && clock_->Monotonic() < deadline) {
        renewed = true;
        break;
      }
      if (clock_->Monotonic() + config_.retry_period > deadline) break;
      if (!Sleep(config_.retry_period)) return;
    }
    if (stop_.stop_requested()) return;
    if (!renewed) {
      Log("failed to renew lease: timed out waiting for the condition");
      return;
    }
    if (!Sleep(config_.retry_period)) return;
  }
}

void LeaderElector::Release() {
  LeaderElectionRecord record;
  {
    std::lock_guard l(mu_);
    if (observed_.holder_identity != config_.identity) return;
    record.leader_transitions = observed_.leader_transitions;
  }
  auto now = TruncateToMicros(clock_->Now());
  record.lease_duration_seconds = 1;
  record.acquire_time = now;
  record.renew_time = now;
  auto r = lock_->Update(record);
  if (!r.ok()) {
    Log("failed to release lock: " + r.error().message);
    return;
  }
  SetObserved(record);
}

void LeaderElector::Run() {
  if (Acquire()) {
    {
      std::lock_guard l(mu_);
      leading_ = true;
    }
    if (config_.on_started_leading) config_.on_started_leading();
    Renew();
    if (stop_.stop_requested() && config_.release_on_cancel) Release();
    {
      std::lock_guard l(mu_);
      leading_ = false;
    }
    if (config_.on_stopped_leading) config_.on_stopped_leading();
  }
  std::lock_guard l(mu_);
  done_ = true;
}

}  // namespace keelson::client
