// The pure half of the kubelet: how a pod of the API becomes CRI
// configurations, and how the runtime's containers become the pod's status. No
// I/O here (ConfigMaps and Secrets come through ObjectSource), so every rule is
// unit-tested.
//
// Names and labels follow upstream's kubelet, so `crictl` users see familiar
// metadata: sandboxes and containers carry
// io.kubernetes.pod.{name,namespace,uid} and containers
// io.kubernetes.container.name; a container's metadata.attempt is its restart
// count.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "common/status.h"
#include "kubelet/cri/runtime.h"

namespace keelson::kubelet {

namespace v1 = ::runtime::v1;

inline constexpr const char* kPodNameLabel = "io.kubernetes.pod.name";
inline constexpr const char* kPodNamespaceLabel = "io.kubernetes.pod.namespace";
inline constexpr const char* kPodUidLabel = "io.kubernetes.pod.uid";
inline constexpr const char* kContainerNameLabel = "io.kubernetes.container.name";
// Annotations the kubelet reads back from the runtime.
inline constexpr const char* kRestartCountAnnotation = "io.kubernetes.container.restartCount";
inline constexpr const char* kTerminationGraceAnnotation =
    "io.kubernetes.pod.terminationGracePeriod";

// Where the kubelet reads the objects a pod refers to.
class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  // The ConfigMap or Secret; NotFound when it does not exist.
  virtual Result<api::Object> ConfigMap(const std::string& ns, const std::string& name) = 0;
  virtual Result<api::Object> Secret(const std::string& ns, const std::string& name) = 0;
  // The Services of namespace `ns` (for the Service environment variables). Unavailable when
  // they cannot be read.
  virtual Result<std::vector<api::Object>> Services(const std::string& ns) {
    (void)ns;
    return std::vector<api::Object>{};
  }
};

// What the node knows that goes into a pod's configuration.
struct NodeFacts {
  std::string node_name;
  std::string host_ip;
  std::string pods_log_dir;              // /var/log/pods: each pod's logs under NS_NAME_UID/
  std::vector<std::string> dns_servers;  // the node's resolvers (pods with dnsPolicy Default)
  std::vector<std::string> dns_searches;
  std::vector<std::string> dns_options;
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> cluster_dns;  // the cluster DNS Service IPs, when there are
  int64_t allocatable_milli_cpu = 0;     // the limits a container without limits has
  int64_t allocatable_memory = 0;
};

// The sandbox of `pod` (its `attempt`-th).
v1::PodSandboxConfig SandboxConfig(const api::Object& pod, const NodeFacts& node, uint32_t attempt);

// The pod's hostname as upstream's kubelet makes it: spec.hostname, else the pod's name, cut to
// 63 characters without a trailing '-' or '.'.
std::string PodHostname(const api::Object& pod);

// The /etc/hosts the kubelet gives the pod's containers, as upstream's: its header, the
// localhost entries, each of `pod_ips` with the pod's hostname (after its FQDN
// HOSTNAME.SUBDOMAIN.NAMESPACE.svc.CLUSTER-DOMAIN when spec.subdomain is set), then the
// hostAliases under their own header. A host-network pod gets the node's hosts file
// (`node_hosts`) under the host-network header, then the aliases.
std::string ManagedHostsFile(const api::Object& pod, const std::vector<std::string>& pod_ips,
                             const NodeFacts& node, std::string_view node_hosts);

// Whether `container` mounts a volume at /etc/hosts itself (then the kubelet's is left out).
bool MountsOwnEtcHosts(const boost::json::object& container);

// The key → bytes of a ConfigMap (data, binaryData decoded) or a Secret (data decoded).
std::map<std::string, std::string> ObjectData(const api::Object& obj, bool secret);

// A resolved environment: names in order, as the container sees them.
using EnvList = std::vector<std::pair<std::string, std::string>>;

// A container's configuration, or the error upstream reports as
// CreateContainerConfigError (a missing ConfigMap, Secret or key that is not
// optional). `pod_ip` is the sandbox's.
Result<v1::ContainerConfig> ContainerConfig(const api::Object& pod,
                                            const boost::json::object& container,
                                            uint32_t restart_count, const std::string& pod_ip,
                                            const NodeFacts& node, ObjectSource* source);

// The environment of `container`: the Service variables (ServiceEnv), then envFrom and env
// overriding them, with $(VAR) references expanded.
Result<EnvList> ResolveEnv(const api::Object& pod, const boost::json::object& container,
                           const std::string& pod_ip, const NodeFacts& node, ObjectSource* source);
// $(VAR) expansion as upstream: defined names are replaced, $$ is a literal $,
// anything else is left as written.
std::string ExpandVars(const std::string& text, const EnvList& env);

// A volumeMount's subPathExpr with $(VAR) references to the container's environment expanded;
// InvalidArgument "missing value for A, B" when a reference is undefined or empty (upstream's
// words), so that the container fails with CreateContainerConfigError.
Result<std::string> ExpandSubPathExpr(const std::string& expr, const EnvList& env);

// The Docker-link-style variables upstream gives containers for `services` (each with a
// ClusterIP), in order: NAME_SERVICE_HOST, NAME_SERVICE_PORT, NAME_SERVICE_PORT_PORTNAME,
// NAME_PORT, NAME_PORT_PORT_PROTO{,_PROTO,_PORT,_ADDR} (NAME upper-cased, '-' as '_').
EnvList ServiceEnv(const std::vector<const api::Object*>& services);

// The value of a downward API fieldRef (metadata.name, metadata.labels['k'], status.podIP,
// ...); metadata.labels and metadata.annotations alone give every entry as `k="v"` lines, as
// a downwardAPI volume file holds them. InvalidArgument for a path the API does not offer.
Result<std::string> DownwardFieldValue(const api::Object& pod, const std::string& path,
                                       const std::string& pod_ip, const NodeFacts& node);
// The value of a resourceFieldRef ({resource: limits.memory, divisor: 1Mi}) of `container`.
Result<std::string> DownwardResourceValue(const boost::json::object& container,
                                          const boost::json::object& ref, const NodeFacts& node);

// cpu "250m" → 250; memory "64Mi" → bytes; nullopt when unset or malformed.
std::optional<int64_t> MilliCpu(const std::string& quantity);
std::optional<int64_t> Bytes(const std::string& quantity);

// --- status
// --------------------------------------------------------------------------------

// One container of the runtime, as the kubelet uses it to compute status.
struct RuntimeContainer {
  std::string id;
  std::string name;
  uint32_t attempt = 0;
  v1::ContainerState state = v1::CONTAINER_UNKNOWN;
  int64_t created_at = 0;  // nanoseconds since the epoch
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int32_t exit_code = 0;
  std::string reason;
  std::string message;
  std::string image;
  std::string image_ref;
  std::string sandbox_id;
};

// Why a container is waiting, when the kubelet holds it back
// (ContainerCreating, CrashLoopBackOff, ErrImagePull, ImagePullBackOff,
// CreateContainerConfigError, RunContainerError, PodInitializing).
struct Waiting {
  std::string reason;
  std::string message;
};

struct PodRuntimeView {
  bool sandbox_ready = false;
  std::string pod_ip;
  std::vector<std::string> pod_ips;
  // Containers of the pod by name, newest attempt first.
  std::map<std::string, std::vector<RuntimeContainer>> containers;
  std::map<std::string, Waiting> waiting;  // by container name
  std::map<std::string, bool> ready;       // readiness probe results by container name
  std::map<std::string, bool> started;     // startup probe results by container name
};

// The pod's status as the kubelet reports it: phase, conditions,
// containerStatuses, initContainerStatuses, podIP(s), hostIP(s), startTime.
// `now` stamps conditions that change.
boost::json::object ComputeStatus(const api::Object& pod, const PodRuntimeView& view,
                                  const NodeFacts& node, const std::string& now);

// Whether the container named `name` of `pod`, last exited with `exit_code`,
// restarts.
bool ShouldRestart(const api::Object& pod, const boost::json::object& container, bool is_init,
                   int32_t exit_code);

// The registry host of an image reference ("docker.io" for short names like "nginx:1").
std::string ImageRegistry(const std::string& image);
// Credentials for `image` from pull secrets (kubernetes.io/dockerconfigjson or
// kubernetes.io/dockercfg Secrets, in order): the first whose registry key matches the image's
// registry. nullopt when none does.
std::optional<v1::AuthConfig> PullAuth(const std::string& image,
                                       const std::vector<api::Object>& secrets);

// A running pod as node-pressure eviction ranks it.
struct EvictionCandidate {
  int64_t priority = 0;  // spec.priority
  int64_t usage = 0;     // bytes of the starved resource the pod's containers use
  int64_t request = 0;   // bytes its containers request (0 without requests)
};
// The order in which to evict, as upstream's rankMemoryPressure: pods using more than they
// request first, then lower priority first, then the larger use above the request first.
std::vector<size_t> RankForEviction(const std::vector<EvictionCandidate>& pods);

// RFC 3339 of nanoseconds since the epoch.
std::string NanosToTime(int64_t nanos);

}  // namespace keelson::kubelet
