// The proxy's nftables ruleset: what each Service contributes to the table (RenderService),
// and the table's state (NftablesTable), which turns the difference between what the kernel
// holds and what the Services ask for into one `nft -f` transaction.
//
// The table (family ip, one of its own, "keelson-proxy" by default) follows the shape of
// upstream's nftables mode: base chains on the nat and filter hooks jump to `services`,
// whose verdict maps (service-ips, service-nodeports) send each Service's traffic to a chain
// of its own; a chain per Service port picks an endpoint and DNATs to it. Two choices differ
// from upstream, both to keep the rule count per endpoint at zero:
// - an endpoint is chosen in the Service's chain by a cascade of DNAT rules, rule i taking the
//   packet with probability 1/(N-i) (`numgen random mod (N-i) 0 dnat to ip:port`), not by a
//   verdict map to a chain per endpoint: no anonymous set per Service (the kernel walks a list
//   to find sets, so 10,000 of them make every transaction slow) and no chain per endpoint
//   (Services with ClientIP affinity keep upstream's per-endpoint chains and sets, which the
//   affinity needs);
// - hairpin traffic (a pod reaching itself through its Service) is found after DNAT by one set
//   of `ip . ip` pairs, one per endpoint IP, instead of a rule per endpoint chain.
// Traffic to a Service without endpoints is rejected (ICMP port unreachable) by filter
// chains through the no-endpoint maps, as upstream does.
//
// Not thread-safe: the proxier's sync thread owns the table.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proxy/service_model.h"

namespace keelson::proxy {

struct RulesetConfig {
  // The main table (filter hooks, masquerading, the no-endpoint maps); the Services' chains
  // live in `shards` more tables named TABLE-0, TABLE-1, ... by a hash of the Service's name.
  // The kernel re-validates a table's whole graph of chains on every commit that adds a NAT
  // rule, and only that table's: shards keep the walk a fraction of all the rules.
  std::string table = "keelson-proxy";
  int shards = 16;
  // The pod network(s): ClusterIP traffic from elsewhere (the host, other networks) is
  // masqueraded so replies come back through this node. Empty: only with masquerade_all.
  std::vector<std::string> cluster_cidrs;
  // The Service range: traffic to its unallocated addresses is dropped ("" leaves it alone).
  std::string service_cidr;
  bool masquerade_all = false;
  // NodePorts also on 127.0.0.1 (needs route_localnet, which the proxier sets), with
  // upstream's guard dropping outside traffic to 127.0.0.0/8.
  bool nodeport_localhost = true;
};

// What one Service (all of its ports) adds to the table.
struct ServiceRules {
  std::map<std::string, std::vector<std::string>> chains;  // chain name -> its rules
  std::map<std::string, int> affinity_sets;                // set name -> timeout (seconds)
  // Elements per map or set: key -> value ("" in sets), in nft's syntax.
  std::map<std::string, std::map<std::string, std::string>> elements;
  bool operator==(const ServiceRules&) const = default;
};

// The rules of `ports` (one Service's, from ParseService), with `endpoints[i]` the
// categorized endpoints of `ports[i]`.
ServiceRules RenderService(const std::vector<ServicePort>& ports,
                           const std::vector<CategorizedEndpoints>& endpoints,
                           const RulesetConfig& config);

// The shard table of Service `service` ("ns/name"), and every table of `config`.
std::string ShardTable(const RulesetConfig& config, int shard);
int ShardOf(const RulesetConfig& config, const std::string& service);
std::vector<std::string> AllTables(const RulesetConfig& config);

// The chain names of a Service port (upstream's scheme: kind, a hash of the port, then the
// readable name), exposed for tests.
std::string ServiceChainName(const ServicePort& port);
std::string ExternalChainName(const ServicePort& port);

class NftablesTable {
 public:
  explicit NftablesTable(RulesetConfig config) : config_(std::move(config)) {}

  const RulesetConfig& config() const { return config_; }

  // Sets what Service `key` ("ns/name") contributes; nullopt removes it. Cheap: the work is
  // done by Transaction().
  void SetService(const std::string& key, std::optional<ServiceRules> rules);

  // Whether Transaction(false) has anything to say.
  bool HasChanges() const { return !dirty_.empty(); }

  // The `nft -f` script that takes the kernel from the last committed state to the current
  // one. Partial (full = false): only the chains, sets and map elements of the Services set
  // since the last commit. Full: the whole table, every chain flushed and rewritten, every map
  // refilled — it repairs any drift (a flushed chain, a deleted table) but keeps the
  // affinity sets' contents; with `recreate` it first deletes the table (leftovers of an
  // earlier run go, affinity with them). Either way the script is one transaction.
  std::string Transaction(bool full, bool recreate = false) const;
  // The last Transaction(full) was applied: it becomes the committed state.
  void Committed(bool full);
  // Counts for logs and tests.
  size_t ChainCount() const;
  size_t ServiceCount() const { return current_.size(); }

 private:
  struct ElementRef {
    std::string set;
    std::string key;
    auto operator<=>(const ElementRef&) const = default;
  };
  // An element's value and the table it is in (a shard's for service-ips and
  // service-nodeports, the main table's for the others).
  struct Placed {
    std::string value;
    std::string table;
    bool operator==(const Placed&) const = default;
  };
  // What the kernel should hold for `ref`: the claim of the first Service (by key) that wants
  // it, in that Service's table; nullopt when none does.
  std::optional<Placed> Desired(const ElementRef& ref) const;
  void AddClaims(const std::string& service, const ServiceRules& rules);
  void DropClaims(const std::string& service, const ServiceRules& rules);
  std::string Base(bool recreate) const;

  const RulesetConfig config_;
  // What the Services ask for, and what the last commit wrote (shared where they agree).
  std::map<std::string, std::shared_ptr<const ServiceRules>> current_;
  std::map<std::string, std::shared_ptr<const ServiceRules>> applied_;
  std::set<std::string> dirty_;                   // Services set since the last commit
  std::map<ElementRef, std::set<std::string>> claims_;      // element -> Services wanting it
  std::map<ElementRef, Placed> applied_elements_;           // element -> what the kernel has
};

}  // namespace keelson::proxy
