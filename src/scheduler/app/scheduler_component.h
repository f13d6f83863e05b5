// The scheduler wired to the API: informers feed Scheduler::OnEvent, ApiSchedulerClient
// carries its decisions out. It runs as the one component of a ControllerManager
// (controllers/controller_manager.h) so that `keelson scheduler` — and the scheduler inside
// `keelson server` — get the same leader election and terms, on the Lease
// kube-system/kube-scheduler: each term builds a fresh scheduler over freshly synced
// informers, so a new leader starts from the API's state (pods already bound, nominations).
//
// Pods that finished (Succeeded, Failed) reach the scheduler as deletions, as upstream's
// field selector `status.phase!=Succeeded,status.phase!=Failed` makes them.
#pragma once

#include <vector>

#include "controllers/controller.h"
#include "scheduler/config.h"
#include "scheduler/scheduler.h"

namespace keelson::scheduler {

// The registry of a scheduler manager: one entry, "scheduler".
std::vector<controllers::ControllerDescriptor> SchedulerComponents(Configuration config,
                                                                   SchedulerOptions options);

}  // namespace keelson::scheduler
