// `keelson server` and `keelson apiserver`: the Kubernetes API server on the embedded store
// (or on etcd), with a kubeconfig written for kubectl. `server` also runs the scheduler and
// the controller manager in-process, each leader-elected on its own Lease, and a local node
// (the kubelet on its own containerd), as k3s's server does; --disable-agent opts out.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "apiserver/apiserver.h"
#include "apiserver/http_server.h"
#include "apiserver/inflight.h"
#include "apiserver/token.h"
#include "client/rest_client.h"
#include "client/transport.h"
#include "cmd/commands.h"
#include "cmd/cluster_dns.h"
#include "cmd/component_flags.h"
#include "cmd/node_flags.h"
#include "cmd/proxy_flags.h"
#include "common/log.h"
#include "dns/dns_server.h"
#include "kubelet/host.h"
#include "kubelet/node.h"
#include "store/etcd/etcd_store.h"
#include "store/mvcc/embedded_store.h"

namespace keelson::cmd {
namespace {

struct Flags {
  std::string data_dir = "/var/lib/keelson";
  std::string bind_address = "127.0.0.1";
  int port = 6443;
  std::string kubeconfig;
  std::string datastore_endpoint;
  std::string sa_key_file;
  std::string sa_issuer = "https://kubernetes.default.svc.cluster.local";
  int64_t max_request_bytes = 3 << 20;
  int max_requests_inflight = 400;
  int max_mutating_requests_inflight = 200;
  bool disable_controller_manager = false;
  bool disable_scheduler = false;
  bool disable_agent = false;
  std::string scheduler_config;
  std::string service_cidr = "10.43.0.0/16";
  bool disable_dns = false;
  std::string dns_bind_address = "0.0.0.0:10053";
};

int Fail(const std::string& msg) {
  std::fprintf(stderr, "keelson: %s\n", msg.c_str());
  return 1;
}

Status WriteKubeconfig(const std::string& path, const std::string& server) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "apiVersion: v1\n"
           "kind: Config\n"
           "clusters:\n"
           "- name: keelson\n"
           "  cluster:\n"
           "    server: " << server << "\n"
           // Plain HTTP until TLS arrives: @kubernetes/client-node refuses an http:// server
           // unless TLS verification is off (kubectl and client-go ignore it for http).
           "    insecure-skip-tls-verify: true\n"
           "contexts:\n"
           "- name: keelson\n"
           "  context:\n"
           "    cluster: keelson\n"
           "    user: keelson\n"
           "current-context: keelson\n"
           "users:\n"
           "- name: keelson\n"
           "  user: {}\n";
    if (!out) return InternalError("write " + tmp);
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalError("rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

int RunServerCommand(int argc, char** argv) {
  const std::string name = argv[0];
  const bool whole_server = name == "server";
  Flags f;
  controllers::ControllerManagerOptions cm;
  kubelet::NodeOptions node_options;
  ProxyFlags proxy_flags;
  FlagSet flags(name);
  flags.String("data-dir", &f.data_dir,
               "where state lives (default /var/lib/keelson); the embedded store is in DIR/store");
  flags.String("bind-address", &f.bind_address, "address to listen on (default 127.0.0.1)");
  flags.Int("port", &f.port, 0, 65535, "port to listen on; 0 picks a free one (default 6443)");
  flags.String("write-kubeconfig", &f.kubeconfig,
               "where to write a kubeconfig for kubectl (default DIR/kubeconfig.yaml)");
  flags.String("datastore-endpoint", &f.datastore_endpoint,
               "use etcd at these comma-separated URLs instead of the embedded store");
  flags.String("service-account-signing-key-file", &f.sa_key_file,
               "PEM RSA key that signs service account tokens; created when missing\n"
               "(default DIR/server/service-account.key). Servers that share a datastore need\n"
               "the same key.");
  flags.String("service-account-issuer", &f.sa_issuer,
               "the tokens' issuer and default audience\n"
               "(default https://kubernetes.default.svc.cluster.local)");
  flags.Int64("max-request-bytes", &f.max_request_bytes, 1, 1LL << 40,
              "the largest request body accepted; larger ones are answered 413\n"
              "(default 3145728, 3 MiB)");
  flags.Int("max-requests-inflight", &f.max_requests_inflight, 0, 1 << 30,
            "read-only requests served at once, watches and other long-running requests left\n"
            "out; more are answered 429 (default 400, 0: no limit)");
  flags.Int("max-mutating-requests-inflight", &f.max_mutating_requests_inflight, 0, 1 << 30,
            "mutating requests served at once (default 200, 0: no limit)");
  flags.String("service-cidr", &f.service_cidr,
               "the range ClusterIPs are allocated from (default 10.43.0.0/16)");
  if (whole_server) {
    flags.Bool("disable-controller-manager", &f.disable_controller_manager,
               "run no controllers in this server (default false)");
    flags.Bool("disable-scheduler", &f.disable_scheduler,
               "run no scheduler in this server (default false)");
    flags.String("scheduler-config", &f.scheduler_config,
                 "the scheduler's KubeSchedulerConfiguration file (default: upstream's profile)");
    flags.Bool("disable-agent", &f.disable_agent,
               "run no local node in this server (default false; the node needs root)");
    AddControllerManagerFlags(&flags, &cm);
    AddNodeFlags(&flags, &node_options, /*with_data_dir=*/false);
    AddProxyFlags(&flags, &proxy_flags, /*with_disable=*/true, /*with_cluster_cidr=*/false);
    flags.Bool("disable-dns", &f.disable_dns,
               "run no cluster DNS in this server (default false)");
    flags.String("dns-bind-address", &f.dns_bind_address,
                 "where the cluster DNS listens, IP:PORT (default 0.0.0.0:10053); the kube-dns\n"
                 "Service (--cluster-dns, default the tenth address of --service-cidr) sends\n"
                 "pods' queries there");
  }
  bool help = false;
  if (Status s = flags.Parse(argc, argv, &help); !s.ok()) return Fail(s.message() + " (see --help)");
  if (help) {
    std::printf("Usage: keelson %s [flags]\n\n%s\n\n%s", name.c_str(),
                whole_server
                    ? "Runs the control plane over plain HTTP on the embedded store (or on etcd):\n"
                      "the Kubernetes API server and, in-process, the scheduler and the controller\n"
                      "manager."
                    : "Runs the Kubernetes API server over plain HTTP on the embedded store (or\n"
                      "on etcd).",
                flags.Usage().c_str());
    return 0;
  }
  if (f.kubeconfig.empty()) f.kubeconfig = f.data_dir + "/kubeconfig.yaml";
  if (Status s = FinishProxyFlags(&proxy_flags); !s.ok()) return Fail(s.message());
  const bool run_agent = whole_server && !f.disable_agent;
  if (run_agent) {
    node_options.kubelet.data_dir = f.data_dir + "/agent";
    // The local node's pods need a pod CIDR: nodes get theirs from 10.42.0.0/16 unless told.
    if (!cm.controller.allocate_node_cidrs && cm.controller.cluster_cidr.empty()) {
      cm.controller.allocate_node_cidrs = true;
      cm.controller.cluster_cidr = "10.42.0.0/16";
    }
  }
  const std::string cluster_cidr = cm.controller.cluster_cidr;  // cm is moved below
  if (f.sa_key_file.empty()) f.sa_key_file = f.data_dir + "/server/service-account.key";

  // Large transient buffers (chunks of big LIST answers, store pages read while a watch
  // cache loads) go straight back to the system when freed, instead of staying in malloc's
  // arenas next to the long-lived cached objects: a fixed threshold keeps glibc from raising
  // it after the first such free.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // Every client connection is a descriptor: allow as many as the system lets this process
  // have, so that a crowd of idle connections does not lock everyone else out.
  if (rlimit nofile{}; getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<store::Store> st;
  if (f.datastore_endpoint.empty()) {
    store::EmbeddedOptions eo;
    eo.data_dir = f.data_dir + "/store";
    // The API server's watch caches are the store's only watchers, one per resource, and
    // they keep up: the store's own window of recent events can stay small (a cache that
    // falls behind it reads the history from disk).
    eo.watch_cache_bytes = 2 << 20;
    auto s = store::OpenEmbeddedStore(eo);
    if (!s.ok()) return Fail(s.status().message());
    st = std::move(*s);
  } else {
    store::EtcdOptions eo;
    std::string_view rest = f.datastore_endpoint;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      eo.endpoints.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    auto s = store::OpenEtcdStore(eo);
    if (!s.ok()) return Fail(s.status().message());
    st = std::move(*s);
  }

  auto signer = apiserver::TokenSigner::LoadOrCreate(f.sa_key_file);
  if (!signer.ok()) return Fail(signer.status().message());
  apiserver::ApiServerOptions ao;
  ao.token_signer = std::move(*signer);
  ao.service_account_issuer = f.sa_issuer;
  ao.service_cidr = f.service_cidr;
  auto api = apiserver::ApiServer::Create(st.get(), std::move(ao));
  if (!api.ok()) return Fail(api.status().message());
  if (Status b = (*api)->Bootstrap(); !b.ok()) return Fail("bootstrap: " + b.message());
  apiserver::HttpServerOptions ho;
  ho.bind_address = f.bind_address;
  ho.port = f.port;
  ho.body_limit = static_cast<size_t>(f.max_request_bytes);
  apiserver::InflightLimiter limiter(
      api->get(), {.max_requests = f.max_requests_inflight,
                   .max_mutating_requests = f.max_mutating_requests_inflight});
  auto http = apiserver::HttpServer::Start(ho, &limiter);
  if (!http.ok()) return Fail(http.status().message());
  std::string url = "http://" + f.bind_address + ":" + std::to_string((*http)->port());
  std::string advertise = f.bind_address == "0.0.0.0" ? "127.0.0.1" : f.bind_address;
  if (Status p = (*api)->PublishEndpoint(advertise, (*http)->port()); !p.ok()) {
    return Fail("publishing the kubernetes service endpoints: " + p.message());
  }
  if (Status k = WriteKubeconfig(f.kubeconfig, url); !k.ok()) return Fail(k.message());
  std::printf("keelson %s: serving the Kubernetes API on %s\n", name.c_str(), url.c_str());
  std::printf("keelson %s: kubeconfig written to %s\n", name.c_str(), f.kubeconfig.c_str());
  std::fflush(stdout);

  // The control plane's components reach the API as any client does, through the in-process
  // transport: the same router, admission and watch caches, without a socket.
  std::unique_ptr<client::RestClient> components;
  std::unique_ptr<controllers::ControllerManager> manager;
  if (whole_server) {
    client::RestConfig rc;
    rc.server = url;
    rc.user_agent = "keelson-server";
    components = std::make_unique<client::RestClient>(
        rc, std::shared_ptr<client::Transport>(
                client::NewInProcessTransport(api->get(), static_cast<size_t>(f.max_request_bytes))));
  }
  std::vector<controllers::ControllerDescriptor> scheduler_registry;
  std::unique_ptr<controllers::ControllerManager> scheduler;
  if (whole_server && !f.disable_scheduler) {
    auto so = SchedulerManagerOptions(f.scheduler_config, &scheduler_registry);
    if (!so.ok()) return Fail(so.status().message());
    so->registry = &scheduler_registry;
    auto s = controllers::ControllerManager::Create(components.get(), std::move(*so));
    if (!s.ok()) return Fail(s.status().message());
    scheduler = std::move(*s);
    scheduler->Start();
  }
  if (whole_server && !f.disable_controller_manager) {
    auto m = controllers::ControllerManager::Create(components.get(), std::move(cm));
    if (!m.ok()) return Fail(m.status().message());
    manager = std::move(*m);
    manager->Start();
  }

  // The cluster DNS, and the kube-dns Service that leads to it.
  std::unique_ptr<dns::DnsServer> dns_server;
  if (whole_server && !f.disable_dns) {
    auto& k = node_options.kubelet;
    if (k.cluster_dns.empty()) k.cluster_dns = {ClusterDnsAddress(f.service_cidr)};
    dns::DnsServerOptions d;
    if (!k.cluster_domain.empty()) d.cluster_domain = k.cluster_domain;
    if (!k.resolv_conf.empty()) d.resolv_conf = k.resolv_conf;
    d.listen = {f.dns_bind_address};
    auto ds = dns::DnsServer::Start(components.get(), d);
    auto host = kubelet::ReadHost(f.data_dir);
    std::string host_ip = k.node_ip;
    if (host_ip.empty() && host.ok() && !host->addresses.empty()) host_ip = host->addresses[0];
    if (!ds.ok()) {
      // Another server on this host has the port: this one runs without.
      LogWarning("server", "no cluster DNS: " + ds.status().message());
    } else if (host_ip.empty()) {
      LogWarning("server", "no cluster DNS: the host has no address pods can reach");
    } else {
      dns_server = std::move(*ds);
      std::string hostname = host.ok() ? host->hostname : "server";
      if (Status p = PublishClusterDns(components.get(), k.cluster_dns[0], host_ip,
                                       dns_server->Port(), "kube-dns-" + hostname);
          !p.ok()) {
        LogWarning("server", "publishing kube-system/kube-dns: " + p.message());
      } else {
        std::printf("keelson %s: cluster DNS for %s on %s:%d (Service %s)\n", name.c_str(),
                    d.cluster_domain.c_str(), host_ip.c_str(), dns_server->Port(),
                    k.cluster_dns[0].c_str());
        std::fflush(stdout);
      }
    }
  }

  std::unique_ptr<kubelet::Node> node;
  std::unique_ptr<client::RestClient> node_client;
  if (run_agent) {
    if (geteuid() != 0 && node_options.container_runtime_endpoint.empty()) {
      LogWarning("server", "no local node: running containers needs root (containerd, network "
                           "namespaces); --disable-agent runs the control plane alone");
    } else {
      client::RestConfig rc;
      rc.server = url;
      rc.user_agent = "kubelet";
      node_client = std::make_unique<client::RestClient>(
          rc, std::shared_ptr<client::Transport>(client::NewInProcessTransport(
                  api->get(), static_cast<size_t>(f.max_request_bytes))));
      DefaultNodeImages(&node_options);
      auto n = kubelet::Node::Start(node_client.get(), std::move(node_options));
      if (!n.ok()) return Fail("the local node: " + n.status().message());
      node = std::move(*n);
      std::printf("keelson %s: local node %s on %s\n", name.c_str(),
                  node->kubelet()->NodeName().c_str(), node->RuntimeEndpoint().c_str());
      std::fflush(stdout);
    }
  }
  // The local node's Service proxy, as an agent runs one.
  std::unique_ptr<client::RestClient> proxy_client;
  std::unique_ptr<proxy::Proxy> service_proxy;
  if (node && !proxy_flags.disable) {
    client::RestConfig rc;
    rc.server = url;
    rc.user_agent = "keelson-proxy";
    proxy_client = std::make_unique<client::RestClient>(
        rc, std::shared_ptr<client::Transport>(client::NewInProcessTransport(
                api->get(), static_cast<size_t>(f.max_request_bytes))));
    auto& po = proxy_flags.options;
    po.node_name = node->kubelet()->NodeName();
    if (!cluster_cidr.empty()) po.ruleset.cluster_cidrs = {cluster_cidr};
    po.ruleset.service_cidr = f.service_cidr;
    auto p = proxy::Proxy::Start(proxy_client.get(), std::move(po));
    if (!p.ok()) return Fail("the Service proxy: " + p.status().message());
    service_proxy = std::move(*p);
  }

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  if (service_proxy) service_proxy->Stop();
  if (node) node->Stop();
  if (dns_server) dns_server->Stop();
  if (manager) manager->Stop();
  if (scheduler) scheduler->Stop();
  (*api)->Shutdown();
  (*http)->Stop();
  return 0;
}

}  // namespace keelson::cmd
