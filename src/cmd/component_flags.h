// Flags shared by the control-plane commands: the controller manager's (also accepted by
// `keelson server`, which runs it in-process), with upstream's names and defaults.
#pragma once

#include "cmd/flags.h"
#include "controllers/controller_manager.h"

namespace keelson::cmd {

// --controllers, --leader-elect*, --concurrent-*-syncs, node lifecycle, IPAM, pod GC,
// EndpointSlice settings.
void AddControllerManagerFlags(FlagSet* flags, controllers::ControllerManagerOptions* options);

}  // namespace keelson::cmd
