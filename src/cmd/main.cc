// keelson: one binary, one subcommand per component.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "absl/synchronization/mutex.h"
#include "cmd/commands.h"

namespace {

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "keelson - a Kubernetes-compatible container orchestrator\n\n"
               "Usage: keelson <command> [flags]\n\n"
               "Commands:\n"
               "  version   print the version\n"
               "  server    run the control plane on the embedded store: the API server, the\n"
               "            scheduler and the controller manager\n"
               "  apiserver run the Kubernetes API server\n"
               "  controller-manager\n"
               "            run the controllers against an API server\n"
               "  scheduler run the scheduler against an API server\n"
               "  agent     run a node: the kubelet on containerd (or --simulate N hollow\n"
               "            nodes)\n"
               "  kubelet   run the kubelet (and the node's containerd)\n"
               "  proxy     run the Service proxy (nftables) of a node\n"
               "  dns       run the cluster DNS server\n"
               "  images    import image archives into the node's runtime\n"
               "  store     run the embedded store, serving the etcd v3 API\n\n"
               "Run 'keelson <command> --help' for a command's flags.\n");
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC locks absl mutexes on every call; Debian's absl is built with its deadlock detector
  // on, which costs a few percent of server CPU and finds nothing in a release binary.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "version" || cmd == "--version") {
    std::printf("keelson version %s\n", KEELSON_VERSION);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    PrintUsage(stdout);
    return 0;
  }
  if (cmd == "store") return keelson::cmd::RunStoreCommand(argc - 1, argv + 1);
  if (cmd == "scheduler") return keelson::cmd::RunSchedulerCommand(argc - 1, argv + 1);
  if (cmd == "controller-manager") {
    return keelson::cmd::RunControllerManagerCommand(argc - 1, argv + 1);
  }
  if (cmd == "agent") return keelson::cmd::RunAgentCommand(argc - 1, argv + 1);
  if (cmd == "kubelet") return keelson::cmd::RunKubeletCommand(argc - 1, argv + 1);
  if (cmd == "proxy") return keelson::cmd::RunProxyCommand(argc - 1, argv + 1);
  if (cmd == "dns") return keelson::cmd::RunDnsCommand(argc - 1, argv + 1);
  if (cmd == "images") return keelson::cmd::RunImagesCommand(argc - 1, argv + 1);
  if (cmd == "server" || cmd == "apiserver") {
    return keelson::cmd::RunServerCommand(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "keelson: unknown command '%s'\n\n", argv[1]);
  PrintUsage(stderr);
  return 2;
}
