#include "simnode/hollow_nodes.h"

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/object.h"
#include "api/yaml.h"
#include "client/informer.h"
#include "client/time_format.h"
#include "common/executor.h"

namespace keelson::simnode {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The addresses of hollow node `i`: its own (172.16.0.0/12) and its pods' (a /24 of
// 10.128.0.0/10 per node).
std::string NodeIp(int i) {
  uint32_t n = static_cast<uint32_t>(i) + 1;
  return "172." + std::to_string(16 + ((n >> 16) & 15)) + "." + std::to_string((n >> 8) & 255) +
         "." + std::to_string(n & 255);
}
std::string PodIp(int i, uint32_t k) {
  uint32_t n = static_cast<uint32_t>(i);
  return "10." + std::to_string(128 + ((n >> 8) & 63)) + "." + std::to_string(n & 255) + "." +
         std::to_string(2 + k % 252);
}

json::object Condition(const char* type, const char* status, const char* reason,
                       const char* message, const std::string& now) {
  return {{"type", type},       {"status", status},
          {"lastHeartbeatTime", now}, {"lastTransitionTime", now},
          {"reason", reason},   {"message", message}};
}

json::array NodeConditions(const std::string& now) {
  return {Condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available", now),
          Condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure", now),
          Condition("PIDPressure", "False", "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available", now),
          Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now)};
}

std::string StrategicPatch(const json::object& body) { return json::serialize(body); }

// One timer: run `fn` on a worker at `due`.
struct Timer {
  Clock::MonoTime due;
  uint64_t seq;
  std::function<void()> fn;
  bool operator>(const Timer& o) const { return due != o.due ? due > o.due : seq > o.seq; }
};

class HollowNodesImpl final : public HollowNodes {
 public:
  HollowNodesImpl(client::RestClient* client, HollowNodesOptions opts)
      : client_(client), opts_(std::move(opts)),
        clock_(opts_.clock ? opts_.clock : RealClock()),
        nodes_(client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "nodes"))),
        leases_(client
                    ->Resource(*api::ResourceRegistry::BuiltIn().Find("coordination.k8s.io",
                                                                      "v1", "leases"))
                    .Namespace("kube-node-lease")),
        pods_(client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "pods"))),
        workers_(opts_.workers) {
    for (int i = 0; i < opts_.count; ++i) {
      names_.push_back(opts_.node.name_prefix + std::to_string(opts_.first_index + i));
      by_name_.emplace(names_.back(), i);
    }
    pod_ip_counters_ = std::make_unique<std::atomic<uint32_t>[]>(opts_.count);
  }

  ~HollowNodesImpl() override { Stop(); }

  void Begin() {
    timer_thread_ = std::thread([this] { TimerLoop(); });
    for (int i = 0; i < opts_.count; ++i) workers_.Post([this, i] { Register(i); });
    client::SharedInformerFactoryOptions fo;
    fo.selectors.field_selector = "spec.nodeName!=";  // every bound pod, one watch
    informers_ = std::make_unique<client::SharedInformerFactory>(client_, fo);
    client::SharedInformer* pods = informers_->InformerFor(pods_.resource());
    pods->AddEventHandler(client::ResourceEventHandler{
        .on_add = [this](const client::ObjectPtr& pod, bool) { OnPod(pod); },
        .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& pod) {
          OnPod(pod);
        },
        .on_delete = [this](const client::ObjectPtr& pod, bool) { Forget(*pod); }});
    informers_->Start();
  }

  HollowNodesStats Stats() const override {
    HollowNodesStats s;
    s.registered = registered_.load();
    s.lease_renewals = lease_renewals_.load();
    s.lease_failures = lease_failures_.load();
    s.status_reports = status_reports_.load();
    s.pods_started = pods_started_.load();
    s.pods_deleted = pods_deleted_.load();
    s.request_failures = request_failures_.load();
    return s;
  }

  // In real time: a caller waiting for the API, whatever the heartbeats' clock.
  bool WaitRegistered(std::chrono::milliseconds timeout) override {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout,
                        [&] { return registered_.load() == opts_.count || stopping_; }) &&
           registered_.load() == opts_.count;
  }

  void Stop() override {
    {
      std::lock_guard l(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (informers_) informers_->Shutdown();
    if (timer_thread_.joinable()) timer_thread_.join();
    workers_.Stop();
  }

 private:
  // --- timers -------------------------------------------------------------------------------

  void After(std::chrono::milliseconds delay, std::function<void()> fn) {
    std::lock_guard l(mu_);
    if (stopping_) return;
    timers_.push(Timer{clock_->Monotonic() + delay, next_seq_++, std::move(fn)});
    cv_.notify_all();
  }

  void TimerLoop() {
    std::unique_lock l(mu_);
    while (!stopping_) {
      auto now = clock_->Monotonic();
      while (!timers_.empty() && timers_.top().due <= now) {
        workers_.Post(std::move(const_cast<Timer&>(timers_.top()).fn));
        timers_.pop();
      }
      auto next = timers_.empty() ? now + 1s : timers_.top().due;
      clock_->WaitUntil(cv_, l, std::min(next, now + 1s));
    }
  }

  // --- nodes and leases ---------------------------------------------------------------------

  json::object NodeObject(int i) const {
    const std::string& name = names_[i];
    const std::string now = api::FormatTime(clock_->Now());
    json::object labels{{"kubernetes.io/hostname", name},
                        {"kubernetes.io/os", "linux"},
                        {"kubernetes.io/arch", "amd64"},
                        {"beta.kubernetes.io/os", "linux"},
                        {"beta.kubernetes.io/arch", "amd64"}};
    for (const auto& [k, v] : opts_.node.labels) labels[k] = v;
    json::object resources{{"cpu", opts_.node.cpu},
                           {"memory", opts_.node.memory},
                           {"pods", opts_.node.pods},
                           {"ephemeral-storage", opts_.node.ephemeral_storage}};
    json::object spec;
    if (!opts_.node.taints.empty()) spec["taints"] = opts_.node.taints;
    return {
        {"apiVersion", "v1"},
        {"kind", "Node"},
        {"metadata", json::object{{"name", name}, {"labels", std::move(labels)}}},
        {"spec", std::move(spec)},
        {"status",
         json::object{
             {"capacity", resources},
             {"allocatable", resources},
             {"conditions", NodeConditions(now)},
             {"addresses", json::array{json::object{{"type", "InternalIP"},
                                                    {"address", NodeIp(opts_.first_index + i)}},
                                       json::object{{"type", "Hostname"}, {"address", name}}}},
             {"daemonEndpoints",
              json::object{{"kubeletEndpoint", json::object{{"Port", 10250}}}}},
             {"nodeInfo",
              json::object{{"machineID", ""},
                           {"systemUUID", ""},
                           {"bootID", ""},
                           {"kernelVersion", "simulated"},
                           {"osImage", "keelson hollow node"},
                           {"containerRuntimeVersion", "simulated://1.0"},
                           {"kubeletVersion", "v1.33.0"},
                           {"kubeProxyVersion", "v1.33.0"},
                           {"operatingSystem", "linux"},
                           {"architecture", "amd64"}}}}}};
  }

  json::object LeaseObject(int i, std::string_view node_uid) const {
    json::object meta{{"name", names_[i]}, {"namespace", "kube-node-lease"}};
    if (!node_uid.empty()) {
      meta["ownerReferences"] = json::array{json::object{{"apiVersion", "v1"},
                                                         {"kind", "Node"},
                                                         {"name", names_[i]},
                                                         {"uid", node_uid}}};
    }
    return {{"apiVersion", "coordination.k8s.io/v1"},
            {"kind", "Lease"},
            {"metadata", std::move(meta)},
            {"spec", json::object{{"holderIdentity", names_[i]},
                                  {"leaseDurationSeconds", opts_.lease_duration.count()},
                                  {"renewTime", client::FormatMicroTime(clock_->Now())}}}};
  }

  // The Node (or, when it exists, its status) and the Lease; then the heartbeats.
  void Register(int i) {
    json::object node = NodeObject(i);
    auto made = nodes_.Create(node);
    if (!made.ok() && api::IsAlreadyExists(made.error())) {
      // Registered before (a restarted agent): the node's status is ours to report.
      auto cur = nodes_.Get(names_[i]);
      if (cur.ok()) {
        (*cur)["status"] = node["status"];
        made = nodes_.UpdateStatus(*cur);
      } else {
        made = cur;
      }
    }
    if (!made.ok()) return Retry([this, i] { Register(i); });
    auto lease = leases_.Create(LeaseObject(i, api::GetUid(*made)));
    if (!lease.ok() && !api::IsAlreadyExists(lease.error())) {
      return Retry([this, i] { Register(i); });
    }
    if (!lease.ok()) Renew(i, /*again=*/false);
    if (++registered_ == opts_.count) {
      std::lock_guard l(mu_);
      cv_.notify_all();
    }
    After(opts_.renew_interval, [this, i] { Renew(i, true); });
    After(opts_.status_report_interval, [this, i] { Report(i); });
  }

  // Renews the Lease (recreated if someone deleted it); `again` schedules the next renewal.
  void Renew(int i, bool again) {
    json::object patch{
        {"spec", json::object{{"holderIdentity", names_[i]},
                              {"leaseDurationSeconds", opts_.lease_duration.count()},
                              {"renewTime", client::FormatMicroTime(clock_->Now())}}}};
    auto r = leases_.Patch(names_[i], client::PatchType::kMerge, json::serialize(patch));
    if (!r.ok() && api::IsNotFound(r.error())) r = leases_.Create(LeaseObject(i, ""));
    if (r.ok()) {
      ++lease_renewals_;
    } else {
      ++lease_failures_;
    }
    if (again) After(opts_.renew_interval, [this, i] { Renew(i, true); });
  }

  // Reports the node's conditions with a new heartbeat time (registering again if the Node
  // went away).
  void Report(int i) {
    json::object patch{{"status", json::object{{"conditions",
                                                NodeConditions(api::FormatTime(clock_->Now()))}}}};
    auto r = nodes_.Patch(names_[i], client::PatchType::kStrategicMerge, StrategicPatch(patch),
                          {}, "status");
    if (r.ok()) {
      ++status_reports_;
    } else if (api::IsNotFound(r.error())) {
      --registered_;
      return Register(i);
    } else {
      ++request_failures_;
    }
    After(opts_.status_report_interval, [this, i] { Report(i); });
  }

  void Retry(std::function<void()> fn) {
    ++request_failures_;
    After(1s, std::move(fn));
  }

  // --- pods ---------------------------------------------------------------------------------

  void OnPod(const client::ObjectPtr& pod) {
    auto it = by_name_.find(api::FieldText(*pod, "spec.nodeName"));
    if (it == by_name_.end()) return;  // another agent's node
    const std::string uid(api::GetUid(*pod));
    const int node = it->second;
    if (api::IsBeingDeleted(*pod)) {
      {
        std::lock_guard l(pods_mu_);
        if (!terminating_.insert(uid).second) return;
      }
      workers_.Post([this, pod, node] { Terminate(*pod, node); });
      return;
    }
    std::string phase = api::FieldText(*pod, "status.phase");
    {
      std::lock_guard l(pods_mu_);
      if (!started_.insert(uid).second) return;
    }
    // Running already (this agent restarted): nothing to do until it is deleted.
    if (phase != "Pending" && !phase.empty()) return;
    After(opts_.pod_start_delay, [this, pod, node] { StartPod(*pod, node, 0); });
  }

  void Forget(const api::Object& pod) {
    const std::string uid(api::GetUid(pod));
    std::lock_guard l(pods_mu_);
    started_.erase(uid);
    terminating_.erase(uid);
  }

  // The status a pod has once its containers run.
  json::object RunningStatus(const api::Object& pod, int node) {
    const std::string now = api::FormatTime(clock_->Now());
    const std::string host_ip = NodeIp(opts_.first_index + node);
    const bool host_network = api::FieldText(pod, "spec.hostNetwork") == "true";
    const std::string pod_ip =
        host_network ? host_ip : PodIp(opts_.first_index + node, pod_ip_counters_[node]++);
    const std::string uid(api::GetUid(pod));
    auto statuses = [&](const char* list, bool init) {
      json::array out;
      const auto* spec = pod.if_contains("spec");
      const auto* cs = spec && spec->is_object() ? spec->as_object().if_contains(list) : nullptr;
      if (cs == nullptr || !cs->is_array()) return out;
      int n = 0;
      for (const auto& c : cs->as_array()) {
        if (!c.is_object()) continue;
        const auto& co = c.as_object();
        // Init containers have completed, but for sidecars (restartPolicy Always), which run.
        const bool runs = !init || api::FieldText(co, "restartPolicy") == "Always";
        json::object state =
            runs ? json::object{{"running", json::object{{"startedAt", now}}}}
                 : json::object{{"terminated", json::object{{"exitCode", 0},
                                                            {"reason", "Completed"},
                                                            {"startedAt", now},
                                                            {"finishedAt", now}}}};
        std::string image = api::FieldText(co, "image");
        out.push_back(json::object{
            {"name", api::FieldText(co, "name")},
            {"image", image},
            {"imageID", "simulated://" + image},
            {"containerID", "simulated://" + uid + "-" + std::to_string(n++)},
            {"ready", runs},
            {"started", runs},
            {"restartCount", 0},
            {"state", std::move(state)}});
      }
      return out;
    };
    auto condition = [&](const char* type) {
      return json::object{{"type", type}, {"status", "True"}, {"lastProbeTime", nullptr},
                          {"lastTransitionTime", now}};
    };
    json::object status{
        {"phase", "Running"},
        {"conditions", json::array{condition("PodReadyToStartContainers"),
                                   condition("Initialized"), condition("Ready"),
                                   condition("ContainersReady"), condition("PodScheduled")}},
        {"hostIP", host_ip},
        {"hostIPs", json::array{json::object{{"ip", host_ip}}}},
        {"podIP", pod_ip},
        {"podIPs", json::array{json::object{{"ip", pod_ip}}}},
        {"startTime", now},
        {"containerStatuses", statuses("containers", false)}};
    if (json::array init = statuses("initContainers", true); !init.empty()) {
      status["initContainerStatuses"] = std::move(init);
    }
    return status;
  }

  void StartPod(const api::Object& pod, int node, int attempt) {
    client::ResourceClient pods = pods_.Namespace(api::GetNamespace(pod));
    json::object patch{{"status", RunningStatus(pod, node)}};
    auto r = pods.Patch(api::GetName(pod), client::PatchType::kMerge, json::serialize(patch), {},
                        "status");
    if (r.ok()) {
      ++pods_started_;
    } else if (!api::IsNotFound(r.error()) && attempt < 5) {
      auto copy = std::make_shared<const api::Object>(pod);
      Retry([this, copy, node, attempt] { StartPod(*copy, node, attempt + 1); });
    }
  }

  // A pod being deleted: its containers are reported terminated, then the kubelet's final
  // delete removes it (grace 0, for this uid only).
  void Terminate(const api::Object& pod, int) {
    client::ResourceClient pods = pods_.Namespace(api::GetNamespace(pod));
    const std::string now = api::FormatTime(clock_->Now());
    json::array terminated;
    if (const auto* cs = pod.if_contains("status"); cs && cs->is_object()) {
      if (const auto* list = cs->as_object().if_contains("containerStatuses");
          list && list->is_array()) {
        for (const auto& c : list->as_array()) {
          if (!c.is_object()) continue;
          json::object s = c.as_object();
          s["ready"] = false;
          s["started"] = false;
          s["state"] = json::object{{"terminated", json::object{{"exitCode", 0},
                                                                {"reason", "Completed"},
                                                                {"finishedAt", now}}}};
          terminated.push_back(std::move(s));
        }
      }
    }
    if (!terminated.empty()) {
      json::object patch{{"status", json::object{{"containerStatuses", std::move(terminated)}}}};
      (void)pods.Patch(api::GetName(pod), client::PatchType::kMerge, json::serialize(patch), {},
                       "status");
    }
    client::DeleteOptions gone;
    gone.grace_period_seconds = 0;
    gone.precondition_uid = std::string(api::GetUid(pod));
    auto r = pods.Delete(api::GetName(pod), gone);
    if (r.ok() || api::IsNotFound(r.error()) || api::IsConflict(r.error())) {
      ++pods_deleted_;
    } else {
      auto copy = std::make_shared<const api::Object>(pod);
      Retry([this, copy] { Terminate(*copy, 0); });
    }
  }

  client::RestClient* const client_;
  const HollowNodesOptions opts_;
  const std::shared_ptr<const Clock> clock_;
  const client::ResourceClient nodes_;
  const client::ResourceClient leases_;
  const client::ResourceClient pods_;
  std::vector<std::string> names_;                 // immutable after construction
  std::unordered_map<std::string, int> by_name_;   // immutable after construction
  std::unique_ptr<std::atomic<uint32_t>[]> pod_ip_counters_;  // per node
  ThreadPool workers_;
  std::unique_ptr<client::SharedInformerFactory> informers_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;  // guarded by mu_
  uint64_t next_seq_ = 0;                                                  // guarded by mu_
  bool stopping_ = false;                                                  // guarded by mu_
  std::thread timer_thread_;

  std::mutex pods_mu_;
  std::unordered_set<std::string> started_;      // pod uids; guarded by pods_mu_
  std::unordered_set<std::string> terminating_;  // pod uids; guarded by pods_mu_

  std::atomic<int> registered_{0};
  std::atomic<uint64_t> lease_renewals_{0};
  std::atomic<uint64_t> lease_failures_{0};
  std::atomic<uint64_t> status_reports_{0};
  std::atomic<uint64_t> pods_started_{0};
  std::atomic<uint64_t> pods_deleted_{0};
  std::atomic<uint64_t> request_failures_{0};
};

}  // namespace

Result<std::unique_ptr<HollowNodes>> HollowNodes::Start(client::RestClient* client,
                                                       HollowNodesOptions options) {
  if (client == nullptr) return InvalidArgumentError("hollow nodes need a client");
  if (options.count < 1) return InvalidArgumentError("--simulate: at least one node");
  if (options.workers < 1) return InvalidArgumentError("--workers: at least one");
  if (options.node.name_prefix.empty()) {
    return InvalidArgumentError("--node-name-prefix: must not be empty");
  }
  auto nodes = std::make_unique<HollowNodesImpl>(client, std::move(options));
  nodes->Begin();
  return std::unique_ptr<HollowNodes>(std::move(nodes));
}

Result<std::map<std::string, std::string>> ParseLabels(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view term = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (term.empty()) continue;
    auto eq = term.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return InvalidArgumentError("label '" + std::string(term) + "': want key=value");
    }
    out[std::string(term.substr(0, eq))] = std::string(term.substr(eq + 1));
  }
  return out;
}

Result<json::array> ParseTaints(std::string_view text) {
  json::array out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view term = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (term.empty()) continue;
    auto colon = term.rfind(':');
    std::string_view effect = colon == std::string_view::npos ? "" : term.substr(colon + 1);
    if (effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
      return InvalidArgumentError("taint '" + std::string(term) +
                                  "': want key[=value]:NoSchedule|PreferNoSchedule|NoExecute");
    }
    std::string_view kv = term.substr(0, colon);
    auto eq = kv.find('=');
    json::object taint{{"key", std::string(kv.substr(0, eq))}, {"effect", std::string(effect)}};
    if (eq != std::string_view::npos) taint["value"] = std::string(kv.substr(eq + 1));
    if (taint["key"].as_string().empty()) {
      return InvalidArgumentError("taint '" + std::string(term) + "': no key");
    }
    out.push_back(std::move(taint));
  }
  return out;
}

Result<NodeTemplate> ParseNodeTemplate(std::string_view text) {
  auto doc = api::YamlToJson(text);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return InvalidArgumentError("node template: not a mapping");
  NodeTemplate t;
  for (const auto& [key, value] : doc->as_object()) {
    if (key == "namePrefix") {
      if (!value.is_string() || value.as_string().empty()) {
        return InvalidArgumentError("node template: namePrefix: a non-empty string");
      }
      t.name_prefix = std::string(value.as_string());
    } else if (key == "labels") {
      if (!value.is_object()) return InvalidArgumentError("node template: labels: a mapping");
      for (const auto& [k, v] : value.as_object()) {
        if (!v.is_string()) {
          return InvalidArgumentError("node template: labels." + std::string(k) + ": a string");
        }
        t.labels[std::string(k)] = std::string(v.as_string());
      }
    } else if (key == "taints") {
      if (!value.is_array()) return InvalidArgumentError("node template: taints: a list");
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        const auto& taint = value.as_array()[i];
        if (!taint.is_object() || api::FieldText(taint.as_object(), "key").empty() ||
            api::FieldText(taint.as_object(), "effect").empty()) {
          return InvalidArgumentError("node template: taints[" + std::to_string(i) +
                                      "]: a mapping with key and effect");
        }
      }
      t.taints = value.as_array();
    } else if (key == "capacity") {
      if (!value.is_object()) return InvalidArgumentError("node template: capacity: a mapping");
      for (const auto& [k, v] : value.as_object()) {
        std::string amount = v.is_string()   ? std::string(v.as_string())
                             : v.is_int64()  ? std::to_string(v.as_int64())
                                             : "";
        if (amount.empty()) {
          return InvalidArgumentError("node template: capacity." + std::string(k) +
                                      ": a quantity");
        }
        if (k == "cpu") {
          t.cpu = amount;
        } else if (k == "memory") {
          t.memory = amount;
        } else if (k == "pods") {
          t.pods = amount;
        } else if (k == "ephemeral-storage") {
          t.ephemeral_storage = amount;
        } else {
          return InvalidArgumentError("node template: capacity." + std::string(k) +
                                      ": unknown (cpu, memory, pods, ephemeral-storage)");
        }
      }
    } else {
      return InvalidArgumentError("node template: unknown field '" + std::string(key) + "'");
    }
  }
  return t;
}

}  // namespace keelson::simnode
