// FlatCounter: topology value -> count in one open-addressing table (no allocation per
// entry), for the thousands of (topologyKey, value) counts InterPodAffinity builds per cycle.
// Keys are string views the caller keeps alive (the snapshot's node labels). A count that
// drops to zero reads as absent.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace keelson::scheduler::interpodaffinity {

class FlatCounter {
 public:
  void Add(std::string_view key, int64_t delta) {
    if (delta == 0) return;
    if ((used_ + 1) * 2 > slots_.size()) Grow();
    Slot& s = Find(slots_, key, Hash(key));
    if (s.data == nullptr) {
      s.data = key.data();
      s.size = static_cast<uint32_t>(key.size());
      s.hash = Hash(key);
      ++used_;
    }
    bool was_zero = s.count == 0;
    s.count += delta;
    if (was_zero && s.count != 0) ++nonzero_;
    if (!was_zero && s.count == 0) --nonzero_;
  }
  // Room for `n` keys without growing.
  void Reserve(size_t n) {
    size_t want = 16;
    while (want < n * 2 + 2) want *= 2;
    if (want <= slots_.size()) return;
    std::vector<Slot> bigger(want);
    for (const auto& s : slots_) {
      if (s.data) Find(bigger, std::string_view(s.data, s.size), s.hash) = s;
    }
    slots_.swap(bigger);
  }
  int64_t Get(std::string_view key) const {
    if (slots_.empty()) return 0;
    const Slot& s = Find(const_cast<std::vector<Slot>&>(slots_), key, Hash(key));
    return s.data ? s.count : 0;
  }
  // The number of keys whose count is not zero.
  size_t size() const { return nonzero_; }
  bool empty() const { return nonzero_ == 0; }
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& s : slots_) {
      if (s.data && s.count != 0) f(std::string_view(s.data, s.size), s.count);
    }
  }
  void Merge(const FlatCounter& other) {
    other.ForEach([this](std::string_view k, int64_t c) { Add(k, c); });
  }

 private:
  struct Slot {
    const char* data = nullptr;
    uint32_t size = 0;
    uint32_t hash = 0;
    int64_t count = 0;
  };
  static uint32_t Hash(std::string_view k) {
    return static_cast<uint32_t>(std::hash<std::string_view>()(k));
  }
  static Slot& Find(std::vector<Slot>& slots, std::string_view key, uint32_t hash) {
    size_t mask = slots.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.data == nullptr) return s;
      if (s.hash == hash && s.size == key.size() &&
          std::string_view(s.data, s.size) == key) {
        return s;
      }
    }
  }
  void Grow() {
    std::vector<Slot> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (const auto& s : slots_) {
      if (s.data) Find(bigger, std::string_view(s.data, s.size), s.hash) = s;
    }
    slots_.swap(bigger);
  }

  std::vector<Slot> slots_;
  size_t used_ = 0;
  size_t nonzero_ = 0;
};

}  // namespace keelson::scheduler::interpodaffinity
