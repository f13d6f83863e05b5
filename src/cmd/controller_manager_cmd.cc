// `keelson controller-manager`: the controllers, leader-elected together, against the API
// server a kubeconfig names (controllers/controller_manager.h). `keelson server` runs the same
// manager in-process.

#include <cstdio>
#include <string>

#include "client/kubeconfig.h"
#include "cmd/commands.h"
#include "cmd/component_flags.h"

namespace keelson::cmd {

int RunControllerManagerCommand(int argc, char** argv) {
  controllers::ControllerManagerOptions options;
  client::KubeconfigLoadOptions kc;
  double qps = 0;
  int burst = 100;
  FlagSet flags("controller-manager");
  flags.String("kubeconfig", &kc.explicit_path,
               "the API server and credentials (default: $KUBECONFIG, then ~/.kube/config)");
  flags.String("context", &kc.context, "the kubeconfig context (default: its current context)");
  flags.Double("kube-api-qps", &qps, 0, 1e6,
               "requests per second to the API server; 0: no client-side limit, the server's\n"
               "in-flight limits push back (default 0)");
  flags.Int("kube-api-burst", &burst, 1, 1 << 20, "requests in a burst over --kube-api-qps (default 100)");
  AddControllerManagerFlags(&flags, &options);
  bool help = false;
  if (Status s = flags.Parse(argc, argv, &help); !s.ok()) {
    std::fprintf(stderr, "keelson controller-manager: %s (see --help)\n", s.message().c_str());
    return 2;
  }
  if (help) {
    std::printf(
        "Usage: keelson controller-manager [flags]\n\n"
        "Runs the controllers (node lifecycle, replication, deployments, endpoints, namespaces,\n"
        "garbage collection, service accounts, ...) against the API server a kubeconfig names,\n"
        "leader-elected on the Lease kube-system/kube-controller-manager so that several can run\n"
        "and one acts at a time. Stop it with SIGTERM: it releases the lease.\n\n%s",
        flags.Usage().c_str());
    return 0;
  }
  if (auto selected = controllers::SelectControllers(options.controllers,
                                                     controllers::BuiltInControllers());
      !selected.ok()) {
    std::fprintf(stderr, "keelson controller-manager: --controllers: %s\n",
                 selected.status().message().c_str());
    return 2;
  }
  return RunComponent("controller-manager", kc, qps, burst, std::move(options));
}

}  // namespace keelson::cmd
