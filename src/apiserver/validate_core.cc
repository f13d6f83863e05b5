// Core kinds other than Pod (upstream's pkg/apis/core/validation).
#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "api/quantity.h"
#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::validation {
namespace {

const std::vector<std::string> kProtocols = {"SCTP", "TCP", "UDP"};
const std::vector<std::string> kAccessModes = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                               "ReadWriteOncePod"};
constexpr const char* kInvalidIP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
constexpr const char* kInvalidCIDR =
    "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

// Go's fmt %#v of a []string, as upstream prints clusterIPs.
std::string GoStrings(const std::vector<std::string>& v) {
  std::string out = "[]string{";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + api::GoQuote(v[i]);
  return out + "}";
}

std::vector<std::string> Strings(const json::value* v) {
  std::vector<std::string> out;
  if (const auto* a = AsArray(v)) {
    for (const auto& e : *a) out.push_back(Str(&e));
  }
  return out;
}

// A config key (ConfigMap and Secret data): [-._a-zA-Z0-9]+, at most 253 characters.
void ConfigKeys(const json::value* data, const std::string& field, Causes* out) {
  const auto* d = AsObject(data);
  if (d == nullptr) return;
  for (const auto& [k, v] : *d) {
    std::string key(k);
    bool ok = !key.empty() && key.size() <= 253 &&
              key.find_first_not_of("-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789") == std::string::npos;
    if (!ok) {
      InvalidString(out, field, key,
                    "a valid config key must consist of alphanumeric characters, '-', '_' or "
                    "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                    "validation is '[-._a-zA-Z0-9]+')");
    }
  }
}

void ImmutableData(const Check& c) {
  // An immutable ConfigMap or Secret keeps its data and its immutability.
  const auto* was = c.old->if_contains("immutable");
  if (!was || !was->is_bool() || !was->as_bool()) return;
  for (const char* f : {"data", "binaryData", "stringData"}) {
    if (!SameValue(c.obj.if_contains(f), c.old->if_contains(f))) {
      Forbidden(c.out, f, "field is immutable when `immutable` is set");
    }
  }
  const auto* now = c.obj.if_contains("immutable");
  if (!now || !now->is_bool() || !now->as_bool()) {
    Forbidden(c.out, "immutable", "field is immutable when `immutable` is set");
  }
}

void ConfigMap(const Check& c) {
  ConfigKeys(c.obj.if_contains("data"), "data", c.out);
  ConfigKeys(c.obj.if_contains("binaryData"), "binaryData", c.out);
  const auto* data = ObjectAt(c.obj, {"data"});
  if (const auto* bin = ObjectAt(c.obj, {"binaryData"}); bin && data) {
    for (const auto& [k, v] : *bin) {
      if (data->contains(k)) {
        InvalidString(c.out, Key("binaryData", k), k, "duplicate of key present in data");
      }
    }
  }
  if (c.old != nullptr) ImmutableData(c);
}

void Secret(const Check& c) {
  ConfigKeys(c.obj.if_contains("data"), "data", c.out);
  ConfigKeys(c.obj.if_contains("stringData"), "stringData", c.out);
  // stringData is written into data: a key in either counts.
  auto present = [&](std::string_view k) {
    for (const char* f : {"data", "stringData"}) {
      if (const auto* d = ObjectAt(c.obj, {f}); d && d->contains(k)) return true;
    }
    return false;
  };
  std::string type = Str(c.obj, "type");
  if (type == "kubernetes.io/service-account-token") {
    if (Str(At(c.obj, {"metadata", "annotations", "kubernetes.io/service-account.name"}))
            .empty()) {
      Required(c.out, "metadata.annotations[kubernetes.io/service-account.name]");
    }
  } else if (type == "kubernetes.io/dockercfg") {
    if (!present(".dockercfg")) Required(c.out, "data[.dockercfg]");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    if (!present(".dockerconfigjson")) Required(c.out, "data[.dockerconfigjson]");
  } else if (type == "kubernetes.io/basic-auth") {
    if (!present("username") && !present("password")) {
      Required(c.out, "data[username]");
      Required(c.out, "data[password]");
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    if (!present("ssh-privatekey")) Required(c.out, "data[ssh-privatekey]");
  } else if (type == "kubernetes.io/tls") {
    if (!present("tls.crt")) Required(c.out, "data[tls.crt]");
    if (!present("tls.key")) Required(c.out, "data[tls.key]");
  }
  if (c.old != nullptr) {
    Immutable(c.obj.if_contains("type"), c.old->if_contains("type"), "type", c.out);
    ImmutableData(c);
  }
}

bool ExternallyAccessible(const json::object& spec) {
  std::string type = Str(spec, "type");
  return type == "LoadBalancer" || type == "NodePort" ||
         (type == "ClusterIP" && SizeOf(spec.if_contains("externalIPs")) > 0);
}

void ServiceUpdate(const Check& c, const json::object& spec, const json::object& old_spec) {
  std::string type = Str(spec, "type"), old_type = Str(old_spec, "type");
  // The address stays, except when the Service becomes or stops being an ExternalName.
  if (type == "ExternalName" || old_type == "ExternalName") return;
  auto old_ips = Strings(old_spec.if_contains("clusterIPs"));
  if (old_ips.empty() && !Str(old_spec, "clusterIP").empty()) {
    old_ips.push_back(Str(old_spec, "clusterIP"));
  }
  if (old_ips.empty()) return;
  // A changed clusterIP with clusterIPs left as they were is read as clusterIPs changed too;
  // left out altogether, the allocated values carry over.
  auto ips = Strings(spec.if_contains("clusterIPs"));
  std::string ip = Str(spec, "clusterIP");
  if (!ip.empty() && ip != old_ips[0] && (ips.empty() || ips == old_ips)) ips = {ip};
  if (ips.empty()) return;
  for (size_t i = 0; i < old_ips.size() && i < ips.size(); ++i) {
    if (ips[i] != old_ips[i]) {
      Invalid(c.out, Index("spec.clusterIPs", i), GoStrings(ips), "may not change once set");
    }
  }
}

void Service(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  const auto* old_spec = c.old ? ObjectAt(*c.old, {"spec"}) : nullptr;
  NotSupported(spec->if_contains("type"), "spec.type",
               {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}, c.out);
  NotSupported(spec->if_contains("sessionAffinity"), "spec.sessionAffinity",
               {"ClientIP", "None"}, c.out);
  std::string type = Str(*spec, "type");
  std::string cluster_ip = Str(*spec, "clusterIP");
  if (type == "ExternalName") {
    std::string cname = Str(*spec, "externalName");
    if (!cname.empty() && cname.back() == '.') cname.pop_back();
    if (cname.empty()) {
      Required(c.out, "spec.externalName");
    } else {
      DNS1123Subdomain(cname, "spec.externalName", c.out);
    }
  } else if (c.old == nullptr && !cluster_ip.empty() && cluster_ip != "None" &&
             !IsIP(cluster_ip)) {
    InvalidString(c.out, "spec.clusterIPs[0]", cluster_ip, kInvalidIP);
  }
  const auto* ports = AsArray(spec->if_contains("ports"));
  if ((ports == nullptr || ports->empty()) && cluster_ip != "None" && type != "ExternalName") {
    Required(c.out, "spec.ports");
  }
  if (ports != nullptr) {
    std::set<std::string> names;
    for (size_t i = 0; i < ports->size(); ++i) {
      const auto* po = AsObject(&(*ports)[i]);
      if (po == nullptr) continue;
      std::string p = Index("spec.ports", i);
      std::string name = Str(*po, "name");
      if (name.empty() && ports->size() > 1) Required(c.out, p + ".name");
      if (!name.empty()) {
        DNS1123Label(name, p + ".name", c.out);
        if (!names.insert(name).second) Duplicate(c.out, p + ".name", api::GoQuote(name));
      }
      PortNumber(*po, "port", p + ".port", false, c.out);
      NotSupported(po->if_contains("protocol"), p + ".protocol", kProtocols, c.out);
      PortNumOrName(po->if_contains("targetPort"), p + ".targetPort", c.out);
      const auto* np = po->if_contains("nodePort");
      if (c.old == nullptr && type == "ClusterIP" && np != nullptr && np->is_int64() &&
          np->as_int64() != 0) {
        Forbidden(c.out, p + ".nodePort", "may not be used when `type` is 'ClusterIP'");
      }
    }
  }
  NotSupported(spec->if_contains("externalTrafficPolicy"), "spec.externalTrafficPolicy",
               {"Cluster", "Local"}, c.out);
  NotSupported(spec->if_contains("internalTrafficPolicy"), "spec.internalTrafficPolicy",
               {"Cluster", "Local"}, c.out);
  NotSupported(spec->if_contains("ipFamilyPolicy"), "spec.ipFamilyPolicy",
               {"PreferDualStack", "RequireDualStack", "SingleStack"}, c.out);
  if (const auto* fams = AsArray(spec->if_contains("ipFamilies"))) {
    for (size_t i = 0; i < fams->size(); ++i) {
      NotSupported(&(*fams)[i], Index("spec.ipFamilies", i), {"IPv4", "IPv6"}, c.out);
    }
  }
  // A policy carried over from an externally reachable type is dropped on the way, as
  // upstream drops it; one set anew is an error.
  const auto* etp = spec->if_contains("externalTrafficPolicy");
  if (etp != nullptr && etp->is_string() && !etp->as_string().empty() &&
      !ExternallyAccessible(*spec) &&
      (old_spec == nullptr || !SameValue(etp, old_spec->if_contains("externalTrafficPolicy")))) {
    Invalid(c.out, "spec.externalTrafficPolicy", ValueText(*etp),
            "may only be set for externally-accessible services");
  }
  if (const auto* ips = AsArray(spec->if_contains("externalIPs"))) {
    for (size_t i = 0; i < ips->size(); ++i) {
      std::string ip = Str(&(*ips)[i]);
      if (!IsIP(ip)) InvalidString(c.out, Index("spec.externalIPs", i), ip, kInvalidIP);
    }
  }
  if (const auto* cfg = ObjectAt(*spec, {"sessionAffinityConfig", "clientIP"})) {
    const auto* t = cfg->if_contains("timeoutSeconds");
    if (t != nullptr && t->is_int64() && (t->as_int64() <= 0 || t->as_int64() > 86400)) {
      Invalid(c.out, "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
              std::to_string(t->as_int64()), "must be greater than 0 and less than 86400");
    }
  }
  LabelMap(spec->if_contains("selector"), "spec.selector", c.out);
  if (old_spec != nullptr) ServiceUpdate(c, *spec, *old_spec);
}

void AccessModes(const json::object& spec, Causes* out, const std::string& base,
                 std::string_view required_detail) {
  const auto* modes = AsArray(spec.if_contains("accessModes"));
  if (modes == nullptr || modes->empty()) {
    Required(out, base + ".accessModes", required_detail);
    return;
  }
  bool rwop = false;
  for (const auto& m : *modes) {
    NotSupported(&m, base + ".accessModes", kAccessModes, out);
    rwop = rwop || m == "ReadWriteOncePod";
  }
  if (rwop && modes->size() > 1) {
    Forbidden(out, base + ".accessModes", "may not use ReadWriteOncePod with other access modes");
  }
}

void PersistentVolumeClaim(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  AccessModes(*spec, c.out, "spec", "at least 1 access mode is required");
  LabelSelector(spec->if_contains("selector"), "spec.selector", c.out);
  std::string storage = Str(At(*spec, {"resources", "requests", "storage"}));
  if (storage.empty()) {
    Required(c.out, "spec.resources[storage]");
  } else if (auto sign = QuantitySign(storage); sign && *sign <= 0) {
    InvalidString(c.out, "spec.resources[storage]", storage, "must be greater than zero");
  }
  NotSupported(spec->if_contains("volumeMode"), "spec.volumeMode", {"Block", "Filesystem"},
               c.out);
  if (c.old == nullptr) return;
  const auto* old_spec = ObjectAt(*c.old, {"spec"});
  if (old_spec == nullptr) return;
  // The spec is fixed once created, but for the storage request of a bound claim, the
  // volume attributes class, and a volume name set once.
  json::object a = *old_spec, b = *spec;
  a.erase("volumeAttributesClassName");
  b.erase("volumeAttributesClassName");
  if (Str(*old_spec, "volumeName").empty()) {
    a.erase("volumeName");
    b.erase("volumeName");
  }
  if (Str(At(c.obj, {"status", "phase"})) == "Bound") {
    for (json::object* s : {&a, &b}) {
      if (auto* req = s->if_contains("resources"); req && req->is_object()) {
        if (auto* r = req->as_object().if_contains("requests"); r && r->is_object()) {
          r->as_object().erase("storage");
        }
      }
    }
  }
  if (a != b) {
    Forbidden(c.out, "spec",
              "spec is immutable after creation except resources.requests and "
              "volumeAttributesClassName for bound claims");
  }
}

// The fields of a PersistentVolumeSpec that are not its volume source.
bool IsPersistentVolumeSourceField(std::string_view f) {
  static const std::set<std::string_view> kOther = {
      "accessModes",   "capacity",         "claimRef",   "mountOptions",
      "nodeAffinity",  "persistentVolumeReclaimPolicy", "storageClassName",
      "volumeMode",    "volumeAttributesClassName"};
  return kOther.count(f) == 0;
}

void PersistentVolume(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  AccessModes(*spec, c.out, "spec", "");
  const auto* capacity = ObjectAt(*spec, {"capacity"});
  if (capacity == nullptr || capacity->empty()) {
    Required(c.out, "spec.capacity");
  } else {
    for (const auto& [k, v] : *capacity) {
      std::string q = Str(&v);
      if (auto sign = QuantitySign(q); sign && *sign <= 0) {
        InvalidString(c.out, Key("spec.capacity", k), q, "must be greater than zero");
      }
    }
  }
  NotSupported(spec->if_contains("persistentVolumeReclaimPolicy"),
               "spec.persistentVolumeReclaimPolicy", {"Delete", "Recycle", "Retain"}, c.out);
  NotSupported(spec->if_contains("volumeMode"), "spec.volumeMode", {"Block", "Filesystem"},
               c.out);
  int sources = 0;
  for (const auto& [k, v] : *spec) {
    if (!IsPersistentVolumeSourceField(k) || v.is_null()) continue;
    if (++sources > 1) {
      Forbidden(c.out, Child("spec", k), "may not specify more than 1 volume type");
      continue;
    }
    const auto* src = AsObject(&v);
    if (src == nullptr) continue;
    if ((k == "hostPath" || k == "local") && Str(*src, "path").empty()) {
      Required(c.out, Child("spec", k) + ".path");
    }
    if (k == "local" && !Has(*spec, "nodeAffinity")) {
      Required(c.out, "spec.nodeAffinity", "Local volume requires node affinity");
    }
    if (k == "nfs") {
      if (Str(*src, "server").empty()) Required(c.out, "spec.nfs.server");
      if (Str(*src, "path").empty()) Required(c.out, "spec.nfs.path");
    }
    if (k == "csi") {
      if (Str(*src, "driver").empty()) Required(c.out, "spec.csi.driver");
      if (Str(*src, "volumeHandle").empty()) Required(c.out, "spec.csi.volumeHandle");
    }
  }
  if (sources == 0) Required(c.out, "spec", "must specify a volume type");
  if (c.old == nullptr) return;
  const auto* old_spec = ObjectAt(*c.old, {"spec"});
  if (old_spec == nullptr) return;
  json::object a, b;
  for (const auto& [k, v] : *old_spec) {
    if (IsPersistentVolumeSourceField(k)) a[k] = v;
  }
  for (const auto& [k, v] : *spec) {
    if (IsPersistentVolumeSourceField(k)) b[k] = v;
  }
  if (a != b) {
    Forbidden(c.out, "spec.persistentvolumesource",
              "spec.persistentvolumesource is immutable after creation");
  }
  Immutable(spec->if_contains("volumeMode"), old_spec->if_contains("volumeMode"), "volumeMode",
            c.out);
  if (Has(*old_spec, "nodeAffinity")) {
    Immutable(spec->if_contains("nodeAffinity"), old_spec->if_contains("nodeAffinity"),
              "nodeAffinity", c.out);
  }
}

void Node(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  if (const auto* taints = AsArray(spec->if_contains("taints"))) {
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < taints->size(); ++i) {
      const auto* t = AsObject(&(*taints)[i]);
      if (t == nullptr) continue;
      // Upstream reports taints under metadata.
      std::string p = Index("metadata.taints", i);
      std::string key = Str(*t, "key"), value = Str(*t, "value"), effect = Str(*t, "effect");
      QualifiedName(key, p + ".key", c.out);
      auto verrs = api::IsValidLabelValue(value);
      if (!verrs.empty()) {
        std::string joined;
        for (const auto& e : verrs) joined += (joined.empty() ? "" : ";") + e;
        InvalidString(c.out, p + ".value", value, joined);
      }
      if (effect.empty()) {
        Required(c.out, p + ".effect");
      } else {
        NotSupported(t->if_contains("effect"), p + ".effect",
                     {"NoSchedule", "PreferNoSchedule", "NoExecute"}, c.out);
      }
      if (!seen.insert({key, effect}).second) {
        Duplicate(c.out, p, json::serialize(*t) + ": taints must be unique by key and effect pair");
      }
    }
  }
  auto cidrs = Strings(spec->if_contains("podCIDRs"));
  if (cidrs.empty() && !Str(*spec, "podCIDR").empty()) cidrs.push_back(Str(*spec, "podCIDR"));
  for (size_t i = 0; i < cidrs.size(); ++i) {
    if (!IsCIDR(cidrs[i])) InvalidString(c.out, Index("spec.podCIDRs", i), cidrs[i], kInvalidCIDR);
  }
  if (c.old == nullptr) return;
  const auto* old_spec = ObjectAt(*c.old, {"spec"});
  if (old_spec == nullptr) return;
  auto old_cidrs = Strings(old_spec->if_contains("podCIDRs"));
  if (old_cidrs.empty() && !Str(*old_spec, "podCIDR").empty()) {
    old_cidrs.push_back(Str(*old_spec, "podCIDR"));
  }
  if (!old_cidrs.empty() && old_cidrs != cidrs) {
    Forbidden(c.out, "spec.podCIDRs",
              "node updates may not change podCIDR except from \"\" to valid");
  }
  std::string old_provider = Str(*old_spec, "providerID");
  if (!old_provider.empty() && old_provider != Str(*spec, "providerID")) {
    Forbidden(c.out, "spec.providerID",
              "node updates may not change providerID except from \"\" to valid");
  }
}

void Namespace(const Check& c) {
  const auto* fins = ArrayAt(c.obj, {"spec", "finalizers"});
  if (fins == nullptr) return;
  for (const auto& f : *fins) {
    std::string name = Str(&f);
    size_t before = c.out->size();
    QualifiedName(name, "spec.finalizers", c.out);
    if (c.out->size() == before && name.find('/') == std::string::npos &&
        name != "kubernetes") {
      InvalidString(c.out, "spec.finalizers", name,
                    "name is neither a standard finalizer name nor is it fully qualified");
    }
  }
}

void EndpointAddress(const json::object& a, const std::string& p, Causes* out) {
  size_t before = out->size();
  std::string ip = Str(a, "ip");
  if (!IsIP(ip)) InvalidString(out, p + ".ip", ip, kInvalidIP);
  std::string hostname = Str(a, "hostname");
  if (!hostname.empty()) DNS1123Label(hostname, p + ".hostname", out);
  if (const auto* nn = a.if_contains("nodeName"); nn && nn->is_string()) {
    DNS1123Subdomain(nn->as_string(), p + ".nodeName", out);
  }
  if (out->size() != before) return;
  NonSpecialIP(ip, p + ".ip", out);
}

void Endpoints(const Check& c) {
  const auto* subsets = ArrayAt(c.obj, {"subsets"});
  if (subsets == nullptr) return;
  for (size_t i = 0; i < subsets->size(); ++i) {
    const auto* s = AsObject(&(*subsets)[i]);
    if (s == nullptr) continue;
    std::string p = Index("subsets", i);
    if (SizeOf(s->if_contains("addresses")) == 0 &&
        SizeOf(s->if_contains("notReadyAddresses")) == 0) {
      Required(c.out, p, "must specify `addresses` or `notReadyAddresses`");
    }
    for (const char* list : {"addresses", "notReadyAddresses"}) {
      const auto* as = AsArray(s->if_contains(list));
      for (size_t j = 0; as && j < as->size(); ++j) {
        if (const auto* a = AsObject(&(*as)[j])) {
          EndpointAddress(*a, Index(Child(p, list), j), c.out);
        }
      }
    }
    const auto* ports = AsArray(s->if_contains("ports"));
    for (size_t j = 0; ports && j < ports->size(); ++j) {
      const auto* po = AsObject(&(*ports)[j]);
      if (po == nullptr) continue;
      std::string pp = Index(p + ".ports", j);
      std::string name = Str(*po, "name");
      if (name.empty() && ports->size() > 1) {
        Required(c.out, pp + ".name");
      } else if (!name.empty()) {
        DNS1123Label(name, pp + ".name", c.out);
      }
      const auto* port = po->if_contains("port");
      int64_t n = port && port->is_int64() ? port->as_int64() : 0;
      if (n < 1 || n > 65535) {
        Invalid(c.out, pp + ".port", std::to_string(n), "must be between 1 and 65535, inclusive");
      }
      if (!Has(*po, "protocol")) {
        Required(c.out, pp + ".protocol");
      } else {
        NotSupported(po->if_contains("protocol"), pp + ".protocol", kProtocols, c.out);
      }
    }
  }
}

void Event(const Check& c) {
  std::string ns = Str(At(c.obj, {"metadata", "namespace"}));
  std::string involved_ns = Str(At(c.obj, {"involvedObject", "namespace"}));
  bool has_event_time = !Str(c.obj, "eventTime").empty();
  auto too_long = [&](std::string_view f, size_t limit) {
    if (Str(c.obj, f).size() > limit) {
      InvalidString(c.out, std::string(f), "",
                    "can have at most " + std::to_string(limit) + " characters");
    }
  };
  if (!has_event_time) {
    if (involved_ns.empty() ? (!ns.empty() && ns != "default") : ns != involved_ns) {
      InvalidString(c.out, "involvedObject.namespace", involved_ns,
                    "does not match event.namespace");
    }
  } else {
    if (involved_ns.empty() && ns != "default" && ns != "kube-system") {
      InvalidString(c.out, "involvedObject.namespace", involved_ns,
                    "does not match event.namespace");
    }
    std::string rc = c.events_v1 ? "reportingController" : "reportingComponent";
    std::string controller = Str(c.obj, "reportingComponent");
    if (controller.empty()) Required(c.out, rc);
    QualifiedName(controller, rc, c.out);
    if (Str(c.obj, "reportingInstance").empty()) Required(c.out, "reportingInstance");
    too_long("reportingInstance", 128);
    if (Str(c.obj, "action").empty()) Required(c.out, "action");
    too_long("action", 128);
    if (Str(c.obj, "reason").empty()) Required(c.out, "reason");
    too_long("reason", 128);
    too_long("message", 1024);
  }
  DNS1123Subdomain(ns, "namespace", c.out);
  if (!c.events_v1) return;
  if (c.old != nullptr) {
    // Through events.k8s.io/v1 only the note, the series and the deprecated fields change.
    for (const char* f : {"involvedObject", "reason", "type", "action", "reportingComponent",
                          "reportingInstance", "related", "eventTime"}) {
      std::string path = std::string_view(f) == "reportingComponent" ? "reportingController" : f;
      Immutable(c.obj.if_contains(f), c.old->if_contains(f), path, c.out);
    }
    return;
  }
  // Written through events.k8s.io/v1: the newer rules.
  if (!has_event_time) Required(c.out, "eventTime");
  std::string type = Str(c.obj, "type");
  if (type != "Normal" && type != "Warning") {
    InvalidString(c.out, "type", "", "has invalid value: " + type);
  }
  if (Has(c.obj, "firstTimestamp")) InvalidString(c.out, "firstTimestamp", "", "needs to be unset");
  if (Has(c.obj, "lastTimestamp")) InvalidString(c.out, "lastTimestamp", "", "needs to be unset");
  const auto* count = c.obj.if_contains("count");
  if (count != nullptr && count->is_int64() && count->as_int64() != 0) {
    InvalidString(c.out, "count", "", "needs to be unset");
  }
  if (!Str(At(c.obj, {"source", "component"})).empty() ||
      !Str(At(c.obj, {"source", "host"})).empty()) {
    InvalidString(c.out, "source", "", "needs to be unset");
  }
}

std::string LimitKey(const json::object* m, std::string_view k) {
  return m == nullptr ? std::string() : Str(m->if_contains(k));
}

void LimitRange(const Check& c) {
  const auto* limits = ArrayAt(c.obj, {"spec", "limits"});
  if (limits == nullptr) return;
  std::set<std::string> types;
  for (size_t i = 0; i < limits->size(); ++i) {
    const auto* l = AsObject(&(*limits)[i]);
    if (l == nullptr) continue;
    std::string p = Index("spec.limits", i);
    std::string type = Str(*l, "type");
    size_t before = c.out->size();
    QualifiedName(type, p + ".type", c.out);
    if (c.out->size() == before && type.find('/') == std::string::npos &&
        type != "Pod" && type != "Container" && type != "PersistentVolumeClaim") {
      InvalidString(c.out, p + ".type", type, "must be a standard limit type or fully qualified");
    }
    if (!types.insert(type).second) Duplicate(c.out, p + ".type", api::GoQuote(type));
    const auto* max = AsObject(l->if_contains("max"));
    const auto* min = AsObject(l->if_contains("min"));
    const auto* def = AsObject(l->if_contains("default"));
    const auto* defreq = AsObject(l->if_contains("defaultRequest"));
    const auto* ratio = AsObject(l->if_contains("maxLimitRequestRatio"));
    if (type == "Pod") {
      if (def && !def->empty()) {
        Forbidden(c.out, p + ".default", "may not be specified when `type` is 'Pod'");
      }
      if (defreq && !defreq->empty()) {
        Forbidden(c.out, p + ".defaultRequest", "may not be specified when `type` is 'Pod'");
      }
      def = defreq = nullptr;
    }
    if (type == "PersistentVolumeClaim" && LimitKey(min, "storage").empty() &&
        LimitKey(max, "storage").empty()) {
      Required(c.out, p + ".limits",
               "either minimum or maximum storage value is required, but neither was provided");
    }
    std::set<std::string> keys;
    for (const auto* m : {max, min, def, defreq, ratio}) {
      if (m == nullptr) continue;
      for (const auto& [k, v] : *m) keys.emplace(k);
    }
    auto greater = [](const std::string& a, const std::string& b) {
      auto cmp = api::CompareQuantities(a, b);
      return cmp && *cmp > 0;
    };
    for (const auto& k : keys) {
      std::string mn = LimitKey(min, k), mx = LimitKey(max, k), d = LimitKey(def, k),
                  dr = LimitKey(defreq, k), r = LimitKey(ratio, k);
      if (!mn.empty() && !mx.empty() && greater(mn, mx)) {
        InvalidString(c.out, Key(p + ".min", k), mn,
                      "min value " + mn + " is greater than max value " + mx);
      }
      if (!dr.empty() && !mn.empty() && greater(mn, dr)) {
        InvalidString(c.out, Key(p + ".defaultRequest", k), dr,
                      "min value " + mn + " is greater than default request value " + dr);
      }
      if (!dr.empty() && !mx.empty() && greater(dr, mx)) {
        InvalidString(c.out, Key(p + ".defaultRequest", k), dr,
                      "default request value " + dr + " is greater than max value " + mx);
      }
      if (!dr.empty() && !d.empty() && greater(dr, d)) {
        InvalidString(c.out, Key(p + ".defaultRequest", k), dr,
                      "default request value " + dr + " is greater than default limit value " +
                          d);
      }
      if (!d.empty() && !mn.empty() && greater(mn, d)) {
        InvalidString(c.out, Key(p + ".default", k), mn,
                      "min value " + mn + " is greater than default value " + d);
      }
      if (!d.empty() && !mx.empty() && greater(d, mx)) {
        InvalidString(c.out, Key(p + ".default", k), mx,
                      "default value " + d + " is greater than max value " + mx);
      }
      if (!r.empty() && greater("1", r)) {
        InvalidString(c.out, Key(p + ".maxLimitRequestRatio", k), r,
                      "ratio " + r + " is less than 1");
      }
    }
  }
}

void ResourceQuota(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  if (const auto* hard = ObjectAt(*spec, {"hard"})) {
    for (const auto& [k, v] : *hard) {
      std::string p = Key("spec.hard", k);
      size_t before = c.out->size();
      QualifiedName(k, p, c.out);
      if (c.out->size() == before && k.find('/') == std::string::npos) {
        if (!IsStandardResourceName(k)) {
          InvalidString(c.out, p, k, "must be a standard resource type or fully qualified");
        }
        if (!IsStandardResourceName(k) && !k.starts_with("limits.")) {
          InvalidString(c.out, p, k, "must be a standard resource for quota");
        }
      }
      std::string q = Str(&v);
      if (auto sign = QuantitySign(q); sign && *sign < 0) {
        InvalidString(c.out, p, q, "must be greater than or equal to 0");
      }
    }
  }
  const auto* scopes = AsArray(spec->if_contains("scopes"));
  if (scopes != nullptr) {
    static const std::set<std::string> kScopes = {
        "Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
        "CrossNamespacePodAffinity", "VolumeAttributesClass"};
    std::set<std::string> set;
    for (const auto& s : *scopes) {
      std::string scope = Str(&s);
      if (!kScopes.count(scope)) {
        Invalid(c.out, "spec.scopes", json::serialize(*scopes), "unsupported scope");
      }
      set.insert(scope);
    }
    if ((set.count("BestEffort") && set.count("NotBestEffort")) ||
        (set.count("Terminating") && set.count("NotTerminating"))) {
      Invalid(c.out, "spec.scopes", json::serialize(*scopes), "conflicting scopes");
    }
  }
  if (c.old != nullptr) {
    auto now = Strings(spec->if_contains("scopes"));
    auto was = Strings(At(*c.old, {"spec", "scopes"}));
    std::sort(now.begin(), now.end());
    std::sort(was.begin(), was.end());
    now.erase(std::unique(now.begin(), now.end()), now.end());
    was.erase(std::unique(was.begin(), was.end()), was.end());
    if (now != was) {
      Invalid(c.out, "spec.scopes", scopes ? json::serialize(*scopes) : "null",
              "field is immutable");
    }
  }
}

}  // namespace

void CoreKind(const Check& c) {
  const std::string& k = c.r.kind;
  if (k == "Service") Service(c);
  if (k == "ConfigMap") ConfigMap(c);
  if (k == "Secret") Secret(c);
  if (k == "PersistentVolumeClaim") PersistentVolumeClaim(c);
  if (k == "PersistentVolume") PersistentVolume(c);
  if (k == "Node") Node(c);
  if (k == "Namespace") Namespace(c);
  if (k == "Endpoints") Endpoints(c);
  if (k == "Event") Event(c);
  if (k == "LimitRange") LimitRange(c);
  if (k == "ResourceQuota") ResourceQuota(c);
}

}  // namespace keelson::apiserver::validation
