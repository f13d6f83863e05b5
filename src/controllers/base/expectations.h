// Expectations: what a controller has asked the API to create and delete and not yet seen
// in its informer's cache (upstream's ControllerExpectations and
// UIDTrackingControllerExpectations, pkg/controller/controller_utils.go).
//
// A controller that creates N pods records ExpectCreations(key, N) before sending them; each
// pod its informer then sees created lowers the count (CreationObserved). Until the counts
// reach zero — or 5 minutes pass (kExpectationsTimeout), in case a watch event was lost — the
// controller's sync does not act on its cache (SatisfiedExpectations is false), since the
// cache does not yet show what it did: acting on it would create the pods again. Creates that
// failed, or were never sent, are lowered by the controller itself.
//
// Deletions are tracked by pod key ("namespace/name"): ExpectDeletions(key, pod_keys), and
// DeletionObserved(key, pod_key) counts a pod once, whether the informer reports it as a
// deletion timestamp set (graceful deletion) or as the object gone.
//
// Keys are the controller's work queue keys ("namespace/name" of the owner). A key without
// expectations is satisfied: a new owner, or one whose last expectations were met.
//
// Thread-safety: every method may be called from any thread (informer handlers and workers).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"

namespace keelson::controllers {

inline constexpr std::chrono::minutes kExpectationsTimeout{5};

class ControllerExpectations {
 public:
  // Time (the 5 minute expiry) from `clock`, the system's when null.
  explicit ControllerExpectations(std::shared_ptr<const Clock> clock = nullptr);

  // True when `key` has no expectations, its counts are met (<= 0), or they expired.
  bool SatisfiedExpectations(const std::string& key) const;
  // Replaces the expectations of `key` (the expiry restarts).
  void SetExpectations(const std::string& key, int64_t add, int64_t del);
  void ExpectCreations(const std::string& key, int64_t adds) { SetExpectations(key, adds, 0); }
  // Lowers / raises the counts of `key` if it has expectations.
  void LowerExpectations(const std::string& key, int64_t add, int64_t del);
  void RaiseExpectations(const std::string& key, int64_t add, int64_t del);
  void CreationObserved(const std::string& key) { LowerExpectations(key, 1, 0); }
  void DeleteExpectations(const std::string& key);

  // The counts of `key` (add, del); false when it has none. For tests and logs.
  bool GetExpectations(const std::string& key, int64_t* add, int64_t* del) const;

  // Deletions by pod key (upstream's UIDTrackingControllerExpectations): records `pod_keys`
  // as the deletions `key` waits for (replacing those it waited for) and expects that many.
  void ExpectDeletions(const std::string& key, const std::vector<std::string>& pod_keys);
  // Counts the deletion of `pod_key` for `key` once, if `key` waits for it.
  void DeletionObserved(const std::string& key, const std::string& pod_key);
  // The pod keys `key` still waits to see deleted.
  std::vector<std::string> PendingDeletions(const std::string& key) const;

 private:
  struct Entry {
    int64_t add = 0;
    int64_t del = 0;
    Clock::MonoTime since;
    std::unordered_set<std::string> deleting;
  };

  const std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace keelson::controllers
