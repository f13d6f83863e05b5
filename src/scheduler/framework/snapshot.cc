#include "scheduler/framework/snapshot.h"

#include <map>

namespace keelson::scheduler {

const NodeInfo* Snapshot::Get(std::string_view name) const {
  auto it = map_.find(std::string(name));
  return it == map_.end() ? nullptr : it->second.get();
}

int64_t Snapshot::Position(std::string_view name) const {
  auto it = index_.find(std::string(name));
  return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
}

NodeInfoPtr Snapshot::GetPtr(std::string_view name) const {
  auto it = map_.find(std::string(name));
  return it == map_.end() ? nullptr : it->second;
}

int64_t Snapshot::ImageNumNodes(std::string_view image) const {
  auto it = image_nodes_.find(std::string(image));
  return it == image_nodes_.end() ? 0 : it->second;
}

bool Snapshot::IsPvcUsedByPods(std::string_view key) const {
  return used_pvcs_.count(std::string(key)) > 0;
}

void Snapshot::RebuildLists() {
  // Upstream's node tree: nodes grouped by zone (region + zone labels), zones visited in
  // turn, one node of each per round.
  std::map<std::string, std::vector<NodeInfoPtr>> by_zone;
  std::vector<std::string> zone_order;
  std::vector<NodeInfoPtr> all;
  all.reserve(map_.size());
  for (const auto& [_, ni] : map_) all.push_back(ni);
  std::sort(all.begin(), all.end(),
            [](const NodeInfoPtr& a, const NodeInfoPtr& b) { return a->Name() < b->Name(); });
  for (const auto& ni : all) {
    const auto& l = ni->node->labels;
    std::string zone;
    if (auto it = l.find("topology.kubernetes.io/region"); it != l.end()) zone = it->second;
    zone += ":\x00:";
    if (auto it = l.find(kLabelTopologyZone); it != l.end()) zone += it->second;
    auto [it, inserted] = by_zone.try_emplace(zone);
    if (inserted) zone_order.push_back(zone);
    it->second.push_back(ni);
  }
  list_.clear();
  list_.reserve(all.size());
  index_.clear();
  std::vector<size_t> pos(zone_order.size(), 0);
  while (list_.size() < all.size()) {
    for (size_t z = 0; z < zone_order.size(); ++z) {
      auto& nodes = by_zone[zone_order[z]];
      if (pos[z] < nodes.size()) {
        index_[nodes[pos[z]]->Name()] = list_.size();
        list_.push_back(nodes[pos[z]++]);
      }
    }
  }
  generations_.clear();
  for (const auto& ni : list_) generations_.push_back(ni->generation);
  with_affinity_.clear();
  with_required_anti_affinity_.clear();
  for (const auto& ni : list_) {
    if (!ni->pods_with_affinity.empty()) with_affinity_.push_back(ni);
    if (!ni->pods_with_required_anti_affinity.empty()) with_required_anti_affinity_.push_back(ni);
  }
}

Snapshot Snapshot::FromNodeInfos(std::vector<NodeInfoPtr> nodes) {
  Snapshot s;
  for (const auto& ni : nodes) {
    if (!ni->node) continue;
    s.index_[ni->Name()] = s.list_.size();
    s.map_[ni->Name()] = ni;
    s.list_.push_back(ni);
    s.generations_.push_back(ni->generation);
    for (const auto& img : ni->node->images) ++s.image_nodes_[img.name];
    for (const auto& [k, c] : ni->pvc_ref_counts) s.used_pvcs_[k] += c;
    if (!ni->pods_with_affinity.empty()) s.with_affinity_.push_back(ni);
    if (!ni->pods_with_required_anti_affinity.empty()) {
      s.with_required_anti_affinity_.push_back(ni);
    }
  }
  return s;
}

}  // namespace keelson::scheduler
