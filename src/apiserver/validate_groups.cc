// coordination.k8s.io, discovery.k8s.io, policy, scheduling.k8s.io and
// rbac.authorization.k8s.io (upstream's pkg/apis/<group>/validation).
#include <boost/json.hpp>

#include <set>

#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::validation {
namespace {

constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";

// Go's fmt %#v of a []string.
std::string GoStrings(const json::value* v) {
  std::string out = "[]string{";
  if (const auto* a = AsArray(v)) {
    for (size_t i = 0; i < a->size(); ++i) out += (i ? ", " : "") + ValueText((*a)[i]);
  }
  return out + "}";
}

void FullyQualifiedDomainName(std::string_view name, const std::string& path, Causes* out) {
  std::string_view n = name;
  if (n.ends_with('.')) n.remove_suffix(1);
  if (n.empty()) {
    Required(out, path);
    return;
  }
  if (n.find('.') == std::string_view::npos) {
    InvalidString(out, path, name,
                  "should be a domain with at least two segments separated by dots");
    return;
  }
  for (const auto& e : api::IsDNS1123Subdomain(n)) InvalidString(out, path, name, e);
}

void PolicyRule(const json::object& rule, bool namespaced, const std::string& p, Causes* out) {
  if (SizeOf(rule.if_contains("verbs")) == 0) {
    Required(out, p + ".verbs", "verbs must contain at least one value");
  }
  const auto* urls = rule.if_contains("nonResourceURLs");
  if (SizeOf(urls) > 0) {
    if (namespaced) {
      Invalid(out, p + ".nonResourceURLs", GoStrings(urls),
              "namespaced rules cannot apply to non-resource URLs");
    }
    if (SizeOf(rule.if_contains("apiGroups")) > 0 || SizeOf(rule.if_contains("resources")) > 0 ||
        SizeOf(rule.if_contains("resourceNames")) > 0) {
      Invalid(out, p + ".nonResourceURLs", GoStrings(urls),
              "rules cannot apply to both regular resources and non-resource URLs");
    }
    return;
  }
  if (SizeOf(rule.if_contains("apiGroups")) == 0) {
    Required(out, p + ".apiGroups", "resource rules must supply at least one api group");
  }
  if (SizeOf(rule.if_contains("resources")) == 0) {
    Required(out, p + ".resources", "resource rules must supply at least one resource");
  }
}

void Subject(const json::object& s, bool namespaced, const std::string& p, Causes* out) {
  std::string name = Str(s, "name"), kind = Str(s, "kind"), group = Str(s, "apiGroup");
  if (name.empty()) Required(out, p + ".name");
  if (kind == "ServiceAccount") {
    if (!name.empty()) DNS1123Subdomain(name, p + ".name", out);
    if (!group.empty()) NotSupportedValue(out, p + ".apiGroup", group, {""});
    if (!namespaced && Str(s, "namespace").empty()) Required(out, p + ".namespace");
  } else if (kind == "User" || kind == "Group") {
    if (name.empty()) {
      InvalidString(out, p + ".name", name, (kind == "User" ? "user" : "group") +
                                                std::string(" name cannot be empty"));
    }
    // An unset group reads as the RBAC group, as upstream defaults it.
    if (!group.empty() && group != kRbacGroup) {
      NotSupportedValue(out, p + ".apiGroup", group, {std::string(kRbacGroup)});
    }
  } else {
    NotSupportedValue(out, p + ".kind", kind, {"ServiceAccount", "User", "Group"});
  }
}

// Go's fmt %#v of an rbac.RoleRef.
std::string GoRoleRef(const json::value* ref) {
  const auto* r = AsObject(ref);
  auto field = [&](std::string_view k) { return api::GoQuote(r ? Str(*r, k) : ""); };
  return "rbac.RoleRef{APIGroup:" + field("apiGroup") + ", Kind:" + field("kind") +
         ", Name:" + field("name") + "}";
}

void Binding(const Check& c, bool namespaced) {
  const auto* ref = ObjectAt(c.obj, {"roleRef"});
  if (ref != nullptr) {
    std::string group = Str(*ref, "apiGroup"), kind = Str(*ref, "kind"), name = Str(*ref, "name");
    if (group != kRbacGroup) {
      NotSupportedValue(c.out, "roleRef.apiGroup", group, {std::string(kRbacGroup)});
    }
    if (namespaced && kind != "Role" && kind != "ClusterRole") {
      NotSupportedValue(c.out, "roleRef.kind", kind, {"Role", "ClusterRole"});
    } else if (!namespaced && kind != "ClusterRole") {
      NotSupportedValue(c.out, "roleRef.kind", kind, {"ClusterRole"});
    }
    if (name.empty()) {
      Required(c.out, "roleRef.name");
    } else {
      for (const auto& e : PathSegmentName(name)) InvalidString(c.out, "roleRef.name", name, e);
    }
  }
  if (const auto* subjects = ArrayAt(c.obj, {"subjects"})) {
    for (size_t i = 0; i < subjects->size(); ++i) {
      if (const auto* s = AsObject(&(*subjects)[i])) {
        Subject(*s, namespaced, Index("subjects", i), c.out);
      }
    }
  }
  if (c.old != nullptr && !SameValue(c.obj.if_contains("roleRef"), c.old->if_contains("roleRef"))) {
    Invalid(c.out, "roleRef", GoRoleRef(c.obj.if_contains("roleRef")), "cannot change roleRef");
  }
}

}  // namespace

std::vector<std::string> PathSegmentName(std::string_view name) {
  if (name == "." || name == "..") return {"may not be '" + std::string(name) + "'"};
  std::vector<std::string> errs;
  if (name.find('/') != std::string_view::npos) errs.push_back("may not contain '/'");
  if (name.find('%') != std::string_view::npos) errs.push_back("may not contain '%'");
  return errs;
}

void Lease(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  Positive(*spec, "leaseDurationSeconds", "spec.leaseDurationSeconds", c.out);
  NonNegative(*spec, "leaseTransitions", "spec.leaseTransitions", c.out);
  std::string strategy = Str(*spec, "strategy");
  if (Has(*spec, "strategy")) {
    // Upstream names the field twice in this path.
    if (strategy.find('/') == std::string::npos) {
      if (strategy != "OldestEmulationVersion") {
        NotSupportedValue(c.out, "spec.strategy.strategy", strategy, {"OldestEmulationVersion"});
      }
    } else {
      QualifiedName(strategy, "spec.strategy.strategy", c.out);
    }
  }
  if (!Str(*spec, "preferredHolder").empty() && strategy.empty()) {
    Forbidden(c.out, "spec.preferredHolder", "may only be specified if `strategy` is defined");
  }
}

void EndpointSlice(const Check& c) {
  const auto* at = c.obj.if_contains("addressType");
  std::string type = Str(at);
  if (type.empty()) {
    Required(c.out, "addressType");
  } else {
    NotSupported(at, "addressType", {"FQDN", "IPv4", "IPv6"}, c.out);
  }
  if (const auto* eps = ArrayAt(c.obj, {"endpoints"})) {
    if (eps->size() > 1000) {
      c.out->emplace_back("endpoints", "Too many: " + std::to_string(eps->size()) +
                                           ": must have at most 1000 items");
    }
    for (size_t i = 0; i < eps->size(); ++i) {
      const auto* e = AsObject(&(*eps)[i]);
      if (e == nullptr) continue;
      std::string p = Index("endpoints", i);
      const auto* addrs = AsArray(e->if_contains("addresses"));
      if (addrs == nullptr || addrs->empty()) {
        Required(c.out, p + ".addresses", "must contain at least 1 address");
      } else if (addrs->size() > 100) {
        c.out->emplace_back(p + ".addresses", "Too many: " + std::to_string(addrs->size()) +
                                                  ": must have at most 100 items");
      }
      for (size_t j = 0; addrs && j < addrs->size(); ++j) {
        std::string a = Str(&(*addrs)[j]);
        std::string ap = Index(p + ".addresses", j);
        if (type == "IPv4") {
          if (!IsIPv4(a)) {
            InvalidString(c.out, ap, a, "must be a valid IPv4 address");
          } else {
            NonSpecialIP(a, ap, c.out);
          }
        } else if (type == "IPv6") {
          if (!IsIPv6(a)) {
            InvalidString(c.out, ap, a, "must be a valid IPv6 address");
          } else {
            NonSpecialIP(a, ap, c.out);
          }
        } else if (type == "FQDN") {
          FullyQualifiedDomainName(a, ap, c.out);
        }
      }
      if (const auto* nn = e->if_contains("nodeName"); nn && nn->is_string()) {
        DNS1123Subdomain(nn->as_string(), p + ".nodeName", c.out);
      }
      if (const auto* hn = e->if_contains("hostname"); hn && hn->is_string()) {
        DNS1123Label(hn->as_string(), p + ".hostname", c.out);
      }
    }
  }
  if (const auto* ports = ArrayAt(c.obj, {"ports"})) {
    std::set<std::string> names;
    for (size_t i = 0; i < ports->size(); ++i) {
      const auto* po = AsObject(&(*ports)[i]);
      if (po == nullptr) continue;
      std::string p = Index("ports", i);
      std::string name = Str(*po, "name");
      if (!name.empty()) DNS1123Label(name, p + ".name", c.out);
      if (!names.insert(name).second) Duplicate(c.out, p + ".name", api::GoQuote(name));
      if (!Has(*po, "protocol")) {
        Required(c.out, p + ".protocol");
      } else {
        NotSupported(po->if_contains("protocol"), p + ".protocol", {"SCTP", "TCP", "UDP"},
                     c.out);
      }
      if (const auto* ap = po->if_contains("appProtocol"); ap && ap->is_string()) {
        QualifiedName(ap->as_string(), p + ".appProtocol", c.out);
      }
    }
  }
  if (c.old != nullptr) Immutable(at, c.old->if_contains("addressType"), "addressType", c.out);
}

void PodDisruptionBudget(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  const auto* min = spec->if_contains("minAvailable");
  const auto* max = spec->if_contains("maxUnavailable");
  if (Has(*spec, "minAvailable") && Has(*spec, "maxUnavailable")) {
    Invalid(c.out, "spec", json::serialize(*spec),
            "minAvailable and maxUnavailable cannot be both set");
  }
  for (auto [v, name] : {std::pair{min, "minAvailable"}, std::pair{max, "maxUnavailable"}}) {
    if (v == nullptr || v->is_null()) continue;
    std::string p = Child("spec", name);
    if (v->is_int64() && v->as_int64() < 0) {
      Invalid(c.out, p, std::to_string(v->as_int64()), "must be greater than or equal to 0");
    } else if (v->is_string()) {
      std::string_view s = v->as_string();
      bool ok = s.size() >= 2 && s.back() == '%' &&
                s.substr(0, s.size() - 1).find_first_not_of("0123456789") ==
                    std::string_view::npos;
      if (!ok) {
        InvalidString(c.out, p, s,
                      api::RegexError("a valid percent string must be a numeric string followed "
                                      "by an ending '%'",
                                      "[0-9]+%", {"1%", "93%"}));
      } else if (s.size() > 4 || std::stoi(std::string(s.substr(0, s.size() - 1))) > 100) {
        InvalidString(c.out, p, s, "must not be greater than 100%");
      }
    }
  }
  LabelSelector(spec->if_contains("selector"), "spec.selector", c.out);
  NotSupported(spec->if_contains("unhealthyPodEvictionPolicy"), "spec.unhealthyPodEvictionPolicy",
               {"AlwaysAllow", "IfHealthyBudget"}, c.out);
}

void PriorityClass(const Check& c) {
  std::string name = Str(At(c.obj, {"metadata", "name"}));
  const auto* value = c.obj.if_contains("value");
  int64_t v = value != nullptr && value->is_int64() ? value->as_int64() : 0;
  if (name.starts_with("system-")) {
    // Only the predefined system classes, with their values, may use the prefix.
    static const std::pair<std::string_view, int64_t> kSystem[] = {
        {"system-node-critical", 2000001000}, {"system-cluster-critical", 2000000000}};
    std::string err = name + " is not a known system priority class";
    for (auto [n, val] : kSystem) {
      if (name != n) continue;
      err.clear();
      const auto* gd = c.obj.if_contains("globalDefault");
      if (v != val) {
        err = "value of " + name + " PriorityClass must be " + std::to_string(val);
      } else if (gd != nullptr && gd->is_bool() && gd->as_bool()) {
        err = "globalDefault of " + name + " PriorityClass must be false";
      }
    }
    if (!err.empty()) {
      Forbidden(c.out, "metadata.name",
                "priority class names with 'system-' prefix are reserved for system use only. "
                "error: " + err);
    }
  } else if (v > 1000000000) {
    Forbidden(c.out, "value", "maximum allowed value of a user defined priority is 1000000000");
  }
  NotSupported(c.obj.if_contains("preemptionPolicy"), "preemptionPolicy",
               {"Never", "PreemptLowerPriority"}, c.out);
  if (c.old == nullptr) return;
  if (!SameValue(value, c.old->if_contains("value"))) {
    Forbidden(c.out, "value", "may not be changed in an update.");
  }
  Immutable(c.obj.if_contains("preemptionPolicy"), c.old->if_contains("preemptionPolicy"),
            "preemptionPolicy", c.out);
}

void Rbac(const Check& c) {
  const std::string& k = c.r.kind;
  if (k == "Role" || k == "ClusterRole") {
    if (const auto* rules = ArrayAt(c.obj, {"rules"})) {
      for (size_t i = 0; i < rules->size(); ++i) {
        if (const auto* rule = AsObject(&(*rules)[i])) {
          PolicyRule(*rule, k == "Role", Index("rules", i), c.out);
        }
      }
    }
  } else if (k == "RoleBinding") {
    Binding(c, true);
  } else if (k == "ClusterRoleBinding") {
    Binding(c, false);
  }
}

}  // namespace keelson::apiserver::validation
