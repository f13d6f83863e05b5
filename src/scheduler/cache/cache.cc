#include "scheduler/cache/cache.h"

namespace keelson::scheduler {

NodeInfo& Cache::Mutable(const std::string& name) {
  auto& slot = nodes_[name];
  if (!slot) {
    slot = std::make_shared<NodeInfo>();
  } else if (slot.use_count() > 1) {
    slot = std::make_shared<NodeInfo>(*slot);
  }
  slot->generation = ++generation_;
  dirty_.insert(name);
  return *slot;
}

void Cache::AddPodLocked(const PodInfoPtr& pod) {
  Mutable(pod->node_name).AddPod(pod);
  for (const auto& c : pod->pvc_names) {
    ++used_pvcs_[pod->namespace_ + "/" + c];
    pvcs_dirty_ = true;
  }
}

void Cache::RemovePodLocked(const PodInfo& pod) {
  auto it = nodes_.find(pod.node_name);
  if (it == nodes_.end()) return;
  Mutable(pod.node_name).RemovePod(pod.uid);
  for (const auto& c : pod.pvc_names) {
    auto u = used_pvcs_.find(pod.namespace_ + "/" + c);
    if (u != used_pvcs_.end() && --u->second <= 0) used_pvcs_.erase(u);
    pvcs_dirty_ = true;
  }
  // A node that is gone keeps its NodeInfo only while pods still name it.
  auto& ni = nodes_[pod.node_name];
  if (!ni->node && ni->pods.empty()) nodes_.erase(pod.node_name);
}

Status Cache::AssumePod(PodInfoPtr pod) {
  std::lock_guard<std::mutex> l(mu_);
  if (pods_.count(pod->uid)) {
    return {StatusCode::kAlreadyExists, "pod " + pod->Key() + "(" + pod->uid + ") is in the cache, so can't be assumed"};
  }
  AddPodLocked(pod);
  pods_[pod->uid] = PodState{pod, true, false};
  return Status::Ok();
}

void Cache::FinishBinding(std::string_view uid) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(std::string(uid));
  if (it != pods_.end() && it->second.assumed) it->second.binding_finished = true;
}

Status Cache::ForgetPod(std::string_view uid) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(std::string(uid));
  if (it == pods_.end() || !it->second.assumed) {
    return NotFoundError("pod " + std::string(uid) + " is not assumed");
  }
  RemovePodLocked(*it->second.pod);
  pods_.erase(it);
  return Status::Ok();
}

void Cache::AddPod(PodInfoPtr pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(pod->uid);
  if (it != pods_.end()) {
    // Confirms an assumed pod, or replaces a pod seen before.
    RemovePodLocked(*it->second.pod);
  }
  AddPodLocked(pod);
  pods_[pod->uid] = PodState{pod, false, false};
}

void Cache::UpdatePod(const PodInfoPtr& old_pod, PodInfoPtr new_pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(new_pod->uid);
  if (it != pods_.end()) {
    RemovePodLocked(*it->second.pod);
  } else if (old_pod) {
    RemovePodLocked(*old_pod);
  }
  AddPodLocked(new_pod);
  pods_[new_pod->uid] = PodState{new_pod, false, false};
}

void Cache::RemovePod(const PodInfo& pod) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(pod.uid);
  if (it == pods_.end()) return;
  RemovePodLocked(*it->second.pod);
  pods_.erase(it);
}

bool Cache::IsAssumedPod(std::string_view uid) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(std::string(uid));
  return it != pods_.end() && it->second.assumed;
}

PodInfoPtr Cache::GetPod(std::string_view uid) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(std::string(uid));
  return it == pods_.end() ? nullptr : it->second.pod;
}

void Cache::AddImages(const NodeView& node, int delta) {
  for (const auto& img : node.images) {
    auto& n = image_nodes_[img.name];
    n += delta;
    if (n <= 0) image_nodes_.erase(img.name);
  }
  if (!node.images.empty()) images_dirty_ = true;
}

void Cache::AddNode(NodeViewPtr node) {
  std::lock_guard<std::mutex> l(mu_);
  NodeInfo& ni = Mutable(node->name);
  if (ni.node) AddImages(*ni.node, -1);
  AddImages(*node, 1);
  ni.node = std::move(node);
}

void Cache::RemoveNode(std::string_view name) {
  std::lock_guard<std::mutex> l(mu_);
  std::string n(name);
  auto it = nodes_.find(n);
  if (it == nodes_.end()) return;
  if (it->second->node) AddImages(*it->second->node, -1);
  if (it->second->pods.empty()) {
    nodes_.erase(it);
    dirty_.insert(n);
  } else {
    Mutable(n).node = nullptr;
  }
}

void Cache::UpdateSnapshot(Snapshot* s) {
  std::lock_guard<std::mutex> l(mu_);
  bool list_changed = false;
  bool affinity_changed = false;
  for (const auto& name : dirty_) {
    auto it = nodes_.find(name);
    auto old = s->map_.find(name);
    if (it == nodes_.end() || !it->second->node) {
      if (old != s->map_.end()) {
        s->map_.erase(old);
        list_changed = true;
      }
      continue;
    }
    NodeInfoPtr now = it->second;
    if (!now->pods_with_affinity.empty() || !now->pods_with_required_anti_affinity.empty()) {
      affinity_changed = true;
    }
    if (old == s->map_.end()) {
      s->map_.emplace(name, now);
      list_changed = true;
      continue;
    }
    if (!old->second->pods_with_affinity.empty() ||
        !old->second->pods_with_required_anti_affinity.empty()) {
      affinity_changed = true;
    }
    // A zone change reorders the node tree.
    const auto& ol = old->second->node->labels;
    const auto& nl = now->node->labels;
    auto zone = [](const Labels& l) {
      auto it = l.find(kLabelTopologyZone);
      return it == l.end() ? std::string() : it->second;
    };
    if (zone(ol) != zone(nl)) list_changed = true;
    old->second = now;
    if (!list_changed) {
      size_t idx = s->index_[name];
      s->list_[idx] = now;
      s->generations_[idx] = now->generation;
    }
  }
  dirty_.clear();
  if (list_changed) {
    s->RebuildLists();
  } else if (affinity_changed) {
    s->with_affinity_.clear();
    s->with_required_anti_affinity_.clear();
    for (const auto& ni : s->list_) {
      if (!ni->pods_with_affinity.empty()) s->with_affinity_.push_back(ni);
      if (!ni->pods_with_required_anti_affinity.empty()) {
        s->with_required_anti_affinity_.push_back(ni);
      }
    }
  }
  if (images_dirty_) {
    s->image_nodes_ = image_nodes_;
    images_dirty_ = false;
  }
  if (pvcs_dirty_) {
    s->used_pvcs_ = used_pvcs_;
    pvcs_dirty_ = false;
  }
  s->generation_ = generation_;
}

size_t Cache::NodeCount() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [_, ni] : nodes_) n += ni->node ? 1 : 0;
  return n;
}

size_t Cache::PodCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return pods_.size();
}

size_t Cache::AssumedPodCount() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [_, p] : pods_) n += p.assumed ? 1 : 0;
  return n;
}

}  // namespace keelson::scheduler
