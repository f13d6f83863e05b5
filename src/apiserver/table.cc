#include "apiserver/table.h"

#include <boost/json.hpp>

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
