// Flags shared by the control-plane commands: the controller manager's (also accepted by
// `keelson server`, which runs it in-process), with upstream's names and defaults.
#pragma once

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

}  // namespace keelson::cmd
