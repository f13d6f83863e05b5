#include "scheduler/config.h"

#include <set>

#include <boost/json.hpp>

#include "api/yaml.h"

namespace keelson::scheduler {

namespace json = boost::json;

namespace {

constexpr std::string_view kApiVersion = "kubescheduler.config.k8s.io/v1";
constexpr std::string_view kKind = "KubeSchedulerConfiguration";

Status Invalid(const std::string& path, const json::value& v, std::string_view msg) {
  return InvalidArgumentError(path + ": Invalid value: " + json::serialize(v) + ": " +
                              std::string(msg));
}
Status Required(const std::string& path) {
  return InvalidArgumentError(path + ": Required value");
}
Status Unknown(const std::string& path) {
  return InvalidArgumentError("strict decoding error: unknown field \"" + path + "\"");
}
Status WrongType(const std::string& path, const json::value& v, std::string_view want) {
  return InvalidArgumentError(path + ": Invalid value: " + json::serialize(v) +
                              ": must be " + std::string(want));
}

std::string Join(const std::string& base, std::string_view field) {
  return base.empty() ? std::string(field) : base + "." + std::string(field);
}

Status CheckFields(const json::object& o, const std::string& base,
                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : o) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == std::string_view(k);
    if (!ok) return Unknown(Join(base, k));
  }
  return Status::Ok();
}

Result<const json::object*> ObjectAt(const json::object& o, std::string_view key,
                                     const std::string& path) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return WrongType(path, *v, "an object");
  return &v->as_object();
}

Result<const json::array*> ArrayAt(const json::object& o, std::string_view key,
                                   const std::string& path) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return WrongType(path, *v, "a list");
  return &v->as_array();
}

Result<std::optional<int64_t>> IntAt(const json::object& o, std::string_view key,
                                     const std::string& path) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64());
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) {
    return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()));
  }
  return WrongType(path, *v, "an integer");
}

Result<std::optional<std::string>> StringAt(const json::object& o, std::string_view key,
                                            const std::string& path) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(path, *v, "a string");
  return std::optional<std::string>(std::string(v->as_string()));
}

// A Go duration ("15s", "1m30s", "500ms").
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (start == i) return std::nullopt;
    double n = std::stod(std::string(s.substr(start, i - start)));
    size_t us = i;
    while (i < s.size() && !((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    auto unit = s.substr(us, i - us);
    if (unit == "h") total_ms += n * 3600000;
    else if (unit == "m") total_ms += n * 60000;
    else if (unit == "s") total_ms += n * 1000;
    else if (unit == "ms") total_ms += n;
    else if (unit == "us" || unit == "µs") total_ms += n / 1000;
    else if (unit == "ns") total_ms += n / 1e6;
    else return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

Result<PluginSet> ParsePluginSet(const json::object& o, const std::string& path) {
  KEELSON_RETURN_IF_ERROR(CheckFields(o, path, {"enabled", "disabled"}));
  PluginSet set;
  for (std::string_view which : {"enabled", "disabled"}) {
    std::string p = Join(path, which);
    auto arr = ArrayAt(o, which, p);
    if (!arr.ok()) return arr.status();
    if (!*arr) continue;
    for (size_t i = 0; i < (*arr)->size(); ++i) {
      std::string ep = p + "[" + std::to_string(i) + "]";
      const auto& e = (**arr)[i];
      if (!e.is_object()) return WrongType(ep, e, "an object");
      KEELSON_RETURN_IF_ERROR(CheckFields(e.as_object(), ep, {"name", "weight"}));
      auto name = StringAt(e.as_object(), "name", ep + ".name");
      if (!name.ok()) return name.status();
      if (!*name || (*name)->empty()) return Required(ep + ".name");
      auto weight = IntAt(e.as_object(), "weight", ep + ".weight");
      if (!weight.ok()) return weight.status();
      if (which == "enabled") {
        if (*weight && (**weight < 0 || **weight > INT32_MAX)) {
          return Invalid(ep + ".weight", e.as_object().at("weight"), "must be non-negative");
        }
        set.enabled.push_back({**name, static_cast<int32_t>(weight->value_or(0))});
      } else {
        set.disabled.push_back(**name);
      }
    }
  }
  return set;
}

struct PointRef {
  std::string_view field;
  PluginSet Plugins::*member;
};
constexpr PointRef kPoints[] = {
    {"preEnqueue", &Plugins::pre_enqueue}, {"queueSort", &Plugins::queue_sort},
    {"preFilter", &Plugins::pre_filter},   {"filter", &Plugins::filter},
    {"postFilter", &Plugins::post_filter}, {"preScore", &Plugins::pre_score},
    {"score", &Plugins::score},            {"reserve", &Plugins::reserve},
    {"permit", &Plugins::permit},          {"preBind", &Plugins::pre_bind},
    {"bind", &Plugins::bind},              {"postBind", &Plugins::post_bind},
    {"multiPoint", &Plugins::multi_point},
};

Result<Plugins> ParsePlugins(const json::object& o, const std::string& path) {
  for (const auto& [k, v] : o) {
    bool ok = false;
    for (const auto& p : kPoints) ok = ok || p.field == std::string_view(k);
    if (!ok) return Unknown(Join(path, k));
  }
  Plugins plugins;
  for (const auto& p : kPoints) {
    std::string pp = Join(path, p.field);
    auto set = ObjectAt(o, p.field, pp);
    if (!set.ok()) return set.status();
    if (!*set) continue;
    auto parsed = ParsePluginSet(**set, pp);
    if (!parsed.ok()) return parsed.status();
    plugins.*(p.member) = std::move(*parsed);
  }
  return plugins;
}

// Upstream's mergePluginSet: the defaults minus the disabled ones (all with "*"), a default
// re-configured in place, then the custom plugins that replaced none.
PluginSet MergePluginSet(const PluginSet& defaults, const PluginSet& custom) {
  std::set<std::string, std::less<>> disabled(custom.disabled.begin(), custom.disabled.end());
  disabled.insert(defaults.disabled.begin(), defaults.disabled.end());
  PluginSet out;
  out.disabled = custom.disabled;
  for (const auto& d : defaults.disabled) out.disabled.push_back(d);
  std::set<size_t> replaced;
  if (!disabled.count("*")) {
    for (const auto& d : defaults.enabled) {
      if (disabled.count(d.name)) continue;
      PluginRef p = d;
      for (size_t i = 0; i < custom.enabled.size(); ++i) {
        if (custom.enabled[i].name == d.name) {
          p = custom.enabled[i];
          replaced.insert(i);
          break;
        }
      }
      out.enabled.push_back(p);
    }
  }
  for (size_t i = 0; i < custom.enabled.size(); ++i) {
    if (!replaced.count(i)) out.enabled.push_back(custom.enabled[i]);
  }
  return out;
}

Status ValidateProfile(const Profile& prof, const std::string& path, const Registry& registry) {
  if (prof.scheduler_name.empty()) return Required(path + ".schedulerName");
  if (prof.percentage_of_nodes_to_score &&
      (*prof.percentage_of_nodes_to_score < 0 || *prof.percentage_of_nodes_to_score > 100)) {
    return Invalid(path + ".percentageOfNodesToScore", *prof.percentage_of_nodes_to_score,
                   "not in valid range [0-100]");
  }
  for (const auto& p : kPoints) {
    const PluginSet& set = prof.plugins.*(p.member);
    for (size_t i = 0; i < set.enabled.size(); ++i) {
      if (!registry.count(set.enabled[i].name)) {
        return Invalid(path + ".plugins." + std::string(p.field) + ".enabled[" +
                           std::to_string(i) + "].name",
                       json::value(set.enabled[i].name), "no plugin of that name is registered");
      }
    }
  }
  if (prof.plugins.queue_sort.enabled.size() > 1) {
    return Invalid(path + ".plugins.queueSort.enabled", json::value(prof.plugins.queue_sort.enabled.size()),
                   "only one queue sort plugin can be enabled");
  }
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < prof.plugin_config.size(); ++i) {
    const auto& pc = prof.plugin_config[i];
    std::string pp = path + ".pluginConfig[" + std::to_string(i) + "]";
    if (!seen.insert(pc.name).second) {
      return InvalidArgumentError(pp + ".name: Duplicate value: \"" + pc.name + "\"");
    }
    auto it = registry.find(pc.name);
    if (it == registry.end()) {
      return Invalid(pp + ".name", json::value(pc.name), "no plugin of that name is registered");
    }
    if (it->second.validate) {
      Status s = it->second.validate(pc.args);
      if (!s.ok()) return InvalidArgumentError(pp + ".args." + s.message());
    }
  }
  return Status::Ok();
}

Result<Profile> ParseProfile(const json::object& o, const std::string& path) {
  KEELSON_RETURN_IF_ERROR(
      CheckFields(o, path, {"schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig"}));
  Profile prof;
  auto name = StringAt(o, "schedulerName", path + ".schedulerName");
  if (!name.ok()) return name.status();
  prof.scheduler_name = name->value_or("default-scheduler");
  auto pct = IntAt(o, "percentageOfNodesToScore", path + ".percentageOfNodesToScore");
  if (!pct.ok()) return pct.status();
  if (*pct) {
    if (**pct < 0 || **pct > 100) {
      return Invalid(path + ".percentageOfNodesToScore", **pct, "not in valid range [0-100]");
    }
    prof.percentage_of_nodes_to_score = static_cast<int32_t>(**pct);
  }
  auto plugins = ObjectAt(o, "plugins", path + ".plugins");
  if (!plugins.ok()) return plugins.status();
  Plugins custom;
  if (*plugins) {
    auto p = ParsePlugins(**plugins, path + ".plugins");
    if (!p.ok()) return p.status();
    custom = std::move(*p);
  }
  // Only multiPoint has defaults; the other points take the custom sets as they are.
  prof.plugins = custom;
  prof.plugins.multi_point = MergePluginSet(DefaultMultiPointPlugins(), custom.multi_point);

  auto pcs = ArrayAt(o, "pluginConfig", path + ".pluginConfig");
  if (!pcs.ok()) return pcs.status();
  if (*pcs) {
    for (size_t i = 0; i < (*pcs)->size(); ++i) {
      std::string pp = path + ".pluginConfig[" + std::to_string(i) + "]";
      const auto& e = (**pcs)[i];
      if (!e.is_object()) return WrongType(pp, e, "an object");
      KEELSON_RETURN_IF_ERROR(CheckFields(e.as_object(), pp, {"name", "args"}));
      PluginConfig pc;
      auto n = StringAt(e.as_object(), "name", pp + ".name");
      if (!n.ok()) return n.status();
      if (!*n || (*n)->empty()) return Required(pp + ".name");
      pc.name = **n;
      auto args = ObjectAt(e.as_object(), "args", pp + ".args");
      if (!args.ok()) return args.status();
      if (*args) {
        pc.args = **args;
        // apiVersion/kind of typed args are allowed and dropped.
        pc.args.erase("apiVersion");
        pc.args.erase("kind");
      }
      prof.plugin_config.push_back(std::move(pc));
    }
  }
  return prof;
}

Status ParseLeaderElection(const json::object& o, const std::string& path,
                           LeaderElectionConfig* le) {
  KEELSON_RETURN_IF_ERROR(CheckFields(o, path, {"leaderElect", "leaseDuration", "renewDeadline",
                                                "retryPeriod", "resourceLock", "resourceName",
                                                "resourceNamespace"}));
  if (const auto* v = o.if_contains("leaderElect")) {
    if (!v->is_bool()) return WrongType(path + ".leaderElect", *v, "a boolean");
    le->leader_elect = v->as_bool();
  }
  struct D {
    std::string_view field;
    std::chrono::milliseconds* out;
  };
  for (D d : {D{"leaseDuration", &le->lease_duration}, D{"renewDeadline", &le->renew_deadline},
              D{"retryPeriod", &le->retry_period}}) {
    auto s = StringAt(o, d.field, Join(path, d.field));
    if (!s.ok()) return s.status();
    if (!*s) continue;
    auto dur = ParseDuration(**s);
    if (!dur) return Invalid(Join(path, d.field), json::value(**s), "not a duration");
    *d.out = *dur;
  }
  for (auto [field, out] : {std::pair<std::string_view, std::string*>{"resourceLock", &le->resource_lock},
                            {"resourceName", &le->resource_name},
                            {"resourceNamespace", &le->resource_namespace}}) {
    auto s = StringAt(o, field, Join(path, field));
    if (!s.ok()) return s.status();
    if (*s) *out = **s;
  }
  if (le->leader_elect) {
    if (le->lease_duration <= le->renew_deadline) {
      return Invalid(path + ".leaseDuration", json::value(le->lease_duration.count()),
                     "leaseDuration must be greater than renewDeadline");
    }
    if (le->retry_period.count() <= 0) {
      return Invalid(path + ".retryPeriod", json::value(le->retry_period.count()),
                     "must be greater than zero");
    }
  }
  return Status::Ok();
}

}  // namespace

const json::object& Profile::ArgsOf(std::string_view plugin) const {
  static const json::object kEmpty;
  for (const auto& pc : plugin_config) {
    if (pc.name == plugin) return pc.args;
  }
  return kEmpty;
}

PluginSet DefaultMultiPointPlugins() {
  PluginSet set;
  set.enabled = {
      {"SchedulingGates", 0},
      {"PrioritySort", 0},
      {"NodeUnschedulable", 0},
      {"NodeName", 0},
      {"TaintToleration", 3},
      {"NodeAffinity", 2},
      {"NodePorts", 0},
      {"NodeResourcesFit", 1},
      {"VolumeBinding", 0},
      {"PodTopologySpread", 2},
      {"InterPodAffinity", 2},
      {"DefaultPreemption", 0},
      {"NodeResourcesBalancedAllocation", 1},
      {"ImageLocality", 1},
      {"DefaultBinder", 0},
  };
  return set;
}

Configuration DefaultConfiguration() {
  Configuration c;
  Profile p;
  p.plugins.multi_point = DefaultMultiPointPlugins();
  c.profiles.push_back(std::move(p));
  return c;
}

Result<Configuration> LoadConfiguration(std::string_view text, const Registry& registry) {
  auto doc = api::YamlToJson(text);
  if (!doc.ok()) return InvalidArgumentError("scheduler configuration: " + doc.status().message());
  if (!doc->is_object()) return InvalidArgumentError("scheduler configuration: not an object");
  const auto& o = doc->as_object();
  auto api_version = StringAt(o, "apiVersion", "apiVersion");
  if (!api_version.ok()) return api_version.status();
  auto kind = StringAt(o, "kind", "kind");
  if (!kind.ok()) return kind.status();
  if (!*api_version) return Required("apiVersion");
  if (!*kind) return Required("kind");
  if (**kind != kKind || **api_version != kApiVersion) {
    return InvalidArgumentError("no kind \"" + **kind + "\" is registered for version \"" +
                                **api_version + "\"");
  }
  KEELSON_RETURN_IF_ERROR(CheckFields(
      o, "", {"apiVersion", "kind", "parallelism", "leaderElection", "clientConnection",
              "debuggingConfiguration", "percentageOfNodesToScore", "podInitialBackoffSeconds",
              "podMaxBackoffSeconds", "profiles", "extenders", "delayCacheUntilActive"}));
  Configuration c;
  auto par = IntAt(o, "parallelism", "parallelism");
  if (!par.ok()) return par.status();
  if (*par) {
    if (**par <= 0 || **par > INT32_MAX) {
      return Invalid("parallelism", **par, "should be an integer value greater than zero");
    }
    c.parallelism = static_cast<int32_t>(**par);
  }
  auto pct = IntAt(o, "percentageOfNodesToScore", "percentageOfNodesToScore");
  if (!pct.ok()) return pct.status();
  if (*pct) {
    if (**pct < 0 || **pct > 100) {
      return Invalid("percentageOfNodesToScore", **pct, "not in valid range [0-100]");
    }
    c.percentage_of_nodes_to_score = static_cast<int32_t>(**pct);
  }
  auto ib = IntAt(o, "podInitialBackoffSeconds", "podInitialBackoffSeconds");
  if (!ib.ok()) return ib.status();
  if (*ib) {
    if (**ib <= 0) return Invalid("podInitialBackoffSeconds", **ib, "must be greater than 0");
    c.pod_initial_backoff_seconds = **ib;
  }
  auto mb = IntAt(o, "podMaxBackoffSeconds", "podMaxBackoffSeconds");
  if (!mb.ok()) return mb.status();
  if (*mb) c.pod_max_backoff_seconds = **mb;
  if (c.pod_max_backoff_seconds < c.pod_initial_backoff_seconds) {
    return Invalid("podMaxBackoffSeconds", c.pod_max_backoff_seconds,
                   "must be greater than or equal to PodInitialBackoffSeconds");
  }
  if (const auto* ext = o.if_contains("extenders"); ext && ext->is_array() && !ext->as_array().empty()) {
    return Invalid("extenders", *ext, "scheduler extenders are not supported");
  }
  if (auto le = ObjectAt(o, "leaderElection", "leaderElection"); !le.ok()) {
    return le.status();
  } else if (*le) {
    KEELSON_RETURN_IF_ERROR(ParseLeaderElection(**le, "leaderElection", &c.leader_election));
  }
  for (std::string_view f : {"clientConnection", "debuggingConfiguration"}) {
    auto sub = ObjectAt(o, f, std::string(f));
    if (!sub.ok()) return sub.status();
  }

  auto profiles = ArrayAt(o, "profiles", "profiles");
  if (!profiles.ok()) return profiles.status();
  if (!*profiles || (*profiles)->empty()) {
    c.profiles = DefaultConfiguration().profiles;
  } else {
    for (size_t i = 0; i < (*profiles)->size(); ++i) {
      std::string path = "profiles[" + std::to_string(i) + "]";
      const auto& e = (**profiles)[i];
      if (!e.is_object()) return WrongType(path, e, "an object");
      auto prof = ParseProfile(e.as_object(), path);
      if (!prof.ok()) return prof.status();
      c.profiles.push_back(std::move(*prof));
    }
  }
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < c.profiles.size(); ++i) {
    std::string path = "profiles[" + std::to_string(i) + "]";
    KEELSON_RETURN_IF_ERROR(ValidateProfile(c.profiles[i], path, registry));
    if (!names.insert(c.profiles[i].scheduler_name).second) {
      return InvalidArgumentError(path + ".schedulerName: Duplicate value: \"" +
                                  c.profiles[i].scheduler_name + "\"");
    }
  }
  // Every profile must sort the queue the same way (there is one queue).
  auto queue_sort_of = [](const Profile& p) {
    std::string name;
    for (const auto& e : p.plugins.multi_point.enabled) {
      if (e.name == "PrioritySort") name = e.name;
    }
    if (!p.plugins.queue_sort.enabled.empty()) name = p.plugins.queue_sort.enabled[0].name;
    for (const auto& d : p.plugins.queue_sort.disabled) {
      if (d == name || d == "*") {
        if (p.plugins.queue_sort.enabled.empty()) name.clear();
      }
    }
    return name;
  };
  for (size_t i = 1; i < c.profiles.size(); ++i) {
    if (queue_sort_of(c.profiles[i]) != queue_sort_of(c.profiles[0])) {
      return Invalid("profiles[" + std::to_string(i) + "].plugins.queueSort",
                     json::value(queue_sort_of(c.profiles[i])), "has to match for all profiles");
    }
  }
  return c;
}

}  // namespace keelson::scheduler
