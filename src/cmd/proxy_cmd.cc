// `keelson proxy`: the Service proxy (proxy/proxy.h) against the API server a kubeconfig
// names; `--cleanup` removes its rules and exits.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "api/json_fields.h"
#include "api/resources.h"
#include "client/kubeconfig.h"
#include "cmd/commands.h"
#include "cmd/proxy_flags.h"

namespace keelson::cmd {

void AddProxyFlags(FlagSet* f, ProxyFlags* p, bool with_disable, bool with_cluster_cidr) {
  auto& o = p->options;
  if (with_cluster_cidr) {
    f->List("cluster-cidr", &o.ruleset.cluster_cidrs,
            "the pod network: traffic to ClusterIPs from elsewhere is masqueraded (default: the\n"
            "node's podCIDRs)");
    f->String("service-cidr", &o.ruleset.service_cidr,
              "the Service range: traffic to its unallocated addresses is dropped");
  }
  f->Bool("masquerade-all", &o.ruleset.masquerade_all,
          "masquerade all traffic to Services (default false)");
  f->Bool("nodeport-localhost", &o.ruleset.nodeport_localhost,
          "serve node ports on 127.0.0.1 too (sets route_localnet; default true)");
  f->Custom("min-sync-period", "duration", [&o](std::string_view v) -> std::string {
    auto d = ParseGoDuration(v);
    if (!d.ok() || d->count() < 0) return "a duration such as 100ms";
    o.min_sync_period = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    return "";
  }, "the least time between two syncs (default 0s: changes are applied as they come,\n"
     "those arriving during a sync together after it)");
  f->Custom("sync-period", "duration", [&o](std::string_view v) -> std::string {
    auto d = ParseGoDuration(v);
    if (!d.ok() || d->count() <= 0) return "a positive duration such as 1m";
    o.sync_period = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    return "";
  }, "how often a full sync rewrites the whole table, repairing drift (default 1m)");
  f->String("healthz-bind-address", &p->healthz_bind_address,
            "where /healthz, /livez and /metrics are served, IP:PORT (default 0.0.0.0:10256;\n"
            "port 0 picks a free one; \"\" serves none)");
  f->String("nft-table", &o.ruleset.table,
            "the nftables table (family ip) the proxy owns, and the prefix of its shard tables\n"
            "TABLE-0, TABLE-1, ... (default keelson-proxy)");
  f->Int("nft-shards", &o.ruleset.shards, 1, 256,
         "how many tables the Services' chains are spread over (default 16): a change is\n"
         "checked by the kernel against its own table only");
  f->String("netns", &o.tools.netns,
            "program the packet filter of this network namespace (a name under /run/netns)\n"
            "instead of the proxy's own (for tests and benchmarks)");
  f->Bool("keep-rules", &p->keep_rules, "leave the rules in place on exit (default false)");
  if (with_disable) {
    f->Bool("disable-kube-proxy", &p->disable, "run no Service proxy on this node (default false)");
  }
}

Status FinishProxyFlags(ProxyFlags* p) {
  auto& o = p->options;
  o.cleanup_on_exit = !p->keep_rules;
  if (p->healthz_bind_address.empty()) {
    o.healthz_port = -1;
  } else {
    auto colon = p->healthz_bind_address.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgumentError("--healthz-bind-address: IP:PORT, got " + p->healthz_bind_address);
    }
    o.healthz_bind_address = p->healthz_bind_address.substr(0, colon);
    if (o.healthz_bind_address.empty()) o.healthz_bind_address = "0.0.0.0";
    char* end = nullptr;
    long port = std::strtol(p->healthz_bind_address.c_str() + colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
      return InvalidArgumentError("--healthz-bind-address: bad port in " + p->healthz_bind_address);
    }
    o.healthz_port = static_cast<int>(port);
  }
  if (o.ruleset.table.empty()) return InvalidArgumentError("--nft-table: a name");
  return Status::Ok();
}

std::vector<std::string> NodePodCidrs(client::RestClient* client, const std::string& node,
                                      std::chrono::seconds wait) {
  auto nodes = client->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "nodes"));
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto obj = nodes.Get(node);
    if (obj.ok()) {
      std::vector<std::string> out;
      const auto* spec = api::fields::Obj(*obj, "spec");
      if (spec != nullptr) {
        if (const auto* list = api::fields::Arr(*spec, "podCIDRs")) {
          for (const auto& v : *list) {
            if (v.is_string() && v.as_string().find(':') == boost::json::string::npos) {
              out.emplace_back(v.as_string());
            }
          }
        }
        std::string one = api::fields::Str(spec, "podCIDR");
        if (out.empty() && !one.empty() && one.find(':') == std::string::npos) out.push_back(one);
      }
      if (!out.empty()) return out;
    }
    if (std::chrono::steady_clock::now() >= deadline) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int RunProxyCommand(int argc, char** argv) {
  ProxyFlags p;
  client::KubeconfigLoadOptions kc;
  std::string hostname;
  bool cleanup = false;
  FlagSet f("proxy");
  f.String("kubeconfig", &kc.explicit_path,
           "the API server and credentials (default: $KUBECONFIG, then ~/.kube/config)");
  f.String("context", &kc.context, "the kubeconfig context (default: its current context)");
  f.String("hostname-override", &hostname, "this node's name (default: the host name)");
  f.Bool("cleanup", &cleanup, "remove the proxy's rules and exit");
  AddProxyFlags(&f, &p, /*with_disable=*/false, /*with_cluster_cidr=*/true);
  bool help = false;
  auto fail = [](const std::string& m) {
    std::fprintf(stderr, "keelson proxy: %s\n", m.c_str());
    return 2;
  };
  if (Status s = f.Parse(argc, argv, &help); !s.ok()) return fail(s.message() + " (see --help)");
  if (help) {
    std::printf(
        "Usage: keelson proxy [flags]\n\n"
        "Runs the Service proxy of this node: it watches Services and EndpointSlices and\n"
        "programs the node's nftables table (keelson-proxy) so that ClusterIPs, node ports,\n"
        "external and load balancer IPs reach the Services' endpoints. Needs root (or\n"
        "CAP_NET_ADMIN). Stop it with SIGTERM: it removes its rules unless --keep-rules.\n\n%s",
        f.Usage().c_str());
    return 0;
  }
  if (Status s = FinishProxyFlags(&p); !s.ok()) return fail(s.message());
  if (cleanup) {
    auto filter = proxy::NewNftPacketFilter(p.options.tools);
    if (Status s = proxy::CleanupTables(filter.get(), p.options.ruleset); !s.ok()) {
      return fail("cleanup: " + s.message());
    }
    std::printf("keelson proxy: tables ip %s and %s-0..%d removed\n",
                p.options.ruleset.table.c_str(), p.options.ruleset.table.c_str(),
                p.options.ruleset.shards - 1);
    return 0;
  }
  if (hostname.empty()) {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    hostname = buf;
    for (auto& c : hostname) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  p.options.node_name = hostname;
  auto config = client::LoadKubeconfig(kc);
  if (!config.ok()) return fail("kubeconfig: " + config.status().message());
  config->rest.user_agent = "keelson-proxy";
  auto client = client::RestClient::NewHttp(config->rest);
  if (!client.ok()) return fail(client.status().message());
  if (p.options.ruleset.cluster_cidrs.empty()) {
    p.options.ruleset.cluster_cidrs = NodePodCidrs(client->get(), hostname, std::chrono::seconds(0));
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto proxy = proxy::Proxy::Start(client->get(), std::move(p.options));
  if (!proxy.ok()) return fail(proxy.status().message());
  std::printf("keelson proxy: node %s, health on port %d\n", hostname.c_str(),
              (*proxy)->HealthzPort());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  (*proxy)->Stop();
  return 0;
}

}  // namespace keelson::cmd
