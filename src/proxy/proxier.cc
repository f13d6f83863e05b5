#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "api/object.h"
#include "api/resources.h"
#include <malloc.h>

#include "client/reflector.h"
#include "common/log.h"
#include "proxy/healthcheck.h"
#include "proxy/proxy.h"

namespace keelson::proxy {
namespace {

using Clock = std::chrono::steady_clock;

std::string NsName(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

class ProxyImpl final : public Proxy {
 public:
  ProxyImpl(client::RestClient* client, ProxyOptions o)
      : client_(client), o_(std::move(o)), table_(o_.ruleset) {
    if (o_.filter == nullptr) {
      own_filter_ = NewNftPacketFilter(o_.tools);
      o_.filter = own_filter_.get();
    }
    if (o_.conntrack == nullptr) {
      own_conntrack_ = NewConntrackTool(o_.tools);
      o_.conntrack = own_conntrack_.get();
    }
  }

  ~ProxyImpl() override { Stop(); }

  Status Begin() {
    auto metrics = [this] { return Metrics(); };
    auto healthy = [this] {
      std::lock_guard l(mu_);
      return first_sync_done_ && !last_sync_failed_;
    };
    if (o_.healthz_port >= 0 || o_.serve_health_check_node_ports) {
      auto h = HealthServer::Start(o_.healthz_bind_address, o_.healthz_port, metrics, healthy);
      if (!h.ok()) return h.status();
      health_ = std::move(*h);
    }
    if (o_.set_sysctls) SetSysctls();

    // Reflectors straight into the proxy's own views: no informer cache holds the objects
    // (10,000 Services and their slices as JSON would be most of the proxy's memory).
    const auto& registry = api::ResourceRegistry::BuiltIn();
    services_store_ = std::make_unique<Store>(this, /*slices=*/false);
    slices_store_ = std::make_unique<Store>(this, /*slices=*/true);
    client::ReflectorOptions ro;
    ro.log = [](const std::string& m) { LogWarning("proxy", m); };
    services_reflector_ = std::make_unique<client::Reflector>(
        client_->Resource(*registry.Find("", "v1", "services")), services_store_.get(), ro);
    slices_reflector_ = std::make_unique<client::Reflector>(
        client_->Resource(*registry.Find("discovery.k8s.io", "v1", "endpointslices")),
        slices_store_.get(), ro);
    services_thread_ = std::thread([this] { services_reflector_->Run(); });
    slices_thread_ = std::thread([this] { slices_reflector_->Run(); });
    sync_thread_ = std::thread([this] { SyncLoop(); });
    return Status::Ok();
  }

  bool WaitForFirstSync(std::chrono::milliseconds timeout) override {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [this] { return first_sync_done_ || stopping_; }) &&
           first_sync_done_;
  }

  ProxyStats Stats() const override {
    std::lock_guard l(mu_);
    return stats_;
  }

  int HealthzPort() const override { return health_ ? health_->StatusPort() : -1; }

  void Stop() override {
    {
      std::lock_guard l(mu_);
      if (stopped_) return;
      stopped_ = stopping_ = true;
    }
    cv_.notify_all();
    if (services_reflector_) services_reflector_->Stop();
    if (slices_reflector_) slices_reflector_->Stop();
    if (services_thread_.joinable()) services_thread_.join();
    if (slices_thread_.joinable()) slices_thread_.join();
    if (sync_thread_.joinable()) sync_thread_.join();
    if (health_) health_->Stop();
    if (o_.cleanup_on_exit) {
      if (Status s = CleanupTables(o_.filter, o_.ruleset); !s.ok()) {
        LogWarning("proxy", "removing the table: " + s.message());
      }
    }
  }

 private:
  // A reflector's store: lists replace the proxy's view of one resource, watch events change
  // it.
  class Store final : public client::ReflectorStore {
   public:
    Store(ProxyImpl* proxy, bool slices) : proxy_(proxy), slices_(slices) {}
    void Replace(std::vector<client::ObjectPtr> objects, const std::string&) override {
      proxy_->Replace(slices_, std::move(objects));
    }
    void Apply(client::WatchEventType type, client::ObjectPtr object) override {
      if (type == client::WatchEventType::kBookmark) return;
      bool deleted = type == client::WatchEventType::kDeleted;
      if (slices_) {
        proxy_->OnSlice(*object, deleted);
      } else {
        proxy_->OnService(*object, deleted);
      }
    }

   private:
    ProxyImpl* const proxy_;
    const bool slices_;
  };

  // After a (re)list: everything listed is applied, everything the list no longer has is
  // deleted.
  void Replace(bool slices, std::vector<client::ObjectPtr> objects) {
    std::set<std::string> listed;
    for (const auto& o : objects) {
      listed.insert(NsName(api::GetNamespace(*o), api::GetName(*o)));
      if (slices) {
        OnSlice(*o, false);
      } else {
        OnService(*o, false);
      }
    }
    objects.clear();
    std::vector<std::string> gone;
    {
      std::lock_guard l(mu_);
      if (slices) {
        for (const auto& [key, info] : slices_) {
          if (!listed.contains(key)) gone.push_back(key);
        }
      } else {
        for (const auto& [key, ports] : services_) {
          if (!listed.contains(key)) gone.push_back(key);
        }
      }
    }
    for (const auto& key : gone) {
      auto slash = key.find('/');
      api::Object stub{{"metadata", boost::json::object{{"namespace", key.substr(0, slash)},
                                                       {"name", key.substr(slash + 1)}}}};
      if (slices) {
        OnSlice(stub, true);
      } else {
        OnService(stub, true);
      }
    }
    // The list's objects are gone: give their memory back.
    malloc_trim(0);
    std::lock_guard l(mu_);
    (slices ? slices_listed_ : services_listed_) = true;
    cv_.notify_all();
  }

  void OnService(const api::Object& svc, bool deleted) {
    std::string key = NsName(api::GetNamespace(svc), api::GetName(svc));
    std::vector<ServicePort> ports;
    if (!deleted) ports = ParseService(svc);
    std::lock_guard l(mu_);
    auto it = services_.find(key);
    if (ports.empty()) {
      if (it == services_.end()) return;
      services_.erase(it);
    } else {
      if (it != services_.end() && it->second == ports) return;
      services_[key] = std::move(ports);
    }
    MarkDirty(key);
  }

  void OnSlice(const api::Object& slice, bool deleted) {
    std::string ns(api::GetNamespace(slice));
    std::string key = NsName(ns, api::GetName(slice));
    SliceInfo info;
    if (!deleted) info = ParseEndpointSlice(slice);
    std::lock_guard l(mu_);
    auto it = slices_.find(key);
    if (it != slices_.end()) {
      if (!deleted && it->second == info) return;
      std::string old_svc = NsName(ns, it->second.service_name);
      if (!it->second.service_name.empty()) {
        slices_by_service_[old_svc].erase(key);
        if (slices_by_service_[old_svc].empty()) slices_by_service_.erase(old_svc);
        MarkDirty(old_svc);
      }
      slices_.erase(it);
    }
    if (!deleted && !info.service_name.empty()) {
      std::string svc = NsName(ns, info.service_name);
      slices_by_service_[svc].insert(key);
      slices_[key] = std::move(info);
      MarkDirty(svc);
    }
  }

  // Holds mu_.
  void MarkDirty(const std::string& service) {
    if (dirty_.empty()) oldest_change_ = Clock::now();
    if (dirty_.insert(service).second) cv_.notify_all();
  }

  void SetSysctls() {
    std::vector<std::string> settings = {"net.ipv4.ip_forward=1"};
    if (o_.ruleset.nodeport_localhost) settings.push_back("net.ipv4.conf.all.route_localnet=1");
    // Pods reaching a Service whose endpoint sits on their own bridge: the reply is bridged,
    // and only bridge-nf-call-iptables lets the DNAT be undone for it.
    settings.push_back("net.bridge.bridge-nf-call-iptables=1");
    for (const auto& s : settings) {
      auto r = RunTool(o_.tools, {"sysctl", "-q", "-w", s});
      if (!r.ok() || r->exit_code != 0) {
        LogWarning("proxy", "sysctl " + s + ": " +
                                (r.ok() ? r->output : r.status().message()));
      }
    }
  }

  // What the sync thread needs of one Service, copied under mu_.
  struct Snapshot {
    std::vector<ServicePort> ports;
    std::vector<std::vector<Endpoint>> endpoints;  // per port
  };

  void SyncLoop() {
    // The first sync waits for both caches, so it never writes an empty table over the rules
    // live traffic uses.
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [this] { return stopping_ || (services_listed_ && slices_listed_); });
      if (stopping_) return;
    }
    bool need_full = true, recreate = true;
    auto next_full = Clock::now();
    auto next_check = Clock::now() + o_.table_check_period;
    auto last_sync_end = Clock::time_point();
    for (;;) {
      std::set<std::string> dirty;
      std::map<std::string, Snapshot> snaps;
      Clock::time_point oldest;
      {
        std::unique_lock l(mu_);
        for (;;) {
          if (stopping_) return;
          auto now = Clock::now();
          if (need_full || now >= next_full || now >= next_check) break;
          if (!dirty_.empty() && now >= last_sync_end + o_.min_sync_period) break;
          auto until = std::min(next_full, next_check);
          if (!dirty_.empty()) until = std::min(until, last_sync_end + o_.min_sync_period);
          cv_.wait_until(l, until);
        }
        dirty.swap(dirty_);
        oldest = oldest_change_;
        for (const auto& key : dirty) {
          auto it = services_.find(key);
          if (it == services_.end()) {
            snaps[key];  // gone
            continue;
          }
          Snapshot& s = snaps[key];
          s.ports = it->second;
          s.endpoints.resize(s.ports.size());
          auto sl = slices_by_service_.find(key);
          if (sl == slices_by_service_.end()) continue;
          for (size_t i = 0; i < s.ports.size(); ++i) {
            std::string pk = SlicePortKey(s.ports[i].port_name, s.ports[i].protocol);
            for (const auto& slice_key : sl->second) {
              const auto& info = slices_.at(slice_key);
              auto e = info.endpoints_by_port.find(pk);
              if (e != info.endpoints_by_port.end()) {
                s.endpoints[i].insert(s.endpoints[i].end(), e->second.begin(), e->second.end());
              }
            }
          }
        }
      }
      auto now = Clock::now();
      if (now >= next_check && !need_full) {
        // The main table and, in turn, one shard per check.
        const int shards = std::max(1, o_.ruleset.shards);
        const std::string shard = ShardTable(o_.ruleset, check_round_++ % shards);
        for (const auto& [table, map] :
             {std::pair{o_.ruleset.table, std::string("no-endpoint-nodeports")},
              std::pair{shard, std::string("service-nodeports")}}) {
          auto exists = o_.filter->MapExists(table, map);
          if (exists.ok() && !*exists) {
            LogWarning("proxy", "table " + table + " is gone: recreating the tables");
            need_full = true;
            break;
          }
        }
        next_check = Clock::now() + o_.table_check_period;
      }
      if (now >= next_full) need_full = true;

      auto start = Clock::now();
      std::map<std::string, std::vector<CategorizedEndpoints>> rendered;
      for (auto& [key, s] : snaps) {
        if (s.ports.empty()) {
          table_.SetService(key, std::nullopt);
          rendered[key];
          continue;
        }
        std::vector<CategorizedEndpoints> cats;
        for (size_t i = 0; i < s.ports.size(); ++i) {
          cats.push_back(CategorizeEndpoints(s.ports[i], std::move(s.endpoints[i]), o_.node_name));
        }
        table_.SetService(key, RenderService(s.ports, cats, table_.config()));
        rendered[key] = std::move(cats);
      }
      if (!need_full && !table_.HasChanges()) {
        AfterSync(snaps, rendered);
        continue;
      }
      std::string script = table_.Transaction(need_full, recreate);
      auto apply_start = Clock::now();
      Status st = o_.filter->Apply(script);
      auto end = Clock::now();
      last_sync_end = end;
      double seconds = std::chrono::duration<double>(end - start).count();
      if (!st.ok()) {
        LogError("proxy", std::string(need_full ? "full" : "partial") + " sync failed: " +
                              st.message());
        {
          std::lock_guard l(mu_);
          ++stats_.failed_syncs;
          last_sync_failed_ = true;
          // What was taken is still to be done.
          for (const auto& k : dirty) dirty_.insert(k);
        }
        // A failed transaction changed nothing: the next sync rebuilds the table from
        // scratch, after a pause.
        need_full = recreate = true;
        std::unique_lock l(mu_);
        cv_.wait_for(l, std::chrono::seconds(1), [this] { return stopping_; });
        continue;
      }
      table_.Committed(need_full);
      AfterSync(snaps, rendered);
      {
        std::lock_guard l(mu_);
        ++stats_.syncs;
        if (need_full) ++stats_.full_syncs;
        stats_.last_sync_seconds = seconds;
        stats_.last_apply_seconds = std::chrono::duration<double>(end - apply_start).count();
        stats_.last_script_bytes = script.size();
        stats_.services = table_.ServiceCount();
        stats_.chains = table_.ChainCount();
        last_programming_seconds_ =
            dirty.empty() ? 0 : std::chrono::duration<double>(end - oldest).count();
        last_sync_failed_ = false;
        if (!first_sync_done_) {
          first_sync_done_ = true;
          LogInfo("proxy", "first sync: " + std::to_string(stats_.services) + " services, " +
                               std::to_string(script.size()) + " bytes of rules in " +
                               std::to_string(static_cast<int>(seconds * 1000)) + " ms");
        }
      }
      cv_.notify_all();
      if (need_full) next_full = end + o_.sync_period;
      need_full = recreate = false;
    }
  }

  // After the rules are in: conntrack entries that would keep UDP flows on endpoints that
  // are gone (or on the reject a Service without endpoints got) are cleared, and the
  // health check node ports learn their counts. Sync thread only.
  void AfterSync(const std::map<std::string, Snapshot>& snaps,
                 const std::map<std::string, std::vector<CategorizedEndpoints>>& rendered) {
    bool health_changed = false;
    for (const auto& [key, s] : snaps) {
      const auto& cats = rendered.at(key);
      // UDP flows.
      std::map<std::string, std::pair<ServicePort, std::set<std::string>>> now_udp;
      for (size_t i = 0; i < s.ports.size(); ++i) {
        if (s.ports[i].protocol != Protocol::kUdp) continue;
        std::set<std::string> ips;
        for (const auto& e : cats[i].cluster) ips.insert(e.ip);
        for (const auto& e : cats[i].local) ips.insert(e.ip);
        now_udp[s.ports[i].Key()] = {s.ports[i], std::move(ips)};
      }
      auto& before = udp_[key];
      for (const auto& [pk, entry] : before) {
        const auto& [port, old_ips] = entry;
        auto it = now_udp.find(pk);
        for (const auto& ip : old_ips) {
          if (it != now_udp.end() && it->second.second.contains(ip)) continue;
          ClearFlows(port, ip);
        }
      }
      for (const auto& [pk, entry] : now_udp) {
        auto it = before.find(pk);
        bool had = it != before.end() && !it->second.second.empty();
        if (!had && !entry.second.empty()) ClearFlows(entry.first, "");
      }
      if (now_udp.empty()) {
        udp_.erase(key);
      } else {
        before = std::move(now_udp);
      }
      // Health check node ports.
      std::optional<std::pair<int, HealthCheckService>> hc;
      for (size_t i = 0; i < s.ports.size(); ++i) {
        if (s.ports[i].health_check_node_port == 0) continue;
        if (!hc) {
          hc.emplace(s.ports[i].health_check_node_port,
                     HealthCheckService{s.ports[i].namespace_name, s.ports[i].service_name, 0});
        }
        std::set<std::string> local;
        for (const auto& e : cats[i].local) local.insert(e.ip);
        hc->second.local_endpoints =
            std::max(hc->second.local_endpoints, static_cast<int>(local.size()));
      }
      auto cur = health_checks_.find(key);
      if (!hc) {
        if (cur != health_checks_.end()) {
          health_checks_.erase(cur);
          health_changed = true;
        }
      } else if (cur == health_checks_.end() || cur->second != *hc) {
        health_checks_[key] = *hc;
        health_changed = true;
      }
    }
    if (health_changed && health_ && o_.serve_health_check_node_ports) {
      std::map<int, HealthCheckService> by_port;
      for (const auto& [key, hc] : health_checks_) by_port.emplace(hc.first, hc.second);
      health_->SetServices(std::move(by_port));
    }
  }

  void ClearFlows(const ServicePort& port, const std::string& endpoint_ip) {
    std::vector<std::string> ips = {port.cluster_ip};
    ips.insert(ips.end(), port.external_ips.begin(), port.external_ips.end());
    ips.insert(ips.end(), port.load_balancer_ips.begin(), port.load_balancer_ips.end());
    for (const auto& ip : ips) {
      if (Status s = o_.conntrack->ClearDestination("udp", ip, endpoint_ip); !s.ok()) {
        LogWarning("proxy", "conntrack: " + s.message());
      }
    }
    if (port.node_port != 0) {
      if (Status s = o_.conntrack->ClearNodePort("udp", port.node_port, endpoint_ip); !s.ok()) {
        LogWarning("proxy", "conntrack: " + s.message());
      }
    }
  }

  std::string Metrics() const {
    std::lock_guard l(mu_);
    char buf[2048];
    std::snprintf(
        buf, sizeof buf,
        "# HELP keelson_proxy_syncs_total Transactions applied to the packet filter.\n"
        "# TYPE keelson_proxy_syncs_total counter\n"
        "keelson_proxy_syncs_total{kind=\"partial\"} %lld\n"
        "keelson_proxy_syncs_total{kind=\"full\"} %lld\n"
        "# HELP keelson_proxy_sync_failures_total Transactions the packet filter refused.\n"
        "# TYPE keelson_proxy_sync_failures_total counter\n"
        "keelson_proxy_sync_failures_total %lld\n"
        "# HELP keelson_proxy_last_sync_seconds Rendering and applying the last transaction.\n"
        "# TYPE keelson_proxy_last_sync_seconds gauge\n"
        "keelson_proxy_last_sync_seconds %.6f\n"
        "# HELP keelson_proxy_last_apply_seconds The packet filter's part of the last sync "
        "(running nft on the transaction).\n"
        "# TYPE keelson_proxy_last_apply_seconds gauge\n"
        "keelson_proxy_last_apply_seconds %.6f\n"
        "# HELP keelson_proxy_last_script_bytes The size of the last transaction.\n"
        "# TYPE keelson_proxy_last_script_bytes gauge\n"
        "keelson_proxy_last_script_bytes %zu\n"
        "# HELP keelson_proxy_last_programming_seconds From the oldest change the last "
        "transaction carried reaching the proxy to the rules being in the kernel.\n"
        "# TYPE keelson_proxy_last_programming_seconds gauge\n"
        "keelson_proxy_last_programming_seconds %.6f\n"
        "# HELP keelson_proxy_services Services with rules.\n"
        "# TYPE keelson_proxy_services gauge\n"
        "keelson_proxy_services %zu\n"
        "# HELP keelson_proxy_chains Chains of the Services.\n"
        "# TYPE keelson_proxy_chains gauge\n"
        "keelson_proxy_chains %zu\n",
        static_cast<long long>(stats_.syncs - stats_.full_syncs),
        static_cast<long long>(stats_.full_syncs), static_cast<long long>(stats_.failed_syncs),
        stats_.last_sync_seconds, stats_.last_apply_seconds, stats_.last_script_bytes,
        last_programming_seconds_, stats_.services, stats_.chains);
    return buf;
  }

  client::RestClient* const client_;
  ProxyOptions o_;
  std::unique_ptr<PacketFilter> own_filter_;
  std::unique_ptr<Conntrack> own_conntrack_;
  std::unique_ptr<Store> services_store_, slices_store_;
  std::unique_ptr<client::Reflector> services_reflector_, slices_reflector_;
  std::thread services_thread_, slices_thread_;
  std::unique_ptr<HealthServer> health_;
  std::thread sync_thread_;

  // The sync thread's.
  NftablesTable table_;
  int check_round_ = 0;
  // Per Service, its UDP ports' endpoint IPs at the last sync (for conntrack).
  std::map<std::string, std::map<std::string, std::pair<ServicePort, std::set<std::string>>>>
      udp_;
  std::map<std::string, std::pair<int, HealthCheckService>> health_checks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<ServicePort>> services_;         // guarded by mu_
  std::map<std::string, SliceInfo> slices_;                          // guarded by mu_
  std::map<std::string, std::set<std::string>> slices_by_service_;   // guarded by mu_
  std::set<std::string> dirty_;                                      // guarded by mu_
  Clock::time_point oldest_change_;                                  // guarded by mu_
  ProxyStats stats_;                                                 // guarded by mu_
  double last_programming_seconds_ = 0;                              // guarded by mu_
  bool services_listed_ = false, slices_listed_ = false;             // guarded by mu_
  bool first_sync_done_ = false;                                     // guarded by mu_
  bool last_sync_failed_ = false;                                    // guarded by mu_
  bool stopping_ = false;                                            // guarded by mu_
  bool stopped_ = false;                                             // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<Proxy>> Proxy::Start(client::RestClient* client, ProxyOptions options) {
  if (options.ruleset.table.empty()) return InvalidArgumentError("the proxy needs a table name");
  auto p = std::make_unique<ProxyImpl>(client, std::move(options));
  KEELSON_RETURN_IF_ERROR(p->Begin());
  return std::unique_ptr<Proxy>(std::move(p));
}

Status CleanupTables(PacketFilter* filter, const RulesetConfig& config) {
  // "add" first makes the delete succeed whether or not the table is there.
  std::string script;
  for (const auto& t : AllTables(config)) {
    script += "add table ip " + t + "\ndelete table ip " + t + "\n";
  }
  return filter->Apply(script);
}

}  // namespace keelson::proxy
