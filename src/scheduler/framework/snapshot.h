// Snapshot: the cluster as one scheduling cycle sees it — every node with a Node object, the
// pods on it (bound and assumed), and the lists plugins iterate (nodes hosting pods with
// affinity, with required anti-affinity). The cache brings it up to date before each cycle,
// copying only the nodes that changed (see cache.h).
//
// Thread-safety: owned by the scheduling thread; read concurrently by the parallel Filter and
// Score phases; updated only between cycles.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/framework/types.h"

namespace keelson::scheduler {

class Snapshot {
 public:
  // Nodes in upstream's node tree order: round-robin over zones, so that a partial scan
  // (percentageOfNodesToScore) still spans zones.
  const std::vector<NodeInfoPtr>& NodeInfos() const { return list_; }
  const std::vector<NodeInfoPtr>& HavePodsWithAffinity() const { return with_affinity_; }
  const std::vector<NodeInfoPtr>& HavePodsWithRequiredAntiAffinity() const {
    return with_required_anti_affinity_;
  }
  size_t NumNodes() const { return list_.size(); }
  // NodeInfos()[i]->generation, in one flat array: loops that only need to know whether a
  // node changed read it without touching the (scattered) NodeInfos.
  const std::vector<int64_t>& Generations() const { return generations_; }
  // Null when the node is not in the snapshot.
  const NodeInfo* Get(std::string_view name) const;
  // The node's position in NodeInfos(), or -1.
  int64_t Position(std::string_view name) const;
  NodeInfoPtr GetPtr(std::string_view name) const;
  // On how many nodes an image is present (ImageLocality's spread).
  int64_t ImageNumNodes(std::string_view image) const;
  // Whether some pod in the snapshot uses the claim "namespace/name".
  bool IsPvcUsedByPods(std::string_view key) const;
  int64_t generation() const { return generation_; }

  // For tests and benchmarks: a snapshot of these nodes, in the order given.
  static Snapshot FromNodeInfos(std::vector<NodeInfoPtr> nodes);

 private:
  friend class Cache;
  void RebuildLists();

  int64_t generation_ = 0;
  std::unordered_map<std::string, NodeInfoPtr> map_;  // nodes with a Node object
  std::unordered_map<std::string, size_t> index_;     // position in list_
  std::vector<NodeInfoPtr> list_;
  std::vector<int64_t> generations_;  // of list_, by position
  std::vector<NodeInfoPtr> with_affinity_;
  std::vector<NodeInfoPtr> with_required_anti_affinity_;
  std::unordered_map<std::string, int64_t> image_nodes_;
  std::unordered_map<std::string, int> used_pvcs_;
};

}  // namespace keelson::scheduler
