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
// upstream's IsConfigMapKey, each problem reported at "<field>[<key>]".
void ConfigKeys(const json::value* data, const std::string& field, Causes* out) {
  const auto* d = AsObject(data);
  if (d == nullptr) return;
  for (const auto& [k, v] : *d) {
    std::string key(k);
    const std::string path = Key(field, key);
    if (key.size() > 253) {
      InvalidString(out, path, key, "must be no more than 253 characters");
    }
    if (key.empty() ||
        key.find_first_not_of("-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789") != std::string::npos) {
      InvalidString(out, path, key,
                    "a valid config key must consist of alphanumeric characters, '-', '_' or "
                    "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                    "validation is '[-._a-zA-Z0-9]+')");
    }
    if (key == ".") {
      InvalidString(out, path, key, "must not be '.'");
    } else if (key == "..") {
      InvalidString(out, path, key, "must not be '..'");
    } else if (key.starts_with("..")) {
      InvalidString(out, path, key, "must not start with '..'");
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

// The number of bytes a base64 text decodes to (data of Secrets, binaryData of ConfigMaps).
size_t DecodedSize(std::string_view b64) {
  size_t n = b64.size();
  if (n % 4 != 0) return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);  // unpadded
  size_t pad = 0;
  while (pad < 2 && pad < n && b64[n - 1 - pad] == '=') ++pad;
  return n / 4 * 3 - pad;
}

// ConfigMaps and Secrets hold at most 1 MiB (core.MaxSecretSize).
constexpr size_t kMaxConfigSize = 1024 * 1024;

void SizeLimit(size_t total, const std::string& path, Causes* out) {
  if (total > kMaxConfigSize) {
    out->emplace_back(path, "Too long: may not be more than " + std::to_string(kMaxConfigSize) +
                                " bytes");
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
  size_t total = 0;
  if (data != nullptr) {
    for (const auto& [k, v] : *data) total += Str(&v).size();
  }
  if (const auto* bin = ObjectAt(c.obj, {"binaryData"})) {
    for (const auto& [k, v] : *bin) total += DecodedSize(Str(&v));
  }
  // Upstream reports the whole object, at the empty path that prints as "[]".
  SizeLimit(total, "[]", c.out);
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
  // stringData is merged into data, its values replacing data's under the same key.
  size_t total = 0;
  const auto* string_data = ObjectAt(c.obj, {"stringData"});
  if (const auto* data = ObjectAt(c.obj, {"data"})) {
    for (const auto& [k, v] : *data) {
      if (string_data == nullptr || !string_data->contains(k)) total += DecodedSize(Str(&v));
    }
  }
  if (string_data != nullptr) {
    for (const auto& [k, v] : *string_data) total += Str(&v).size();
  }
  SizeLimit(total, "data", c.out);
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

// Go's %#v of the core.ServicePort upstream uses as the key of its duplicate check.
std::string ServicePortKey(std::string_view protocol, int64_t port, int64_t node_port) {
  return "core.ServicePort{Name:\"\", Protocol:" + api::GoQuote(protocol) +
         ", AppProtocol:(*string)(nil), Port:" + std::to_string(port) +
         ", TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:" +
         std::to_string(node_port) + "}";
}

int64_t IntField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

// Each (port, protocol) and each (nodePort, protocol) pair at most once.
void ServicePortsUnique(const json::array& ports, Causes* out) {
  std::set<std::pair<std::string, int64_t>> seen, node_ports;
  for (size_t i = 0; i < ports.size(); ++i) {
    const auto* po = AsObject(&ports[i]);
    if (po == nullptr) continue;
    std::string protocol = Str(*po, "protocol");
    int64_t port = IntField(*po, "port");
    if (!seen.emplace(protocol, port).second) {
      Duplicate(out, Index("spec.ports", i), ServicePortKey(protocol, port, 0));
    }
    int64_t node_port = IntField(*po, "nodePort");
    if (node_port != 0 && !node_ports.emplace(protocol, node_port).second) {
      Duplicate(out, Index("spec.ports", i) + ".nodePort", std::to_string(node_port));
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
    ServicePortsUnique(*ports, c.out);
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
      if (!IsIP(ip)) {
        InvalidString(c.out, Index("spec.externalIPs", i), ip, kInvalidIP);
      } else {
        NonSpecialIP(ip, Index("spec.externalIPs", i), c.out);
      }
    }
  }
  if (const auto* ranges = AsArray(spec->if_contains("loadBalancerSourceRanges"))) {
    // Upstream spells this path with a capital L.
    if (!ranges->empty() && type != "LoadBalancer") {
      Forbidden(c.out, "spec.LoadBalancerSourceRanges",
                "may only be used when `type` is 'LoadBalancer'");
    }
    for (size_t i = 0; i < ranges->size(); ++i) {
      std::string cidr = Str(&(*ranges)[i]);
      // Space padding is allowed, a leftover of the annotation this field replaced.
      size_t b = cidr.find_first_not_of(" \t\n\r\v\f");
      size_t e = cidr.find_last_not_of(" \t\n\r\v\f");
      cidr = b == std::string::npos ? "" : cidr.substr(b, e - b + 1);
      if (!IsCIDR(cidr)) {
        InvalidString(c.out, Index("spec.LoadBalancerSourceRanges", i), cidr, kInvalidCIDR);
      }
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

// Go's %#v of the scopes, as upstream prints them.
std::string ScopesText(const json::array* scopes) {
  if (scopes == nullptr) return "[]core.ResourceQuotaScope(nil)";
  std::string out = "[]core.ResourceQuotaScope{";
  for (size_t i = 0; i < scopes->size(); ++i) {
    out += (i ? ", " : "") + api::GoQuote(Str(&(*scopes)[i]));
  }
  return out + "}";
}

bool IsStandardQuotaResourceName(std::string_view name) {
  static const std::set<std::string_view> kNames = {
      "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
      "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
      "limits.ephemeral-storage", "pods", "resourcequotas", "services",
      "replicationcontrollers", "secrets", "persistentvolumeclaims", "configmaps",
      "services.nodeports", "services.loadbalancers"};
  return kNames.count(name) > 0 || name.starts_with("requests.hugepages-");
}

// The resources a scope can limit (IsResourceQuotaScopeValidForResource).
bool ScopeValidForResource(std::string_view scope, std::string_view resource) {
  static const std::set<std::string_view> kCompute = {
      "cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"};
  if (scope == "BestEffort") return resource == "pods";
  if (scope == "Terminating" || scope == "NotTerminating" || scope == "NotBestEffort" ||
      scope == "PriorityClass" || scope == "CrossNamespacePodAffinity") {
    return resource == "pods" || kCompute.count(resource) > 0;
  }
  return true;
}

// Quota resources counted in whole units: object counts and extended resources
// (IsIntegerResourceName), which include count/<resource>.
bool IsIntegerResourceName(std::string_view name) {
  static const std::set<std::string_view> kCounts = {
      "pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps",
      "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"};
  if (kCounts.count(name) > 0) return true;
  bool native = name.find('/') == std::string_view::npos ||
                name.find("kubernetes.io/") != std::string_view::npos;
  if (native || name.starts_with("requests.")) return false;
  return api::IsQualifiedName("requests." + std::string(name)).empty();
}

// A quota quantity (spec.hard, status.hard, status.used): not negative, whole where the
// resource counts units.
void QuotaQuantity(std::string_view resource, const json::value& v, const std::string& p,
                   Causes* out) {
  std::string q = Str(&v);
  std::string shown = api::CanonicalQuantity(q).value_or(q);
  if (auto sign = QuantitySign(q); sign && *sign < 0) {
    InvalidString(out, p, shown, "must be greater than or equal to 0");
  }
  auto nanos = api::QuantityNanos(q);
  if (nanos && IsIntegerResourceName(resource) && *nanos % 1000000000 != 0) {
    InvalidString(out, p, shown, "must be an integer");
  }
}

void QuotaResourceName(std::string_view k, const std::string& p, Causes* out) {
  size_t before = out->size();
  QualifiedName(k, p, out);
  if (out->size() != before || k.find('/') != std::string_view::npos) return;
  if (!IsStandardResourceName(k)) {
    InvalidString(out, p, k, "must be a standard resource type or fully qualified");
  }
  if (!IsStandardResourceName(k) && !k.starts_with("limits.")) {
    InvalidString(out, p, k, "must be a standard resource for quota");
  }
}

void ResourceQuota(const Check& c) {
  ResourceQuotaStatus(c.obj, c.out);
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  const auto* hard = ObjectAt(*spec, {"hard"});
  if (hard != nullptr) {
    for (const auto& [k, v] : *hard) {
      std::string p = Key("spec.hard", k);
      QuotaResourceName(k, p, c.out);
      QuotaQuantity(k, v, p, c.out);
    }
  }
  const auto* scopes = AsArray(spec->if_contains("scopes"));
  if (scopes != nullptr && !scopes->empty()) {
    static const std::set<std::string> kScopes = {
        "Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
        "CrossNamespacePodAffinity", "VolumeAttributesClass"};
    std::vector<std::string> resources;
    if (hard != nullptr) {
      for (const auto& [k, v] : *hard) resources.emplace_back(k);
    }
    std::sort(resources.begin(), resources.end());
    std::set<std::string> set;
    for (const auto& s : *scopes) {
      std::string scope = Str(&s);
      if (!kScopes.count(scope)) {
        Invalid(c.out, "spec.scopes", ScopesText(scopes), "unsupported scope");
      }
      for (const auto& k : resources) {
        if (IsStandardQuotaResourceName(k) && !ScopeValidForResource(scope, k)) {
          Invalid(c.out, "spec.scopes", ScopesText(scopes),
                  "unsupported scope applied to resource");
        }
      }
      set.insert(scope);
    }
    if ((set.count("BestEffort") && set.count("NotBestEffort")) ||
        (set.count("Terminating") && set.count("NotTerminating"))) {
      Invalid(c.out, "spec.scopes", ScopesText(scopes), "conflicting scopes");
    }
  }
  if (c.old != nullptr) {
    auto now = Strings(spec->if_contains("scopes"));
    auto was = Strings(At(*c.old, {"spec", "scopes"}));
    std::sort(now.begin(), now.end());
    std::sort(was.begin(), was.end());
    now.erase(std::unique(now.begin(), now.end()), now.end());
    was.erase(std::unique(was.begin(), was.end()), was.end());
    if (now != was) Invalid(c.out, "spec.scopes", ScopesText(scopes), "field is immutable");
  }
}

}  // namespace

void ResourceQuotaStatus(const json::object& quota, Causes* out) {
  for (const char* list : {"hard", "used"}) {
    if (const auto* m = ObjectAt(quota, {"status", list})) {
      for (const auto& [k, v] : *m) {
        std::string p = Key(std::string("status.") + list, k);
        QuotaResourceName(k, p, out);
        QuotaQuantity(k, v, p, out);
      }
    }
  }
}

void ValidateService(const Check& c) { Service(c); }
void ValidateConfigMap(const Check& c) { ConfigMap(c); }
void ValidateSecret(const Check& c) { Secret(c); }
void ValidatePersistentVolumeClaim(const Check& c) { PersistentVolumeClaim(c); }
void ValidatePersistentVolume(const Check& c) { PersistentVolume(c); }
void ValidateNode(const Check& c) { Node(c); }
void ValidateNamespace(const Check& c) { Namespace(c); }
void ValidateEndpoints(const Check& c) { Endpoints(c); }
void ValidateEvent(const Check& c) { Event(c); }
void ValidateLimitRange(const Check& c) { LimitRange(c); }
void ValidateResourceQuota(const Check& c) { ResourceQuota(c); }

}  // namespace keelson::apiserver::validation
