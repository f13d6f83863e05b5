#include "proxy/service_model.h"

#include <arpa/inet.h>

#include <algorithm>

#include "api/json_fields.h"

namespace keelson::proxy {
namespace {

using api::fields::Arr;
using api::fields::Bool;
using api::fields::Int;
using api::fields::Obj;
using api::fields::Str;

bool IsIpv4(std::string_view text) {
  in_addr a{};
  return inet_pton(AF_INET, std::string(text).c_str(), &a) == 1;
}

bool ParseProtocol(std::string_view text, Protocol* out) {
  if (text.empty() || text == "TCP") {
    *out = Protocol::kTcp;
  } else if (text == "UDP") {
    *out = Protocol::kUdp;
  } else if (text == "SCTP") {
    *out = Protocol::kSctp;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> Ipv4Strings(const boost::json::array* list) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (const auto& v : *list) {
    if (v.is_string() && IsIpv4(v.as_string())) out.emplace_back(v.as_string());
  }
  return out;
}

// A condition of an endpoint: absent means `fallback` (upstream: ready unset means ready,
// serving unset means what ready says, terminating unset means not terminating).
bool Condition(const boost::json::object* conditions, std::string_view name, bool fallback) {
  if (conditions == nullptr) return fallback;
  const auto* v = conditions->if_contains(name);
  return v != nullptr && v->is_bool() ? v->as_bool() : fallback;
}

}  // namespace

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kSctp:
      return "sctp";
  }
  return "tcp";
}

std::string ServicePort::Key() const {
  std::string key = namespace_name + "/" + service_name;
  if (!port_name.empty()) key += ":" + port_name;
  return key;
}

std::string SlicePortKey(std::string_view port_name, Protocol protocol) {
  return std::string(port_name) + "/" + std::string(ProtocolName(protocol));
}

std::vector<ServicePort> ParseService(const api::Object& service) {
  std::vector<ServicePort> out;
  const auto* spec = Obj(service, "spec");
  if (spec == nullptr) return out;
  std::string type = Str(spec, "type");
  if (type == "ExternalName") return out;
  std::string cluster_ip = Str(spec, "clusterIP");
  if (const auto* ips = Arr(*spec, "clusterIPs"); ips != nullptr && !ips->empty()) {
    // The first IPv4 of the list (a dual-stack Service lists its primary family first).
    for (const auto& v : *ips) {
      if (v.is_string() && IsIpv4(v.as_string())) {
        cluster_ip = std::string(v.as_string());
        break;
      }
    }
  }
  if (cluster_ip.empty() || cluster_ip == "None" || !IsIpv4(cluster_ip)) return out;

  ServicePort base;
  base.namespace_name = std::string(api::GetNamespace(service));
  base.service_name = std::string(api::GetName(service));
  base.cluster_ip = cluster_ip;
  base.external_ips = Ipv4Strings(Arr(*spec, "externalIPs"));
  const auto* status = Obj(service, "status");
  if (const auto* lb = status != nullptr ? Obj(*status, "loadBalancer") : nullptr) {
    if (const auto* ingress = Arr(*lb, "ingress")) {
      for (const auto& in : *ingress) {
        if (!in.is_object()) continue;
        std::string ip = Str(in.as_object(), "ip");
        if (IsIpv4(ip)) base.load_balancer_ips.push_back(ip);
      }
    }
  }
  if (Str(spec, "sessionAffinity") == "ClientIP") {
    base.session_affinity = true;
    const auto* cfg = Obj(*spec, "sessionAffinityConfig");
    const auto* client_ip = cfg != nullptr ? Obj(*cfg, "clientIP") : nullptr;
    if (auto t = Int(client_ip, "timeoutSeconds"); t && *t > 0 && *t <= 86400) {
      base.affinity_timeout_seconds = static_cast<int>(*t);
    }
  }
  base.internal_local = Str(spec, "internalTrafficPolicy") == "Local";
  const bool external_type = type == "NodePort" || type == "LoadBalancer";
  base.external_local = external_type && Str(spec, "externalTrafficPolicy") == "Local";
  if (base.external_local) {
    base.health_check_node_port = static_cast<int>(Int(spec, "healthCheckNodePort").value_or(0));
  }

  const auto* ports = Arr(*spec, "ports");
  if (ports == nullptr) return out;
  for (const auto& p : *ports) {
    if (!p.is_object()) continue;
    const auto& po = p.as_object();
    ServicePort sp = base;
    sp.port_name = Str(po, "name");
    if (!ParseProtocol(Str(po, "protocol"), &sp.protocol)) continue;
    sp.port = static_cast<int>(Int(&po, "port").value_or(0));
    if (sp.port <= 0 || sp.port > 65535) continue;
    if (external_type) {
      int64_t np = Int(&po, "nodePort").value_or(0);
      if (np > 0 && np <= 65535) sp.node_port = static_cast<int>(np);
    }
    // A port name clash would give two entries one key: the first one wins, as the API's
    // validation would have refused the second.
    bool clash = std::any_of(out.begin(), out.end(), [&](const ServicePort& o) {
      return o.port_name == sp.port_name;
    });
    if (clash) continue;
    out.push_back(std::move(sp));
  }
  return out;
}

SliceInfo ParseEndpointSlice(const api::Object& slice) {
  SliceInfo info;
  if (Str(slice, "addressType") != "IPv4") return info;
  auto labels = api::GetLabels(slice);
  auto it = labels.find("kubernetes.io/service-name");
  if (it == labels.end() || it->second.empty()) return info;
  info.service_name = it->second;
  const auto* ports = Arr(slice, "ports");
  const auto* endpoints = Arr(slice, "endpoints");
  if (ports == nullptr || endpoints == nullptr) return info;
  for (const auto& p : *ports) {
    if (!p.is_object()) continue;
    const auto& po = p.as_object();
    Protocol protocol;
    if (!ParseProtocol(Str(po, "protocol"), &protocol)) continue;
    auto port = Int(&po, "port");
    if (!port || *port <= 0 || *port > 65535) continue;
    auto& list = info.endpoints_by_port[SlicePortKey(Str(po, "name"), protocol)];
    for (const auto& e : *endpoints) {
      if (!e.is_object()) continue;
      const auto& eo = e.as_object();
      const auto* addresses = Arr(eo, "addresses");
      // Upstream uses an endpoint's first address (the others are for other purposes).
      if (addresses == nullptr || addresses->empty() || !(*addresses)[0].is_string()) continue;
      std::string ip((*addresses)[0].as_string());
      if (!IsIpv4(ip)) continue;
      const auto* cond = Obj(eo, "conditions");
      Endpoint ep;
      ep.ip = ip;
      ep.port = static_cast<int>(*port);
      ep.ready = Condition(cond, "ready", true);
      ep.serving = Condition(cond, "serving", ep.ready);
      ep.terminating = Condition(cond, "terminating", false);
      ep.node_name = Str(eo, "nodeName");
      list.push_back(std::move(ep));
    }
  }
  return info;
}

CategorizedEndpoints CategorizeEndpoints(const ServicePort& port, std::vector<Endpoint> all,
                                         std::string_view node_name) {
  // One entry per ip:port: a pod listed by two slices (during a slice migration) counts once,
  // with the most hopeful of its conditions.
  std::sort(all.begin(), all.end(), [](const Endpoint& a, const Endpoint& b) {
    if (a.ip != b.ip) return a.ip < b.ip;
    if (a.port != b.port) return a.port < b.port;
    return a.ready > b.ready;
  });
  all.erase(std::unique(all.begin(), all.end(),
                        [](const Endpoint& a, const Endpoint& b) {
                          return a.ip == b.ip && a.port == b.port;
                        }),
            all.end());
  CategorizedEndpoints out;
  auto pick = [&](bool local_only) {
    std::vector<Endpoint> ready, terminating;
    for (const auto& e : all) {
      if (local_only && e.node_name != node_name) continue;
      if (e.ready) {
        ready.push_back(e);
      } else if (e.serving && e.terminating) {
        terminating.push_back(e);
      }
    }
    return ready.empty() ? terminating : ready;
  };
  for (const auto& e : all) {
    if (e.ready || (e.serving && e.terminating)) out.any_ready_or_serving = true;
  }
  out.cluster = pick(port.internal_local);
  if (port.external_local) out.local = pick(true);
  return out;
}

}  // namespace keelson::proxy
