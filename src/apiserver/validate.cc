#include "apiserver/validate.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "api/defaults.h"
#include "api/validation.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using Causes = std::vector<std::pair<std::string, std::string>>;

void Required(const api::TypeDecl& t, const json::object& o, const std::string& path,
              Causes* out, int depth) {
  if (depth > 32) return;
  for (const auto& f : t.fields) {
    std::string fpath = path.empty() ? f.name : path + "." + f.name;
    const json::value* v = o.if_contains(f.name);
    if (v == nullptr || v->is_null()) {
      if (f.required) out->emplace_back(fpath, "Required value");
      continue;
    }
    if (f.kind != api::ValueKind::kObject) continue;
    if (f.container == api::Container::kNone && v->is_object()) {
      Required(*f.type, v->as_object(), fpath, out, depth + 1);
    } else if (f.container == api::Container::kArray && v->is_array()) {
      const auto& a = v->as_array();
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_object()) {
          Required(*f.type, a[i].as_object(), fpath + "[" + std::to_string(i) + "]", out,
                   depth + 1);
        }
      }
    } else if (f.container == api::Container::kMap && v->is_object()) {
      for (const auto& [k, e] : v->as_object()) {
        if (e.is_object()) {
          Required(*f.type, e.as_object(), fpath + "[" + std::string(k) + "]", out, depth + 1);
        }
      }
    }
  }
}

api::Labels StringMap(const json::value* v) {
  api::Labels out;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, val] : v->as_object()) {
    out.emplace(std::string(k), val.is_string() ? std::string(val.as_string()) : "");
  }
  return out;
}

const json::value* At(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* cur = nullptr;
  const json::object* obj = &o;
  for (auto p : path) {
    if (obj == nullptr) return nullptr;
    cur = obj->if_contains(p);
    if (cur == nullptr) return nullptr;
    obj = cur->is_object() ? &cur->as_object() : nullptr;
  }
  return cur;
}

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


void Workload(const ResourceInfo& r, const json::object& obj, const json::object* old,
              Causes* out) {
  const json::value* selector = At(obj, {"spec", "selector"});
  const json::value* labels = At(obj, {"spec", "template", "metadata", "labels"});
  if (r.kind == "ReplicationController") {
    // A plain map; defaulted from the template's labels.
    auto sel = StringMap(selector);
    auto tl = StringMap(labels);
    for (const auto& [k, v] : sel) {
      auto it = tl.find(k);
      if (it == tl.end() || it->second != v) {
        out->emplace_back("spec.template.metadata.labels",
                          "Invalid value: " + GoMap(tl) + ": `selector` does not match "
                          "template `labels`");
        break;
      }
    }
    return;
  }
  if (selector == nullptr) return;  // reported as required
  const auto& so = selector->as_object();
  bool empty = StringMap(so.if_contains("matchLabels")).empty() &&
               !(so.contains("matchExpressions") && so.at("matchExpressions").is_array() &&
                 !so.at("matchExpressions").as_array().empty());
  if (empty && r.kind == "Deployment") {
    out->emplace_back("spec.selector",
                      "Invalid value: \"null\": empty selector is invalid for deployment");
  } else if (auto sel = SelectorOf(*selector); !sel.ok() || !sel->Matches(StringMap(labels))) {
    out->emplace_back("spec.template.metadata.labels",
                      "Invalid value: " + GoMap(StringMap(labels)) +
                          ": `selector` does not match template `labels`");
  }
  if (old != nullptr) {
    const json::value* was = At(*old, {"spec", "selector"});
    if (was && *was != *selector) {
      out->emplace_back("spec.selector",
                        "Invalid value: " + json::serialize(*selector) + ": field is immutable");
    }
  }
}

void NotSupported(const json::value* v, const std::string& field,
                  const std::vector<std::string>& allowed, Causes* out) {
  if (v == nullptr || !v->is_string()) return;
  std::string s(v->as_string());
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + api::GoQuote(a);
  out->emplace_back(field, "Unsupported value: " + api::GoQuote(s) + ": supported values: " + list);
}

std::string Str(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// A port number field: 1..65535, as upstream words it.
void Port(const json::object& o, std::string_view k, const std::string& field, bool required,
          Causes* out) {
  const auto* v = o.if_contains(k);
  if (v == nullptr || !v->is_int64()) {
    if (required) out->emplace_back(field, "Required value");
    return;
  }
  int64_t p = v->as_int64();
  if (p < 1 || p > 65535) {
    out->emplace_back(field, "Invalid value: " + std::to_string(p) +
                                 ": must be between 1 and 65535, inclusive");
  }
}

void Protocol(const json::object& o, const std::string& field, Causes* out) {
  NotSupported(o.if_contains("protocol"), field, {"SCTP", "TCP", "UDP"}, out);
}

// A config key (ConfigMap and Secret data): [-._a-zA-Z0-9]+, at most 253 characters.
void ConfigKeys(const json::value* data, const std::string& field, Causes* out) {
  if (data == nullptr || !data->is_object()) return;
  for (const auto& [k, v] : data->as_object()) {
    std::string key(k);
    bool ok = !key.empty() && key.size() <= 253 &&
              key.find_first_not_of("-._abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789") == std::string::npos;
    if (!ok) {
      out->emplace_back(field, "Invalid value: " + api::GoQuote(key) +
                                   ": a valid config key must consist of alphanumeric "
                                   "characters, '-', '_' or '.' (e.g. 'key.name',  or "
                                   "'KEY_NAME',  or 'key-name', regex used for validation is "
                                   "'[-._a-zA-Z0-9]+')");
    }
  }
}

void PodSpec(const json::value* spec, const std::string& base, Causes* out) {
  if (spec == nullptr || !spec->is_object()) return;
  const auto& s = spec->as_object();
  std::set<std::string> volumes;
  if (const auto* vs = s.if_contains("volumes"); vs && vs->is_array()) {
    const auto& a = vs->as_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_object()) continue;
      std::string name = Str(a[i].as_object(), "name");
      std::string p = base + ".volumes[" + std::to_string(i) + "].name";
      if (name.empty()) continue;  // required: reported from the schema
      for (const auto& e : api::IsDNS1123Label(name)) {
        out->emplace_back(p, "Invalid value: " + api::GoQuote(name) + ": " + e);
      }
      if (!volumes.insert(name).second) {
        out->emplace_back(p, "Duplicate value: " + api::GoQuote(name));
      }
    }
  }
  NotSupported(s.if_contains("restartPolicy"), base + ".restartPolicy",
               {"Always", "OnFailure", "Never"}, out);
  NotSupported(s.if_contains("dnsPolicy"), base + ".dnsPolicy",
               {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}, out);
  for (const char* list : {"initContainers", "containers"}) {
    const auto* cs = s.if_contains(list);
    if (cs == nullptr || !cs->is_array()) continue;
    std::set<std::string> names;
    const auto& a = cs->as_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_object()) continue;
      const auto& c = a[i].as_object();
      std::string p = base + "." + list + "[" + std::to_string(i) + "]";
      std::string name = c.contains("name") && c.at("name").is_string()
                             ? std::string(c.at("name").as_string()) : "";
      if (!name.empty()) {
        for (const auto& e : api::IsDNS1123Label(name)) {
          out->emplace_back(p + ".name", "Invalid value: " + api::GoQuote(name) + ": " + e);
        }
        if (!names.insert(name).second) {
          out->emplace_back(p + ".name", "Duplicate value: " + api::GoQuote(name));
        }
      }
      const auto* image = c.if_contains("image");
      if (image == nullptr || !image->is_string() || image->as_string().empty()) {
        out->emplace_back(p + ".image", "Required value");
      }
      NotSupported(c.if_contains("imagePullPolicy"), p + ".imagePullPolicy",
                   {"Always", "IfNotPresent", "Never"}, out);
      if (const auto* ports = c.if_contains("ports"); ports && ports->is_array()) {
        const auto& pa = ports->as_array();
        for (size_t j = 0; j < pa.size(); ++j) {
          if (!pa[j].is_object()) continue;
          std::string pp = p + ".ports[" + std::to_string(j) + "]";
          Port(pa[j].as_object(), "containerPort", pp + ".containerPort", false, out);
          Port(pa[j].as_object(), "hostPort", pp + ".hostPort", false, out);
          Protocol(pa[j].as_object(), pp + ".protocol", out);
        }
      }
      if (const auto* mounts = c.if_contains("volumeMounts"); mounts && mounts->is_array()) {
        const auto& ma = mounts->as_array();
        for (size_t j = 0; j < ma.size(); ++j) {
          if (!ma[j].is_object()) continue;
          std::string name = Str(ma[j].as_object(), "name");
          if (!name.empty() && !volumes.count(name)) {
            out->emplace_back(p + ".volumeMounts[" + std::to_string(j) + "].name",
                              "Not found: " + api::GoQuote(name));
          }
        }
      }
    }
  }
}

}  // namespace

Result<api::LabelSelector> SelectorOf(const json::value& selector) {
  if (!selector.is_object()) return InvalidArgumentError("a label selector must be an object");
  const auto& s = selector.as_object();
  std::vector<api::MatchExpression> exprs;
  if (const auto* me = s.if_contains("matchExpressions"); me && me->is_array()) {
    for (const auto& e : me->as_array()) {
      if (!e.is_object()) return InvalidArgumentError("a match expression must be an object");
      api::MatchExpression x;
      const auto& eo = e.as_object();
      x.key = Str(eo, "key");
      x.op = Str(eo, "operator");
      if (const auto* vs = eo.if_contains("values"); vs && vs->is_array()) {
        for (const auto& v : vs->as_array()) {
          if (v.is_string()) x.values.emplace_back(v.as_string());
        }
      }
      exprs.push_back(std::move(x));
    }
  }
  return api::LabelSelector::FromMatch(StringMap(s.if_contains("matchLabels")), exprs);
}

Causes ValidateObject(const ResourceInfo& r, const api::TypeDecl& type, const json::object& obj,
                      const json::object* old) {
  Causes out;
  if (const auto* meta = obj.if_contains("metadata"); meta && meta->is_object()) {
    const auto& m = meta->as_object();
    for (const auto& e : api::ValidateLabels(StringMap(m.if_contains("labels")))) {
      out.emplace_back("metadata.labels", e.Body());
    }
    for (const auto& e : api::ValidateAnnotations(StringMap(m.if_contains("annotations")))) {
      out.emplace_back("metadata.annotations", e.Body());
    }
  }
  Required(type, obj, "", &out, 0);
  if (r.kind == "Deployment" || r.kind == "ReplicaSet" || r.kind == "StatefulSet" ||
      r.kind == "DaemonSet" || r.kind == "ReplicationController") {
    Workload(r, obj, old, &out);
  }
  if (r.kind == "Pod") PodSpec(At(obj, {"spec"}), "spec", &out);
  if (const auto* tmpl = At(obj, {"spec", "template", "spec"})) {
    PodSpec(tmpl, "spec.template.spec", &out);
  }
  if (r.kind == "Job" || r.kind == "CronJob") {
    const auto* rp = r.kind == "Job" ? At(obj, {"spec", "template", "spec", "restartPolicy"})
                                     : At(obj, {"spec", "jobTemplate", "spec", "template",
                                                "spec", "restartPolicy"});
    std::string base = r.kind == "Job" ? "spec.template.spec.restartPolicy"
                                       : "spec.jobTemplate.spec.template.spec.restartPolicy";
    NotSupported(rp, base, {"OnFailure", "Never"}, &out);
  }
  if (r.kind == "Service") {
    NotSupported(At(obj, {"spec", "type"}), "spec.type",
                 {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"}, &out);
    NotSupported(At(obj, {"spec", "sessionAffinity"}), "spec.sessionAffinity",
                 {"ClientIP", "None"}, &out);
    const auto* type = At(obj, {"spec", "type"});
    const auto* en = At(obj, {"spec", "externalName"});
    if (type && *type == "ExternalName" && (!en || !en->is_string() || en->as_string().empty())) {
      out.emplace_back("spec.externalName", "Required value");
    }
    if (const auto* ports = At(obj, {"spec", "ports"}); ports && ports->is_array()) {
      const auto& a = ports->as_array();
      std::set<std::string> names;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_object()) continue;
        const auto& po = a[i].as_object();
        std::string p = "spec.ports[" + std::to_string(i) + "]";
        std::string name = Str(po, "name");
        if (name.empty() && a.size() > 1) out.emplace_back(p + ".name", "Required value");
        if (!name.empty()) {
          for (const auto& e : api::IsDNS1123Label(name)) {
            out.emplace_back(p + ".name", "Invalid value: " + api::GoQuote(name) + ": " + e);
          }
          if (!names.insert(name).second) {
            out.emplace_back(p + ".name", "Duplicate value: " + api::GoQuote(name));
          }
        }
        Port(po, "port", p + ".port", false, &out);
        Protocol(po, p + ".protocol", &out);
        if (const auto* tp = po.if_contains("targetPort"); tp && tp->is_int64()) {
          Port(po, "targetPort", p + ".targetPort", false, &out);
        }
      }
    }
  }
  if (r.kind == "ConfigMap") {
    ConfigKeys(obj.if_contains("data"), "data", &out);
    ConfigKeys(obj.if_contains("binaryData"), "binaryData", &out);
  }
  if (r.kind == "Secret") ConfigKeys(obj.if_contains("data"), "data", &out);
  if ((r.kind == "ConfigMap" || r.kind == "Secret") && old != nullptr) {
    // An immutable ConfigMap or Secret keeps its data and its immutability.
    const auto* was = old->if_contains("immutable");
    if (was && was->is_bool() && was->as_bool()) {
      for (const char* f : {"data", "binaryData", "stringData"}) {
        const auto* a = old->if_contains(f);
        const auto* b = obj.if_contains(f);
        if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) {
          out.emplace_back(f, "Forbidden: field is immutable when `immutable` is set");
        }
      }
      const auto* now = obj.if_contains("immutable");
      if (!now || !now->is_bool() || !now->as_bool()) {
        out.emplace_back("immutable", "Forbidden: field is immutable when `immutable` is set");
      }
    }
  }
  if (r.kind == "Deployment") {
    const auto* type = At(obj, {"spec", "strategy", "type"});
    NotSupported(type, "spec.strategy.type", {"Recreate", "RollingUpdate"}, &out);
    if (type && *type == "Recreate" && At(obj, {"spec", "strategy", "rollingUpdate"})) {
      out.emplace_back("spec.strategy.rollingUpdate",
                       "Forbidden: may not be specified when strategy `type` is 'Recreate'");
    }
    const auto* mu = At(obj, {"spec", "strategy", "rollingUpdate", "maxUnavailable"});
    const auto* ms = At(obj, {"spec", "strategy", "rollingUpdate", "maxSurge"});
    auto zero = [](const json::value* v) {
      return v && ((v->is_int64() && v->as_int64() == 0) || (v->is_string() && v->as_string() == "0%"));
    };
    if (zero(mu) && zero(ms)) {
      out.emplace_back("spec.strategy.rollingUpdate.maxUnavailable",
                       "Invalid value: " + json::serialize(*mu) +
                           ": may not be 0 when `maxSurge` is 0");
    }
  }
  for (const char* f : {"replicas", "revisionHistoryLimit", "minReadySeconds"}) {
    const auto* v = At(obj, {"spec", f});
    if (v && v->is_int64() && v->as_int64() < 0 &&
        (r.kind == "Deployment" || r.kind == "ReplicaSet" || r.kind == "StatefulSet" ||
         r.kind == "ReplicationController" || r.kind == "DaemonSet")) {
      out.emplace_back(std::string("spec.") + f,
                       "Invalid value: " + std::to_string(v->as_int64()) +
                           ": must be greater than or equal to 0");
    }
  }
  if (r.kind == "Pod" && old != nullptr) {
    // A pod's spec cannot change, except images, activeDeadlineSeconds and added tolerations.
    json::value a = old->contains("spec") ? old->at("spec") : json::value(json::object());
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
    };
    // Objects stored before a default existed compare as if it had been applied.
    if (const auto* ps = api::Schema::BuiltIn().Type("io.k8s.api.core.v1.PodSpec");
        ps && a.is_object()) {
      api::ApplyDefaults(*ps, &a.as_object());
    }
    scrub(&a);
    scrub(&b);
    if (a != b) {
      out.emplace_back("spec",
                       "Forbidden: pod updates may not change fields other than "
                       "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                       "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                       "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
                       "to be set to 1 if it was previously negative)");
    }
  }
  return out;
}

}  // namespace keelson::apiserver
