// Workloads (apps/v1 and ReplicationController) and batch/v1 (upstream's
// pkg/apis/apps/validation and pkg/apis/batch/validation).
#include <boost/json.hpp>

#include <set>

#include "apiserver/cron.h"
#include "apiserver/validate.h"
#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::validation {
namespace {

// Go's fmt %v of a map[string]string, as upstream prints template labels.
std::string GoMap(const api::Labels& m) {
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : m) {
    out += (first ? "" : ", ") + api::GoQuote(k) + ":" + api::GoQuote(v);
    first = false;
  }
  return out + "}";
}

// Go's fmt %#v of a metav1.LabelSelector, as upstream prints a selector it refuses:
// v1.LabelSelector{MatchLabels:map[string]string{"app":"web"},
// MatchExpressions:[]v1.LabelSelectorRequirement(nil)}.
std::string GoLabelSelector(const json::value& selector) {
  auto strings = [](const json::value* v) {
    if (v == nullptr || !v->is_array()) return std::string("[]string(nil)");
    std::string out = "[]string{";
    bool first = true;
    for (const auto& e : v->as_array()) {
      out += (first ? "" : ", ") + api::GoQuote(e.is_string() ? e.as_string() : "");
      first = false;
    }
    return out + "}";
  };
  const json::object* o = selector.is_object() ? &selector.as_object() : nullptr;
  const json::value* labels = o ? o->if_contains("matchLabels") : nullptr;
  const json::value* exprs = o ? o->if_contains("matchExpressions") : nullptr;
  std::string out = "v1.LabelSelector{MatchLabels:";
  out += labels && labels->is_object() ? GoMap(StringMap(labels)) : "map[string]string(nil)";
  out += ", MatchExpressions:";
  if (exprs == nullptr || !exprs->is_array()) {
    out += "[]v1.LabelSelectorRequirement(nil)";
  } else {
    out += "[]v1.LabelSelectorRequirement{";
    bool first = true;
    for (const auto& e : exprs->as_array()) {
      const json::object empty;
      const json::object& r = e.is_object() ? e.as_object() : empty;
      auto text = [&](const char* k) {
        const auto* v = r.if_contains(k);
        return api::GoQuote(v && v->is_string() ? v->as_string() : "");
      };
      out += std::string(first ? "" : ", ") + "v1.LabelSelectorRequirement{Key:" + text("key") +
             ", Operator:" + text("operator") + ", Values:" + strings(r.if_contains("values")) +
             "}";
      first = false;
    }
    out += "}";
  }
  return out + "}";
}

bool EmptySelector(const json::object& s) {
  return StringMap(s.if_contains("matchLabels")).empty() &&
         SizeOf(s.if_contains("matchExpressions")) == 0;
}

// The template's labels must be selected by the selector.
void SelectorMatchesTemplate(const json::value* selector, const json::value* labels,
                             const std::string& labels_path, Causes* out) {
  auto sel = SelectorOf(*selector);
  if (sel.ok() && !sel->Matches(StringMap(labels))) {
    Invalid(out, labels_path, GoMap(StringMap(labels)),
            "`selector` does not match template `labels`");
  }
}

// An int-or-percent (maxSurge, maxUnavailable, minAvailable): a non-negative number or
// "<digits>%", not more than 100% when `cap100`.
void IntOrPercent(const json::value* v, const std::string& path, bool cap100, Causes* out) {
  if (v == nullptr || v->is_null()) return;
  if (v->is_int64()) {
    if (v->as_int64() < 0) {
      Invalid(out, path, std::to_string(v->as_int64()), "must be greater than or equal to 0");
    }
    return;
  }
  if (!v->is_string()) return;
  std::string_view s = v->as_string();
  bool ok = s.size() >= 2 && s.back() == '%' &&
            s.substr(0, s.size() - 1).find_first_not_of("0123456789") == std::string_view::npos;
  if (!ok) {
    InvalidString(out, path, s,
                  api::RegexError("a valid percent string must be a numeric string followed by "
                                  "an ending '%'",
                                  "[0-9]+%", {"1%", "93%"}));
    return;
  }
  if (cap100 && std::stoll(std::string(s.substr(0, std::min<size_t>(s.size() - 1, 18)))) > 100) {
    InvalidString(out, path, s, "must not be greater than 100%");
  }
}

// The number an int-or-percent stands for (a percentage as its number).
int64_t IntOrPercentValue(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (!v->is_string()) return 0;
  std::string_view s = v->as_string();
  if (s.empty() || s.back() != '%') return 0;
  s.remove_suffix(1);
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return 0;
  }
  return std::stoll(std::string(s));
}

void DeploymentStrategy(const json::object& spec, Causes* out) {
  const auto* type = At(spec, {"strategy", "type"});
  NotSupported(type, "spec.strategy.type", {"Recreate", "RollingUpdate"}, out);
  const auto* ru = ObjectAt(spec, {"strategy", "rollingUpdate"});
  if (type && *type == "Recreate" && ru != nullptr) {
    Forbidden(out, "spec.strategy.rollingUpdate",
              "may not be specified when strategy `type` is 'Recreate'");
  }
  if (ru == nullptr) return;
  const std::string base = "spec.strategy.rollingUpdate";
  const auto* mu = ru->if_contains("maxUnavailable");
  const auto* ms = ru->if_contains("maxSurge");
  IntOrPercent(mu, base + ".maxUnavailable", false, out);
  IntOrPercent(ms, base + ".maxSurge", false, out);
  if (mu != nullptr && IntOrPercentValue(mu) == 0 && IntOrPercentValue(ms) == 0) {
    Invalid(out, base + ".maxUnavailable", ValueText(*mu), "may not be 0 when `maxSurge` is 0");
  }
  IntOrPercent(mu, base + ".maxUnavailable", true, out);
}

void DaemonSetStrategy(const json::object& spec, Causes* out) {
  const auto* strategy = ObjectAt(spec, {"updateStrategy"});
  if (strategy == nullptr) return;
  std::string type = Str(*strategy, "type");
  if (type == "OnDelete") return;
  if (type != "RollingUpdate") {
    out->emplace_back("spec.updateStrategy", "Unsupported value: " + json::serialize(*strategy) +
                                                 ": supported values: \"RollingUpdate\", "
                                                 "\"OnDelete\"");
    return;
  }
  const auto* ru = AsObject(strategy->if_contains("rollingUpdate"));
  const std::string base = "spec.updateStrategy.rollingUpdate";
  if (ru == nullptr) {
    Required(out, base);
    return;
  }
  const auto* mu = ru->if_contains("maxUnavailable");
  const auto* ms = ru->if_contains("maxSurge");
  IntOrPercent(mu, base + ".maxUnavailable", false, out);
  IntOrPercent(ms, base + ".maxSurge", false, out);
  IntOrPercent(mu, base + ".maxUnavailable", true, out);
  IntOrPercent(ms, base + ".maxSurge", true, out);
  bool unavailable = IntOrPercentValue(mu) != 0, surge = IntOrPercentValue(ms) != 0;
  if (unavailable && surge) {
    Invalid(out, base + ".maxSurge", ValueText(ms),
            "may not be set when maxUnavailable is non-zero");
  } else if (!unavailable && !surge) {
    Required(out, base + ".maxUnavailable", "cannot be 0 when maxSurge is 0");
  }
}

void StatefulSetSpec(const json::object& spec, Causes* out) {
  std::string pmp = Str(spec, "podManagementPolicy");
  if (Has(spec, "podManagementPolicy") && pmp != "OrderedReady" && pmp != "Parallel") {
    InvalidString(out, "spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'");
  }
  if (const auto* strategy = ObjectAt(spec, {"updateStrategy"})) {
    std::string type = Str(*strategy, "type");
    if (type == "OnDelete") {
      if (Has(*strategy, "rollingUpdate")) {
        Invalid(out, "spec.updateStrategy.rollingUpdate",
                json::serialize(strategy->at("rollingUpdate")),
                "only allowed for updateStrategy 'RollingUpdate'");
      }
    } else if (type == "RollingUpdate") {
      if (const auto* ru = AsObject(strategy->if_contains("rollingUpdate"))) {
        NonNegative(*ru, "partition", "spec.updateStrategy.rollingUpdate.partition", out);
        const auto* mu = ru->if_contains("maxUnavailable");
        IntOrPercent(mu, "spec.updateStrategy.rollingUpdate.maxUnavailable", true, out);
        if (mu != nullptr && !mu->is_null() && IntOrPercentValue(mu) == 0) {
          Invalid(out, "spec.updateStrategy.rollingUpdate.maxUnavailable", ValueText(*mu),
                  "must be greater than 0");
        }
      }
    } else {
      Invalid(out, "spec.updateStrategy", json::serialize(*strategy),
              "must be 'RollingUpdate' or 'OnDelete'");
    }
  }
  if (const auto* policy = ObjectAt(spec, {"persistentVolumeClaimRetentionPolicy"})) {
    for (const char* f : {"whenDeleted", "whenScaled"}) {
      NotSupported(policy->if_contains(f),
                   Child("spec.persistentVolumeClaimRetentionPolicy", f), {"Retain", "Delete"},
                   out);
    }
  }
  if (const auto* ordinals = ObjectAt(spec, {"ordinals"})) {
    NonNegative(*ordinals, "start", "spec.ordinals.start", out);
  }
}

// StatefulSet spec fields that may change.
void StatefulSetUpdate(const json::object& spec, const json::object& old_spec, Causes* out) {
  json::object a = old_spec, b = spec;
  for (const char* f : {"replicas", "ordinals", "template", "updateStrategy",
                        "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds"}) {
    a.erase(f);
    b.erase(f);
  }
  if (a != b) {
    Forbidden(out, "spec",
              "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
              "'template', 'updateStrategy', 'revisionHistoryLimit', "
              "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden");
  }
}

void TemplateForControllers(const Check& c, const json::object& spec) {
  const auto* tspec = ObjectAt(spec, {"template", "spec"});
  if (tspec == nullptr) return;
  const std::string base = "spec.template.spec";
  NotSupported(tspec->if_contains("restartPolicy"), base + ".restartPolicy", {"Always"}, c.out);
  if (!Has(*tspec, "activeDeadlineSeconds")) return;
  const std::string& k = c.r.kind;
  std::string owner = k == "Deployment" ? "ReplicaSet" : k;
  Forbidden(c.out, base + ".activeDeadlineSeconds",
            "activeDeadlineSeconds in " + owner + " is not Supported");
}

void TemplateMetadata(const json::object& tmpl_parent, const std::string& base, Causes* out) {
  LabelMap(At(tmpl_parent, {"template", "metadata", "labels"}), base + ".metadata.labels", out);
  for (const auto& e : api::ValidateAnnotations(
           StringMap(At(tmpl_parent, {"template", "metadata", "annotations"})))) {
    out->emplace_back(base + ".metadata.annotations", e.Body());
  }
}

// Job spec fields (a Job's spec at "spec", a CronJob's job template at
// "spec.jobTemplate.spec").
void JobSpec(const json::object& spec, const std::string& base, Causes* out) {
  for (const char* f : {"parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                        "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"}) {
    NonNegative(spec, f, Child(base, f), out);
  }
  if (Has(spec, "maxFailedIndexes") && !Has(spec, "backoffLimitPerIndex")) {
    Required(out, base + ".backoffLimitPerIndex", "when maxFailedIndexes is specified");
  }
  const auto* mode = spec.if_contains("completionMode");
  NotSupported(mode, base + ".completionMode", {"NonIndexed", "Indexed"}, out);
  bool indexed = mode != nullptr && *mode == "Indexed";
  if (indexed) {
    if (!Has(spec, "completions")) {
      Required(out, base + ".completions", "when completion mode is Indexed");
    }
    const auto* par = spec.if_contains("parallelism");
    if (par != nullptr && par->is_int64() && par->as_int64() > 100000) {
      Invalid(out, base + ".parallelism", std::to_string(par->as_int64()),
              "must be less than or equal to 100000 when completion mode is Indexed");
    }
  } else {
    for (const char* f : {"backoffLimitPerIndex", "maxFailedIndexes"}) {
      const auto* v = spec.if_contains(f);
      if (v != nullptr && v->is_int64()) {
        Invalid(out, Child(base, f), std::to_string(v->as_int64()),
                "requires indexed completion mode");
      }
    }
  }
  const auto* prp = spec.if_contains("podReplacementPolicy");
  if (Has(spec, "podFailurePolicy")) {
    NotSupported(prp, base + ".podReplacementPolicy", {"Failed"}, out);
  } else {
    NotSupported(prp, base + ".podReplacementPolicy", {"Failed", "TerminatingOrFailed"}, out);
  }
  const std::string rp_path = base + ".template.spec.restartPolicy";
  std::string rp = Str(At(spec, {"template", "spec", "restartPolicy"}));
  if (rp.empty() || rp == "Always") {
    Required(out, rp_path, "valid values: \"OnFailure\", \"Never\"");
  } else if (rp != "OnFailure" && rp != "Never") {
    NotSupportedValue(out, rp_path, rp, {"OnFailure", "Never"});
  } else if (Has(spec, "podFailurePolicy") && rp != "Never") {
    InvalidString(out, rp_path, rp, "only \"Never\" is supported when podFailurePolicy is "
                                    "specified");
  }
  TemplateMetadata(spec, base + ".template", out);
}

// Scheduling directives of a suspended Job that has not started may change.
json::value MutableSchedulingScrubbed(const json::value* tmpl) {
  json::value t = tmpl != nullptr ? *tmpl : json::value(nullptr);
  auto* o = t.if_object();
  if (o == nullptr) return t;
  if (auto* m = o->if_contains("metadata"); m && m->is_object()) {
    m->as_object().erase("labels");
    m->as_object().erase("annotations");
  }
  if (auto* s = o->if_contains("spec"); s && s->is_object()) {
    auto& so = s->as_object();
    so.erase("nodeSelector");
    so.erase("tolerations");
    so.erase("schedulingGates");
    if (auto* aff = so.if_contains("affinity"); aff && aff->is_object()) {
      aff->as_object().erase("nodeAffinity");
      if (aff->as_object().empty()) so.erase("affinity");
    }
  }
  return t;
}

}  // namespace

void Workload(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  const std::string& kind = c.r.kind;
  const json::value* selector = spec->if_contains("selector");
  const json::value* labels = At(*spec, {"template", "metadata", "labels"});
  TemplateMetadata(*spec, "spec.template", c.out);
  TemplateForControllers(c, *spec);
  for (const char* f : {"replicas", "revisionHistoryLimit", "minReadySeconds"}) {
    NonNegative(*spec, f, Child("spec", f), c.out);
  }
  if (kind == "ReplicationController") {
    // A plain map; defaulted from the template's labels.
    auto sel = StringMap(selector);
    if (sel.empty()) Required(c.out, "spec.selector");
    LabelMap(selector, "spec.selector", c.out);
    auto tl = StringMap(labels);
    for (const auto& [k, v] : sel) {
      auto it = tl.find(k);
      if (it == tl.end() || it->second != v) {
        Invalid(c.out, "spec.template.metadata.labels", GoMap(tl),
                "`selector` does not match template `labels`");
        break;
      }
    }
    return;
  }
  if (selector != nullptr && selector->is_object()) {
    LabelSelector(selector, "spec.selector", c.out);
    if (EmptySelector(selector->as_object())) {
      std::string what = kind == "StatefulSet" ? "statefulset"
                         : kind == "DaemonSet" ? "daemonset"
                                               : "deployment";
      Invalid(c.out, "spec.selector",
              kind == "Deployment" ? "\"null\"" : GoLabelSelector(*selector),
              "empty selector is invalid for " + what);
    } else {
      SelectorMatchesTemplate(selector, labels, "spec.template.metadata.labels", c.out);
    }
  }
  if (kind == "Deployment") {
    DeploymentStrategy(*spec, c.out);
    NonNegative(*spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds", c.out);
    const auto* pds = spec->if_contains("progressDeadlineSeconds");
    const auto* mrs = spec->if_contains("minReadySeconds");
    if (pds != nullptr && pds->is_int64() && pds->as_int64() <= (mrs && mrs->is_int64()
                                                                     ? mrs->as_int64() : 0)) {
      Invalid(c.out, "spec.progressDeadlineSeconds", std::to_string(pds->as_int64()),
              "must be greater than minReadySeconds");
    }
  }
  if (kind == "DaemonSet") DaemonSetStrategy(*spec, c.out);
  if (kind == "StatefulSet") StatefulSetSpec(*spec, c.out);
  if (c.old == nullptr) return;
  const auto* old_spec = ObjectAt(*c.old, {"spec"});
  if (old_spec == nullptr) return;
  if (kind == "StatefulSet") {
    StatefulSetUpdate(*spec, *old_spec, c.out);
  } else if (const auto* was = old_spec->if_contains("selector"); was && selector) {
    if (*was != *selector) {
      Invalid(c.out, "spec.selector", GoLabelSelector(*selector), "field is immutable");
    }
  }
}

void ControllerRevision(const Check& c) {
  if (!Has(c.obj, "data")) Required(c.out, "data", "data is mandatory");
  NonNegative(c.obj, "revision", "revision", c.out);
  if (c.old != nullptr) Immutable(c.obj.if_contains("data"), c.old->if_contains("data"), "data",
                                  c.out);
}

void Job(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  JobSpec(*spec, "spec", c.out);
  const auto* selector = spec->if_contains("selector");
  if (selector == nullptr || selector->is_null()) {
    Required(c.out, "spec.selector");
  } else {
    LabelSelector(selector, "spec.selector", c.out);
    SelectorMatchesTemplate(selector, At(*spec, {"template", "metadata", "labels"}),
                            "spec.template.metadata.labels", c.out);
  }
  const auto* completions = spec->if_contains("completions");
  std::string name = Str(At(c.obj, {"metadata", "name"}));
  if (Str(*spec, "completionMode") == "Indexed" && completions && completions->is_int64() &&
      completions->as_int64() > 0) {
    std::string host = name + "-" + std::to_string(completions->as_int64() - 1);
    if (!api::IsDNS1123Label(host).empty()) {
      InvalidString(c.out, "metadata.name", name,
                    "will not able to create pod with invalid DNS label: " + host);
    }
  }
  if (c.old == nullptr) return;
  const auto* old_spec = ObjectAt(*c.old, {"spec"});
  if (old_spec == nullptr) return;
  // Completions of an Indexed Job may change together with parallelism.
  bool indexed = Str(*spec, "completionMode") == "Indexed";
  const auto* was = old_spec->if_contains("completions");
  if (!indexed) {
    Immutable(completions, was, "spec.completions", c.out);
  } else if (!SameValue(completions, was) && completions != nullptr && !completions->is_null() &&
             !SameValue(completions, spec->if_contains("parallelism"))) {
    Invalid(c.out, "spec.completions", ValueText(*completions),
            "can only be modified in tandem with spec.parallelism");
  }
  if (const auto* was = old_spec->if_contains("selector");
      !SameValue(selector, was) && selector != nullptr) {
    Invalid(c.out, "spec.selector", GoLabelSelector(*selector), "field is immutable");
  } else if (!SameValue(selector, was)) {
    Invalid(c.out, "spec.selector", "null", "field is immutable");
  }
  const auto* tmpl = spec->if_contains("template");
  const auto* old_tmpl = old_spec->if_contains("template");
  const auto* suspended = old_spec->if_contains("suspend");
  const auto* old_status = ObjectAt(*c.old, {"status"});
  bool mutable_scheduling = suspended != nullptr && suspended->is_bool() &&
                            suspended->as_bool() &&
                            (old_status == nullptr || !Has(*old_status, "startTime"));
  if (mutable_scheduling) {
    json::value a = MutableSchedulingScrubbed(old_tmpl), b = MutableSchedulingScrubbed(tmpl);
    if (a != b) Invalid(c.out, "spec.template", ValueText(tmpl), "field is immutable");
  } else {
    Immutable(tmpl, old_tmpl, "spec.template", c.out);
  }
  for (const char* f : {"completionMode", "podFailurePolicy", "backoffLimitPerIndex"}) {
    Immutable(spec->if_contains(f), old_spec->if_contains(f), Child("spec", f), c.out);
  }
}

void CronJob(const Check& c) {
  const auto* spec = ObjectAt(c.obj, {"spec"});
  if (spec == nullptr) return;
  std::string schedule = Str(*spec, "schedule");
  const auto* tz = spec->if_contains("timeZone");
  bool has_tz = tz != nullptr && tz->is_string();
  if (schedule.empty()) {
    Required(c.out, "spec.schedule");
  } else {
    if (auto parsed = ParseCronSchedule(schedule); !parsed.ok()) {
      InvalidString(c.out, "spec.schedule", schedule, parsed.status().message());
    }
    bool tz_in_schedule = schedule.find("TZ") != std::string::npos;
    bool allow_tz = c.old != nullptr &&
                    Str(At(*c.old, {"spec", "schedule"})).find("TZ") != std::string::npos;
    if (allow_tz && tz_in_schedule && has_tz) {
      InvalidString(c.out, "spec.schedule", schedule,
                    "cannot use both timeZone field and TZ or CRON_TZ in schedule");
    } else if (!allow_tz && tz_in_schedule) {
      InvalidString(c.out, "spec.schedule", schedule,
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
    }
  }
  NonNegative(*spec, "startingDeadlineSeconds", "spec.startingDeadlineSeconds", c.out);
  if (has_tz && (c.old == nullptr ||
                 !SameValue(tz, At(*c.old, {"spec", "timeZone"})))) {
    std::string zone(tz->as_string());
    bool named = !zone.empty();
    if (zone.empty()) {
      InvalidString(c.out, "spec.timeZone", zone, "timeZone must be nil or non-empty string");
    }
    for (size_t start = 0; named && start <= zone.size();) {
      size_t end = zone.find('/', start);
      std::string part = zone.substr(start, end == std::string::npos ? end : end - start);
      bool ok = !part.empty() && part.size() <= 14 && part != "." && part != ".." &&
                part[0] != '-' &&
                part.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       ".-_0123456789+") == std::string::npos;
      if (!ok) {
        InvalidString(c.out, "spec.timeZone", zone, "unknown time zone " + zone);
        named = false;
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
    if (named) {
      if (zone == "Local" || zone == "local" || zone == "LOCAL") {
        InvalidString(c.out, "spec.timeZone", zone,
                      "timeZone must be an explicit time zone as defined in "
                      "https://www.iana.org/time-zones");
      }
      if (std::string err = LoadLocationError(zone); !err.empty()) {
        InvalidString(c.out, "spec.timeZone", zone, err);
      }
    }
  }
  const auto* cp = spec->if_contains("concurrencyPolicy");
  if (Str(cp).empty()) {
    Required(c.out, "spec.concurrencyPolicy");
  } else {
    NotSupported(cp, "spec.concurrencyPolicy", {"Allow", "Forbid", "Replace"}, c.out);
  }
  for (const char* f : {"successfulJobsHistoryLimit", "failedJobsHistoryLimit"}) {
    NonNegative(*spec, f, Child("spec", f), c.out);
  }
  if (const auto* js = ObjectAt(*spec, {"jobTemplate", "spec"})) {
    JobSpec(*js, "spec.jobTemplate.spec", c.out);
    if (Has(*js, "selector")) {
      Invalid(c.out, "spec.jobTemplate.spec.selector", GoLabelSelector(js->at("selector")),
              "`selector` will be auto-generated");
    }
    const auto* manual = js->if_contains("manualSelector");
    if (manual != nullptr && manual->is_bool() && manual->as_bool()) {
      c.out->emplace_back("spec.jobTemplate.spec.manualSelector",
                          "Unsupported value: true: supported values: \"nil\", \"false\"");
    }
  }
  std::string name = Str(At(c.obj, {"metadata", "name"}));
  if (c.old == nullptr && name.size() > 52) {
    InvalidString(c.out, "metadata.name", name, "must be no more than 52 characters");
  }
}

}  // namespace keelson::apiserver::validation
