// `keelson kubelet`: a real node — the kubelet and its containerd — against an
// API server.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "cmd/commands.h"
#include "cmd/node_flags.h"
#include "cmd/proxy_flags.h"
#include "kubelet/containerd/containerd.h"
#include "kubelet/pod_model.h"
#include "simnode/hollow_nodes.h"

namespace keelson::cmd {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKubeletUsage = R"(Usage: keelson %s [flags]

Runs a node: registers it with the API server, heartbeats, and runs the pods bound to it
through containerd (its own, supervised under --data-dir, or --container-runtime-endpoint).
Stop it with SIGTERM; the containers keep running and a restarted kubelet adopts them.

)";

// "cpu=500m,memory=1Gi" (--system-reserved).
std::string ParseReserved(std::string_view text, kubelet::KubeletOptions* o) {
  auto labels = simnode::ParseLabels(text);
  if (!labels.ok()) return labels.status().message();
  for (const auto& [k, v] : *labels) {
    if (k == "cpu") {
      auto m = kubelet::MilliCpu(v);
      if (!m) return "cpu=" + v + ": not a quantity";
      o->reserved_milli_cpu = *m;
    } else if (k == "memory") {
      auto b = kubelet::Bytes(v);
      if (!b) return "memory=" + v + ": not a quantity";
      o->reserved_memory_bytes = *b;
    } else {
      return "unknown resource " + k + " (cpu, memory)";
    }
  }
  return "";
}

// "memory.available<100Mi,nodefs.available<10%" (--eviction-hard); "" turns both off.
std::string ParseEvictionHard(std::string_view text, kubelet::KubeletOptions* o) {
  o->eviction_memory_available_bytes = 0;
  o->eviction_nodefs_available_fraction = 0;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string term(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto lt = term.find('<');
    if (lt == std::string::npos) return term + ": want signal<quantity";
    std::string signal = term.substr(0, lt), value = term.substr(lt + 1);
    if (signal == "memory.available") {
      auto b = kubelet::Bytes(value);
      if (!b) return term + ": not a quantity";
      o->eviction_memory_available_bytes = *b;
    } else if (signal == "nodefs.available") {
      if (value.empty() || value.back() != '%') return term + ": want a percentage";
      double pct = std::atof(value.c_str());
      if (pct < 0 || pct > 100) return term + ": want a percentage";
      o->eviction_nodefs_available_fraction = pct / 100.0;
    } else {
      return "unknown signal " + signal + " (memory.available, nodefs.available)";
    }
  }
  return "";
}

}  // namespace

void AddNodeFlags(FlagSet* f, kubelet::NodeOptions* o, bool with_data_dir) {
  kubelet::KubeletOptions& k = o->kubelet;
  f->String("node-name", &k.node_name, "the Node's name (default: the host's name)");
  f->String("node-ip", &k.node_ip, "the node's InternalIP (default: the host's first address)");
  if (with_data_dir) {
    f->String("data-dir", &k.data_dir,
              "the node's state: containerd, pod logs, CNI config (default " + k.data_dir + ")");
  }
  f->Custom(
      "node-labels", "k=v,...",
      [&k](std::string_view v) {
        auto l = simnode::ParseLabels(v);
        if (!l.ok()) return l.status().message();
        k.node_labels = std::move(*l);
        return std::string();
      },
      "labels the Node registers with");
  f->Custom(
      "register-with-taints", "k=v:Effect,...",
      [&k](std::string_view v) {
        auto t = simnode::ParseTaints(v);
        if (!t.ok()) return t.status().message();
        k.node_taints = std::move(*t);
        return std::string();
      },
      "taints the Node registers with");
  f->Int("max-pods", &k.max_pods, 1, 10000, "pods this node runs at most (default 110)");
  f->Custom(
      "eviction-hard", "signal<quantity,...",
      [&k](std::string_view v) { return ParseEvictionHard(v, &k); },
      "hard eviction thresholds (default memory.available<100Mi,nodefs.available<10%)");
  f->Custom(
      "container-log-max-size", "quantity",
      [&k](std::string_view v) {
        auto b = kubelet::Bytes(std::string(v));
        if (!b || *b <= 0) return std::string(v) + ": want a positive quantity (e.g. 10Mi)";
        k.container_log.max_size_bytes = *b;
        return std::string();
      },
      "a container's log file is rotated once it reaches this size (default 10Mi)");
  f->Int("container-log-max-files", &k.container_log.max_files, 2, 1000000,
         "the most log files a container keeps, the live one included (default 5)");
  f->String("pod-manifest-path", &k.pod_manifest_path,
            "a directory of pod manifests run as static pods, with mirror pods in the API");
  f->Custom(
      "system-reserved", "cpu=Q,memory=Q",
      [&k](std::string_view v) { return ParseReserved(v, &k); },
      "resources kept from pods: allocatable is capacity minus these");
  f->String("container-runtime-endpoint", &o->container_runtime_endpoint,
            "the CRI socket of a running runtime (default: the node's own "
            "containerd)");
  f->String("containerd", &o->containerd.binary,
            "the containerd binary the node runs (default containerd on PATH)");
  f->String("pause-image", &o->containerd.sandbox_image,
            "the pod sandbox image (default " + o->containerd.sandbox_image + ")");
  f->List("images", &o->image_archives,
          "image archives (files, or directories of *.tar) imported at start "
          "(default: the "
          "images built beside the keelson binary)");
  f->List("cluster-dns", &k.cluster_dns, "the cluster DNS servers pods resolve through");
  f->String("cluster-domain", &k.cluster_domain,
            "the cluster's DNS domain (default cluster.local)");
  f->String("resolv-conf", &k.resolv_conf, "the node's resolvers (default /etc/resolv.conf)");
  f->String("cni-bin-dir", &o->containerd.cni_bin_dir,
            "the CNI plugins (default " + o->containerd.cni_bin_dir + ")");
  f->Int("kubelet-port", &k.kubelet_port, 0, 65535,
         "the port of the kubelet's server (logs, exec, attach, port-forward for the API "
         "server); 0 picks a free one (default 10250)");
  f->String("address", &o->address,
            "the address the kubelet's server listens on (default 0.0.0.0)");
  f->String("cni-bridge", &k.cni_bridge,
            "the bridge of the pod network (default " + k.cni_bridge + ")");
  f->String("cni-conf-dir", &k.cni_conf_dir,
            "where the pod network's CNI config is written (default "
            "DATA-DIR/containerd/net.d)");
}

void DefaultNodeImages(kubelet::NodeOptions* o) {
  if (!o->image_archives.empty()) return;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return;
  fs::path dir = self.parent_path() / "images";
  if (fs::is_directory(dir, ec)) o->image_archives.push_back(dir.string());
}

int RunKubeletCommand(int argc, char** argv) {
  kubelet::NodeOptions options;
  client::KubeconfigLoadOptions kc;
  double qps = 50;
  int burst = 100;
  FlagSet f("kubelet");
  f.String("kubeconfig", &kc.explicit_path,
           "the API server and credentials (default: $KUBECONFIG, then "
           "~/.kube/config)");
  f.String("context", &kc.context, "the kubeconfig context (default: its current context)");
  f.Double("kube-api-qps", &qps, 0, 1e6, "requests per second to the API server (default 50)");
  f.Int("kube-api-burst", &burst, 1, 1000000, "bursts of requests (default 100)");
  AddNodeFlags(&f, &options);
  // An agent is the kubelet and the Service proxy.
  const bool agent = std::string_view(argv[0]) == "agent";
  ProxyFlags proxy_flags;
  if (agent) AddProxyFlags(&f, &proxy_flags, /*with_disable=*/true, /*with_cluster_cidr=*/true);
  bool help = false;
  if (auto s = f.Parse(argc, argv, &help); !s.ok()) {
    std::fprintf(stderr, "keelson kubelet: %s\n", s.message().c_str());
    return 2;
  }
  if (help) {
    std::printf(kKubeletUsage, argv[0]);
    std::printf("%s", f.Usage().c_str());
    return 0;
  }
  if (agent) {
    if (Status s = FinishProxyFlags(&proxy_flags); !s.ok()) {
      std::fprintf(stderr, "keelson agent: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (geteuid() != 0 && options.container_runtime_endpoint.empty()) {
    std::fprintf(stderr,
                 "keelson kubelet: running containers needs root (containerd, network "
                 "namespaces); run as root or give --container-runtime-endpoint\n");
    return 2;
  }
  DefaultNodeImages(&options);
  auto config = client::LoadKubeconfig(kc);
  if (!config.ok()) {
    std::fprintf(stderr, "keelson kubelet: kubeconfig: %s\n", config.status().message().c_str());
    return 2;
  }
  config->rest.user_agent = "kubelet";
  config->rest.qps = qps;
  config->rest.burst = burst;
  auto client = client::RestClient::NewHttp(config->rest);
  if (!client.ok()) {
    std::fprintf(stderr, "keelson kubelet: %s\n", client.status().message().c_str());
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto node = kubelet::Node::Start(client->get(), std::move(options));
  if (!node.ok()) {
    std::fprintf(stderr, "keelson kubelet: %s\n", node.status().message().c_str());
    return 2;
  }
  std::printf("keelson kubelet: node %s on %s\n", (*node)->kubelet()->NodeName().c_str(),
              (*node)->RuntimeEndpoint().c_str());
  std::fflush(stdout);
  std::unique_ptr<proxy::Proxy> service_proxy;
  if (agent && !proxy_flags.disable) {
    auto& po = proxy_flags.options;
    po.node_name = (*node)->kubelet()->NodeName();
    // Traffic from this node's pods is the cluster's; the pod CIDR comes with the Node.
    if (po.ruleset.cluster_cidrs.empty()) {
      po.ruleset.cluster_cidrs = NodePodCidrs(client->get(), po.node_name, std::chrono::seconds(30));
    }
    auto p = proxy::Proxy::Start(client->get(), std::move(po));
    if (!p.ok()) {
      std::fprintf(stderr, "keelson agent: the Service proxy: %s\n", p.status().message().c_str());
      (*node)->Stop();
      return 2;
    }
    service_proxy = std::move(*p);
    std::printf("keelson agent: Service proxy on node %s\n", (*node)->kubelet()->NodeName().c_str());
    std::fflush(stdout);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  if (service_proxy) service_proxy->Stop();
  (*node)->Stop();
  return 0;
}

}  // namespace keelson::cmd
