// CycleState: what plugins keep for one pod's scheduling cycle (upstream's CycleState). A
// plugin writes its data at PreFilter/PreScore under its own key (the plugin's address) and
// reads it back at Filter/Score; preemption clones the state to simulate removing pods.
//
// Thread-safety: written by the scheduling thread before the parallel Filter/Score phases,
// which only read it. Not for concurrent writers.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace keelson::scheduler {

class FilterPlugin;

class StateData {
 public:
  virtual ~StateData() = default;
  virtual std::unique_ptr<StateData> Clone() const = 0;
};

class CycleState {
 public:
  CycleState() = default;
  CycleState(const CycleState&) = delete;
  CycleState& operator=(const CycleState&) = delete;
  CycleState(CycleState&&) = default;
  CycleState& operator=(CycleState&&) = default;

  // A deep copy (each StateData cloned).
  CycleState Clone() const {
    CycleState c;
    c.data_.reserve(data_.size());
    for (const auto& [k, v] : data_) c.data_.emplace_back(k, v ? v->Clone() : nullptr);
    c.skip_filter_ = skip_filter_;
    c.skip_score_ = skip_score_;
    c.filters_ = filters_;
    c.filters_set_ = filters_set_;
    c.nominated_pods_possible_ = nominated_pods_possible_;
    c.feasible_positions_ = feasible_positions_;
    return c;
  }

  void Write(const void* key, std::unique_ptr<StateData> data) {
    for (auto& [k, v] : data_) {
      if (k == key) {
        v = std::move(data);
        return;
      }
    }
    data_.emplace_back(key, std::move(data));
  }
  // The data written under `key` as T, or null.
  template <typename T>
  T* Read(const void* key) const {
    for (const auto& [k, v] : data_) {
      if (k == key) return static_cast<T*>(v.get());
    }
    return nullptr;
  }

  // Plugins whose PreFilter (PreScore) answered Skip: their Filter (Score) is not run. Keyed
  // by the plugin's Plugin* (the same address whichever interface it is reached through).
  bool SkipFilter(const void* plugin) const { return Has(skip_filter_, plugin); }
  bool SkipScore(const void* plugin) const { return Has(skip_score_, plugin); }
  void SetSkipFilter(const void* plugin) { skip_filter_.push_back(plugin); }
  void SetSkipScore(const void* plugin) { skip_score_.push_back(plugin); }

  // The Filter plugins to run this cycle (those not skipped), computed once after PreFilter.
  const std::vector<const FilterPlugin*>* Filters() const {
    return filters_set_ ? &filters_ : nullptr;
  }
  void SetFilters(std::vector<const FilterPlugin*> f) {
    filters_ = std::move(f);
    filters_set_ = true;
  }
  // False when no pod was nominated to any node when the cycle started: Filter then skips
  // looking for nominated pods per node.
  bool NominatedPodsPossible() const { return nominated_pods_possible_; }

  // For the nodes handed to PreScore: each one's position in the snapshot's NodeInfos() (so
  // plugins can use per-position caches), or empty when not known.
  const std::vector<int32_t>& FeasiblePositions() const { return feasible_positions_; }
  void SetFeasiblePositions(std::vector<int32_t> p) { feasible_positions_ = std::move(p); }
  void SetNominatedPodsPossible(bool b) { nominated_pods_possible_ = b; }

 private:
  static bool Has(const std::vector<const void*>& v, const void* p) {
    for (const void* x : v) {
      if (x == p) return true;
    }
    return false;
  }
  std::vector<std::pair<const void*, std::unique_ptr<StateData>>> data_;
  std::vector<const void*> skip_filter_;
  std::vector<const void*> skip_score_;
  std::vector<const FilterPlugin*> filters_;
  bool filters_set_ = false;
  bool nominated_pods_possible_ = true;
  std::vector<int32_t> feasible_positions_;
};

}  // namespace keelson::scheduler
