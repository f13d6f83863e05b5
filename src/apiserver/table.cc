#include "apiserver/table.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using Clock = std::chrono::system_clock;
using Path = std::initializer_list<std::string_view>;

// --- reading objects -----------------------------------------------------------------------------

const json::value* At(const json::object& o, Path path) {
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

std::string Str(const json::object& o, Path path, std::string fallback = "") {
  const json::value* v = At(o, path);
  return v && v->is_string() ? std::string(v->as_string()) : fallback;
}

int64_t Int(const json::object& o, Path path, int64_t fallback = 0) {
  const json::value* v = At(o, path);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return fallback;
}

std::optional<bool> Bool(const json::object& o, Path path) {
  const json::value* v = At(o, path);
  if (v && v->is_bool()) return v->as_bool();
  return std::nullopt;
}

const json::array& Arr(const json::object& o, Path path) {
  static const json::array kEmpty;
  const json::value* v = At(o, path);
  return v && v->is_array() ? v->as_array() : kEmpty;
}

const json::object& Obj(const json::object& o, Path path) {
  static const json::object kEmpty;
  const json::value* v = At(o, path);
  return v && v->is_object() ? v->as_object() : kEmpty;
}

// The objects of an array, skipping anything else.
std::vector<const json::object*> Objects(const json::array& a) {
  std::vector<const json::object*> out;
  for (const auto& v : a) {
    if (v.is_object()) out.push_back(&v.as_object());
  }
  return out;
}

std::string Name(const json::object& o) { return Str(o, {"metadata", "name"}); }

std::string Join(const std::vector<std::string>& v, std::string_view sep = ",") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

std::string OrDefault(std::string s, const char* fallback) { return s.empty() ? fallback : s; }

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- formatting as upstream's printers do --------------------------------------------------------

// A string map as labels.FormatLabels prints it: sorted "k=v" pairs, "<none>" when empty.
std::string FormatLabels(const json::value* m) {
  if (!m || !m->is_object() || m->as_object().empty()) return "<none>";
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : m->as_object()) {
    sorted[std::string(k)] = v.is_string() ? std::string(v.as_string()) : "";
  }
  std::vector<std::string> parts;
  for (const auto& [k, v] : sorted) parts.push_back(k + "=" + v);
  return Join(parts);
}

// A metav1.LabelSelector as a labels.Selector prints it: the requirements sorted by key, ""
// for a missing or empty selector.
std::string SelectorString(const json::value* sel) {
  if (!sel || !sel->is_object()) return "";
  std::vector<std::pair<std::string, std::string>> reqs;  // key, text
  const auto& so = sel->as_object();
  if (auto* ml = so.if_contains("matchLabels"); ml && ml->is_object()) {
    for (const auto& [k, v] : ml->as_object()) {
      std::string key(k);
      reqs.emplace_back(key, key + "=" + (v.is_string() ? std::string(v.as_string()) : ""));
    }
  }
  if (auto* me = so.if_contains("matchExpressions"); me && me->is_array()) {
    for (const json::object* e : Objects(me->as_array())) {
      std::string key = Str(*e, {"key"}), op = Str(*e, {"operator"});
      std::set<std::string> vals;
      for (const auto& v : Arr(*e, {"values"})) {
        if (v.is_string()) vals.emplace(v.as_string());
      }
      std::string list = Join(std::vector<std::string>(vals.begin(), vals.end()));
      if (op == "In")
        reqs.emplace_back(key, key + " in (" + list + ")");
      else if (op == "NotIn")
        reqs.emplace_back(key, key + " notin (" + list + ")");
      else if (op == "Exists")
        reqs.emplace_back(key, key);
      else if (op == "DoesNotExist")
        reqs.emplace_back(key, "!" + key);
    }
  }
  std::stable_sort(reqs.begin(), reqs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> parts;
  for (auto& r : reqs) parts.push_back(std::move(r.second));
  return Join(parts);
}

// metav1.FormatLabelSelector: the selector, or "<none>".
std::string FormatLabelSelector(const json::value* sel) {
  return OrDefault(SelectorString(sel), "<none>");
}

// An IntOrString (minAvailable, maxUnavailable) as text; `fallback` when absent.
std::string IntOrString(const json::value* v, const char* fallback) {
  if (v && v->is_int64()) return std::to_string(v->as_int64());
  if (v && v->is_uint64()) return std::to_string(v->as_uint64());
  if (v && v->is_string()) return std::string(v->as_string());
  return fallback;
}

// The containers' names and images, each comma-separated.
std::pair<std::string, std::string> ContainerCells(const json::object& pod_spec) {
  std::vector<std::string> names, images;
  for (const json::object* c : Objects(Arr(pod_spec, {"containers"}))) {
    names.push_back(Str(*c, {"name"}));
    images.push_back(Str(*c, {"image"}));
  }
  return {Join(names), Join(images)};
}

// RFC 3339 time as the API writes it ("2024-05-01T10:00:00Z", with optional fraction and
// offset).
std::optional<Clock::time_point> ParseTime(std::string_view s) {
  auto num = [&](size_t pos, size_t len, int* out) {
    if (pos + len > s.size()) return false;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, *out);
    return ec == std::errc() && p == s.data() + pos + len;
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':' || !num(0, 4, &y) || !num(5, 2, &mo) || !num(8, 2, &d) ||
      !num(11, 2, &h) || !num(14, 2, &mi) || !num(17, 2, &sec)) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok()) return std::nullopt;
  Clock::time_point t = std::chrono::sys_days(ymd) + std::chrono::hours(h) +
                        std::chrono::minutes(mi) + std::chrono::seconds(sec);
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    int64_t micros = 0, scale = 100000;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      micros += (s[i] - '0') * scale;
      scale /= 10;
    }
    t += std::chrono::microseconds(micros);
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return t;
  int oh, om;
  if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' && num(i + 1, 2, &oh) &&
      num(i + 4, 2, &om)) {
    auto offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    return s[i] == '+' ? t - offset : t + offset;
  }
  return std::nullopt;
}

// What a printer's cells see besides the object.
struct PrintContext {
  Clock::time_point now;

  // The time elapsed since the timestamp at `path`, as kubectl shows ages; "<unknown>" when
  // the timestamp is missing.
  std::string Since(const json::object& o, Path path) const {
    auto t = ParseTime(Str(o, path));
    if (!t) return "<unknown>";
    return HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
  }
  std::string Age(const json::object& o) const {
    return Since(o, {"metadata", "creationTimestamp"});
  }
};

// --- columns -------------------------------------------------------------------------------------

struct Column {
  const char* name;
  const char* type;  // "string", "integer", "boolean", "date"
  int priority;      // 0: always shown; 1: with -o wide
  const char* description;
  const char* format = "";  // "name" for the column holding the object's name
};

using Cells = std::function<json::array(const json::object& obj, const PrintContext& ctx)>;

}  // namespace

struct TablePrinter {
  std::vector<Column> columns;
  Cells cells;
  // Row conditions (a pod that has completed), when the kind has them.
  std::function<json::array(const json::object& obj)> conditions = nullptr;
};

namespace {

constexpr const char* kNameDesc =
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated.";
constexpr const char* kCreationDesc =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created.";
constexpr const char* kContainersDesc = "Names of each container in the template.";
constexpr const char* kImagesDesc = "Images referenced by each container in the template.";
constexpr const char* kSelectorDesc =
    "A label query over pods that should match the replica count.";

Column NameColumn() { return {"Name", "string", 0, kNameDesc, "name"}; }
Column AgeColumn() { return {"Age", "string", 0, kCreationDesc}; }
Column Text(const char* name, const char* desc) { return {name, "string", 0, desc}; }
Column Integer(const char* name, const char* desc) { return {name, "integer", 0, desc}; }
Column Wide(const char* name, const char* desc) { return {name, "string", 1, desc}; }

// The containers and images of a workload's pod template: the first wide columns of the
// workload printers.
void AppendTemplateCells(json::array& cells, const json::object& pod_spec) {
  auto [names, images] = ContainerCells(pod_spec);
  cells.emplace_back(json::string(names));
  cells.emplace_back(json::string(images));
}

// --- pods ----------------------------------------------------------------------------------------

bool ConditionTrue(const json::object& o, Path conditions, std::string_view type) {
  for (const json::object* c : Objects(Arr(o, conditions))) {
    if (Str(*c, {"type"}) == type) return Str(*c, {"status"}) == "True";
  }
  return false;
}

// Keeps in `latest` the latest time a container (its status given) last terminated.
void NoteLastRestart(std::optional<Clock::time_point>& latest, const json::object& status) {
  auto t = ParseTime(Str(status, {"lastState", "terminated", "finishedAt"}));
  if (t && (!latest || *t > *latest)) latest = t;
}

std::string TerminatedText(const json::object& term, const char* prefix) {
  std::string reason = Str(term, {"reason"});
  if (!reason.empty()) return prefix + reason;
  if (int64_t sig = Int(term, {"signal"}); sig != 0) {
    return std::string(prefix) + "Signal:" + std::to_string(sig);
  }
  return std::string(prefix) + "ExitCode:" + std::to_string(Int(term, {"exitCode"}));
}

// The cells of a pod: READY, the derived STATUS and RESTARTS the way upstream's printer
// computes them (init containers, sidecars, the last restart's age, Terminating).
json::array PodCells(const json::object& pod, const PrintContext& ctx) {
  const json::object& spec = Obj(pod, {"spec"});
  const json::object& status = Obj(pod, {"status"});
  std::string phase = Str(status, {"phase"}, "Pending");
  std::string reason = OrDefault(Str(status, {"reason"}), phase.c_str());
  for (const json::object* c : Objects(Arr(status, {"conditions"}))) {
    if (Str(*c, {"type"}) == "PodScheduled" && Str(*c, {"reason"}) == "SchedulingGated") {
      reason = "SchedulingGated";
    }
  }
  int64_t total = static_cast<int64_t>(Arr(spec, {"containers"}).size());
  std::set<std::string> sidecars;  // init containers with restartPolicy Always
  const json::array& inits = Arr(spec, {"initContainers"});
  for (const json::object* c : Objects(inits)) {
    if (Str(*c, {"restartPolicy"}) == "Always") {
      sidecars.insert(Str(*c, {"name"}));
      ++total;
    }
  }
  int64_t ready = 0, restarts = 0, sidecar_restarts = 0;
  std::optional<Clock::time_point> last_restart, last_sidecar_restart;
  bool initializing = false;
  int index = 0;
  for (const json::object* cs : Objects(Arr(status, {"initContainerStatuses"}))) {
    int i = index++;
    bool sidecar = sidecars.count(Str(*cs, {"name"})) > 0;
    restarts += Int(*cs, {"restartCount"});
    NoteLastRestart(last_restart, *cs);
    if (sidecar) {
      sidecar_restarts += Int(*cs, {"restartCount"});
      NoteLastRestart(last_sidecar_restart, *cs);
    }
    const json::object* term = nullptr;
    if (auto* t = At(*cs, {"state", "terminated"}); t && t->is_object()) term = &t->as_object();
    std::string waiting = Str(*cs, {"state", "waiting", "reason"});
    if (term && Int(*term, {"exitCode"}) == 0) continue;
    if (sidecar && Bool(*cs, {"started"}).value_or(false)) {
      if (Bool(*cs, {"ready"}).value_or(false)) ++ready;
      continue;
    }
    if (term) {
      reason = TerminatedText(*term, "Init:");
    } else if (!waiting.empty() && waiting != "PodInitializing") {
      reason = "Init:" + waiting;
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(inits.size());
    }
    initializing = true;
    break;
  }
  if (!initializing || ConditionTrue(status, {"conditions"}, "Initialized")) {
    restarts = sidecar_restarts;
    last_restart = last_sidecar_restart;
    bool has_running = false;
    auto statuses = Objects(Arr(status, {"containerStatuses"}));
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const json::object& cs = **it;
      restarts += Int(cs, {"restartCount"});
      NoteLastRestart(last_restart, cs);
      std::string waiting = Str(cs, {"state", "waiting", "reason"});
      const json::value* term = At(cs, {"state", "terminated"});
      if (!waiting.empty()) {
        reason = waiting;
      } else if (term && term->is_object()) {
        reason = TerminatedText(term->as_object(), "");
      } else if (Bool(cs, {"ready"}).value_or(false) && At(cs, {"state", "running"})) {
        has_running = true;
        ++ready;
      }
    }
    if (reason == "Completed" && has_running) {
      reason = ConditionTrue(status, {"conditions"}, "Ready") ? "Running" : "NotReady";
    }
  }
  if (At(pod, {"metadata", "deletionTimestamp"})) {
    if (Str(status, {"reason"}) == "NodeLost") {
      reason = "Unknown";
    } else if (phase != "Succeeded" && phase != "Failed") {
      reason = "Terminating";
    }
  }
  std::string restarts_text = std::to_string(restarts);
  if (restarts != 0 && last_restart) {
    restarts_text +=
        " (" +
        HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(ctx.now - *last_restart)) +
        " ago)";
  }
  std::string ip;
  if (const auto ips = Objects(Arr(status, {"podIPs"})); !ips.empty()) {
    ip = Str(*ips.front(), {"ip"});
  }
  if (ip.empty()) ip = Str(status, {"podIP"});
  std::string gates = "<none>";
  if (const auto& rg = Arr(spec, {"readinessGates"}); !rg.empty()) {
    int true_conditions = 0;
    for (const json::object* g : Objects(rg)) {
      if (ConditionTrue(status, {"conditions"}, Str(*g, {"conditionType"}))) ++true_conditions;
    }
    gates = std::to_string(true_conditions) + "/" + std::to_string(rg.size());
  }
  return json::array{json::string(Name(pod)),
                     json::string(std::to_string(ready) + "/" + std::to_string(total)),
                     json::string(reason),
                     json::string(restarts_text),
                     json::string(ctx.Age(pod)),
                     json::string(OrDefault(ip, "<none>")),
                     json::string(OrDefault(Str(spec, {"nodeName"}), "<none>")),
                     json::string(OrDefault(Str(status, {"nominatedNodeName"}), "<none>")),
                     json::string(gates)};
}

json::array PodConditions(const json::object& pod) {
  std::string phase = Str(pod, {"status", "phase"});
  if (phase != "Succeeded" && phase != "Failed") return {};
  json::object c;
  c["type"] = "Completed";
  c["status"] = "True";
  c["reason"] = phase;
  c["message"] = phase == "Succeeded" ? "The pod has completed successfully." : "The pod failed.";
  return json::array{std::move(c)};
}

TablePrinter PodPrinter() {
  return {{NameColumn(),
           Text("Ready", "The aggregate readiness state of this pod for accepting traffic."),
           Text("Status", "The aggregate status of the containers in this pod."),
           Text("Restarts",
                "The number of times the containers in this pod have been "
                "restarted and when the last container in this pod has restarted."),
           AgeColumn(),
           Wide("IP",
                "podIP address allocated to the pod. Routable at least within the "
                "cluster. Empty if not yet allocated."),
           Wide("Node", "NodeName indicates in which node this pod is scheduled."),
           Wide("Nominated Node",
                "nominatedNodeName is set only when this pod preempts other "
                "pods on the node, but it cannot be scheduled right away as "
                "preemption victims receive their graceful termination "
                "periods."),
           Wide("Readiness Gates",
                "If specified, all readiness gates will be evaluated for pod "
                "readiness.")},
          PodCells,
          PodConditions};
}

// --- nodes and services --------------------------------------------------------------------------

std::string NodeStatus(const json::object& o) {
  std::vector<std::string> status;
  for (const json::object* c : Objects(Arr(o, {"status", "conditions"}))) {
    if (Str(*c, {"type"}) != "Ready") continue;
    status = {Str(*c, {"status"}) == "True" ? "Ready" : "NotReady"};
  }
  if (status.empty()) status.push_back("Unknown");
  if (Bool(o, {"spec", "unschedulable"}).value_or(false)) status.push_back("SchedulingDisabled");
  return Join(status);
}

std::string NodeRoles(const json::object& o) {
  constexpr std::string_view kPrefix = "node-role.kubernetes.io/";
  std::set<std::string> roles;
  for (const auto& [k, v] : Obj(o, {"metadata", "labels"})) {
    std::string_view key = k;
    if (key.substr(0, kPrefix.size()) == kPrefix && key.size() > kPrefix.size()) {
      roles.emplace(key.substr(kPrefix.size()));
    } else if (key == "kubernetes.io/role" && v.is_string() && !v.as_string().empty()) {
      roles.emplace(v.as_string());
    }
  }
  return OrDefault(Join(std::vector<std::string>(roles.begin(), roles.end())), "<none>");
}

std::string NodeAddress(const json::object& o, std::string_view type) {
  for (const json::object* a : Objects(Arr(o, {"status", "addresses"}))) {
    if (Str(*a, {"type"}) == type) return Str(*a, {"address"});
  }
  return "<none>";
}

TablePrinter NodePrinter() {
  constexpr const char* kAddresses =
      "List of addresses reachable to the node. Queried from cloud provider, if available.";
  return {{NameColumn(), Text("Status", "The status of the node"),
           Text("Roles", "The roles of the node"), AgeColumn(),
           Text("Version", "Kubelet Version reported by the node."),
           Wide("Internal-IP", kAddresses), Wide("External-IP", kAddresses),
           Wide("OS-Image",
                "OS Image reported by the node from /etc/os-release (e.g. Debian "
                "GNU/Linux 7 (wheezy))."),
           Wide("Kernel-Version",
                "Kernel Version reported by the node from 'uname -r' (e.g. "
                "3.16.0-0.bpo.4-amd64)."),
           Wide("Container-Runtime",
                "ContainerRuntime Version reported by the node through "
                "runtime remote API (e.g. containerd://1.4.2).")},
          [](const json::object& o, const PrintContext& ctx) {
            const json::object& info = Obj(o, {"status", "nodeInfo"});
            return json::array{
                json::string(Name(o)),
                json::string(NodeStatus(o)),
                json::string(NodeRoles(o)),
                json::string(ctx.Age(o)),
                json::string(Str(info, {"kubeletVersion"})),
                json::string(NodeAddress(o, "InternalIP")),
                json::string(NodeAddress(o, "ExternalIP")),
                json::string(OrDefault(Str(info, {"osImage"}), "<unknown>")),
                json::string(OrDefault(Str(info, {"kernelVersion"}), "<unknown>")),
                json::string(OrDefault(Str(info, {"containerRuntimeVersion"}), "<unknown>"))};
          }};
}

std::vector<std::string> Strings(const json::array& a) {
  std::vector<std::string> out;
  for (const auto& v : a) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

std::string ServiceExternalIp(const json::object& o) {
  std::string type = Str(o, {"spec", "type"}, "ClusterIP");
  std::vector<std::string> external = Strings(Arr(o, {"spec", "externalIPs"}));
  if (type == "ClusterIP" || type == "NodePort") {
    return external.empty() ? "<none>" : Join(external);
  }
  if (type == "LoadBalancer") {
    std::set<std::string> lb;
    for (const json::object* i : Objects(Arr(o, {"status", "loadBalancer", "ingress"}))) {
      std::string ip = Str(*i, {"ip"});
      if (ip.empty()) ip = Str(*i, {"hostname"});
      if (!ip.empty()) lb.insert(ip);
    }
    std::vector<std::string> all(lb.begin(), lb.end());
    all.insert(all.end(), external.begin(), external.end());
    return all.empty() ? "<pending>" : Join(all);
  }
  if (type == "ExternalName") return Str(o, {"spec", "externalName"});
  return "<unknown>";
}

std::string ServicePorts(const json::object& o) {
  std::vector<std::string> out;
  for (const json::object* p : Objects(Arr(o, {"spec", "ports"}))) {
    std::string port = std::to_string(Int(*p, {"port"}));
    if (int64_t node = Int(*p, {"nodePort"}); node > 0) port += ":" + std::to_string(node);
    out.push_back(port + "/" + Str(*p, {"protocol"}, "TCP"));
  }
  return OrDefault(Join(out), "<none>");
}

TablePrinter ServicePrinter() {
  return {{NameColumn(), Text("Type", "type determines how the Service is exposed."),
           Text("Cluster-IP", "clusterIP is the IP address of the service."),
           Text("External-IP",
                "externalIPs is a list of IP addresses for which nodes in the "
                "cluster will also accept traffic for this service."),
           Text("Port(s)", "The list of ports that are exposed by this service."), AgeColumn(),
           Wide("Selector",
                "Route service traffic to pods with label keys and values matching "
                "this selector.")},
          [](const json::object& o, const PrintContext& ctx) {
            std::string cluster_ip;
            if (auto ips = Strings(Arr(o, {"spec", "clusterIPs"})); !ips.empty()) {
              cluster_ip = ips.front();
            }
            if (cluster_ip.empty()) cluster_ip = Str(o, {"spec", "clusterIP"});
            return json::array{json::string(Name(o)),
                               json::string(Str(o, {"spec", "type"}, "ClusterIP")),
                               json::string(OrDefault(cluster_ip, "<none>")),
                               json::string(ServiceExternalIp(o)),
                               json::string(ServicePorts(o)),
                               json::string(ctx.Age(o)),
                               json::string(FormatLabels(At(o, {"spec", "selector"})))};
          }};
}

// "a,b,c + N more..." for lists that upstream truncates at three entries.
std::string FirstThree(const std::vector<std::string>& all, const char* if_empty) {
  constexpr size_t kMax = 3;
  if (all.size() > kMax) {
    return Join(std::vector<std::string>(all.begin(), all.begin() + kMax)) + " + " +
           std::to_string(all.size() - kMax) + " more...";
  }
  return all.empty() ? if_empty : Join(all);
}

std::string HostPort(const std::string& ip, int64_t port) {
  bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

// The ENDPOINTS column: address:port for every port of every subset, the first three shown.
std::string EndpointsText(const json::object& o) {
  const json::array& subsets = Arr(o, {"subsets"});
  if (subsets.empty()) return "<none>";
  std::vector<std::string> all;
  for (const json::object* ss : Objects(subsets)) {
    auto addresses = Objects(Arr(*ss, {"addresses"}));
    const json::array& ports = Arr(*ss, {"ports"});
    if (ports.empty()) {  // a headless service without ports
      for (const json::object* a : addresses) all.push_back(Str(*a, {"ip"}));
      continue;
    }
    for (const json::object* p : Objects(ports)) {
      for (const json::object* a : addresses) {
        all.push_back(HostPort(Str(*a, {"ip"}), Int(*p, {"port"})));
      }
    }
  }
  return FirstThree(all, "");
}

// --- events --------------------------------------------------------------------------------------

// Where an Event keeps each field it prints (events.k8s.io/v1 Events are stored, and printed,
// in their core/v1 form).
struct EventFields {
  std::string_view regarding, message, first, last, count, source, reporting_controller;
};
constexpr EventFields kCoreEvent{.regarding = "involvedObject",
                                 .message = "message",
                                 .first = "firstTimestamp",
                                 .last = "lastTimestamp",
                                 .count = "count",
                                 .source = "source",
                                 .reporting_controller = "reportingComponent"};

std::string Trim(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

json::array EventCells(const json::object& o, const PrintContext& ctx, const EventFields& f) {
  std::string first =
      Str(o, {f.first}).empty() ? ctx.Since(o, {"eventTime"}) : ctx.Since(o, {f.first});
  std::string last = Str(o, {f.last}).empty() ? first : ctx.Since(o, {f.last});
  int64_t count = Int(o, {f.count});
  if (At(o, {"series"}) && At(o, {"series"})->is_object()) {
    last = ctx.Since(o, {"series", "lastObservedTime"});
    count = Int(o, {"series", "count"});
  } else if (count == 0) {
    count = 1;  // singleton events of the new API have no count
  }
  const json::object& regarding = Obj(o, {f.regarding});
  std::string target = Lower(Str(regarding, {"kind"}));
  if (std::string n = Str(regarding, {"name"}); !n.empty()) target += "/" + n;
  std::string component = Str(o, {f.source, "component"});
  if (component.empty()) component = Str(o, {f.reporting_controller});
  std::string host = Str(o, {f.source, "host"});
  if (host.empty()) host = Str(o, {"reportingInstance"});
  std::string source = host.empty() ? component : component + ", " + host;
  return json::array{json::string(last),
                     json::string(Str(o, {"type"})),
                     json::string(Str(o, {"reason"})),
                     json::string(target),
                     json::string(Str(regarding, {"fieldPath"})),
                     json::string(source),
                     json::string(Trim(Str(o, {f.message}))),
                     json::string(first),
                     json::value(count),
                     json::string(Name(o))};
}

TablePrinter EventPrinter(const EventFields& fields) {
  return {{Text("Last Seen",
                "The time at which the most recent occurrence of this event was "
                "recorded."),
           Text("Type",
                "Type of this event (Normal, Warning), new types could be added in the "
                "future"),
           Text("Reason",
                "This should be a short, machine understandable string that gives "
                "the reason for the transition into the object's current status."),
           Text("Object", "The object that this event is about."),
           Wide("Subobject",
                "If referring to a piece of an object instead of an entire object, "
                "this string should contain a valid JSON/Go field access "
                "statement, such as desiredState.manifest.containers[2]."),
           Wide("Source",
                "The component reporting this event. Should be a short machine "
                "understandable string."),
           Text("Message", "A human-readable description of the status of this operation."),
           Wide("First Seen",
                "The time at which the event was first recorded. (Time of server "
                "receipt is in TypeMeta.)"),
           Wide("Count", "The number of times this event has occurred."),
           {"Name", "string", 1, kNameDesc, "name"}},
          [fields](const json::object& o, const PrintContext& ctx) {
            return EventCells(o, ctx, fields);
          }};
}

// --- storage -------------------------------------------------------------------------------------

std::string AccessModes(const json::array& modes) {
  std::set<std::string> have;
  for (const auto& m : Strings(modes)) have.insert(m);
  std::vector<std::string> out;
  for (auto [mode, abbrev] :
       {std::pair{"ReadWriteOnce", "RWO"}, std::pair{"ReadOnlyMany", "ROX"},
        std::pair{"ReadWriteMany", "RWX"}, std::pair{"ReadWriteOncePod", "RWOP"}}) {
    if (have.count(mode)) out.push_back(abbrev);
  }
  return Join(out);
}

// The storage class of a PV or PVC: the beta annotation wins over spec.storageClassName.
std::string StorageClass(const json::object& o) {
  const json::object& ann = Obj(o, {"metadata", "annotations"});
  if (auto* a = ann.if_contains("volume.beta.kubernetes.io/storage-class"); a && a->is_string()) {
    return std::string(a->as_string());
  }
  return Str(o, {"spec", "storageClassName"});
}

std::string PhaseOrTerminating(const json::object& o) {
  if (At(o, {"metadata", "deletionTimestamp"})) return "Terminating";
  return Str(o, {"status", "phase"});
}

TablePrinter PersistentVolumePrinter() {
  return {{NameColumn(),
           Text("Capacity",
                "capacity is the description of the persistent volume's resources "
                "and capacity."),
           Text("Access Modes", "accessModes contains all ways the volume can be mounted."),
           Text("Reclaim Policy",
                "persistentVolumeReclaimPolicy defines what happens to a "
                "persistent volume when released from its claim."),
           Text("Status",
                "phase indicates if a volume is available, bound to a claim, or "
                "released by a claim."),
           Text("Claim",
                "claimRef is part of a bi-directional binding between "
                "PersistentVolume and PersistentVolumeClaim."),
           Text("StorageClass", "StorageClass of the pv"),
           Text("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
           Text("Reason",
                "reason is a brief CamelCase string that describes any failure and "
                "is meant for machine parsing and tidy display in the CLI."),
           AgeColumn(),
           Wide("VolumeMode",
                "volumeMode defines if a volume is intended to be used with a "
                "formatted filesystem or to remain in raw block state.")},
          [](const json::object& o, const PrintContext& ctx) {
            std::string claim;
            if (const auto* ref = At(o, {"spec", "claimRef"}); ref && ref->is_object()) {
              claim = Str(ref->as_object(), {"namespace"}) + "/" + Str(ref->as_object(), {"name"});
            }
            return json::array{
                json::string(Name(o)),
                json::string(Str(o, {"spec", "capacity", "storage"}, "0")),
                json::string(AccessModes(Arr(o, {"spec", "accessModes"}))),
                json::string(Str(o, {"spec", "persistentVolumeReclaimPolicy"})),
                json::string(PhaseOrTerminating(o)),
                json::string(claim),
                json::string(StorageClass(o)),
                json::string(Str(o, {"spec", "volumeAttributesClassName"}, "<unset>")),
                json::string(Str(o, {"status", "reason"})),
                json::string(ctx.Age(o)),
                json::string(Str(o, {"spec", "volumeMode"}, "<unset>"))};
          }};
}

TablePrinter PersistentVolumeClaimPrinter() {
  return {
      {NameColumn(), Text("Status", "phase represents the current phase of PersistentVolumeClaim."),
       Text("Volume",
            "volumeName is the binding reference to the PersistentVolume backing "
            "this claim."),
       Text("Capacity",
            "capacity represents the actual resources of the underlying "
            "volume."),
       Text("Access Modes",
            "accessModes contains the actual access modes the volume "
            "backing the PVC has."),
       Text("StorageClass", "StorageClass of the pvc"),
       Text("VolumeAttributesClass", "VolumeAttributesClass of the pvc"), AgeColumn(),
       Wide("VolumeMode",
            "volumeMode defines what type of volume is required by the "
            "claim.")},
      [](const json::object& o, const PrintContext& ctx) {
        std::string volume = Str(o, {"spec", "volumeName"});
        std::string capacity, modes;
        if (!volume.empty()) {  // only a bound claim has them
          capacity = Str(o, {"status", "capacity", "storage"}, "0");
          modes = AccessModes(Arr(o, {"status", "accessModes"}));
        }
        return json::array{json::string(Name(o)),
                           json::string(PhaseOrTerminating(o)),
                           json::string(volume),
                           json::string(capacity),
                           json::string(modes),
                           json::string(StorageClass(o)),
                           json::string(Str(o, {"spec", "volumeAttributesClassName"}, "<unset>")),
                           json::string(ctx.Age(o)),
                           json::string(Str(o, {"spec", "volumeMode"}, "<unset>"))};
      }};
}

// --- workloads -----------------------------------------------------------------------------------

std::string ReadyOfDesired(const json::object& o) {
  return std::to_string(Int(o, {"status", "readyReplicas"})) + "/" +
         std::to_string(Int(o, {"spec", "replicas"}, 1));
}

// ReplicaSets and ReplicationControllers print alike; an RC's selector is a plain map.
TablePrinter ReplicaPrinter(bool map_selector) {
  return {{NameColumn(), Integer("Desired", "Replicas is the number of desired replicas."),
           Integer("Current", "Replicas is the most recently observed number of replicas."),
           Integer("Ready", "The number of ready replicas for this replica set."), AgeColumn(),
           Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
           Wide("Selector", kSelectorDesc)},
          [map_selector](const json::object& o, const PrintContext& ctx) {
            json::array cells{json::string(Name(o)), json::value(Int(o, {"spec", "replicas"}, 1)),
                              json::value(Int(o, {"status", "replicas"})),
                              json::value(Int(o, {"status", "readyReplicas"})),
                              json::string(ctx.Age(o))};
            AppendTemplateCells(cells, Obj(o, {"spec", "template", "spec"}));
            const json::value* sel = At(o, {"spec", "selector"});
            cells.emplace_back(
                json::string(map_selector ? FormatLabels(sel) : FormatLabelSelector(sel)));
            return cells;
          }};
}

TablePrinter DeploymentPrinter() {
  return {{NameColumn(), Text("Ready", "Number of the pod with ready state"),
           Text("Up-to-date",
                "Total number of non-terminated pods targeted by this deployment "
                "that have the desired template spec."),
           Text("Available",
                "Total number of available pods (ready for at least "
                "minReadySeconds) targeted by this deployment."),
           AgeColumn(), Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
           Wide("Selector",
                "Label selector for pods. Existing ReplicaSets whose pods are "
                "selected by this will be the ones affected by this deployment.")},
          [](const json::object& o, const PrintContext& ctx) {
            json::array cells{json::string(Name(o)), json::string(ReadyOfDesired(o)),
                              json::value(Int(o, {"status", "updatedReplicas"})),
                              json::value(Int(o, {"status", "availableReplicas"})),
                              json::string(ctx.Age(o))};
            AppendTemplateCells(cells, Obj(o, {"spec", "template", "spec"}));
            cells.emplace_back(json::string(SelectorString(At(o, {"spec", "selector"}))));
            return cells;
          }};
}

TablePrinter StatefulSetPrinter() {
  return {{NameColumn(), Text("Ready", "Number of the pod with ready state"), AgeColumn(),
           Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc)},
          [](const json::object& o, const PrintContext& ctx) {
            json::array cells{json::string(Name(o)), json::string(ReadyOfDesired(o)),
                              json::string(ctx.Age(o))};
            AppendTemplateCells(cells, Obj(o, {"spec", "template", "spec"}));
            return cells;
          }};
}

TablePrinter DaemonSetPrinter() {
  return {{NameColumn(),
           Integer("Desired",
                   "The total number of nodes that should be running the daemon "
                   "pod (including nodes correctly running the daemon pod)."),
           Integer("Current",
                   "The number of nodes that are running at least 1 daemon pod and "
                   "are supposed to run the daemon pod."),
           Integer("Ready",
                   "The number of nodes that should be running the daemon pod and have "
                   "one or more of the daemon pod running and ready."),
           Integer("Up-to-date",
                   "The total number of nodes that are running updated daemon "
                   "pod"),
           Integer("Available",
                   "The number of nodes that should be running the daemon pod and "
                   "have one or more of the daemon pod running and available "
                   "(ready for at least spec.minReadySeconds)"),
           Text("Node Selector",
                "NodeSelector is a selector which must be true for the pod to "
                "fit on a node."),
           AgeColumn(), Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
           Wide("Selector", "A label query over pods that are managed by the daemon set.")},
          [](const json::object& o, const PrintContext& ctx) {
            json::array cells{
                json::string(Name(o)),
                json::value(Int(o, {"status", "desiredNumberScheduled"})),
                json::value(Int(o, {"status", "currentNumberScheduled"})),
                json::value(Int(o, {"status", "numberReady"})),
                json::value(Int(o, {"status", "updatedNumberScheduled"})),
                json::value(Int(o, {"status", "numberAvailable"})),
                json::string(FormatLabels(At(o, {"spec", "template", "spec", "nodeSelector"}))),
                json::string(ctx.Age(o))};
            AppendTemplateCells(cells, Obj(o, {"spec", "template", "spec"}));
            cells.emplace_back(json::string(FormatLabelSelector(At(o, {"spec", "selector"}))));
            return cells;
          }};
}

TablePrinter ControllerRevisionPrinter() {
  return {{NameColumn(), Text("Controller", "Controller of the object"),
           Text("Revision", "Revision indicates the revision of the state represented by Data."),
           AgeColumn()},
          [](const json::object& o, const PrintContext& ctx) {
            std::string controller = "<none>";
            for (const json::object* ref : Objects(Arr(o, {"metadata", "ownerReferences"}))) {
              if (!Bool(*ref, {"controller"}).value_or(false)) continue;
              // "statefulset.apps/web": the lower-cased group kind and the name.
              std::string api_version = Str(*ref, {"apiVersion"});
              auto slash = api_version.find('/');
              std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
              std::string kind = Str(*ref, {"kind"});
              std::string name = Str(*ref, {"name"});
              if (kind.empty() && group.empty()) {
                controller = name;
              } else {
                controller = Lower(group.empty() ? kind : kind + "." + group) + "/" + name;
              }
              break;
            }
            return json::array{json::string(Name(o)), json::string(controller),
                               json::value(Int(o, {"revision"})), json::string(ctx.Age(o))};
          }};
}

TablePrinter JobPrinter() {
  return {
      {NameColumn(), Text("Status", "Status of the job."),
       Text("Completions", "The number of pods which reached phase Succeeded."),
       Text("Duration", "Time required to complete the job."), AgeColumn(),
       Wide("Containers", kContainersDesc), Wide("Images", kImagesDesc),
       Wide("Selector", "A label query over pods that should match the pod count.")},
      [](const json::object& o, const PrintContext& ctx) {
        int64_t succeeded = Int(o, {"status", "succeeded"});
        std::string completions;
        if (const json::value* c = At(o, {"spec", "completions"}); c && c->is_number()) {
          completions =
              std::to_string(succeeded) + "/" + std::to_string(Int(o, {"spec", "completions"}));
        } else if (int64_t p = Int(o, {"spec", "parallelism"}); p > 1) {
          completions = std::to_string(succeeded) + "/1 of " + std::to_string(p);
        } else {
          completions = std::to_string(succeeded) + "/1";
        }
        std::string duration;
        if (auto start = ParseTime(Str(o, {"status", "startTime"}))) {
          auto end = ParseTime(Str(o, {"status", "completionTime"})).value_or(ctx.now);
          duration = HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(end - *start));
        }
        // The first condition of a type decides, as upstream's hasJobCondition does.
        auto has = [&](std::string_view type) {
          return ConditionTrue(o, {"status", "conditions"}, type);
        };
        std::string status = "Running";
        if (has("Complete"))
          status = "Complete";
        else if (has("Failed"))
          status = "Failed";
        else if (At(o, {"metadata", "deletionTimestamp"}))
          status = "Terminating";
        else if (has("Suspended"))
          status = "Suspended";
        else if (has("FailureTarget"))
          status = "FailureTarget";
        json::array cells{json::string(Name(o)), json::string(status), json::string(completions),
                          json::string(duration), json::string(ctx.Age(o))};
        AppendTemplateCells(cells, Obj(o, {"spec", "template", "spec"}));
        cells.emplace_back(json::string(FormatLabelSelector(At(o, {"spec", "selector"}))));
        return cells;
      }};
}

TablePrinter CronJobPrinter() {
  return {{NameColumn(),
           Text("Schedule",
                "The schedule in Cron format, see "
                "https://en.wikipedia.org/wiki/Cron."),
           Text("Timezone",
                "The time zone name for the given schedule, see "
                "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
           {"Suspend", "boolean", 0,
            "This flag tells the controller to suspend subsequent "
            "executions, it does not apply to already started "
            "executions. Defaults to false."},
           Integer("Active", "A list of pointers to currently running jobs."),
           Text("Last Schedule",
                "Information when was the last time the job was successfully "
                "scheduled."),
           AgeColumn(),
           Wide("Containers", kContainersDesc),
           Wide("Images", kImagesDesc),
           Wide("Selector", "A label query over pods that should match the pod count.")},
          [](const json::object& o, const PrintContext& ctx) {
            std::optional<bool> suspend = Bool(o, {"spec", "suspend"});
            std::string last = "<none>";
            if (At(o, {"status", "lastScheduleTime"})) {
              last = ctx.Since(o, {"status", "lastScheduleTime"});
            }
            const json::object& job_spec = Obj(o, {"spec", "jobTemplate", "spec"});
            json::array cells{
                json::string(Name(o)),
                json::string(Str(o, {"spec", "schedule"})),
                json::string(Str(o, {"spec", "timeZone"}, "<none>")),
                json::string(!suspend   ? "<unset>"
                             : *suspend ? "True"
                                        : "False"),
                json::value(static_cast<int64_t>(Arr(o, {"status", "active"}).size())),
                json::string(last),
                json::string(ctx.Age(o))};
            AppendTemplateCells(cells, Obj(job_spec, {"template", "spec"}));
            cells.emplace_back(json::string(FormatLabelSelector(At(job_spec, {"selector"}))));
            return cells;
          }};
}

// --- the rest ------------------------------------------------------------------------------------

TablePrinter ResourceQuotaPrinter() {
  return {{NameColumn(),
           Text("Request",
                "Request represents a minimum amount of cpu/memory that a container "
                "may consume."),
           Text("Limit",
                "Limits control the maximum amount of cpu/memory that a container may "
                "use independent of contention on the node."),
           AgeColumn()},
          [](const json::object& o, const PrintContext& ctx) {
            // The resources the spec limits, sorted, each with the used and hard amounts
            // the status reports (0 until the quota controller reports them).
            const json::object& status_hard = Obj(o, {"status", "hard"});
            std::map<std::string, std::string> hard;
            for (const auto& [k, v] : Obj(o, {"spec", "hard"})) {
              const auto* h = status_hard.if_contains(k);
              hard[std::string(k)] = h && h->is_string() ? std::string(h->as_string()) : "0";
            }
            const json::object& used = Obj(o, {"status", "used"});
            std::vector<std::string> requests, limits;
            for (const auto& [resource, quantity] : hard) {
              std::string u = "0";
              if (auto* v = used.if_contains(resource); v && v->is_string()) {
                u = std::string(v->as_string());
              }
              bool limit = resource.rfind("limits.", 0) == 0;
              (limit ? limits : requests).push_back(resource + ": " + u + "/" + quantity);
            }
            return json::array{json::string(Name(o)), json::string(Join(requests, ", ")),
                               json::string(Join(limits, ", ")), json::string(ctx.Age(o))};
          }};
}

TablePrinter LeasePrinter() {
  return {{NameColumn(),
           Text("Holder",
                "holderIdentity contains the identity of the holder of a current "
                "lease."),
           AgeColumn()},
          [](const json::object& o, const PrintContext& ctx) {
            return json::array{json::string(Name(o)),
                               json::string(Str(o, {"spec", "holderIdentity"})),
                               json::string(ctx.Age(o))};
          }};
}

TablePrinter EndpointsPrinter() {
  return {{NameColumn(), Text("Endpoints", "The set of all endpoints is the union of all subsets."),
           AgeColumn()},
          [](const json::object& o, const PrintContext& ctx) {
            return json::array{json::string(Name(o)), json::string(EndpointsText(o)),
                               json::string(ctx.Age(o))};
          }};
}

TablePrinter EndpointSlicePrinter() {
  return {
      {NameColumn(),
       Text("AddressType",
            "addressType specifies the type of address carried by this "
            "EndpointSlice."),
       Text("Ports",
            "ports specifies the list of network ports exposed by each endpoint "
            "in this slice."),
       Text("Endpoints", "endpoints is a list of unique endpoints in this slice."), AgeColumn()},
      [](const json::object& o, const PrintContext& ctx) {
        std::vector<std::string> ports, addresses;
        for (const json::object* p : Objects(Arr(o, {"ports"}))) {
          if (At(*p, {"port"})) {
            ports.push_back(std::to_string(Int(*p, {"port"})));
          } else if (At(*p, {"name"})) {
            ports.push_back(Str(*p, {"name"}));
          } else {
            ports.push_back("*");
          }
        }
        for (const json::object* e : Objects(Arr(o, {"endpoints"}))) {
          for (auto& a : Strings(Arr(*e, {"addresses"}))) addresses.push_back(std::move(a));
        }
        return json::array{json::string(Name(o)), json::string(Str(o, {"addressType"})),
                           json::string(FirstThree(ports, "<unset>")),
                           json::string(FirstThree(addresses, "<unset>")),
                           json::string(ctx.Age(o))};
      }};
}

TablePrinter PodDisruptionBudgetPrinter() {
  return {
      {NameColumn(), Text("Min Available", "The minimum number of pods that must be available."),
       Text("Max Unavailable", "The maximum number of pods that may be unavailable."),
       Integer("Allowed Disruptions",
               "Calculated number of pods that may be disrupted at "
               "this time."),
       AgeColumn()},
      [](const json::object& o, const PrintContext& ctx) {
        return json::array{json::string(Name(o)),
                           json::string(IntOrString(At(o, {"spec", "minAvailable"}), "N/A")),
                           json::string(IntOrString(At(o, {"spec", "maxUnavailable"}), "N/A")),
                           json::value(Int(o, {"status", "disruptionsAllowed"})),
                           json::string(ctx.Age(o))};
      }};
}

TablePrinter PriorityClassPrinter() {
  return {{NameColumn(),
           Integer("Value",
                   "value represents the integer value of this priority class. This "
                   "is the actual priority that pods receive when they have the name "
                   "of this class in their pod spec."),
           {"Global-Default", "boolean", 0,
            "globalDefault specifies whether this "
            "PriorityClass should be considered as the default "
            "priority for pods that do not have any priority "
            "class."},
           AgeColumn(),
           Text("PreemptionPolicy",
                "preemptionPolicy is the Policy for preempting pods with "
                "lower priority.")},
          [](const json::object& o, const PrintContext& ctx) {
            return json::array{json::string(Name(o)), json::value(Int(o, {"value"})),
                               json::value(Bool(o, {"globalDefault"}).value_or(false)),
                               json::string(ctx.Age(o)),
                               json::string(Str(o, {"preemptionPolicy"}))};
          }};
}

// RoleBindings and ClusterRoleBindings print alike; the descriptions name the kind.
TablePrinter BindingPrinter(const char* users_desc, const char* groups_desc, const char* sas_desc) {
  return {{NameColumn(),
           Text("Role",
                "RoleRef can reference a Role in the current namespace or a ClusterRole "
                "in the global namespace."),
           AgeColumn(), Wide("Users", users_desc), Wide("Groups", groups_desc),
           Wide("ServiceAccounts", sas_desc)},
          [](const json::object& o, const PrintContext& ctx) {
            std::vector<std::string> users, groups, sas;
            for (const json::object* s : Objects(Arr(o, {"subjects"}))) {
              std::string kind = Str(*s, {"kind"});
              if (kind == "ServiceAccount") {
                sas.push_back(Str(*s, {"namespace"}) + "/" + Str(*s, {"name"}));
              } else if (kind == "User") {
                users.push_back(Str(*s, {"name"}));
              } else if (kind == "Group") {
                groups.push_back(Str(*s, {"name"}));
              }
            }
            return json::array{
                json::string(Name(o)),
                json::string(Str(o, {"roleRef", "kind"}) + "/" + Str(o, {"roleRef", "name"})),
                json::string(ctx.Age(o)),
                json::string(Join(users, ", ")),
                json::string(Join(groups, ", ")),
                json::string(Join(sas, ", "))};
          }};
}

// What the API server answers for kinds without a printer of their own (upstream's default
// table convertor: Roles, ClusterRoles, LimitRanges): the name and the creation time.
TablePrinter DefaultPrinter() {
  return {{NameColumn(), {"Created At", "date", 0, kCreationDesc}},
          [](const json::object& o, const PrintContext&) {
            std::string created;
            if (auto t = ParseTime(Str(o, {"metadata", "creationTimestamp"}))) {
              auto secs = std::chrono::floor<std::chrono::seconds>(*t);
              auto day = std::chrono::floor<std::chrono::days>(secs);
              std::chrono::year_month_day ymd{day};
              std::chrono::hh_mm_ss hms{secs - day};
              char buf[32];
              std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ",
                            static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                            static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                            static_cast<int>(hms.minutes().count()),
                            static_cast<int>(hms.seconds().count()));
              created = buf;
            }
            return json::array{json::string(Name(o)), json::string(created)};
          }};
}

TablePrinter SimplePrinter(std::vector<Column> columns, Cells cells) {
  return {std::move(columns), std::move(cells)};
}

TablePrinter NamespacePrinter() {
  return SimplePrinter({NameColumn(), Text("Status", "The status of the namespace"), AgeColumn()},
                     [](const json::object& o, const PrintContext& ctx) {
                       return json::array{json::string(Name(o)),
                                          json::string(Str(o, {"status", "phase"})),
                                          json::string(ctx.Age(o))};
                     });
}

TablePrinter ConfigMapPrinter() {
  return SimplePrinter(
           {NameColumn(), Text("Data", "Data contains the configuration data."), AgeColumn()},
           [](const json::object& o, const PrintContext& ctx) {
             auto n = Obj(o, {"data"}).size() + Obj(o, {"binaryData"}).size();
             return json::array{json::string(Name(o)), json::value(static_cast<int64_t>(n)),
                                json::string(ctx.Age(o))};
           });
}

TablePrinter SecretPrinter() {
  return SimplePrinter({NameColumn(),
                                 Text("Type",
                                      "Used to facilitate programmatic handling of "
                                      "secret data."),
                                 Text("Data", "Data contains the secret data."), AgeColumn()},
                                [](const json::object& o, const PrintContext& ctx) {
                                  auto n = static_cast<int64_t>(Obj(o, {"data"}).size());
                                  return json::array{json::string(Name(o)),
                                                     json::string(Str(o, {"type"})), json::value(n),
                                                     json::string(ctx.Age(o))};
                                });
}

TablePrinter ServiceAccountPrinter() {
  return SimplePrinter(
           {NameColumn(),
            Text("Secrets",
                 "Secrets is a list of the secrets in the "
                 "same namespace that pods running using "
                 "this ServiceAccount are allowed to use."),
            AgeColumn()},
           [](const json::object& o, const PrintContext& ctx) {
             auto n = static_cast<int64_t>(Arr(o, {"secrets"}).size());
             return json::array{json::string(Name(o)), json::value(n), json::string(ctx.Age(o))};
           });
}

json::object PartialObjectMetadata(const json::object& obj) {
  json::object p;
  p["kind"] = "PartialObjectMetadata";
  p["apiVersion"] = "meta.k8s.io/v1";
  if (auto* m = obj.if_contains("metadata")) p["metadata"] = *m;
  return p;
}

}  // namespace

namespace printers {
namespace {

TablePrinterPtr Make(TablePrinter p) { return std::make_shared<const TablePrinter>(std::move(p)); }

}  // namespace

TablePrinterPtr Default() { static const auto p = Make(DefaultPrinter()); return p; }
TablePrinterPtr Namespace() { static const auto p = Make(NamespacePrinter()); return p; }
TablePrinterPtr ConfigMap() { static const auto p = Make(ConfigMapPrinter()); return p; }
TablePrinterPtr Secret() { static const auto p = Make(SecretPrinter()); return p; }
TablePrinterPtr ServiceAccount() { static const auto p = Make(ServiceAccountPrinter()); return p; }
TablePrinterPtr Pod() { static const auto p = Make(PodPrinter()); return p; }
TablePrinterPtr Node() { static const auto p = Make(NodePrinter()); return p; }
TablePrinterPtr Service() { static const auto p = Make(ServicePrinter()); return p; }
TablePrinterPtr Endpoints() { static const auto p = Make(EndpointsPrinter()); return p; }
TablePrinterPtr CoreEvent() { static const auto p = Make(EventPrinter(kCoreEvent)); return p; }
TablePrinterPtr ReplicationController() {
  static const auto p = Make(ReplicaPrinter(/*map_selector=*/true));
  return p;
}
TablePrinterPtr ResourceQuota() { static const auto p = Make(ResourceQuotaPrinter()); return p; }
TablePrinterPtr PersistentVolume() {
  static const auto p = Make(PersistentVolumePrinter());
  return p;
}
TablePrinterPtr PersistentVolumeClaim() {
  static const auto p = Make(PersistentVolumeClaimPrinter());
  return p;
}
TablePrinterPtr Deployment() { static const auto p = Make(DeploymentPrinter()); return p; }
TablePrinterPtr ReplicaSet() {
  static const auto p = Make(ReplicaPrinter(/*map_selector=*/false));
  return p;
}
TablePrinterPtr StatefulSet() { static const auto p = Make(StatefulSetPrinter()); return p; }
TablePrinterPtr DaemonSet() { static const auto p = Make(DaemonSetPrinter()); return p; }
TablePrinterPtr ControllerRevision() {
  static const auto p = Make(ControllerRevisionPrinter());
  return p;
}
TablePrinterPtr Job() { static const auto p = Make(JobPrinter()); return p; }
TablePrinterPtr CronJob() { static const auto p = Make(CronJobPrinter()); return p; }
TablePrinterPtr Lease() { static const auto p = Make(LeasePrinter()); return p; }
TablePrinterPtr EndpointSlice() { static const auto p = Make(EndpointSlicePrinter()); return p; }
TablePrinterPtr PodDisruptionBudget() {
  static const auto p = Make(PodDisruptionBudgetPrinter());
  return p;
}
TablePrinterPtr PriorityClass() { static const auto p = Make(PriorityClassPrinter()); return p; }
TablePrinterPtr RoleBinding() {
  static const auto p = Make(BindingPrinter("Users in the roleBinding", "Groups in the roleBinding",
                                            "ServiceAccounts in the roleBinding"));
  return p;
}
TablePrinterPtr ClusterRoleBinding() {
  static const auto p = Make(BindingPrinter("Users in the clusterRoleBinding",
                                            "Groups in the clusterRoleBinding",
                                            "ServiceAccounts in the clusterRoleBinding"));
  return p;
}

}  // namespace printers

bool WantsTable(std::string_view accept) {
  return accept.find("as=Table") != std::string_view::npos &&
         accept.find("g=meta.k8s.io") != std::string_view::npos;
}

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

json::object ToTable(const TablePrinter& p, const json::array& items,
                     const std::string& resource_version, const std::string& continue_token,
                     std::string_view include_object, std::chrono::system_clock::time_point now) {
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
  PrintContext ctx{now};
  json::array rows;
  for (const auto& item : items) {
    if (!item.is_object()) continue;
    const auto& obj = item.as_object();
    json::object row;
    row["cells"] = p.cells(obj, ctx);
    if (p.conditions) {
      if (json::array c = p.conditions(obj); !c.empty()) row["conditions"] = std::move(c);
    }
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
