#include "scheduler/plugins/defaultpreemption/default_preemption.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <unordered_map>

#include <boost/json.hpp>

#include "scheduler/client.h"
#include "scheduler/framework/framework.h"
#include "scheduler/framework/parallelize.h"

namespace keelson::scheduler::defaultpreemption {

Result<Args> ParseArgs(const boost::json::object& args) {
  Args out;
  for (const auto& [k, v] : args) {
    if (k == "minCandidateNodesPercentage" || k == "minCandidateNodesAbsolute") {
      if (!v.is_int64()) return InvalidArgumentError(std::string(k) + ": Invalid value: must be an integer");
      int64_t n = v.as_int64();
      if (k == "minCandidateNodesPercentage") {
        if (n < 0 || n > 100) {
          return InvalidArgumentError("minCandidateNodesPercentage: Invalid value: " +
                                      std::to_string(n) + ": not in valid range [0, 100]");
        }
        out.min_candidate_nodes_percentage = static_cast<int32_t>(n);
      } else {
        if (n < 0) {
          return InvalidArgumentError("minCandidateNodesAbsolute: Invalid value: " +
                                      std::to_string(n) + ": not in valid range [0, inf)");
        }
        out.min_candidate_nodes_absolute = static_cast<int32_t>(n);
      }
    } else {
      return InvalidArgumentError(std::string(k) + ": unknown field");
    }
  }
  if (out.min_candidate_nodes_percentage == 0 && out.min_candidate_nodes_absolute == 0) {
    return InvalidArgumentError(
        "minCandidateNodesPercentage: Invalid value: 0: cannot set both minCandidateNodesPercentage "
        "and minCandidateNodesAbsolute to zero");
  }
  return out;
}

int32_t DefaultPreemption::NumCandidates(int32_t num_nodes) const {
  int32_t n = num_nodes * args_.min_candidate_nodes_percentage / 100;
  if (n < args_.min_candidate_nodes_absolute) n = args_.min_candidate_nodes_absolute;
  if (n > num_nodes) n = num_nodes;
  return n;
}

namespace {

// Splits victims into PDB-violating and not, upstream's filterPodsWithPDBViolation.
void SplitByPdb(const std::vector<PodInfoPtr>& pods,
                const std::vector<std::shared_ptr<const PdbView>>& pdbs,
                std::vector<PodInfoPtr>* violating, std::vector<PodInfoPtr>* non_violating) {
  std::vector<int32_t> allowed;
  allowed.reserve(pdbs.size());
  for (const auto& p : pdbs) allowed.push_back(p->disruptions_allowed);
  for (const auto& pod : pods) {
    bool violated = false;
    if (!pod->labels.empty()) {
      for (size_t i = 0; i < pdbs.size(); ++i) {
        const auto& pdb = *pdbs[i];
        if (pdb.namespace_ != pod->namespace_) continue;
        if (pdb.selector.Empty() || !pdb.selector.Matches(pod->labels)) continue;
        if (std::find(pdb.disrupted_pods.begin(), pdb.disrupted_pods.end(), pod->name) !=
            pdb.disrupted_pods.end()) {
          continue;
        }
        if (--allowed[i] < 0) violated = true;
      }
    }
    (violated ? violating : non_violating)->push_back(pod);
  }
}

int64_t EarliestStartOfHighest(const std::vector<PodInfoPtr>& victims) {
  if (victims.empty()) return INT64_MIN;
  int32_t highest = victims[0]->priority;
  for (const auto& v : victims) highest = std::max(highest, v->priority);
  int64_t earliest = INT64_MAX;
  for (const auto& v : victims) {
    if (v->priority != highest) continue;
    int64_t t = v->start_time == 0 ? v->creation_time : v->start_time;
    earliest = std::min(earliest, t);
  }
  return earliest;
}

}  // namespace

PluginStatus DefaultPreemption::SelectVictimsOnNode(
    CycleState& state, const PodInfo& pod, NodeInfo& node,
    const std::vector<std::shared_ptr<const PdbView>>& pdbs, std::vector<PodInfoPtr>* victims,
    int* num_violations) {
  Framework* fw = handle_->framework();
  std::vector<PodInfoPtr> potential;
  for (const auto& p : std::vector<PodInfoPtr>(node.pods)) {
    if (p->priority < pod.priority) {
      potential.push_back(p);
      node.RemovePod(p->uid);
      PluginStatus s = fw->RunPreFilterExtensionRemovePod(state, pod, p, node);
      if (!s.IsSuccess()) return s;
    }
  }
  if (potential.empty()) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable,
                        "No preemption victims found for incoming pod");
  }
  PluginStatus s = fw->RunFilterPluginsWithNominatedPods(state, pod, node);
  if (!s.IsSuccess()) return s;
  std::sort(potential.begin(), potential.end(),
            [](const PodInfoPtr& a, const PodInfoPtr& b) { return MoreImportantPod(*a, *b); });
  std::vector<PodInfoPtr> violating, non_violating;
  SplitByPdb(potential, pdbs, &violating, &non_violating);
  auto reprieve = [&](const PodInfoPtr& p) -> std::optional<PluginStatus> {
    node.AddPod(p);
    PluginStatus st = fw->RunPreFilterExtensionAddPod(state, pod, p, node);
    if (!st.IsSuccess()) return st;
    bool fits = fw->RunFilterPluginsWithNominatedPods(state, pod, node).IsSuccess();
    if (!fits) {
      node.RemovePod(p->uid);
      st = fw->RunPreFilterExtensionRemovePod(state, pod, p, node);
      if (!st.IsSuccess()) return st;
      victims->push_back(p);
      return PluginStatus(Code::kUnschedulable);
    }
    return PluginStatus();
  };
  *num_violations = 0;
  for (const auto& p : violating) {
    auto r = reprieve(p);
    if (r->code() == Code::kUnschedulable) {
      ++*num_violations;
    } else if (!r->IsSuccess()) {
      return *r;
    }
  }
  for (const auto& p : non_violating) {
    auto r = reprieve(p);
    if (!r->IsSuccess() && r->code() != Code::kUnschedulable) return *r;
  }
  std::sort(victims->begin(), victims->end(),
            [](const PodInfoPtr& a, const PodInfoPtr& b) { return MoreImportantPod(*a, *b); });
  return {};
}

const Candidate* DefaultPreemption::PickOneNodeForPreemption(
    const std::vector<Candidate>& candidates) {
  if (candidates.empty()) return nullptr;
  for (const auto& c : candidates) {
    if (c.victims.empty()) return &c;
  }
  std::vector<const Candidate*> best;
  for (const auto& c : candidates) best.push_back(&c);
  auto keep_max = [&](auto score) {
    if (best.size() <= 1) return;
    int64_t max = INT64_MIN;
    for (const auto* c : best) max = std::max(max, score(*c));
    std::vector<const Candidate*> next;
    for (const auto* c : best) {
      if (score(*c) == max) next.push_back(c);
    }
    best = std::move(next);
  };
  keep_max([](const Candidate& c) { return -static_cast<int64_t>(c.num_pdb_violations); });
  keep_max([](const Candidate& c) { return -static_cast<int64_t>(c.victims[0]->priority); });
  keep_max([](const Candidate& c) {
    int64_t sum = 0;
    for (const auto& v : c.victims) sum += static_cast<int64_t>(v->priority) + (int64_t{INT32_MAX} + 1);
    return -sum;
  });
  keep_max([](const Candidate& c) { return -static_cast<int64_t>(c.victims.size()); });
  keep_max([](const Candidate& c) { return EarliestStartOfHighest(c.victims); });
  return *std::min_element(best.begin(), best.end(), [](const Candidate* a, const Candidate* b) {
    return a->order < b->order;
  });
}

PluginStatus DefaultPreemption::PostFilter(CycleState& state, const PodInfo& pod,
                                           const NodeToStatus& statuses,
                                           PostFilterResult* result) {
  const Snapshot& snap = handle_->snapshot();
  // 1. Is the pod eligible to preempt?
  if (pod.preempt_never) {
    return PluginStatus(Code::kUnschedulable, "preemption: not eligible due to preemptionPolicy=Never.");
  }
  if (!pod.nominated_node_name.empty()) {
    const PluginStatus* st = statuses.Get(pod.nominated_node_name);
    bool unresolvable = st && st->code() == Code::kUnschedulableAndUnresolvable;
    if (!unresolvable) {
      if (const NodeInfo* ni = snap.Get(pod.nominated_node_name)) {
        for (const auto& p : ni->pods) {
          if (p->priority < pod.priority && p->terminating) {
            return PluginStatus(Code::kUnschedulable,
                                "preemption: not eligible due to a terminating pod on the nominated node.");
          }
        }
      }
    }
  }
  // 2. Nodes where preemption might help.
  NodeToStatus node_statuses;
  node_statuses.Reserve(snap.NumNodes());
  std::vector<NodeInfoPtr> potential;
  // The nodes whose failure preemption cannot resolve; the ones not in `statuses` have its
  // absent status.
  std::unordered_map<std::string_view, Code> codes;
  codes.reserve(statuses.Len());
  for (const auto& [name, st] : statuses.Entries()) codes.emplace(name, st.code());
  for (const auto& ni : snap.NodeInfos()) {
    auto it = codes.find(ni->Name());
    Code code = it != codes.end() ? it->second : statuses.AbsentNodesStatus().code();
    if (code == Code::kUnschedulableAndUnresolvable) {
      node_statuses.Set(ni->Name(), PluginStatus(Code::kUnschedulableAndUnresolvable,
                                                 "Preemption is not helpful for scheduling"));
    } else {
      potential.push_back(ni);
    }
  }
  auto fit_error = [&](const NodeToStatus& ns) {
    std::map<std::string, int> reasons;
    for (const auto& [_, st] : ns.Entries()) {
      for (const auto& r : st.reasons()) ++reasons[r];
    }
    std::vector<std::string> parts;
    for (const auto& [r, n] : reasons) parts.push_back(std::to_string(n) + " " + r);
    std::sort(parts.begin(), parts.end());
    std::string msg = "preemption: 0/" + std::to_string(snap.NumNodes()) + " nodes are available:";
    std::string joined;
    for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
    if (!joined.empty()) msg += " " + joined + ".";
    return msg;
  };
  if (potential.empty()) {
    result->nominated_node_name = "";
    return PluginStatus(Code::kUnschedulable, fit_error(node_statuses));
  }
  // 3. Dry run from a random offset until enough candidates.
  auto pdbs = handle_->listers().Pdbs();
  const int32_t num_nodes = static_cast<int32_t>(potential.size());
  const int32_t want = NumCandidates(num_nodes);
  const int32_t offset = static_cast<int32_t>(rng_() % static_cast<uint32_t>(num_nodes));
  std::mutex mu;
  std::vector<Candidate> candidates;
  std::atomic<int> non_violating{0}, total{0};
  std::atomic<bool> stop{false};
  auto check = [&](int i) {
    if (stop.load(std::memory_order_relaxed)) return;
    size_t idx = static_cast<size_t>((offset + i) % num_nodes);
    NodeInfo copy = *potential[idx];
    CycleState state_copy = state.Clone();
    std::vector<PodInfoPtr> victims;
    int violations = 0;
    PluginStatus s = SelectVictimsOnNode(state_copy, pod, copy, pdbs, &victims, &violations);
    if (s.IsSuccess() && !victims.empty()) {
      std::lock_guard<std::mutex> l(mu);
      candidates.push_back({copy.Name(), std::move(victims), violations, static_cast<size_t>(i)});
      if (violations == 0) ++non_violating;
      ++total;
      if (non_violating > 0 && total >= want) stop = true;
      return;
    }
    if (s.IsSuccess()) {
      s = PluginStatus(Code::kError, "expected at least one victim pod on node " + copy.Name());
    }
    std::lock_guard<std::mutex> l(mu);
    node_statuses.Set(copy.Name(), std::move(s));
  };
  handle_->parallelizer().Until(num_nodes, check);
  if (candidates.empty()) {
    result->nominated_node_name = "";
    return PluginStatus(Code::kUnschedulable, fit_error(node_statuses));
  }
  // 4. Pick the node, 5. prepare it.
  const Candidate* best = PickOneNodeForPreemption(candidates);
  SchedulerClient* client = handle_->client();
  std::string scheduler = std::string(handle_->scheduler_name());
  PodRef preemptor = PodRef::Of(pod);
  ObjectReference preemptor_ref = ObjectReference::Of(pod);
  for (const auto& v : best->victims) {
    if (handle_->RejectWaitingPod(v->uid, kName, "preempted")) continue;
    PodRef victim = PodRef::Of(*v);
    ObjectReference victim_ref = ObjectReference::Of(*v);
    std::string node = best->node;
    std::string uid = pod.uid;
    handle_->PostApiCall([client, victim, victim_ref, preemptor_ref, scheduler, node, uid] {
      if (!client) return;
      PodStatusPatch patch;
      patch.condition = PodCondition{"DisruptionTarget", "True", "PreemptionByScheduler",
                                     scheduler + ": preempting to accommodate a higher priority pod"};
      Status s = client->PatchPodStatus(victim, patch);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return;
      s = client->DeletePod(victim);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return;
      client->RecordEvent(Event{"Normal", "Preempted", "Preempting",
                                "Preempted by pod " + uid + " on node " + node, victim_ref,
                                preemptor_ref, scheduler});
    });
  }
  // Lower-priority pods nominated to this node may no longer fit there.
  for (const auto& np : handle_->NominatedPodsForNode(best->node)) {
    if (np->priority >= pod.priority || np->uid == pod.uid) continue;
    handle_->ClearNomination(*np);
    PodRef ref = PodRef::Of(*np);
    handle_->PostApiCall([client, ref] {
      if (!client) return;
      PodStatusPatch patch;
      patch.nominated_node_name = "";
      client->PatchPodStatus(ref, patch).IgnoreError();
    });
  }
  result->nominated_node_name = best->node;
  return {};
}

}  // namespace keelson::scheduler::defaultpreemption
