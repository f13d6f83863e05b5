// The pod-level fields of a PodSpec (upstream's validateAffinity,
// validateTopologySpreadConstraints, validatePodSpecSecurityContext, validatePodDNSConfig,
// validateHostAliases, validateOS, validateReadinessGates, validateSchedulingGates) and
// container security contexts (ValidateSecurityContext).
#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::validation {
namespace {

// --- Scheduling: affinity and topology spread -----------------------------------------------

void NodeFieldSelectorRequirement(const json::object& rq, const std::string& p, Causes* out) {
  std::string op = Str(rq, "operator");
  const auto* values = AsArray(rq.if_contains("values"));
  if (op == "In" || op == "NotIn") {
    if (values == nullptr || values->size() != 1) {
      Required(out, p + ".values",
               "must be only one value when `operator` is 'In' or 'NotIn' for node field "
               "selector");
    }
  } else {
    InvalidString(out, p + ".operator", op, "not a valid selector operator");
  }
  std::string key = Str(rq, "key");
  if (key != "metadata.name") {
    InvalidString(out, p + ".key", key, "not a valid field selector key");
    return;
  }
  for (size_t j = 0; values != nullptr && j < values->size(); ++j) {
    std::string v = Str(&(*values)[j]);
    for (const auto& m : api::NameIsDNSSubdomain(v, false)) {
      InvalidString(out, Index(p + ".values", j), v, m);
    }
  }
}

void NodeSelectorTerm(const json::object& term, const std::string& p, bool check_values,
                      Causes* out) {
  if (const auto* exprs = AsArray(term.if_contains("matchExpressions"))) {
    for (size_t j = 0; j < exprs->size(); ++j) {
      if (const auto* rq = AsObject(&(*exprs)[j])) {
        SelectorRequirement(*rq, Index(p + ".matchExpressions", j), true, check_values, out);
      }
    }
  }
  if (const auto* fields = AsArray(term.if_contains("matchFields"))) {
    for (size_t j = 0; j < fields->size(); ++j) {
      if (const auto* rq = AsObject(&(*fields)[j])) {
        NodeFieldSelectorRequirement(*rq, Index(p + ".matchFields", j), out);
      }
    }
  }
}

// A preferred term's weight: 1..100.
void Weight(const json::object& term, const std::string& p, Causes* out) {
  const auto* w = term.if_contains("weight");
  int64_t weight = w != nullptr && w->is_int64() ? w->as_int64() : 0;
  if (weight <= 0 || weight > 100) {
    Invalid(out, p + ".weight", std::to_string(weight), "must be in the range 1-100");
  }
}

void NodeAffinity(const json::object& na, const std::string& p, Causes* out) {
  const auto* req = AsObject(na.if_contains("requiredDuringSchedulingIgnoredDuringExecution"));
  if (req != nullptr) {
    std::string rp = p + ".requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms";
    const auto* terms = AsArray(req->if_contains("nodeSelectorTerms"));
    if (terms == nullptr || terms->empty()) {
      Required(out, rp, "must have at least one node selector term");
    } else {
      for (size_t i = 0; i < terms->size(); ++i) {
        if (const auto* t = AsObject(&(*terms)[i])) NodeSelectorTerm(*t, Index(rp, i), true, out);
      }
    }
  }
  if (const auto* pref =
          AsArray(na.if_contains("preferredDuringSchedulingIgnoredDuringExecution"))) {
    std::string pp = p + ".preferredDuringSchedulingIgnoredDuringExecution";
    for (size_t i = 0; i < pref->size(); ++i) {
      const auto* t = AsObject(&(*pref)[i]);
      if (t == nullptr) continue;
      Weight(*t, Index(pp, i), out);
      // Upstream accepts any label value in a preference.
      if (const auto* pr = AsObject(t->if_contains("preference"))) {
        NodeSelectorTerm(*pr, Index(pp, i) + ".preference", false, out);
      }
    }
  }
}

void PodAffinityTerm(const json::object& term, const std::string& p, Causes* out) {
  LabelSelector(term.if_contains("labelSelector"), p + ".labelSelector", out);
  LabelSelector(term.if_contains("namespaceSelector"), p + ".namespaceSelector", out);
  if (const auto* nss = AsArray(term.if_contains("namespaces"))) {
    for (const auto& ns : *nss) {
      std::string name = Str(&ns);
      for (const auto& m : api::NameIsDNSLabel(name, false)) {
        InvalidString(out, p + ".namespace", name, m);
      }
    }
  }
  for (const char* list : {"matchLabelKeys", "mismatchLabelKeys"}) {
    if (const auto* keys = AsArray(term.if_contains(list))) {
      for (size_t i = 0; i < keys->size(); ++i) {
        QualifiedName(Str(&(*keys)[i]), Index(Child(p, list), i), out);
      }
    }
  }
  std::string key = Str(term, "topologyKey");
  if (key.empty()) Required(out, p + ".topologyKey", "can not be empty");
  QualifiedName(key, p + ".topologyKey", out);
}

void PodAffinity(const json::object& pa, const std::string& p, Causes* out) {
  if (const auto* req = AsArray(pa.if_contains("requiredDuringSchedulingIgnoredDuringExecution"))) {
    for (size_t i = 0; i < req->size(); ++i) {
      if (const auto* t = AsObject(&(*req)[i])) {
        PodAffinityTerm(*t, Index(p + ".requiredDuringSchedulingIgnoredDuringExecution", i), out);
      }
    }
  }
  if (const auto* pref =
          AsArray(pa.if_contains("preferredDuringSchedulingIgnoredDuringExecution"))) {
    std::string pp = p + ".preferredDuringSchedulingIgnoredDuringExecution";
    for (size_t i = 0; i < pref->size(); ++i) {
      const auto* t = AsObject(&(*pref)[i]);
      if (t == nullptr) continue;
      Weight(*t, Index(pp, i), out);
      if (const auto* term = AsObject(t->if_contains("podAffinityTerm"))) {
        PodAffinityTerm(*term, Index(pp, i) + ".podAffinityTerm", out);
      }
    }
  }
}

void Affinity(const json::value* v, const std::string& p, Causes* out) {
  const auto* a = AsObject(v);
  if (a == nullptr) return;
  if (const auto* na = AsObject(a->if_contains("nodeAffinity"))) {
    NodeAffinity(*na, p + ".nodeAffinity", out);
  }
  if (const auto* pa = AsObject(a->if_contains("podAffinity"))) {
    PodAffinity(*pa, p + ".podAffinity", out);
  }
  if (const auto* pa = AsObject(a->if_contains("podAntiAffinity"))) {
    PodAffinity(*pa, p + ".podAntiAffinity", out);
  }
}

void TopologySpreadConstraints(const json::value* v, const std::string& base, Causes* out) {
  const auto* cs = AsArray(v);
  if (cs == nullptr) return;
  for (size_t i = 0; i < cs->size(); ++i) {
    const auto* c = AsObject(&(*cs)[i]);
    if (c == nullptr) continue;
    std::string p = Index(base, i);
    const auto* skew = c->if_contains("maxSkew");
    int64_t max_skew = skew != nullptr && skew->is_int64() ? skew->as_int64() : 0;
    if (max_skew <= 0) {
      Invalid(out, p + ".maxSkew", std::to_string(max_skew), "must be greater than zero");
    }
    std::string key = Str(*c, "topologyKey");
    if (key.empty()) Required(out, p + ".topologyKey", "can not be empty");
    std::string action = Str(*c, "whenUnsatisfiable");
    if (action != "DoNotSchedule" && action != "ScheduleAnyway") {
      NotSupportedValue(out, p + ".whenUnsatisfiable", action,
                        {"DoNotSchedule", "ScheduleAnyway"});
    }
    for (size_t j = i + 1; j < cs->size(); ++j) {
      const auto* other = AsObject(&(*cs)[j]);
      if (other != nullptr && Str(*other, "topologyKey") == key &&
          Str(*other, "whenUnsatisfiable") == action) {
        Duplicate(out, p + ".{topologyKey, whenUnsatisfiable}",
                  api::GoQuote("{" + key + ", " + action + "}"));
        break;
      }
    }
    if (const auto* md = c->if_contains("minDomains"); md != nullptr && md->is_int64()) {
      std::string text = std::to_string(md->as_int64());
      if (md->as_int64() <= 0) Invalid(out, p + ".minDomains", text, "must be greater than zero");
      if (action != "DoNotSchedule") {
        Invalid(out, p + ".minDomains", text,
                "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not " + action);
      }
    }
    for (const char* policy : {"nodeAffinityPolicy", "nodeTaintsPolicy"}) {
      NotSupported(c->if_contains(policy), Child(p, policy), {"Honor", "Ignore"}, out);
    }
    LabelSelector(c->if_contains("labelSelector"), p + ".labelSelector", out);
    if (const auto* keys = AsArray(c->if_contains("matchLabelKeys"))) {
      for (size_t j = 0; j < keys->size(); ++j) {
        QualifiedName(Str(&(*keys)[j]), Index(p + ".matchLabelKeys", j), out);
      }
    }
  }
}

// --- Security contexts ----------------------------------------------------------------------

// runAsUser, runAsGroup, fsGroup and supplemental groups: 0..2147483647.
void Id(const json::value* v, const std::string& p, Causes* out) {
  if (v == nullptr || !v->is_int64()) return;
  int64_t id = v->as_int64();
  if (id < 0 || id > 2147483647) {
    Invalid(out, p, std::to_string(id), "must be between 0 and 2147483647, inclusive");
  }
}

void SeccompProfile(const json::value* v, const std::string& p, Causes* out) {
  const auto* sp = AsObject(v);
  if (sp == nullptr) return;
  std::string type = Str(*sp, "type");
  if (type.empty()) {
    Required(out, p + ".type", "type is required when seccompProfile is set");
    return;
  }
  if (type != "Localhost" && type != "RuntimeDefault" && type != "Unconfined") {
    NotSupportedValue(out, p + ".type", type, {"Localhost", "RuntimeDefault", "Unconfined"});
    return;
  }
  const auto* local = sp->if_contains("localhostProfile");
  bool has_local = local != nullptr && !local->is_null();
  if (type == "Localhost") {
    if (!has_local) {
      Required(out, p + ".localhostProfile", "must be set when seccomp type is Localhost");
      return;
    }
    std::string path = Str(local);
    if (!path.empty() && path.front() == '/') {
      InvalidString(out, p + ".localhostProfile", path, "must be a relative path");
    }
    for (size_t start = 0; start <= path.size();) {
      size_t end = path.find_first_of("/\\", start);
      if (end == std::string::npos) end = path.size();
      if (path.compare(start, end - start, "..") == 0) {
        InvalidString(out, p + ".localhostProfile", path, "must not contain '..'");
        break;
      }
      start = end + 1;
    }
  } else if (has_local) {
    Invalid(out, p + ".localhostProfile", json::serialize(*sp),
            "can only be set when seccomp type is Localhost");
  }
}

void AppArmorProfile(const json::value* v, const std::string& p, Causes* out) {
  const auto* ap = AsObject(v);
  if (ap == nullptr) return;
  std::string type = Str(*ap, "type");
  const auto* local = ap->if_contains("localhostProfile");
  bool has_local = local != nullptr && !local->is_null();
  if (type == "Localhost") {
    std::string profile = Str(local);
    size_t first = profile.find_first_not_of(" \t\n\r\v\f");
    size_t last = profile.find_last_not_of(" \t\n\r\v\f");
    bool padded = !profile.empty() &&
                  (first == std::string::npos || first != 0 || last != profile.size() - 1);
    if (!has_local) {
      Required(out, p + ".localhostProfile", "must be set when AppArmor type is Localhost");
    } else if (padded) {
      InvalidString(out, p + ".localhostProfile", profile, "must not be padded with whitespace");
    } else if (profile.empty()) {
      Required(out, p + ".localhostProfile", "must be set when AppArmor type is Localhost");
    }
    if (profile.size() > 4095) {
      out->emplace_back(p + ".localhostProfile", "Too long: may not be more than 4095 bytes");
    }
  } else if (type == "RuntimeDefault" || type == "Unconfined") {
    if (has_local) {
      Invalid(out, p + ".localhostProfile", ValueText(local),
              "can only be set when AppArmor type is Localhost");
    }
  } else if (type.empty()) {
    Required(out, p + ".type", "type is required when appArmorProfile is set");
  } else {
    NotSupportedValue(out, p + ".type", type, {"Localhost", "RuntimeDefault", "Unconfined"});
  }
}

bool IsTrue(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

bool IsFalse(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && !v->as_bool();
}

void PodSecurityContext(const json::object& spec, const std::string& base, Causes* out) {
  const auto* sc = AsObject(spec.if_contains("securityContext"));
  if (sc == nullptr) return;
  std::string p = base + ".securityContext";
  Id(sc->if_contains("fsGroup"), p + ".fsGroup", out);
  Id(sc->if_contains("runAsUser"), p + ".runAsUser", out);
  Id(sc->if_contains("runAsGroup"), p + ".runAsGroup", out);
  if (const auto* groups = AsArray(sc->if_contains("supplementalGroups"))) {
    for (size_t i = 0; i < groups->size(); ++i) {
      Id(&(*groups)[i], Index(p + ".supplementalGroups", i), out);
    }
  }
  if (IsTrue(*sc, "shareProcessNamespace") && IsTrue(spec, "hostPID")) {
    Invalid(out, p + ".shareProcessNamespace", "true",
            "ShareProcessNamespace and HostPID cannot both be enabled");
  }
  NotSupported(sc->if_contains("fsGroupChangePolicy"), p + ".fsGroupChangePolicy",
               {"OnRootMismatch", "Always"}, out);
  NotSupported(sc->if_contains("supplementalGroupsPolicy"), p + ".supplementalGroupsPolicy",
               {"Merge", "Strict"}, out);
  SeccompProfile(sc->if_contains("seccompProfile"), p + ".seccompProfile", out);
  AppArmorProfile(sc->if_contains("appArmorProfile"), p + ".appArmorProfile", out);
  if (const auto* sysctls = AsArray(sc->if_contains("sysctls"))) {
    std::set<std::string> names;
    for (size_t i = 0; i < sysctls->size(); ++i) {
      const auto* s = AsObject(&(*sysctls)[i]);
      if (s == nullptr) continue;
      std::string name = Str(*s, "name");
      std::string sp = Index(p + ".sysctls", i);
      if (name.empty()) {
        Required(out, sp + ".name");
      } else if (!names.insert(name).second) {
        Duplicate(out, sp + ".name", api::GoQuote(name));
      }
    }
  }
}

}  // namespace

void ContainerSecurityContext(const json::value* v, const std::string& p, Causes* out) {
  const auto* sc = AsObject(v);
  if (sc == nullptr) return;
  Id(sc->if_contains("runAsUser"), p + ".runAsUser", out);
  Id(sc->if_contains("runAsGroup"), p + ".runAsGroup", out);
  NotSupported(sc->if_contains("procMount"), p + ".procMount", {"Default", "Unmasked"}, out);
  SeccompProfile(sc->if_contains("seccompProfile"), p + ".seccompProfile", out);
  if (IsFalse(*sc, "allowPrivilegeEscalation")) {
    if (IsTrue(*sc, "privileged")) {
      Invalid(out, p, json::serialize(*sc),
              "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
    }
    if (const auto* add = ArrayAt(*sc, {"capabilities", "add"})) {
      for (const auto& cap : *add) {
        if (Str(&cap) == "CAP_SYS_ADMIN") {
          Invalid(out, p, json::serialize(*sc),
                  "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` "
                  "CAP_SYS_ADMIN");
        }
      }
    }
  }
  AppArmorProfile(sc->if_contains("appArmorProfile"), p + ".appArmorProfile", out);
}

namespace {

// --- Pod-level fields -----------------------------------------------------------------------

void DNSConfig(const json::object& spec, const std::string& base, Causes* out) {
  const auto* cfg = AsObject(spec.if_contains("dnsConfig"));
  std::string p = base + ".dnsConfig";
  if (Str(spec, "dnsPolicy") == "None") {
    if (cfg == nullptr) {
      Required(out, p, "must provide `dnsConfig` when `dnsPolicy` is None");
      return;
    }
    if (SizeOf(cfg->if_contains("nameservers")) == 0) {
      Required(out, p + ".nameservers",
               "must provide at least one DNS nameserver when `dnsPolicy` is None");
      return;
    }
  }
  if (cfg == nullptr) return;
  if (const auto* ns = AsArray(cfg->if_contains("nameservers"))) {
    if (ns->size() > 3) {
      Invalid(out, p + ".nameservers", json::serialize(*ns),
              "must not have more than 3 nameservers");
    }
    for (size_t i = 0; i < ns->size(); ++i) {
      std::string ip = Str(&(*ns)[i]);
      if (!IsIP(ip)) {
        InvalidString(out, Index(p + ".nameservers", i), ip,
                      "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
      }
    }
  }
  if (const auto* searches = AsArray(cfg->if_contains("searches"))) {
    if (searches->size() > 32) {
      Invalid(out, p + ".searches", json::serialize(*searches),
              "must not have more than 32 search paths");
    }
    size_t chars = 0;
    for (size_t i = 0; i < searches->size(); ++i) {
      std::string s = Str(&(*searches)[i]);
      chars += s.size() + (i > 0 ? 1 : 0);
      if (s == ".") continue;  // the root domain
      if (!s.empty() && s.back() == '.') s.pop_back();
      // Searches may contain underscores (RelaxedDNSSearchValidation, on since 1.32).
      std::string checked = s;
      std::replace(checked.begin(), checked.end(), '_', 'a');
      if (!api::IsDNS1123Subdomain(checked).empty()) {
        for (const auto& m : api::IsDNS1123Subdomain(checked)) {
          InvalidString(out, Index(p + ".searches", i), s, m);
        }
      }
    }
    if (chars > 2048) {
      Invalid(out, p + ".searches", json::serialize(*searches),
              "must not have more than 2048 characters (including spaces) in the search list");
    }
  }
  if (const auto* opts = AsArray(cfg->if_contains("options"))) {
    for (size_t i = 0; i < opts->size(); ++i) {
      const auto* o = AsObject(&(*opts)[i]);
      if (o != nullptr && Str(*o, "name").empty()) {
        Required(out, Index(p + ".options", i), "must not be empty");
      }
    }
  }
}

void HostAliases(const json::value* v, const std::string& base, Causes* out) {
  const auto* aliases = AsArray(v);
  if (aliases == nullptr) return;
  for (size_t i = 0; i < aliases->size(); ++i) {
    const auto* a = AsObject(&(*aliases)[i]);
    if (a == nullptr) continue;
    std::string p = Index(base, i);
    if (const auto* ip = a->if_contains("ip"); ip != nullptr && ip->is_string() &&
                                               !IsIP(ip->as_string())) {
      InvalidString(out, p + ".ip", ip->as_string(),
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    }
    if (const auto* names = AsArray(a->if_contains("hostnames"))) {
      for (size_t j = 0; j < names->size(); ++j) {
        DNS1123Subdomain(Str(&(*names)[j]), Index(p + ".hostnames", j), out);
      }
    }
  }
}

void PodOS(const json::object& spec, const std::string& base, Causes* out) {
  const auto* os = AsObject(spec.if_contains("os"));
  if (os == nullptr) return;
  std::string name = Str(*os, "name");
  if (name.empty()) {
    Required(out, base + ".os.name", "cannot be empty");
    return;
  }
  // Upstream reports an unknown OS against spec.os itself.
  if (name != "linux" && name != "windows") {
    NotSupportedValue(out, base + ".os", name, {"linux", "windows"});
  }
}

}  // namespace

void PodLevelFields(const json::object& s, const std::string& base, Causes* out) {
  Affinity(s.if_contains("affinity"), base + ".affinity", out);
  TopologySpreadConstraints(s.if_contains("topologySpreadConstraints"),
                            base + ".topologySpreadConstraints", out);
  PodSecurityContext(s, base, out);
  DNSConfig(s, base, out);
  HostAliases(s.if_contains("hostAliases"), base + ".hostAliases", out);
  PodOS(s, base, out);
  std::string pcn = Str(s, "priorityClassName");
  if (!pcn.empty()) {
    for (const auto& m : api::NameIsDNSSubdomain(pcn, false)) {
      InvalidString(out, base + ".priorityClassName", pcn, m);
    }
  }
  if (const auto* gates = AsArray(s.if_contains("readinessGates"))) {
    for (size_t i = 0; i < gates->size(); ++i) {
      const auto* g = AsObject(&(*gates)[i]);
      if (g == nullptr) continue;
      QualifiedName(Str(*g, "conditionType"),
                    Index(base + ".readinessGates", i) + ".conditionType", out);
    }
  }
  if (const auto* gates = AsArray(s.if_contains("schedulingGates"))) {
    std::set<std::string> seen;
    for (size_t i = 0; i < gates->size(); ++i) {
      const auto* g = AsObject(&(*gates)[i]);
      if (g == nullptr) continue;
      std::string name = Str(*g, "name");
      std::string p = Index(base + ".schedulingGates", i);
      QualifiedName(name, p, out);
      if (!seen.insert(name).second) Duplicate(out, p, api::GoQuote(name));
    }
  }
}

}  // namespace keelson::apiserver::validation
