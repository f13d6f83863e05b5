// DefaultPreemption (PostFilter): when a pod fits nowhere, finds a node where removing
// lower-priority pods would let it fit, picks the fewest and least important victims as
// upstream does, deletes them (through the client, on the API threads) and nominates the node
// (status.nominatedNodeName) so the pod is scheduled there once the victims are gone.
//
// Candidates: nodes whose failure preemption might resolve (not UnschedulableAndUnresolvable);
// a dry run from a random offset until max(10% of them, 100) candidates are found. On a node,
// every lower-priority pod is removed, then pods are reprieved from the most important down —
// PodDisruptionBudget-violating ones first — while the pod still fits. The node is chosen by:
// fewest PDB violations, lowest highest-victim priority, lowest priority sum, fewest victims,
// latest start of the highest-priority victims, then first found.
#pragma once

#include <random>

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::defaultpreemption {

inline constexpr std::string_view kName = "DefaultPreemption";

struct Args {
  int32_t min_candidate_nodes_percentage = 10;
  int32_t min_candidate_nodes_absolute = 100;
};
Result<Args> ParseArgs(const boost::json::object& args);

struct Candidate {
  std::string node;
  std::vector<PodInfoPtr> victims;  // most important first
  int num_pdb_violations = 0;
  size_t order = 0;                 // position in the dry run, for ties
};

class DefaultPreemption final : public PostFilterPlugin {
 public:
  DefaultPreemption(Args args, Handle* handle) : args_(args), handle_(handle) {}
  std::string_view Name() const override { return kName; }
  PluginStatus PostFilter(CycleState& state, const PodInfo& pod, const NodeToStatus& statuses,
                          PostFilterResult* result) override;

  // Exposed for tests.
  // The victims on `node` (a copy being changed) for `pod`, or the status saying why none.
  PluginStatus SelectVictimsOnNode(CycleState& state, const PodInfo& pod, NodeInfo& node,
                                   const std::vector<std::shared_ptr<const PdbView>>& pdbs,
                                   std::vector<PodInfoPtr>* victims, int* num_violations);
  static const Candidate* PickOneNodeForPreemption(const std::vector<Candidate>& candidates);
  int32_t NumCandidates(int32_t num_nodes) const;

 private:
  Args args_;
  Handle* handle_;
  std::mt19937 rng_{12345};
};

}  // namespace keelson::scheduler::defaultpreemption
