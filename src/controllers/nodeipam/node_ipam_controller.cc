#include "controllers/nodeipam/node_ipam_controller.h"

#include <boost/json.hpp>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "common/log.h"
#include "controllers/nodeipam/cidr_set.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;

constexpr const char* kName = "node-ipam-controller";
constexpr int kWorkers = 4;

// spec.podCIDRs, or spec.podCIDR when only that is set.
std::vector<std::string> PodCidrs(const api::Object& node) {
  std::vector<std::string> out;
  const auto* spec = node.if_contains("spec");
  if (!spec || !spec->is_object()) return out;
  if (const auto* list = spec->as_object().if_contains("podCIDRs"); list && list->is_array()) {
    for (const auto& c : list->as_array()) {
      if (c.is_string()) out.emplace_back(c.as_string());
    }
  }
  if (out.empty()) {
    if (const auto* one = spec->as_object().if_contains("podCIDR");
        one && one->is_string() && !one->as_string().empty()) {
      out.emplace_back(one->as_string());
    }
  }
  return out;
}

class NodeIpamController final : public Controller {
 public:
  NodeIpamController(ControllerContext& ctx, client::SharedInformer* nodes,
                     client::ResourceClient node_client, std::vector<CidrSet> sets)
      : nodes_(nodes->lister()),
        node_client_(std::move(node_client)),
        recorder_(ctx.Recorder("cidrAllocator")),
        sets_(std::move(sets)),
        queue_({.name = kName, .clock = ctx.clock()},
               [this](const std::string& key) { return Sync(key); }) {
    nodes->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& n, bool) {
          queue_.Enqueue(std::string(api::GetName(*n)));
        },
        .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& n) {
          if (PodCidrs(*n).empty()) queue_.Enqueue(std::string(api::GetName(*n)));
        },
        .on_delete = [this](const client::ObjectPtr& n, bool) { Release(*n); },
    });
  }

  void Start() override {
    // What the nodes hold is taken before anything is handed out.
    for (const auto& node : nodes_.List()) {
      std::lock_guard lock(mu_);
      if (Status st = OccupyLocked(*node); !st.ok()) LogWarning(kName, st.message());
    }
    queue_.Start(kWorkers);
  }

  void Stop() override { queue_.Stop(); }

 private:
  // Marks the node's blocks used. InvalidArgument for a CIDR that does not parse or lies
  // outside the cluster CIDRs.
  Status OccupyLocked(const api::Object& node) {
    const std::string name(api::GetName(node));
    std::vector<std::string> cidrs = PodCidrs(node);
    if (cidrs.empty()) return Status::Ok();
    std::vector<IpNet> held;
    for (size_t i = 0; i < cidrs.size(); ++i) {
      auto net = ParseCidr(cidrs[i]);
      if (!net.ok()) {
        return InvalidArgumentError("node " + name + ": " + net.status().message());
      }
      if (i >= sets_.size()) {
        return InvalidArgumentError("node " + name + " has the pod CIDR " + cidrs[i] +
                                    " at index " + std::to_string(i) +
                                    ", which has no cluster CIDR");
      }
      if (Status st = sets_[i].Occupy(*net); !st.ok()) {
        return InvalidArgumentError("node " + name + ": " + st.message());
      }
      held.push_back(*net);
    }
    // Blocks handed out for it before (an allocation whose patch lost a race) are freed.
    if (auto it = allocated_.find(name); it != allocated_.end() && it->second != held) {
      for (size_t i = 0; i < it->second.size() && i < sets_.size(); ++i) {
        if (i >= held.size() || !(it->second[i] == held[i])) (void)sets_[i].Release(it->second[i]);
      }
    }
    allocated_[name] = std::move(held);
    return Status::Ok();
  }

  void Release(const api::Object& node) {
    const std::string name(api::GetName(node));
    std::lock_guard lock(mu_);
    auto cidrs = PodCidrs(node);
    for (size_t i = 0; i < cidrs.size() && i < sets_.size(); ++i) {
      if (auto net = ParseCidr(cidrs[i]); net.ok()) (void)sets_[i].Release(*net);
    }
    if (auto it = allocated_.find(name); it != allocated_.end()) {
      for (size_t i = 0; i < it->second.size() && i < sets_.size(); ++i) {
        (void)sets_[i].Release(it->second[i]);
      }
      allocated_.erase(it);
    }
  }

  Status Sync(const std::string& name) {
    client::ObjectPtr node = nodes_.Get("", name);
    if (!node) return Status::Ok();
    std::vector<IpNet> cidrs;
    {
      std::lock_guard lock(mu_);
      if (!PodCidrs(*node).empty()) {
        Status st = OccupyLocked(*node);
        if (!st.ok()) LogWarning(kName, st.message());  // retrying cannot help
        return Status::Ok();
      }
      if (auto it = allocated_.find(name); it != allocated_.end()) {
        cidrs = it->second;  // allocated before; the patch is written again
      } else {
        for (size_t i = 0; i < sets_.size(); ++i) {
          auto next = sets_[i].AllocateNext();
          if (!next.ok()) {
            for (size_t j = 0; j < cidrs.size(); ++j) (void)sets_[j].Release(cidrs[j]);
            client::ObjectReference ref;
            ref.api_version = "v1";
            ref.kind = "Node";
            ref.name = name;
            ref.uid = api::GetUid(*node);
            recorder_->Event(ref, nullptr, client::kEventTypeNormal, "CIDRNotAvailable",
                             "AllocateCIDR", "Node " + name + " status is now: CIDRNotAvailable");
            return Status(StatusCode::kResourceExhausted,
                          "failed to allocate cidr from cluster cidr at idx:" + std::to_string(i) +
                              ": " + next.status().message());
          }
          cidrs.push_back(*next);
        }
        allocated_[name] = cidrs;
      }
    }
    json::array list;
    for (const auto& c : cidrs) list.push_back(json::string(c.String()));
    json::object patch{{"spec", json::object{{"podCIDR", list.front()}, {"podCIDRs", list}}}};
    auto r = node_client_.Patch(name, client::PatchType::kMerge, json::serialize(patch));
    if (r.ok()) {
      LogInfo(kName, "set the pod CIDRs of node " + name + " to " + json::serialize(list));
      return Status::Ok();
    }
    if (api::IsNotFound(r.error()) || api::IsInvalid(r.error())) {
      // Gone, or given other CIDRs meanwhile (the field is immutable): ours go back.
      std::lock_guard lock(mu_);
      if (auto it = allocated_.find(name); it != allocated_.end() && it->second == cidrs) {
        for (size_t i = 0; i < cidrs.size(); ++i) (void)sets_[i].Release(cidrs[i]);
        allocated_.erase(it);
      }
      if (api::IsNotFound(r.error())) return Status::Ok();
    }
    return r.error().ToStatus();
  }

  client::Lister nodes_;
  client::ResourceClient node_client_;
  client::EventRecorder* recorder_;

  std::mutex mu_;
  std::vector<CidrSet> sets_;                          // guarded by mu_
  std::map<std::string, std::vector<IpNet>> allocated_;  // guarded by mu_: what each node holds

  QueueWorker queue_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewNodeIpamController(ControllerContext& ctx) {
  const auto& o = ctx.options();
  if (!o.allocate_node_cidrs) return std::unique_ptr<Controller>();
  std::vector<IpNet> clusters;
  std::string text = o.cluster_cidr;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) {
      auto net = ParseCidr(part);
      if (!net.ok()) return InvalidArgumentError("--cluster-cidr: " + net.status().message());
      clusters.push_back(*net);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (clusters.empty()) {
    return InvalidArgumentError("--cluster-cidr is required with --allocate-node-cidrs");
  }
  if (clusters.size() > 2 || (clusters.size() == 2 && clusters[0].v6 == clusters[1].v6)) {
    return InvalidArgumentError(
        "--cluster-cidr: at most two CIDRs, one IPv4 and one IPv6 (dual stack)");
  }
  std::vector<CidrSet> sets;
  for (const auto& c : clusters) {
    const int mask = c.v6 ? o.node_cidr_mask_size_ipv6 : o.node_cidr_mask_size_ipv4;
    if (mask < c.prefix) {
      return InvalidArgumentError(
          std::string("--node-cidr-mask-size-") + (c.v6 ? "ipv6" : "ipv4") + " (" +
          std::to_string(mask) + ") must not be smaller than the prefix of --cluster-cidr " +
          c.String());
    }
    auto set = CidrSet::New(c, mask);
    if (!set.ok()) return InvalidArgumentError("--cluster-cidr " + c.String() + ": " +
                                               set.status().message());
    sets.push_back(std::move(*set));
  }
  client::SharedInformer* nodes = ctx.Informer("", "nodes");
  auto node_client = ctx.client()->Resource("", "nodes");
  if (!nodes || !node_client.ok()) return InternalError("nodes unknown");
  return std::unique_ptr<Controller>(
      new NodeIpamController(ctx, nodes, std::move(*node_client), std::move(sets)));
}

}  // namespace keelson::controllers
