#include "controllers/base/ranking.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "client/time_format.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"

namespace keelson::controllers {

namespace {

using WallTime = Clock::WallTime;

// What the rules read of a pod, read once.
struct Facts {
  client::ObjectPtr pod;
  std::string_view node;
  int phase = 0;
  bool ready = false;
  int32_t cost = 0;
  int rank = 0;
  WallTime ready_since{};  // zero: unknown
  int64_t restarts = 0;
  WallTime created{};      // zero: unknown
  std::string_view uid;
};

int PhaseOrdinal(std::string_view phase) {
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 0;  // Pending, and what upstream's map does not know
}

int32_t DeletionCost(const api::Object& pod) {
  std::string_view v = StringAt(pod, {"metadata", "annotations", "controller.kubernetes.io/pod-deletion-cost"});
  if (v.empty()) return 0;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < std::numeric_limits<int32_t>::min() ||
      n > std::numeric_limits<int32_t>::max()) {
    return 0;
  }
  return static_cast<int32_t>(n);
}

int64_t MaxRestarts(const api::Object& pod) {
  int64_t max = 0;
  const auto* statuses = ValueAt(pod, {"status", "containerStatuses"});
  if (statuses == nullptr || !statuses->is_array()) return 0;
  for (const auto& s : statuses->get_array()) {
    if (!s.is_object()) continue;
    max = std::max(max, AsInt(s.get_object().if_contains("restartCount")).value_or(0));
  }
  return max;
}

WallTime ParsedOrZero(std::string_view text) {
  if (text.empty()) return WallTime{};
  return client::ParseTime(text).value_or(WallTime{});
}

Facts Read(const client::ObjectPtr& pod, int rank) {
  Facts f;
  f.pod = pod;
  f.node = StringAt(*pod, {"spec", "nodeName"});
  f.phase = PhaseOrdinal(PodPhase(*pod));
  f.ready = IsPodReady(*pod);
  f.cost = DeletionCost(*pod);
  f.rank = rank;
  if (f.ready) {
    if (const api::Object* c = GetPodCondition(*pod, "Ready")) {
      const auto* t = c->if_contains("lastTransitionTime");
      if (t && t->is_string()) f.ready_since = ParsedOrZero(t->get_string());
    }
  }
  f.restarts = MaxRestarts(*pod);
  f.created = ParsedOrZero(api::GetCreationTimestamp(*pod));
  f.uid = api::GetUid(*pod);
  return f;
}

bool IsZero(WallTime t) { return t == WallTime{}; }

// t1 after t2, a zero time being after any other.
bool AfterOrZero(WallTime t1, WallTime t2) {
  if (IsZero(t1) || IsZero(t2)) return IsZero(t1);
  return t1 > t2;
}

int64_t LogRank(WallTime t, WallTime now) {
  auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t).count();
  if (d <= 0) return -1;
  return static_cast<int64_t>(std::log2(static_cast<double>(d)));
}

// Rules 6 and 8: the more recent first, in log2 buckets of the time since, then by uid.
// nullopt when the times are equal (the next rule decides).
std::optional<bool> NewerFirst(WallTime t1, WallTime t2, WallTime now, const Facts& a,
                               const Facts& b) {
  if (t1 == t2) return std::nullopt;
  if (IsZero(now) || IsZero(t1) || IsZero(t2)) return AfterOrZero(t1, t2);
  int64_t diff = LogRank(t1, now) - LogRank(t2, now);
  if (diff == 0) return a.uid < b.uid;
  return diff < 0;
}

bool Less(const Facts& a, const Facts& b, WallTime now) {
  // 1. Unassigned < assigned.
  if (a.node != b.node && (a.node.empty() || b.node.empty())) return a.node.empty();
  // 2. Pending < Unknown < Running.
  if (a.phase != b.phase) return a.phase < b.phase;
  // 3. Not ready < ready.
  if (a.ready != b.ready) return !a.ready;
  // 4. Lower deletion cost first.
  if (a.cost != b.cost) return a.cost < b.cost;
  // 5. Doubled up < not doubled up.
  if (a.rank != b.rank) return a.rank > b.rank;
  // 6. Ready for less time first.
  if (a.ready && b.ready) {
    if (auto r = NewerFirst(a.ready_since, b.ready_since, now, a, b)) return *r;
  }
  // 7. More restarts first.
  if (a.restarts != b.restarts) return a.restarts > b.restarts;
  // 8. Newer first.
  if (auto r = NewerFirst(a.created, b.created, now, a, b)) return *r;
  return false;
}

std::vector<Facts> Sorted(const std::vector<client::ObjectPtr>& pods, const std::vector<int>& ranks,
                          WallTime now, size_t keep) {
  std::vector<Facts> facts;
  facts.reserve(pods.size());
  for (size_t i = 0; i < pods.size(); ++i) facts.push_back(Read(pods[i], i < ranks.size() ? ranks[i] : 0));
  // The rules are not a strict weak order (the log2 buckets break ties by uid, exact
  // equality falls through): a merge sort stays within bounds whatever the comparator says.
  std::stable_sort(facts.begin(), facts.end(),
                   [now](const Facts& a, const Facts& b) { return Less(a, b, now); });
  if (keep < facts.size()) facts.resize(keep);
  return facts;
}

}  // namespace

std::vector<client::ObjectPtr> SortPodsForDeletion(const std::vector<client::ObjectPtr>& pods,
                                                   const std::vector<int>& ranks, WallTime now) {
  std::vector<client::ObjectPtr> out;
  for (Facts& f : Sorted(pods, ranks, now, pods.size())) out.push_back(std::move(f.pod));
  return out;
}

std::vector<client::ObjectPtr> GetPodsToDelete(std::vector<client::ObjectPtr> pods,
                                               const std::vector<client::ObjectPtr>& related,
                                               size_t diff, WallTime now) {
  if (diff >= pods.size()) return pods;
  // Rank: the active related pods on the same node (unassigned pods count together).
  std::unordered_map<std::string_view, int> on_node;
  for (const auto& p : related) {
    if (IsPodActive(*p)) ++on_node[StringAt(*p, {"spec", "nodeName"})];
  }
  std::vector<int> ranks;
  ranks.reserve(pods.size());
  for (const auto& p : pods) {
    auto it = on_node.find(StringAt(*p, {"spec", "nodeName"}));
    ranks.push_back(it == on_node.end() ? 0 : it->second);
  }
  std::vector<client::ObjectPtr> out;
  out.reserve(diff);
  for (Facts& f : Sorted(pods, ranks, now, diff)) out.push_back(std::move(f.pod));
  return out;
}

}  // namespace keelson::controllers
