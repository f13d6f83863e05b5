#include "cmd/component_flags.h"

#include <pthread.h>

#include <csignal>
#include <cstdio>

#include "client/rest_client.h"
#include "common/log.h"

namespace keelson::cmd {

void AddControllerManagerFlags(FlagSet* f, controllers::ControllerManagerOptions* o) {
  auto& c = o->controller;
  f->List("controllers", &o->controllers,
          "controllers to run: '*' is every controller on by default, 'foo' enables foo,\n"
          "'-foo' disables it (default *)");
  f->Bool("leader-elect", &o->leader_elect,
          "stand for election on a Lease before running the controllers (default true)");
  f->Duration("leader-elect-lease-duration", &o->lease_duration,
              "how long a candidate waits after the last renewal before taking over (default 15s)");
  f->Duration("leader-elect-renew-deadline", &o->renew_deadline,
              "how long the leader tries to renew before it stops leading (default 10s)");
  f->Duration("leader-elect-retry-period", &o->retry_period,
              "how often candidates try to acquire or renew (default 2s)");
  f->String("leader-elect-resource-namespace", &o->lease_namespace,
            "the Lease's namespace (default kube-system)");
  f->String("leader-elect-resource-name", &o->lease_name,
            "the Lease's name (default kube-controller-manager)");
  f->Int("concurrent-deployment-syncs", &c.concurrent_deployment_syncs, 1, 1000,
         "Deployments synced at once (default 5)");
  f->Int("concurrent-replicaset-syncs", &c.concurrent_replicaset_syncs, 1, 1000,
         "ReplicaSets synced at once (default 5)");
  f->Int("concurrent-rc-syncs", &c.concurrent_rc_syncs, 1, 1000,
         "ReplicationControllers synced at once (default 5)");
  f->Int("concurrent-endpoint-syncs", &c.concurrent_endpoint_syncs, 1, 1000,
         "Endpoints synced at once (default 5)");
  f->Int("concurrent-service-endpoint-syncs", &c.concurrent_service_endpoint_syncs, 1, 1000,
         "Services whose EndpointSlices are synced at once (default 5)");
  f->Int("concurrent-namespace-syncs", &c.concurrent_namespace_syncs, 1, 1000,
         "namespaces deleted at once (default 10)");
  f->Int("concurrent-gc-syncs", &c.concurrent_gc_syncs, 1, 1000,
         "garbage collector workers (default 20)");
  f->Int("concurrent-serviceaccount-syncs", &c.concurrent_serviceaccount_syncs, 1, 1000,
         "namespaces whose ServiceAccounts are synced at once (default 1)");
  f->Duration("node-monitor-period", &c.node_monitor_period,
              "how often node health is checked (default 5s)");
  f->Duration("node-monitor-grace-period", &c.node_monitor_grace_period,
              "how long a node may go without a heartbeat before it is Unknown (default 40s)");
  f->Duration("node-startup-grace-period", &c.node_startup_grace_period,
              "how long a new node may take to report Ready (default 1m0s)");
  f->Double("node-eviction-rate", &c.node_eviction_rate, 0, 1e6,
            "nodes per second whose pods are evicted in a healthy zone (default 0.1)");
  f->Double("secondary-node-eviction-rate", &c.secondary_node_eviction_rate, 0, 1e6,
            "nodes per second in an unhealthy zone of a large cluster (default 0.01)");
  f->Int("large-cluster-size-threshold", &c.large_cluster_size_threshold, 0, 1 << 30,
         "zones with more nodes than this are large (default 50)");
  f->Double("unhealthy-zone-threshold", &c.unhealthy_zone_threshold, 0, 1,
            "the share of not-Ready nodes that makes a zone unhealthy (default 0.55)");
  f->Bool("allocate-node-cidrs", &c.allocate_node_cidrs,
          "give each node a pod CIDR from --cluster-cidr (default false)");
  f->String("cluster-cidr", &c.cluster_cidr,
            "the pods' address range(s): one IPv4 and/or one IPv6 CIDR, comma-separated");
  f->Int("node-cidr-mask-size-ipv4", &c.node_cidr_mask_size_ipv4, 1, 32,
         "the size of each node's IPv4 pod CIDR (default 24)");
  f->Int("node-cidr-mask-size-ipv6", &c.node_cidr_mask_size_ipv6, 1, 128,
         "the size of each node's IPv6 pod CIDR (default 64)");
  f->Custom("node-cidr-mask-size", "int", [&c](std::string_view v) -> std::string {
    int n = std::atoi(std::string(v).c_str());
    if (n < 1 || n > 128 || std::to_string(n) != v) return "needs a mask size";
    c.node_cidr_mask_size_ipv4 = n;
    c.node_cidr_mask_size_ipv6 = n;
    return "";
  }, "the size of each node's pod CIDR in a single-stack cluster");
  f->Int("terminated-pod-gc-threshold", &c.terminated_pod_gc_threshold, 0, 1 << 30,
         "terminated pods kept before the oldest are deleted; 0: none are (default 12500)");
  f->Int("max-endpoints-per-slice", &c.max_endpoints_per_slice, 1, 1000,
         "endpoints per EndpointSlice (default 100)");
}

int RunComponent(const std::string& name, const client::KubeconfigLoadOptions& kubeconfig,
                 double qps, int burst, controllers::ControllerManagerOptions options) {
  auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "keelson %s: %s\n", name.c_str(), what.c_str());
    return 2;
  };
  auto config = client::LoadKubeconfig(kubeconfig);
  if (!config.ok()) return fail("kubeconfig: " + config.status().message());
  config->rest.user_agent = "keelson-" + name;
  config->rest.qps = qps;
  config->rest.burst = burst;
  auto client = client::RestClient::NewHttp(config->rest);
  if (!client.ok()) return fail(client.status().message());
  auto manager = controllers::ControllerManager::Create(client->get(), std::move(options));
  if (!manager.ok()) return fail(manager.status().message());
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // every thread started below inherits it
  LogInfo(name, "standing for election as " + (*manager)->identity());
  (*manager)->Start();
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  (*manager)->Stop();
  return 0;
}

}  // namespace keelson::cmd
