// `keelson scheduler`: the scheduler against the API server a kubeconfig names, leader-elected
// on the Lease kube-system/kube-scheduler (scheduler/app/scheduler_component.h). `keelson
// server` runs the same scheduler in-process.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "client/kubeconfig.h"
#include "cmd/commands.h"
#include "cmd/component_flags.h"
#include "scheduler/app/scheduler_component.h"
#include "scheduler/plugins/registry.h"

namespace keelson::cmd {

Result<controllers::ControllerManagerOptions> SchedulerManagerOptions(
    const std::string& config_file, std::vector<controllers::ControllerDescriptor>* registry) {
  scheduler::Configuration config = scheduler::DefaultConfiguration();
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) return InvalidArgumentError("--config: cannot read " + config_file);
    std::stringstream text;
    text << in.rdbuf();
    auto loaded = scheduler::LoadConfiguration(text.str(), scheduler::InTreeRegistry());
    if (!loaded.ok()) {
      return InvalidArgumentError("--config " + config_file + ": " + loaded.status().message());
    }
    config = std::move(*loaded);
  }
  controllers::ControllerManagerOptions o;
  const auto& le = config.leader_election;
  o.component = "scheduler";
  o.leader_elect = le.leader_elect;
  o.lease_duration = le.lease_duration;
  o.renew_deadline = le.renew_deadline;
  o.retry_period = le.retry_period;
  o.lease_namespace = le.resource_namespace;
  o.lease_name = le.resource_name;
  *registry = scheduler::SchedulerComponents(std::move(config), scheduler::SchedulerOptions{});
  return o;
}

int RunSchedulerCommand(int argc, char** argv) {
  client::KubeconfigLoadOptions kc;
  std::string config_file;
  double qps = 0;
  int burst = 100;
  // Flags that override the configuration file's leaderElection, as upstream's do.
  std::optional<bool> leader_elect;
  std::chrono::nanoseconds lease{0}, renew{0}, retry{0};
  FlagSet flags("scheduler");
  flags.String("config", &config_file,
               "a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) file: profiles,\n"
               "plugins and their args, percentageOfNodesToScore, leaderElection");
  flags.String("kubeconfig", &kc.explicit_path,
               "the API server and credentials (default: $KUBECONFIG, then ~/.kube/config)");
  flags.String("context", &kc.context, "the kubeconfig context (default: its current context)");
  flags.Double("kube-api-qps", &qps, 0, 1e6,
               "requests per second to the API server; 0: no client-side limit (default 0)");
  flags.Int("kube-api-burst", &burst, 1, 1 << 20, "requests in a burst (default 100)");
  flags.Custom("leader-elect", "", [&](std::string_view v) -> std::string {
    if (v != "true" && v != "false") return "needs true or false";
    leader_elect = v == "true";
    return "";
  }, "stand for election on the Lease kube-system/kube-scheduler (default true)", true);
  flags.Duration("leader-elect-lease-duration", &lease, "(default 15s)");
  flags.Duration("leader-elect-renew-deadline", &renew, "(default 10s)");
  flags.Duration("leader-elect-retry-period", &retry, "(default 2s)");
  bool help = false;
  if (Status s = flags.Parse(argc, argv, &help); !s.ok()) {
    std::fprintf(stderr, "keelson scheduler: %s (see --help)\n", s.message().c_str());
    return 2;
  }
  if (help) {
    std::printf(
        "Usage: keelson scheduler [flags]\n\n"
        "Places unassigned pods on nodes (the scheduling framework and upstream's in-tree\n"
        "plugins: resources, affinity and anti-affinity, taints, topology spread, priorities and\n"
        "preemption) against the API server a kubeconfig names, leader-elected on the Lease\n"
        "kube-system/kube-scheduler.\n\n%s",
        flags.Usage().c_str());
    return 0;
  }
  std::vector<controllers::ControllerDescriptor> registry;
  auto options = SchedulerManagerOptions(config_file, &registry);
  if (!options.ok()) {
    std::fprintf(stderr, "keelson scheduler: %s\n", options.status().message().c_str());
    return 2;
  }
  if (leader_elect) options->leader_elect = *leader_elect;
  if (lease.count()) options->lease_duration = lease;
  if (renew.count()) options->renew_deadline = renew;
  if (retry.count()) options->retry_period = retry;
  options->registry = &registry;
  return RunComponent("scheduler", kc, qps, burst, std::move(*options));
}

}  // namespace keelson::cmd
