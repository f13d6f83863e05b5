#include "scheduler/plugins/tainttoleration/taint_toleration.h"

namespace keelson::scheduler::tainttoleration {

namespace {

struct PreScoreState final : StateData {
  std::vector<Toleration> tolerations;  // those with effect PreferNoSchedule or none
  std::unique_ptr<StateData> Clone() const override {
    return std::make_unique<PreScoreState>(*this);
  }
};

}  // namespace

const Taint* FindUntoleratedTaint(const std::vector<Taint>& taints,
                                  const std::vector<Toleration>& tolerations) {
  for (const auto& t : taints) {
    if (t.effect != TaintEffect::kNoSchedule && t.effect != TaintEffect::kNoExecute) continue;
    if (!TolerationsTolerate(tolerations, t)) return &t;
  }
  return nullptr;
}

PluginStatus TaintToleration::Filter(const CycleState&, const PodInfo& pod,
                                     const NodeInfo& node) const {
  const Taint* t = FindUntoleratedTaint(node.node->taints, pod.tolerations);
  if (!t) return {};
  return PluginStatus(Code::kUnschedulableAndUnresolvable,
                      "node(s) had untolerated taint {" + t->key + ": " + t->value + "}");
}

PluginStatus TaintToleration::PreScore(CycleState& state, const PodInfo& pod,
                                       const std::vector<NodeInfoPtr>&) {
  auto s = std::make_unique<PreScoreState>();
  for (const auto& t : pod.tolerations) {
    if (t.effect == TaintEffect::kNone || t.effect == TaintEffect::kPreferNoSchedule) {
      s->tolerations.push_back(t);
    }
  }
  state.Write(this, std::move(s));
  return {};
}

int64_t TaintToleration::Score(const CycleState& state, const PodInfo&,
                               const NodeInfo& node) const {
  const auto* s = state.Read<PreScoreState>(this);
  int64_t count = 0;
  for (const auto& t : node.node->taints) {
    if (t.effect != TaintEffect::kPreferNoSchedule) continue;
    if (!s || !TolerationsTolerate(s->tolerations, t)) ++count;
  }
  return count;
}

void TaintToleration::NormalizeScore(const CycleState&, const PodInfo&,
                                     std::vector<NodeScore>& scores) const {
  DefaultNormalizeScore(kMaxNodeScore, true, scores);
}

std::vector<ClusterEventWithHint> TaintToleration::EventsToRegister() const {
  return {
      {{EventResource::kNode, kAdd | kUpdateNodeTaint, "NodeChange"},
       [](const PodInfo& pod, const EventObjects& ev) {
         if (!ev.new_node) return QueueingHint::kSkip;
         bool was_untolerated =
             !ev.old_node || FindUntoleratedTaint(ev.old_node->taints, pod.tolerations);
         bool is_untolerated = FindUntoleratedTaint(ev.new_node->taints, pod.tolerations);
         return was_untolerated && !is_untolerated ? QueueingHint::kQueue : QueueingHint::kSkip;
       }},
      {{EventResource::kUnscheduledPod, kUpdatePodToleration, "UnscheduledPodUpdate"}, nullptr},
  };
}

}  // namespace keelson::scheduler::tainttoleration
