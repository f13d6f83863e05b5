#include "kubelet/kubelet.h"

#include <sys/stat.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "api/object.h"
#include "api/yaml.h"
#include "client/event_recorder.h"
#include "client/informer.h"
#include "client/time_format.h"
#include "client/workqueue.h"
#include "common/log.h"
#include "kubelet/host.h"
#include "api/json_fields.h"
#include "kubelet/netdev.h"
#include "kubelet/pod_model.h"
#include "kubelet/prober.h"
#include "kubelet/volumes.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;
using api::fields::Arr;
using api::fields::Obj;
using api::fields::Str;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kBackoffInitial = 10s;
constexpr auto kBackoffMax = 300s;
// A pod whose sync failed on a pull is synced again after this (upstream's backOffPeriod).
constexpr auto kPodWorkerBackoff = 10s;
constexpr auto kBackoffResetAfter = 600s;  // a container that ran this long starts afresh

std::string PodKey(const api::Object& pod) {
  return std::string(api::GetNamespace(pod)) + "/" + std::string(api::GetName(pod));
}

std::string Quantity(int64_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + "Mi";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + "Ki";
  return std::to_string(bytes);
}

// The node's resolvers, as a pod with dnsPolicy Default gets them.
void ReadResolvConf(const std::string& path, NodeFacts* facts) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    std::string v;
    if (key == "nameserver") {
      if (words >> v) facts->dns_servers.push_back(v);
    } else if (key == "search") {
      while (words >> v) facts->dns_searches.push_back(v);
    } else if (key == "options") {
      while (words >> v) facts->dns_options.push_back(v);
    }
  }
}

// The crash-loop (and image pull) backoff of one container.
struct Backoff {
  std::chrono::nanoseconds delay{0};
  Clock::WallTime not_before{};
};

// What the kubelet remembers of a pod between syncs.
struct PodState {
  std::map<std::string, Waiting> waiting;        // holds set by the last sync
  std::map<std::string, Backoff> crash_backoff;  // by container name
  std::map<std::string, Backoff> pull_backoff;   // by image
  std::map<std::string, int64_t> backoff_for;    // container name → finished_at it counted
  std::string last_status;                       // serialized, as last written
  bool terminating = false;
};

class ApiObjectSource final : public ObjectSource {
 public:
  explicit ApiObjectSource(client::RestClient* client)
      : configmaps_(
            client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "configmaps"))),
        secrets_(client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "secrets"))),
        services_(
            client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "services"))) {}

  Result<api::Object> ConfigMap(const std::string& ns, const std::string& name) override {
    return Fetch(configmaps_.Namespace(ns), name);
  }
  Result<api::Object> Secret(const std::string& ns, const std::string& name) override {
    return Fetch(secrets_.Namespace(ns), name);
  }
  // Services come from `informer` once it has synced (upstream's kubelet keeps a Service
  // informer for the environment variables); until then from the API server's watch cache.
  void UseServiceInformer(client::SharedInformer* informer) { service_informer_ = informer; }

  Result<std::vector<api::Object>> Services(const std::string& ns) override {
    if (client::SharedInformer* i = service_informer_.load(); i != nullptr && i->HasSynced()) {
      std::vector<api::Object> out;
      for (const auto& svc : i->lister().List(ns)) out.push_back(*svc);
      return out;
    }
    // From the API server's watch cache (resourceVersion "0"): one LIST per container start.
    client::ListOptions o;
    o.resource_version = "0";
    auto r = services_.Namespace(ns).List(o);
    if (!r.ok()) return UnavailableError("services have not been read: " + r.error().message);
    std::vector<api::Object> out;
    if (auto* items = r->if_contains("items"); items != nullptr && items->is_array()) {
      for (auto& item : items->as_array()) {
        if (item.is_object()) out.push_back(std::move(item.as_object()));
      }
    }
    return out;
  }

 private:
  static Result<api::Object> Fetch(const client::ResourceClient& rc, const std::string& name) {
    auto r = rc.Get(name);
    if (r.ok()) return std::move(*r);
    if (api::IsNotFound(r.error())) return NotFoundError(name + " not found");
    return UnavailableError(r.error().message);
  }

  client::ResourceClient configmaps_;
  client::ResourceClient secrets_;
  client::ResourceClient services_;
  std::atomic<client::SharedInformer*> service_informer_{nullptr};
};

client::WorkQueueOptions QueueOptions(std::shared_ptr<const Clock> clock) {
  client::WorkQueueOptions o;
  o.name = "kubelet-pods";
  o.clock = std::move(clock);
  // A pod whose sync failed (the runtime down, a sandbox that could not be
  // made) is tried again after 0.5 s, doubling to a minute.
  o.rate_limiter = client::NewItemExponentialFailureRateLimiter(500ms, 60s);
  return o;
}

client::EventRecorderOptions RecorderOptions(const std::string& node,
                                             std::shared_ptr<const Clock> clock) {
  client::EventRecorderOptions o;
  o.reporting_controller = "kubelet";
  o.reporting_instance = node;
  o.clock = std::move(clock);
  return o;
}

// Service account tokens from the TokenRequest API, bound to the pod, kept until 80% of their
// lifetime has passed (as upstream's token manager does).
class ApiTokenSource final : public TokenSource {
 public:
  ApiTokenSource(client::RestClient* client, std::shared_ptr<const Clock> clock)
      : sas_(client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "serviceaccounts"))),
        clock_(std::move(clock)) {}

  Result<std::string> ServiceAccountToken(const api::Object& pod, const std::string& audience,
                                          int64_t expiration_seconds) override {
    const std::string key =
        std::string(api::GetUid(pod)) + "/" + audience + "/" + std::to_string(expiration_seconds);
    {
      std::lock_guard l(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end() && clock_->Monotonic() < it->second.refresh_at) {
        return it->second.token;
      }
    }
    std::string sa = api::FieldText(pod, "spec.serviceAccountName");
    if (sa.empty()) sa = "default";
    json::object spec{{"expirationSeconds", expiration_seconds},
                      {"boundObjectRef", json::object{{"apiVersion", "v1"},
                                                      {"kind", "Pod"},
                                                      {"name", api::GetName(pod)},
                                                      {"uid", api::GetUid(pod)}}}};
    if (!audience.empty()) spec["audiences"] = json::array{json::string(audience)};
    json::object request{{"apiVersion", "authentication.k8s.io/v1"},
                         {"kind", "TokenRequest"},
                         {"spec", std::move(spec)}};
    auto r = sas_.Namespace(api::GetNamespace(pod)).CreateSubresource(sa, "token", request);
    if (!r.ok()) {
      return UnavailableError("requesting a token for service account " + sa + ": " +
                              r.error().message);
    }
    std::string token = api::FieldText(*r, "status.token");
    std::lock_guard l(mu_);
    cache_[key] = {token, clock_->Monotonic() + std::chrono::seconds(expiration_seconds * 8 / 10)};
    return token;
  }

  void Forget(const std::string& uid) {
    std::lock_guard l(mu_);
    std::erase_if(cache_, [&](const auto& kv) { return kv.first.rfind(uid + "/", 0) == 0; });
  }

 private:
  struct Cached {
    std::string token;
    Clock::MonoTime refresh_at;
  };
  client::ResourceClient sas_;
  std::shared_ptr<const Clock> clock_;
  std::mutex mu_;
  std::map<std::string, Cached> cache_;  // guarded by mu_
};

class KubeletImpl final : public Kubelet {
 public:
  KubeletImpl(client::RestClient* client, cri::Runtime* runtime, KubeletOptions opts, HostInfo host)
      : client_(client),
        runtime_(runtime),
        opts_(std::move(opts)),
        host_(std::move(host)),
        clock_(opts_.clock ? opts_.clock : RealClock()),
        nodes_(client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "nodes"))),
        leases_(client
                    ->Resource(*api::ResourceRegistry::BuiltIn().Find("coordination.k8s.io", "v1",
                                                                      "leases"))
                    .Namespace("kube-node-lease")),
        pods_(client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "pods"))),
        source_(client),
        tokens_(client, clock_),
        volumes_(opts_.data_dir + "/volumes", &source_, &tokens_, &facts_),
        queue_(QueueOptions(clock_)),
        events_(client, RecorderOptions(opts_.node_name, clock_)),
        probes_(runtime, clock_,
                [this](const std::string& key, const std::string& container, const std::string& id,
                       ProbeType type, bool changed, bool result, const std::string& message) {
                  OnProbe(key, container, id, type, changed, result, message);
                }) {
    facts_.node_name = opts_.node_name;
    facts_.host_ip = opts_.node_ip;
    facts_.pods_log_dir = opts_.data_dir + "/pods";
    facts_.cluster_dns = opts_.cluster_dns;
    facts_.cluster_domain = opts_.cluster_domain;
    ReadResolvConf(opts_.resolv_conf, &facts_);
    facts_.allocatable_milli_cpu = host_.cpus * 1000 - opts_.reserved_milli_cpu;
    facts_.allocatable_memory = host_.memory_bytes - opts_.reserved_memory_bytes;
  }

  ~KubeletImpl() override { Stop(); }

  void Begin() {
    std::error_code ec;
    fs::create_directories(facts_.pods_log_dir, ec);
    client::SharedInformerFactoryOptions fo;
    fo.selectors.field_selector = "spec.nodeName=" + opts_.node_name;
    informers_ = std::make_unique<client::SharedInformerFactory>(client_, fo);
    pod_informer_ = informers_->InformerFor(pods_.resource());
    pod_informer_->AddEventHandler(client::ResourceEventHandler{
        .on_add = [this](const client::ObjectPtr& pod, bool) { queue_.Add(PodKey(*pod)); },
        .on_update =
            [this](const client::ObjectPtr& old, const client::ObjectPtr& pod) {
              // The kubelet's own status writes come back as updates: only a change of
              // what the pod asks for (spec, metadata, deletion) needs a sync.
              if (!StatusOnlyChange(*old, *pod)) queue_.Add(PodKey(*pod));
            },
        .on_delete = [this](const client::ObjectPtr& pod, bool) { queue_.Add(PodKey(*pod)); }});
    informers_->Start();
    // Every Service of the cluster (no node selector), for the containers' environment.
    service_informers_ = std::make_unique<client::SharedInformerFactory>(client_);
    source_.UseServiceInformer(service_informers_->InformerFor(
        *api::ResourceRegistry::BuiltIn().Find("", "v1", "services")));
    service_informers_->Start();
    heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
    for (int i = 0; i < opts_.workers; ++i) workers_.emplace_back([this] { Worker(); });
    relist_thread_ = std::thread([this] { RelistLoop(); });
  }

  void SetLogManager(std::unique_ptr<ContainerLogManager> logs) { logs_ = std::move(logs); }

  const std::string& NodeName() const override { return opts_.node_name; }

  static bool StatusOnlyChange(const api::Object& a, const api::Object& b) {
    const auto* sa = a.if_contains("spec");
    const auto* sb = b.if_contains("spec");
    if (sa == nullptr || sb == nullptr || *sa != *sb) return false;
    return api::GetDeletionTimestamp(a) == api::GetDeletionTimestamp(b) &&
           api::GetLabels(a) == api::GetLabels(b) &&
           api::GetAnnotations(a) == api::GetAnnotations(b);
  }

  KubeletStats Stats() const override {
    KubeletStats s;
    s.registered = registered_.load();
    s.lease_renewals = lease_renewals_.load();
    s.node_status_updates = node_status_updates_.load();
    s.pod_syncs = pod_syncs_.load();
    s.sandboxes_started = sandboxes_started_.load();
    s.containers_started = containers_started_.load();
    s.pod_status_writes = pod_status_writes_.load();
    s.pods_deleted = pods_deleted_.load();
    s.runtime_errors = runtime_errors_.load();
    return s;
  }

  bool WaitRegistered(std::chrono::milliseconds timeout) override {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return registered_.load() || stopping_; }) &&
           registered_.load();
  }

  void Stop() override {
    {
      std::lock_guard l(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    probes_.Stop();
    queue_.ShutDown();
    if (informers_) informers_->Shutdown();
    if (service_informers_) service_informers_->Shutdown();
    for (auto& t : workers_) t.join();
    workers_.clear();
    if (relist_thread_.joinable()) relist_thread_.join();
    if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
    logs_->Stop();
    events_.Shutdown();
  }

 private:
  // Sleeps `d` or until Stop(); false once stopping.
  bool Sleep(std::chrono::nanoseconds d) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, d, [&] { return stopping_; });
    return !stopping_;
  }
  bool Stopping() {
    std::lock_guard l(mu_);
    return stopping_;
  }

  // --- the node
  // -------------------------------------------------------------------------------

  json::object Capacity() const {
    return {{"cpu", std::to_string(host_.cpus)},
            {"memory", Quantity(host_.memory_bytes)},
            {"ephemeral-storage", Quantity(host_.ephemeral_storage_bytes)},
            {"pods", std::to_string(opts_.max_pods)}};
  }
  json::object Allocatable() const {
    int64_t milli = std::max<int64_t>(0, host_.cpus * 1000 - opts_.reserved_milli_cpu);
    return {{"cpu", milli % 1000 == 0 ? std::to_string(milli / 1000) : std::to_string(milli) + "m"},
            {"memory",
             Quantity(std::max<int64_t>(0, host_.memory_bytes - opts_.reserved_memory_bytes))},
            {"ephemeral-storage", Quantity(host_.ephemeral_storage_bytes)},
            {"pods", std::to_string(opts_.max_pods)}};
  }

  // The conditions from the host's pressure signals and the runtime's
  // readiness.
  json::array Conditions(const std::string& now) {
    // One sample per check, for the conditions and for eviction (EvictIfUnderPressure).
    auto pressure = ReadPressure(opts_.data_dir);
    pressure_ = pressure.ok() ? std::optional<HostPressure>(*pressure) : std::nullopt;
    bool memory = false, disk = false, pid = false;
    if (pressure.ok()) {
      memory = opts_.eviction_memory_available_bytes > 0 &&
               pressure->memory_available_bytes < opts_.eviction_memory_available_bytes;
      disk = opts_.eviction_nodefs_available_fraction > 0 && pressure->nodefs_capacity_bytes > 0 &&
             static_cast<double>(pressure->nodefs_available_bytes) <
                 opts_.eviction_nodefs_available_fraction *
                     static_cast<double>(pressure->nodefs_capacity_bytes);
      pid = pressure->pid_max > 0 && pressure->pids_in_use > pressure->pid_max * 9 / 10;
    }
    memory_pressure_ = memory;
    disk_pressure_ = disk;
    std::string runtime_problem;
    auto st = runtime_->Status();
    if (!st.ok()) {
      runtime_problem = "container runtime is down: " + st.status().message();
    } else {
      for (const auto& c : st->conditions()) {
        if (!c.status()) {
          runtime_problem = "container runtime " + c.type() + " is false: " + c.reason() +
                            (c.message().empty() ? "" : ": " + c.message());
        }
      }
    }
    auto cond = [&](const char* type, bool value, const char* reason, std::string message) {
      std::string status = value ? "True" : "False";
      std::string transition = now;
      auto it = last_conditions_.find(type);
      if (it != last_conditions_.end() && it->second.first == status) {
        transition = it->second.second;
      } else {
        last_conditions_[type] = {status, now};
      }
      return json::object{{"type", type},
                          {"status", status},
                          {"lastHeartbeatTime", now},
                          {"lastTransitionTime", transition},
                          {"reason", reason},
                          {"message", std::move(message)}};
    };
    const bool ready = runtime_problem.empty() && network_problem_.empty();
    node_ready_ = ready;
    std::string ready_message = !runtime_problem.empty()    ? runtime_problem
                                : !network_problem_.empty() ? network_problem_
                                                            : "kubelet is posting ready status";
    return {cond("MemoryPressure", memory,
                 memory ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
                 memory ? "kubelet has insufficient memory available"
                        : "kubelet has sufficient memory available"),
            cond("DiskPressure", disk, disk ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
                 disk ? "kubelet has disk pressure" : "kubelet has no disk pressure"),
            cond("PIDPressure", pid, pid ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
                 pid ? "kubelet has insufficient PID available"
                     : "kubelet has sufficient PID available"),
            cond("Ready", ready, ready ? "KubeletReady" : "KubeletNotReady", ready_message)};
  }

  json::array Images() {
    json::array out;
    auto images = runtime_->ListImages(v1::ImageFilter());
    if (!images.ok()) return out;
    for (const auto& img : *images) {
      json::array names;
      for (const auto& t : img.repo_tags()) names.push_back(json::string(t));
      for (const auto& d : img.repo_digests()) names.push_back(json::string(d));
      if (names.empty()) continue;
      out.push_back(json::object{{"names", std::move(names)},
                                 {"sizeBytes", static_cast<int64_t>(img.size())}});
    }
    return out;
  }

  json::object NodeStatus(const std::string& now) {
    std::string runtime_version = "unknown";
    if (auto v = runtime_->Version(); v.ok()) {
      runtime_version = v->runtime_name() + "://" + v->runtime_version();
    }
    json::array addresses{json::object{{"type", "InternalIP"}, {"address", opts_.node_ip}},
                          json::object{{"type", "Hostname"}, {"address", opts_.node_name}}};
    return {{"capacity", Capacity()},
            {"allocatable", Allocatable()},
            {"conditions", Conditions(now)},
            {"addresses", std::move(addresses)},
            {"daemonEndpoints",
             json::object{{"kubeletEndpoint", json::object{{"Port", opts_.kubelet_port}}}}},
            {"images", Images()},
            {"nodeInfo", json::object{{"machineID", host_.machine_id},
                                      {"systemUUID", host_.system_uuid},
                                      {"bootID", host_.boot_id},
                                      {"kernelVersion", host_.kernel_version},
                                      {"osImage", host_.os_image},
                                      {"containerRuntimeVersion", runtime_version},
                                      {"kubeletVersion", opts_.kubelet_version},
                                      {"kubeProxyVersion", opts_.kubelet_version},
                                      {"operatingSystem", "linux"},
                                      {"architecture", host_.architecture}}}};
  }

  json::object NodeObject(const std::string& now) {
    json::object labels{{"kubernetes.io/hostname", opts_.node_name},
                        {"kubernetes.io/os", "linux"},
                        {"kubernetes.io/arch", host_.architecture},
                        {"beta.kubernetes.io/os", "linux"},
                        {"beta.kubernetes.io/arch", host_.architecture}};
    for (const auto& [k, v] : opts_.node_labels) labels[k] = v;
    json::object spec;
    if (!opts_.node_taints.empty()) spec["taints"] = opts_.node_taints;
    return {{"apiVersion", "v1"},
            {"kind", "Node"},
            {"metadata", json::object{{"name", opts_.node_name}, {"labels", std::move(labels)}}},
            {"spec", std::move(spec)},
            {"status", NodeStatus(now)}};
  }

  // Registers the Node (or takes over its status when it exists) and the Lease.
  bool Register() {
    const std::string now = api::FormatTime(clock_->Now());
    json::object node = NodeObject(now);
    auto made = nodes_.Create(node);
    if (!made.ok() && api::IsAlreadyExists(made.error())) {
      auto cur = nodes_.Get(opts_.node_name);
      if (cur.ok()) {
        (*cur)["status"] = node["status"];
        made = nodes_.UpdateStatus(*cur);
      } else {
        made = cur;
      }
    }
    if (!made.ok()) {
      LogWarning("kubelet", "registering node " + opts_.node_name + ": " + made.error().message);
      return false;
    }
    node_uid_ = std::string(api::GetUid(*made));
    ObserveNode(*made);
    last_report_ = clock_->Monotonic();
    last_reported_ = StatusFingerprint(node["status"].as_object());
    RenewLease();
    registered_ = true;
    {
      std::lock_guard l(mu_);
      cv_.notify_all();
    }
    return true;
  }

  // The parts of a node status whose change is worth a report (not heartbeat
  // times).
  static std::string StatusFingerprint(const json::object& status) {
    json::object copy = status;
    if (auto* conds = copy.if_contains("conditions"); conds && conds->is_array()) {
      for (auto& c : conds->as_array()) {
        if (c.is_object()) c.as_object().erase("lastHeartbeatTime");
      }
    }
    return json::serialize(copy);
  }

  void RenewLease() {
    json::object spec{{"holderIdentity", opts_.node_name},
                      {"leaseDurationSeconds", opts_.lease_duration.count()},
                      {"renewTime", client::FormatMicroTime(clock_->Now())}};
    auto r = leases_.Patch(opts_.node_name, client::PatchType::kMerge,
                           json::serialize(json::object{{"spec", spec}}));
    if (!r.ok() && api::IsNotFound(r.error())) {
      json::object meta{{"name", opts_.node_name}, {"namespace", "kube-node-lease"}};
      if (!node_uid_.empty()) {
        meta["ownerReferences"] = json::array{json::object{
            {"apiVersion", "v1"}, {"kind", "Node"}, {"name", opts_.node_name}, {"uid", node_uid_}}};
      }
      r = leases_.Create(json::object{{"apiVersion", "coordination.k8s.io/v1"},
                                      {"kind", "Lease"},
                                      {"metadata", std::move(meta)},
                                      {"spec", spec}});
    }
    if (r.ok()) ++lease_renewals_;
  }

  // Writes the node status when it changed or the report interval passed.
  void UpdateNodeStatus() {
    const std::string now = api::FormatTime(clock_->Now());
    json::object status = NodeStatus(now);
    std::string fp = StatusFingerprint(status);
    bool due = clock_->Monotonic() - last_report_ >= opts_.node_status_report_interval;
    if (fp == last_reported_ && !due) {
      // Still read the node, for the pod CIDR it may have been given meanwhile.
      if (pod_cidr_.empty()) {
        if (auto cur = nodes_.Get(opts_.node_name); cur.ok()) ObserveNode(*cur);
      }
      return;
    }
    auto r = nodes_.Patch(opts_.node_name, client::PatchType::kStrategicMerge,
                          json::serialize(json::object{{"status", status}}), {}, "status");
    if (!r.ok() && api::IsNotFound(r.error())) {
      registered_ = false;  // someone deleted the Node: register again
      return;
    }
    if (r.ok()) {
      ++node_status_updates_;
      last_report_ = clock_->Monotonic();
      last_reported_ = fp;
      ObserveNode(*r);
    }
  }

  // Picks up the node's pod CIDR and writes the CNI config for it.
  void ObserveNode(const api::Object& node) {
    std::string cidr = api::FieldText(node, "spec.podCIDR");
    if (cidr.empty() || cidr == pod_cidr_) {
      if (cidr.empty() && !opts_.cni_conf_dir.empty()) {
        network_problem_ = "network is not ready: the node has no pod CIDR yet";
      }
      return;
    }
    pod_cidr_ = cidr;
    if (opts_.cni_conf_dir.empty()) return;
    // A bridge left from an earlier pod CIDR (the node joined another cluster)
    // would refuse the new gateway address.
    if (Status reset = ResetStaleBridge(opts_.cni_bridge, cidr); !reset.ok()) {
      LogWarning("kubelet", reset.message());
    }
    std::error_code ec;
    fs::create_directories(opts_.cni_conf_dir, ec);
    const std::string path = opts_.cni_conf_dir + "/10-keelson.conflist";
    const std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << RenderCniConfig(cidr, opts_.cni_bridge, opts_.data_dir + "/cni/networks");
      if (!out) {
        network_problem_ = "network is not ready: cannot write " + path;
        return;
      }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
      network_problem_ = "network is not ready: cannot write " + path + ": " + ec.message();
      return;
    }
    network_problem_.clear();
    LogInfo("kubelet", "pod network on " + cidr + " (" + path + ")");
  }

  void HeartbeatLoop() {
    auto next_lease = clock_->Monotonic();
    auto next_status = clock_->Monotonic();
    auto next_static = clock_->Monotonic();
    while (!Stopping()) {
      if (!registered_) {
        if (!Register()) {
          if (!Sleep(2s)) return;
          continue;
        }
        next_lease = clock_->Monotonic() + opts_.lease_renew_interval;
        next_status = clock_->Monotonic() + (node_ready_ ? opts_.node_status_update_interval
                                                         : std::chrono::milliseconds(1000));
      }
      auto now = clock_->Monotonic();
      if (now >= next_lease) {
        RenewLease();
        next_lease = now + opts_.lease_renew_interval;
      }
      if (now >= next_status) {
        UpdateNodeStatus();
        EvictIfUnderPressure();
        // Until the node is Ready (a pod CIDR to come, the runtime's network to
        // load it), every second, so that it turns Ready as soon as it is.
        next_status = now + (node_ready_ ? opts_.node_status_update_interval
                                         : std::chrono::milliseconds(1000));
      }
      if (!opts_.pod_manifest_path.empty() && now >= next_static) {
        // Once the pods bound here are known; until then, again in a second.
        next_static = now + (SyncStaticPods() ? opts_.static_pod_check_interval
                                              : std::chrono::milliseconds(1000));
      }
      auto wake = std::min(next_lease, next_status);
      if (!opts_.pod_manifest_path.empty()) wake = std::min(wake, next_static);
      if (!Sleep(wake - clock_->Monotonic() + 1ms)) return;
    }
  }

  // --- eviction under node pressure -----------------------------------------------------------

  // When a hard threshold is crossed (memory.available, nodefs.available), evicts one pod per
  // check, ranked as upstream ranks them (RankForEviction), by its pod worker.
  void EvictIfUnderPressure() {
    // The sample and signals the node status check just took (Conditions).
    const std::optional<HostPressure>& p = pressure_;
    if (!p || !pod_informer_->HasSynced()) return;
    const bool memory = memory_pressure_, disk = disk_pressure_;
    if (!memory && !disk) return;
    {
      std::lock_guard l(kills_mu_);
      if (!evictions_.empty()) return;  // one at a time, until it is done
    }
    auto stats = runtime_->ListContainerStats(v1::ContainerStatsFilter());
    std::map<std::string, int64_t> usage;  // pod uid → bytes
    if (stats.ok()) {
      for (const auto& st : *stats) {
        auto uid = st.attributes().labels().find(kPodUidLabel);
        if (uid == st.attributes().labels().end()) continue;
        usage[uid->second] +=
            static_cast<int64_t>(memory ? st.memory().working_set_bytes().value()
                                        : st.writable_layer().used_bytes().value());
      }
    }
    std::vector<client::ObjectPtr> pods;
    std::vector<EvictionCandidate> candidates;
    for (const auto& pod : pod_informer_->lister().List()) {
      if (api::FieldText(*pod, "status.phase") != "Running" || api::IsBeingDeleted(*pod)) {
        continue;
      }
      EvictionCandidate c;
      c.priority = api::fields::Int(Obj(*pod, "spec"), "priority").value_or(0);
      c.usage = usage[std::string(api::GetUid(*pod))];
      if (const auto* cs = Arr(*Obj(*pod, "spec"), "containers")) {
        for (const auto& ct : *cs) {
          const auto* res = ct.is_object() ? Obj(ct.as_object(), "resources") : nullptr;
          const auto* req = res ? Obj(*res, "requests") : nullptr;
          if (auto b = Bytes(Str(req, memory ? "memory" : "ephemeral-storage"))) {
            c.request += *b;
          }
        }
      }
      pods.push_back(pod);
      candidates.push_back(c);
    }
    if (pods.empty()) return;
    const auto& victim = pods[RankForEviction(candidates).front()];
    const std::string resource = memory ? "memory" : "ephemeral-storage";
    const int64_t threshold =
        memory ? opts_.eviction_memory_available_bytes
               : static_cast<int64_t>(opts_.eviction_nodefs_available_fraction *
                                      static_cast<double>(p->nodefs_capacity_bytes));
    const int64_t available = memory ? p->memory_available_bytes : p->nodefs_available_bytes;
    std::string message = "The node was low on resource: " + resource +
                          ". Threshold quantity: " + Quantity(threshold) +
                          ", available: " + std::to_string(available / 1024) + "Ki. ";
    {
      std::lock_guard l(kills_mu_);
      evictions_[std::string(api::GetUid(*victim))] = message;
    }
    events_.Event(*victim, client::kEventTypeWarning, "Evicted", "Evicting", message);
    queue_.Add(PodKey(*victim));
  }

  // Carries out an eviction decided above: every container stopped at once, the sandbox
  // stopped, the pod Failed with reason Evicted (it stays, for its controller to replace).
  void Evict(const api::Object& pod, const std::string& message, PodState* state) {
    const std::string uid(api::GetUid(pod));
    if (auto o = Observe(uid); o.ok()) {
      for (const auto& [name, list] : o->view.containers) {
        for (const auto& c : list) {
          if (c.state == v1::CONTAINER_RUNNING) (void)runtime_->StopContainer(c.id, 0s);
        }
      }
      for (const auto& sb : o->sandboxes) (void)runtime_->StopPodSandbox(sb.id());
    }
    auto after = Observe(uid);
    if (after.ok()) {
      after->view.sandbox_ready = false;
      json::object status = ComputeStatus(pod, after->view, facts_, api::FormatTime(clock_->Now()));
      status["phase"] = "Failed";
      status["reason"] = "Evicted";
      status["message"] = message;
      auto r = pods_.Namespace(api::GetNamespace(pod))
                   .Patch(api::GetName(pod), client::PatchType::kMerge,
                          json::serialize(json::object{{"status", status}}), {}, "status");
      if (r.ok()) state->last_status = json::serialize(status);
    }
    std::lock_guard l(kills_mu_);
    evictions_.erase(uid);
  }

  // --- static pods ----------------------------------------------------------------------------

  // The pods of the manifest directory (one pod per .yaml, .yml or .json file), each as its
  // mirror pod: named <name>-<node>, bound here, annotated with the source and a hash of the
  // manifest, owned by the Node. Mirror pods run as any pod does; a changed manifest replaces
  // its mirror pod, a removed one deletes it.
  bool SyncStaticPods() {
    if (!pod_informer_->HasSynced()) return false;  // what the API holds is not known yet
    std::map<std::string, api::Object> want;        // "ns/name" → mirror pod
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(opts_.pod_manifest_path, ec)) {
      auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
        files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f);
      std::stringstream text;
      text << in.rdbuf();
      auto doc = api::YamlToJson(text.str());
      if (!doc.ok() || !doc->is_object() || Str(doc->as_object(), "kind") != "Pod") {
        LogWarning("kubelet", "static pod manifest " + f.string() + ": not a Pod" +
                                  (doc.ok() ? "" : ": " + doc.status().message()));
        continue;
      }
      api::Object pod = std::move(doc->as_object());
      std::string name(api::GetName(pod));
      if (name.empty()) {
        LogWarning("kubelet", "static pod manifest " + f.string() + ": no metadata.name");
        continue;
      }
      std::string ns(api::GetNamespace(pod));
      if (ns.empty()) ns = "default";
      const std::string hash =
          std::to_string(std::hash<std::string>{}(json::serialize(pod) + opts_.node_name));
      api::SetName(&pod, name + "-" + opts_.node_name);
      api::SetNamespace(&pod, ns);
      api::SetAnnotation(&pod, "kubernetes.io/config.source", "file");
      api::SetAnnotation(&pod, "kubernetes.io/config.hash", hash);
      api::SetAnnotation(&pod, "kubernetes.io/config.mirror", hash);
      if (!node_uid_.empty()) {
        api::SetOwnerReferences(&pod, {api::OwnerReference{.api_version = "v1",
                                                           .kind = "Node",
                                                           .name = opts_.node_name,
                                                           .uid = node_uid_,
                                                           .controller = true}});
      }
      pod["apiVersion"] = "v1";
      pod["kind"] = "Pod";
      if (!pod.contains("spec") || !pod["spec"].is_object()) pod["spec"] = json::object();
      pod["spec"].as_object()["nodeName"] = opts_.node_name;
      pod.erase("status");
      want[ns + "/" + std::string(api::GetName(pod))] = std::move(pod);
    }
    // What the API holds: mirror pods bound here.
    std::map<std::string, client::ObjectPtr> have;
    for (const auto& pod : pod_informer_->lister().List()) {
      auto annotations = api::GetAnnotations(*pod);
      if (annotations.contains("kubernetes.io/config.mirror")) have[PodKey(*pod)] = pod;
    }
    for (const auto& [key, pod] : want) {
      auto it = have.find(key);
      auto pods = pods_.Namespace(api::GetNamespace(pod));
      if (it != have.end()) {
        auto annotations = api::GetAnnotations(*it->second);
        if (annotations["kubernetes.io/config.mirror"] ==
                api::GetAnnotations(pod)["kubernetes.io/config.mirror"] ||
            api::IsBeingDeleted(*it->second)) {
          continue;
        }
        client::DeleteOptions d;  // the manifest changed: the old pod goes first
        d.precondition_uid = std::string(api::GetUid(*it->second));
        (void)pods.Delete(api::GetName(*it->second), d);
        continue;  // recreated once it is gone
      }
      auto r = pods.Create(pod);
      if (!r.ok() && !api::IsAlreadyExists(r.error())) {
        LogWarning("kubelet", "creating mirror pod " + key + ": " + r.error().message);
      }
    }
    for (const auto& [key, pod] : have) {
      if (want.contains(key) || api::IsBeingDeleted(*pod)) continue;
      client::DeleteOptions d;
      d.precondition_uid = std::string(api::GetUid(*pod));
      (void)pods_.Namespace(api::GetNamespace(*pod)).Delete(api::GetName(*pod), d);
    }
    return true;
  }

  // --- the runtime's view of pods
  // -------------------------------------------------------------

  // The sandboxes and containers of pod `uid`, newest first.
  struct Observed {
    std::vector<v1::PodSandbox> sandboxes;  // newest first
    PodRuntimeView view;
    std::string ready_sandbox;  // id; "" when none is ready
  };

  Result<Observed> Observe(const std::string& uid) {
    Observed o;
    v1::PodSandboxFilter sf;
    (*sf.mutable_label_selector())[kPodUidLabel] = uid;
    auto sandboxes = runtime_->ListPodSandbox(sf);
    if (!sandboxes.ok()) return sandboxes.status();
    o.sandboxes = std::move(*sandboxes);
    std::sort(o.sandboxes.begin(), o.sandboxes.end(),
              [](const auto& a, const auto& b) { return a.created_at() > b.created_at(); });
    for (const auto& s : o.sandboxes) {
      if (s.state() == v1::SANDBOX_READY) {
        o.ready_sandbox = s.id();
        break;
      }
    }
    if (!o.ready_sandbox.empty()) {
      auto st = runtime_->PodSandboxStatus(o.ready_sandbox);
      if (st.ok() && st->state() == v1::SANDBOX_READY) {
        o.view.sandbox_ready = true;
        o.view.pod_ip = st->network().ip();
        if (!o.view.pod_ip.empty()) o.view.pod_ips.push_back(o.view.pod_ip);
        for (const auto& ip : st->network().additional_ips()) o.view.pod_ips.push_back(ip.ip());
      } else {
        o.ready_sandbox.clear();
      }
    }
    v1::ContainerFilter cf;
    (*cf.mutable_label_selector())[kPodUidLabel] = uid;
    auto containers = runtime_->ListContainers(cf);
    if (!containers.ok()) return containers.status();
    for (const auto& c : *containers) {
      auto st = runtime_->ContainerStatus(c.id());
      if (!st.ok()) continue;  // removed meanwhile
      RuntimeContainer rc;
      rc.id = c.id();
      rc.name = c.metadata().name();
      rc.attempt = c.metadata().attempt();
      rc.state = st->state();
      rc.created_at = st->created_at();
      rc.started_at = st->started_at();
      rc.finished_at = st->finished_at();
      rc.exit_code = st->exit_code();
      rc.reason = st->reason();
      rc.message = st->message();
      rc.image = st->image().image();
      rc.image_ref = st->image_ref();
      rc.sandbox_id = c.pod_sandbox_id();
      o.view.containers[rc.name].push_back(std::move(rc));
    }
    for (auto& [name, list] : o.view.containers) {
      std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
        return a.attempt != b.attempt ? a.attempt > b.attempt : a.created_at > b.created_at;
      });
    }
    return o;
  }

  // --- probes and hooks ------------------------------------------------------------------------

  static const char* ProbeName(ProbeType t) {
    return t == ProbeType::kLiveness    ? "Liveness"
           : t == ProbeType::kReadiness ? "Readiness"
                                        : "Startup";
  }

  void OnProbe(const std::string& key, const std::string& container, const std::string& id,
               ProbeType type, bool changed, bool result, const std::string& message) {
    auto slash = key.find('/');
    client::ObjectPtr pod =
        pod_informer_->lister().Get(key.substr(0, slash), key.substr(slash + 1));
    if (pod == nullptr) return;
    if (!changed) {
      events_.Event(*pod, client::kEventTypeWarning, "Unhealthy", "Probing",
                    std::string(ProbeName(type)) + " probe failed: " + message);
      return;
    }
    if (type == ProbeType::kLiveness && !result) {
      events_.Event(*pod, client::kEventTypeNormal, "Killing", "Killing",
                    "Container " + container + " failed liveness probe, will be restarted");
      std::lock_guard l(kills_mu_);
      liveness_kills_[std::string(api::GetUid(*pod))].insert(id);
    }
    queue_.Add(key);
  }

  // The container's spec in `pod` (regular or init), or null.
  static const json::object* ContainerSpec(const api::Object& pod, const std::string& name) {
    for (const char* list : {"containers", "initContainers"}) {
      if (const auto* cs = Arr(*Obj(pod, "spec"), list)) {
        for (const auto& c : *cs) {
          if (c.is_object() && Str(c.as_object(), "name") == name) return &c.as_object();
        }
      }
    }
    return nullptr;
  }

  std::string ProbeHost(const PodRuntimeView& view) const {
    return view.pod_ip.empty() ? opts_.node_ip : view.pod_ip;
  }

  // Runs the container's preStop hook (within `grace`), then stops it with what is left of
  // the grace period (at least 2 s, as upstream).
  void StopWithHooks(const api::Object& pod, const std::string& name, const std::string& id,
                     const std::string& host, int64_t grace) {
    auto start = clock_->Monotonic();
    const json::object* spec = ContainerSpec(pod, name);
    const json::object* lifecycle = spec ? Obj(*spec, "lifecycle") : nullptr;
    if (const json::object* pre = lifecycle ? Obj(*lifecycle, "preStop") : nullptr) {
      HandlerResult r = RunHandler(runtime_, *pre, id, host, {},
                                   std::chrono::seconds(std::max<int64_t>(1, grace)));
      if (!r.success) {
        events_.Event(pod, client::kEventTypeWarning, "FailedPreStopHook", "Killing",
                      "PreStopHook failed: " + r.message);
      }
    }
    auto spent = std::chrono::duration_cast<std::chrono::seconds>(clock_->Monotonic() - start);
    int64_t left = grace == 0 ? 0 : std::max<int64_t>(2, grace - spent.count());
    (void)runtime_->StopContainer(id, std::chrono::seconds(left));
  }

  // Starts the probes of the pod's running containers and puts their results in `view`.
  void ApplyProbes(const api::Object& pod, const std::string& sandbox, PodRuntimeView* view) {
    const std::string uid(api::GetUid(pod)), key = PodKey(pod);
    std::vector<std::string> running;
    auto wall = clock_->Now();
    auto mono = clock_->Monotonic();
    for (const auto& [name, list] : view->containers) {
      if (list.empty() || list.front().state != v1::CONTAINER_RUNNING ||
          list.front().sandbox_id != sandbox) {
        continue;
      }
      const json::object* spec = ContainerSpec(pod, name);
      if (spec == nullptr) continue;
      const RuntimeContainer& c = list.front();
      running.push_back(c.id);
      auto since_start = wall.time_since_epoch() - std::chrono::nanoseconds(c.started_at);
      auto started = mono - std::chrono::duration_cast<Clock::MonoTime::duration>(since_start);
      probes_.Ensure(key, uid, *spec, c.id, ProbeHost(*view), started);
      if (auto r = probes_.Result(uid, name, ProbeType::kReadiness)) view->ready[name] = *r;
      if (auto r = probes_.Result(uid, name, ProbeType::kStartup)) view->started[name] = *r;
    }
    probes_.Retain(uid, running);
  }

  // --- pod workers
  // ----------------------------------------------------------------------------

  void Worker() {
    while (auto key = queue_.Get()) {
      bool again = false;
      try {
        again = !SyncPod(*key);
      } catch (const std::exception& e) {
        LogError("kubelet", "syncing pod " + *key + ": " + e.what());
        again = true;
      }
      if (again) {
        queue_.AddRateLimited(*key);
      } else {
        queue_.Forget(*key);
      }
      queue_.Done(*key);
    }
  }

  PodState& StateOf(const std::string& uid) {
    std::lock_guard l(states_mu_);
    return states_[uid];
  }

  // Returns false when the sync should be tried again soon (a runtime or API
  // failure).
  bool SyncPod(const std::string& key) {
    ++pod_syncs_;
    auto slash = key.find('/');
    client::ObjectPtr pod =
        pod_informer_->lister().Get(key.substr(0, slash), key.substr(slash + 1));
    if (pod == nullptr) return true;  // gone from the API: housekeeping removes what is left
    const std::string uid(api::GetUid(*pod));
    PodState& state = StateOf(uid);
    if (api::IsBeingDeleted(*pod)) return Terminate(*pod, &state);
    std::string eviction;
    {
      std::lock_guard l(kills_mu_);
      if (auto it = evictions_.find(uid); it != evictions_.end()) eviction = it->second;
    }
    if (!eviction.empty()) {
      Evict(*pod, eviction, &state);
      return true;
    }
    std::set<std::string> kills;
    {
      std::lock_guard l(kills_mu_);
      if (auto it = liveness_kills_.find(uid); it != liveness_kills_.end()) {
        kills = std::move(it->second);
        liveness_kills_.erase(it);
      }
    }
    auto observed = Observe(uid);
    if (!observed.ok()) {
      ++runtime_errors_;
      return false;
    }
    if (!kills.empty()) {
      int64_t grace = 30;
      if (const auto* g = Obj(*pod, "spec")->if_contains("terminationGracePeriodSeconds");
          g != nullptr && g->is_int64()) {
        grace = g->as_int64();
      }
      for (const auto& [name, list] : observed->view.containers) {
        for (const auto& c : list) {
          if (kills.contains(c.id) && c.state == v1::CONTAINER_RUNNING) {
            StopWithHooks(*pod, name, c.id, ProbeHost(observed->view), grace);
          }
        }
      }
      observed = Observe(uid);
      if (!observed.ok()) return false;
    }
    std::string phase = api::FieldText(*pod, "status.phase");
    if (phase == "Succeeded" || phase == "Failed") {
      // Finished for good: nothing runs again; the sandbox is stopped.
      for (const auto& s : observed->sandboxes) {
        if (s.state() == v1::SANDBOX_READY) (void)runtime_->StopPodSandbox(s.id());
      }
      return true;
    }
    state.waiting.clear();
    // Volumes first (and on every sync, so that changed ConfigMaps and Secrets reach running
    // containers); containers that need them wait until they are there.
    bool ok = true;
    if (Status v = volumes_.SetUp(*pod); !v.ok()) {
      events_.Event(*pod, client::kEventTypeWarning, "FailedMount", "Mounting", v.message());
      queue_.AddAfter(key, 2s);
      MarkWaiting(*pod, observed->view, &state, "ContainerCreating", "");
    } else {
      ok = Converge(*pod, &state, &*observed);
    }
    // Read back what the runtime now has, for the status.
    auto after = Observe(uid);
    if (after.ok()) {
      after->view.waiting = state.waiting;
      ApplyProbes(*pod, after->ready_sandbox, &after->view);
      WriteStatus(*pod, after->view, &state);
    }
    return ok;
  }

  // Starts what should run; records why anything is held back in
  // state->waiting.
  bool Converge(const api::Object& pod, PodState* state, Observed* o) {
    const json::object& spec = *Obj(pod, "spec");
    const std::string uid(api::GetUid(pod));
    std::string policy = Str(spec, "restartPolicy");
    if (policy.empty()) policy = "Always";

    // The sandbox: a new one when none is ready (every container starts again
    // in it).
    std::string sandbox = o->ready_sandbox;
    if (sandbox.empty()) {
      if (!o->sandboxes.empty() && policy == "Never" && AllRan(pod, o->view)) {
        return true;  // the pod ran its course; nothing to start again
      }
      for (const auto& [name, list] : o->view.containers) {
        for (const auto& c : list) {
          if (c.state == v1::CONTAINER_RUNNING) (void)runtime_->StopContainer(c.id, 0s);
        }
      }
      for (const auto& s : o->sandboxes) (void)runtime_->StopPodSandbox(s.id());
      uint32_t attempt = static_cast<uint32_t>(o->sandboxes.size());
      auto config = SandboxConfig(pod, facts_, attempt);
      std::error_code ec;
      fs::create_directories(config.log_directory(), ec);
      auto made = runtime_->RunPodSandbox(config, opts_.runtime_handler);
      if (!made.ok()) {
        ++runtime_errors_;
        events_.Event(pod, client::kEventTypeWarning, "FailedCreatePodSandBox", "Creating",
                      "Failed to create pod sandbox: " + made.status().message());
        for (const char* list : {"initContainers", "containers"}) {
          if (const auto* cs = Arr(spec, list)) {
            for (const auto& c : *cs) {
              if (c.is_object()) {
                state->waiting[Str(c.as_object(), "name")] = {"ContainerCreating", ""};
              }
            }
          }
        }
        return false;
      }
      ++sandboxes_started_;
      // Sandboxes that never got a container (failed attempts) have nothing
      // worth keeping.
      for (const auto& old : o->sandboxes) {
        v1::ContainerFilter cf;
        cf.set_pod_sandbox_id(old.id());
        if (auto cs = runtime_->ListContainers(cf); cs.ok() && cs->empty()) {
          (void)runtime_->RemovePodSandbox(old.id());
        }
      }
      if (!o->sandboxes.empty()) {
        events_.Event(pod, client::kEventTypeNormal, "SandboxChanged", "Syncing",
                      "Pod sandbox changed, it will be killed and re-created.");
      }
      // The new sandbox's address; the containers seen so far stay (for restart counts).
      auto st = runtime_->PodSandboxStatus(*made);
      if (!st.ok() || st->state() != v1::SANDBOX_READY) return false;
      v1::PodSandbox fresh;
      fresh.set_id(*made);
      fresh.set_state(v1::SANDBOX_READY);
      *fresh.mutable_metadata() = config.metadata();
      fresh.set_created_at(st->created_at());
      o->sandboxes.insert(o->sandboxes.begin(), std::move(fresh));
      o->ready_sandbox = *made;
      o->view.sandbox_ready = true;
      o->view.pod_ip = st->network().ip();
      o->view.pod_ips.clear();
      if (!o->view.pod_ip.empty()) o->view.pod_ips.push_back(o->view.pod_ip);
      for (const auto& ip : st->network().additional_ips()) o->view.pod_ips.push_back(ip.ip());
      sandbox = *made;
    }
    // Containers of older sandboxes count for restarts, but only those of this
    // sandbox run.
    auto latest_in = [&](const std::string& name) -> const RuntimeContainer* {
      auto it = o->view.containers.find(name);
      if (it == o->view.containers.end() || it->second.empty()) return nullptr;
      return &it->second.front();
    };
    auto sandbox_config = SandboxConfig(pod, facts_, SandboxAttempt(*o, sandbox));

    // Init containers, in order.
    if (const auto* inits = Arr(spec, "initContainers")) {
      for (const auto& cv : *inits) {
        if (!cv.is_object()) continue;
        const json::object& c = cv.as_object();
        const std::string name = Str(c, "name");
        const bool sidecar = Str(c, "restartPolicy") == "Always";
        const RuntimeContainer* latest = latest_in(name);
        bool current = latest != nullptr && latest->sandbox_id == sandbox;
        if (current && latest->state == v1::CONTAINER_RUNNING) {
          if (sidecar) continue;  // a sidecar runs beside the rest
          return true;            // wait for it to finish
        }
        if (current && latest->state == v1::CONTAINER_EXITED && latest->exit_code == 0 &&
            !sidecar) {
          continue;  // done
        }
        if (current && latest->state == v1::CONTAINER_EXITED &&
            !ShouldRestart(pod, c, true, latest->exit_code)) {
          return true;  // failed for good: the pod fails
        }
        if (current && latest->state == v1::CONTAINER_CREATED) return true;
        // Not yet run in this sandbox, or to run again.
        if (!StartContainer(pod, c, latest, current, sandbox, sandbox_config, o->view, state)) {
          return !state->waiting.empty();  // held back (backoff, config) or failed
        }
        if (!sidecar) return true;  // the next one starts when this one is done
      }
    }
    // The regular containers.
    bool ok = true;
    if (const auto* cs = Arr(spec, "containers")) {
      for (const auto& cv : *cs) {
        if (!cv.is_object()) continue;
        const json::object& c = cv.as_object();
        const RuntimeContainer* latest = latest_in(Str(c, "name"));
        bool current = latest != nullptr && latest->sandbox_id == sandbox;
        if (current &&
            (latest->state == v1::CONTAINER_RUNNING || latest->state == v1::CONTAINER_CREATED)) {
          continue;
        }
        if (current && latest->state == v1::CONTAINER_EXITED &&
            !ShouldRestart(pod, c, false, latest->exit_code)) {
          continue;
        }
        if (!StartContainer(pod, c, latest, current, sandbox, sandbox_config, o->view, state)) {
          ok = ok && !state->waiting.empty();
        }
      }
    }
    return ok;
  }

  // Every container that does not run yet waits for `reason`.
  static void MarkWaiting(const api::Object& pod, const PodRuntimeView& view, PodState* state,
                          const std::string& reason, const std::string& message) {
    for (const char* list : {"initContainers", "containers"}) {
      const auto* cs = Arr(*Obj(pod, "spec"), list);
      if (cs == nullptr) continue;
      for (const auto& c : *cs) {
        if (!c.is_object()) continue;
        std::string name = Str(c.as_object(), "name");
        auto it = view.containers.find(name);
        if (it != view.containers.end() && !it->second.empty()) continue;
        state->waiting[name] = {reason, message};
      }
    }
  }

  static uint32_t SandboxAttempt(const Observed& o, const std::string& id) {
    for (const auto& s : o.sandboxes) {
      if (s.id() == id) return s.metadata().attempt();
    }
    return 0;
  }

  // Whether every container of a restartPolicy Never pod has run once.
  static bool AllRan(const api::Object& pod, const PodRuntimeView& view) {
    const auto* cs = Arr(*Obj(pod, "spec"), "containers");
    if (cs == nullptr) return true;
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      auto it = view.containers.find(Str(c.as_object(), "name"));
      if (it == view.containers.end() || it->second.empty()) return false;
    }
    return true;
  }

  // Starts container `c` (again, when `latest` exited in this sandbox):
  // backoff, image, config, create, start. False when it did not start
  // (state->waiting says why, or the runtime failed).
  bool StartContainer(const api::Object& pod, const json::object& c, const RuntimeContainer* latest,
                      bool restart, const std::string& sandbox,
                      const v1::PodSandboxConfig& sandbox_config, const PodRuntimeView& view,
                      PodState* state) {
    const std::string name = Str(c, "name");
    const std::string key = PodKey(pod);
    uint32_t restart_count = latest != nullptr ? latest->attempt + 1 : 0;
    if (restart && latest != nullptr) {
      // Crash-loop backoff, counted from when the container last finished.
      Backoff& b = state->crash_backoff[name];
      auto finished = Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(
          std::chrono::nanoseconds(latest->finished_at)));
      auto now = clock_->Now();
      if (state->backoff_for[name] != latest->finished_at) {
        state->backoff_for[name] = latest->finished_at;
        auto ran = std::chrono::nanoseconds(latest->finished_at - latest->started_at);
        if (b.delay.count() == 0 || ran >= kBackoffResetAfter) {
          b.delay = 0s;  // the first restart is at once
        }
        b.not_before = finished + b.delay;
        b.delay = b.delay.count() == 0
                      ? std::chrono::nanoseconds(kBackoffInitial)
                      : std::min<std::chrono::nanoseconds>(b.delay * 2, kBackoffMax);
      }
      if (now < b.not_before) {
        auto wait = b.not_before - now;
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(b.delay / 2).count();
        if (secs < 10) secs = 10;
        state->waiting[name] = {"CrashLoopBackOff", "back-off " + std::to_string(secs) +
                                                        "s restarting failed container=" + name +
                                                        " pod=" + std::string(api::GetName(pod)) +
                                                        "_" + std::string(api::GetNamespace(pod)) +
                                                        "(" + std::string(api::GetUid(pod)) + ")"};
        events_.Event(pod, client::kEventTypeWarning, "BackOff", "Restarting",
                      "Back-off restarting failed container " + name + " in pod " +
                          std::string(api::GetName(pod)) + "_" +
                          std::string(api::GetNamespace(pod)) + "(" +
                          std::string(api::GetUid(pod)) + ")");
        queue_.AddAfter(key, wait + 50ms);
        return false;
      }
    }
    if (!EnsureImage(pod, c, sandbox_config, state)) return false;
    auto config = ContainerConfig(pod, c, restart_count, view.pod_ip, facts_, &source_);
    if (!config.ok()) {
      state->waiting[name] = {"CreateContainerConfigError", config.status().message()};
      events_.Event(pod, client::kEventTypeWarning, "Failed", "Creating",
                    "Error: " + config.status().message());
      queue_.AddAfter(key, 2s);  // the ConfigMap or Secret may come
      return false;
    }
    EnvList env;
    for (const auto& kv : config->envs()) env.emplace_back(kv.key(), kv.value());
    auto mounts = volumes_.Mounts(pod, c, env);
    const bool host_network = api::fields::Bool(Obj(pod, "spec"), "hostNetwork");
    if (mounts.ok() && (host_network || !view.pod_ips.empty()) && !MountsOwnEtcHosts(c)) {
      // The kubelet's /etc/hosts, as upstream's: the pod's names and its hostAliases (a
      // host-network pod's starts from the node's own).
      auto hosts = volumes_.EtcHostsMount(
          std::string(api::GetUid(pod)),
          ManagedHostsFile(pod, view.pod_ips, facts_,
                           host_network ? ReadFileOrEmpty("/etc/hosts") : std::string()));
      if (hosts.ok()) {
        mounts->push_back(std::move(*hosts));
      } else {
        mounts = hosts.status();
      }
    }
    if (!mounts.ok()) {
      state->waiting[name] = {"CreateContainerConfigError", mounts.status().message()};
      events_.Event(pod, client::kEventTypeWarning, "Failed", "Creating",
                    "Error: " + mounts.status().message());
      return false;
    }
    for (auto& m : *mounts) *config->add_mounts() = std::move(m);
    std::error_code ec;
    fs::create_directories(sandbox_config.log_directory() + "/" + name, ec);
    auto id = runtime_->CreateContainer(sandbox, *config, sandbox_config);
    if (!id.ok()) {
      ++runtime_errors_;
      state->waiting[name] = {"CreateContainerError", id.status().message()};
      events_.Event(pod, client::kEventTypeWarning, "Failed", "Creating",
                    "Error: " + id.status().message());
      return false;
    }
    events_.Event(pod, client::kEventTypeNormal, "Created", "Creating",
                  "Created container " + name);
    auto started = runtime_->StartContainer(*id);
    if (!started.ok()) {
      ++runtime_errors_;
      state->waiting[name] = {"RunContainerError", started.message()};
      events_.Event(pod, client::kEventTypeWarning, "Failed", "Starting",
                    "Error: " + started.message());
      return false;
    }
    ++containers_started_;
    events_.Event(pod, client::kEventTypeNormal, "Started", "Starting",
                  "Started container " + name);
    const json::object* lifecycle = Obj(c, "lifecycle");
    if (const json::object* post = lifecycle ? Obj(*lifecycle, "postStart") : nullptr) {
      std::string host = view.pod_ip.empty() ? opts_.node_ip : view.pod_ip;
      HandlerResult r = RunHandler(runtime_, *post, *id, host, {}, std::chrono::seconds(30));
      if (!r.success) {
        events_.Event(pod, client::kEventTypeWarning, "FailedPostStartHook", "Starting",
                      "PostStartHook failed: " + r.message);
        (void)runtime_->StopContainer(*id, std::chrono::seconds(2));
        state->waiting[name] = {"PostStartHookError", r.message};
        return false;
      }
    }
    // Keep the last dead container (for `kubectl logs --previous`); older ones
    // go.
    auto it = view.containers.find(name);
    if (it != view.containers.end()) {
      for (size_t i = 1; i < it->second.size(); ++i) {
        (void)logs_->Clean(it->second[i].id);  // its log files go with it
        (void)runtime_->RemoveContainer(it->second[i].id);
      }
    }
    return true;
  }

  // Pulls the container's image when its pull policy says so. False
  // (state->waiting set) when it is not there.
  bool EnsureImage(const api::Object& pod, const json::object& c,
                   const v1::PodSandboxConfig& sandbox_config, PodState* state) {
    const std::string name = Str(c, "name");
    const std::string image = Str(c, "image");
    std::string policy = Str(c, "imagePullPolicy");
    if (policy.empty()) {
      auto colon = image.rfind(':');
      bool tagged = colon != std::string::npos && image.find('/', colon) == std::string::npos;
      policy = !tagged || image.ends_with(":latest") ? "Always" : "IfNotPresent";
    }
    v1::ImageSpec spec;
    spec.set_image(image);
    auto present = runtime_->ImageStatus(spec);
    if (!present.ok()) {
      ++runtime_errors_;
      state->waiting[name] = {"ErrImagePull", present.status().message()};
      return false;
    }
    if (policy == "Never") {
      if (present->has_value()) return true;
      state->waiting[name] = {
          "ErrImageNeverPull",
          "Container image \"" + image + "\" is not present with pull policy of Never"};
      events_.Event(pod, client::kEventTypeWarning, "ErrImageNeverPull", "Pulling",
                    state->waiting[name].message);
      return false;
    }
    if (policy == "IfNotPresent" && present->has_value()) {
      return true;
    }
    if (policy == "Always" && present->has_value() && image.rfind("keelson.local/", 0) == 0) {
      return true;  // images of the node's own (imported, no registry to ask)
    }
    Backoff& b = state->pull_backoff[image];
    auto now = clock_->Now();
    if (now < b.not_before) {
      state->waiting[name] = {"ImagePullBackOff", "Back-off pulling image \"" + image + "\""};
      events_.Event(pod, client::kEventTypeNormal, "BackOff", "Pulling",
                    "Back-off pulling image \"" + image + "\"");
      queue_.AddAfter(PodKey(pod), b.not_before - now + 50ms);
      return false;
    }
    events_.Event(pod, client::kEventTypeNormal, "Pulling", "Pulling",
                  "Pulling image \"" + image + "\"");
    auto start = clock_->Monotonic();
    // Credentials from the pod's imagePullSecrets, for the image's registry.
    std::vector<api::Object> secrets;
    if (const auto* refs = Arr(*Obj(pod, "spec"), "imagePullSecrets")) {
      for (const auto& r : *refs) {
        if (!r.is_object()) continue;
        std::string secret_name = Str(r.as_object(), "name");
        auto secret = source_.Secret(std::string(api::GetNamespace(pod)), secret_name);
        if (secret.ok()) {
          secrets.push_back(std::move(*secret));
        } else {
          events_.Event(pod, client::kEventTypeWarning, "FailedToRetrieveImagePullSecret",
                        "Pulling",
                        "Unable to retrieve some image pull secrets (" + secret_name +
                            "); attempting to pull the image may not succeed.");
        }
      }
    }
    auto auth = PullAuth(image, secrets);
    auto pulled = runtime_->PullImage(spec, auth ? &*auth : nullptr, &sandbox_config);
    if (!pulled.ok()) {
      b.delay = b.delay.count() == 0 ? std::chrono::nanoseconds(kBackoffInitial)
                                     : std::min<std::chrono::nanoseconds>(b.delay * 2, kBackoffMax);
      b.not_before = clock_->Now() + b.delay;
      // As upstream: the waiting message is the runtime's error, the event says which image.
      state->waiting[name] = {"ErrImagePull", pulled.status().message()};
      events_.Event(pod, client::kEventTypeWarning, "Failed", "Pulling",
                    "Failed to pull image \"" + image + "\": " + pulled.status().message());
      // Synced again after upstream's pod worker backoff: while the image's backoff runs
      // longer, that sync shows ImagePullBackOff (ErrImagePull, ErrImagePull, ImagePullBackOff,
      // ErrImagePull, ... as upstream's kubelet shows them).
      queue_.AddAfter(PodKey(pod),
                      std::min<std::chrono::nanoseconds>(b.delay, kPodWorkerBackoff) + 50ms);
      return false;
    }
    b = Backoff{};
    auto took = std::chrono::duration<double>(clock_->Monotonic() - start).count();
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.3fs", took);
    events_.Event(pod, client::kEventTypeNormal, "Pulled", "Pulling",
                  "Successfully pulled image \"" + image + "\" in " + buf);
    return true;
  }

  void WriteStatus(const api::Object& pod, const PodRuntimeView& view, PodState* state) {
    const std::string now = api::FormatTime(clock_->Now());
    json::object status = ComputeStatus(pod, view, facts_, now);
    std::string fp = json::serialize(status);
    // Written already (the informer's copy may lag behind), or what the API
    // holds already.
    if (fp == state->last_status || SameStatus(pod, status)) return;
    auto r = pods_.Namespace(api::GetNamespace(pod))
                 .Patch(api::GetName(pod), client::PatchType::kMerge,
                        json::serialize(json::object{{"status", status}}), {}, "status");
    if (r.ok()) {
      ++pod_status_writes_;
      state->last_status = fp;
    }
  }

  // Whether the API's status of `pod` already says what `status` says.
  static bool SameStatus(const api::Object& pod, const json::object& status) {
    const json::object* cur = Obj(pod, "status");
    if (cur == nullptr) return false;
    for (const auto& [k, v] : status) {
      const auto* have = cur->if_contains(k);
      if (have == nullptr || *have != v) return false;
    }
    return true;
  }

  // Graceful deletion: stop every container with the grace period, stop the
  // sandbox, report the containers terminated, then delete the pod for good.
  bool Terminate(const api::Object& pod, PodState* state) {
    const std::string uid(api::GetUid(pod));
    auto observed = Observe(uid);
    if (!observed.ok()) {
      ++runtime_errors_;
      return false;
    }
    int64_t grace = api::GetDeletionGracePeriodSeconds(pod).value_or(30);
    if (!state->terminating) {
      state->terminating = true;
    }
    std::vector<std::thread> stoppers;
    for (const auto& [name, list] : observed->view.containers) {
      for (const auto& c : list) {
        if (c.state != v1::CONTAINER_RUNNING && c.state != v1::CONTAINER_CREATED) continue;
        events_.Event(pod, client::kEventTypeNormal, "Killing", "Killing",
                      "Stopping container " + name);
        stoppers.emplace_back(
            [this, &pod, name, id = c.id, grace, host = ProbeHost(observed->view)] {
              StopWithHooks(pod, name, id, host, grace);
            });
      }
    }
    for (auto& t : stoppers) t.join();
    for (const auto& s : observed->sandboxes) {
      if (!runtime_->StopPodSandbox(s.id()).ok()) ++runtime_errors_;
    }
    auto after = Observe(uid);
    if (after.ok()) {
      for (const auto& [name, list] : after->view.containers) {
        for (const auto& c : list) {
          if (c.state == v1::CONTAINER_RUNNING) return false;  // not stopped yet
        }
      }
      after->view.sandbox_ready = false;
      WriteStatus(pod, after->view, state);
    }
    client::DeleteOptions gone;
    gone.grace_period_seconds = 0;
    gone.precondition_uid = uid;
    auto r = pods_.Namespace(api::GetNamespace(pod)).Delete(api::GetName(pod), gone);
    if (!r.ok() && !api::IsNotFound(r.error()) && !api::IsConflict(r.error())) return false;
    ++pods_deleted_;
    if (after.ok()) RemovePodFromRuntime(*after);
    if (Status v = volumes_.TearDown(uid); !v.ok()) LogWarning("kubelet", v.message());
    tokens_.Forget(uid);
    std::lock_guard l(states_mu_);
    states_.erase(uid);
    return true;
  }

  void RemovePodFromRuntime(const Observed& o) {
    for (const auto& s : o.sandboxes) {
      (void)runtime_->StopPodSandbox(s.id());
      (void)runtime_->RemovePodSandbox(s.id());
    }
  }

  // --- relist (the runtime's events) and housekeeping
  // ----------------------------------------

  void RelistLoop() {
    std::unordered_map<std::string, std::pair<int, std::string>> last;  // id → state, pod key
    auto next_resync = clock_->Monotonic() + opts_.pod_resync_period;
    auto next_full_resync = clock_->Monotonic() + 6 * opts_.pod_resync_period;
    auto next_housekeeping = clock_->Monotonic() + 5s;
    auto next_log_rotation = clock_->Monotonic() + opts_.container_log.monitor_interval;
    while (Sleep(opts_.relist_period)) {
      if (clock_->Monotonic() >= next_log_rotation) {
        next_log_rotation = clock_->Monotonic() + opts_.container_log.monitor_interval;
        (void)logs_->RotateLogs();  // queued for the log manager's workers
      }
      auto containers = runtime_->ListContainers(v1::ContainerFilter());
      if (!containers.ok()) {
        ++runtime_errors_;
        continue;
      }
      std::unordered_map<std::string, std::pair<int, std::string>> now;
      std::set<std::string> changed;
      for (const auto& c : *containers) {
        const auto& lb = c.labels();
        auto ns = lb.find(kPodNamespaceLabel), name = lb.find(kPodNameLabel);
        if (ns == lb.end() || name == lb.end()) continue;
        std::string key = ns->second + "/" + name->second;
        now[c.id()] = {c.state(), key};
        auto it = last.find(c.id());
        if (it == last.end() || it->second.first != c.state()) changed.insert(key);
      }
      for (const auto& [id, v] : last) {
        if (!now.contains(id)) changed.insert(v.second);
      }
      last = std::move(now);
      for (const auto& key : changed) queue_.Add(key);
      // Pods whose volumes follow other objects (ConfigMaps, Secrets, the pod's own metadata)
      // are synced every resync period; all of them six times less often.
      if (clock_->Monotonic() >= next_resync) {
        const bool full = clock_->Monotonic() >= next_full_resync;
        next_resync = clock_->Monotonic() + opts_.pod_resync_period;
        if (full) next_full_resync = clock_->Monotonic() + 6 * opts_.pod_resync_period;
        for (const auto& pod : pod_informer_->lister().List()) {
          if (full || HasRefreshedVolumes(*pod)) queue_.Add(PodKey(*pod));
        }
      }
      if (pod_informer_->HasSynced() && clock_->Monotonic() >= next_housekeeping) {
        next_housekeeping = clock_->Monotonic() + 5s;
        Housekeeping();
      }
    }
  }

  static bool HasRefreshedVolumes(const api::Object& pod) {
    const auto* spec = Obj(pod, "spec");
    const auto* volumes = spec ? Arr(*spec, "volumes") : nullptr;
    if (volumes == nullptr) return false;
    for (const auto& v : *volumes) {
      if (!v.is_object()) continue;
      for (const char* kind : {"configMap", "secret", "downwardAPI", "projected"}) {
        if (v.as_object().contains(kind)) return true;
      }
    }
    return false;
  }

  // Sandboxes of pods that are no longer bound here (deleted while the kubelet
  // was away, or force-deleted) are stopped and removed.
  void Housekeeping() {
    auto sandboxes = runtime_->ListPodSandbox(v1::PodSandboxFilter());
    if (!sandboxes.ok()) return;
    std::set<std::string> known;
    for (const auto& pod : pod_informer_->lister().List())
      known.insert(std::string(api::GetUid(*pod)));
    for (const auto& s : *sandboxes) {
      const auto& lb = s.labels();
      auto uid = lb.find(kPodUidLabel);
      if (uid == lb.end() || known.contains(uid->second)) continue;
      v1::ContainerFilter cf;
      cf.set_pod_sandbox_id(s.id());
      if (auto cs = runtime_->ListContainers(cf); cs.ok()) {
        for (const auto& c : *cs) {
          if (c.state() == v1::CONTAINER_RUNNING) {
            int64_t grace = 30;
            auto g = c.annotations().find(kTerminationGraceAnnotation);
            if (g != c.annotations().end()) grace = std::atoll(g->second.c_str());
            (void)runtime_->StopContainer(c.id(), std::chrono::seconds(grace));
          }
        }
      }
      (void)runtime_->StopPodSandbox(s.id());
      (void)runtime_->RemovePodSandbox(s.id());
      std::lock_guard l(states_mu_);
      states_.erase(uid->second);
    }
    // Volumes of pods that are gone, once none of their sandboxes is left.
    std::set<std::string> with_sandbox;
    if (auto again = runtime_->ListPodSandbox(v1::PodSandboxFilter()); again.ok()) {
      for (const auto& s : *again) {
        const auto& lb = s.labels();
        if (auto uid = lb.find(kPodUidLabel); uid != lb.end()) with_sandbox.insert(uid->second);
      }
    } else {
      return;
    }
    for (const auto& uid : volumes_.PodsWithVolumes()) {
      if (known.contains(uid) || with_sandbox.contains(uid)) continue;
      if (Status v = volumes_.TearDown(uid); !v.ok()) LogWarning("kubelet", v.message());
      tokens_.Forget(uid);
    }
    // Log directories (live and rotated files) of pods that are gone, as upstream's container
    // GC does; a pod that arrived since the list above keeps its directory.
    for (const auto& pod : pod_informer_->lister().List()) {
      known.insert(std::string(api::GetUid(*pod)));
    }
    RemovePodLogDirectories(facts_.pods_log_dir, [&](const std::string& uid) {
      return known.contains(uid) || with_sandbox.contains(uid);
    });
  }

  client::RestClient* const client_;
  cri::Runtime* const runtime_;
  const KubeletOptions opts_;
  const HostInfo host_;
  const std::shared_ptr<const Clock> clock_;
  const client::ResourceClient nodes_;
  const client::ResourceClient leases_;
  const client::ResourceClient pods_;
  NodeFacts facts_;  // immutable after construction
  ApiObjectSource source_;
  ApiTokenSource tokens_;
  VolumeManager volumes_;
  client::WorkQueue queue_;
  client::EventRecorder events_;
  ProbeManager probes_;
  std::mutex kills_mu_;
  // Containers whose liveness probe failed, to be stopped (and restarted) by their pod's
  // worker: pod uid → container ids; guarded by kills_mu_.
  std::map<std::string, std::set<std::string>> liveness_kills_;
  std::map<std::string, std::string> evictions_;  // pod uid → message; guarded by kills_mu_
  std::unique_ptr<client::SharedInformerFactory> informers_;
  std::unique_ptr<client::SharedInformerFactory> service_informers_;  // all namespaces
  client::SharedInformer* pod_informer_ = nullptr;
  std::unique_ptr<ContainerLogManager> logs_;  // set before Begin()

  // The heartbeat thread's own.
  std::string node_uid_;
  std::string pod_cidr_;
  std::string network_problem_;
  std::string last_reported_;
  bool node_ready_ = false;
  std::optional<HostPressure> pressure_;  // the last sample
  bool memory_pressure_ = false;
  bool disk_pressure_ = false;
  Clock::MonoTime last_report_{};
  std::map<std::string, std::pair<std::string, std::string>> last_conditions_;

  std::mutex states_mu_;
  std::unordered_map<std::string, PodState> states_;  // by pod uid; guarded by states_mu_
                                                      // (each entry used by one worker)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread heartbeat_thread_;
  std::thread relist_thread_;
  std::vector<std::thread> workers_;

  std::atomic<bool> registered_{false};
  std::atomic<uint64_t> lease_renewals_{0};
  std::atomic<uint64_t> node_status_updates_{0};
  std::atomic<uint64_t> pod_syncs_{0};
  std::atomic<uint64_t> sandboxes_started_{0};
  std::atomic<uint64_t> containers_started_{0};
  std::atomic<uint64_t> pod_status_writes_{0};
  std::atomic<uint64_t> pods_deleted_{0};
  std::atomic<uint64_t> runtime_errors_{0};
};

}  // namespace

std::string RenderCniConfig(const std::string& pod_cidr, const std::string& bridge,
                            const std::string& ipam_data_dir) {
  json::object conf{
      {"cniVersion", "1.0.0"},
      {"name", "keelson-pod-network"},
      {"plugins",
       json::array{
           json::object{
               {"type", "bridge"},
               {"bridge", bridge},
               {"isGateway", true},
               {"ipMasq", true},
               {"hairpinMode", true},
               {"ipam", json::object{{"type", "host-local"},
                                     {"dataDir", ipam_data_dir},
                                     {"ranges",
                                      json::array{json::array{json::object{{"subnet", pod_cidr}}}}},
                                     {"routes", json::array{json::object{{"dst", "0.0.0.0/0"}}}}}}},
           json::object{{"type", "portmap"},
                        {"capabilities", json::object{{"portMappings", true}}}}}}};
  return json::serialize(conf) + "\n";
}

Result<std::unique_ptr<Kubelet>> Kubelet::Start(client::RestClient* client, cri::Runtime* runtime,
                                                KubeletOptions options) {
  if (client == nullptr || runtime == nullptr) {
    return InvalidArgumentError("the kubelet needs an API client and a runtime");
  }
  if (options.workers < 1) return InvalidArgumentError("--workers: at least one");
  if (options.max_pods < 1) return InvalidArgumentError("--max-pods: at least one");
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) {
    return InvalidArgumentError("--data-dir " + options.data_dir + ": " + ec.message());
  }
  auto host = ReadHost(options.data_dir);
  if (!host.ok()) return host.status();
  if (options.node_name.empty()) options.node_name = host->hostname;
  if (options.node_name.empty()) return InvalidArgumentError("--node-name: the host has no name");
  if (options.node_ip.empty()) {
    options.node_ip = host->addresses.empty() ? "127.0.0.1" : host->addresses.front();
  }
  auto logs = ContainerLogManager::Start(runtime, options.container_log, options.clock);
  if (!logs.ok()) return logs.status();
  auto k = std::make_unique<KubeletImpl>(client, runtime, std::move(options), std::move(*host));
  k->SetLogManager(std::move(*logs));
  k->Begin();
  return std::unique_ptr<Kubelet>(std::move(k));
}

}  // namespace keelson::kubelet
