// The kubelet: the node agent. It registers its Node, heartbeats its Lease,
// keeps the node's status current, and makes the pods bound to it
// (spec.nodeName, one watch) run through a CRI runtime:
//   - one sandbox per pod (network namespace through the runtime's CNI), init
//   containers in
//     order (sidecars with restartPolicy Always kept running), then the regular
//     containers;
//   - restarts as restartPolicy says, with upstream's crash-loop backoff (10 s
//   doubling to
//     5 min; reset once a container ran 10 min);
//   - images pulled as imagePullPolicy says; env resolved from values, the
//   downward API,
//     ConfigMaps and Secrets;
//   - the pod's status (phase, conditions, container statuses, IPs) written
//   through the status
//     subresource when it changes; events as upstream's (Pulling, Pulled,
//     Created, Started, BackOff, Killing, Failed);
//   - graceful deletion: containers stopped with the pod's grace period, the
//   sandbox stopped,
//     then the pod deleted from the API (grace 0, for its uid only).
// The state of containers is read back from the runtime (a relist every second,
// as upstream's PLEG), so a restarted kubelet adopts running containers instead
// of starting them again.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <boost/json/array.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/rest_client.h"
#include "common/clock.h"
#include "common/status.h"
#include "kubelet/cri/runtime.h"
#include "kubelet/log_rotation.h"

namespace keelson::kubelet {

struct KubeletOptions {
  std::string node_name;  // the host's name (lower case) when empty
  // The kubelet's state: pod logs (DATA/pods), the CNI config it writes, ...
  std::string data_dir = "/var/lib/keelson/agent";
  std::string node_ip;  // the host's first address when empty
  std::map<std::string, std::string> node_labels;
  boost::json::array node_taints;  // registered with the Node (--register-with-taints)
  int max_pods = 110;
  // Taken off capacity to make allocatable (--system-reserved /
  // --kube-reserved).
  int64_t reserved_milli_cpu = 0;
  int64_t reserved_memory_bytes = 0;
  // Hard eviction thresholds (memory.available, nodefs.available); 0 disables.
  int64_t eviction_memory_available_bytes = 100 * 1024 * 1024;
  double eviction_nodefs_available_fraction = 0.10;

  std::chrono::seconds lease_duration{40};
  std::chrono::milliseconds lease_renew_interval{10000};
  std::chrono::milliseconds node_status_update_interval{10000};   // checked this often
  std::chrono::milliseconds node_status_report_interval{300000};  // sent unchanged this often
  std::chrono::milliseconds relist_period{1000};
  // Every pod is synced this often (volumes refreshed: a changed ConfigMap or Secret reaches
  // running containers within it).
  std::chrono::milliseconds pod_resync_period{10000};

  // CNI: when set, the kubelet writes the pod network's config (a bridge with
  // host-local IPAM over the node's spec.podCIDR, loopback, portmap) into this
  // directory once the node has a pod CIDR, for the runtime to load.
  std::string cni_conf_dir;
  std::string cni_bridge = "keelson0";

  // DNS for pods: the cluster DNS servers (ClusterFirst) and domain; the node's
  // resolvers from this resolv.conf.
  std::vector<std::string> cluster_dns;
  std::string cluster_domain = "cluster.local";
  std::string resolv_conf = "/etc/resolv.conf";

  // Static pods: the pod manifests in this directory run on this node, with mirror pods in the
  // API (--pod-manifest-path); checked this often.
  std::string pod_manifest_path;
  std::chrono::milliseconds static_pod_check_interval{20000};

  // Containers' log files are rotated by size (--container-log-max-size,
  // --container-log-max-files); checked every monitor_interval.
  ContainerLogPolicy container_log;

  std::string runtime_handler;  // the CRI runtime handler ("" = the runtime's default)
  std::string kubelet_version = "v1.33.0";
  int kubelet_port = 10250;            // daemonEndpoints.kubeletEndpoint
  int workers = 4;                     // pods synced at once
  std::shared_ptr<const Clock> clock;  // the system's when null
};

struct KubeletStats {
  bool registered = false;
  uint64_t lease_renewals = 0;
  uint64_t node_status_updates = 0;
  uint64_t pod_syncs = 0;
  uint64_t sandboxes_started = 0;
  uint64_t containers_started = 0;
  uint64_t pod_status_writes = 0;
  uint64_t pods_deleted = 0;  // graceful deletions finished
  uint64_t runtime_errors = 0;
};

class Kubelet {
 public:
  // Starts the kubelet against the API server of `client` and the runtime
  // `runtime` (both must outlive it). InvalidArgument for bad options;
  // Unavailable when the host cannot be read.
  static Result<std::unique_ptr<Kubelet>> Start(client::RestClient* client, cri::Runtime* runtime,
                                                KubeletOptions options);
  virtual ~Kubelet() = default;

  virtual const std::string& NodeName() const = 0;
  virtual KubeletStats Stats() const = 0;
  // Waits until the Node is registered (or `timeout` passed); returns whether
  // it is.
  virtual bool WaitRegistered(std::chrono::milliseconds timeout) = 0;
  // Stops syncing and heartbeating; containers keep running (a restarted
  // kubelet adopts them).
  virtual void Stop() = 0;
};

// The CNI network configuration list (JSON) of the pod network on `pod_cidr`: a
// bridge named `bridge` acting as the pods' gateway with IP masquerade and
// hairpin, host-local IPAM over the CIDR (its leases under `ipam_data_dir`),
// and portmap for hostPorts.
std::string RenderCniConfig(const std::string& pod_cidr, const std::string& bridge,
                            const std::string& ipam_data_dir);

}  // namespace keelson::kubelet
