#include "scheduler/plugins/podtopologyspread/pod_topology_spread.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <boost/json.hpp>

#include "scheduler/framework/parallelize.h"
#include "scheduler/plugins/nodeaffinity/node_affinity.h"
#include "scheduler/plugins/tainttoleration/taint_toleration.h"

namespace keelson::scheduler::podtopologyspread {

namespace json = boost::json;

Result<Args> ParseArgs(const json::object& args) {
  Args out;
  for (const auto& [k, _] : args) {
    if (k != "defaultingType" && k != "defaultConstraints") {
      return InvalidArgumentError(std::string(k) + ": unknown field");
    }
  }
  if (const auto* t = args.if_contains("defaultingType"); t && !t->is_null()) {
    std::string type = t->is_string() ? std::string(t->as_string()) : json::serialize(*t);
    if (type == "System") out.system_defaulting = true;
    else if (type == "List") out.system_defaulting = false;
    else {
      return InvalidArgumentError("defaultingType: Unsupported value: \"" + type +
                                  "\": supported values: \"List\", \"System\"");
    }
  }
  const auto* dc = args.if_contains("defaultConstraints");
  if (dc && !dc->is_null()) {
    if (!dc->is_array()) return InvalidArgumentError("defaultConstraints: Invalid value: must be a list");
    if (out.system_defaulting && !dc->as_array().empty()) {
      return InvalidArgumentError(
          "defaultingType: Invalid value: \"System\": when .defaultConstraints are not empty");
    }
    for (size_t i = 0; i < dc->as_array().size(); ++i) {
      std::string p = "defaultConstraints[" + std::to_string(i) + "]";
      const auto& e = dc->as_array()[i];
      if (!e.is_object()) return InvalidArgumentError(p + ": Invalid value: must be an object");
      const auto& o = e.as_object();
      DefaultConstraint c;
      const auto* ms = o.if_contains("maxSkew");
      c.max_skew = ms && ms->is_int64() ? static_cast<int32_t>(ms->as_int64()) : 0;
      if (c.max_skew <= 0) {
        return InvalidArgumentError(p + ".maxSkew: Invalid value: " + std::to_string(c.max_skew) +
                                    ": must be greater than zero");
      }
      const auto* tk = o.if_contains("topologyKey");
      if (!tk || !tk->is_string() || tk->as_string().empty()) {
        return InvalidArgumentError(p + ".topologyKey: Required value: can not be empty");
      }
      c.topology_key = tk->as_string();
      const auto* wu = o.if_contains("whenUnsatisfiable");
      std::string when = wu && wu->is_string() ? std::string(wu->as_string()) : "";
      if (when != "DoNotSchedule" && when != "ScheduleAnyway") {
        return InvalidArgumentError(p + ".whenUnsatisfiable: Unsupported value: \"" + when +
                                    "\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"");
      }
      c.do_not_schedule = when == "DoNotSchedule";
      if (o.contains("labelSelector")) {
        return InvalidArgumentError(p + ".labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod");
      }
      for (const auto& prev : out.default_constraints) {
        if (prev.topology_key == c.topology_key && prev.do_not_schedule == c.do_not_schedule) {
          return InvalidArgumentError(p + ": Duplicate value: \"{" + c.topology_key + ", " + when + "}\"");
        }
      }
      out.default_constraints.push_back(std::move(c));
    }
  }
  if (out.system_defaulting) {
    out.default_constraints = {{3, std::string(kLabelHostname), false},
                               {5, std::string(kLabelTopologyZone), false}};
  }
  return out;
}

namespace {

bool NodeHasAllKeys(const Labels& labels, const std::vector<TopologySpreadConstraint>& cs) {
  for (const auto& c : cs) {
    if (labels.find(c.topology_key) == labels.end()) return false;
  }
  return true;
}

bool MatchesInclusionPolicies(const TopologySpreadConstraint& c, const PodInfo& pod,
                              const NodeView& node) {
  if (c.node_affinity_policy_honor && !nodeaffinity::MatchesRequired(pod, node)) return false;
  if (c.node_taints_policy_honor &&
      tainttoleration::FindUntoleratedTaint(node.taints, pod.tolerations)) {
    return false;
  }
  return true;
}

int CountMatching(const std::vector<PodInfoPtr>& pods, const api::LabelSelector& selector,
                  std::string_view ns) {
  int n = 0;
  for (const auto& p : pods) {
    if (p->terminating || p->namespace_ != ns) continue;
    if (selector.Matches(p->labels)) ++n;
  }
  return n;
}

struct CriticalPaths {
  struct Path {
    std::string_view value;
    int64_t match = INT32_MAX;
  };
  Path p[2];
  void Update(std::string_view value, int64_t num) {
    int i = value == p[0].value ? 0 : (value == p[1].value ? 1 : -1);
    if (i >= 0) {
      p[i].match = num;
      if (p[0].match > p[1].match) std::swap(p[0], p[1]);
    } else if (num < p[0].match) {
      p[1] = p[0];
      p[0] = {value, num};
    } else if (num < p[1].match) {
      p[1] = {value, num};
    }
  }
};

// Domain values are views of the snapshot's node labels: valid during the scheduling cycle.
struct PreFilterState final : StateData {
  std::vector<TopologySpreadConstraint> constraints;
  std::vector<bool> self_match;  // the incoming pod matches constraint i's selector
  std::vector<std::unordered_map<std::string_view, int64_t>> match_num;  // per constraint
  std::vector<CriticalPaths> critical;
  std::vector<int64_t> domains;  // eligible domains per constraint

  int64_t MinMatch(size_t i) const {
    if (domains[i] < constraints[i].min_domains) return 0;
    return critical[i].p[0].match;
  }
  std::unique_ptr<StateData> Clone() const override {
    return std::make_unique<PreFilterState>(*this);
  }
};

struct PreScoreState final : StateData {
  std::vector<TopologySpreadConstraint> constraints;
  std::unordered_set<std::string_view> ignored;
  // Per constraint: domain value -> matching pods (not for hostname).
  std::vector<std::map<std::string, std::atomic<int64_t>, std::less<>>> counts;
  std::vector<double> weights;
  // Per hostname constraint: the feasible nodes' matching pods, sorted by NodeInfo address
  // (from the per-node caches; empty when the nodes' positions were not known).
  std::vector<std::vector<std::pair<const NodeInfo*, int32_t>>> host_counts;
  std::unique_ptr<StateData> Clone() const override {
    auto c = std::make_unique<PreScoreState>();
    c->constraints = constraints;
    c->ignored = ignored;
    c->weights = weights;
    c->host_counts = host_counts;
    c->counts.resize(counts.size());
    for (size_t i = 0; i < counts.size(); ++i) {
      for (const auto& [k, v] : counts[i]) c->counts[i][k].store(v.load());
    }
    return c;
  }
};

void UpdateWithPod(PreFilterState& s, const PodInfo& incoming, const PodInfo& existing,
                   const NodeView& node, int64_t delta) {
  if (existing.namespace_ != incoming.namespace_) return;
  if (!NodeHasAllKeys(node.labels, s.constraints)) return;
  for (size_t i = 0; i < s.constraints.size(); ++i) {
    const auto& c = s.constraints[i];
    if (!c.selector.Matches(existing.labels)) continue;
    if (!MatchesInclusionPolicies(c, incoming, node)) continue;
    std::string_view v = node.labels.find(c.topology_key)->second;
    int64_t& n = s.match_num[i][v];
    n += delta;
    s.critical[i].Update(v, n);
  }
}

}  // namespace

PodTopologySpread::PodTopologySpread(Args args, Handle* handle)
    : args_(std::move(args)), handle_(handle) {}

std::vector<TopologySpreadConstraint> PodTopologySpread::ConstraintsFor(
    const PodInfo& pod, bool do_not_schedule) const {
  std::vector<TopologySpreadConstraint> out;
  if (!pod.spread_constraints.empty()) {
    for (const auto& c : pod.spread_constraints) {
      if (c.do_not_schedule == do_not_schedule) out.push_back(c);
    }
    return out;
  }
  bool any = false;
  for (const auto& d : args_.default_constraints) any = any || d.do_not_schedule == do_not_schedule;
  if (!any || !handle_ || !handle_->listers().HasWorkloads()) return out;
  api::LabelSelector selector = handle_->listers().DefaultSelector(pod);
  if (selector.Empty()) return out;
  for (const auto& d : args_.default_constraints) {
    if (d.do_not_schedule != do_not_schedule) continue;
    TopologySpreadConstraint c;
    c.max_skew = d.max_skew;
    c.topology_key = d.topology_key;
    c.do_not_schedule = d.do_not_schedule;
    c.selector = selector;
    out.push_back(std::move(c));
  }
  return out;
}

PluginStatus PodTopologySpread::PreFilter(CycleState& state, const PodInfo& pod,
                                          PreFilterResult*) {
  auto constraints = ConstraintsFor(pod, true);
  if (constraints.empty()) return PluginStatus::Skip();
  auto s = std::make_unique<PreFilterState>();
  s->constraints = std::move(constraints);
  const size_t nc = s->constraints.size();
  s->match_num.resize(nc);
  s->critical.resize(nc);
  s->domains.resize(nc);

  const auto& nodes = handle_->snapshot().NodeInfos();
  // Per node and constraint: the node's domain (-1 when it lacks the key or is not eligible)
  // and its matching pods.
  // Reused across cycles (PreFilter runs on the scheduling thread only).
  std::vector<Slot>& per_node = slots_;
  per_node.assign(nodes.size() * nc, Slot{});
  std::vector<CountCache*> caches(nc);
  std::vector<bool> trivial_policy(nc);
  const bool pod_has_node_constraints = !pod.node_selector.empty() || pod.required_node_affinity;
  for (size_t i = 0; i < nc; ++i) {
    const auto& c = s->constraints[i];
    caches[i] = CacheFor(pod.namespace_ + "\n" + c.topology_key, c.selector, nodes.size());
    s->self_match.push_back(c.selector.Matches(pod.labels));
    trivial_policy[i] = !(c.node_affinity_policy_honor && pod_has_node_constraints) &&
                        !c.node_taints_policy_honor;
  }
  const auto& generations = handle_->snapshot().Generations();
  auto process = [&](int n) {
    const NodeInfo& ni = *nodes[n];  // dereferenced only on a stale entry
    Slot* slots = &per_node[static_cast<size_t>(n) * nc];
    for (size_t i = 0; i < nc; ++i) {
      auto got = CachedCount(caches[i], static_cast<size_t>(n), generations[n], ni,
                             s->constraints[i], pod.namespace_);
      slots[i] = {got.first, got.second};
    }
    // A node lacking any of the keys counts for none of the constraints.
    for (size_t i = 0; i < nc; ++i) {
      if (slots[i].domain < 0) {
        for (size_t j = 0; j < nc; ++j) slots[j].domain = -1;
        return;
      }
    }
    for (size_t i = 0; i < nc; ++i) {
      if (!trivial_policy[i] && !MatchesInclusionPolicies(s->constraints[i], pod, *ni.node)) {
        slots[i].domain = -1;
      }
    }
  };
  handle_->parallelizer().Until(static_cast<int>(nodes.size()), process);
  for (size_t i = 0; i < nc; ++i) {
    CountCache* cache = caches[i];
    std::vector<int64_t> sums(cache->domains.size(), 0);
    std::vector<bool> eligible(cache->domains.size(), false);
    for (size_t n = 0; n < nodes.size(); ++n) {
      const Slot& slot = per_node[n * nc + i];
      if (slot.domain < 0) continue;
      sums[slot.domain] += slot.count;
      eligible[slot.domain] = true;
    }
    for (size_t d = 0; d < sums.size(); ++d) {
      if (!eligible[d]) continue;
      std::string_view v = cache->domains[d];
      s->match_num[i].emplace(v, sums[d]);
      s->critical[i].Update(v, sums[d]);
    }
    s->domains[i] = static_cast<int64_t>(s->match_num[i].size());
  }
  state.Write(this, std::move(s));
  return {};
}

PodTopologySpread::CountCache* PodTopologySpread::CacheFor(std::string_view prefix,
                                                           const api::LabelSelector& selector,
                                                           size_t nodes) {
  std::string key(prefix);
  key += '\n';
  key += selector.String();
  ++tick_;
  CountCache* victim = nullptr;
  for (auto& c : caches_) {
    if (c.key == key) {
      c.last_used = tick_;
      if (c.per_node.size() < nodes) c.per_node.resize(nodes);
      return &c;
    }
    if (!victim || c.last_used < victim->last_used) victim = &c;
  }
  if (caches_.size() < kMaxCaches) {
    caches_.emplace_back();
    victim = &caches_.back();
  }
  victim->key = std::move(key);
  victim->last_used = tick_;
  victim->per_node.assign(nodes, CountCache::Entry{});
  victim->domain_index.clear();
  victim->domains.clear();
  return victim;
}

std::pair<int32_t, int32_t> PodTopologySpread::CachedCount(CountCache* cache, size_t index,
                                                           int64_t generation,
                                                           const NodeInfo& ni,
                                                           const TopologySpreadConstraint& c,
                                                           std::string_view ns) {
  auto compute = [&]() -> std::pair<int32_t, int32_t> {
    auto it = ni.node->labels.find(c.topology_key);
    if (it == ni.node->labels.end()) return {-1, 0};
    int32_t domain;
    {
      std::lock_guard<std::mutex> l(cache->mu);
      auto d = cache->domain_index.find(it->second);
      if (d == cache->domain_index.end()) {
        cache->domains.push_back(it->second);
        domain = static_cast<int32_t>(cache->domains.size() - 1);
        cache->domain_index.emplace(cache->domains.back(), domain);
      } else {
        domain = d->second;
      }
    }
    return {domain, CountMatching(ni.pods, c.selector, ns)};
  };
  // A NodeInfo's generation is unique to its version (0: not from the cache, never reused).
  if (generation == 0 || index >= cache->per_node.size()) return compute();
  auto& e = cache->per_node[index];
  if (e.generation != generation) {
    auto [domain, count] = compute();
    e.generation = generation;
    e.domain = domain;
    e.count = count;
  }
  return {e.domain, e.count};
}

PluginStatus PodTopologySpread::AddPod(CycleState& state, const PodInfo& pod,
                                       const PodInfoPtr& to_add, const NodeInfo& node) {
  auto* s = state.Read<PreFilterState>(this);
  if (!s) return PluginStatus(Code::kError, "reading PodTopologySpread state");
  UpdateWithPod(*s, pod, *to_add, *node.node, 1);
  return {};
}

PluginStatus PodTopologySpread::RemovePod(CycleState& state, const PodInfo& pod,
                                          const PodInfoPtr& to_remove, const NodeInfo& node) {
  auto* s = state.Read<PreFilterState>(this);
  if (!s) return PluginStatus(Code::kError, "reading PodTopologySpread state");
  UpdateWithPod(*s, pod, *to_remove, *node.node, -1);
  return {};
}

PluginStatus PodTopologySpread::Filter(const CycleState& state, const PodInfo& /*pod*/,
                                       const NodeInfo& node) const {
  const auto* s = state.Read<PreFilterState>(this);
  if (!s) return PluginStatus(Code::kError, "reading PodTopologySpread state");
  static const PluginStatus kMissingLabel(Code::kUnschedulableAndUnresolvable,
                                          std::string(kErrReasonNodeLabelNotMatch));
  static const PluginStatus kSkew(Code::kUnschedulable, std::string(kErrReasonConstraintsNotMatch));
  const Labels& labels = node.node->labels;
  for (size_t i = 0; i < s->constraints.size(); ++i) {
    const auto& c = s->constraints[i];
    auto it = labels.find(c.topology_key);
    if (it == labels.end()) return kMissingLabel;
    int64_t self = s->self_match[i] ? 1 : 0;
    auto m = s->match_num[i].find(it->second);
    int64_t match = m == s->match_num[i].end() ? 0 : m->second;
    if (match + self - s->MinMatch(i) > c.max_skew) return kSkew;
  }
  return {};
}

PluginStatus PodTopologySpread::PreScore(CycleState& state, const PodInfo& pod,
                                         const std::vector<NodeInfoPtr>& filtered) {
  const auto& all = handle_->snapshot().NodeInfos();
  if (filtered.empty() || all.empty()) return PluginStatus::Skip();
  auto s = std::make_unique<PreScoreState>();
  s->constraints = ConstraintsFor(pod, false);
  if (s->constraints.empty()) return PluginStatus::Skip();
  const size_t nc = s->constraints.size();
  bool require_all = !pod.spread_constraints.empty() || !args_.system_defaulting;
  s->counts.resize(nc);
  std::vector<int64_t> topo_size(nc, 0);
  for (const auto& ni : filtered) {
    const Labels& labels = ni->node->labels;
    if (require_all && !NodeHasAllKeys(labels, s->constraints)) {
      s->ignored.insert(ni->Name());
      continue;
    }
    for (size_t i = 0; i < nc; ++i) {
      const auto& key = s->constraints[i].topology_key;
      if (key == kLabelHostname) continue;
      auto it = labels.find(key);
      std::string value = it == labels.end() ? std::string() : it->second;
      if (s->counts[i].try_emplace(value, 0).second) ++topo_size[i];
    }
  }
  s->weights.resize(nc);
  for (size_t i = 0; i < nc; ++i) {
    int64_t size = topo_size[i];
    if (s->constraints[i].topology_key == kLabelHostname) {
      size = static_cast<int64_t>(filtered.size() - s->ignored.size());
    }
    s->weights[i] = std::log(static_cast<double>(size + 2));
  }
  // Hostname constraints count per feasible node at Score: take those counts from the
  // per-node caches now, by the nodes' snapshot positions.
  s->host_counts.resize(nc);
  const auto& positions = state.FeasiblePositions();
  if (positions.size() == filtered.size()) {
    const auto& generations = handle_->snapshot().Generations();
    for (size_t i = 0; i < nc; ++i) {
      const auto& c = s->constraints[i];
      if (c.topology_key != kLabelHostname) continue;
      CountCache* cache = CacheFor(pod.namespace_ + "\n" + c.topology_key, c.selector, all.size());
      auto& hc = s->host_counts[i];
      hc.reserve(filtered.size());
      for (size_t k = 0; k < filtered.size(); ++k) {
        size_t pos = static_cast<size_t>(positions[k]);
        if (pos >= all.size() || all[pos].get() != filtered[k].get()) continue;
        auto got = CachedCount(cache, pos, generations[pos], *filtered[k], c, pod.namespace_);
        hc.emplace_back(filtered[k].get(), got.second);
      }
      std::sort(hc.begin(), hc.end());
    }
  }
  bool any_domain_counts = false;
  for (size_t i = 0; i < nc; ++i) {
    any_domain_counts = any_domain_counts || s->constraints[i].topology_key != kLabelHostname;
  }
  if (any_domain_counts) {
    // Every node's domain and matching pods per constraint, from the per-node count caches
    // (recounting only the nodes changed since the last pod with the same selector).
    std::vector<CountCache*> caches(nc);
    std::vector<bool> trivial_policy(nc);
    const bool pod_has_node_constraints = !pod.node_selector.empty() || pod.required_node_affinity;
    for (size_t i = 0; i < nc; ++i) {
      const auto& c = s->constraints[i];
      caches[i] = CacheFor(pod.namespace_ + "\n" + c.topology_key, c.selector, all.size());
      trivial_policy[i] = !(c.node_affinity_policy_honor && pod_has_node_constraints) &&
                          !c.node_taints_policy_honor;
    }
    std::vector<Slot>& slots = slots_;
    slots.assign(all.size() * nc, Slot{});
    const auto& generations = handle_->snapshot().Generations();
    auto process = [&](int n) {
      const NodeInfo& ni = *all[n];  // dereferenced only on a stale entry or a policy check
      Slot* row = &slots[static_cast<size_t>(n) * nc];
      for (size_t i = 0; i < nc; ++i) {
        // Hostname counts are taken per node at Score; here they only tell whether the node
        // has the key, which matters only when every key is required.
        if (!require_all && s->constraints[i].topology_key == kLabelHostname) {
          row[i] = {0, 0};
          continue;
        }
        auto got = CachedCount(caches[i], static_cast<size_t>(n), generations[n], ni,
                               s->constraints[i], pod.namespace_);
        row[i] = {got.first, got.second};
      }
      bool has_all = true;
      for (size_t i = 0; i < nc; ++i) has_all = has_all && row[i].domain >= 0;
      for (size_t i = 0; i < nc; ++i) {
        if ((require_all && !has_all) ||
            (!trivial_policy[i] && !MatchesInclusionPolicies(s->constraints[i], pod, *ni.node))) {
          row[i].domain = -1;
        }
      }
    };
    handle_->parallelizer().Until(static_cast<int>(all.size()), process);
    for (size_t i = 0; i < nc; ++i) {
      if (s->constraints[i].topology_key == kLabelHostname) continue;
      CountCache* cache = caches[i];
      std::vector<int64_t> sums(cache->domains.size(), 0);
      for (size_t n = 0; n < all.size(); ++n) {
        const Slot& slot = slots[n * nc + i];
        if (slot.domain >= 0) sums[slot.domain] += slot.count;
      }
      for (auto& [value, count] : s->counts[i]) {
        auto d = cache->domain_index.find(value);
        if (d != cache->domain_index.end()) count.store(sums[d->second], std::memory_order_relaxed);
      }
    }
  }
  state.Write(this, std::move(s));
  return {};
}

int64_t PodTopologySpread::Score(const CycleState& state, const PodInfo& pod,
                                 const NodeInfo& node) const {
  const auto* s = state.Read<PreScoreState>(this);
  if (!s || s->ignored.count(node.Name())) return 0;
  double score = 0;
  for (size_t i = 0; i < s->constraints.size(); ++i) {
    const auto& c = s->constraints[i];
    auto it = node.node->labels.find(c.topology_key);
    if (it == node.node->labels.end()) continue;
    int64_t cnt;
    if (c.topology_key == kLabelHostname) {
      const auto& hc = s->host_counts[i];
      auto h = std::lower_bound(hc.begin(), hc.end(), &node,
                                [](const auto& e, const NodeInfo* n) { return e.first < n; });
      cnt = h != hc.end() && h->first == &node
                ? h->second
                : CountMatching(node.pods, c.selector, pod.namespace_);
    } else {
      auto v = s->counts[i].find(it->second);
      cnt = v == s->counts[i].end() ? 0 : v->second.load(std::memory_order_relaxed);
    }
    score += static_cast<double>(cnt) * s->weights[i] + static_cast<double>(c.max_skew - 1);
  }
  return static_cast<int64_t>(std::round(score));
}

void PodTopologySpread::NormalizeScore(const CycleState& state, const PodInfo&,
                                       std::vector<NodeScore>& scores) const {
  const auto* s = state.Read<PreScoreState>(this);
  if (!s) return;
  int64_t min_score = INT64_MAX, max_score = 0;
  std::vector<bool> ignored(scores.size(), false);
  for (size_t i = 0; i < scores.size(); ++i) {
    if (s->ignored.count(scores[i].name)) {
      ignored[i] = true;
      continue;
    }
    min_score = std::min(min_score, scores[i].score);
    max_score = std::max(max_score, scores[i].score);
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    if (ignored[i]) {
      scores[i].score = 0;
      continue;
    }
    if (max_score == 0) {
      scores[i].score = kMaxNodeScore;
      continue;
    }
    scores[i].score = kMaxNodeScore * (max_score + min_score - scores[i].score) / max_score;
  }
}

std::vector<ClusterEventWithHint> PodTopologySpread::EventsToRegister() const {
  const PodTopologySpread* self = this;
  auto pod_hint = [self](const PodInfo& pod, const EventObjects& ev) {
    auto cs = self->ConstraintsFor(pod, true);
    for (const auto* p : {ev.old_pod.get(), ev.new_pod.get()}) {
      if (!p || p->namespace_ != pod.namespace_) continue;
      for (const auto& c : cs) {
        if (c.selector.Matches(p->labels)) return QueueingHint::kQueue;
      }
    }
    return QueueingHint::kSkip;
  };
  return {
      {{EventResource::kAssignedPod, kAdd | kUpdatePodLabel | kDelete, "AssignedPodChange"},
       pod_hint},
      {{EventResource::kNode, kAdd | kDelete | kUpdateNodeLabel | kUpdateNodeTaint, "NodeChange"},
       nullptr},
  };
}

}  // namespace keelson::scheduler::podtopologyspread
