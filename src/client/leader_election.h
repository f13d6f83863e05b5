// Leader election on a coordination.k8s.io/v1 Lease, as upstream's client-go leaderelection
// with a LeaseLock: of the candidates sharing a lease name, at most one leads at a time, and
// the Lease reads as upstream's (`kubectl get lease -n kube-system NAME -o yaml`):
//   spec.holderIdentity        the leader's identity ("" after a release)
//   spec.leaseDurationSeconds  the leader's lease duration
//   spec.acquireTime           when the current holder acquired it (MicroTime, RFC 3339 with
//   spec.renewTime             microseconds) / last renewed it
//   spec.leaseTransitions      how many times the holder changed
//
// The algorithm and timing are upstream's:
//   - a candidate tries to acquire every retry_period (2 s, with up to 1.2x jitter); it may
//     take the lease when it is free (no holder), already its own, or not renewed for
//     lease_duration (15 s) — judged by when this candidate last saw the record change, on its
//     own clock, never by comparing clocks across machines;
//   - the leader renews every retry_period; when it has not renewed for renew_deadline (10 s)
//     it stops leading (on_stopped_leading) and the elector ends;
//   - every write is a compare-and-swap on the Lease's resourceVersion, so two candidates
//     never both succeed;
//   - with release_on_cancel, Stop() by the leader clears holderIdentity (and sets a 1 s
//     duration) so that another candidate takes over at once.
// Rules checked by Create (upstream's): lease_duration > renew_deadline > 1.2 * retry_period,
// all positive.
//
// Time comes from the clock: with a FakeClock, tests advance through leases without sleeping.
//
// Thread-safety: Start, Stop, IsLeader and GetLeader from any thread. The callbacks run on
// the elector's thread and must not block it for long (start work on other threads).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "api/errors.h"
#include "client/rest_client.h"
#include "common/clock.h"

namespace keelson::client {

// The content of the lock (upstream's LeaderElectionRecord).
struct LeaderElectionRecord {
  std::string holder_identity;
  int64_t lease_duration_seconds = 0;
  Clock::WallTime acquire_time{};
  Clock::WallTime renew_time{};
  int64_t leader_transitions = 0;

  bool operator==(const LeaderElectionRecord&) const = default;
};

// Where the record lives (upstream's resourcelock.Interface). Thread-compatible: one elector
// uses it.
class ResourceLock {
 public:
  virtual ~ResourceLock() = default;
  // The current record; NotFound when the lock object does not exist.
  virtual api::ApiResult<LeaderElectionRecord> Get() = 0;
  // Creates the lock object with `record`; AlreadyExists when someone else did first.
  virtual api::ApiResult<bool> Create(const LeaderElectionRecord& record) = 0;
  // Writes `record` over the object last read or written (compare-and-swap: Conflict when it
  // changed meanwhile).
  virtual api::ApiResult<bool> Update(const LeaderElectionRecord& record) = 0;
  // "namespace/name", for messages.
  virtual std::string Describe() const = 0;
};

// The Lease `ns`/`name` through `client` (which must outlive the lock).
std::unique_ptr<ResourceLock> NewLeaseLock(RestClient* client, std::string ns, std::string name);

struct LeaderElectionConfig {
  std::string identity;  // unique per candidate, e.g. hostname + "_" + a uid
  std::chrono::nanoseconds lease_duration = std::chrono::seconds(15);
  std::chrono::nanoseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::nanoseconds retry_period = std::chrono::seconds(2);
  bool release_on_cancel = false;

  // This candidate became the leader.
  std::function<void()> on_started_leading;
  // This candidate stopped leading (lost the lease, or Stop()); called only after
  // on_started_leading.
  std::function<void()> on_stopped_leading;
  // The observed leader changed (also to this candidate).
  std::function<void(const std::string& identity)> on_new_leader;
  // Told about failures worth a log line (none when empty).
  std::function<void(const std::string&)> log;

  // The system's clock when null.
  std::shared_ptr<const Clock> clock;
};

class LeaderElector {
 public:
  // InvalidArgument when a timing rule is broken or the identity is empty. `lock` is owned.
  static Result<std::unique_ptr<LeaderElector>> Create(std::unique_ptr<ResourceLock> lock,
                                                       LeaderElectionConfig config);
  ~LeaderElector();  // Stop()

  // Runs the election on a thread of the elector's: acquire, then renew until the lease is
  // lost or Stop(). Once the lease is lost the elector does not try again (as upstream: the
  // component should exit or make a new elector).
  void Start();
  // Ends the election (releasing the lease when leading and release_on_cancel) and waits for
  // the thread; on_stopped_leading runs if this candidate was leading.
  void Stop();

  bool IsLeader() const;
  // The identity of the leader last observed ("" when unknown).
  std::string GetLeader() const;
  // Whether the elector's thread has ended (lease lost, or stopped).
  bool Done() const;

 private:
  LeaderElector(std::unique_ptr<ResourceLock> lock, LeaderElectionConfig config);
  void Run();
  bool Acquire();  // until leading; false when stopped
  void Renew();    // while leading
  bool TryAcquireOrRenew();
  void Release();
  void SetObserved(const LeaderElectionRecord& record);
  bool LeaseValid(Clock::MonoTime now) const;
  bool Sleep(std::chrono::nanoseconds d);
  void Log(const std::string& msg) const;

  const LeaderElectionConfig config_;
  const std::shared_ptr<const Clock> clock_;
  const std::unique_ptr<ResourceLock> lock_;  // elector thread only
  std::stop_source stop_;
  std::thread thread_;
  uint64_t rng_;  // elector thread only

  mutable std::mutex mu_;
  LeaderElectionRecord observed_;     // guarded by mu_
  Clock::MonoTime observed_time_{};  // guarded by mu_: when observed_ last changed
  std::string reported_leader_;       // guarded by mu_
  bool leading_ = false;              // guarded by mu_
  bool done_ = false;                 // guarded by mu_
};

}  // namespace keelson::client
