// ApiSchedulerClient: the scheduler's way out (scheduler/client.h) over the client library —
// bindings, pod status patches, preemption deletes and events through the API server, as
// upstream's scheduler sends them.
//
//   Bind            POST pods/NAME/binding {target: Node}, with the pod's uid
//   PatchPodStatus  strategic merge patch of pods/NAME/status: the condition (merged by type,
//                   lastTransitionTime now) and/or status.nominatedNodeName ("" clears it),
//                   with metadata.uid as a precondition
//   DeletePod       DELETE with a uid precondition (graceful, as upstream's preemption)
//   RecordEvent     events.k8s.io/v1 through one EventRecorder per reporting controller (the
//                   profile's schedulerName), aggregated as upstream's recorder
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "client/event_recorder.h"
#include "client/rest_client.h"
#include "scheduler/client.h"

namespace keelson::scheduler {

class ApiSchedulerClient final : public SchedulerClient {
 public:
  // `client` must outlive this.
  explicit ApiSchedulerClient(client::RestClient* client);
  ~ApiSchedulerClient() override;

  Status Bind(const PodRef& pod, std::string_view node) override;
  Status PatchPodStatus(const PodRef& pod, const PodStatusPatch& patch) override;
  Status DeletePod(const PodRef& pod) override;
  void RecordEvent(Event event) override;

  // Writes the events recorded so far (tests).
  void FlushEvents();
  // Stops the recorders.
  void Shutdown();

 private:
  client::RestClient* const client_;
  const client::ResourceClient pods_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<client::EventRecorder>> recorders_;  // guarded by mu_
};

}  // namespace keelson::scheduler
