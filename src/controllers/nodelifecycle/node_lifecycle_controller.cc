#include "controllers/nodelifecycle/node_lifecycle_controller.h"

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "client/time_format.h"
#include "common/log.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"
#include "controllers/nodelifecycle/node_util.h"
#include "controllers/nodelifecycle/parallel.h"
#include "controllers/nodelifecycle/rate_limited_queue.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kName = "node-lifecycle-controller";
constexpr const char* kNodeLeaseNamespace = "kube-node-lease";
constexpr const char* kExcludeDisruptionLabel = "node.kubernetes.io/exclude-disruption";
// How often the zones' tainting queues are tried (upstream's NodeEvictionPeriod).
constexpr auto kTaintingPeriod = 100ms;
constexpr int kNodeUpdateWorkers = 8;
constexpr int kPodUpdateWorkers = 4;
constexpr int kMonitorWriters = 8;

const TaintRef kUnreachableNoExecute{std::string(kTaintNodeUnreachable),
                                     std::string(kTaintEffectNoExecute)};
const TaintRef kNotReadyNoExecute{std::string(kTaintNodeNotReady),
                                  std::string(kTaintEffectNoExecute)};

enum class ZoneState { kInitial, kNormal, kPartialDisruption, kFullDisruption };

const char* ZoneStateName(ZoneState s) {
  switch (s) {
    case ZoneState::kInitial: return "Initial";
    case ZoneState::kNormal: return "Normal";
    case ZoneState::kPartialDisruption: return "PartialDisruption";
    case ZoneState::kFullDisruption: return "FullDisruption";
  }
  return "";
}

// The taint key a node condition's status maps to (NoSchedule), or "".
std::string_view ConditionTaintKey(std::string_view type, std::string_view status) {
  if (type == "Ready") {
    if (status == "False") return kTaintNodeNotReady;
    if (status == "Unknown") return kTaintNodeUnreachable;
    return "";
  }
  if (status != "True") return "";
  if (type == "MemoryPressure") return "node.kubernetes.io/memory-pressure";
  if (type == "DiskPressure") return "node.kubernetes.io/disk-pressure";
  if (type == "NetworkUnavailable") return "node.kubernetes.io/network-unavailable";
  if (type == "PIDPressure") return "node.kubernetes.io/pid-pressure";
  return "";
}

bool IsConditionTaintKey(std::string_view key) {
  for (std::string_view k : {kTaintNodeNotReady, kTaintNodeUnreachable,
                             std::string_view("node.kubernetes.io/memory-pressure"),
                             std::string_view("node.kubernetes.io/disk-pressure"),
                             std::string_view("node.kubernetes.io/network-unavailable"),
                             std::string_view("node.kubernetes.io/pid-pressure")}) {
    if (k == key) return true;
  }
  return false;
}

Clock::WallTime ParseOr(std::string_view text, Clock::WallTime fallback) {
  auto t = client::ParseTime(text);
  return t ? *t : fallback;
}

client::ObjectReference NodeRef(const api::Object& node) {
  client::ObjectReference r;
  r.api_version = "v1";
  r.kind = "Node";
  r.name = api::GetName(node);
  r.uid = api::GetUid(node);
  return r;
}

// What the controller last observed of a node's health (upstream's nodeHealthData).
struct NodeHealth {
  Clock::WallTime probe;             // the last heartbeat seen, on the controller's clock
  Clock::WallTime ready_transition;  // when the Ready condition last changed
  std::optional<json::object> ready;  // the Ready condition as last seen
  std::string lease_renew;            // the lease's renewTime as last seen ("" for none)
};

struct HealthResult {
  Status status;
  json::object observed;                // the Ready condition before this pass
  std::optional<json::object> current;  // after it (nullopt: the node has none)
};

class NodeLifecycleController final : public Controller {
 public:
  NodeLifecycleController(ControllerContext& ctx, client::SharedInformer* nodes,
                          client::SharedInformer* leases, client::SharedInformer* pods,
                          client::ResourceClient node_client, client::ResourceClient pod_client)
      : clock_(ctx.clock()),
        opts_(ctx.options()),
        nodes_(nodes->lister()),
        leases_(leases->lister()),
        pods_(&pods->indexer()),
        pod_lister_(pods->lister()),
        node_client_(std::move(node_client)),
        pod_client_(std::move(pod_client)),
        recorder_(ctx.Recorder("node-controller")),
        node_queue_({.name = std::string(kName) + "-nodes", .clock = ctx.clock()},
                    [this](const std::string& key) { return SyncNodeTaintsAndLabels(key); }),
        pod_queue_({.name = std::string(kName) + "-pods", .clock = ctx.clock()},
                   [this](const std::string& key) { return ProcessPod(key); }) {
    nodes->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& n, bool) {
          node_queue_.Enqueue(std::string(api::GetName(*n)));
        },
        .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& n) {
          node_queue_.Enqueue(std::string(api::GetName(*n)));
        },
        .on_delete = [this](const client::ObjectPtr& n, bool) {
          std::lock_guard lock(retry_mu_);
          nodes_to_retry_.erase(std::string(api::GetName(*n)));
        },
    });
    pods->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& p, bool) { PodUpdated(nullptr, *p); },
        .on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& p) {
          PodUpdated(old.get(), *p);
        },
    });
  }

  ~NodeLifecycleController() override { Stop(); }

  void Start() override {
    node_queue_.Start(kNodeUpdateWorkers);
    pod_queue_.Start(kPodUpdateWorkers);
    monitor_ = std::thread([this] { MonitorLoop(); });
    tainter_ = std::thread([this] { TaintingLoop(); });
  }

  void Stop() override {
    {
      std::lock_guard lock(loop_mu_);
      stopping_ = true;
    }
    loop_cv_.notify_all();
    if (monitor_.joinable()) monitor_.join();
    if (tainter_.joinable()) tainter_.join();
    node_queue_.Stop();
    pod_queue_.Stop();
  }

 private:
  // --- loops --------------------------------------------------------------------------------

  // Waits on the clock until `deadline`; false once stopping.
  bool WaitUntil(Clock::MonoTime deadline) {
    std::unique_lock lock(loop_mu_);
    while (!stopping_ && clock_->Monotonic() < deadline) {
      clock_->WaitUntil(loop_cv_, lock, deadline);
    }
    return !stopping_;
  }

  void MonitorLoop() {
    do {
      MonitorNodeHealth();
    } while (WaitUntil(clock_->Monotonic() + opts_.node_monitor_period));
  }

  void TaintingLoop() {
    do {
      DoNoExecuteTaintingPass();
    } while (WaitUntil(clock_->Monotonic() + kTaintingPeriod));
  }

  // --- the monitor pass ---------------------------------------------------------------------

  void MonitorNodeHealth() {
    std::vector<client::ObjectPtr> nodes = nodes_.List();
    // Classify against the nodes known so far (this thread only touches known_nodes_).
    std::set<std::string> seen;
    for (const auto& node : nodes) {
      std::string name(api::GetName(*node));
      seen.insert(name);
      if (!known_nodes_.count(name)) {
        LogInfo(kName, "observed a new node " + name);
        recorder_->Event(NodeRef(*node), nullptr, client::kEventTypeNormal, "RegisteredNode",
                         "Register", "Node " + name + " event: Registered Node " + name +
                                         " in Controller");
        known_nodes_[name] = node;
        AddZoneIfNew(*node);
        MarkNodeAsReachable(*node);
      } else {
        known_nodes_[name] = node;
        AddZoneIfNew(*node);
      }
    }
    for (auto it = known_nodes_.begin(); it != known_nodes_.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      LogInfo(kName, "observed the deletion of node " + it->first);
      recorder_->Event(NodeRef(*it->second), nullptr, client::kEventTypeNormal, "RemovingNode",
                       "Remove", "Node " + it->first + " event: Removing Node " + it->first +
                                     " from Controller");
      {
        std::lock_guard lock(health_mu_);
        health_.erase(it->first);
      }
      it = known_nodes_.erase(it);
    }

    std::mutex zones_mu;
    std::map<std::string, std::vector<std::string>> zone_ready;  // zone -> Ready statuses
    ParallelFor(kMonitorWriters, nodes.size(), [&](size_t i) {
      const api::Object& node = *nodes[i];
      const std::string name(api::GetName(node));
      HealthResult r = TryUpdateNodeHealth(node);
      std::optional<api::Object> fresh;
      for (int attempt = 1; !r.status.ok() && attempt < 5; ++attempt) {
        std::this_thread::sleep_for(20ms);
        auto got = node_client_.Get(name);
        if (!got.ok()) {
          r.status = got.error().ToStatus();
          break;
        }
        fresh = std::move(*got);
        r = TryUpdateNodeHealth(*fresh);
      }
      if (!r.status.ok()) {
        LogWarning(kName, "updating the health of node " + name + ": " + r.status.message() +
                              "; skipping it in this pass");
        return;
      }
      const api::Object& seen_node = fresh ? *fresh : node;
      if (!api::GetLabels(seen_node).count(kExcludeDisruptionLabel)) {
        std::lock_guard lock(zones_mu);
        zone_ready[ZoneKey(seen_node)].push_back(
            r.current ? std::string(StringAt(*r.current, {"status"})) : std::string());
      }
      if (!r.current) {
        std::lock_guard lock(retry_mu_);
        nodes_to_retry_.erase(name);
        return;
      }
      ProcessTaintBasedEviction(seen_node, StringAt(r.observed, {"status"}));
      const std::string_view current = StringAt(*r.current, {"status"});
      const std::string_view observed = StringAt(r.observed, {"status"});
      bool needs_retry;
      {
        std::lock_guard lock(retry_mu_);
        needs_retry = nodes_to_retry_.count(name) > 0;
      }
      bool mark = false;
      if (current != "True" && observed == "True") {
        recorder_->Event(NodeRef(seen_node), nullptr, client::kEventTypeNormal, "NodeNotReady",
                         "NodeStatusChange", "Node " + name + " status is now: NodeNotReady");
        mark = true;
      } else if (needs_retry && observed != "True") {
        mark = true;
      }
      if (mark) {
        if (Status st = MarkPodsNotReady(PodsOn(name), name); !st.ok()) {
          LogWarning(kName, "marking the pods of node " + name + " not ready: " + st.message() +
                                "; retrying in the next pass");
          std::lock_guard lock(retry_mu_);
          nodes_to_retry_.insert(name);
          return;
        }
      }
      std::lock_guard lock(retry_mu_);
      nodes_to_retry_.erase(name);
    });
    HandleDisruption(zone_ready, nodes);
  }

  // Upstream's tryUpdateNodeHealth: the node's heartbeats against what was seen before; past
  // the grace period the conditions go Unknown in the API.
  HealthResult TryUpdateNodeHealth(const api::Object& node) {
    const std::string name(api::GetName(node));
    const Clock::WallTime now = clock_->Now();
    std::optional<NodeHealth> health;
    {
      std::lock_guard lock(health_mu_);
      if (auto it = health_.find(name); it != health_.end()) health = it->second;
    }
    const std::string_view created_text = api::GetCreationTimestamp(node);
    const Clock::WallTime created = ParseOr(created_text, now);
    const json::object* current = GetNodeCondition(node, "Ready");
    HealthResult r;
    std::chrono::nanoseconds grace;
    if (!current) {
      // A node that never reported: a Ready condition as of its creation.
      r.observed = json::object{{"type", "Ready"},
                                {"status", "Unknown"},
                                {"lastHeartbeatTime", created_text},
                                {"lastTransitionTime", created_text}};
      grace = opts_.node_startup_grace_period;
      if (!health) health = NodeHealth{created, created, std::nullopt, ""};
    } else {
      r.observed = *current;
      grace = opts_.node_monitor_grace_period;
    }
    std::optional<json::object> saved = health ? health->ready : std::nullopt;
    if (!health) {
      health = NodeHealth{now, now, current ? std::optional<json::object>(*current) : std::nullopt,
                          ""};
    } else if (!saved && current) {
      // Seen before without a Ready condition (or a restarted controller): starts now.
      health = NodeHealth{now, now, *current, health->lease_renew};
    } else if (saved && !current) {
      LogWarning(kName, "the Ready condition was removed from the status of node " + name);
      health = NodeHealth{now, now, std::nullopt, health->lease_renew};
    } else if (saved && current &&
               StringAt(*saved, {"lastHeartbeatTime"}) != StringAt(*current, {"lastHeartbeatTime"})) {
      Clock::WallTime transition =
          StringAt(*saved, {"lastTransitionTime"}) != StringAt(*current, {"lastTransitionTime"})
              ? now
              : health->ready_transition;
      health = NodeHealth{now, transition, *current, health->lease_renew};
    }
    // A renewed lease is a heartbeat (a kubelet that never posted its status but renews its
    // lease is taken as healthy, as upstream does).
    if (client::ObjectPtr lease = leases_.Get(kNodeLeaseNamespace, name)) {
      std::string renew = api::FieldText(*lease, "spec.renewTime");
      if (!renew.empty() && renew != health->lease_renew) {
        auto seen = client::ParseTime(health->lease_renew);
        auto observed = client::ParseTime(renew);
        if (observed && (!seen || *seen < *observed)) {
          health->lease_renew = renew;
          health->probe = now;
        }
      }
    }
    if (current) r.current = *current;
    if (now > health->probe + grace) {
      // No heartbeat within the grace period: every condition the kubelet owns is Unknown
      // (NetworkUnavailable is the network's, not the kubelet's).
      api::Object updated = node;
      auto& status = updated["status"];
      if (!status.is_object()) status = json::object();
      auto& conditions = status.as_object()["conditions"];
      if (!conditions.is_array()) conditions = json::array();
      const std::string now_text = api::FormatTime(now);
      for (const char* type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
        json::object* c = nullptr;
        for (auto& v : conditions.as_array()) {
          if (v.is_object() && StringAt(v.as_object(), {"type"}) == type) c = &v.as_object();
        }
        if (!c) {
          conditions.as_array().push_back(json::object{
              {"type", type},
              {"status", "Unknown"},
              {"reason", "NodeStatusNeverUpdated"},
              {"message", "Kubelet never posted node status."},
              {"lastHeartbeatTime", created_text},
              {"lastTransitionTime", now_text}});
        } else if (StringAt(*c, {"status"}) != "Unknown") {
          (*c)["status"] = "Unknown";
          (*c)["reason"] = "NodeStatusUnknown";
          (*c)["message"] = "Kubelet stopped posting node status.";
          (*c)["lastTransitionTime"] = now_text;
        }
      }
      const json::object* ready = GetNodeCondition(updated, "Ready");
      if (ready && *ready != r.observed) {
        auto written = node_client_.UpdateStatus(updated);
        if (!written.ok()) {
          {
            std::lock_guard lock(health_mu_);
            health_[name] = *health;
          }
          r.status = written.error().ToStatus();
          return r;
        }
        LogInfo(kName, "node " + name + " has not reported for " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              now - health->probe)
                                              .count()) +
                           "s: its conditions are Unknown");
        health = NodeHealth{health->probe, now, *ready, health->lease_renew};
        r.current = *ready;
      }
    }
    std::lock_guard lock(health_mu_);
    health_[name] = *health;
    return r;
  }

  std::vector<client::ObjectPtr> PodsOn(const std::string& node_name) const {
    auto pods = pods_->ByIndex(client::kNodeNameIndex, node_name);
    return pods.ok() ? std::move(*pods) : std::vector<client::ObjectPtr>();
  }

  // Upstream's MarkPodsNotReady: the Ready condition of each pod on the node goes False.
  Status MarkPodsNotReady(const std::vector<client::ObjectPtr>& pods,
                          const std::string& node_name) {
    Status first;
    for (const auto& pod : pods) {
      if (api::FieldText(*pod, "spec.nodeName") != node_name) continue;
      const api::Object* ready = GetPodCondition(*pod, "Ready");
      if (!ready || StringAt(*ready, {"status"}) == "False") continue;
      json::object patch{
          {"metadata", json::object{{"uid", api::GetUid(*pod)}}},
          {"status",
           json::object{{"conditions",
                         json::array{json::object{
                             {"type", "Ready"},
                             {"status", "False"},
                             {"lastTransitionTime", api::FormatTime(clock_->Now())}}}}}}};
      auto r = pod_client_.Namespace(api::GetNamespace(*pod))
                   .Patch(api::GetName(*pod), client::PatchType::kStrategicMerge,
                          json::serialize(patch), {}, "status");
      if (!r.ok()) {
        if (api::IsNotFound(r.error())) continue;
        if (first.ok()) first = r.error().ToStatus();
        continue;
      }
      recorder_->Event(*pod, client::kEventTypeWarning, "NodeNotReady", "MarkPodNotReady",
                       "Node is not ready");
    }
    return first;
  }

  // Queues the node for the NoExecute taint of its Ready status, swaps the taint right away
  // when it has the other one, and clears both once the node is Ready.
  void ProcessTaintBasedEviction(const api::Object& node, std::string_view observed) {
    const std::string name(api::GetName(node));
    const auto taints = GetTaints(node);
    if (observed == "False") {
      if (TaintExists(taints, kUnreachableNoExecute)) {
        Status st = SwapNodeTaints(node_client_, &node, name, {kNotReadyNoExecute},
                                   {kUnreachableNoExecute}, *clock_);
        if (!st.ok()) LogWarning(kName, "swapping the taints of node " + name + ": " + st.message());
      } else {
        MarkNodeForTainting(node, observed);
      }
    } else if (observed == "Unknown") {
      if (TaintExists(taints, kNotReadyNoExecute)) {
        Status st = SwapNodeTaints(node_client_, &node, name, {kUnreachableNoExecute},
                                   {kNotReadyNoExecute}, *clock_);
        if (!st.ok()) LogWarning(kName, "swapping the taints of node " + name + ": " + st.message());
      } else {
        MarkNodeForTainting(node, observed);
      }
    } else if (observed == "True") {
      MarkNodeAsReachable(node);
    }
  }

  // --- zones --------------------------------------------------------------------------------

  void AddZoneIfNew(const api::Object& node) {
    std::lock_guard lock(evictor_mu_);
    std::string zone = ZoneKey(node);
    if (zone_states_.count(zone)) return;
    LogInfo(kName, "initializing eviction for zone \"" + PrintableZone(zone) + "\"");
    zone_states_[zone] = ZoneState::kInitial;
    zone_tainters_[zone] =
        std::make_shared<RateLimitedTimedQueue>(opts_.node_eviction_rate, clock_);
  }

  std::shared_ptr<RateLimitedTimedQueue> TainterLocked(const std::string& zone) {
    auto& q = zone_tainters_[zone];
    if (!q) {
      q = std::make_shared<RateLimitedTimedQueue>(opts_.node_eviction_rate, clock_);
      zone_states_.emplace(zone, ZoneState::kInitial);
    }
    return q;
  }

  bool MarkNodeForTainting(const api::Object& node, std::string_view status) {
    const std::string name(api::GetName(node));
    const auto taints = GetTaints(node);
    std::lock_guard lock(evictor_mu_);
    auto q = TainterLocked(ZoneKey(node));
    // A taint someone removed is put back: the node is queued again.
    if (status == "False" && !TaintExists(taints, kNotReadyNoExecute)) q->Remove(name);
    if (status == "Unknown" && !TaintExists(taints, kUnreachableNoExecute)) q->Remove(name);
    return q->Add(name, std::string(api::GetUid(node)));
  }

  bool MarkNodeAsReachable(const api::Object& node) {
    const std::string name(api::GetName(node));
    Status st = SwapNodeTaints(node_client_, &node, name, {},
                               {kUnreachableNoExecute, kNotReadyNoExecute}, *clock_);
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      LogWarning(kName, "removing the NoExecute taints of node " + name + ": " + st.message());
      return false;
    }
    std::lock_guard lock(evictor_mu_);
    return TainterLocked(ZoneKey(node))->Remove(name);
  }

  void DoNoExecuteTaintingPass() {
    std::vector<std::shared_ptr<RateLimitedTimedQueue>> queues;
    {
      std::lock_guard lock(evictor_mu_);
      for (auto& [zone, q] : zone_tainters_) queues.push_back(q);
    }
    for (auto& q : queues) {
      q->Try([this](const RateLimitedTimedQueue::Value& v) -> RateLimitedTimedQueue::Outcome {
        client::ObjectPtr node = nodes_.Get("", v.value);
        if (!node) return {};  // gone
        const json::object* ready = GetNodeCondition(*node, "Ready");
        if (!ready) return {false, 50ms};
        std::string_view status = StringAt(*ready, {"status"});
        TaintRef add, remove;
        if (status == "False") {
          add = kNotReadyNoExecute;
          remove = kUnreachableNoExecute;
        } else if (status == "Unknown") {
          add = kUnreachableNoExecute;
          remove = kNotReadyNoExecute;
        } else {
          return {};  // Ready again: nothing to taint
        }
        Status st = SwapNodeTaints(node_client_, node.get(), v.value, {add}, {remove}, *clock_);
        if (st.ok()) {
          LogInfo(kName, "tainted node " + v.value + " " + add.key + ":NoExecute");
          return {};
        }
        if (st.code() == StatusCode::kNotFound) return {};
        LogWarning(kName, "tainting node " + v.value + ": " + st.message());
        return {false, 0ns};
      });
    }
  }

  std::pair<int, ZoneState> ComputeZoneState(const std::vector<std::string>& ready) const {
    int ready_nodes = 0, not_ready = 0;
    for (const auto& s : ready) {
      if (s == "True") {
        ++ready_nodes;
      } else {
        ++not_ready;
      }
    }
    if (ready_nodes == 0 && not_ready > 0) return {not_ready, ZoneState::kFullDisruption};
    if (not_ready > 2 && static_cast<double>(not_ready) / (not_ready + ready_nodes) >=
                             opts_.unhealthy_zone_threshold) {
      return {not_ready, ZoneState::kPartialDisruption};
    }
    return {not_ready, ZoneState::kNormal};
  }

  void SetLimiterInZoneLocked(const std::string& zone, int zone_size, ZoneState state) {
    auto q = TainterLocked(zone);
    switch (state) {
      case ZoneState::kNormal:
        q->SwapLimiter(opts_.node_eviction_rate);
        break;
      case ZoneState::kPartialDisruption:
        q->SwapLimiter(zone_size > opts_.large_cluster_size_threshold
                           ? opts_.secondary_node_eviction_rate
                           : 0);
        break;
      case ZoneState::kFullDisruption:
        q->SwapLimiter(opts_.node_eviction_rate);
        break;
      case ZoneState::kInitial:
        break;
    }
  }

  void HandleDisruption(const std::map<std::string, std::vector<std::string>>& zone_ready,
                        const std::vector<client::ObjectPtr>& nodes) {
    std::map<std::string, ZoneState> new_states;
    bool all_are_fully_disrupted = true;
    std::unique_lock lock(evictor_mu_);
    for (const auto& [zone, ready] : zone_ready) {
      ZoneState state = ComputeZoneState(ready).second;
      if (state != ZoneState::kFullDisruption) all_are_fully_disrupted = false;
      new_states[zone] = state;
      if (!zone_states_.count(zone)) zone_states_[zone] = ZoneState::kInitial;
    }
    bool all_were_fully_disrupted = true;
    for (auto it = zone_states_.begin(); it != zone_states_.end();) {
      if (!zone_ready.count(it->first)) {
        it = zone_states_.erase(it);  // the zone has no node left (its queue stays)
        continue;
      }
      if (it->second != ZoneState::kFullDisruption) {
        all_were_fully_disrupted = false;
        break;
      }
      ++it;
    }
    // Nothing changes while every zone stays fully disrupted.
    if (all_are_fully_disrupted && all_were_fully_disrupted) return;
    if (all_are_fully_disrupted) {
      LogWarning(kName, "every node is not Ready: entering master disruption mode, no "
                        "evictions until some nodes are Ready");
      lock.unlock();
      for (const auto& node : nodes) MarkNodeAsReachable(*node);
      lock.lock();
      for (auto& [zone, state] : zone_states_) {
        TainterLocked(zone)->SwapLimiter(0);
        state = ZoneState::kFullDisruption;
      }
      return;
    }
    if (all_were_fully_disrupted) {
      LogInfo(kName, "some nodes are Ready: leaving master disruption mode");
      // Every node starts a fresh grace period.
      {
        const Clock::WallTime now = clock_->Now();
        std::lock_guard hl(health_mu_);
        for (const auto& node : nodes) {
          auto it = health_.find(std::string(api::GetName(*node)));
          if (it == health_.end()) continue;
          it->second.probe = now;
          it->second.ready_transition = now;
        }
      }
      for (auto& [zone, state] : zone_states_) {
        auto sz = zone_ready.find(zone);
        SetLimiterInZoneLocked(zone, sz == zone_ready.end() ? 0 : sz->second.size(),
                               new_states[zone]);
        state = new_states[zone];
      }
      return;
    }
    for (auto& [zone, state] : zone_states_) {
      ZoneState next = new_states[zone];
      if (state == next) continue;
      LogInfo(kName, "zone \"" + PrintableZone(zone) + "\" is now " + ZoneStateName(next));
      auto sz = zone_ready.find(zone);
      SetLimiterInZoneLocked(zone, sz == zone_ready.end() ? 0 : sz->second.size(), next);
      state = next;
    }
  }

  // "region/zone", or the zone alone when there is no region.
  static std::string PrintableZone(const std::string& zone) {
    const std::string sep(":\0:", 3);
    auto at = zone.find(sep);
    if (at == std::string::npos) return zone;
    std::string region = zone.substr(0, at);
    std::string name = zone.substr(at + sep.size());
    return region.empty() ? name : region + "/" + name;
  }

  // --- node workers: NoSchedule taints and labels -------------------------------------------

  Status SyncNodeTaintsAndLabels(const std::string& name) {
    client::ObjectPtr node = nodes_.Get("", name);
    if (!node) return Status::Ok();
    std::vector<TaintRef> desired;
    if (const auto* s = node->if_contains("status"); s && s->is_object()) {
      if (const auto* cs = s->as_object().if_contains("conditions"); cs && cs->is_array()) {
        for (const auto& c : cs->as_array()) {
          if (!c.is_object()) continue;
          std::string_view key =
              ConditionTaintKey(StringAt(c.as_object(), {"type"}), StringAt(c.as_object(), {"status"}));
          if (!key.empty()) desired.push_back({std::string(key), std::string(kTaintEffectNoSchedule)});
        }
      }
    }
    if (api::FieldText(*node, "spec.unschedulable") == "true") {
      desired.push_back({std::string(kTaintNodeUnschedulable), std::string(kTaintEffectNoSchedule)});
    }
    std::vector<TaintRef> current;
    for (const auto& t : GetTaints(*node)) {
      if (StringAt(t, {"effect"}) != kTaintEffectNoSchedule) continue;
      std::string_view key = StringAt(t, {"key"});
      if (key == kTaintNodeUnschedulable || IsConditionTaintKey(key)) {
        current.push_back({std::string(key), std::string(kTaintEffectNoSchedule)});
      }
    }
    auto contains = [](const std::vector<TaintRef>& v, const TaintRef& r) {
      for (const auto& x : v) {
        if (x.key == r.key && x.effect == r.effect) return true;
      }
      return false;
    };
    std::vector<TaintRef> add, remove;
    for (const auto& d : desired) {
      if (!contains(current, d)) add.push_back(d);
    }
    for (const auto& c : current) {
      if (!contains(desired, c)) remove.push_back(c);
    }
    if (!add.empty() || !remove.empty()) {
      Status st = SwapNodeTaints(node_client_, node.get(), name, add, remove, *clock_);
      if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
    }
    return ReconcileNodeLabels(*node);
  }

  // The beta os and arch labels follow the stable ones (upstream's reconcileNodeLabels).
  Status ReconcileNodeLabels(const api::Object& node) {
    auto labels = api::GetLabels(node);
    json::object update;
    for (auto [primary, secondary] :
         {std::pair<std::string_view, std::string_view>{"kubernetes.io/os", "beta.kubernetes.io/os"},
          {"kubernetes.io/arch", "beta.kubernetes.io/arch"}}) {
      auto p = labels.find(primary);
      if (p == labels.end()) continue;
      auto s = labels.find(secondary);
      if (s == labels.end() || s->second != p->second) update[secondary] = p->second;
    }
    if (update.empty()) return Status::Ok();
    json::object patch{{"metadata", json::object{{"labels", std::move(update)}}}};
    auto r = node_client_.Patch(api::GetName(node), client::PatchType::kStrategicMerge,
                                json::serialize(patch));
    if (!r.ok() && !api::IsNotFound(r.error())) return r.error().ToStatus();
    return Status::Ok();
  }

  // --- pod workers: pods bound to a node that is not Ready ----------------------------------

  void PodUpdated(const api::Object* old, const api::Object& pod) {
    std::string node = api::FieldText(pod, "spec.nodeName");
    if (node.empty()) return;
    if (old && api::FieldText(*old, "spec.nodeName") == node) return;
    pod_queue_.Enqueue(pod);
  }

  Status ProcessPod(const std::string& key) {
    auto slash = key.find('/');
    client::ObjectPtr pod = pod_lister_.Get(key.substr(0, slash), key.substr(slash + 1));
    if (!pod) return Status::Ok();
    const std::string node_name = api::FieldText(*pod, "spec.nodeName");
    std::optional<json::object> ready;
    {
      std::lock_guard lock(health_mu_);
      auto it = health_.find(node_name);
      if (it == health_.end()) return Status::Ok();  // not seen yet, or gone
      ready = it->second.ready;
    }
    if (!nodes_.Get("", node_name)) {
      return NotFoundError("node " + node_name + " of pod " + key + " is not in the cache");
    }
    if (!ready) return Status::Ok();  // the next monitor pass handles it
    if (StringAt(*ready, {"status"}) == "True") return Status::Ok();
    return MarkPodsNotReady({pod}, node_name);
  }

  const std::shared_ptr<const Clock> clock_;
  const ControllerOptions opts_;
  client::Lister nodes_;
  client::Lister leases_;
  const client::Indexer* pods_;
  client::Lister pod_lister_;
  client::ResourceClient node_client_;
  client::ResourceClient pod_client_;
  client::EventRecorder* recorder_;

  // The monitor thread only.
  std::map<std::string, client::ObjectPtr> known_nodes_;

  std::mutex health_mu_;
  std::unordered_map<std::string, NodeHealth> health_;  // guarded by health_mu_

  std::mutex retry_mu_;
  std::set<std::string> nodes_to_retry_;  // guarded by retry_mu_

  std::mutex evictor_mu_;
  std::map<std::string, ZoneState> zone_states_;  // guarded by evictor_mu_
  // guarded by evictor_mu_ (the queues are thread-safe themselves); zones never go away.
  std::map<std::string, std::shared_ptr<RateLimitedTimedQueue>> zone_tainters_;

  QueueWorker node_queue_;
  QueueWorker pod_queue_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;  // guarded by loop_mu_
  std::thread monitor_;
  std::thread tainter_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewNodeLifecycleController(ControllerContext& ctx) {
  const auto& o = ctx.options();
  if (o.node_monitor_period <= std::chrono::nanoseconds(0)) {
    return InvalidArgumentError("--node-monitor-period must be positive");
  }
  if (o.node_monitor_grace_period <= std::chrono::nanoseconds(0) ||
      o.node_startup_grace_period <= std::chrono::nanoseconds(0)) {
    return InvalidArgumentError("the node grace periods must be positive");
  }
  if (o.unhealthy_zone_threshold < 0 || o.unhealthy_zone_threshold > 1) {
    return InvalidArgumentError("--unhealthy-zone-threshold must be within [0, 1]");
  }
  client::SharedInformer* nodes = ctx.Informer("", "nodes");
  client::SharedInformer* leases = ctx.Informer("coordination.k8s.io", "leases");
  client::SharedInformer* pods = ctx.Informer("", "pods");
  if (!nodes || !leases || !pods) return InternalError("nodes, leases or pods unknown");
  // Shared with other controllers: an index someone added already is the same index.
  (void)pods->AddIndex(std::string(client::kNodeNameIndex), client::NodeNameIndexFunc());
  auto node_client = ctx.client()->Resource("", "nodes");
  auto pod_client = ctx.client()->Resource("", "pods");
  if (!node_client.ok() || !pod_client.ok()) return InternalError("nodes or pods unknown");
  return std::unique_ptr<Controller>(new NodeLifecycleController(
      ctx, nodes, leases, pods, std::move(*node_client), std::move(*pod_client)));
}

}  // namespace keelson::controllers
