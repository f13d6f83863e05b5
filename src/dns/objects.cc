#include "dns/objects.h"

#include <boost/json.hpp>

#include <map>
#include <utility>

namespace keelson::dns {
namespace {

namespace json = boost::json;

const json::object* ObjectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}
const json::array* ArrayAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}
std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  const json::string* s = v ? v->if_string() : nullptr;
  return s ? std::string(*s) : std::string();
}
std::optional<int64_t> IntAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

std::vector<PortInfo> Ports(const json::array* ports) {
  std::vector<PortInfo> out;
  if (ports == nullptr) return out;
  for (const auto& v : *ports) {
    const json::object* p = v.if_object();
    if (p == nullptr) continue;
    PortInfo port;
    port.name = StringAt(*p, "name");
    port.protocol = StringAt(*p, "protocol");
    if (port.protocol.empty()) port.protocol = "TCP";
    port.port = static_cast<int32_t>(IntAt(*p, "port").value_or(-1));
    out.push_back(std::move(port));
  }
  return out;
}

}  // namespace

std::optional<ServiceInfo> ServiceFromObject(const api::Object& service) {
  ServiceInfo s;
  s.name = std::string(api::GetName(service));
  s.ns = std::string(api::GetNamespace(service));
  if (s.name.empty() || s.ns.empty()) return std::nullopt;
  const json::object* spec = ObjectAt(service, "spec");
  if (spec == nullptr) return std::nullopt;
  s.ports = Ports(ArrayAt(*spec, "ports"));
  const json::value* pnr = spec->if_contains("publishNotReadyAddresses");
  s.publish_not_ready = pnr && pnr->is_bool() && pnr->as_bool();
  auto annotations = api::GetAnnotations(service);
  auto tolerate = annotations.find("service.alpha.kubernetes.io/tolerate-unready-endpoints");
  if (tolerate != annotations.end() && tolerate->second == "true") s.publish_not_ready = true;
  if (StringAt(*spec, "type") == "ExternalName") {
    s.kind = ServiceInfo::Kind::kExternalName;
    s.external_name = StringAt(*spec, "externalName");
    return s;
  }
  std::string cluster_ip = StringAt(*spec, "clusterIP");
  if (cluster_ip == "None") {
    s.kind = ServiceInfo::Kind::kHeadless;
    return s;
  }
  if (const json::array* ips = ArrayAt(*spec, "clusterIPs")) {
    for (const auto& v : *ips) {
      if (const json::string* ip = v.if_string()) s.cluster_ips.emplace_back(*ip);
    }
  }
  if (s.cluster_ips.empty() && !cluster_ip.empty()) s.cluster_ips.push_back(cluster_ip);
  if (s.cluster_ips.empty()) return std::nullopt;
  return s;
}

void AppendSliceEndpoints(const api::Object& slice, std::vector<EndpointInfo>* out) {
  std::string type = StringAt(slice, "addressType");
  if (type != "IPv4" && type != "IPv6") return;
  std::vector<PortInfo> ports = Ports(ArrayAt(slice, "ports"));
  const json::array* endpoints = ArrayAt(slice, "endpoints");
  if (endpoints == nullptr) return;
  for (const auto& v : *endpoints) {
    const json::object* e = v.if_object();
    if (e == nullptr) continue;
    EndpointInfo ep;
    if (const json::array* addrs = ArrayAt(*e, "addresses")) {
      for (const auto& a : *addrs) {
        if (const json::string* s = a.if_string()) ep.addresses.emplace_back(*s);
      }
    }
    if (ep.addresses.empty()) continue;
    ep.hostname = StringAt(*e, "hostname");
    if (const json::object* conditions = ObjectAt(*e, "conditions")) {
      const json::value* ready = conditions->if_contains("ready");
      if (ready && ready->is_bool()) ep.ready = ready->as_bool();
    }
    ep.ports = ports;
    out->push_back(std::move(ep));
  }
}

std::vector<ServiceInfo> ServicesFromObjects(const std::vector<const api::Object*>& services,
                                             const std::vector<const api::Object*>& slices) {
  std::vector<ServiceInfo> out;
  std::map<std::pair<std::string, std::string>, size_t> index;
  for (const api::Object* obj : services) {
    auto s = ServiceFromObject(*obj);
    if (!s) continue;
    index[{s->ns, s->name}] = out.size();
    out.push_back(std::move(*s));
  }
  for (const api::Object* slice : slices) {
    auto labels = api::GetLabels(*slice);
    auto it = labels.find(kServiceNameLabel);
    if (it == labels.end()) continue;
    auto s = index.find({std::string(api::GetNamespace(*slice)), it->second});
    if (s == index.end() || out[s->second].kind != ServiceInfo::Kind::kHeadless) continue;
    AppendSliceEndpoints(*slice, &out[s->second].endpoints);
  }
  return out;
}

}  // namespace keelson::dns
