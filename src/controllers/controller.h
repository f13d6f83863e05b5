// The controller manager's vocabulary: what a controller is, what it is given, and the
// settings of every built-in controller (upstream's KubeControllerManagerConfiguration, as
// flags of `keelson controller-manager`).
//
// A controller follows informer -> work queue -> reconcile(key) (ROADMAP decision 7):
//   - its factory (registry.cc) takes what it needs from the ControllerContext: informers
//     from the shared factory (one per resource for the whole manager), the REST client, an
//     event recorder, the clock and its settings; it registers its event handlers there;
//   - once every informer has synced, Start() starts its workers (controllers/queue_worker.h),
//     which take keys from its work queue and reconcile them through the API;
//   - Stop() stops them and waits.
// Controllers never call the store, and never keep state the API does not also hold that a
// restart could not rebuild from the informers' caches (upstream's rule: a new leader
// resumes where the old one stopped).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "client/event_recorder.h"
#include "client/informer.h"
#include "client/rest_client.h"
#include "common/clock.h"
#include "common/status.h"

namespace keelson::controllers {

// Settings of the built-in controllers. Defaults are upstream's.
struct ControllerOptions {
  // Workers per controller (--concurrent-*-syncs).
  int concurrent_deployment_syncs = 5;
  int concurrent_replicaset_syncs = 5;
  int concurrent_rc_syncs = 5;
  int concurrent_endpoint_syncs = 5;
  int concurrent_service_endpoint_syncs = 5;  // EndpointSlices
  int concurrent_namespace_syncs = 10;
  int concurrent_gc_syncs = 20;
  int concurrent_serviceaccount_syncs = 1;

  // Node lifecycle.
  std::chrono::nanoseconds node_monitor_period = std::chrono::seconds(5);
  std::chrono::nanoseconds node_monitor_grace_period = std::chrono::seconds(40);
  std::chrono::nanoseconds node_startup_grace_period = std::chrono::seconds(60);
  double node_eviction_rate = 0.1;             // nodes per second, healthy zones
  double secondary_node_eviction_rate = 0.01;  // nodes per second, unhealthy large zones
  int large_cluster_size_threshold = 50;
  double unhealthy_zone_threshold = 0.55;
  // The tolerationSeconds the API server gives pods without not-ready/unreachable
  // tolerations (DefaultTolerationSeconds); the node controller reads them from pods.
  int64_t default_not_ready_toleration_seconds = 300;
  int64_t default_unreachable_toleration_seconds = 300;

  // Node IPAM.
  bool allocate_node_cidrs = false;
  std::string cluster_cidr;          // comma-separated, at most one IPv4 and one IPv6
  int node_cidr_mask_size_ipv4 = 24;
  int node_cidr_mask_size_ipv6 = 64;

  // Pod GC.
  int terminated_pod_gc_threshold = 12500;

  // Endpoints and EndpointSlices.
  int max_endpoints_per_slice = 100;
  std::chrono::nanoseconds endpoint_updates_batch_period{0};

  // Garbage collector: resources it does not follow (group/resource).
  std::vector<std::string> gc_ignored_resources = {"events", "events.events.k8s.io"};
};

// What a controller is given. Owned by the ControllerManager; outlives every controller.
class ControllerContext {
 public:
  ControllerContext(client::RestClient* client, client::SharedInformerFactory* informers,
                    std::shared_ptr<const Clock> clock, ControllerOptions options)
      : client_(client), informers_(informers), clock_(std::move(clock)),
        options_(std::move(options)) {}
  ControllerContext(const ControllerContext&) = delete;
  ControllerContext& operator=(const ControllerContext&) = delete;

  client::RestClient* client() const { return client_; }
  client::SharedInformerFactory* informers() const { return informers_; }
  const std::shared_ptr<const Clock>& clock() const { return clock_; }
  const ControllerOptions& options() const { return options_; }

  // The informer of a built-in resource (made on first use, shared by every controller).
  client::SharedInformer* Informer(std::string_view group, std::string_view resource);

  // The event recorder reporting as `component` ("deployment-controller", ...), made on first
  // use and shared by the controllers that report under that name.
  client::EventRecorder* Recorder(const std::string& component);

  // Stops the recorders (after the controllers stopped).
  void Shutdown();

 private:
  client::RestClient* const client_;
  client::SharedInformerFactory* const informers_;
  const std::shared_ptr<const Clock> clock_;
  const ControllerOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<client::EventRecorder>> recorders_;  // guarded by mu_
};

class Controller {
 public:
  virtual ~Controller() = default;
  // Starts the workers; every informer the controller asked for has synced. Returns at once.
  virtual void Start() = 0;
  // Stops the workers and waits for them (a reconcile in progress finishes). Idempotent; also
  // called when Start() was not.
  virtual void Stop() = 0;
};

// Makes a controller: takes its informers (registering its handlers), recorders and settings
// from the context. An error stops the manager from starting (bad settings).
using ControllerFactory = std::function<Result<std::unique_ptr<Controller>>(ControllerContext&)>;

struct ControllerDescriptor {
  std::string name;                  // upstream's: "deployment-controller"
  std::vector<std::string> aliases;  // upstream's short names: "deployment"
  bool enabled_by_default = true;
  ControllerFactory make;
};

// Every controller keelson has, in start order (registry.cc: the one list).
const std::vector<ControllerDescriptor>& BuiltInControllers();

// The controllers `--controllers` selects from `known`, as upstream's flag does: a list of
// names (or aliases) where "*" is every controller enabled by default, "foo" enables foo and
// "-foo" disables it; a name given explicitly wins over "*". The names selected, in the
// order of `known`. InvalidArgument for a name that is not known.
Result<std::vector<std::string>> SelectControllers(const std::vector<std::string>& flag,
                                                   const std::vector<ControllerDescriptor>& known);

}  // namespace keelson::controllers
