// The proxy's typed view of Services and EndpointSlices: what it needs of each to program the
// packet filter, extracted once per change from the JSON objects the informers hold.
//
// Upstream's shapes carry over: a Service becomes one ServicePort per spec.ports entry
// (pkg/proxy/service.go's ServicePort), the EndpointSlices of a Service (label
// kubernetes.io/service-name) become, per port name, a list of Endpoints with the ready,
// serving and terminating conditions, and CategorizeEndpoints picks the endpoints each kind
// of traffic may use (pkg/proxy/topology.go).
//
// Value types only; nothing here is shared between threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"

namespace keelson::proxy {

enum class Protocol { kTcp, kUdp, kSctp };
std::string_view ProtocolName(Protocol p);  // "tcp", "udp", "sctp" (nftables' spelling)

// One port of a Service, as the packet filter serves it.
struct ServicePort {
  std::string namespace_name;
  std::string service_name;
  std::string port_name;  // "" for a Service's only, unnamed port
  Protocol protocol = Protocol::kTcp;
  std::string cluster_ip;  // IPv4; empty when the Service has none (headless, ExternalName)
  int port = 0;
  int node_port = 0;                        // 0: none
  std::vector<std::string> external_ips;    // spec.externalIPs
  std::vector<std::string> load_balancer_ips;  // status.loadBalancer.ingress[].ip
  bool session_affinity = false;            // ClientIP
  int affinity_timeout_seconds = 10800;
  bool internal_local = false;  // internalTrafficPolicy: Local
  bool external_local = false;  // externalTrafficPolicy: Local (NodePort and LoadBalancer)
  int health_check_node_port = 0;

  // "ns/name:port" (":port" left out for an unnamed port), as upstream names a ServicePortName.
  std::string Key() const;
  // Whether traffic reaches it from outside the cluster network (node ports, external or
  // load balancer IPs).
  bool HasExternal() const {
    return node_port != 0 || !external_ips.empty() || !load_balancer_ips.empty();
  }
  bool operator==(const ServicePort&) const = default;
};

// The ports the proxy serves for `service`: none for a headless Service (clusterIP None),
// an ExternalName Service, or one without an IPv4 cluster IP. Fields a validated Service
// always has are read leniently: an entry without a usable port is skipped.
std::vector<ServicePort> ParseService(const api::Object& service);

struct Endpoint {
  std::string ip;
  int port = 0;
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  std::string node_name;
  bool operator==(const Endpoint&) const = default;
  bool operator<(const Endpoint& o) const {
    return ip != o.ip ? ip < o.ip : port < o.port;
  }
};

// An EndpointSlice's service ("" when it names none, or it is not IPv4) and, per port name
// and protocol ("name/tcp"), its endpoints.
struct SliceInfo {
  std::string service_name;
  std::map<std::string, std::vector<Endpoint>> endpoints_by_port;
  bool operator==(const SliceInfo&) const = default;
};
SliceInfo ParseEndpointSlice(const api::Object& slice);
std::string SlicePortKey(std::string_view port_name, Protocol protocol);

// The endpoints each kind of traffic to `port` may use, from all the endpoints its slices
// list for it (deduplicated, sorted), on node `node_name`:
// - cluster: the ready endpoints (only this node's with internalTrafficPolicy Local); when
//   none is ready, the serving terminating ones, as upstream falls back;
// - local: this node's ready endpoints, else its serving terminating ones (for
//   externalTrafficPolicy Local);
// - any: whether any endpoint exists at all (to choose reject over drop).
struct CategorizedEndpoints {
  std::vector<Endpoint> cluster;
  std::vector<Endpoint> local;
  bool any_ready_or_serving = false;
};
CategorizedEndpoints CategorizeEndpoints(const ServicePort& port, std::vector<Endpoint> all,
                                         std::string_view node_name);

}  // namespace keelson::proxy
