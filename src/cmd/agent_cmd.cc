// `keelson agent`: a node of the cluster. Without --simulate, a real node (the kubelet and its
// containerd, kubelet_cmd.cc); with `--simulate N`, N hollow nodes in this process
// (simnode/hollow_nodes.h) against the API server a kubeconfig names, to exercise the control
// plane at scale without containers.
#include <pthread.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "cmd/commands.h"
#include "simnode/hollow_nodes.h"

namespace keelson::cmd {
namespace {

constexpr const char* kUsage = R"(Usage: keelson agent --simulate N [flags]
       keelson agent [kubelet flags]    (a real node: see keelson kubelet --help)

Runs N simulated ("hollow") nodes in this process: each registers its Node and Lease,
heartbeats as a kubelet does, and reports the pods bound to it Running and Ready (and deleted
once they are being deleted). Stop it with SIGTERM; `kill -9` stops every heartbeat at once,
as a node failure would.

Flags:
  --simulate N                 how many hollow nodes
  --kubeconfig FILE            the API server and credentials (default: $KUBECONFIG, then
                               ~/.kube/config)
  --context NAME               the kubeconfig context (default: its current context)
  --node-name-prefix PREFIX    node names are PREFIX0, PREFIX1, ... (default hollow-node-)
  --first-index I              the first node's number (default 0), for several agents
  --node-labels k=v,...        labels of every node (beside hostname, os and arch)
  --node-taints k=v:Effect,... taints of every node (Effect: NoSchedule, PreferNoSchedule,
                               NoExecute)
  --cpu Q, --memory Q, --pods N, --ephemeral-storage Q
                               each node's capacity (default 4, 16Gi, 110, 100Gi)
  --node-config FILE           the node template from a file (YAML or JSON: namePrefix,
                               labels, taints, capacity); flags given after it override it
  --pod-start-delay DURATION   how long a bound pod takes to become Running (default 0s;
                               e.g. 500ms, 2s)
  --lease-duration SECONDS     the nodes' lease duration (default 40)
  --renew-interval DURATION    how often each node renews its lease (default 10s)
  --status-report-interval DURATION
                               how often each node reports its status (default 5m)
  --workers N                  API requests in flight at once (default 16)
  --qps Q, --burst N           client-side rate limit (default: none)
)";

int Fail(const std::string& message) {
  std::fprintf(stderr, "keelson agent: %s\n", message.c_str());
  return 2;
}

// "500ms", "2s", "5m", "1h", or plain seconds.
bool ParseDuration(std::string_view text, std::chrono::milliseconds* out) {
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0) return false;
  double value = std::atof(std::string(text.substr(0, digits)).c_str());
  std::string_view unit = text.substr(digits);
  double ms = unit == "ms"                  ? value
              : unit == "s" || unit.empty() ? value * 1000
              : unit == "m"                 ? value * 60000
              : unit == "h"                 ? value * 3600000
                                            : -1;
  if (ms < 0) return false;
  *out = std::chrono::milliseconds(static_cast<int64_t>(ms));
  return true;
}

}  // namespace

int RunAgentCommand(int argc, char** argv) {
  // Without --simulate the agent is a real node: the kubelet and its containerd.
  bool simulated = false, help = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--simulate" || a.rfind("--simulate=", 0) == 0) simulated = true;
    if (a == "--help" || a == "-h") help = true;
  }
  if (help && !simulated) {
    std::fputs(kUsage, stdout);
    std::fputs("\n", stdout);
  }
  if (!simulated) return RunKubeletCommand(argc, argv);
  simnode::HollowNodesOptions opts;
  client::KubeconfigLoadOptions kc;
  double qps = 0;
  int burst = 10;

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg != "--help" && arg != "-h") {
      if (i + 1 >= argc) return Fail(arg + " needs a value (see --help)");
      value = argv[++i];
    }
    auto number = [&](int* out) {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0') return false;
      *out = static_cast<int>(v);
      return true;
    };
    std::chrono::milliseconds d{};
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--simulate") {
      if (!number(&opts.count) || opts.count < 1) return Fail("--simulate: a number >= 1");

    } else if (arg == "--kubeconfig") {
      kc.explicit_path = value;
    } else if (arg == "--context") {
      kc.context = value;
    } else if (arg == "--node-name-prefix") {
      opts.node.name_prefix = value;
    } else if (arg == "--first-index") {
      if (!number(&opts.first_index) || opts.first_index < 0) return Fail("--first-index: >= 0");
    } else if (arg == "--node-labels") {
      auto l = simnode::ParseLabels(value);
      if (!l.ok()) return Fail("--node-labels: " + l.status().message());
      opts.node.labels = std::move(*l);
    } else if (arg == "--node-taints") {
      auto t = simnode::ParseTaints(value);
      if (!t.ok()) return Fail("--node-taints: " + t.status().message());
      opts.node.taints = std::move(*t);
    } else if (arg == "--cpu") {
      opts.node.cpu = value;
    } else if (arg == "--memory") {
      opts.node.memory = value;
    } else if (arg == "--pods") {
      opts.node.pods = value;
    } else if (arg == "--ephemeral-storage") {
      opts.node.ephemeral_storage = value;
    } else if (arg == "--node-config") {
      std::ifstream in(value);
      if (!in) return Fail("--node-config: cannot read " + value);
      std::stringstream text;
      text << in.rdbuf();
      auto t = simnode::ParseNodeTemplate(text.str());
      if (!t.ok()) return Fail("--node-config " + value + ": " + t.status().message());
      opts.node = std::move(*t);
    } else if (arg == "--pod-start-delay") {
      if (!ParseDuration(value, &opts.pod_start_delay))
        return Fail("--pod-start-delay: a duration");
    } else if (arg == "--lease-duration") {
      int s = 0;
      if (!number(&s) || s < 1) return Fail("--lease-duration: seconds >= 1");
      opts.lease_duration = std::chrono::seconds(s);
    } else if (arg == "--renew-interval") {
      if (!ParseDuration(value, &d) || d.count() <= 0) return Fail("--renew-interval: a duration");
      opts.renew_interval = d;
    } else if (arg == "--status-report-interval") {
      if (!ParseDuration(value, &d) || d.count() <= 0) {
        return Fail("--status-report-interval: a duration");
      }
      opts.status_report_interval = d;
    } else if (arg == "--workers") {
      if (!number(&opts.workers) || opts.workers < 1) return Fail("--workers: >= 1");
    } else if (arg == "--qps") {
      qps = std::atof(value.c_str());
    } else if (arg == "--burst") {
      if (!number(&burst) || burst < 1) return Fail("--burst: >= 1");
    } else {
      return Fail("unknown flag " + arg + " (see --help)");
    }
  }
  auto config = client::LoadKubeconfig(kc);
  if (!config.ok()) return Fail("kubeconfig: " + config.status().message());
  config->rest.user_agent = "keelson-agent";
  config->rest.qps = qps;
  config->rest.burst = burst;
  auto client = client::RestClient::NewHttp(config->rest);
  if (!client.ok()) return Fail(client.status().message());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started below inherits it

  auto start = std::chrono::steady_clock::now();
  auto nodes = simnode::HollowNodes::Start(client->get(), opts);
  if (!nodes.ok()) return Fail(nodes.status().message());
  std::thread report([&] {
    if ((*nodes)->WaitRegistered(std::chrono::hours(24))) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("keelson agent: %d hollow nodes registered in %.2f s\n", opts.count, secs);
      std::fflush(stdout);
    }
  });
  int sig = 0;
  sigwait(&signals, &sig);
  (*nodes)->Stop();
  report.join();
  auto s = (*nodes)->Stats();
  std::printf(
      "keelson agent: stopped (%d nodes, %llu lease renewals, %llu pods started, "
      "%llu pods deleted)\n",
      s.registered, static_cast<unsigned long long>(s.lease_renewals),
      static_cast<unsigned long long>(s.pods_started),
      static_cast<unsigned long long>(s.pods_deleted));
  return 0;
}

}  // namespace keelson::cmd
