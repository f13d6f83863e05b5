#include "controllers/base/workload_util.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "client/time_format.h"

namespace keelson::controllers {

namespace json = boost::json;

const json::value* ValueAt(const api::Object& obj, std::initializer_list<std::string_view> path) {
  const api::Object* cur = &obj;
  const json::value* v = nullptr;
  for (std::string_view key : path) {
    if (cur == nullptr) return nullptr;
    v = cur->if_contains(key);
    if (v == nullptr) return nullptr;
    cur = v->if_object();
  }
  return v;
}

const api::Object* ObjectAt(const api::Object& obj, std::initializer_list<std::string_view> path) {
  const json::value* v = ValueAt(obj, path);
  return v ? v->if_object() : nullptr;
}

std::optional<int64_t> AsInt(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) {
    double d = v->get_double();
    if (std::floor(d) == d && std::abs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

int64_t IntAt(const api::Object& obj, std::initializer_list<std::string_view> path,
              int64_t fallback) {
  return AsInt(ValueAt(obj, path)).value_or(fallback);
}

std::string_view StringAt(const api::Object& obj, std::initializer_list<std::string_view> path) {
  const json::value* v = ValueAt(obj, path);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

bool BoolAt(const api::Object& obj, std::initializer_list<std::string_view> path) {
  const json::value* v = ValueAt(obj, path);
  return v && v->is_bool() && v->get_bool();
}

int64_t SpecReplicas(const api::Object& obj) { return IntAt(obj, {"spec", "replicas"}, 1); }

namespace {

api::Labels StringMap(const json::value* v) {
  api::Labels out;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, val] : v->get_object()) {
    if (val.is_string()) out.emplace(std::string(k), std::string(val.get_string()));
  }
  return out;
}

}  // namespace

Result<api::LabelSelector> SelectorFromStructured(const json::value* selector) {
  if (selector == nullptr || selector->is_null()) return api::LabelSelector::Nothing();
  if (!selector->is_object()) return InvalidArgumentError("a label selector must be an object");
  const auto& s = selector->get_object();
  std::vector<api::MatchExpression> exprs;
  if (const auto* me = s.if_contains("matchExpressions"); me && me->is_array()) {
    for (const auto& e : me->get_array()) {
      if (!e.is_object()) return InvalidArgumentError("a match expression must be an object");
      const auto& eo = e.get_object();
      api::MatchExpression x;
      if (const auto* k = eo.if_contains("key"); k && k->is_string()) x.key = k->get_string();
      if (const auto* o = eo.if_contains("operator"); o && o->is_string()) x.op = o->get_string();
      if (const auto* vs = eo.if_contains("values"); vs && vs->is_array()) {
        for (const auto& v : vs->get_array()) {
          if (v.is_string()) x.values.emplace_back(v.get_string());
        }
      }
      exprs.push_back(std::move(x));
    }
  }
  return api::LabelSelector::FromMatch(StringMap(s.if_contains("matchLabels")), exprs);
}

api::LabelSelector SelectorFromMap(const json::value* selector) {
  if (selector == nullptr || !selector->is_object()) return api::LabelSelector::Nothing();
  auto s = api::LabelSelector::FromMatch(StringMap(selector), {});
  return s.ok() ? std::move(*s) : api::LabelSelector::Nothing();
}

namespace {

const api::LabelSelector& NothingSelector() {
  static const auto* const kNothing = new api::LabelSelector(api::LabelSelector::Nothing());
  return *kNothing;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool RequirementMatches(const api::LabelRequirement& r, const json::object* labels) {
  const json::value* v = labels ? labels->if_contains(r.key()) : nullptr;
  bool has = v != nullptr && v->is_string();
  std::string_view value = has ? std::string_view(v->get_string()) : std::string_view();
  auto in_values = [&] {
    return std::find(r.values().begin(), r.values().end(), value) != r.values().end();
  };
  switch (r.op()) {
    case api::SelectorOperator::kIn:
    case api::SelectorOperator::kEquals:
    case api::SelectorOperator::kDoubleEquals:
      return has && in_values();
    case api::SelectorOperator::kNotIn:
    case api::SelectorOperator::kNotEquals:
      return !has || !in_values();
    case api::SelectorOperator::kExists:
      return has;
    case api::SelectorOperator::kDoesNotExist:
      return !has;
    case api::SelectorOperator::kGreaterThan:
    case api::SelectorOperator::kLessThan: {
      if (!has || r.values().size() != 1) return false;
      auto lhs = ParseInt(value), rhs = ParseInt(r.values()[0]);
      if (!lhs || !rhs) return false;
      return r.op() == api::SelectorOperator::kGreaterThan ? *lhs > *rhs : *lhs < *rhs;
    }
  }
  return false;
}

}  // namespace

bool SelectorMatches(const api::LabelSelector& selector, const api::Object& obj) {
  if (selector == NothingSelector()) return false;
  const api::Object* labels = ObjectAt(obj, {"metadata", "labels"});
  for (const auto& r : selector.Requirements()) {
    if (!RequirementMatches(r, labels)) return false;
  }
  return true;
}

namespace {

const json::object* ControllerRefOf(const api::Object& obj) {
  const json::value* refs = ValueAt(obj, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return nullptr;
  for (const auto& r : refs->get_array()) {
    const json::object* ro = r.if_object();
    if (ro == nullptr) continue;
    const json::value* c = ro->if_contains("controller");
    if (c && c->is_bool() && c->get_bool()) return ro;
  }
  return nullptr;
}

std::string_view Field(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* v = o->if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

std::string_view ControllerUidOf(const api::Object& obj) {
  return Field(ControllerRefOf(obj), "uid");
}
std::string_view ControllerKindOf(const api::Object& obj) {
  return Field(ControllerRefOf(obj), "kind");
}
std::string_view ControllerNameOf(const api::Object& obj) {
  return Field(ControllerRefOf(obj), "name");
}

json::value ControllerRefJson(const api::Object& obj) {
  const json::object* ref = ControllerRefOf(obj);
  return ref ? json::value(*ref) : json::value(nullptr);
}

bool SameLabels(const api::Object& a, const api::Object& b) {
  const api::Object* la = ObjectAt(a, {"metadata", "labels"});
  const api::Object* lb = ObjectAt(b, {"metadata", "labels"});
  if (la == nullptr || lb == nullptr) {
    return (la == nullptr || la->empty()) && (lb == nullptr || lb->empty());
  }
  return *la == *lb;
}

std::pair<std::string_view, std::string_view> SplitKey(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

client::IndexFunc ControllerUidIndexFunc() {
  return [](const api::Object& obj) -> std::vector<std::string> {
    std::string_view uid = ControllerUidOf(obj);
    if (uid.empty()) return {};
    return {std::string(uid)};
  };
}

client::IndexFunc OrphanNamespaceIndexFunc() {
  return [](const api::Object& obj) -> std::vector<std::string> {
    if (ControllerRefOf(obj) != nullptr) return {};
    return {std::string(api::GetNamespace(obj))};
  };
}

void AddWorkloadIndexes(client::SharedInformer* informer) {
  // AlreadyExists: another workload controller of the manager registered them.
  informer->AddIndex(std::string(kControllerUidIndex), ControllerUidIndexFunc()).IgnoreError();
  informer->AddIndex(std::string(kOrphanNamespaceIndex), OrphanNamespaceIndexFunc())
      .IgnoreError();
}

std::vector<client::ObjectPtr> ControlledBy(const client::Indexer& indexer,
                                            std::string_view owner_uid) {
  auto owned = indexer.ByIndex(kControllerUidIndex, owner_uid);
  return owned.ok() ? std::move(*owned) : std::vector<client::ObjectPtr>{};
}

std::vector<client::ObjectPtr> ClaimCandidates(const client::Indexer& indexer,
                                               std::string_view ns, std::string_view owner_uid) {
  std::vector<client::ObjectPtr> out = ControlledBy(indexer, owner_uid);
  auto orphans = indexer.ByIndex(kOrphanNamespaceIndex, ns);
  if (orphans.ok()) {
    out.insert(out.end(), std::make_move_iterator(orphans->begin()),
               std::make_move_iterator(orphans->end()));
  }
  return out;
}

const api::Object* StatusCondition(const api::Object& obj, std::string_view type) {
  const json::value* conds = ValueAt(obj, {"status", "conditions"});
  if (conds == nullptr || !conds->is_array()) return nullptr;
  for (const auto& c : conds->get_array()) {
    const json::object* co = c.if_object();
    if (co != nullptr && Field(co, "type") == type) return co;
  }
  return nullptr;
}

std::optional<Clock::WallTime> CreationTime(const api::Object& obj) {
  std::string_view ts = api::GetCreationTimestamp(obj);
  if (ts.empty()) return std::nullopt;
  return client::ParseTime(ts);
}

bool CreatedBefore(const api::Object& a, const api::Object& b) {
  auto ta = CreationTime(a), tb = CreationTime(b);
  Clock::WallTime za = ta.value_or(Clock::WallTime{}), zb = tb.value_or(Clock::WallTime{});
  if (za == zb) return api::GetName(a) < api::GetName(b);
  return za < zb;
}

std::string Timestamp(Clock::WallTime t) { return api::FormatTime(t); }

}  // namespace keelson::controllers
