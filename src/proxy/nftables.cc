#include "proxy/nftables.h"

#include <algorithm>
#include <cstdint>

namespace keelson::proxy {
namespace {

// Map and set names of the table.
constexpr const char* kServiceIps = "service-ips";
constexpr const char* kServiceNodePorts = "service-nodeports";
constexpr const char* kNoEndpointServices = "no-endpoint-services";
constexpr const char* kNoEndpointNodePorts = "no-endpoint-nodeports";
constexpr const char* kClusterIps = "cluster-ips";
constexpr const char* kHairpin = "hairpin-endpoints";
constexpr const char* kClusterCidrs = "cluster-cidrs";
// The masquerade mark, set inline (a chain of the main table cannot be jumped to from a
// shard's).
constexpr const char* kMarkForMasquerade = "meta mark set meta mark | 0x4000";

struct MapDecl {
  const char* name;
  const char* type;
};
// The maps of each shard table (their verdicts jump to the shard's chains).
constexpr MapDecl kShardMaps[] = {
    {kServiceIps, "map { type ipv4_addr . inet_proto . inet_service : verdict; }"},
    {kServiceNodePorts, "map { type inet_proto . inet_service : verdict; }"},
};
// The maps and sets of the main table.
constexpr MapDecl kMaps[] = {
    {kNoEndpointServices, "map { type ipv4_addr . inet_proto . inet_service : verdict; }"},
    {kNoEndpointNodePorts, "map { type inet_proto . inet_service : verdict; }"},
    {kClusterIps, "set { type ipv4_addr; }"},
    {kHairpin, "set { type ipv4_addr . ipv4_addr; }"},
};

// The chains of the table that do not depend on the Services: name, declaration ("" for a
// regular chain) and rules.
struct StaticChain {
  std::string name;
  std::string hook;
  std::vector<std::string> rules;
};

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

// A base chain's declaration.
std::string Hook(const char* type, const char* hook, const char* priority) {
  return std::string("{ type ") + type + " hook " + hook + " priority " + priority +
         "; policy accept; }";
}

// The pod network in a rule: the CIDR itself, or the named set of them when there are
// several (an inline set would be an anonymous kernel set per rule).
std::string CidrSet(const std::vector<std::string>& cidrs) {
  return cidrs.size() == 1 ? cidrs[0] : std::string("@") + kClusterCidrs;
}

std::vector<StaticChain> StaticChains(const RulesetConfig& c) {
  std::vector<StaticChain> out;
  // ClusterIP traffic from outside the pod network is masqueraded so that replies come back
  // through this node: one rule for every Service (a rule per Service would make the tables,
  // and the kernel's walk over them on every commit, larger). It runs before the shards'
  // DNAT (priority dstnat - 1): once a packet is NATed, later NAT chains do not see it.
  std::vector<std::string> mark;
  if (c.masquerade_all) {
    mark.push_back(std::string("ip daddr @") + kClusterIps + " jump mark-for-masquerade");
  } else if (!c.cluster_cidrs.empty()) {
    mark.push_back(std::string("ip daddr @") + kClusterIps + " ip saddr != " +
                   CidrSet(c.cluster_cidrs) + " jump mark-for-masquerade");
  }
  out.push_back({"nat-prerouting", Hook("nat", "prerouting", "-101"), mark});
  out.push_back({"nat-output", Hook("nat", "output", "-101"), mark});
  out.push_back({"nat-postrouting", Hook("nat", "postrouting", "srcnat"), {"jump masquerading"}});
  std::vector<std::string> input = {"ct state new jump nodeport-endpoints-check",
                                    "ct state new jump service-endpoints-check"};
  if (c.nodeport_localhost) {
    // route_localnet lets 127.0.0.1 be DNATed to pods; upstream's guard keeps everyone else
    // off the loopback addresses it opens.
    input.push_back(
        "ip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 ct state != { established, related } "
        "ct status & dnat == 0 drop");
  }
  out.push_back({"filter-input", Hook("filter", "input", "-110"), input});
  out.push_back({"filter-forward",
                 Hook("filter", "forward", "-110"),
                 {"ct state new jump service-endpoints-check",
                  "ct state new jump cluster-ips-check"}});
  out.push_back({"filter-output",
                 Hook("filter", "output", "-110"),
                 {"ct state new jump service-endpoints-check"}});
  out.push_back({"filter-output-post-dnat",
                 Hook("filter", "output", "-90"),
                 {"ct state new jump cluster-ips-check"}});
  out.push_back({"mark-for-masquerade", "", {kMarkForMasquerade}});
  out.push_back({"masquerading",
                 "",
                 {std::string("ct status dnat ip saddr . ip daddr @") + kHairpin +
                      " jump mark-for-masquerade",
                  "meta mark & 0x4000 == 0 return", "meta mark set meta mark ^ 0x4000",
                  "masquerade fully-random"}});
  out.push_back({"reject-chain", "", {"reject"}});
  out.push_back({"service-endpoints-check",
                 "",
                 {std::string("ip daddr . meta l4proto . th dport vmap @") + kNoEndpointServices}});
  out.push_back({"nodeport-endpoints-check",
                 "",
                 {std::string("fib daddr type local meta l4proto . th dport vmap @") +
                  kNoEndpointNodePorts}});
  std::vector<std::string> cluster_ips = {std::string("ip daddr @") + kClusterIps + " reject"};
  if (!c.service_cidr.empty()) cluster_ips.push_back("ip daddr " + c.service_cidr + " drop");
  out.push_back({"cluster-ips-check", "", cluster_ips});
  return out;
}

// The chains of a shard table: its NAT hooks and its `services` chain.
std::vector<StaticChain> ShardChains(const RulesetConfig& c) {
  return {
      {"nat-prerouting", Hook("nat", "prerouting", "dstnat"), {"jump services"}},
      {"nat-output", Hook("nat", "output", "-100"), {"jump services"}},
      {"services",
       "",
       {std::string("ip daddr . meta l4proto . th dport vmap @") + kServiceIps,
        std::string("fib daddr type local ") +
            (c.nodeport_localhost ? "" : "ip daddr != 127.0.0.0/8 ") +
            "meta l4proto . th dport vmap @" + kServiceNodePorts}},
  };
}

bool Sharded(const std::string& set) { return set == kServiceIps || set == kServiceNodePorts; }

// Upstream names a Service port's chains "<kind>-<hash>-<ns>/<name>/<protocol>/<port name>",
// the hash (of the whole port name and protocol) keeping names unique whatever the text.
std::string PortHash(const std::string& text) {
  uint64_t h = Fnv1a(text);
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kBase32[h & 31];
    h >>= 5;
  }
  return out;
}

std::string PortName(const ServicePort& p) {
  return p.namespace_name + "/" + p.service_name + "/" + std::string(ProtocolName(p.protocol)) +
         "/" + p.port_name;
}

std::string EndpointSuffix(const ServicePort& p, const Endpoint& e) {
  std::string text = p.namespace_name + "/" + p.service_name + "/" + p.port_name + "__" + e.ip +
                     "/" + std::to_string(e.port);
  return PortHash(text + std::string(ProtocolName(p.protocol))) + "-" + text;
}

// The rules that DNAT to one of `eps` (non-empty) with equal chances: rule i takes the packet
// with probability 1/(N-i) (`numgen random mod (N-i) 0`), the last one takes what is left.
// Plain rules, no set: an anonymous map per Service would be a kernel set each, and the
// kernel finds sets by walking a list, which makes 10,000 Services cost seconds per sync.
void DnatRules(const std::string& proto, const std::vector<Endpoint>& eps,
               std::vector<std::string>* rules) {
  for (size_t i = 0; i < eps.size(); ++i) {
    size_t left = eps.size() - i;
    std::string pick = left > 1 ? "numgen random mod " + std::to_string(left) + " 0 " : "";
    rules->push_back(pick + "meta l4proto " + proto + " dnat to " + eps[i].ip + ":" +
                     std::to_string(eps[i].port));
  }
}

// The rules that send traffic to one of `eps` (non-empty), adding the affinity chains and
// sets to `out` when the port has ClientIP affinity.
void PickEndpoint(const ServicePort& p, const std::vector<Endpoint>& eps,
                  std::vector<std::string>* rules, ServiceRules* out) {
  const std::string proto(ProtocolName(p.protocol));
  if (!p.session_affinity) {
    DnatRules(proto, eps, rules);
    return;
  }
  // Affinity, as upstream: a set of recent clients per endpoint, checked first.
  std::vector<std::string> chains;
  for (const auto& e : eps) {
    std::string suffix = EndpointSuffix(p, e);
    // The timeout is part of the set's name: a changed timeout is a new set.
    std::string chain = "endpoint-" + suffix,
                set = "affinity-" + suffix + "/" + std::to_string(p.affinity_timeout_seconds);
    out->affinity_sets[set] = p.affinity_timeout_seconds;
    out->chains[chain] = {"update @" + set + " { ip saddr } meta l4proto " + proto +
                          " dnat to " + e.ip + ":" + std::to_string(e.port)};
    rules->push_back("ip saddr @" + set + " goto " + chain);
    chains.push_back(chain);
  }
  for (size_t i = 0; i < chains.size(); ++i) {
    size_t left = chains.size() - i;
    std::string pick = left > 1 ? "numgen random mod " + std::to_string(left) + " 0 " : "";
    rules->push_back(pick + "goto " + chains[i]);
  }
}


void RenderPort(const ServicePort& p, const CategorizedEndpoints& eps, const RulesetConfig& c,
                ServiceRules* out) {
  const std::string proto(ProtocolName(p.protocol));
  const std::string port_key = proto + " . " + std::to_string(p.port);
  const std::string cluster_key = p.cluster_ip + " . " + port_key;
  const std::string svc_chain = ServiceChainName(p);
  out->elements[kClusterIps][p.cluster_ip] = "";

  // ClusterIP traffic.
  const bool has_cluster = !eps.cluster.empty();
  if (has_cluster) {
    std::vector<std::string> rules;
    PickEndpoint(p, eps.cluster, &rules, out);
    out->chains[svc_chain] = std::move(rules);
    out->elements[kServiceIps][cluster_key] = "goto " + svc_chain;
    for (const auto& e : eps.cluster) out->elements[kHairpin][e.ip + " . " + e.ip] = "";
  } else {
    // No endpoint this traffic may use: reject at once, or drop when the Service has
    // endpoints, just none on this node (internalTrafficPolicy Local), as upstream does.
    out->elements[kNoEndpointServices][cluster_key] =
        p.internal_local && eps.any_ready_or_serving ? "drop" : "goto reject-chain";
  }

  if (!p.HasExternal()) return;
  // Traffic from outside: node ports, external and load balancer IPs.
  std::string verdict;
  bool reachable = false;
  if (p.external_local) {
    if (!eps.local.empty()) {
      std::string ext = ExternalChainName(p);
      std::vector<std::string> rules;
      if (has_cluster) {
        // Pods and the node itself reach the Service as a ClusterIP would take them, so a
        // node without local endpoints still answers them (upstream's short circuit).
        if (!c.cluster_cidrs.empty()) {
          rules.push_back("ip saddr " + CidrSet(c.cluster_cidrs) + " goto " + svc_chain);
        }
        rules.push_back(std::string("fib saddr type local ") + kMarkForMasquerade);
        rules.push_back("fib saddr type local goto " + svc_chain);
      }
      PickEndpoint(p, eps.local, &rules, out);
      for (const auto& e : eps.local) out->elements[kHairpin][e.ip + " . " + e.ip] = "";
      out->chains[ext] = std::move(rules);
      verdict = "goto " + ext;
      reachable = true;
    } else {
      verdict = eps.any_ready_or_serving ? "drop" : "goto reject-chain";
    }
  } else if (has_cluster) {
    std::string ext = ExternalChainName(p);
    out->chains[ext] = {kMarkForMasquerade, "goto " + svc_chain};
    verdict = "goto " + ext;
    reachable = true;
  } else {
    verdict = "goto reject-chain";
  }
  const char* ips_map = reachable ? kServiceIps : kNoEndpointServices;
  const char* ports_map = reachable ? kServiceNodePorts : kNoEndpointNodePorts;
  if (p.node_port != 0) {
    out->elements[ports_map][proto + " . " + std::to_string(p.node_port)] = verdict;
  }
  for (const auto* ips : {&p.external_ips, &p.load_balancer_ips}) {
    for (const auto& ip : *ips) out->elements[ips_map][ip + " . " + port_key] = verdict;
  }
}

void Line(std::string* out, const std::string& table, std::string_view verb,
          std::string_view what, std::string_view rest) {
  out->append(verb).append(" ").append(what).append(" ip ").append(table);
  if (!rest.empty()) out->append(" ").append(rest);
  out->push_back('\n');
}

void WriteChain(std::string* out, const std::string& table, const std::string& name,
                const std::vector<std::string>& rules) {
  Line(out, table, "flush", "chain", name);
  for (const auto& r : rules) Line(out, table, "add", "rule", name + " " + r);
}

// "add element ip T S { k : v, ... }" in commands of at most 1,000 elements.
void WriteElements(std::string* out, const std::string& table, std::string_view verb,
                   const std::string& set,
                   const std::vector<std::pair<std::string, std::string>>& elements,
                   bool with_values) {
  for (size_t i = 0; i < elements.size(); i += 1000) {
    std::string body = set + " { ";
    for (size_t j = i; j < elements.size() && j < i + 1000; ++j) {
      if (j > i) body += ", ";
      body += elements[j].first;
      if (with_values && !elements[j].second.empty()) body += " : " + elements[j].second;
    }
    Line(out, table, verb, "element", body + " }");
  }
}

}  // namespace

std::string ServiceChainName(const ServicePort& p) {
  std::string name = PortName(p);
  return "service-" + PortHash(name) + "-" + name;
}

std::string ExternalChainName(const ServicePort& p) {
  std::string name = PortName(p);
  return "external-" + PortHash(name) + "-" + name;
}

ServiceRules RenderService(const std::vector<ServicePort>& ports,
                           const std::vector<CategorizedEndpoints>& endpoints,
                           const RulesetConfig& config) {
  ServiceRules out;
  for (size_t i = 0; i < ports.size() && i < endpoints.size(); ++i) {
    RenderPort(ports[i], endpoints[i], config, &out);
  }
  return out;
}

std::string ShardTable(const RulesetConfig& config, int shard) {
  return config.table + "-" + std::to_string(shard);
}

int ShardOf(const RulesetConfig& config, const std::string& service) {
  if (config.shards <= 1) return 0;
  return static_cast<int>(Fnv1a(service) % static_cast<uint64_t>(config.shards));
}

std::vector<std::string> AllTables(const RulesetConfig& config) {
  std::vector<std::string> out = {config.table};
  for (int i = 0; i < std::max(1, config.shards); ++i) out.push_back(ShardTable(config, i));
  return out;
}

void NftablesTable::AddClaims(const std::string& service, const ServiceRules& rules) {
  for (const auto& [set, elems] : rules.elements) {
    for (const auto& [key, value] : elems) claims_[ElementRef{set, key}].insert(service);
  }
}

void NftablesTable::DropClaims(const std::string& service, const ServiceRules& rules) {
  for (const auto& [set, elems] : rules.elements) {
    for (const auto& [key, value] : elems) {
      auto it = claims_.find(ElementRef{set, key});
      if (it == claims_.end()) continue;
      it->second.erase(service);
      if (it->second.empty()) claims_.erase(it);
    }
  }
}

void NftablesTable::SetService(const std::string& key, std::optional<ServiceRules> rules) {
  auto it = current_.find(key);
  if (it != current_.end()) {
    if (rules && *rules == *it->second) return;
    DropClaims(key, *it->second);
  } else if (!rules) {
    return;
  }
  if (rules) {
    AddClaims(key, *rules);
    current_[key] = std::make_shared<const ServiceRules>(std::move(*rules));
  } else {
    current_.erase(key);
  }
  dirty_.insert(key);
}

std::optional<NftablesTable::Placed> NftablesTable::Desired(const ElementRef& ref) const {
  auto it = claims_.find(ref);
  if (it == claims_.end() || it->second.empty()) return std::nullopt;
  const std::string& owner = *it->second.begin();
  Placed p;
  p.value = current_.at(owner)->elements.at(ref.set).at(ref.key);
  p.table = Sharded(ref.set) ? ShardTable(config_, ShardOf(config_, owner)) : config_.table;
  return p;
}

size_t NftablesTable::ChainCount() const {
  size_t n = 0;
  for (const auto& [k, r] : current_) n += r->chains.size();
  return n;
}

std::string NftablesTable::Base(bool recreate) const {
  std::string out;
  auto declare = [&](const std::string& t, const MapDecl& m) {
    // "add map ip T name { ... }" / "add set ip T name { ... }"
    std::string_view decl = m.type;
    auto space = decl.find(' ');
    Line(&out, t, "add", decl.substr(0, space), std::string(m.name) + std::string(decl.substr(space)));
  };
  for (const auto& t : AllTables(config_)) {
    Line(&out, t, "add", "table", "");
    if (recreate) {
      Line(&out, t, "delete", "table", "");
      Line(&out, t, "add", "table", "");
    }
  }
  const std::string& t = config_.table;
  for (const auto& m : kMaps) declare(t, m);
  if (config_.cluster_cidrs.size() > 1) {
    Line(&out, t, "add", "set",
         std::string(kClusterCidrs) + " { type ipv4_addr; flags interval; auto-merge; }");
    Line(&out, t, "flush", "set", kClusterCidrs);
    std::string elems;
    for (const auto& c : config_.cluster_cidrs) elems += (elems.empty() ? "" : ", ") + c;
    Line(&out, t, "add", "element", std::string(kClusterCidrs) + " { " + elems + " }");
  }
  auto chain_decl = [](const StaticChain& c) {
    return c.hook.empty() ? c.name : c.name + " " + c.hook;
  };
  for (const auto& c : StaticChains(config_)) Line(&out, t, "add", "chain", chain_decl(c));
  for (const auto& c : StaticChains(config_)) WriteChain(&out, t, c.name, c.rules);
  for (int i = 0; i < std::max(1, config_.shards); ++i) {
    std::string shard = ShardTable(config_, i);
    for (const auto& m : kShardMaps) declare(shard, m);
    for (const auto& c : ShardChains(config_)) Line(&out, shard, "add", "chain", chain_decl(c));
    for (const auto& c : ShardChains(config_)) WriteChain(&out, shard, c.name, c.rules);
  }
  return out;
}

std::string NftablesTable::Transaction(bool full, bool recreate) const {
  std::string out;
  auto set_decl = [](const std::string& set, int timeout) {
    return set + " { type ipv4_addr; flags dynamic,timeout; timeout " + std::to_string(timeout) +
           "s; }";
  };
  if (full) {
    out = Base(recreate);
    for (const auto& [svc, rules] : current_) {
      std::string shard = ShardTable(config_, ShardOf(config_, svc));
      for (const auto& [set, timeout] : rules->affinity_sets) {
        Line(&out, shard, "add", "set", set_decl(set, timeout));
      }
      for (const auto& [name, body] : rules->chains) Line(&out, shard, "add", "chain", name);
    }
    for (const auto& [svc, rules] : current_) {
      std::string shard = ShardTable(config_, ShardOf(config_, svc));
      for (const auto& [name, body] : rules->chains) WriteChain(&out, shard, name, body);
    }
    // Every map refilled with what its owners want, in the owner's table.
    std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, std::string>>>
        by_set;  // (table, set) -> elements
    for (const auto& [ref, owners] : claims_) {
      if (auto d = Desired(ref)) by_set[{d->table, ref.set}].emplace_back(ref.key, d->value);
    }
    auto refill = [&](const std::string& t, const MapDecl& m) {
      std::string_view decl = m.type;
      Line(&out, t, "flush", decl.substr(0, decl.find(' ')), m.name);
      auto it = by_set.find({t, m.name});
      if (it != by_set.end()) WriteElements(&out, t, "add", m.name, it->second, true);
    };
    for (const auto& m : kMaps) refill(config_.table, m);
    for (int i = 0; i < std::max(1, config_.shards); ++i) {
      for (const auto& m : kShardMaps) refill(ShardTable(config_, i), m);
    }
    // What an earlier commit made and nobody wants any more.
    if (!recreate) {
      std::string flushes, deletes;
      for (const auto& [svc, rules] : applied_) {
        std::string shard = ShardTable(config_, ShardOf(config_, svc));
        auto cur = current_.find(svc);
        for (const auto& [name, body] : rules->chains) {
          if (cur == current_.end() || !cur->second->chains.contains(name)) {
            Line(&flushes, shard, "flush", "chain", name);
            Line(&deletes, shard, "delete", "chain", name);
          }
        }
        for (const auto& [set, timeout] : rules->affinity_sets) {
          if (cur == current_.end() || !cur->second->affinity_sets.contains(set)) {
            Line(&deletes, shard, "delete", "set", set);
          }
        }
      }
      out += flushes;
      out += deletes;
    }
    return out;
  }

  // Partial: only what the dirty Services change.
  static const ServiceRules kNone;
  std::string sets_add, chains_add, rules, chains_flush, chains_delete, sets_delete;
  std::set<ElementRef> touched;
  for (const auto& svc : dirty_) {
    const std::string shard = ShardTable(config_, ShardOf(config_, svc));
    auto cur_it = current_.find(svc);
    auto old_it = applied_.find(svc);
    const ServiceRules& cur = cur_it == current_.end() ? kNone : *cur_it->second;
    const ServiceRules& old = old_it == applied_.end() ? kNone : *old_it->second;
    for (const auto& [set, timeout] : cur.affinity_sets) {
      if (old.affinity_sets.contains(set)) continue;
      Line(&sets_add, shard, "add", "set", set_decl(set, timeout));
    }
    for (const auto& [name, body] : cur.chains) {
      auto o = old.chains.find(name);
      if (o != old.chains.end() && o->second == body) continue;
      Line(&chains_add, shard, "add", "chain", name);
      WriteChain(&rules, shard, name, body);
    }
    for (const auto& [name, body] : old.chains) {
      if (cur.chains.contains(name)) continue;
      Line(&chains_flush, shard, "flush", "chain", name);
      Line(&chains_delete, shard, "delete", "chain", name);
    }
    for (const auto& [set, timeout] : old.affinity_sets) {
      if (!cur.affinity_sets.contains(set)) Line(&sets_delete, shard, "delete", "set", set);
    }
    for (const auto* r : {&cur, &old}) {
      for (const auto& [set, elems] : r->elements) {
        for (const auto& [key, value] : elems) touched.insert(ElementRef{set, key});
      }
    }
  }
  // (table, set) -> elements
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<std::string, std::string>>>
      del, add;
  for (const auto& ref : touched) {
    auto want = Desired(ref);
    auto have_it = applied_elements_.find(ref);
    std::optional<Placed> have;
    if (have_it != applied_elements_.end()) have = have_it->second;
    if (want == have) continue;
    // A hairpin pair nobody wants any more stays until the next full sync: it only ever
    // matches a pod DNATed to itself, and deleting elements costs nft a read of the set
    // (~10 ms at 50,000 endpoints) that adding them does not.
    if (have && !want && ref.set == kHairpin) continue;
    if (have) del[{have->table, ref.set}].emplace_back(ref.key, "");
    if (want) add[{want->table, ref.set}].emplace_back(ref.key, want->value);
  }
  out += sets_add;
  out += chains_add;
  out += rules;
  for (const auto& [where, elems] : del) WriteElements(&out, where.first, "delete", where.second, elems, false);
  for (const auto& [where, elems] : add) WriteElements(&out, where.first, "add", where.second, elems, true);
  out += chains_flush;
  out += chains_delete;
  out += sets_delete;
  return out;
}

void NftablesTable::Committed(bool full) {
  if (full) {
    applied_ = current_;
    applied_elements_.clear();
    for (const auto& [ref, owners] : claims_) {
      if (auto d = Desired(ref)) applied_elements_[ref] = *d;
    }
    dirty_.clear();
    return;
  }
  for (const auto& svc : dirty_) {
    std::set<ElementRef> touched;
    auto old_it = applied_.find(svc);
    if (old_it != applied_.end()) {
      for (const auto& [set, elems] : old_it->second->elements) {
        for (const auto& [key, v] : elems) touched.insert(ElementRef{set, key});
      }
    }
    auto cur_it = current_.find(svc);
    if (cur_it != current_.end()) {
      for (const auto& [set, elems] : cur_it->second->elements) {
        for (const auto& [key, v] : elems) touched.insert(ElementRef{set, key});
      }
      applied_[svc] = cur_it->second;
    } else {
      applied_.erase(svc);
    }
    for (const auto& ref : touched) {
      if (auto d = Desired(ref)) {
        applied_elements_[ref] = *d;
      } else {
        applied_elements_.erase(ref);
      }
    }
  }
  dirty_.clear();
}

}  // namespace keelson::proxy
