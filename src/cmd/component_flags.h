// Flags shared by the control-plane commands: the controller manager's (also accepted by
// `keelson server`, which runs it in-process), with upstream's names and defaults.
#pragma once

#include <string>
#include <vector>

#include "client/kubeconfig.h"
#include "cmd/flags.h"
#include "controllers/controller_manager.h"

namespace keelson::cmd {

// --controllers, --leader-elect*, --concurrent-*-syncs, node lifecycle, IPAM, pod GC,
// EndpointSlice settings.
void AddControllerManagerFlags(FlagSet* flags, controllers::ControllerManagerOptions* options);

// The scheduler's manager options (leader election from the configuration's leaderElection,
// on kube-system/kube-scheduler) and its one-entry registry, from a KubeSchedulerConfiguration
// file ("" for the default configuration). InvalidArgument naming the file's problem.
// (scheduler_cmd.cc)
Result<controllers::ControllerManagerOptions> SchedulerManagerOptions(
    const std::string& config_file, std::vector<controllers::ControllerDescriptor>* registry);

// A component's process: connects to the API server `kubeconfig` names as `keelson-NAME`
// (with the client-side limits), runs a ControllerManager with `options` until SIGTERM or
// SIGINT, then stops it, releasing its lease. Errors go to stderr as `keelson NAME: ...`.
// The exit code: 0, or 2 when it cannot start.
int RunComponent(const std::string& name, const client::KubeconfigLoadOptions& kubeconfig,
                 double qps, int burst, controllers::ControllerManagerOptions options);

}  // namespace keelson::cmd
