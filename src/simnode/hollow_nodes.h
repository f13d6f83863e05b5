// Hollow nodes: many simulated nodes in one process, in the style of KWOK and kubemark, to
// run the control plane at scale without containers. Each hollow node behaves, as the API
// sees it, like a node whose kubelet is healthy:
//   - it registers its Node (capacity, allocatable, labels, taints, conditions, addresses,
//     node info) and its Lease in kube-node-lease;
//   - it renews the Lease every renew_interval (the kubelet's 10 s) and reports its node
//     status every status_report_interval (the kubelet's 5 min without changes);
//   - the pods bound to it (one shared watch of bound pods for the whole process) become
//     Running and Ready after pod_start_delay; a pod being deleted is reported terminated and
//     then deleted from the API, as a kubelet finishes a graceful deletion.
// A `kill -9` of the process stops every heartbeat, as a real node failure would.
//
// Everything goes through the client library (client/rest_client.h); the process holds a
// few threads (the workers, one timer thread, the informer's) whatever the number of nodes,
// and a few hundred bytes per node.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <boost/json/array.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "client/rest_client.h"
#include "common/clock.h"
#include "common/status.h"

namespace keelson::simnode {

// What each hollow node of an agent is.
struct NodeTemplate {
  std::string name_prefix = "hollow-node-";
  std::map<std::string, std::string> labels;  // beside hostname, os and arch
  boost::json::array taints;                  // core/v1 Taints
  std::string cpu = "4";
  std::string memory = "16Gi";
  std::string pods = "110";
  std::string ephemeral_storage = "100Gi";
};

struct HollowNodesOptions {
  int count = 1;
  int first_index = 0;  // the nodes are name_prefix + first_index ... + count - 1
  NodeTemplate node;
  // How long a pod bound to a hollow node takes to become Running and Ready.
  std::chrono::milliseconds pod_start_delay{0};
  // The Lease's spec.leaseDurationSeconds and how often it is renewed (the kubelet's 40 s and
  // 10 s).
  std::chrono::seconds lease_duration{40};
  std::chrono::milliseconds renew_interval{10000};
  // How often the node status is reported when nothing changes (the kubelet's 5 min).
  std::chrono::milliseconds status_report_interval{300000};
  // API requests in flight at once.
  int workers = 16;
  // Time for heartbeats and delays; the system's clock when null.
  std::shared_ptr<const Clock> clock;
};

struct HollowNodesStats {
  int registered = 0;  // nodes whose Node and Lease exist
  uint64_t lease_renewals = 0;
  uint64_t lease_failures = 0;
  uint64_t status_reports = 0;
  uint64_t pods_started = 0;
  uint64_t pods_deleted = 0;
  uint64_t request_failures = 0;  // other requests that failed (and were tried again)
};

class HollowNodes {
 public:
  // Starts registering the nodes, then runs them, through `client` (which must outlive the
  // hollow nodes). InvalidArgument for a count below 1 or a bad template.
  static Result<std::unique_ptr<HollowNodes>> Start(client::RestClient* client,
                                                    HollowNodesOptions options);
  virtual ~HollowNodes() = default;

  virtual HollowNodesStats Stats() const = 0;
  // Waits until every node is registered or `timeout` has passed; returns whether they all
  // are.
  virtual bool WaitRegistered(std::chrono::milliseconds timeout) = 0;
  // Stops every heartbeat and pod; the nodes stay registered (and go NotReady once their
  // leases expire).
  virtual void Stop() = 0;
};

// A node template from a file (YAML or JSON):
//   namePrefix: hollow-node-
//   labels: {topology.kubernetes.io/zone: zone-a}
//   taints: [{key: dedicated, value: batch, effect: NoSchedule}]
//   capacity: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
// InvalidArgument naming the field that is wrong.
Result<NodeTemplate> ParseNodeTemplate(std::string_view text);

// "key=value,key2=value2" (--node-labels). InvalidArgument for a term without '='.
Result<std::map<std::string, std::string>> ParseLabels(std::string_view text);
// "key=value:Effect,key2:Effect" (--node-taints, as kubelet's --register-with-taints).
Result<boost::json::array> ParseTaints(std::string_view text);

}  // namespace keelson::simnode
