// `keelson dns`: the cluster DNS server (dns/dns_server.h) against the API server a
// kubeconfig names, until SIGTERM or SIGINT.

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "cmd/commands.h"
#include "cmd/flags.h"
#include "common/log.h"
#include "dns/dns_server.h"

namespace keelson::cmd {
namespace {

// A flag that may be given several times (each adds its comma-separated values), unlike
// FlagSet::List, whose last use wins.
void Repeatable(FlagSet* flags, const std::string& name, std::vector<std::string>* out, bool* seen,
                const std::string& help) {
  flags->Custom(
      name, "strings",
      [out, seen](std::string_view v) -> std::string {
        if (!*seen) out->clear();  // the first use replaces the default
        *seen = true;
        while (!v.empty()) {
          size_t comma = v.find(',');
          std::string_view item = v.substr(0, comma);
          if (!item.empty()) out->emplace_back(item);
          v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        }
        return "";
      },
      help);
}

}  // namespace

int RunDnsCommand(int argc, char** argv) {
  client::KubeconfigLoadOptions kc;
  dns::DnsServerOptions o;
  bool listen_seen = false, upstream_seen = false;
  FlagSet flags("dns");
  flags.String("kubeconfig", &kc.explicit_path,
               "the API server and credentials (default: $KUBECONFIG, then ~/.kube/config)");
  flags.String("context", &kc.context, "the kubeconfig context (default: its current context)");
  Repeatable(&flags, "listen", &o.listen, &listen_seen,
             "ADDRESS:PORT to answer on, UDP and TCP (repeatable; port 0: a free port, printed;\n"
             "default 0.0.0.0:53)");
  flags.String("cluster-domain", &o.cluster_domain,
               "the domain the cluster's names live in (default cluster.local)");
  Repeatable(&flags, "upstream", &o.upstreams, &upstream_seen,
             "a resolver (ADDRESS or ADDRESS:PORT) for names outside the cluster domain\n"
             "(repeatable; default: the nameservers of --resolv-conf)");
  flags.String("resolv-conf", &o.resolv_conf,
               "where the upstream resolvers are read from (default /etc/resolv.conf)");
  flags.Int("ttl", &o.ttl_seconds, 0, 86400,
            "the TTL of the cluster's records, in seconds "
            "(default 5)");
  flags.Int("udp-workers", &o.udp_workers, 1, 64,
            "UDP sockets and threads per listen address (default 2)");
  flags.Int("max-udp-size", &o.max_udp_size, 512, 4096,
            "the largest answer over UDP, whatever a client's EDNS size (default 1232)");
  flags.Int("cache-size", &o.cache_entries, 0, 1 << 24,
            "forwarded answers kept in the cache (default 10000)");
  flags.Int("max-tcp-connections", &o.max_tcp_connections, 1, 1 << 20,
            "TCP connections served at once (default 512)");
  bool help = false;
  if (Status s = flags.Parse(argc, argv, &help); !s.ok()) {
    std::fprintf(stderr, "keelson dns: %s (see --help)\n", s.message().c_str());
    return 2;
  }
  if (help) {
    std::printf(
        "Usage: keelson dns [flags]\n\n"
        "The cluster DNS: answers for the Services of the API server a kubeconfig names as the\n"
        "Kubernetes DNS specification says (<svc>.<ns>.svc.<cluster-domain>: A/AAAA, SRV,\n"
        "PTR, CNAME for ExternalName), and forwards other names to the node's resolvers, with a\n"
        "cache. UDP and TCP, EDNS0.\n\n%s",
        flags.Usage().c_str());
    return 0;
  }
  auto config = client::LoadKubeconfig(kc);
  if (!config.ok()) {
    std::fprintf(stderr, "keelson dns: kubeconfig: %s\n", config.status().message().c_str());
    return 2;
  }
  config->rest.user_agent = "keelson-dns";
  auto rest = client::RestClient::NewHttp(config->rest);
  if (!rest.ok()) {
    std::fprintf(stderr, "keelson dns: %s\n", rest.status().message().c_str());
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started below inherits it
  auto server = dns::DnsServer::Start(rest->get(), o);
  if (!server.ok()) {
    std::fprintf(stderr, "keelson dns: %s\n", server.status().message().c_str());
    return 2;
  }
  // The line tests and scripts wait for (with the port actually bound).
  std::printf("keelson dns: serving %s on port %d\n", o.cluster_domain.c_str(), (*server)->Port());
  std::fflush(stdout);
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  LogInfo("dns", "stopping");
  (*server)->Stop();
  return 0;
}

}  // namespace keelson::cmd
