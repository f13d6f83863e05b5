#include "scheduler/plugins/interpodaffinity/inter_pod_affinity.h"

#include <algorithm>
#include <climits>
#include <mutex>

#include <boost/json.hpp>

#include "scheduler/framework/parallelize.h"

namespace keelson::scheduler::interpodaffinity {

namespace json = boost::json;

Result<Args> ParseArgs(const json::object& args) {
  Args out;
  for (const auto& [k, v] : args) {
    if (k == "hardPodAffinityWeight") {
      if (!v.is_int64()) return InvalidArgumentError("hardPodAffinityWeight: Invalid value: must be an integer");
      if (v.as_int64() < 0 || v.as_int64() > 100) {
        return InvalidArgumentError("hardPodAffinityWeight: Invalid value: " +
                                    std::to_string(v.as_int64()) + ": not in valid range [0, 100]");
      }
      out.hard_pod_affinity_weight = static_cast<int32_t>(v.as_int64());
    } else if (k == "ignorePreferredTermsOfExistingPods") {
      if (!v.is_bool()) return InvalidArgumentError("ignorePreferredTermsOfExistingPods: Invalid value: must be a boolean");
      out.ignore_preferred_terms_of_existing_pods = v.as_bool();
    } else {
      return InvalidArgumentError(std::string(k) + ": unknown field");
    }
  }
  return out;
}

namespace {

void Update(TopologyCounts& m, const NodeView& node, const std::string& key, int64_t delta) {
  auto it = node.labels.find(key);
  if (it == node.labels.end()) return;
  auto k = m.find(key);
  if (k == m.end()) k = m.emplace(key, FlatCounter()).first;
  k->second.Add(it->second, delta);
  if (k->second.empty()) m.erase(k);
}

int64_t Get(const TopologyCounts& m, std::string_view key, std::string_view value) {
  auto k = m.find(key);
  return k == m.end() ? 0 : k->second.Get(value);
}


// Records `delta` for the node's value of `key` (nothing when the node lacks the key).
template <typename C>
void Contribute(std::vector<C>* out, const NodeView& node, const std::string* key,
                int64_t delta) {
  auto it = node.labels.find(*key);
  if (it == node.labels.end() || delta == 0) return;
  for (auto& c : *out) {
    if (c.value == &it->second) {
      c.delta += delta;
      return;
    }
  }
  out->push_back({key, &it->second, delta});
}

std::string TermsSignature(const std::vector<AffinityTerm>& terms) {
  std::string s;
  for (const auto& t : terms) {
    s += t.topology_key;
    s += '\x01';
    s += t.selector.String();
    s += '\x01';
    for (const auto& ns : t.namespaces) (s += ns) += ',';
    if (t.namespace_selector) s += "nss:" + t.namespace_selector->String();
    s += '\x02';
  }
  return s;
}

bool MatchesAll(const std::vector<AffinityTerm>& terms, const PodInfo& pod) {
  if (terms.empty()) return false;
  for (const auto& t : terms) {
    if (!t.Matches(pod, nullptr)) return false;
  }
  return true;
}

struct PreFilterState final : StateData {
  std::vector<AffinityTerm> affinity;       // resolved required terms of the incoming pod
  std::vector<AffinityTerm> anti_affinity;
  std::shared_ptr<const Labels> ns_labels;  // of the incoming pod's namespace
  TopologyCounts existing_anti_affinity;
  TopologyCounts affinity_counts;
  TopologyCounts anti_affinity_counts;
  std::unique_ptr<StateData> Clone() const override {
    return std::make_unique<PreFilterState>(*this);
  }
};

struct PreScoreState final : StateData {
  TopologyCounts topology_score;
  std::unique_ptr<StateData> Clone() const override {
    return std::make_unique<PreScoreState>(*this);
  }
};

// The incoming pod's state changes for an existing pod added (+1) or removed (-1) on a node.
void UpdateWithPod(PreFilterState& s, const PodInfo& incoming, const PodInfo& existing,
                   const NodeView& node, int64_t delta) {
  for (const auto& t : existing.required_anti_affinity) {
    if (t.Matches(incoming, s.ns_labels.get())) Update(s.existing_anti_affinity, node, t.topology_key, delta);
  }
  if (!s.affinity.empty() && MatchesAll(s.affinity, existing)) {
    for (const auto& t : s.affinity) Update(s.affinity_counts, node, t.topology_key, delta);
  }
  for (const auto& t : s.anti_affinity) {
    if (t.Matches(existing, nullptr)) Update(s.anti_affinity_counts, node, t.topology_key, delta);
  }
}

}  // namespace

std::vector<AffinityTerm> InterPodAffinity::Resolve(const std::vector<AffinityTerm>& terms) const {
  std::vector<AffinityTerm> out = terms;
  for (auto& t : out) {
    if (!t.namespace_selector) continue;
    if (handle_) {
      for (auto& ns : handle_->listers().NamespacesMatching(*t.namespace_selector)) {
        t.namespaces.insert(std::move(ns));
      }
    }
    t.namespace_selector.reset();
  }
  return out;
}

PluginStatus InterPodAffinity::PreFilter(CycleState& state, const PodInfo& pod, PreFilterResult*) {
  const Snapshot& snap = handle_->snapshot();
  if (pod.required_affinity.empty() && pod.required_anti_affinity.empty() &&
      snap.HavePodsWithRequiredAntiAffinity().empty()) {
    return PluginStatus::Skip();
  }
  auto s = std::make_unique<PreFilterState>();
  s->affinity = Resolve(pod.required_affinity);
  s->anti_affinity = Resolve(pod.required_anti_affinity);
  s->ns_labels = handle_->listers().NamespaceLabels(pod.namespace_);

  std::string sig = pod.namespace_ + '\x03';
  for (const auto& [k, v] : pod.labels) ((sig += k) += '=') += v + ',';
  sig += '\x03' + TermsSignature(s->affinity) + '\x03' + TermsSignature(s->anti_affinity) + '\x03';
  if (s->ns_labels) {
    for (const auto& [k, v] : *s->ns_labels) ((sig += k) += '=') += v + ',';
  }
  ContributionCache* cache = CacheFor(sig, snap.NumNodes());
  const PreFilterState* st = s.get();
  std::vector<Job> jobs;
  if (!snap.HavePodsWithRequiredAntiAffinity().empty()) {
    jobs.push_back({kExistingAnti,
              [&](const NodeInfo& ni, std::vector<Contribution>* out) {
                for (const auto& existing : ni.pods_with_required_anti_affinity) {
                  for (const auto& t : existing->required_anti_affinity) {
                    if (t.Matches(pod, st->ns_labels.get())) Contribute(out, *ni.node, InternKey(t.topology_key), 1);
                  }
                }
              },
              &s->existing_anti_affinity});
  }
  if (!s->affinity.empty()) {
    jobs.push_back({kAffinity,
              [&](const NodeInfo& ni, std::vector<Contribution>* out) {
                for (const auto& existing : ni.pods) {
                  if (!MatchesAll(st->affinity, *existing)) continue;
                  for (const auto& t : st->affinity) Contribute(out, *ni.node, InternKey(t.topology_key), 1);
                }
              },
              &s->affinity_counts});
  }
  if (!s->anti_affinity.empty()) {
    jobs.push_back({kAntiAffinity,
              [&](const NodeInfo& ni, std::vector<Contribution>* out) {
                for (const auto& existing : ni.pods) {
                  for (const auto& t : st->anti_affinity) {
                    if (t.Matches(*existing, nullptr)) Contribute(out, *ni.node, InternKey(t.topology_key), 1);
                  }
                }
              },
              &s->anti_affinity_counts});
  }
  Aggregate(cache, jobs);
  state.Write(this, std::move(s));
  return {};
}

InterPodAffinity::ContributionCache* InterPodAffinity::CacheFor(const std::string& signature,
                                                               size_t nodes) {
  ++tick_;
  ContributionCache* victim = nullptr;
  for (auto& c : caches_) {
    if (c.signature == signature) {
      c.last_used = tick_;
      for (auto& v : c.nodes) {
        if (v.size() < nodes) v.resize(nodes);
      }
      return &c;
    }
    if (!victim || c.last_used < victim->last_used) victim = &c;
  }
  if (caches_.size() < kMaxCaches) {
    caches_.emplace_back();
    victim = &caches_.back();
  }
  victim->signature = signature;
  victim->last_used = tick_;
  for (auto& v : victim->nodes) v.assign(nodes, NodeEntry{});
  return victim;
}

const std::string* InterPodAffinity::InternKey(const std::string& key) {
  std::lock_guard<std::mutex> l(keys_mu_);
  for (const auto& k : keys_) {
    if (k == key) return &k;
  }
  keys_.push_back(key);
  return &keys_.back();
}

void InterPodAffinity::Aggregate(ContributionCache* cache, const std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  const auto& nodes = handle_->snapshot().NodeInfos();
  for (const auto& job : jobs) {
    auto& entries = cache->nodes[job.category];
    if (entries.size() < nodes.size()) entries.resize(nodes.size());
  }
  const auto& generations = handle_->snapshot().Generations();
  auto refresh = [&](int i) {
    const int64_t generation = generations[i];
    for (const auto& job : jobs) {
      NodeEntry& e = cache->nodes[job.category][i];
      // A NodeInfo's generation is unique to its version (0: not from the cache, never
      // reused); the same version has the same NodeView, so the label pointers stay valid.
      if (generation != 0 && e.generation == generation) continue;
      e.contributions.clear();
      job.compute(*nodes[i], &e.contributions);
      e.generation = generation == 0 ? -1 : generation;
    }
  };
  handle_->parallelizer().Until(static_cast<int>(nodes.size()), refresh);
  for (const auto& job : jobs) {
    const auto& entries = cache->nodes[job.category];
    TopologyCounts* counts = job.counts;
    const std::string* last_key = nullptr;
    FlatCounter* last = nullptr;
    for (size_t i = 0; i < nodes.size(); ++i) {
      for (const auto& c : entries[i].contributions) {
        if (c.key != last_key) {
          auto k = counts->find(*c.key);
          if (k == counts->end()) {
            k = counts->emplace(*c.key, FlatCounter()).first;
            k->second.Reserve(nodes.size() / 2);
          }
          last = &k->second;
          last_key = c.key;
        }
        last->Add(*c.value, c.delta);
      }
    }
    for (auto it = counts->begin(); it != counts->end();) {
      it = it->second.empty() ? counts->erase(it) : std::next(it);
    }
  }
}

PluginStatus InterPodAffinity::AddPod(CycleState& state, const PodInfo& pod,
                                      const PodInfoPtr& to_add, const NodeInfo& node) {
  auto* s = state.Read<PreFilterState>(this);
  if (!s) return PluginStatus(Code::kError, "reading InterPodAffinity state");
  UpdateWithPod(*s, pod, *to_add, *node.node, 1);
  return {};
}

PluginStatus InterPodAffinity::RemovePod(CycleState& state, const PodInfo& pod,
                                         const PodInfoPtr& to_remove, const NodeInfo& node) {
  auto* s = state.Read<PreFilterState>(this);
  if (!s) return PluginStatus(Code::kError, "reading InterPodAffinity state");
  UpdateWithPod(*s, pod, *to_remove, *node.node, -1);
  return {};
}

PluginStatus InterPodAffinity::Filter(const CycleState& state, const PodInfo& pod,
                                      const NodeInfo& node) const {
  static const PluginStatus kAffinity(Code::kUnschedulableAndUnresolvable,
                                      std::string(kErrReasonAffinityRulesNotMatch));
  static const PluginStatus kAnti(Code::kUnschedulable,
                                  std::string(kErrReasonAntiAffinityRulesNotMatch));
  static const PluginStatus kExisting(Code::kUnschedulable,
                                      std::string(kErrReasonExistingAntiAffinityRulesNotMatch));
  const auto* s = state.Read<PreFilterState>(this);
  if (!s) return PluginStatus(Code::kError, "reading InterPodAffinity state");
  const Labels& labels = node.node->labels;
  // Affinity: every term's topology must be on the node and hold a matching pod.
  if (!s->affinity.empty()) {
    bool pods_exist = true;
    for (const auto& t : s->affinity) {
      auto it = labels.find(t.topology_key);
      if (it == labels.end()) {
        return kAffinity;
      }
      if (Get(s->affinity_counts, t.topology_key, it->second) <= 0) pods_exist = false;
    }
    if (!pods_exist &&
        !(s->affinity_counts.empty() && MatchesAll(s->affinity, pod))) {
      return kAffinity;
    }
  }
  for (const auto& t : s->anti_affinity) {
    auto it = labels.find(t.topology_key);
    if (it != labels.end() && Get(s->anti_affinity_counts, t.topology_key, it->second) > 0) {
      return kAnti;
    }
  }
  for (const auto& [key, values] : s->existing_anti_affinity) {
    auto it = labels.find(key);
    if (it == labels.end()) continue;
    if (values.Get(it->second) > 0) {
      return kExisting;
    }
  }
  return {};
}

PluginStatus InterPodAffinity::PreScore(CycleState& state, const PodInfo& pod,
                                        const std::vector<NodeInfoPtr>& nodes) {
  if (nodes.empty()) return PluginStatus::Skip();
  bool has_constraints = !pod.preferred_affinity.empty() || !pod.preferred_anti_affinity.empty();
  if (args_.ignore_preferred_terms_of_existing_pods && !has_constraints) {
    return PluginStatus::Skip();
  }
  const Snapshot& snap = handle_->snapshot();
  if ((has_constraints ? snap.NodeInfos() : snap.HavePodsWithAffinity()).empty()) {
    return PluginStatus::Skip();
  }

  std::vector<WeightedAffinityTerm> pref_aff, pref_anti;
  for (const auto& w : pod.preferred_affinity) pref_aff.push_back(w);
  for (const auto& w : pod.preferred_anti_affinity) pref_anti.push_back(w);
  for (auto* v : {&pref_aff, &pref_anti}) {
    for (auto& w : *v) {
      if (!w.term.namespace_selector) continue;
      for (auto& ns : handle_->listers().NamespacesMatching(*w.term.namespace_selector)) {
        w.term.namespaces.insert(std::move(ns));
      }
      w.term.namespace_selector.reset();
    }
  }
  auto ns_labels = handle_->listers().NamespaceLabels(pod.namespace_);
  const int64_t hard_weight = args_.hard_pod_affinity_weight;

  auto s = std::make_unique<PreScoreState>();
  std::string sig = "score\x03" + pod.namespace_ + '\x03';
  for (const auto& [k, v] : pod.labels) ((sig += k) += '=') += v + ',';
  auto weighted = [](const std::vector<WeightedAffinityTerm>& ws) {
    std::string out;
    for (const auto& w : ws) out += std::to_string(w.weight) + TermsSignature({w.term});
    return out;
  };
  sig += '\x03' + weighted(pref_aff) + '\x03' + weighted(pref_anti) + '\x03' +
         std::to_string(hard_weight) + (has_constraints ? "all" : "affinity");
  if (ns_labels) {
    for (const auto& [k, v] : *ns_labels) ((sig += k) += '=') += v + ',';
  }
  ContributionCache* cache = CacheFor(sig, snap.NumNodes());
  Aggregate(cache, {{kScore,
            [&](const NodeInfo& ni, std::vector<Contribution>* out) {
              const NodeView& node = *ni.node;
              if (node.labels.empty()) return;
              const auto& pods = has_constraints ? ni.pods : ni.pods_with_affinity;
              for (const auto& existing : pods) {
                for (const auto& w : pref_aff) {
                  if (w.term.Matches(*existing, nullptr)) Contribute(out, node, InternKey(w.term.topology_key), w.weight);
                }
                for (const auto& w : pref_anti) {
                  if (w.term.Matches(*existing, nullptr)) Contribute(out, node, InternKey(w.term.topology_key), -w.weight);
                }
                if (hard_weight > 0) {
                  for (const auto& t : existing->required_affinity) {
                    if (t.Matches(pod, ns_labels.get())) Contribute(out, node, InternKey(t.topology_key), hard_weight);
                  }
                }
                for (const auto& w : existing->preferred_affinity) {
                  if (w.term.Matches(pod, ns_labels.get())) Contribute(out, node, InternKey(w.term.topology_key), w.weight);
                }
                for (const auto& w : existing->preferred_anti_affinity) {
                  if (w.term.Matches(pod, ns_labels.get())) Contribute(out, node, InternKey(w.term.topology_key), -w.weight);
                }
              }
            },
            &s->topology_score}});
  if (s->topology_score.empty()) return PluginStatus::Skip();
  state.Write(this, std::move(s));
  return {};
}

int64_t InterPodAffinity::Score(const CycleState& state, const PodInfo&,
                                const NodeInfo& node) const {
  const auto* s = state.Read<PreScoreState>(this);
  if (!s) return 0;
  int64_t score = 0;
  for (const auto& [key, values] : s->topology_score) {
    auto it = node.node->labels.find(key);
    if (it == node.node->labels.end()) continue;
    score += values.Get(it->second);
  }
  return score;
}

void InterPodAffinity::NormalizeScore(const CycleState& state, const PodInfo&,
                                      std::vector<NodeScore>& scores) const {
  const auto* s = state.Read<PreScoreState>(this);
  if (!s || s->topology_score.empty()) return;
  int64_t min_count = INT64_MAX, max_count = INT64_MIN;
  for (const auto& sc : scores) {
    min_count = std::min(min_count, sc.score);
    max_count = std::max(max_count, sc.score);
  }
  int64_t diff = max_count - min_count;
  for (auto& sc : scores) {
    double f = 0;
    if (diff > 0) {
      f = static_cast<double>(kMaxNodeScore) *
          (static_cast<double>(sc.score - min_count) / static_cast<double>(diff));
    }
    sc.score = static_cast<int64_t>(f);
  }
}

std::vector<ClusterEventWithHint> InterPodAffinity::EventsToRegister() const {
  auto pod_hint = [](const PodInfo& pod, const EventObjects& ev) {
    auto matches_any = [](const std::vector<AffinityTerm>& terms, const PodInfo& p) {
      for (const auto& t : terms) {
        if (t.Matches(p, nullptr)) return true;
      }
      return false;
    };
    if (ev.new_pod && matches_any(pod.required_affinity, *ev.new_pod)) return QueueingHint::kQueue;
    if (ev.old_pod) {
      if (matches_any(pod.required_anti_affinity, *ev.old_pod)) return QueueingHint::kQueue;
      for (const auto& t : ev.old_pod->required_anti_affinity) {
        if (t.Matches(pod, nullptr) || t.namespace_selector) return QueueingHint::kQueue;
      }
    }
    return QueueingHint::kSkip;
  };
  return {
      {{EventResource::kAssignedPod, kAdd | kUpdatePodLabel | kDelete, "AssignedPodChange"},
       pod_hint},
      {{EventResource::kNode, kAdd | kUpdateNodeLabel, "NodeChange"}, nullptr},
  };
}

}  // namespace keelson::scheduler::interpodaffinity
