#include "controllers/base/expectations.h"

namespace keelson::controllers {

ControllerExpectations::ControllerExpectations(std::shared_ptr<const Clock> clock)
    : clock_(clock ? std::move(clock) : RealClock()) {}

bool ControllerExpectations::SatisfiedExpectations(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return true;
  const Entry& e = it->second;
  if (e.add <= 0 && e.del <= 0) return true;
  // Expired: a watch event was lost or never came; act on the cache again.
  return clock_->Monotonic() - e.since > kExpectationsTimeout;
}

void ControllerExpectations::SetExpectations(const std::string& key, int64_t add, int64_t del) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  e.add = add;
  e.del = del;
  e.since = clock_->Monotonic();
  // Upstream's plain expectations forget the deletion keys with the counts.
  e.deleting.clear();
}

void ControllerExpectations::LowerExpectations(const std::string& key, int64_t add, int64_t del) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second.add -= add;
  it->second.del -= del;
}

void ControllerExpectations::RaiseExpectations(const std::string& key, int64_t add, int64_t del) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second.add += add;
  it->second.del += del;
}

void ControllerExpectations::DeleteExpectations(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

bool ControllerExpectations::GetExpectations(const std::string& key, int64_t* add,
                                             int64_t* del) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *add = it->second.add;
  *del = it->second.del;
  return true;
}

void ControllerExpectations::ExpectDeletions(const std::string& key,
                                             const std::vector<std::string>& pod_keys) {
  std::lock_guard lock(mu_);
  Entry& e = entries_[key];
  e.deleting.clear();
  e.deleting.insert(pod_keys.begin(), pod_keys.end());
  e.add = 0;
  e.del = static_cast<int64_t>(e.deleting.size());
  e.since = clock_->Monotonic();
}

void ControllerExpectations::DeletionObserved(const std::string& key, const std::string& pod_key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.deleting.erase(pod_key) > 0) it->second.del -= 1;
}

std::vector<std::string> ControllerExpectations::PendingDeletions(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return {};
  return {it->second.deleting.begin(), it->second.deleting.end()};
}

}  // namespace keelson::controllers
