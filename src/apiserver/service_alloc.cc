#include "apiserver/service_alloc.h"

#include <boost/json.hpp>

#include <map>
#include <random>
#include <set>

#include "api/json_limits.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

std::optional<uint32_t> ParseIp(std::string_view s) {
  uint32_t out = 0;
  int parts = 0;
  while (parts < 4) {
    size_t i = 0;
    uint32_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i < 3) v = v * 10 + (s[i++] - '0');
    if (i == 0 || v > 255 || (i > 1 && s[0] == '0')) return std::nullopt;
    out = (out << 8) | v;
    s.remove_prefix(i);
    ++parts;
    if (parts < 4) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

std::string FormatIp(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

json::object& Obj(json::value& v) {
  if (!v.is_object()) v = json::object();
  return v.as_object();
}

std::string StrOf(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int64_t IntOf(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return 0;
}

void Claim(store::TxnRequest* txn, const std::string& key, const std::string& owner) {
  txn->compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                        store::Compare::Target::kCreate, key, "", 0, ""});
  txn->success.push_back(store::RequestOp{store::PutRequest{key, owner}});
}

}  // namespace

Result<ServiceAllocator> ServiceAllocator::Create(store::Store* store, ServiceAllocOptions o) {
  auto slash = o.service_cidr.find('/');
  if (slash == std::string::npos) {
    return InvalidArgumentError("service CIDR " + o.service_cidr + " needs a prefix length");
  }
  auto ip = ParseIp(std::string_view(o.service_cidr).substr(0, slash));
  int bits = 0;
  try {
    bits = std::stoi(o.service_cidr.substr(slash + 1));
  } catch (...) {
    bits = -1;
  }
  if (!ip || bits < 8 || bits > 30) {
    return InvalidArgumentError("service CIDR " + o.service_cidr +
                                " is not an IPv4 prefix of length 8 to 30");
  }
  uint32_t size = uint32_t{1} << (32 - bits);
  uint32_t base = *ip & ~(size - 1);
  if (o.node_port_min < 1 || o.node_port_max > 65535 || o.node_port_min > o.node_port_max) {
    return InvalidArgumentError("bad node port range");
  }
  return ServiceAllocator(store, std::move(o), base, size);
}

std::string ServiceAllocator::FirstAddress() const { return FormatIp(base_ + 1); }

std::vector<std::string> ServiceAllocator::Used(const std::string& prefix) const {
  std::vector<std::string> out;
  store::RangeRequest r;
  r.key = prefix;
  r.range_end = store::PrefixEnd(prefix);
  r.keys_only = true;
  auto res = store_->Range(r);
  if (!res.ok()) return out;
  for (const auto& kv : res->kvs) out.push_back(kv.key.substr(prefix.size()));
  return out;
}

std::vector<AllocError> ServiceAllocator::AllocateForCreate(json::object* svc,
                                                           const std::string& owner,
                                                           store::TxnRequest* txn) {
  std::vector<AllocError> errs;
  auto& spec = Obj((*svc)["spec"]);
  std::string type = StrOf(spec, "type");
  if (type.empty()) type = "ClusterIP";
  if (type != "ClusterIP" && type != "NodePort" && type != "LoadBalancer" &&
      type != "ExternalName") {
    errs.push_back({"spec.type", "Unsupported value: \"" + type +
                                     "\": supported values: \"ClusterIP\", \"ExternalName\", "
                                     "\"LoadBalancer\", \"NodePort\""});
    return errs;
  }
  spec["type"] = type;
  if (!spec.contains("sessionAffinity")) spec["sessionAffinity"] = "None";
  if (auto* ports = spec.if_contains("ports"); ports && ports->is_array()) {
    for (auto& p : ports->as_array()) {
      auto& po = Obj(p);
      if (!po.contains("protocol")) po["protocol"] = "TCP";
      if (!po.contains("targetPort") && po.contains("port")) po["targetPort"] = po["port"];
    }
  }
  if (type == "ExternalName") return errs;
  if (!spec.contains("ipFamilies")) spec["ipFamilies"] = json::array{"IPv4"};
  if (!spec.contains("ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
  if (!spec.contains("internalTrafficPolicy")) spec["internalTrafficPolicy"] = "Cluster";

  thread_local std::mt19937 rng{std::random_device{}()};
  std::string ip = StrOf(spec, "clusterIP");
  if (ip != "None") {
    auto used = Used("/registry/ipaddresses/");
    std::set<std::string> taken(used.begin(), used.end());
    if (!ip.empty()) {
      auto parsed = ParseIp(ip);
      if (!parsed || *parsed <= base_ || *parsed >= base_ + size_ - 1) {
        errs.push_back({"spec.clusterIPs", "Invalid value: \"" + ip +
                                               "\": failed to allocate IP " + ip +
                                               ": the provided IP (" + ip +
                                               ") is not in the valid range. The range of "
                                               "valid IPs is " + opts_.service_cidr});
        return errs;
      }
      if (taken.count(ip)) {
        errs.push_back({"spec.clusterIPs", "Invalid value: \"" + ip + "\": failed to allocate IP " +
                                               ip + ": provided IP is already allocated"});
        return errs;
      }
    } else {
      if (taken.size() + 2 >= size_) {
        errs.push_back({"spec.clusterIPs", "Internal error: failed to allocate a serviceIP: "
                                           "range is full"});
        return errs;
      }
      // Random probes, then a scan, as the range fills up.
      for (int i = 0; i < 64 && ip.empty(); ++i) {
        std::string cand = FormatIp(base_ + 2 + rng() % (size_ - 3));
        if (!taken.count(cand)) ip = cand;
      }
      for (uint32_t off = 2; ip.empty() && off + 1 < size_; ++off) {
        std::string cand = FormatIp(base_ + off);
        if (!taken.count(cand)) ip = cand;
      }
      if (ip.empty()) {
        errs.push_back({"spec.clusterIPs", "Internal error: failed to allocate a serviceIP: "
                                           "range is full"});
        return errs;
      }
    }
    spec["clusterIP"] = ip;
    spec["clusterIPs"] = json::array{json::string(ip)};
    Claim(txn, IpKey(ip), owner);
  } else {
    spec["clusterIPs"] = json::array{"None"};
  }

  if (type == "NodePort" || type == "LoadBalancer") {
    if (!spec.contains("externalTrafficPolicy")) spec["externalTrafficPolicy"] = "Cluster";
    auto used = Used("/registry/servicenodeports/");
    std::set<int64_t> taken;
    for (const auto& u : used) taken.insert(std::atoll(u.c_str()));
    auto* ports = spec.if_contains("ports");
    if (ports && ports->is_array()) {
      // The ports asked for first, then free ones for the rest, so that a port picked at
      // random never takes one the Service itself asks for.
      for (bool asked : {true, false}) {
        int index = 0;
        for (auto& p : ports->as_array()) {
          auto& po = Obj(p);
          int64_t np = IntOf(po, "nodePort");
          std::string field = "spec.ports[" + std::to_string(index++) + "].nodePort";
          if ((np != 0) != asked) continue;
          if (auto err = PickNodePort(&np, taken, field)) {
            errs.push_back(std::move(*err));
            continue;
          }
          po["nodePort"] = np;
          taken.insert(np);
          Claim(txn, PortKey(np), owner);
        }
      }
    }
    AllocateHealthCheckPort(&spec, 0, &taken, owner, txn, &errs);
  }
  return errs;
}

void ServiceAllocator::AllocateHealthCheckPort(json::object* spec, int64_t held,
                                               std::set<int64_t>* taken,
                                               const std::string& owner, store::TxnRequest* txn,
                                               std::vector<AllocError>* errs) {
  // Upstream gives a LoadBalancer Service with externalTrafficPolicy Local a node port of its
  // own that the nodes' proxies answer load balancers' health checks on.
  bool wants = StrOf(*spec, "type") == "LoadBalancer" &&
               StrOf(*spec, "externalTrafficPolicy") == "Local";
  int64_t hc = wants ? IntOf(*spec, "healthCheckNodePort") : 0;
  if (wants && hc == 0) hc = held;
  if (held != 0 && hc != held) {
    txn->success.push_back(store::RequestOp{store::DeleteRangeRequest{PortKey(held), "", false}});
  }
  if (!wants) {
    spec->erase("healthCheckNodePort");
    return;
  }
  if (hc != 0 && hc == held) {
    (*spec)["healthCheckNodePort"] = hc;
    return;
  }
  if (auto err = PickNodePort(&hc, *taken, "spec.healthCheckNodePort")) {
    errs->push_back(std::move(*err));
    return;
  }
  (*spec)["healthCheckNodePort"] = hc;
  taken->insert(hc);
  Claim(txn, PortKey(hc), owner);
}

std::optional<AllocError> ServiceAllocator::PickNodePort(int64_t* port,
                                                        const std::set<int64_t>& taken,
                                                        const std::string& field) const {
  int64_t np = *port;
  if (np != 0) {
    if (np < opts_.node_port_min || np > opts_.node_port_max) {
      return AllocError{field, "Invalid value: " + std::to_string(np) +
                                   ": provided port is not in the valid range. The range of "
                                   "valid ports is " + std::to_string(opts_.node_port_min) +
                                   "-" + std::to_string(opts_.node_port_max)};
    }
    if (taken.count(np)) {
      return AllocError{field, "Invalid value: " + std::to_string(np) +
                                   ": provided port is already allocated"};
    }
    return std::nullopt;
  }
  // A free port at random, or the first free one when a few draws find none.
  thread_local std::mt19937 rng{std::random_device{}()};
  int64_t span = opts_.node_port_max - opts_.node_port_min + 1;
  for (int i = 0; i < 64 && np == 0; ++i) {
    int64_t cand = opts_.node_port_min + static_cast<int64_t>(rng() % span);
    if (!taken.count(cand)) np = cand;
  }
  for (int64_t cand = opts_.node_port_min; np == 0 && cand <= opts_.node_port_max; ++cand) {
    if (!taken.count(cand)) np = cand;
  }
  if (np == 0) {
    return AllocError{field, "Internal error: failed to allocate a nodePort: range is full"};
  }
  *port = np;
  return std::nullopt;
}

std::vector<AllocError> ServiceAllocator::CheckUpdate(const json::object& old, json::object* svc,
                                                      const std::string& owner,
                                                      store::TxnRequest* txn) {
  std::vector<AllocError> errs;
  const json::value* old_spec_v = old.if_contains("spec");
  if (!old_spec_v || !old_spec_v->is_object()) return errs;
  const auto& old_spec = old_spec_v->as_object();
  auto& spec = Obj((*svc)["spec"]);
  if (StrOf(spec, "type").empty()) spec["type"] = StrOf(old_spec, "type");
  std::string old_type = StrOf(old_spec, "type"), type = StrOf(spec, "type");
  if (old_type.empty()) old_type = "ClusterIP";
  if (type != old_type && type == "ExternalName") {
    // Becoming a name: the address, node ports and address-family settings go, freed in
    // the update's transaction.
    Release(old, txn);
    for (const char* f : {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy",
                          "internalTrafficPolicy", "externalTrafficPolicy",
                          "healthCheckNodePort"}) {
      spec.erase(f);
    }
    if (auto* ps = spec.if_contains("ports"); ps && ps->is_array()) {
      for (auto& p : ps->as_array()) Obj(p).erase("nodePort");
    }
    if (StrOf(spec, "externalName").empty()) {
      errs.push_back({"spec.externalName", "Required value"});
    }
    return errs;
  }
  if (type != old_type && old_type == "ExternalName") {
    // From a name to an address: allocated as a new Service would be.
    spec.erase("externalName");
    if (StrOf(spec, "clusterIP").empty()) spec.erase("clusterIPs");
    return AllocateForCreate(svc, owner, txn);
  }
  std::string old_ip = StrOf(old_spec, "clusterIP");
  std::string ip = StrOf(spec, "clusterIP");
  if (ip.empty()) {
    if (auto* v = old_spec.if_contains("clusterIP")) spec["clusterIP"] = *v;
    if (auto* v = old_spec.if_contains("clusterIPs")) spec["clusterIPs"] = *v;
  } else if (ip != old_ip) {
    errs.push_back({"spec.clusterIPs[0]", "Invalid value: \"" + ip + "\": may not change once set"});
  }
  // Node ports: kept when left out, allocated for a port that gets one, freed when no port
  // uses them any more (also when the type goes back to ClusterIP, which has none).
  std::map<std::pair<int64_t, std::string>, int64_t> old_ports;
  std::set<int64_t> held;
  if (auto* ps = old_spec.if_contains("ports"); ps && ps->is_array()) {
    for (const auto& p : ps->as_array()) {
      if (!p.is_object()) continue;
      const auto& po = p.as_object();
      std::string proto = StrOf(po, "protocol");
      int64_t np = IntOf(po, "nodePort");
      old_ports[{IntOf(po, "port"), proto.empty() ? "TCP" : proto}] = np;
      if (np != 0) held.insert(np);
    }
  }
  bool wants = type == "NodePort" || type == "LoadBalancer";
  std::set<int64_t> taken;
  bool loaded = false;
  std::set<int64_t> kept;
  if (auto* ps = spec.if_contains("ports"); ps && ps->is_array()) {
    // The ports given (or kept) first, then free ones for the rest, so that a port picked at
    // random never takes one the Service itself asks for.
    for (bool given : {true, false}) {
      int index = 0;
      for (auto& p : ps->as_array()) {
        auto& po = Obj(p);
        std::string field = "spec.ports[" + std::to_string(index++) + "].nodePort";
        if (!po.contains("protocol")) po["protocol"] = "TCP";
        if (!po.contains("targetPort") && po.contains("port")) po["targetPort"] = po["port"];
        if (!wants) {
          po.erase("nodePort");
          continue;
        }
        auto it = old_ports.find({IntOf(po, "port"), StrOf(po, "protocol")});
        int64_t old_np = it == old_ports.end() ? 0 : it->second;
        int64_t np = IntOf(po, "nodePort");
        if (np == 0 && old_np != 0) np = old_np;
        if ((np != 0) != given) continue;
        if (np != 0 && held.count(np)) {  // ours already
          po["nodePort"] = np;
          kept.insert(np);
          continue;
        }
        if (!loaded) {
          for (const auto& u : Used("/registry/servicenodeports/")) {
            taken.insert(std::atoll(u.c_str()));
          }
          loaded = true;
        }
        if (auto err = PickNodePort(&np, taken, field)) {
          errs.push_back(std::move(*err));
          continue;
        }
        po["nodePort"] = np;
        taken.insert(np);
        kept.insert(np);
        Claim(txn, PortKey(np), owner);
      }
    }
  }
  for (int64_t np : held) {
    if (!kept.count(np)) {
      txn->success.push_back(store::RequestOp{store::DeleteRangeRequest{PortKey(np), "", false}});
    }
  }
  if (wants) {
    if (!spec.contains("externalTrafficPolicy")) spec["externalTrafficPolicy"] = "Cluster";
  } else {
    spec.erase("externalTrafficPolicy");
  }
  int64_t old_hc = IntOf(old_spec, "healthCheckNodePort");
  bool hc_wanted = type == "LoadBalancer" && StrOf(spec, "externalTrafficPolicy") == "Local";
  if (hc_wanted && (IntOf(spec, "healthCheckNodePort") == 0 ||
                    IntOf(spec, "healthCheckNodePort") != old_hc) && !loaded) {
    for (const auto& u : Used("/registry/servicenodeports/")) taken.insert(std::atoll(u.c_str()));
    loaded = true;
  }
  AllocateHealthCheckPort(&spec, old_hc, &taken, owner, txn, &errs);
  return errs;
}

void ServiceAllocator::Release(const json::object& svc, store::TxnRequest* txn) const {
  const json::value* spec_v = svc.if_contains("spec");
  if (!spec_v || !spec_v->is_object()) return;
  const auto& spec = spec_v->as_object();
  if (auto* ips = spec.if_contains("clusterIPs"); ips && ips->is_array()) {
    for (const auto& ip : ips->as_array()) {
      if (ip.is_string() && ip.as_string() != "None") {
        txn->success.push_back(
            store::RequestOp{store::DeleteRangeRequest{IpKey(std::string(ip.as_string())), "", false}});
      }
    }
  }
  if (auto* ps = spec.if_contains("ports"); ps && ps->is_array()) {
    for (const auto& p : ps->as_array()) {
      if (!p.is_object()) continue;
      if (int64_t np = IntOf(p.as_object(), "nodePort"); np != 0) {
        txn->success.push_back(store::RequestOp{store::DeleteRangeRequest{PortKey(np), "", false}});
      }
    }
  }
  if (int64_t hc = IntOf(spec, "healthCheckNodePort"); hc != 0) {
    txn->success.push_back(store::RequestOp{store::DeleteRangeRequest{PortKey(hc), "", false}});
  }
}

Status ServiceAllocator::Repair() {
  const std::string services = "/registry/services/specs/";
  store::RangeRequest r;
  r.key = services;
  r.range_end = store::PrefixEnd(services);
  auto res = store_->Range(r);
  if (!res.ok()) return res.status();
  std::map<std::string, std::string> want;  // allocation key -> owner
  for (const auto& kv : res->kvs) {
    boost::system::error_code ec;
    json::value v = json::parse(kv.value, ec, {}, api::JsonParseOptions());
    if (ec || !v.is_object()) continue;
    std::string owner = kv.key.substr(services.size());
    store::TxnRequest probe;
    Release(v.as_object(), &probe);
    for (const auto& op : probe.success) {
      want[std::get<store::DeleteRangeRequest>(op.request).key] = owner;
    }
  }
  for (const std::string prefix : {"/registry/ipaddresses/", "/registry/servicenodeports/"}) {
    store::RangeRequest a;
    a.key = prefix;
    a.range_end = store::PrefixEnd(prefix);
    auto have = store_->Range(a);
    if (!have.ok()) return have.status();
    for (const auto& kv : have->kvs) {
      auto it = want.find(kv.key);
      if (it != want.end() && it->second == kv.value) {
        want.erase(it);
        continue;
      }
      // Held by nobody (or by someone else's stale claim): free it if unchanged since read.
      store::TxnRequest txn;
      txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                           store::Compare::Target::kMod, kv.key, "",
                                           kv.mod_revision, ""});
      txn.success.push_back(store::RequestOp{store::DeleteRangeRequest{kv.key, "", false}});
      auto d = store_->Txn(std::move(txn));
      if (!d.ok()) return d.status();
    }
  }
  for (const auto& [key, owner] : want) {
    store::TxnRequest txn;
    Claim(&txn, key, owner);
    auto p = store_->Txn(std::move(txn));
    if (!p.ok()) return p.status();
  }
  return Status::Ok();
}

}  // namespace keelson::apiserver
