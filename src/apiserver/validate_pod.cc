// PodSpec validation (upstream's ValidatePodSpec and what it calls) and pod updates.
#include <boost/json.hpp>

#include <set>

#include "api/defaults.h"
#include "api/quantity.h"
#include "api/schema.h"
#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::validation {
namespace {

// Volume sources in the order upstream counts them: the first is the volume's type, any
// further one is reported as forbidden.
constexpr const char* kVolumeSources[] = {
    "hostPath", "emptyDir", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "quobyte", "cinder",
    "cephfs", "downwardAPI", "fc", "azureFile", "vsphereVolume", "photonPersistentDisk",
    "portworxVolume", "azureDisk", "storageos", "scaleIO", "configMap", "projected", "csi",
    "ephemeral", "image"};

void DefaultMode(const json::object& src, const std::string& base, Causes* out) {
  const auto* m = src.if_contains("defaultMode");
  if (m != nullptr && m->is_int64() && (m->as_int64() < 0 || m->as_int64() > 0777)) {
    Invalid(out, base + ".defaultMode", std::to_string(m->as_int64()),
            "must be a number between 0 and 0777 (octal), both inclusive");
  }
}

// A relative path inside a volume (ValidateLocalNonReservedPath): not absolute, no "..".
void LocalPath(const std::string& path, const std::string& p, Causes* out) {
  if (!path.empty() && path.front() == '/') {
    InvalidString(out, p, path, "must be a relative path");
  }
  bool backstep = false;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    backstep = backstep || path.compare(start, end - start, "..") == 0;
    start = end + 1;
  }
  if (backstep) InvalidString(out, p, path, "must not contain '..'");
  if (path.starts_with("..")) InvalidString(out, p, path, "must not start with '..'");
}

void FileMode(const json::object& o, const std::string& p, Causes* out) {
  const auto* m = o.if_contains("mode");
  if (m != nullptr && m->is_int64() && (m->as_int64() < 0 || m->as_int64() > 0777)) {
    Invalid(out, p + ".mode", std::to_string(m->as_int64()),
            "must be a number between 0 and 0777 (octal), both inclusive");
  }
}

// The items of a secret or configMap source (validateKeyToPath); paths go into `paths` when
// given, and a repeated one is reported against `conflict_path` (upstream's projected rule).
void KeyToPaths(const json::object& src, const std::string& sp, std::set<std::string>* paths,
                const std::string& conflict_path, const std::string& name, Causes* out) {
  const auto* items = AsArray(src.if_contains("items"));
  if (items == nullptr) return;
  for (size_t i = 0; i < items->size(); ++i) {
    const auto* kp = AsObject(&(*items)[i]);
    if (kp == nullptr) continue;
    std::string ip = Index(sp + ".items", i);
    std::string path = Str(*kp, "path");
    if (Str(*kp, "key").empty()) Required(out, ip + ".key");
    if (path.empty()) Required(out, ip + ".path");
    LocalPath(path, ip + ".path", out);
    FileMode(*kp, ip, out);
    if (paths != nullptr && !path.empty() && !paths->insert(path).second) {
      InvalidString(out, conflict_path, name, "conflicting duplicate paths");
    }
  }
}

void ProjectedSources(const json::object& proj, const std::string& pp, Causes* out) {
  const auto* sources = AsArray(proj.if_contains("sources"));
  if (sources == nullptr) return;
  std::set<std::string> paths;
  for (size_t i = 0; i < sources->size(); ++i) {
    const auto* s = AsObject(&(*sources)[i]);
    if (s == nullptr) continue;
    std::string sp = Index(pp + ".sources", i);
    int n = 0;
    for (const char* kind : {"secret", "configMap"}) {
      const auto* src = AsObject(s->if_contains(kind));
      if (src == nullptr) continue;
      ++n;
      std::string name = Str(*src, "name");
      if (name.empty()) Required(out, Child(sp, kind) + ".name");
      KeyToPaths(*src, Child(sp, kind), &paths, pp, name, out);
    }
    if (const auto* dapi = AsObject(s->if_contains("downwardAPI"))) {
      ++n;
      if (const auto* items = AsArray(dapi->if_contains("items"))) {
        for (size_t j = 0; j < items->size(); ++j) {
          const auto* f = AsObject(&(*items)[j]);
          if (f == nullptr) continue;
          std::string ip = Index(sp + ".downwardAPI.items", j);
          std::string path = Str(*f, "path");
          if (path.empty()) Required(out, ip + ".path");
          LocalPath(path, ip + ".path", out);
          FileMode(*f, ip, out);
          if (!path.empty() && !paths.insert(path).second) {
            InvalidString(out, pp, path, "conflicting duplicate paths");
          }
        }
      }
    }
    if (const auto* sat = AsObject(s->if_contains("serviceAccountToken"))) {
      ++n;
      const auto* exp = sat->if_contains("expirationSeconds");
      if (exp != nullptr && exp->is_int64()) {
        int64_t e = exp->as_int64();
        if (e < 600) {
          Invalid(out, sp + ".serviceAccountToken.expirationSeconds", std::to_string(e),
                  "may not specify a duration less than 10 minutes");
        }
        if (e > (int64_t{1} << 32)) {
          Invalid(out, sp + ".serviceAccountToken.expirationSeconds", std::to_string(e),
                  "may not specify a duration larger than 2^32 seconds");
        }
      }
      // Upstream reports the token's path against the projected volume.
      std::string path = Str(*sat, "path");
      if (path.empty()) {
        Required(out, pp + ".path");
      } else {
        LocalPath(path, pp + ".path", out);
      }
    }
    if (Has(*s, "clusterTrustBundle")) ++n;
    if (n > 1) Forbidden(out, sp, "may not specify more than 1 volume type per source");
  }
}

void VolumeSource(const json::object& v, const std::string& p, Causes* out) {
  int sources = 0;
  for (const char* s : kVolumeSources) {
    if (!Has(v, s)) continue;
    if (++sources > 1) {
      Forbidden(out, Child(p, s), "may not specify more than 1 volume type");
      continue;
    }
    const auto* src = AsObject(v.if_contains(s));
    if (src == nullptr) continue;
    std::string sp = Child(p, s);
    std::string_view name = s;
    if (name == "hostPath" && Str(*src, "path").empty()) Required(out, sp + ".path");
    if (name == "secret") {
      if (Str(*src, "secretName").empty()) Required(out, sp + ".secretName");
      DefaultMode(*src, sp, out);
      KeyToPaths(*src, sp, nullptr, "", "", out);
    }
    if (name == "configMap") {
      if (Str(*src, "name").empty()) Required(out, sp + ".name");
      DefaultMode(*src, sp, out);
      KeyToPaths(*src, sp, nullptr, "", "", out);
    }
    if (name == "persistentVolumeClaim" && Str(*src, "claimName").empty()) {
      Required(out, sp + ".claimName");
    }
    if (name == "nfs") {
      if (Str(*src, "server").empty()) Required(out, sp + ".server");
      if (Str(*src, "path").empty()) Required(out, sp + ".path");
    }
    if (name == "projected" || name == "downwardAPI") DefaultMode(*src, sp, out);
    if (name == "projected") ProjectedSources(*src, sp, out);
  }
  if (sources == 0) Required(out, p, "must specify a volume type");
}

bool IsHugePages(std::string_view name) { return name.starts_with("hugepages-"); }

// Native resources have no domain or one under kubernetes.io.
bool IsNative(std::string_view name) {
  return name.find('/') == std::string_view::npos ||
         name.find("kubernetes.io/") != std::string_view::npos;
}

bool OvercommitAllowed(std::string_view name) { return IsNative(name) && !IsHugePages(name); }

void ContainerResourceName(std::string_view name, const std::string& path, Causes* out) {
  size_t before = out->size();
  QualifiedName(name, path, out);
  if (out->size() != before) return;
  if (name.find('/') == std::string_view::npos) {
    if (!IsStandardResourceName(name)) {
      InvalidString(out, path, name, "must be a standard resource type or fully qualified");
    }
    if (name != "cpu" && name != "memory" && name != "ephemeral-storage" && !IsHugePages(name)) {
      InvalidString(out, path, name, "must be a standard resource for containers");
    }
  } else if (!IsNative(name) && name.starts_with("requests.")) {
    InvalidString(out, path, name, "doesn't follow extended resource name standard");
  }
}

void QuantityValue(std::string_view name, std::string_view q, const std::string& path,
                   Causes* out) {
  auto sign = QuantitySign(q);
  if (sign && *sign < 0) InvalidString(out, path, q, "must be greater than or equal to 0");
  // Extended resources count whole units; a canonical quantity with a fractional suffix is
  // not whole.
  if (!IsNative(name) && !q.empty() && (q.back() == 'm' || q.back() == 'u' || q.back() == 'n')) {
    InvalidString(out, path, q, "must be an integer");
  }
}

// The handler of a probe or a lifecycle hook (validateHandler): exactly one of `kinds`.
// `grace` is the pod's terminationGracePeriodSeconds, which bounds a sleep action.
void Handler(const json::object& h, const std::string& p,
             std::initializer_list<const char*> kinds, const json::value* grace,
             Causes* out) {
  int handlers = 0;
  for (const char* k : kinds) {
    if (!Has(h, k)) continue;
    if (++handlers > 1) {
      Forbidden(out, Child(p, k), "may not specify more than 1 handler type");
      continue;
    }
    const auto* ho = AsObject(h.if_contains(k));
    if (ho == nullptr) continue;
    std::string hp = Child(p, k);
    std::string_view name = k;
    if (name == "exec" && SizeOf(ho->if_contains("command")) == 0) {
      Required(out, hp + ".command");
    }
    if (name == "httpGet") {
      if (!Has(*ho, "port")) Required(out, hp + ".port");
      PortNumOrName(ho->if_contains("port"), hp + ".port", out);
      NotSupported(ho->if_contains("scheme"), hp + ".scheme", {"HTTP", "HTTPS"}, out);
    }
    if (name == "tcpSocket") {
      if (!Has(*ho, "port")) Required(out, hp + ".port");
      PortNumOrName(ho->if_contains("port"), hp + ".port", out);
    }
    if (name == "grpc") PortNumber(*ho, "port", hp + ".port", true, out);
    const auto* secs = ho->if_contains("seconds");
    if (name == "sleep" && secs != nullptr && secs->is_int64() && grace != nullptr &&
        grace->is_int64() &&
        (secs->as_int64() < 0 || secs->as_int64() > grace->as_int64())) {
      Invalid(out, hp + ".seconds", std::to_string(secs->as_int64()),
              "must be non-negative and less than terminationGracePeriodSeconds (" +
                  std::to_string(grace->as_int64()) + ")");
    }
  }
  if (handlers == 0) Required(out, p, "must specify a handler type");
}

void Probe(const json::value* v, const std::string& p, bool liveness_or_startup, Causes* out) {
  const auto* probe = AsObject(v);
  if (probe == nullptr) return;
  Handler(*probe, p, {"exec", "httpGet", "tcpSocket", "grpc"}, nullptr, out);
  for (const char* f : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                        "successThreshold", "failureThreshold"}) {
    NonNegative(*probe, f, Child(p, f), out);
  }
  Positive(*probe, "terminationGracePeriodSeconds", p + ".terminationGracePeriodSeconds", out);
  const auto* st = probe->if_contains("successThreshold");
  if (liveness_or_startup && st != nullptr && st->is_int64() && st->as_int64() != 1) {
    Invalid(out, p + ".successThreshold", std::to_string(st->as_int64()), "must be 1");
  }
}

void Env(const json::value* v, const std::string& base, Causes* out) {
  const auto* env = AsArray(v);
  if (env == nullptr) return;
  for (size_t i = 0; i < env->size(); ++i) {
    const auto* e = AsObject(&(*env)[i]);
    if (e == nullptr) continue;
    std::string p = Index(base, i);
    std::string name = Str(*e, "name");
    if (name.empty()) {
      Required(out, p + ".name");
    } else {
      for (unsigned char c : name) {
        if (c < 0x20 || c > 0x7e || c == '=') {
          InvalidString(out, p + ".name", name,
                        "a valid environment variable name must consist only of printable "
                        "ASCII characters other than '='");
          break;
        }
      }
    }
    if (const auto* from = AsObject(e->if_contains("valueFrom"))) {
      if (!Str(*e, "value").empty()) {
        InvalidString(out, p + ".valueFrom", "",
                      "may not be specified when `value` is not empty");
      }
      int sources = 0;
      for (const char* s : {"fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef",
                            "fileKeyRef"}) {
        sources += Has(*from, s) ? 1 : 0;
      }
      if (sources == 0) {
        InvalidString(out, p + ".valueFrom", "", "must specify one of: `fieldRef`, "
                      "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
      } else if (sources > 1) {
        InvalidString(out, p + ".valueFrom", "",
                      "may not have more than one field specified at a time");
      }
    }
  }
}

struct PodContext {
  std::set<std::string> volumes;
  std::set<std::string> container_names;  // across init and regular containers
  bool host_network = false;
  const json::value* grace = nullptr;  // terminationGracePeriodSeconds
};

void Container(const json::object& c, const std::string& p, bool init, PodContext* pc,
               Causes* out) {
  std::string name = Str(c, "name");
  if (!name.empty()) {
    DNS1123Label(name, p + ".name", out);
    if (!pc->container_names.insert(name).second) {
      Duplicate(out, p + ".name", api::GoQuote(name));
    }
  }
  const auto* image = c.if_contains("image");
  if (image == nullptr || !image->is_string() || image->as_string().empty()) {
    Required(out, p + ".image");
  }
  NotSupported(c.if_contains("imagePullPolicy"), p + ".imagePullPolicy",
               {"Always", "IfNotPresent", "Never"}, out);
  NotSupported(c.if_contains("terminationMessagePolicy"), p + ".terminationMessagePolicy",
               {"File", "FallbackToLogsOnError"}, out);
  const auto* restart = c.if_contains("restartPolicy");
  bool sidecar = init && restart != nullptr && *restart == "Always";
  if (restart != nullptr && restart->is_string()) {
    if (!init) {
      Forbidden(out, p + ".restartPolicy", "may not be set for non-init containers");
    } else {
      NotSupported(restart, p + ".restartPolicy", {"Always"}, out);
    }
  }
  if (const auto* ports = AsArray(c.if_contains("ports"))) {
    std::set<std::string> port_names;
    for (size_t j = 0; j < ports->size(); ++j) {
      const auto* po = AsObject(&(*ports)[j]);
      if (po == nullptr) continue;
      std::string pp = Index(p + ".ports", j);
      std::string pn = Str(*po, "name");
      if (!pn.empty()) {
        auto errs = IsValidPortName(pn);
        for (const auto& e : errs) InvalidString(out, pp + ".name", pn, e);
        if (errs.empty() && !port_names.insert(pn).second) {
          Duplicate(out, pp + ".name", api::GoQuote(pn));
        }
      }
      PortNumber(*po, "containerPort", pp + ".containerPort", true, out);
      const auto* hp = po->if_contains("hostPort");
      if (hp != nullptr && hp->is_int64() && hp->as_int64() != 0) {
        PortNumber(*po, "hostPort", pp + ".hostPort", false, out);
      }
      if (pc->host_network && hp != nullptr && hp->is_int64() && hp->as_int64() != 0) {
        const auto* cp = po->if_contains("containerPort");
        if (cp != nullptr && *cp != *hp) {
          Invalid(out, pp + ".hostPort", std::to_string(hp->as_int64()),
                  "must match `containerPort` when `hostNetwork` is true");
        }
      }
      if (!Has(*po, "protocol")) {
        Required(out, pp + ".protocol");
      } else {
        NotSupported(po->if_contains("protocol"), pp + ".protocol", {"SCTP", "TCP", "UDP"},
                     out);
      }
    }
  }
  Env(c.if_contains("env"), p + ".env", out);
  ResourceRequirements(c.if_contains("resources"), p + ".resources", out);
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    if (!Has(c, probe)) continue;
    if (init && !sidecar) {
      Forbidden(out, Child(p, probe), "may not be set for init containers without "
                                      "restartPolicy=Always");
      continue;
    }
    Probe(c.if_contains(probe), Child(p, probe), std::string_view(probe) != "readinessProbe",
          out);
  }
  if (const auto* lc = AsObject(c.if_contains("lifecycle"))) {
    if (init && !sidecar) {
      Forbidden(out, p + ".lifecycle",
                "may not be set for init containers without restartPolicy=Always");
    } else {
      for (const char* hook : {"postStart", "preStop"}) {
        if (const auto* h = AsObject(lc->if_contains(hook))) {
          Handler(*h, p + ".lifecycle." + hook, {"exec", "httpGet", "tcpSocket", "sleep"},
                  pc->grace, out);
        }
      }
    }
  }
  ContainerSecurityContext(c.if_contains("securityContext"), p + ".securityContext", out);
  if (const auto* mounts = AsArray(c.if_contains("volumeMounts"))) {
    std::set<std::string> paths;
    for (size_t j = 0; j < mounts->size(); ++j) {
      const auto* m = AsObject(&(*mounts)[j]);
      if (m == nullptr) continue;
      std::string mp = Index(p + ".volumeMounts", j);
      std::string vname = Str(*m, "name");
      if (!vname.empty() && !pc->volumes.count(vname)) {
        NotFound(out, mp + ".name", api::GoQuote(vname));
      }
      std::string path = Str(*m, "mountPath");
      if (path.empty()) {
        Required(out, mp + ".mountPath");
      } else if (!paths.insert(path).second) {
        InvalidString(out, mp + ".mountPath", path, "must be unique");
      }
    }
  }
}

void Tolerations(const json::value* v, const std::string& base, Causes* out) {
  const auto* ts = AsArray(v);
  if (ts == nullptr) return;
  for (size_t i = 0; i < ts->size(); ++i) {
    const auto* t = AsObject(&(*ts)[i]);
    if (t == nullptr) continue;
    std::string p = Index(base, i);
    std::string key = Str(*t, "key"), op = Str(*t, "operator"), effect = Str(*t, "effect");
    if (!key.empty()) QualifiedName(key, p + ".key", out);
    if (key.empty() && op != "Exists") {
      InvalidString(out, p + ".operator", op,
                    "operator must be Exists when `key` is empty, which means \"match all "
                    "values and all keys\"");
    }
    if (Has(*t, "tolerationSeconds") && effect != "NoExecute") {
      InvalidString(out, p + ".effect", effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (op.empty() || op == "Equal") {
      std::string value = Str(*t, "value"), joined;
      for (const auto& e : api::IsValidLabelValue(value)) {
        joined += (joined.empty() ? "" : ";") + e;
      }
      // Upstream reports a bad value against the operator.
      if (!joined.empty()) InvalidString(out, p + ".operator", value, joined);
    } else if (op == "Exists") {
      if (!Str(*t, "value").empty()) {
        Invalid(out, p + ".operator", json::serialize(*t),
                "value must be empty when `operator` is 'Exists'");
      }
    } else {
      NotSupportedValue(out, p + ".operator", op, {"Equal", "Exists"});
    }
    if (!effect.empty()) {
      NotSupported(t->if_contains("effect"), p + ".effect",
                   {"NoSchedule", "PreferNoSchedule", "NoExecute"}, out);
    }
  }
}


}  // namespace

bool IsStandardResourceName(std::string_view name) {
  static const std::set<std::string_view> kStandard = {
      "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
      "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
      "pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
      "persistentvolumeclaims", "configmaps", "services.nodeports", "services.loadbalancers",
      "storage", "requests.storage"};
  return kStandard.count(name) > 0 || name.starts_with("hugepages-") ||
         name.starts_with("requests.hugepages-");
}

void ResourceRequirements(const json::value* res, const std::string& base, Causes* out) {
  const auto* r = AsObject(res);
  if (r == nullptr) return;
  const auto* limits = AsObject(r->if_contains("limits"));
  const auto* requests = AsObject(r->if_contains("requests"));
  if (limits != nullptr) {
    for (const auto& [k, v] : *limits) {
      std::string p = Key(base + ".limits", k);
      ContainerResourceName(k, p, out);
      QuantityValue(k, Str(&v), p, out);
    }
  }
  if (requests == nullptr) return;
  for (const auto& [k, v] : *requests) {
    std::string p = Key(base + ".requests", k);
    std::string q = Str(&v);
    ContainerResourceName(k, p, out);
    QuantityValue(k, q, p, out);
    const auto* limit = limits != nullptr ? limits->if_contains(k) : nullptr;
    if (limit != nullptr) {
      std::string l = Str(limit);
      auto cmp = api::CompareQuantities(q, l);
      if (!cmp) continue;
      if (*cmp != 0 && !OvercommitAllowed(k)) {
        InvalidString(out, base + ".requests", q,
                      "must be equal to " + std::string(k) + " limit of " + l);
      } else if (*cmp > 0) {
        InvalidString(out, base + ".requests", q,
                      "must be less than or equal to " + std::string(k) + " limit of " + l);
      }
    } else if (!OvercommitAllowed(k)) {
      Required(out, base + ".limits", "Limit must be set for non overcommitable resources");
    }
  }
}

void PodSpec(const json::value* spec, const std::string& base, Causes* out) {
  const auto* s = AsObject(spec);
  if (s == nullptr) return;
  PodContext pc;
  const auto* hn = s->if_contains("hostNetwork");
  pc.host_network = hn != nullptr && hn->is_bool() && hn->as_bool();
  pc.grace = s->if_contains("terminationGracePeriodSeconds");
  if (const auto* vs = AsArray(s->if_contains("volumes"))) {
    for (size_t i = 0; i < vs->size(); ++i) {
      const auto* v = AsObject(&(*vs)[i]);
      if (v == nullptr) continue;
      std::string p = Index(base + ".volumes", i);
      std::string name = Str(*v, "name");
      if (!name.empty()) {  // a missing name is reported from the schema
        DNS1123Label(name, p + ".name", out);
        if (!pc.volumes.insert(name).second) Duplicate(out, p + ".name", api::GoQuote(name));
      }
      VolumeSource(*v, p, out);
    }
  }
  NotSupported(s->if_contains("restartPolicy"), base + ".restartPolicy",
               {"Always", "OnFailure", "Never"}, out);
  NotSupported(s->if_contains("dnsPolicy"), base + ".dnsPolicy",
               {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}, out);
  if (const auto* ads = s->if_contains("activeDeadlineSeconds"); ads && ads->is_int64()) {
    int64_t v = ads->as_int64();
    if (v < 1 || v > 2147483647) {
      Invalid(out, base + ".activeDeadlineSeconds", std::to_string(v),
              "must be between 1 and 2147483647, inclusive");
    }
  }
  for (const char* f : {"hostname", "subdomain"}) {
    std::string v = Str(*s, f);
    if (!v.empty()) DNS1123Label(v, Child(base, f), out);
  }
  LabelMap(s->if_contains("nodeSelector"), base + ".nodeSelector", out);
  PodLevelFields(*s, base, out);
  Tolerations(s->if_contains("tolerations"), base + ".tolerations", out);
  const auto* containers = s->if_contains("containers");
  if (containers != nullptr && containers->is_array() && containers->as_array().empty()) {
    Required(out, base + ".containers");
  }
  for (const char* list : {"initContainers", "containers"}) {
    const auto* cs = AsArray(s->if_contains(list));
    if (cs == nullptr) continue;
    for (size_t i = 0; i < cs->size(); ++i) {
      if (const auto* c = AsObject(&(*cs)[i])) {
        Container(*c, Index(Child(base, list), i), std::string_view(list) == "initContainers",
                  &pc, out);
      }
    }
  }
}

void PodUpdate(const json::object& obj, const json::object& old, Causes* out) {
  // A pod's spec cannot change, except images, activeDeadlineSeconds and added tolerations.
  json::value a = old.contains("spec") ? old.at("spec") : json::value(json::object());
  json::value b = obj.contains("spec") ? obj.at("spec") : json::value(json::object());
  auto scrub = [](json::value* spec) {
    if (!spec->is_object()) return;
    auto& so = spec->as_object();
    for (const char* list : {"containers", "initContainers"}) {
      if (auto* cs = so.if_contains(list); cs && cs->is_array()) {
        for (auto& c : cs->as_array()) {
          if (c.is_object()) c.as_object().erase("image");
        }
      }
    }
    so.erase("activeDeadlineSeconds");
    so.erase("tolerations");
    so.erase("nodeName");  // set once through binding
    so.erase("schedulingGates");  // may lose gates, checked below
  };
  // Objects stored before a default existed compare as if it had been applied.
  if (const auto* ps = api::Schema::BuiltIn().Type("io.k8s.api.core.v1.PodSpec");
      ps && a.is_object()) {
    api::ApplyDefaults(*ps, &a.as_object());
  }
  scrub(&a);
  scrub(&b);
  if (a != b) {
    Forbidden(out, "spec",
              "pod updates may not change fields other than "
              "`spec.containers[*].image`,`spec.initContainers[*].image`,"
              "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
              "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
              "to be set to 1 if it was previously negative)");
  }
  // Scheduling gates may only be removed.
  if (const auto* gates = ArrayAt(obj, {"spec", "schedulingGates"})) {
    std::set<std::string> had;
    if (const auto* was = ArrayAt(old, {"spec", "schedulingGates"})) {
      for (const auto& g : *was) {
        if (const auto* go = AsObject(&g)) had.insert(Str(*go, "name"));
      }
    }
    for (size_t i = 0; i < gates->size(); ++i) {
      const auto* g = AsObject(&(*gates)[i]);
      std::string name = g != nullptr ? Str(*g, "name") : "";
      if (!had.count(name)) {
        Forbidden(out, Index("spec.schedulingGates", i) + ".name",
                  "only deletion is allowed, but found new scheduling gate '" + name + "'");
      }
    }
  }
  // activeDeadlineSeconds may be set or lowered, never raised or removed.
  const auto* was = At(old, {"spec", "activeDeadlineSeconds"});
  const auto* now = At(obj, {"spec", "activeDeadlineSeconds"});
  if (was != nullptr && was->is_int64()) {
    if (now == nullptr || !now->is_int64()) {
      Invalid(out, "spec.activeDeadlineSeconds", "null",
              "must not update from a positive integer to nil value");
    } else if (now->as_int64() > was->as_int64()) {
      Invalid(out, "spec.activeDeadlineSeconds", std::to_string(now->as_int64()),
              "must be less than or equal to previous value");
    }
  }
}

}  // namespace keelson::apiserver::validation
