// The node's Service proxy (`keelson proxy`, also run by `keelson agent` and the local node of
// `keelson server`): it watches Services and EndpointSlices through the client library and
// keeps the node's nftables table (nftables.h) in step with them, so that traffic to a
// Service's ClusterIP, node ports, external and load balancer IPs reaches its endpoints.
//
// Every change is one transaction, and only what changed is rewritten: the chains and map
// elements of the Services whose objects changed. A full sync runs at start (it recreates the
// table, so leftovers of an earlier run go), every `sync_period`, after a failed transaction,
// and when the table disappears (checked every `table_check_period`), repairing drift.
// Flows of UDP Services to endpoints that went away are cleared from conntrack.
//
// It also serves, as upstream's kube-proxy does, /healthz and /livez on `healthz_port` and, for
// each Service with externalTrafficPolicy Local, its healthCheckNodePort (200 with the count of
// local endpoints, or 503 when there are none), and /metrics with the sync figures.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "client/rest_client.h"
#include "common/status.h"
#include "proxy/nftables.h"
#include "proxy/packet_filter.h"

namespace keelson::proxy {

struct ProxyOptions {
  // This node: Local traffic policies use the endpoints whose nodeName is this.
  std::string node_name;
  RulesetConfig ruleset;
  ToolOptions tools;
  // Least time between two syncs (changes arriving meanwhile are applied together).
  std::chrono::milliseconds min_sync_period{0};
  // How often a full sync repairs drift.
  std::chrono::milliseconds sync_period{std::chrono::minutes(1)};
  // How often the proxy checks that its table is still there.
  std::chrono::milliseconds table_check_period{std::chrono::seconds(5)};
  // /healthz, /livez and /metrics (-1: not served; 0: a free port).
  std::string healthz_bind_address = "0.0.0.0";
  int healthz_port = 10256;
  // Serve the healthCheckNodePorts of Local Services.
  bool serve_health_check_node_ports = true;
  // Delete the table on Stop().
  bool cleanup_on_exit = true;
  // Set the kernel settings Services need: IPv4 forwarding, route_localnet (node ports on
  // 127.0.0.1) and bridge-nf-call-iptables (pods reaching Services on their own bridge).
  bool set_sysctls = true;
  // For tests: the packet filter and conntrack to use instead of the tools (not owned).
  PacketFilter* filter = nullptr;
  Conntrack* conntrack = nullptr;
};

struct ProxyStats {
  int64_t syncs = 0;           // transactions applied
  int64_t full_syncs = 0;
  int64_t failed_syncs = 0;
  double last_sync_seconds = 0;   // rendering and applying the last transaction
  double last_apply_seconds = 0;  // the packet filter's part of it
  size_t last_script_bytes = 0;
  size_t services = 0;           // Services with rules
  size_t chains = 0;
};

class Proxy {
 public:
  // Starts watching (through `client`, which must outlive the proxy) and the sync
  // thread. Errors: bad options, the health server's port taken.
  static Result<std::unique_ptr<Proxy>> Start(client::RestClient* client, ProxyOptions options);
  virtual ~Proxy() = default;

  // Waits until the first full sync has been applied or `timeout` passes.
  virtual bool WaitForFirstSync(std::chrono::milliseconds timeout) = 0;
  virtual ProxyStats Stats() const = 0;
  // The port /healthz is served on (-1 when not).
  virtual int HealthzPort() const = 0;
  // Stops watching and syncing; deletes the table unless told to keep it. Idempotent.
  virtual void Stop() = 0;
};

// `keelson proxy --cleanup`: deletes the proxy's tables (no error when there are none).
Status CleanupTables(PacketFilter* filter, const RulesetConfig& config);

}  // namespace keelson::proxy
