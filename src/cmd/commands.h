// The subcommands of the `keelson` binary. main.cc dispatches `keelson <name> ...` to them;
// each parses its own flags (argv[0] is the subcommand name) and returns the exit code.
#pragma once

namespace keelson::cmd {

// `keelson store`: serves the embedded store over the etcd v3 gRPC API until SIGTERM/SIGINT.
int RunStoreCommand(int argc, char** argv);

// `keelson server` / `keelson apiserver`: the Kubernetes API server until SIGTERM/SIGINT.
int RunServerCommand(int argc, char** argv);

// `keelson agent`: a node; today `--simulate N` hollow nodes against an API server.
int RunAgentCommand(int argc, char** argv);

// `keelson kubelet`: a real node (the kubelet and its containerd) until SIGTERM/SIGINT.
int RunKubeletCommand(int argc, char** argv);

// `keelson images import FILE...`: image archives into the node's runtime.
int RunImagesCommand(int argc, char** argv);

// `keelson proxy` (proxy_cmd.cc).
int RunProxyCommand(int argc, char** argv);

// `keelson dns`: the cluster DNS server until SIGTERM/SIGINT (dns_cmd.cc).
int RunDnsCommand(int argc, char** argv);

// `keelson controller-manager`: the controllers, leader-elected, until SIGTERM/SIGINT.
int RunControllerManagerCommand(int argc, char** argv);

// `keelson scheduler`: the scheduler, leader-elected, until SIGTERM/SIGINT.
int RunSchedulerCommand(int argc, char** argv);

}  // namespace keelson::cmd
