#include "apiserver/table.h"

#include <boost/json.hpp>

#include <algorithm>
#include <ctime>
#include <functional>
#include <unordered_map>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

struct Column {
  const char* name;
  const char* type;    // "string", "integer", "date"
  const char* format;  // "name" for the name column, else ""
  int priority;        // 0: always shown; 1: with -o wide
  const char* description;
};

using Cells = std::function<json::array(const json::object& obj, const std::string& age)>;

struct Printer {
  std::vector<Column> columns;
  Cells cells;
};

const json::value* Path(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::object* cur = &o;
  const json::value* v = nullptr;
  for (auto it = path.begin(); it != path.end(); ++it) {
    v = cur->if_contains(*it);
    if (v == nullptr) return nullptr;
    if (std::next(it) != path.end()) {
      if (!v->is_object()) return nullptr;
      cur = &v->as_object();
    }
  }
  return v;
}

std::string Str(const json::object& o, std::initializer_list<std::string_view> path,
                std::string fallback = "") {
  const json::value* v = Path(o, path);
  return v && v->is_string() ? std::string(v->as_string()) : fallback;
}

size_t Count(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* v = Path(o, path);
  if (v && v->is_object()) return v->as_object().size();
  if (v && v->is_array()) return v->as_array().size();
  return 0;
}

std::string Name(const json::object& o) { return Str(o, {"metadata", "name"}); }

constexpr const char* kNameDesc =
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated.";
constexpr const char* kAgeDesc =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created.";

Column NameColumn() { return {"Name", "string", "name", 0, kNameDesc}; }
Column AgeColumn() { return {"Age", "string", "", 0, kAgeDesc}; }

// The pod's STATUS column, as upstream's printer derives it: the pod's reason, then the
// first init container or container that is not running cleanly, then "Terminating".
std::string PodStatus(const json::object& pod) {
  std::string reason = Str(pod, {"status", "reason"}, Str(pod, {"status", "phase"}, "Pending"));
  auto reason_of = [](const json::object& cs) -> std::string {
    const json::value* st = cs.if_contains("state");
    if (!st || !st->is_object()) return "";
    const auto& s = st->as_object();
    if (auto* w = s.if_contains("waiting"); w && w->is_object()) {
      auto r = w->as_object().if_contains("reason");
      if (r && r->is_string() && !r->as_string().empty()) return std::string(r->as_string());
    }
    if (auto* t = s.if_contains("terminated"); t && t->is_object()) {
      auto& to = t->as_object();
      auto r = to.if_contains("reason");
      if (r && r->is_string() && !r->as_string().empty()) return std::string(r->as_string());
      auto sig = to.if_contains("signal");
      if (sig && sig->is_int64() && sig->as_int64() != 0) {
        return "Signal:" + std::to_string(sig->as_int64());
      }
      auto code = to.if_contains("exitCode");
      return "ExitCode:" + std::to_string(code && code->is_int64() ? code->as_int64() : 0);
    }
    return "";
  };
  bool initializing = false;
  if (auto* inits = Path(pod, {"status", "initContainerStatuses"}); inits && inits->is_array()) {
    size_t total = inits->as_array().size(), i = 0;
    for (const auto& c : inits->as_array()) {
      ++i;
      if (!c.is_object()) continue;
      const auto& cs = c.as_object();
      auto* term = Path(cs, {"state", "terminated"});
      if (term && term->is_object()) {
        auto code = term->as_object().if_contains("exitCode");
        if (code && code->is_int64() && code->as_int64() == 0) continue;
      }
      std::string r = reason_of(cs);
      initializing = true;
      reason = r.empty() || r == "PodInitializing"
                   ? "Init:" + std::to_string(i - 1) + "/" + std::to_string(total)
                   : "Init:" + r;
      break;
    }
  }
  if (!initializing) {
    if (auto* cst = Path(pod, {"status", "containerStatuses"}); cst && cst->is_array()) {
      for (auto it = cst->as_array().rbegin(); it != cst->as_array().rend(); ++it) {
        if (!it->is_object()) continue;
        std::string r = reason_of(it->as_object());
        if (!r.empty()) {
          reason = r;
          break;
        }
      }
    }
  }
  if (Path(pod, {"metadata", "deletionTimestamp"}) != nullptr) {
    reason = Str(pod, {"status", "reason"}) == "NodeLost" ? "Unknown" : "Terminating";
  }
  return reason;
}


// Helpers for the workload printers.
std::string Join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& x : v) {
    if (!out.empty()) out += sep;
    out += x;
  }
  return out;
}

std::vector<std::string> ContainerField(const json::object& o,
                                        std::initializer_list<std::string_view> containers,
                                        const char* field) {
  std::vector<std::string> out;
  const json::value* cs = Path(o, containers);
  if (!cs || !cs->is_array()) return out;
  for (const auto& c : cs->as_array()) {
    if (!c.is_object()) continue;
    auto* v = c.as_object().if_contains(field);
    out.push_back(v && v->is_string() ? std::string(v->as_string()) : "");
  }
  return out;
}

std::string MapSelector(const json::value* m) {
  if (!m || !m->is_object() || m->as_object().empty()) return "<none>";
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& [k, v] : m->as_object()) {
    kv.emplace_back(std::string(k), v.is_string() ? std::string(v.as_string()) : "");
  }
  std::sort(kv.begin(), kv.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : kv) parts.push_back(k + "=" + v);
  return Join(parts);
}

// A metav1.LabelSelector in kubectl's text form.
std::string LabelSelectorText(const json::value* sel) {
  if (!sel || !sel->is_object()) return "<none>";
  std::vector<std::string> parts;
  const auto& so = sel->as_object();
  if (auto* ml = so.if_contains("matchLabels"); ml && ml->is_object()) {
    std::string m = MapSelector(ml);
    if (m != "<none>") parts.push_back(m);
  }
  if (auto* me = so.if_contains("matchExpressions"); me && me->is_array()) {
    for (const auto& e : me->as_array()) {
      if (!e.is_object()) continue;
      const auto& eo = e.as_object();
      std::string key = Str(eo, {"key"}), op = Str(eo, {"operator"});
      std::vector<std::string> vals;
      if (auto* vs = eo.if_contains("values"); vs && vs->is_array()) {
        for (const auto& v : vs->as_array()) {
          if (v.is_string()) vals.emplace_back(v.as_string());
        }
      }
      if (op == "In") parts.push_back(key + " in (" + Join(vals) + ")");
      else if (op == "NotIn") parts.push_back(key + " notin (" + Join(vals) + ")");
      else if (op == "Exists") parts.push_back(key);
      else if (op == "DoesNotExist") parts.push_back("!" + key);
    }
  }
  return parts.empty() ? "<none>" : Join(parts);
}

int64_t IntAt(const json::object& o, std::initializer_list<std::string_view> path,
              int64_t fallback = 0) {
  const json::value* v = Path(o, path);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return fallback;
}

std::string OrNone(std::string s) { return s.empty() ? "<none>" : s; }

Column Wide(const char* name, const char* desc) { return {name, "string", "", 1, desc}; }

std::string ServicePorts(const json::object& o) {
  std::vector<std::string> out;
  if (auto* ps = Path(o, {"spec", "ports"}); ps && ps->is_array()) {
    for (const auto& p : ps->as_array()) {
      if (!p.is_object()) continue;
      const auto& po = p.as_object();
      std::string proto = Str(po, {"protocol"}, "TCP");
      int64_t port = IntAt(po, {"port"}), node = IntAt(po, {"nodePort"});
      out.push_back(node ? std::to_string(port) + ":" + std::to_string(node) + "/" + proto
                         : std::to_string(port) + "/" + proto);
    }
  }
  return out.empty() ? "<none>" : Join(out);
}

std::string ServiceExternalIp(const json::object& o) {
  std::string type = Str(o, {"spec", "type"}, "ClusterIP");
  std::vector<std::string> ips;
  if (auto* e = Path(o, {"spec", "externalIPs"}); e && e->is_array()) {
    for (const auto& v : e->as_array()) {
      if (v.is_string()) ips.emplace_back(v.as_string());
    }
  }
  if (type == "ExternalName") return Str(o, {"spec", "externalName"});
  if (type == "LoadBalancer") {
    if (auto* in = Path(o, {"status", "loadBalancer", "ingress"}); in && in->is_array()) {
      for (const auto& i : in->as_array()) {
        if (!i.is_object()) continue;
        std::string ip = Str(i.as_object(), {"ip"}, Str(i.as_object(), {"hostname"}));
        if (!ip.empty()) ips.push_back(ip);
      }
    }
    return ips.empty() ? "<pending>" : Join(ips);
  }
  return ips.empty() ? "<none>" : Join(ips);
}

std::string NodeStatus(const json::object& o) {
  std::string status = "Unknown";
  if (auto* cs = Path(o, {"status", "conditions"}); cs && cs->is_array()) {
    for (const auto& c : cs->as_array()) {
      if (!c.is_object() || Str(c.as_object(), {"type"}) != "Ready") continue;
      std::string st = Str(c.as_object(), {"status"});
      status = st == "True" ? "Ready" : st == "False" ? "NotReady" : "Unknown";
    }
  }
  if (auto* u = Path(o, {"spec", "unschedulable"}); u && u->is_bool() && u->as_bool()) {
    status += ",SchedulingDisabled";
  }
  return status;
}

std::string NodeRoles(const json::object& o) {
  std::vector<std::string> roles;
  if (auto* ls = Path(o, {"metadata", "labels"}); ls && ls->is_object()) {
    for (const auto& [k, v] : ls->as_object()) {
      std::string_view key = k;
      constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
      if (key.substr(0, kPrefix.size()) == kPrefix && key.size() > kPrefix.size()) {
        roles.emplace_back(key.substr(kPrefix.size()));
      } else if (key == "kubernetes.io/role" && v.is_string()) {
        roles.emplace_back(v.as_string());
      }
    }
  }
  std::sort(roles.begin(), roles.end());
  return roles.empty() ? "<none>" : Join(roles);
}

std::string NodeAddress(const json::object& o, std::string_view type) {
  if (auto* as = Path(o, {"status", "addresses"}); as && as->is_array()) {
    for (const auto& a : as->as_array()) {
      if (a.is_object() && Str(a.as_object(), {"type"}) == type) {
        return Str(a.as_object(), {"address"});
      }
    }
  }
  return "<none>";
}

json::array WorkloadWide(const json::object& o, json::array cells, bool selector) {
  cells.push_back(json::string(Join(ContainerField(o, {"spec", "template", "spec", "containers"}, "name"))));
  cells.push_back(json::string(Join(ContainerField(o, {"spec", "template", "spec", "containers"}, "image"))));
  if (selector) cells.push_back(json::string(LabelSelectorText(Path(o, {"spec", "selector"}))));
  return cells;
}

constexpr const char* kContainersDesc = "Names of each container in the template.";
constexpr const char* kImagesDesc = "Images referenced by each container in the template.";
constexpr const char* kSelectorDesc = "Selector is a label query over pods that should match the replica count.";

json::array PodCells(const json::object& pod, const std::string& age) {
  size_t total = Count(pod, {"spec", "containers"}), ready = 0;
  int64_t restarts = 0;
  if (auto* cst = Path(pod, {"status", "containerStatuses"}); cst && cst->is_array()) {
    for (const auto& c : cst->as_array()) {
      if (!c.is_object()) continue;
      const auto& cs = c.as_object();
      if (auto* r = cs.if_contains("ready"); r && r->is_bool() && r->as_bool()) ++ready;
      if (auto* rc = cs.if_contains("restartCount"); rc && rc->is_int64()) {
        restarts += rc->as_int64();
      }
    }
  }
  std::string gates = "<none>";
  if (size_t n = Count(pod, {"spec", "readinessGates"}); n > 0) {
    gates = "0/" + std::to_string(n);
  }
  return json::array{json::string(Name(pod)),
                     json::string(std::to_string(ready) + "/" + std::to_string(total)),
                     json::string(PodStatus(pod)),
                     json::value(restarts),
                     json::string(age),
                     json::string(Str(pod, {"status", "podIP"}, "<none>")),
                     json::string(Str(pod, {"spec", "nodeName"}, "<none>")),
                     json::string(Str(pod, {"status", "nominatedNodeName"}, "<none>")),
                     json::string(gates)};
}

// ReplicaSets and ReplicationControllers print alike; an RC's selector is a plain map.
Printer ReplicaPrinter(bool map_selector) {
  return {{NameColumn(), {"Desired", "integer", "", 0, "Number of desired pods."},
           {"Current", "integer", "", 0, "Number of actual running pods."},
           {"Ready", "integer", "", 0, "Number of pods ready."}, AgeColumn(),
           Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
           Wide("Selector", kSelectorDesc)},
          [map_selector](const json::object& o, const std::string& age) {
            auto cells = WorkloadWide(
                o,
                json::array{json::string(Name(o)), json::value(IntAt(o, {"spec", "replicas"}, 1)),
                            json::value(IntAt(o, {"status", "replicas"})),
                            json::value(IntAt(o, {"status", "readyReplicas"})),
                            json::string(age)},
                !map_selector);
            if (map_selector) cells.push_back(json::string(MapSelector(Path(o, {"spec", "selector"}))));
            return cells;
          }};
}

const std::unordered_map<std::string, Printer>& Printers() {
  static const auto* printers = new std::unordered_map<std::string, Printer>{
      {"Namespace",
       {{NameColumn(),
         {"Status", "string", "", 0, "The status of the namespace"},
         AgeColumn()},
        [](const json::object& o, const std::string& age) {
          return json::array{json::string(Name(o)),
                             json::string(Str(o, {"status", "phase"})), json::string(age)};
        }}},
      {"ConfigMap",
       {{NameColumn(), {"Data", "string", "", 0, "Data contains the configuration data."},
         AgeColumn()},
        [](const json::object& o, const std::string& age) {
          return json::array{json::string(Name(o)),
                             json::value(static_cast<int64_t>(Count(o, {"data"}) +
                                                              Count(o, {"binaryData"}))),
                             json::string(age)};
        }}},
      {"Secret",
       {{NameColumn(), {"Type", "string", "", 0, "The type of the secret"},
         {"Data", "string", "", 0, "The number of entries in the secret"}, AgeColumn()},
        [](const json::object& o, const std::string& age) {
          return json::array{json::string(Name(o)), json::string(Str(o, {"type"})),
                             json::value(static_cast<int64_t>(Count(o, {"data"}))),
                             json::string(age)};
        }}},
      {"ServiceAccount",
       {{NameColumn(), {"Secrets", "string", "", 0, "Secrets is a list of the secrets"},
         AgeColumn()},
        [](const json::object& o, const std::string& age) {
          return json::array{json::string(Name(o)),
                             json::value(static_cast<int64_t>(Count(o, {"secrets"}))),
                             json::string(age)};
        }}},
      {"Deployment",
       {{NameColumn(),
         {"Ready", "string", "", 0, "Number of the pod with ready state"},
         {"Up-to-date", "string", "", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."},
         {"Available", "string", "", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."},
         AgeColumn(), Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
         Wide("Selector", kSelectorDesc)},
        [](const json::object& o, const std::string& age) {
          return WorkloadWide(
              o,
              json::array{json::string(Name(o)),
                          json::string(std::to_string(IntAt(o, {"status", "readyReplicas"})) + "/" +
                                       std::to_string(IntAt(o, {"spec", "replicas"}, 1))),
                          json::value(IntAt(o, {"status", "updatedReplicas"})),
                          json::value(IntAt(o, {"status", "availableReplicas"})),
                          json::string(age)},
              true);
        }}},
      {"ReplicaSet", ReplicaPrinter(/*map_selector=*/false)},
      {"ReplicationController", ReplicaPrinter(/*map_selector=*/true)},
      {"StatefulSet",
       {{NameColumn(), {"Ready", "string", "", 0, "Number of the pod with ready state"},
         AgeColumn(), Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc)},
        [](const json::object& o, const std::string& age) {
          return WorkloadWide(
              o,
              json::array{json::string(Name(o)),
                          json::string(std::to_string(IntAt(o, {"status", "readyReplicas"})) + "/" +
                                       std::to_string(IntAt(o, {"spec", "replicas"}, 1))),
                          json::string(age)},
              false);
        }}},
      {"DaemonSet",
       {{NameColumn(), {"Desired", "integer", "", 0, "The total number of nodes that should be running the daemon pod."},
         {"Current", "integer", "", 0, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."},
         {"Ready", "integer", "", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."},
         {"Up-to-date", "integer", "", 0, "The total number of nodes that are running updated daemon pod"},
         {"Available", "integer", "", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."},
         {"Node Selector", "string", "", 0, "NodeSelector is a selector which must be true for the pod to fit on a node."},
         AgeColumn(), Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
         Wide("Selector", kSelectorDesc)},
        [](const json::object& o, const std::string& age) {
          return WorkloadWide(
              o,
              json::array{json::string(Name(o)),
                          json::value(IntAt(o, {"status", "desiredNumberScheduled"})),
                          json::value(IntAt(o, {"status", "currentNumberScheduled"})),
                          json::value(IntAt(o, {"status", "numberReady"})),
                          json::value(IntAt(o, {"status", "updatedNumberScheduled"})),
                          json::value(IntAt(o, {"status", "numberAvailable"})),
                          json::string(MapSelector(Path(o, {"spec", "template", "spec", "nodeSelector"}))),
                          json::string(age)},
              true);
        }}},
      {"Service",
       {{NameColumn(), {"Type", "string", "", 0, "type determines how the Service is exposed."},
         {"Cluster-IP", "string", "", 0, "clusterIP is the IP address of the service."},
         {"External-IP", "string", "", 0, "List of IP addresses for which nodes in the cluster will also accept traffic for this service."},
         {"Port(s)", "string", "", 0, "The list of ports that are exposed by this service."},
         AgeColumn(),
         Wide("Selector", "Route service traffic to pods with label keys and values matching this selector.")},
        [](const json::object& o, const std::string& age) {
          return json::array{json::string(Name(o)),
                             json::string(Str(o, {"spec", "type"}, "ClusterIP")),
                             json::string(OrNone(Str(o, {"spec", "clusterIP"}))),
                             json::string(ServiceExternalIp(o)),
                             json::string(ServicePorts(o)), json::string(age),
                             json::string(MapSelector(Path(o, {"spec", "selector"})))};
        }}},
      {"Node",
       {{NameColumn(), {"Status", "string", "", 0, "The status of the node"},
         {"Roles", "string", "", 0, "The roles of the node"}, AgeColumn(),
         {"Version", "string", "", 0, "Kubelet Version reported by the node."},
         Wide("Internal-IP", "List of addresses reachable to the node."),
         Wide("External-IP", "List of addresses reachable to the node."),
         Wide("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
         Wide("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
         Wide("Container-Runtime", "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).")},
        [](const json::object& o, const std::string& age) {
          return json::array{json::string(Name(o)), json::string(NodeStatus(o)),
                             json::string(NodeRoles(o)), json::string(age),
                             json::string(Str(o, {"status", "nodeInfo", "kubeletVersion"})),
                             json::string(NodeAddress(o, "InternalIP")),
                             json::string(NodeAddress(o, "ExternalIP")),
                             json::string(OrNone(Str(o, {"status", "nodeInfo", "osImage"}))),
                             json::string(OrNone(Str(o, {"status", "nodeInfo", "kernelVersion"}))),
                             json::string(OrNone(Str(o, {"status", "nodeInfo", "containerRuntimeVersion"})))};
        }}},
      {"Pod",
       {{NameColumn(),
         {"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."},
         {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
         {"Restarts", "string", "", 0, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
         AgeColumn(),
         {"IP", "string", "", 1, "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."},
         {"Node", "string", "", 1, "NodeName is a request to schedule this pod onto a specific node."},
         {"Nominated Node", "string", "", 1, "nominatedNodeName is set when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods."},
         {"Readiness Gates", "string", "", 1, "If specified, all readiness gates will be evaluated for pod readiness."}},
        PodCells}},
  };
  return *printers;
}

json::object PartialObjectMetadata(const json::object& obj) {
  json::object p;
  p["kind"] = "PartialObjectMetadata";
  p["apiVersion"] = "meta.k8s.io/v1";
  if (auto* m = obj.if_contains("metadata")) p["metadata"] = *m;
  return p;
}

}  // namespace

bool WantsTable(std::string_view accept) {
  return accept.find("as=Table") != std::string_view::npos &&
         accept.find("g=meta.k8s.io") != std::string_view::npos;
}

bool HasPrinter(const ResourceInfo& r) { return Printers().count(r.kind) > 0; }

std::string HumanDuration(std::chrono::seconds d) {
  int64_t seconds = d.count();
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    int64_t s = seconds % 60;
    return s == 0 ? std::to_string(minutes) + "m"
                  : std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  int64_t hours = minutes / 60;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return m == 0 ? std::to_string(hours) + "h"
                  : std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return h == 0 ? std::to_string(hours / 24) + "d"
                  : std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    int64_t dy = (hours / 24) % 365;
    return dy == 0 ? std::to_string(hours / 24 / 365) + "y"
                   : std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

namespace {

std::string AgeOf(const json::object& obj, std::chrono::system_clock::time_point now) {
  std::string ts = Str(obj, {"metadata", "creationTimestamp"});
  std::tm tm{};
  if (ts.empty() || strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) {
    return "<unknown>";
  }
  auto created = std::chrono::system_clock::from_time_t(timegm(&tm));
  return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - created));
}

}  // namespace

json::object ToTable(const ResourceInfo& r, const json::array& items,
                     const std::string& resource_version, const std::string& continue_token,
                     std::string_view include_object, std::chrono::system_clock::time_point now) {
  const Printer& p = Printers().at(r.kind);
  json::object t;
  t["kind"] = "Table";
  t["apiVersion"] = "meta.k8s.io/v1";
  json::object meta;
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  if (!continue_token.empty()) meta["continue"] = continue_token;
  t["metadata"] = std::move(meta);
  json::array cols;
  for (const auto& c : p.columns) {
    json::object col;
    col["name"] = c.name;
    col["type"] = c.type;
    col["format"] = c.format;
    col["description"] = c.description;
    col["priority"] = c.priority;
    cols.push_back(std::move(col));
  }
  t["columnDefinitions"] = std::move(cols);
  json::array rows;
  for (const auto& item : items) {
    if (!item.is_object()) continue;
    const auto& obj = item.as_object();
    json::object row;
    row["cells"] = p.cells(obj, AgeOf(obj, now));
    if (include_object == "Object") {
      row["object"] = obj;
    } else if (include_object != "None") {
      row["object"] = PartialObjectMetadata(obj);
    }
    rows.push_back(std::move(row));
  }
  t["rows"] = std::move(rows);
  return t;
}

}  // namespace keelson::apiserver
