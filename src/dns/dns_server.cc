#include "dns/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "client/informer.h"
#include "common/log.h"
#include "dns/forwarder.h"
#include "dns/objects.h"
#include "dns/server.h"
#include "dns/zone.h"

namespace keelson::dns {
namespace {

constexpr const char* kLog = "dns";
using Clock = std::chrono::steady_clock;

bool IsLoopbackOrAny(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr);
    return ip == 0 || (ip >> 24) == 127;
  }
  const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&ip) || IN6_IS_ADDR_UNSPECIFIED(&ip);
}

uint16_t PortOf(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port)
                                : ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port);
}

// Whether asking `u` could reach this server itself (a resolv.conf naming us): the same port
// and the same address, or a local one where we listen on every address. Forwarding there
// would loop until the timeouts.
bool IsSelf(const Upstream& u, const std::vector<Upstream>& listen) {
  for (const Upstream& l : listen) {
    if (PortOf(l.addr) != PortOf(u.addr) || PortOf(l.addr) == 0) continue;
    if (l.addr.ss_family != u.addr.ss_family) continue;
    bool same =
        l.addr.ss_family == AF_INET
            ? std::memcmp(&reinterpret_cast<const sockaddr_in*>(&l.addr)->sin_addr,
                          &reinterpret_cast<const sockaddr_in*>(&u.addr)->sin_addr, 4) == 0
            : std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&l.addr)->sin6_addr,
                          &reinterpret_cast<const sockaddr_in6*>(&u.addr)->sin6_addr, 16) == 0;
    if (same || (IsLoopbackOrAny(l.addr) && IsLoopbackOrAny(u.addr))) return true;
  }
  return false;
}

class DnsServerImpl final : public DnsServer {
 public:
  ~DnsServerImpl() override { Stop(); }

  Status Init(client::RestClient* client, DnsServerOptions o) {
    options_ = o;
    auto domain = WireName(o.cluster_domain);
    if (!domain.ok() || domain->size() <= 1) {
      return InvalidArgumentError("dns: the cluster domain '" + o.cluster_domain +
                                  "' is not a DNS name");
    }
    if (o.ttl_seconds < 0 || o.ttl_seconds > 86400) {
      return InvalidArgumentError("dns: the TTL must be between 0 and 86400 seconds");
    }
    std::vector<Upstream> listen;
    for (const auto& l : o.listen) {
      auto a = ParseListenAddress(l);
      if (!a.ok()) return a.status();
      listen.push_back(*a);
    }
    std::vector<std::string> upstream_texts = o.upstreams;
    if (upstream_texts.empty() && !o.resolv_conf.empty()) {
      auto read = ReadResolvConf(o.resolv_conf);
      if (read.ok()) {
        upstream_texts = *read;
      } else {
        LogWarning(kLog, read.status().message() + ": names outside the cluster are refused");
      }
    }
    ForwarderOptions fo;
    for (const auto& text : upstream_texts) {
      auto u = ParseUpstream(text);
      if (!u.ok()) {
        if (!o.upstreams.empty())
          return InvalidArgumentError("--upstream: " + u.status().message());
        LogWarning(kLog, o.resolv_conf + ": skipping nameserver " + text);
        continue;
      }
      if (IsSelf(*u, listen)) {
        LogWarning(kLog, "not forwarding to " + u->text + ": that is this server");
        continue;
      }
      fo.upstreams.push_back(*u);
    }
    fo.cache_entries = static_cast<size_t>(std::max(0, o.cache_entries));
    if (!fo.upstreams.empty()) {
      std::string names;
      for (const auto& u : fo.upstreams) names += (names.empty() ? "" : ", ") + u.text;
      auto f = Forwarder::Start(std::move(fo));
      if (!f.ok()) return f.status();
      forwarder_ = std::move(*f);
      LogInfo(kLog, "forwarding names outside " + o.cluster_domain + " to " + names);
    }

    zone_options_.domain = o.cluster_domain;
    zone_options_.ttl = static_cast<uint32_t>(o.ttl_seconds);
    ServerOptions so;
    so.cluster_domain = o.cluster_domain;
    so.listen = o.listen;
    so.udp_workers = o.udp_workers;
    so.max_udp_size = static_cast<size_t>(std::max(0, o.max_udp_size));
    so.max_tcp_connections = o.max_tcp_connections;
    auto server = Server::Start(so, &zones_, forwarder_.get());
    if (!server.ok()) {
      if (forwarder_) forwarder_->Stop();
      return server.status();
    }
    server_ = std::move(*server);

    if (client == nullptr) {
      zones_.Set(Zone::Build(zone_options_, {}, {}, Serial()));
      return Status::Ok();
    }
    client::SharedInformerFactoryOptions fopts;
    fopts.handler_threads = 1;
    informers_ = std::make_unique<client::SharedInformerFactory>(client, fopts);
    for (auto [group, resource] :
         {std::pair{"", "services"}, std::pair{"discovery.k8s.io", "endpointslices"},
          std::pair{"", "namespaces"}}) {
      auto inf = informers_->InformerFor(group, resource);
      if (!inf.ok()) return InternalError("dns: no informer for " + std::string(resource));
      (*inf)->AddEventHandler({
          .on_add = [this](const client::ObjectPtr&, bool) { MarkDirty(); },
          .on_update =
              [this](const client::ObjectPtr& a, const client::ObjectPtr& b) {
                if (a != b) MarkDirty();
              },
          .on_delete = [this](const client::ObjectPtr&, bool) { MarkDirty(); },
      });
      informed_.push_back(*inf);
    }
    builder_ = std::thread([this] { BuildLoop(); });
    informers_->Start();
    if (!informers_->WaitForCacheSync(std::chrono::seconds(o.sync_timeout_seconds))) {
      LogWarning(kLog, "the API's Services are not listed yet; names in " + o.cluster_domain +
                           " get SERVFAIL until they are");
    }
    MarkDirty();
    return Status::Ok();
  }

  int Port() const override {
    auto ports = server_ ? server_->Ports() : std::vector<int>{};
    return ports.empty() ? 0 : ports[0];
  }

  void Stop() override {
    std::call_once(stopped_, [this] {
      // The forwarder first: it fails what is in flight, answering through the server's
      // sockets, which must still be open.
      if (forwarder_) forwarder_->Stop();
      if (server_) server_->Stop();
      {
        std::lock_guard lock(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      if (builder_.joinable()) builder_.join();
      if (informers_) informers_->Shutdown();
    });
  }

 private:
  void MarkDirty() {
    {
      std::lock_guard lock(mu_);
      dirty_ = true;
    }
    cv_.notify_all();
  }

  uint32_t Serial() {
    auto now = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    serial_ = std::max(serial_ + 1, now);
    return serial_;
  }

  void BuildLoop() {
    bool built = false;
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return dirty_ || stop_; });
        if (stop_) return;
        if (!dirty_) continue;
        dirty_ = false;
      }
      bool synced = std::all_of(informed_.begin(), informed_.end(),
                                [](client::SharedInformer* i) { return i->HasSynced(); });
      if (!synced) {
        MarkDirty();  // look again when they have
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      auto start = Clock::now();
      auto services = informed_[0]->lister().List();
      auto slices = informed_[1]->lister().List();
      auto namespaces = informed_[2]->lister().List();
      std::vector<const api::Object*> svc_objs, slice_objs;
      for (const auto& s : services) svc_objs.push_back(s.get());
      for (const auto& s : slices) slice_objs.push_back(s.get());
      std::vector<std::string> ns_names;
      for (const auto& n : namespaces) ns_names.emplace_back(api::GetName(*n));
      auto zone =
          Zone::Build(zone_options_, ServicesFromObjects(svc_objs, slice_objs), ns_names, Serial());
      size_t names = zone->name_count();
      zones_.Set(std::move(zone));
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      if (!built || ms.count() >= 100) {
        LogInfo(kLog, "serving " + std::to_string(names) + " names of " +
                          std::to_string(services.size()) + " Services in " +
                          options_.cluster_domain + " (built in " + std::to_string(ms.count()) +
                          " ms)");
      }
      built = true;
    }
  }

  DnsServerOptions options_;
  ZoneOptions zone_options_;
  ZoneHolder zones_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<client::SharedInformerFactory> informers_;
  std::vector<client::SharedInformer*> informed_;  // services, endpointslices, namespaces
  std::thread builder_;
  uint32_t serial_ = 0;  // the builder thread's
  std::once_flag stopped_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false;  // guarded by mu_
  bool stop_ = false;   // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<DnsServer>> DnsServer::Start(client::RestClient* client,
                                                    DnsServerOptions options) {
  auto s = std::make_unique<DnsServerImpl>();
  KEELSON_RETURN_IF_ERROR(s->Init(client, std::move(options)));
  return std::unique_ptr<DnsServer>(std::move(s));
}

}  // namespace keelson::dns
