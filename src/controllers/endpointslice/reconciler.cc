#include "controllers/endpointslice/reconciler.h"

#include <arpa/inet.h>

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"
#include "controllers/endpoint/endpoints_util.h"

namespace keelson::controllers {

namespace json = boost::json;

namespace {

const json::object* SpecOf(const api::Object& obj) {
  const auto* s = obj.if_contains("spec");
  return s ? s->if_object() : nullptr;
}

const json::array* ArrayOf(const json::object& o, std::string_view key) {
  const auto* a = o.if_contains(key);
  return a ? a->if_array() : nullptr;
}

bool IsReservedLabel(std::string_view key) {
  return key == kLabelServiceName || key == kLabelManagedBy || key == kHeadlessServiceLabel;
}

// The address as Go prints it (e.g. an IPv6 address in its shortest form); "" when it is not
// of the family.
std::string CanonicalIp(std::string_view ip, bool v6) {
  std::string text(ip);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN] = {};
  int family = v6 ? AF_INET6 : AF_INET;
  if (inet_pton(family, text.c_str(), buf) != 1) return "";
  inet_ntop(family, buf, out, sizeof(out));
  return out;
}

// The address types the Service's endpoints are published for.
std::vector<std::string> AddressTypes(const api::Object& service) {
  std::vector<std::string> out;
  if (const json::object* spec = SpecOf(service)) {
    if (const json::array* families = ArrayOf(*spec, "ipFamilies")) {
      for (const auto& f : *families) {
        if (!f.is_string()) continue;
        std::string t(f.as_string());
        if ((t == "IPv4" || t == "IPv6") && std::find(out.begin(), out.end(), t) == out.end()) {
          out.push_back(t);
        }
      }
    }
  }
  if (!out.empty()) return out;
  if (IsServiceIpSet(service)) {
    return {IsIpv6(api::FieldText(service, "spec.clusterIP")) ? "IPv6" : "IPv4"};
  }
  return {"IPv4", "IPv6"};  // headless, without families: both
}

// The ports `pod` offers for the Service's ports, in a canonical order.
json::array EndpointPorts(const api::Object& service, const api::Object& pod) {
  std::vector<json::object> ports;
  const json::object* spec = SpecOf(service);
  const json::array* service_ports = spec ? ArrayOf(*spec, "ports") : nullptr;
  if (service_ports) {
    for (const auto& sp : *service_ports) {
      if (!sp.is_object()) continue;
      auto number = FindPort(pod, sp.as_object());
      if (!number) continue;
      json::object p{{"name", StringAt(sp.as_object(), {"name"})}, {"port", *number}};
      std::string_view protocol = StringAt(sp.as_object(), {"protocol"});
      p["protocol"] = protocol.empty() ? "TCP" : protocol;
      if (std::string_view app = StringAt(sp.as_object(), {"appProtocol"}); !app.empty()) {
        p["appProtocol"] = app;
      }
      ports.push_back(std::move(p));
    }
  }
  std::sort(ports.begin(), ports.end(), [](const json::object& a, const json::object& b) {
    return std::make_tuple(StringAt(a, {"name"}), a.at("port").to_number<int64_t>(), StringAt(a, {"protocol"})) <
           std::make_tuple(StringAt(b, {"name"}), b.at("port").to_number<int64_t>(), StringAt(b, {"protocol"}));
  });
  json::array out;
  for (auto& p : ports) out.push_back(std::move(p));
  return out;
}

std::string PortKey(const json::array& ports) { return json::serialize(ports); }

json::object PodToEndpoint(const api::Object& pod, const api::Object* node,
                           const api::Object& service, bool v6) {
  const bool serving = IsPodReady(pod);
  const bool terminating = api::IsBeingDeleted(pod);
  const bool publish = api::FieldText(service, "spec.publishNotReadyAddresses") == "true";
  const bool ready = publish || (serving && !terminating);
  json::array addresses;
  for (const auto& ip : PodIps(pod)) {
    std::string c = CanonicalIp(ip, v6);
    if (!c.empty()) addresses.push_back(json::string(c));
  }
  json::object ep{{"addresses", std::move(addresses)},
                  {"conditions", json::object{{"ready", ready},
                                              {"serving", serving},
                                              {"terminating", terminating}}}};
  if (ShouldSetHostname(pod, service)) ep["hostname"] = api::FieldText(pod, "spec.hostname");
  ep["targetRef"] = json::object{{"kind", "Pod"},
                                 {"namespace", api::GetNamespace(pod)},
                                 {"name", api::GetName(pod)},
                                 {"uid", api::GetUid(pod)}};
  if (std::string node_name = api::FieldText(pod, "spec.nodeName"); !node_name.empty()) {
    ep["nodeName"] = node_name;
  }
  if (node) {
    auto labels = api::GetLabels(*node);
    if (auto it = labels.find("topology.kubernetes.io/zone");
        it != labels.end() && !it->second.empty()) {
      ep["zone"] = it->second;
    }
  }
  return ep;
}

// What identifies an endpoint across syncs (upstream's hashEndpoint): its addresses, hostname
// and pod; everything else may change in place.
std::string EndpointKey(const json::object& ep) {
  std::vector<std::string> addrs;
  if (const json::array* a = ArrayOf(ep, "addresses")) {
    for (const auto& v : *a) {
      if (v.is_string()) addrs.emplace_back(v.as_string());
    }
  }
  std::sort(addrs.begin(), addrs.end());
  std::string key;
  for (const auto& a : addrs) key += a + ",";
  key += "|";
  key += StringAt(ep, {"hostname"});
  key += "|";
  if (const auto* ref = ep.if_contains("targetRef"); ref && ref->is_object()) {
    key += StringAt(ref->as_object(), {"namespace"});
    key += "/";
    key += StringAt(ref->as_object(), {"name"});
  }
  return key;
}

// Upstream's EndpointsEqualBeyondHash: the rest of the endpoint (a pod reference's
// resourceVersion aside).
bool EqualBeyondKey(const json::object& a, const json::object& b) {
  for (const char* f : {"nodeName", "zone"}) {
    const auto* x = a.if_contains(f);
    const auto* y = b.if_contains(f);
    if ((x == nullptr) != (y == nullptr) || (x && *x != *y)) return false;
  }
  static const json::object kEmpty;
  auto conditions = [](const json::object& e) -> const json::object& {
    const auto* c = e.if_contains("conditions");
    return c && c->is_object() ? c->as_object() : kEmpty;
  };
  for (const char* c : {"ready", "serving", "terminating"}) {
    const auto* x = conditions(a).if_contains(c);
    const auto* y = conditions(b).if_contains(c);
    if ((x == nullptr) != (y == nullptr) || (x && *x != *y)) return false;
  }
  auto ref = [](const json::object& e) {
    const auto* r = e.if_contains("targetRef");
    json::object out = r && r->is_object() ? r->as_object() : json::object();
    out.erase("resourceVersion");
    return out;
  };
  return ref(a) == ref(b);
}

bool OwnedBy(const api::Object& slice, const api::Object& service) {
  for (const auto& o : api::GetOwnerReferences(slice)) {
    if (o.uid == api::GetUid(service) && o.kind == "Service" && o.api_version == "v1") return true;
  }
  return false;
}

size_t EndpointCount(const api::Object& slice) {
  const json::array* e = ArrayOf(slice, "endpoints");
  return e ? e->size() : 0;
}

api::Object NewSlice(const api::Object& service, const json::array& ports,
                     const std::string& address_type, const std::string& controller) {
  api::Object slice{
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata",
       json::object{{"generateName", std::string(api::GetName(service)) + "-"},
                    {"namespace", api::GetNamespace(service)},
                    {"ownerReferences",
                     json::array{api::ToJson(NewControllerRef(service, "v1", "Service"))}}}},
      {"addressType", address_type},
      {"endpoints", json::array()},
      {"ports", ports}};
  slice["metadata"].as_object()["labels"] = SliceLabels(slice, service, controller).first;
  return slice;
}

// Upstream's placeholderSliceCompare: an existing slice that is what the placeholder would be.
bool SameAsPlaceholder(const api::Object& existing, const api::Object& placeholder) {
  if (api::GetNamespace(existing) != api::GetNamespace(placeholder)) return false;
  if (api::GetLabels(existing) != api::GetLabels(placeholder)) return false;
  auto refs = [](const api::Object& o) {
    json::array out;
    for (const auto& r : api::GetOwnerReferences(o)) out.push_back(api::ToJson(r));
    return out;
  };
  if (refs(existing) != refs(placeholder)) return false;
  if (api::FieldText(existing, "addressType") != api::FieldText(placeholder, "addressType")) {
    return false;
  }
  const json::array* ports = ArrayOf(existing, "ports");
  return EndpointCount(existing) == 0 && (!ports || ports->empty());
}

struct PortMapResult {
  std::vector<api::Object> create, update, remove;
};

// Upstream's reconcileByPortMapping.
PortMapResult ReconcileByPortMapping(const api::Object& service,
                                     const std::vector<client::ObjectPtr>& existing,
                                     std::map<std::string, json::object>& desired,
                                     const json::array& ports, const std::string& address_type,
                                     const ReconcileInput& in) {
  const size_t max = static_cast<size_t>(std::max(in.max_endpoints_per_slice, 1));
  std::map<std::string, api::Object> changed;             // name -> the slice as it will be
  std::map<std::string, client::ObjectPtr> originals;     // name -> as it is
  std::set<std::string> unchanged, to_update, to_delete;

  // 1. Endpoints no longer desired leave their slices; those still desired are updated in
  //    place; slices whose labels no longer follow the Service's are updated.
  for (const auto& slice : existing) {
    const std::string name(api::GetName(*slice));
    originals[name] = slice;
    json::array kept;
    bool endpoint_updated = false;
    size_t before = 0;
    if (const json::array* eps = ArrayOf(*slice, "endpoints")) {
      before = eps->size();
      for (const auto& v : *eps) {
        if (!v.is_object()) continue;
        auto it = desired.find(EndpointKey(v.as_object()));
        if (it == desired.end()) continue;
        if (!EqualBeyondKey(it->second, v.as_object())) endpoint_updated = true;
        kept.push_back(std::move(it->second));
        desired.erase(it);
      }
    }
    auto [labels, labels_changed] = SliceLabels(*slice, service, in.controller_name);
    if (endpoint_updated || kept.size() != before) {
      if (kept.empty()) {
        to_delete.insert(name);
      } else {
        api::Object copy = *slice;
        copy["endpoints"] = std::move(kept);
        copy["metadata"].as_object()["labels"] = std::move(labels);
        changed[name] = std::move(copy);
        to_update.insert(name);
      }
    } else if (labels_changed) {
      api::Object copy = *slice;
      copy["metadata"].as_object()["labels"] = std::move(labels);
      changed[name] = std::move(copy);
      to_update.insert(name);
    } else {
      unchanged.insert(name);
    }
  }

  auto pop = [&]() {
    auto it = desired.begin();
    json::object ep = std::move(it->second);
    desired.erase(it);
    return ep;
  };

  // 2. The slices being updated anyway take new endpoints, the fullest first.
  if (!desired.empty() && !to_update.empty()) {
    std::vector<api::Object*> slices;
    for (const auto& name : to_update) slices.push_back(&changed[name]);
    std::stable_sort(slices.begin(), slices.end(), [](const api::Object* a, const api::Object* b) {
      return EndpointCount(*a) > EndpointCount(*b);
    });
    for (api::Object* s : slices) {
      auto& eps = (*s)["endpoints"].as_array();
      while (!desired.empty() && eps.size() < max) eps.push_back(pop());
    }
  }

  // 3. What is left goes into the unchanged slice it fits best, or into new slices.
  PortMapResult out;
  while (!desired.empty()) {
    std::string fill_name;
    if (desired.size() < max && !unchanged.empty()) {
      size_t closest = max;
      for (const auto& name : unchanged) {
        size_t n = EndpointCount(*originals[name]);
        if (n + desired.size() > max) continue;
        size_t diff = max - (desired.size() + n);
        if (diff < closest) {
          closest = diff;
          fill_name = name;
          if (diff == 0) break;
        }
      }
    }
    api::Object slice;
    if (fill_name.empty()) {
      slice = NewSlice(service, ports, address_type, in.controller_name);
    } else {
      slice = *originals[fill_name];
      if (!slice["endpoints"].is_array()) slice["endpoints"] = json::array();
    }
    auto& eps = slice["endpoints"].as_array();
    while (!desired.empty() && eps.size() < max) eps.push_back(pop());
    if (!fill_name.empty()) {
      changed[fill_name] = std::move(slice);
      to_update.insert(fill_name);
      unchanged.erase(fill_name);
    } else {
      out.create.push_back(std::move(slice));
    }
  }
  for (const auto& name : to_update) out.update.push_back(std::move(changed[name]));
  for (const auto& name : to_delete) out.remove.push_back(*originals[name]);
  return out;
}

}  // namespace

std::pair<json::object, bool> SliceLabels(const api::Object& slice, const api::Object& service,
                                          const std::string& controller_name) {
  json::object slice_labels, service_labels;
  if (const auto* m = api::GetMetadata(slice)) {
    if (const auto* l = m->if_contains("labels"); l && l->is_object()) {
      for (const auto& [k, v] : l->as_object()) {
        if (!IsReservedLabel(k)) slice_labels[k] = v;
      }
    }
  }
  if (const auto* m = api::GetMetadata(service)) {
    if (const auto* l = m->if_contains("labels"); l && l->is_object()) {
      for (const auto& [k, v] : l->as_object()) {
        if (!IsReservedLabel(k)) service_labels[k] = v;
      }
    }
  }
  const bool changed = slice_labels != service_labels;
  if (!IsServiceIpSet(service)) {
    service_labels[kHeadlessServiceLabel] = "";
  } else {
    service_labels.erase(kHeadlessServiceLabel);
  }
  service_labels[kLabelServiceName] = api::GetName(service);
  service_labels[kLabelManagedBy] = controller_name;
  return {std::move(service_labels), changed};
}

SlicePlan PlanSlices(const ReconcileInput& in) {
  const api::Object& service = *in.service;
  SlicePlan plan;
  std::vector<std::string> types = AddressTypes(service);
  std::map<std::string, std::vector<client::ObjectPtr>> by_type;
  for (const auto& slice : in.slices) {
    std::string type = api::FieldText(*slice, "addressType");
    if (std::find(types.begin(), types.end(), type) == types.end()) {
      plan.remove.push_back(*slice);  // an address type the Service no longer has
    } else {
      by_type[type].push_back(slice);
    }
  }
  const bool publish = api::FieldText(service, "spec.publishNotReadyAddresses") == "true";
  for (const auto& type : types) {
    const bool v6 = type == "IPv6";
    const auto& existing = by_type[type];
    std::vector<api::Object> create, update, remove;
    std::map<std::string, std::vector<client::ObjectPtr>> existing_by_ports;
    for (const auto& slice : existing) {
      if (OwnedBy(*slice, service)) {
        const json::array* ports = ArrayOf(*slice, "ports");
        json::array sorted;
        if (ports) {
          std::vector<json::object> ps;
          for (const auto& p : *ports) {
            if (p.is_object()) ps.push_back(p.as_object());
          }
          std::sort(ps.begin(), ps.end(), [](const json::object& a, const json::object& b) {
            auto port = [](const json::object& o) {
              const auto* p = o.if_contains("port");
              return p && p->is_number() ? p->to_number<int64_t>() : 0;
            };
            return std::make_tuple(StringAt(a, {"name"}), port(a), StringAt(a, {"protocol"})) <
                   std::make_tuple(StringAt(b, {"name"}), port(b), StringAt(b, {"protocol"}));
          });
          for (auto& p : ps) sorted.push_back(std::move(p));
        }
        existing_by_ports[PortKey(sorted)].push_back(slice);
      } else {
        remove.push_back(*slice);
      }
    }
    std::map<std::string, std::map<std::string, json::object>> desired;  // ports -> key -> ep
    std::map<std::string, json::array> desired_ports;
    for (const auto& pod : in.pods) {
      if (!ShouldPodBeInEndpoints(*pod, true)) continue;
      json::array ports = EndpointPorts(service, *pod);
      std::string key = PortKey(ports);
      std::string node_name = api::FieldText(*pod, "spec.nodeName");
      client::ObjectPtr node = in.node ? in.node(node_name) : nullptr;
      if (!node && !publish) {
        // The pod's node is not known (yet): the pod is left out and the Service retried.
        if (plan.error.ok()) {
          plan.error = Status(StatusCode::kUnavailable,
                              "skipping pod " + client::ObjectKey(*pod) + ": node " + node_name +
                                  " not found");
        }
        continue;
      }
      json::object ep = PodToEndpoint(*pod, node.get(), service, v6);
      if (ep.at("addresses").as_array().empty()) continue;
      desired_ports.emplace(key, ports);
      desired[key][EndpointKey(ep)] = std::move(ep);
    }
    for (auto& [key, set] : desired) {
      auto r = ReconcileByPortMapping(service, existing_by_ports[key], set, desired_ports[key],
                                      type, in);
      for (auto& s : r.create) create.push_back(std::move(s));
      for (auto& s : r.update) update.push_back(std::move(s));
      for (auto& s : r.remove) remove.push_back(std::move(s));
    }
    for (const auto& [key, slices] : existing_by_ports) {
      if (desired.count(key)) continue;
      for (const auto& s : slices) remove.push_back(*s);
    }
    // A Service without endpoints keeps one empty slice.
    if (existing.size() == remove.size() && create.empty()) {
      api::Object placeholder = NewSlice(service, json::array(), type, in.controller_name);
      if (remove.size() == 1 && SameAsPlaceholder(remove.front(), placeholder)) {
        remove.clear();
      } else {
        create.push_back(std::move(placeholder));
      }
    }
    for (auto& s : create) plan.create.push_back(std::move(s));
    for (auto& s : update) plan.update.push_back(std::move(s));
    for (auto& s : remove) plan.remove.push_back(std::move(s));
  }
  return plan;
}

}  // namespace keelson::controllers
