#include "api/defaults.h"

#include <boost/json.hpp>

#include <functional>
#include <unordered_map>

namespace keelson::api {
namespace {

namespace json = boost::json;

// A field's default: JSON text, parsed once.
struct FieldDefault {
  const char* type;
  const char* field;
  const char* value;
};


// Plain defaults: set when the field is absent.
constexpr FieldDefault kDefaults[] = {
    {"io.k8s.api.core.v1.PodSpec", "restartPolicy", R"("Always")"},
    {"io.k8s.api.core.v1.PodSpec", "terminationGracePeriodSeconds", "30"},
    {"io.k8s.api.core.v1.PodSpec", "dnsPolicy", R"("ClusterFirst")"},
    {"io.k8s.api.core.v1.PodSpec", "securityContext", "{}"},
    {"io.k8s.api.core.v1.PodSpec", "schedulerName", R"("default-scheduler")"},
    {"io.k8s.api.core.v1.PodSpec", "enableServiceLinks", "true"},
    {"io.k8s.api.core.v1.Container", "terminationMessagePath", R"("/dev/termination-log")"},
    {"io.k8s.api.core.v1.Container", "terminationMessagePolicy", R"("File")"},
    {"io.k8s.api.core.v1.Container", "resources", "{}"},
    {"io.k8s.api.core.v1.EphemeralContainer", "terminationMessagePath", R"("/dev/termination-log")"},
    {"io.k8s.api.core.v1.EphemeralContainer", "terminationMessagePolicy", R"("File")"},
    {"io.k8s.api.core.v1.ContainerPort", "protocol", R"("TCP")"},
    {"io.k8s.api.core.v1.ServicePort", "protocol", R"("TCP")"},
    {"io.k8s.api.core.v1.EndpointPort", "protocol", R"("TCP")"},
    {"io.k8s.api.discovery.v1.EndpointPort", "protocol", R"("TCP")"},
    {"io.k8s.api.core.v1.ServiceSpec", "type", R"("ClusterIP")"},
    {"io.k8s.api.core.v1.ServiceSpec", "sessionAffinity", R"("None")"},
    {"io.k8s.api.core.v1.Probe", "timeoutSeconds", "1"},
    {"io.k8s.api.core.v1.Probe", "periodSeconds", "10"},
    {"io.k8s.api.core.v1.Probe", "successThreshold", "1"},
    {"io.k8s.api.core.v1.Probe", "failureThreshold", "3"},
    {"io.k8s.api.core.v1.HTTPGetAction", "path", R"("/")"},
    {"io.k8s.api.core.v1.HTTPGetAction", "scheme", R"("HTTP")"},
    {"io.k8s.api.core.v1.ObjectFieldSelector", "apiVersion", R"("v1")"},
    {"io.k8s.api.core.v1.ConfigMapVolumeSource", "defaultMode", "420"},
    {"io.k8s.api.core.v1.SecretVolumeSource", "defaultMode", "420"},
    {"io.k8s.api.core.v1.ProjectedVolumeSource", "defaultMode", "420"},
    {"io.k8s.api.core.v1.DownwardAPIVolumeSource", "defaultMode", "420"},
    {"io.k8s.api.core.v1.HostPathVolumeSource", "type", R"("")"},
    {"io.k8s.api.core.v1.Secret", "type", R"("Opaque")"},
    {"io.k8s.api.core.v1.PersistentVolumeSpec", "persistentVolumeReclaimPolicy", R"("Retain")"},
    {"io.k8s.api.core.v1.PersistentVolumeSpec", "volumeMode", R"("Filesystem")"},
    {"io.k8s.api.core.v1.PersistentVolumeClaimSpec", "volumeMode", R"("Filesystem")"},
    {"io.k8s.api.core.v1.ReplicationControllerSpec", "replicas", "1"},
    {"io.k8s.api.apps.v1.DeploymentSpec", "replicas", "1"},
    {"io.k8s.api.apps.v1.DeploymentSpec", "strategy", "{}"},
    {"io.k8s.api.apps.v1.DeploymentSpec", "revisionHistoryLimit", "10"},
    {"io.k8s.api.apps.v1.DeploymentSpec", "progressDeadlineSeconds", "600"},
    {"io.k8s.api.apps.v1.DeploymentStrategy", "type", R"("RollingUpdate")"},
    {"io.k8s.api.apps.v1.ReplicaSetSpec", "replicas", "1"},
    {"io.k8s.api.apps.v1.StatefulSetSpec", "replicas", "1"},
    {"io.k8s.api.apps.v1.StatefulSetSpec", "podManagementPolicy", R"("OrderedReady")"},
    {"io.k8s.api.apps.v1.StatefulSetSpec", "updateStrategy", "{}"},
    {"io.k8s.api.apps.v1.StatefulSetSpec", "revisionHistoryLimit", "10"},
    {"io.k8s.api.apps.v1.StatefulSetSpec", "persistentVolumeClaimRetentionPolicy", "{}"},
    {"io.k8s.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy", "whenDeleted", R"("Retain")"},
    {"io.k8s.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy", "whenScaled", R"("Retain")"},
    {"io.k8s.api.apps.v1.StatefulSetUpdateStrategy", "type", R"("RollingUpdate")"},
    {"io.k8s.api.apps.v1.DaemonSetSpec", "updateStrategy", "{}"},
    {"io.k8s.api.apps.v1.DaemonSetSpec", "revisionHistoryLimit", "10"},
    {"io.k8s.api.apps.v1.DaemonSetUpdateStrategy", "type", R"("RollingUpdate")"},
    {"io.k8s.api.batch.v1.JobSpec", "backoffLimit", "6"},
    {"io.k8s.api.batch.v1.JobSpec", "completionMode", R"("NonIndexed")"},
    {"io.k8s.api.batch.v1.JobSpec", "suspend", "false"},
    {"io.k8s.api.batch.v1.JobSpec", "podReplacementPolicy", R"("TerminatingOrFailed")"},
    {"io.k8s.api.batch.v1.CronJobSpec", "concurrencyPolicy", R"("Allow")"},
    {"io.k8s.api.batch.v1.CronJobSpec", "suspend", "false"},
    {"io.k8s.api.batch.v1.CronJobSpec", "successfulJobsHistoryLimit", "3"},
    {"io.k8s.api.batch.v1.CronJobSpec", "failedJobsHistoryLimit", "1"},
    {"io.k8s.api.scheduling.v1.PriorityClass", "preemptionPolicy", R"("PreemptLowerPriority")"},
};

bool Has(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v != nullptr && !v->is_null();
}

// Sets status.phase when the object has none.
void DefaultPhase(json::object* obj, const char* phase) {
  auto& status = (*obj)["status"];
  if (!status.is_object()) status = json::object();
  if (!Has(status.as_object(), "phase")) status.as_object()["phase"] = phase;
}

// Defaults that depend on other fields.
using Hook = std::function<void(json::object*)>;

// A workload strategy of type RollingUpdate gets these rollingUpdate parameters.
Hook RollingUpdate(json::object params) {
  return [params = std::move(params)](json::object* s) {
    if (s->at("type") == "RollingUpdate" && !Has(*s, "rollingUpdate")) {
      (*s)["rollingUpdate"] = params;
    }
  };
}

const std::unordered_map<std::string_view, Hook>& Hooks() {
  static const auto* hooks = new std::unordered_map<std::string_view, Hook>{
      {"io.k8s.api.core.v1.Container",
       [](json::object* c) {
         if (Has(*c, "imagePullPolicy")) return;
         // Always for an image without a tag or with :latest; IfNotPresent otherwise.
         std::string_view image;
         if (const auto* i = c->if_contains("image"); i && i->is_string()) image = i->as_string();
         std::string_view name = image.substr(0, image.find('@'));
         auto slash = name.rfind('/');
         auto colon = name.rfind(':');
         bool tagged = colon != std::string_view::npos &&
                       (slash == std::string_view::npos || colon > slash);
         bool latest = !tagged || name.substr(colon + 1) == "latest";
         if (image.find('@') != std::string_view::npos) latest = false;
         (*c)["imagePullPolicy"] = latest ? "Always" : "IfNotPresent";
       }},
      {"io.k8s.api.core.v1.Pod",
       [](json::object* pod) {
         // A container's requests default to its limits, resource by resource.
         auto* spec = pod->if_contains("spec");
         if (spec == nullptr || !spec->is_object()) return;
         for (const char* list : {"containers", "initContainers"}) {
           auto* cs = spec->as_object().if_contains(list);
           if (cs == nullptr || !cs->is_array()) continue;
           for (auto& c : cs->as_array()) {
             auto* res = c.is_object() ? c.as_object().if_contains("resources") : nullptr;
             if (res == nullptr || !res->is_object()) continue;
             const auto* limits = res->as_object().if_contains("limits");
             if (limits == nullptr || !limits->is_object() || limits->as_object().empty()) continue;
             auto& requests = res->as_object()["requests"];
             if (!requests.is_object()) requests = json::object();
             for (const auto& [name, q] : limits->as_object()) {
               if (!requests.as_object().contains(name)) requests.as_object()[name] = q;
             }
           }
         }
       }},
      {"io.k8s.api.core.v1.ServicePort",
       [](json::object* p) {
         if (!Has(*p, "targetPort") && Has(*p, "port")) (*p)["targetPort"] = p->at("port");
       }},
      {"io.k8s.api.core.v1.Volume",
       [](json::object* v) {
         // A volume without a source is an emptyDir.
         for (const auto& [k, val] : *v) {
           if (k != "name" && !val.is_null()) return;
         }
         (*v)["emptyDir"] = json::object();
       }},
      {"io.k8s.api.apps.v1.DeploymentStrategy",
       RollingUpdate({{"maxUnavailable", "25%"}, {"maxSurge", "25%"}})},
      {"io.k8s.api.apps.v1.StatefulSetUpdateStrategy", RollingUpdate({{"partition", 0}})},
      {"io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
       RollingUpdate({{"maxUnavailable", 1}, {"maxSurge", 0}})},
      {"io.k8s.api.core.v1.ReplicationController",
       [](json::object* rc) {
         // Without labels of its own, a controller carries its template's.
         const auto* spec = rc->if_contains("spec");
         const auto* tmpl = spec && spec->is_object() ? spec->as_object().if_contains("template")
                                                       : nullptr;
         const auto* tmeta = tmpl && tmpl->is_object() ? tmpl->as_object().if_contains("metadata")
                                                        : nullptr;
         const auto* labels = tmeta && tmeta->is_object()
                                  ? tmeta->as_object().if_contains("labels")
                                  : nullptr;
         if (labels == nullptr || !labels->is_object() || labels->as_object().empty()) return;
         auto& meta = (*rc)["metadata"];
         if (!meta.is_object()) meta = json::object();
         const auto* own = meta.as_object().if_contains("labels");
         if (own == nullptr || !own->is_object() || own->as_object().empty()) {
           meta.as_object()["labels"] = *labels;
         }
       }},
      {"io.k8s.api.core.v1.ReplicationControllerSpec",
       [](json::object* s) {
         // The selector and labels default to the template's labels.
         const auto* tmpl = s->if_contains("template");
         if (!tmpl || !tmpl->is_object()) return;
         const auto* meta = tmpl->as_object().if_contains("metadata");
         const auto* labels = meta && meta->is_object() ? meta->as_object().if_contains("labels")
                                                         : nullptr;
         if (labels && labels->is_object() && !Has(*s, "selector")) (*s)["selector"] = *labels;
       }},
      {"io.k8s.api.batch.v1.JobSpec",
       [](json::object* s) {
         if (!Has(*s, "completions") && !Has(*s, "parallelism")) {
           (*s)["completions"] = 1;
           (*s)["parallelism"] = 1;
         } else if (!Has(*s, "parallelism")) {
           (*s)["parallelism"] = 1;
         }
       }},
      // A volume or claim starts Pending until it is bound.
      {"io.k8s.api.core.v1.PersistentVolume", [](json::object* o) { DefaultPhase(o, "Pending"); }},
      {"io.k8s.api.core.v1.PersistentVolumeClaim",
       [](json::object* o) { DefaultPhase(o, "Pending"); }},
      {"io.k8s.api.rbac.v1.Subject",
       [](json::object* s) {
         if (Has(*s, "apiGroup")) return;
         const auto* k = s->if_contains("kind");
         if (k && (*k == "User" || *k == "Group")) (*s)["apiGroup"] = "rbac.authorization.k8s.io";
         if (k && *k == "ServiceAccount") (*s)["apiGroup"] = "";
       }},
  };
  return *hooks;
}

const std::unordered_map<std::string_view, std::vector<std::pair<std::string, json::value>>>&
Table() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string_view,
                                     std::vector<std::pair<std::string, json::value>>>();
    for (const auto& d : kDefaults) (*t)[d.type].emplace_back(d.field, json::parse(d.value));
    return t;
  }();
  return *table;
}

void Walk(const TypeDecl& t, json::object* obj, int depth) {
  if (depth > 32) return;
  const auto& table = Table();
  if (auto it = table.find(t.name); it != table.end()) {
    for (const auto& [field, value] : it->second) {
      if (!Has(*obj, field)) (*obj)[field] = value;
    }
  }
  const auto& hooks = Hooks();
  if (auto it = hooks.find(t.name); it != hooks.end()) it->second(obj);
  for (auto& [k, v] : *obj) {
    const FieldDecl* f = t.Field(k);
    if (f == nullptr || f->kind != ValueKind::kObject) continue;
    if (f->container == Container::kNone && v.is_object()) {
      Walk(*f->type, &v.as_object(), depth + 1);
    } else if (f->container == Container::kArray && v.is_array()) {
      for (auto& e : v.as_array()) {
        if (e.is_object()) Walk(*f->type, &e.as_object(), depth + 1);
      }
    } else if (f->container == Container::kMap && v.is_object()) {
      for (auto& [mk, e] : v.as_object()) {
        if (e.is_object()) Walk(*f->type, &e.as_object(), depth + 1);
      }
    }
  }
}

}  // namespace

void ApplyDefaults(const TypeDecl& type, json::object* obj) { Walk(type, obj, 0); }

std::optional<json::value> DefaultOf(const TypeDecl& type, std::string_view field) {
  const auto& table = Table();
  auto it = table.find(type.name);
  if (it == table.end()) return std::nullopt;
  for (const auto& [f, v] : it->second) {
    if (f == field) return v;
  }
  return std::nullopt;
}

}  // namespace keelson::api
