#include "controllers/nodelifecycle/node_util.h"

#include <limits>

#include "api/errors.h"
#include "controllers/base/workload_util.h"

namespace keelson::controllers {

namespace json = boost::json;

namespace {

const json::array* ArrayAt(const api::Object& obj, std::string_view section, std::string_view key) {
  const auto* s = obj.if_contains(section);
  if (!s || !s->is_object()) return nullptr;
  const auto* a = s->as_object().if_contains(key);
  return a && a->is_array() ? &a->as_array() : nullptr;
}

bool Matches(const json::object& taint, const TaintRef& ref) {
  return StringAt(taint, {"key"}) == ref.key && StringAt(taint, {"effect"}) == ref.effect;
}

}  // namespace

const json::object* GetNodeCondition(const api::Object& node, std::string_view type) {
  const json::array* conditions = ArrayAt(node, "status", "conditions");
  if (!conditions) return nullptr;
  for (const auto& c : *conditions) {
    if (c.is_object() && StringAt(c.as_object(), {"type"}) == type) return &c.as_object();
  }
  return nullptr;
}

std::string_view ConditionStatus(const json::object* condition) {
  return condition ? StringAt(*condition, {"status"}) : std::string_view();
}

bool IsNodeReady(const api::Object& node) {
  return ConditionStatus(GetNodeCondition(node, "Ready")) == "True";
}

std::vector<json::object> GetTaints(const api::Object& node) {
  std::vector<json::object> out;
  if (const json::array* taints = ArrayAt(node, "spec", "taints")) {
    for (const auto& t : *taints) {
      if (t.is_object()) out.push_back(t.as_object());
    }
  }
  return out;
}

bool TaintExists(const std::vector<json::object>& taints, const TaintRef& ref) {
  for (const auto& t : taints) {
    if (Matches(t, ref)) return true;
  }
  return false;
}

std::vector<json::object> NoExecuteTaints(const api::Object& node) {
  std::vector<json::object> out;
  for (auto& t : GetTaints(node)) {
    if (StringAt(t, {"effect"}) == kTaintEffectNoExecute) out.push_back(std::move(t));
  }
  return out;
}

bool ToleratesTaint(const json::object& toleration, const json::object& taint) {
  std::string_view effect = StringAt(toleration, {"effect"});
  if (!effect.empty() && effect != StringAt(taint, {"effect"})) return false;
  std::string_view key = StringAt(toleration, {"key"});
  if (!key.empty() && key != StringAt(taint, {"key"})) return false;
  std::string_view op = StringAt(toleration, {"operator"});
  if (op.empty() || op == "Equal") return StringAt(toleration, {"value"}) == StringAt(taint, {"value"});
  return op == "Exists";
}

MatchingTolerations GetMatchingTolerations(const std::vector<json::object>& taints,
                                           const json::array& tolerations) {
  MatchingTolerations m;
  for (const auto& taint : taints) {
    const json::object* found = nullptr;
    for (const auto& t : tolerations) {
      if (t.is_object() && ToleratesTaint(t.as_object(), taint)) {
        found = &t.as_object();
        break;
      }
    }
    if (!found) return {};
    m.used.push_back(*found);
  }
  m.all_tolerated = true;
  return m;
}

json::array PodTolerations(const api::Object& pod) {
  const json::array* t = ArrayAt(pod, "spec", "tolerations");
  return t ? *t : json::array();
}

std::optional<std::chrono::seconds> MinTolerationTime(const std::vector<json::object>& tolerations) {
  if (tolerations.empty()) return std::chrono::seconds(0);
  int64_t min = std::numeric_limits<int64_t>::max();
  for (const auto& t : tolerations) {
    const auto* s = t.if_contains("tolerationSeconds");
    if (!s || !s->is_int64()) continue;
    if (s->as_int64() <= 0) return std::chrono::seconds(0);
    min = std::min(min, s->as_int64());
  }
  if (min == std::numeric_limits<int64_t>::max()) return std::nullopt;
  return std::chrono::seconds(min);
}

std::string ZoneKey(const api::Object& node) {
  auto labels = api::GetLabels(node);
  auto get = [&](std::string_view stable, std::string_view beta) -> std::string {
    auto it = labels.find(stable);
    if (it != labels.end() && !it->second.empty()) return it->second;
    it = labels.find(beta);
    return it != labels.end() ? it->second : std::string();
  };
  std::string region = get("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region");
  std::string zone = get("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone");
  if (region.empty() && zone.empty()) return "";
  // Upstream joins them with ":\x00:" so that no label value can forge another key.
  return region + std::string(":\0:", 3) + zone;
}

Status SwapNodeTaints(const client::ResourceClient& nodes, const api::Object* cached,
                     std::string_view node_name, const std::vector<TaintRef>& add,
                     const std::vector<TaintRef>& remove, const Clock& clock) {
  std::optional<api::Object> node;
  if (cached) node = *cached;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!node) {
      auto got = nodes.Get(node_name);
      if (!got.ok()) return got.error().ToStatus();
      node = std::move(*got);
    }
    std::vector<json::object> taints = GetTaints(*node);
    bool missing = false, present = false;
    for (const auto& a : add) missing |= !TaintExists(taints, a);
    for (const auto& r : remove) present |= TaintExists(taints, r);
    if (!missing && !present) return Status::Ok();
    json::array next;
    for (auto& t : taints) {
      bool drop = false;
      for (const auto& r : remove) drop |= Matches(t, r);
      if (!drop) next.push_back(std::move(t));
    }
    const std::string now = api::FormatTime(clock.Now());
    for (const auto& a : add) {
      if (TaintExists(taints, a)) continue;  // kept as it is, with its timeAdded
      next.push_back(json::object{{"key", a.key}, {"effect", a.effect}, {"timeAdded", now}});
    }
    auto& spec = (*node)["spec"];
    if (!spec.is_object()) spec = json::object();
    if (next.empty()) {
      spec.as_object().erase("taints");
    } else {
      spec.as_object()["taints"] = std::move(next);
    }
    auto updated = nodes.Update(*node);
    if (updated.ok()) return Status::Ok();
    if (!api::IsConflict(updated.error())) return updated.error().ToStatus();
    node.reset();  // read it again
  }
  return Status(StatusCode::kConflict, "node " + std::string(node_name) +
                                           ": taints not updated after 5 conflicting writes");
}

}  // namespace keelson::controllers
