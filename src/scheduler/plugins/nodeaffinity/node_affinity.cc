#include "scheduler/plugins/nodeaffinity/node_affinity.h"

#include <boost/json.hpp>

namespace keelson::scheduler::nodeaffinity {

namespace json = boost::json;

bool MatchesRequired(const PodInfo& pod, const NodeView& node) {
  for (const auto& [k, v] : pod.node_selector) {
    auto it = node.labels.find(k);
    if (it == node.labels.end() || it->second != v) return false;
  }
  if (pod.required_node_affinity && !pod.required_node_affinity->Matches(node)) return false;
  return true;
}

Result<Args> ParseArgs(const json::object& args) {
  Args out;
  for (const auto& [k, _] : args) {
    if (k != "addedAffinity") return InvalidArgumentError(std::string(k) + ": unknown field");
  }
  const auto* added = args.if_contains("addedAffinity");
  if (!added || added->is_null()) return out;
  if (!added->is_object()) return InvalidArgumentError("addedAffinity: must be an object");
  // addedAffinity is a v1.NodeAffinity: read it as a pod's node affinity.
  json::object pod{{"metadata", json::object{{"name", "args"}}},
                   {"spec", json::object{{"affinity", json::object{{"nodeAffinity", *added}}}}}};
  auto info = MakePodInfo(std::make_shared<const api::Object>(std::move(pod)));
  if (info->required_node_affinity) {
    if (info->required_node_affinity->terms.empty()) {
      return InvalidArgumentError(
          "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
          "Required value: must have at least one node selector term");
    }
    out.added_required = info->required_node_affinity;
  }
  out.added_preferred = info->preferred_node_affinity;
  return out;
}

namespace {

struct PreFilterState final : StateData {
  std::unique_ptr<StateData> Clone() const override {
    return std::make_unique<PreFilterState>(*this);
  }
};

struct PreScoreState final : StateData {
  std::vector<PreferredSchedulingTerm> terms;
  std::unique_ptr<StateData> Clone() const override {
    return std::make_unique<PreScoreState>(*this);
  }
};

}  // namespace

PluginStatus NodeAffinity::PreFilter(CycleState&, const PodInfo& pod, PreFilterResult* result) {
  if (pod.node_selector.empty() && !pod.required_node_affinity && !args_.added_required) {
    return PluginStatus::Skip();
  }
  if (!pod.required_node_affinity) return {};
  // Narrow to the nodes named by metadata.name when every term names some.
  std::set<std::string, std::less<>> names;
  bool all_named = !pod.required_node_affinity->terms.empty();
  for (const auto& t : pod.required_node_affinity->terms) {
    std::optional<std::set<std::string, std::less<>>> term_names;
    for (const auto& f : t.match_fields) {
      if (f.key != "metadata.name" || f.op != NodeSelectorRequirement::Op::kIn) continue;
      std::set<std::string, std::less<>> s(f.values.begin(), f.values.end());
      if (!term_names) {
        term_names = std::move(s);
      } else {
        std::set<std::string, std::less<>> both;
        for (const auto& n : *term_names) {
          if (s.count(n)) both.insert(n);
        }
        term_names = std::move(both);
      }
    }
    if (!term_names) {
      all_named = false;
      break;
    }
    names.insert(term_names->begin(), term_names->end());
  }
  if (all_named) {
    if (names.empty()) {
      return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kErrReasonConflict));
    }
    *result = std::move(names);
  }
  return {};
}

PluginStatus NodeAffinity::Filter(const CycleState&, const PodInfo& pod,
                                  const NodeInfo& node) const {
  static const PluginStatus kEnforced(Code::kUnschedulableAndUnresolvable,
                                       std::string(kErrReasonEnforced));
  static const PluginStatus kPod(Code::kUnschedulableAndUnresolvable, std::string(kErrReasonPod));
  if (args_.added_required && !args_.added_required->Matches(*node.node)) return kEnforced;
  if (!MatchesRequired(pod, *node.node)) return kPod;
  return {};
}

PluginStatus NodeAffinity::PreScore(CycleState& state, const PodInfo& pod,
                                    const std::vector<NodeInfoPtr>&) {
  if (pod.preferred_node_affinity.empty() && args_.added_preferred.empty()) {
    return PluginStatus::Skip();
  }
  auto s = std::make_unique<PreScoreState>();
  s->terms = args_.added_preferred;
  for (const auto& t : pod.preferred_node_affinity) s->terms.push_back(t);
  state.Write(this, std::move(s));
  return {};
}

int64_t NodeAffinity::Score(const CycleState& state, const PodInfo&, const NodeInfo& node) const {
  const auto* s = state.Read<PreScoreState>(this);
  if (!s) return 0;
  int64_t count = 0;
  for (const auto& t : s->terms) {
    if (t.weight != 0 && TermMatches(t.term, *node.node)) count += t.weight;
  }
  return count;
}

void NodeAffinity::NormalizeScore(const CycleState&, const PodInfo&,
                                  std::vector<NodeScore>& scores) const {
  DefaultNormalizeScore(kMaxNodeScore, false, scores);
}

std::vector<ClusterEventWithHint> NodeAffinity::EventsToRegister() const {
  auto added = args_.added_required;
  return {
      {{EventResource::kNode, kAdd | kUpdateNodeLabel, "NodeChange"},
       [added](const PodInfo& pod, const EventObjects& ev) {
         if (!ev.new_node || !MatchesRequired(pod, *ev.new_node)) return QueueingHint::kSkip;
         if (added && !added->Matches(*ev.new_node)) return QueueingHint::kSkip;
         if (!ev.old_node) return QueueingHint::kQueue;
         return MatchesRequired(pod, *ev.old_node) ? QueueingHint::kSkip : QueueingHint::kQueue;
       }},
      {{EventResource::kUnscheduledPod, kUpdateOther, "UnscheduledPodUpdate"}, nullptr},
  };
}

}  // namespace keelson::scheduler::nodeaffinity
