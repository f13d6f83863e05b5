#include "scheduler/framework/types.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <boost/json.hpp>

#include "api/quantity.h"

namespace keelson::scheduler {

namespace json = boost::json;

// --- resources ------------------------------------------------------------------------------

int64_t Resources::Scalar(std::string_view name) const {
  for (const auto& [n, v] : scalars) {
    if (n == name) return v;
  }
  return 0;
}

void Resources::AddScalar(std::string_view name, int64_t value) {
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  if (it != scalars.end() && it->first == name) {
    it->second += value;
  } else {
    scalars.emplace(it, std::string(name), value);
  }
}

void Resources::SetScalarMax(std::string_view name, int64_t value) {
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  if (it != scalars.end() && it->first == name) {
    it->second = std::max(it->second, value);
  } else {
    scalars.emplace(it, std::string(name), value);
  }
}

void Resources::Add(const Resources& r) {
  milli_cpu += r.milli_cpu;
  memory += r.memory;
  ephemeral_storage += r.ephemeral_storage;
  allowed_pods += r.allowed_pods;
  for (const auto& [n, v] : r.scalars) AddScalar(n, v);
}

void Resources::Subtract(const Resources& r) {
  milli_cpu -= r.milli_cpu;
  memory -= r.memory;
  ephemeral_storage -= r.ephemeral_storage;
  allowed_pods -= r.allowed_pods;
  for (const auto& [n, v] : r.scalars) AddScalar(n, -v);
}

void Resources::SetMax(const Resources& r) {
  milli_cpu = std::max(milli_cpu, r.milli_cpu);
  memory = std::max(memory, r.memory);
  ephemeral_storage = std::max(ephemeral_storage, r.ephemeral_storage);
  for (const auto& [n, v] : r.scalars) SetScalarMax(n, v);
}

bool Resources::IsZero() const {
  if (milli_cpu != 0 || memory != 0 || ephemeral_storage != 0) return false;
  for (const auto& s : scalars) {
    if (s.second != 0) return false;
  }
  return true;
}

bool IsScalarResourceName(std::string_view name) {
  if (name.starts_with("hugepages-") || name.starts_with("attachable-volumes-")) return true;
  auto slash = name.find('/');
  if (slash == std::string_view::npos) return false;
  // Extended resources (outside kubernetes.io) and prefixed native ones (kubernetes.io/...)
  // are both scalar; "requests."-prefixed names are quota names, not resources.
  return !name.starts_with("requests.");
}

namespace {

std::string_view Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

const json::array* Arr(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

std::optional<int64_t> Int(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return std::nullopt;
}

bool Bool(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

// A quantity value: 10^9 nanos per unit. Rounded up as upstream's Value()/MilliValue().
std::optional<__int128> Nanos(const json::value& v) {
  if (v.is_string()) return api::QuantityNanos(v.as_string());
  if (v.is_int64()) return static_cast<__int128>(v.as_int64()) * 1000000000;
  if (v.is_uint64()) return static_cast<__int128>(v.as_uint64()) * 1000000000;
  if (v.is_double()) return static_cast<__int128>(v.as_double() * 1e9);
  return std::nullopt;
}

int64_t CeilDiv(__int128 n, int64_t d) {
  __int128 q = n / d;
  if (n % d > 0) ++q;
  return static_cast<int64_t>(q);
}

// A ResourceList into Resources; `pods` counts into allowed_pods.
Resources ResourceList(const json::object* list) {
  Resources r;
  if (!list) return r;
  for (const auto& [k, v] : *list) {
    auto n = Nanos(v);
    if (!n) continue;
    std::string_view name(k.data(), k.size());
    if (name == "cpu") {
      r.milli_cpu += CeilDiv(*n, 1000000);
    } else if (name == "memory") {
      r.memory += CeilDiv(*n, 1000000000);
    } else if (name == "ephemeral-storage") {
      r.ephemeral_storage += CeilDiv(*n, 1000000000);
    } else if (name == "pods") {
      r.allowed_pods += CeilDiv(*n, 1000000000);
    } else if (IsScalarResourceName(name)) {
      r.AddScalar(name, CeilDiv(*n, 1000000000));
    }
  }
  return r;
}

TaintEffect EffectOf(std::string_view e) {
  if (e == "NoSchedule") return TaintEffect::kNoSchedule;
  if (e == "PreferNoSchedule") return TaintEffect::kPreferNoSchedule;
  if (e == "NoExecute") return TaintEffect::kNoExecute;
  return TaintEffect::kNone;
}

NodeSelectorRequirement::Op OpOf(std::string_view op) {
  using Op = NodeSelectorRequirement::Op;
  if (op == "In") return Op::kIn;
  if (op == "NotIn") return Op::kNotIn;
  if (op == "Exists") return Op::kExists;
  if (op == "DoesNotExist") return Op::kDoesNotExist;
  if (op == "Gt") return Op::kGt;
  if (op == "Lt") return Op::kLt;
  return Op::kInvalid;
}

std::vector<NodeSelectorRequirement> Requirements(const json::array* a) {
  std::vector<NodeSelectorRequirement> out;
  if (!a) return out;
  for (const auto& e : *a) {
    if (!e.is_object()) continue;
    NodeSelectorRequirement r;
    r.key = Str(e.as_object(), "key");
    r.op = OpOf(Str(e.as_object(), "operator"));
    if (const auto* vs = Arr(e.as_object(), "values")) {
      for (const auto& v : *vs) {
        if (v.is_string()) r.values.emplace_back(v.as_string());
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

NodeSelectorTerm TermOf(const json::object& t) {
  NodeSelectorTerm term;
  term.match_expressions = Requirements(Arr(t, "matchExpressions"));
  term.match_fields = Requirements(Arr(t, "matchFields"));
  return term;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool RequirementMatches(const NodeSelectorRequirement& r, const Labels& labels) {
  using Op = NodeSelectorRequirement::Op;
  auto it = labels.find(r.key);
  bool has = it != labels.end();
  switch (r.op) {
    case Op::kIn:
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    case Op::kNotIn:
      return !has || std::find(r.values.begin(), r.values.end(), it->second) == r.values.end();
    case Op::kExists:
      return has;
    case Op::kDoesNotExist:
      return !has;
    case Op::kGt:
    case Op::kLt: {
      if (!has || r.values.size() != 1) return false;
      auto want = ParseInt(r.values[0]);
      auto got = ParseInt(it->second);
      if (!want || !got) return false;
      return r.op == Op::kGt ? *got > *want : *got < *want;
    }
    case Op::kInvalid:
      return false;
  }
  return false;
}

bool FieldMatches(const NodeSelectorRequirement& r, const NodeView& node) {
  using Op = NodeSelectorRequirement::Op;
  if (r.key != "metadata.name") return false;
  bool in = std::find(r.values.begin(), r.values.end(), node.name) != r.values.end();
  if (r.op == Op::kIn) return r.values.size() == 1 && in;
  if (r.op == Op::kNotIn) return r.values.size() == 1 && !in;
  return false;
}

}  // namespace

// --- taints and selectors -------------------------------------------------------------------

bool Toleration::Tolerates(const Taint& taint) const {
  if (effect != TaintEffect::kNone && effect != taint.effect) return false;
  if (!key.empty() && key != taint.key) return false;
  if (op_exists) return true;
  return value == taint.value;
}

bool TolerationsTolerate(const std::vector<Toleration>& tolerations, const Taint& taint) {
  for (const auto& t : tolerations) {
    if (t.Tolerates(taint)) return true;
  }
  return false;
}

bool TermMatches(const NodeSelectorTerm& term, const NodeView& node) {
  if (term.match_expressions.empty() && term.match_fields.empty()) return false;
  for (const auto& r : term.match_expressions) {
    if (!RequirementMatches(r, node.labels)) return false;
  }
  for (const auto& r : term.match_fields) {
    if (!FieldMatches(r, node)) return false;
  }
  return true;
}

bool NodeSelector::Matches(const NodeView& node) const {
  for (const auto& t : terms) {
    if (TermMatches(t, node)) return true;
  }
  return false;
}

bool AffinityTerm::Matches(const PodInfo& pod, const Labels* ns_labels) const {
  if (namespaces.count(pod.namespace_) == 0) {
    if (!namespace_selector || ns_labels == nullptr || !namespace_selector->Matches(*ns_labels)) {
      return false;
    }
  }
  return selector.Matches(pod.labels);
}

bool HostPortsConflict(const HostPort& a, const HostPort& b) {
  if (a.port != b.port || a.protocol != b.protocol) return false;
  return a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0";
}

Labels StringMapFromJson(const json::value* v) {
  Labels out;
  if (!v || !v->is_object()) return out;
  for (const auto& [k, val] : v->as_object()) {
    if (val.is_string()) out.emplace(std::string(k), std::string(val.as_string()));
  }
  return out;
}

Result<api::LabelSelector> LabelSelectorFromJson(const json::value* selector,
                                                 bool nil_is_nothing) {
  if (!selector || selector->is_null()) {
    return nil_is_nothing ? api::LabelSelector::Nothing() : api::LabelSelector();
  }
  if (!selector->is_object()) return InvalidArgumentError("a label selector must be an object");
  const auto& s = selector->as_object();
  std::vector<api::MatchExpression> exprs;
  if (const auto* me = Arr(s, "matchExpressions")) {
    for (const auto& e : *me) {
      if (!e.is_object()) return InvalidArgumentError("a match expression must be an object");
      api::MatchExpression x;
      x.key = Str(e.as_object(), "key");
      x.op = Str(e.as_object(), "operator");
      if (const auto* vs = Arr(e.as_object(), "values")) {
        for (const auto& v : *vs) {
          if (v.is_string()) x.values.emplace_back(v.as_string());
        }
      }
      exprs.push_back(std::move(x));
    }
  }
  return api::LabelSelector::FromMatch(StringMapFromJson(s.if_contains("matchLabels")), exprs);
}

int64_t ParseTimeSeconds(std::string_view t) {
  if (t.size() < 19) return 0;
  std::tm tm{};
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0) return 0;
  int64_t secs = timegm(&tm);
  size_t i = 19;
  while (i < t.size() && (t[i] == '.' || (t[i] >= '0' && t[i] <= '9'))) ++i;
  if (i < t.size() && (t[i] == '+' || t[i] == '-') && i + 6 <= t.size()) {
    int off = num(i + 1, 2) * 3600 + num(i + 4, 2) * 60;
    secs += t[i] == '+' ? -off : off;
  }
  return secs;
}

bool MoreImportantPod(const PodInfo& a, const PodInfo& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  // Earlier start time first; a pod not started yet counts as starting now (the latest).
  int64_t sa = a.start_time == 0 ? INT64_MAX : a.start_time;
  int64_t sb = b.start_time == 0 ? INT64_MAX : b.start_time;
  return sa < sb;
}

// --- pods -----------------------------------------------------------------------------------

namespace {

std::string NormalizedImage(std::string_view image) {
  std::string name(image);
  auto colon = name.rfind(':');
  auto slash = name.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    name += ":latest";
  }
  return name;
}

Result<AffinityTerm> AffinityTermOf(const json::object& t, std::string_view pod_ns) {
  AffinityTerm term;
  auto sel = LabelSelectorFromJson(t.if_contains("labelSelector"), /*nil_is_nothing=*/true);
  if (!sel.ok()) return sel.status();
  term.selector = std::move(*sel);
  term.topology_key = Str(t, "topologyKey");
  const auto* nss = Arr(t, "namespaces");
  const auto* ns_sel = t.if_contains("namespaceSelector");
  bool has_ns_sel = ns_sel && !ns_sel->is_null();
  if ((!nss || nss->empty()) && !has_ns_sel) {
    term.namespaces.emplace(pod_ns);
  } else if (nss) {
    for (const auto& n : *nss) {
      if (n.is_string()) term.namespaces.emplace(n.as_string());
    }
  }
  if (has_ns_sel) {
    auto s = LabelSelectorFromJson(ns_sel, true);
    if (!s.ok()) return s.status();
    term.namespace_selector = std::move(*s);
  }
  return term;
}

void AffinityTerms(const json::object* aff, std::string_view pod_ns, std::string* err,
                   std::vector<AffinityTerm>* required,
                   std::vector<WeightedAffinityTerm>* preferred) {
  if (!aff) return;
  if (const auto* req = Arr(*aff, "requiredDuringSchedulingIgnoredDuringExecution")) {
    for (const auto& t : *req) {
      if (!t.is_object()) continue;
      auto term = AffinityTermOf(t.as_object(), pod_ns);
      if (!term.ok()) {
        if (err->empty()) *err = term.status().message();
        continue;
      }
      required->push_back(std::move(*term));
    }
  }
  if (const auto* pref = Arr(*aff, "preferredDuringSchedulingIgnoredDuringExecution")) {
    for (const auto& w : *pref) {
      if (!w.is_object()) continue;
      const auto* t = Obj(w.as_object(), "podAffinityTerm");
      if (!t) continue;
      auto term = AffinityTermOf(*t, pod_ns);
      if (!term.ok()) {
        if (err->empty()) *err = term.status().message();
        continue;
      }
      preferred->push_back(
          {std::move(*term), static_cast<int32_t>(Int(w.as_object(), "weight").value_or(0))});
    }
  }
}

// Container requests, with the non-zero defaults when `non_zero` (cpu and memory only).
Resources ContainerRequests(const json::object& c, bool non_zero) {
  const json::object* res = Obj(c, "resources");
  const json::object* req = res ? Obj(*res, "requests") : nullptr;
  Resources r = ResourceList(req);
  if (non_zero) {
    if (!req || !req->contains("cpu")) r.milli_cpu = kDefaultMilliCpuRequest;
    if (!req || !req->contains("memory")) r.memory = kDefaultMemoryRequest;
  }
  return r;
}

// Upstream's resourcehelper.PodRequests: the containers' sum, sidecars (restartable init
// containers) added to it, the largest init container (plus the sidecars started before it),
// then the overhead.
Resources PodRequests(const json::object& spec, bool non_zero) {
  Resources reqs;
  if (const auto* cs = Arr(spec, "containers")) {
    for (const auto& c : *cs) {
      if (c.is_object()) reqs.Add(ContainerRequests(c.as_object(), non_zero));
    }
  }
  Resources restartable;
  Resources init_max;
  if (const auto* ics = Arr(spec, "initContainers")) {
    for (const auto& c : *ics) {
      if (!c.is_object()) continue;
      Resources cr = ContainerRequests(c.as_object(), non_zero);
      if (Str(c.as_object(), "restartPolicy") == "Always") {
        reqs.Add(cr);
        restartable.Add(cr);
        cr = restartable;
      } else {
        cr.Add(restartable);
      }
      init_max.SetMax(cr);
    }
  }
  reqs.SetMax(init_max);
  reqs.Add(ResourceList(Obj(spec, "overhead")));
  reqs.allowed_pods = 0;
  return reqs;
}

std::vector<Toleration> TolerationsOf(const json::array* a) {
  std::vector<Toleration> out;
  if (!a) return out;
  for (const auto& e : *a) {
    if (!e.is_object()) continue;
    const auto& o = e.as_object();
    Toleration t;
    t.key = Str(o, "key");
    t.op_exists = Str(o, "operator") == "Exists";
    t.value = Str(o, "value");
    t.effect = EffectOf(Str(o, "effect"));
    out.push_back(std::move(t));
  }
  return out;
}

void AddPorts(const json::array* containers, bool only_restartable, std::vector<HostPort>* out) {
  if (!containers) return;
  for (const auto& c : *containers) {
    if (!c.is_object()) continue;
    if (only_restartable && Str(c.as_object(), "restartPolicy") != "Always") continue;
    const auto* ports = Arr(c.as_object(), "ports");
    if (!ports) continue;
    for (const auto& p : *ports) {
      if (!p.is_object()) continue;
      auto hp = Int(p.as_object(), "hostPort").value_or(0);
      if (hp <= 0) continue;
      HostPort port;
      port.port = static_cast<int32_t>(hp);
      port.ip = Str(p.as_object(), "hostIP");
      if (port.ip.empty()) port.ip = "0.0.0.0";
      port.protocol = Str(p.as_object(), "protocol");
      if (port.protocol.empty()) port.protocol = "TCP";
      out->push_back(std::move(port));
    }
  }
}

}  // namespace

PodInfoPtr MakePodInfo(ObjectPtr pod) {
  auto p = std::make_shared<PodInfo>();
  p->object = pod;
  const json::object& o = *pod;
  p->uid = api::GetUid(o);
  p->namespace_ = api::GetNamespace(o);
  p->name = api::GetName(o);
  p->labels = api::GetLabels(o);
  p->terminating = api::IsBeingDeleted(o);
  p->creation_time = ParseTimeSeconds(api::GetCreationTimestamp(o));
  static const json::object kEmpty;
  const json::object* spec_p = Obj(o, "spec");
  const json::object& spec = spec_p ? *spec_p : kEmpty;
  const json::object* status = Obj(o, "status");
  p->node_name = Str(spec, "nodeName");
  p->scheduler_name = Str(spec, "schedulerName");
  if (p->scheduler_name.empty()) p->scheduler_name = kDefaultSchedulerName;
  p->priority_class_name = Str(spec, "priorityClassName");
  if (auto pr = Int(spec, "priority")) {
    p->priority = static_cast<int32_t>(*pr);
    p->has_priority = true;
  }
  p->preempt_never = Str(spec, "preemptionPolicy") == "Never";
  if (status) {
    p->nominated_node_name = Str(*status, "nominatedNodeName");
    p->start_time = ParseTimeSeconds(Str(*status, "startTime"));
    auto phase = Str(*status, "phase");
    p->terminal = phase == "Succeeded" || phase == "Failed";
  }
  p->requests = PodRequests(spec, false);
  Resources nz = PodRequests(spec, true);
  p->non_zero_milli_cpu = nz.milli_cpu;
  p->non_zero_memory = nz.memory;

  AddPorts(Arr(spec, "initContainers"), true, &p->host_ports);
  AddPorts(Arr(spec, "containers"), false, &p->host_ports);
  p->tolerations = TolerationsOf(Arr(spec, "tolerations"));
  p->node_selector = StringMapFromJson(spec.if_contains("nodeSelector"));

  std::string err;
  if (const auto* aff = Obj(spec, "affinity")) {
    if (const auto* na = Obj(*aff, "nodeAffinity")) {
      if (const auto* req = Obj(*na, "requiredDuringSchedulingIgnoredDuringExecution")) {
        NodeSelector sel;
        if (const auto* terms = Arr(*req, "nodeSelectorTerms")) {
          for (const auto& t : *terms) {
            if (t.is_object()) sel.terms.push_back(TermOf(t.as_object()));
          }
        }
        p->required_node_affinity = std::move(sel);
      }
      if (const auto* pref = Arr(*na, "preferredDuringSchedulingIgnoredDuringExecution")) {
        for (const auto& w : *pref) {
          if (!w.is_object()) continue;
          const auto* t = Obj(w.as_object(), "preference");
          PreferredSchedulingTerm pt;
          pt.weight = static_cast<int32_t>(Int(w.as_object(), "weight").value_or(0));
          if (t) pt.term = TermOf(*t);
          p->preferred_node_affinity.push_back(std::move(pt));
        }
      }
    }
    AffinityTerms(Obj(*aff, "podAffinity"), p->namespace_, &err, &p->required_affinity,
                  &p->preferred_affinity);
    AffinityTerms(Obj(*aff, "podAntiAffinity"), p->namespace_, &err, &p->required_anti_affinity,
                  &p->preferred_anti_affinity);
  }

  if (const auto* tscs = Arr(spec, "topologySpreadConstraints")) {
    for (const auto& e : *tscs) {
      if (!e.is_object()) continue;
      const auto& c = e.as_object();
      TopologySpreadConstraint tsc;
      tsc.max_skew = static_cast<int32_t>(Int(c, "maxSkew").value_or(1));
      tsc.topology_key = Str(c, "topologyKey");
      tsc.do_not_schedule = Str(c, "whenUnsatisfiable") != "ScheduleAnyway";
      tsc.min_domains = static_cast<int32_t>(Int(c, "minDomains").value_or(1));
      tsc.node_affinity_policy_honor = Str(c, "nodeAffinityPolicy") != "Ignore";
      tsc.node_taints_policy_honor = Str(c, "nodeTaintsPolicy") == "Honor";
      // matchLabelKeys: the pod's values of those keys are ANDed into the selector.
      const json::value* sel_json = c.if_contains("labelSelector");
      json::value merged;
      if (const auto* keys = Arr(c, "matchLabelKeys"); keys && !keys->empty()) {
        merged = sel_json && sel_json->is_object() ? *sel_json : json::value(json::object());
        auto& mo = merged.as_object();
        if (!mo.contains("matchExpressions") || !mo["matchExpressions"].is_array()) {
          mo["matchExpressions"] = json::array();
        }
        for (const auto& k : *keys) {
          if (!k.is_string()) continue;
          auto it = p->labels.find(std::string_view(k.as_string()));
          if (it == p->labels.end()) continue;
          mo["matchExpressions"].as_array().push_back(json::object{
              {"key", it->first}, {"operator", "In"}, {"values", json::array{it->second}}});
        }
        sel_json = &merged;
      }
      auto sel = LabelSelectorFromJson(sel_json, /*nil_is_nothing=*/true);
      if (!sel.ok()) {
        if (err.empty()) err = sel.status().message();
        continue;
      }
      tsc.selector = std::move(*sel);
      p->spread_constraints.push_back(std::move(tsc));
    }
  }

  for (const char* list : {"initContainers", "containers"}) {
    if (const auto* cs = Arr(spec, list)) {
      for (const auto& c : *cs) {
        if (!c.is_object()) continue;
        auto img = Str(c.as_object(), "image");
        if (!img.empty()) p->images.push_back(NormalizedImage(img));
      }
    }
  }
  if (const auto* vols = Arr(spec, "volumes")) {
    for (const auto& v : *vols) {
      if (!v.is_object()) continue;
      if (const auto* pvc = Obj(v.as_object(), "persistentVolumeClaim")) {
        auto claim = Str(*pvc, "claimName");
        if (!claim.empty()) p->pvc_names.emplace_back(claim);
      } else if (v.as_object().contains("ephemeral")) {
        // A generic ephemeral volume's claim is named <pod>-<volume>.
        p->pvc_names.push_back(p->name + "-" + std::string(Str(v.as_object(), "name")));
      }
    }
  }
  if (const auto* gates = Arr(spec, "schedulingGates")) {
    for (const auto& g : *gates) {
      if (g.is_object()) p->scheduling_gates.emplace_back(Str(g.as_object(), "name"));
    }
  }
  p->parse_error = std::move(err);
  return p;
}

PodInfoPtr WithNodeName(const PodInfo& pod, std::string_view node_name) {
  auto p = std::make_shared<PodInfo>(pod);
  p->node_name = node_name;
  return p;
}

PodInfoPtr WithNominatedNodeName(const PodInfo& pod, std::string_view node_name) {
  auto p = std::make_shared<PodInfo>(pod);
  p->nominated_node_name = node_name;
  return p;
}

// --- nodes ----------------------------------------------------------------------------------

NodeViewPtr MakeNodeView(ObjectPtr node) {
  auto n = std::make_shared<NodeView>();
  n->object = node;
  const json::object& o = *node;
  n->name = api::GetName(o);
  n->uid = api::GetUid(o);
  n->labels = api::GetLabels(o);
  if (const auto* spec = Obj(o, "spec")) {
    n->unschedulable = Bool(*spec, "unschedulable");
    if (const auto* taints = Arr(*spec, "taints")) {
      for (const auto& t : *taints) {
        if (!t.is_object()) continue;
        Taint taint;
        taint.key = Str(t.as_object(), "key");
        taint.value = Str(t.as_object(), "value");
        taint.effect = EffectOf(Str(t.as_object(), "effect"));
        n->taints.push_back(std::move(taint));
      }
    }
  }
  if (const auto* status = Obj(o, "status")) {
    // The API server defaults allocatable to capacity; a node written without it is read the
    // same way here.
    const json::object* alloc = Obj(*status, "allocatable");
    if (!alloc || alloc->empty()) alloc = Obj(*status, "capacity");
    n->allocatable = ResourceList(alloc);
    if (const auto* images = Arr(*status, "images")) {
      for (const auto& img : *images) {
        if (!img.is_object()) continue;
        int64_t size = Int(img.as_object(), "sizeBytes").value_or(0);
        if (const auto* names = Arr(img.as_object(), "names")) {
          for (const auto& nm : *names) {
            if (nm.is_string()) n->images.push_back({NormalizedImage(nm.as_string()), size});
          }
        }
      }
      std::sort(n->images.begin(), n->images.end(),
                [](const ImageInfo& a, const ImageInfo& b) { return a.name < b.name; });
    }
  }
  return n;
}

const ImageInfo* NodeView::Image(std::string_view image) const {
  auto it = std::lower_bound(images.begin(), images.end(), image,
                             [](const ImageInfo& a, std::string_view n) { return a.name < n; });
  return it != images.end() && it->name == image ? &*it : nullptr;
}

// --- node info ------------------------------------------------------------------------------

const std::string& NodeInfo::Name() const {
  static const std::string kEmpty;
  return node ? node->name : kEmpty;
}

void NodeInfo::AddPod(PodInfoPtr pod) {
  requested.Add(pod->requests);
  non_zero_milli_cpu += pod->non_zero_milli_cpu;
  non_zero_memory += pod->non_zero_memory;
  for (const auto& hp : pod->host_ports) used_ports.push_back(hp);
  for (const auto& c : pod->pvc_names) ++pvc_ref_counts[pod->namespace_ + "/" + c];
  if (pod->HasAffinity()) pods_with_affinity.push_back(pod);
  if (pod->HasRequiredAntiAffinity()) pods_with_required_anti_affinity.push_back(pod);
  pods.push_back(std::move(pod));
}

namespace {
bool RemoveFrom(std::vector<PodInfoPtr>* v, std::string_view uid) {
  for (size_t i = 0; i < v->size(); ++i) {
    if ((*v)[i]->uid == uid) {
      (*v)[i] = std::move(v->back());
      v->pop_back();
      return true;
    }
  }
  return false;
}
}  // namespace

bool NodeInfo::RemovePod(std::string_view uid) {
  PodInfoPtr pod;
  for (const auto& p : pods) {
    if (p->uid == uid) {
      pod = p;
      break;
    }
  }
  if (!pod) return false;
  RemoveFrom(&pods, uid);
  RemoveFrom(&pods_with_affinity, uid);
  RemoveFrom(&pods_with_required_anti_affinity, uid);
  requested.Subtract(pod->requests);
  non_zero_milli_cpu -= pod->non_zero_milli_cpu;
  non_zero_memory -= pod->non_zero_memory;
  for (const auto& hp : pod->host_ports) {
    auto it = std::find(used_ports.begin(), used_ports.end(), hp);
    if (it != used_ports.end()) used_ports.erase(it);
  }
  for (const auto& c : pod->pvc_names) {
    auto it = pvc_ref_counts.find(pod->namespace_ + "/" + c);
    if (it != pvc_ref_counts.end() && --it->second <= 0) pvc_ref_counts.erase(it);
  }
  return true;
}

}  // namespace keelson::scheduler
