// Cache: the scheduler's in-memory state of nodes and the pods on them, bound or assumed
// (upstream's internal/cache). A pod is "assumed" from the moment the scheduling cycle picks
// its node until the API confirms the binding (the pod comes back from the informer with
// spec.nodeName) — so the next cycles already count it — and is forgotten if the binding fails.
//
// NodeInfos are copied on write: a snapshot shares the cache's NodeInfo objects, and the cache
// copies a NodeInfo before changing it while anyone else holds it. UpdateSnapshot therefore
// only replaces the entries of the nodes that changed since the last update (one snapshot per
// cache).
//
// Thread-safety: every method may be called from any thread (one mutex inside).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/status.h"
#include "scheduler/framework/snapshot.h"
#include "scheduler/framework/types.h"

namespace keelson::scheduler {

class Cache {
 public:
  // Adds a pod whose node was just chosen (pod->node_name set). AlreadyExists when the pod is
  // in the cache already.
  Status AssumePod(PodInfoPtr pod);
  // The binding of an assumed pod was sent successfully.
  void FinishBinding(std::string_view uid);
  // Removes an assumed pod (its binding failed). NotFound when not assumed.
  Status ForgetPod(std::string_view uid);
  // A bound pod from the informer; confirms an assumed one (moving it if the node differs).
  void AddPod(PodInfoPtr pod);
  void UpdatePod(const PodInfoPtr& old_pod, PodInfoPtr new_pod);
  void RemovePod(const PodInfo& pod);
  bool IsAssumedPod(std::string_view uid) const;
  // The cached version of a pod, or null.
  PodInfoPtr GetPod(std::string_view uid) const;

  void AddNode(NodeViewPtr node);
  void UpdateNode(NodeViewPtr node) { AddNode(std::move(node)); }
  void RemoveNode(std::string_view name);

  // Brings `snapshot` up to date (only the nodes changed since the last call are touched).
  void UpdateSnapshot(Snapshot* snapshot);

  size_t NodeCount() const;
  size_t PodCount() const;
  size_t AssumedPodCount() const;

 private:
  struct PodState {
    PodInfoPtr pod;
    bool assumed = false;
    bool binding_finished = false;
  };

  // The node's NodeInfo, ready to change (copied if shared); created when missing.
  NodeInfo& Mutable(const std::string& name);
  void AddPodLocked(const PodInfoPtr& pod);
  void RemovePodLocked(const PodInfo& pod);
  void AddImages(const NodeView& node, int delta);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<NodeInfo>> nodes_;  // guarded by mu_
  std::unordered_map<std::string, PodState> pods_;                    // by uid; guarded by mu_
  std::unordered_set<std::string> dirty_;       // nodes changed since UpdateSnapshot
  std::unordered_map<std::string, int64_t> image_nodes_;
  std::unordered_map<std::string, int> used_pvcs_;
  bool images_dirty_ = false;
  bool pvcs_dirty_ = false;
  int64_t generation_ = 0;
};

}  // namespace keelson::scheduler
