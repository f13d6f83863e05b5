#include "controllers/deployment/deployment_util.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "client/time_format.h"
#include "controllers/base/workload_util.h"

namespace keelson::controllers::deployment {

namespace json = boost::json;

namespace {

constexpr int64_t kMaxInt32 = std::numeric_limits<int32_t>::max();

std::optional<int64_t> ParseInt(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

json::object* MutableAnnotations(api::Object* obj) {
  json::object& meta = api::MutableMetadata(obj);
  json::value& a = meta["annotations"];
  if (!a.is_object()) a = json::object();
  return &a.get_object();
}

bool SkipCopyAnnotation(std::string_view key) {
  return key == kLastAppliedAnnotation || key == kRevisionAnnotation ||
         key == kRevisionHistoryAnnotation || key == kDesiredReplicasAnnotation ||
         key == kMaxReplicasAnnotation || key == kRollbackToAnnotation;
}

const json::value* RollingParam(const api::Object& d, std::string_view name) {
  return ValueAt(d, {"spec", "strategy", "rollingUpdate", name});
}

}  // namespace

int64_t Replicas(const api::Object& obj) { return SpecReplicas(obj); }
int64_t StatusInt(const api::Object& obj, std::string_view field) {
  return IntAt(obj, {"status", field});
}
std::string_view Annotation(const api::Object& obj, std::string_view key) {
  return StringAt(obj, {"metadata", "annotations", key});
}
bool HasAnnotation(const api::Object& obj, std::string_view key) {
  return ValueAt(obj, {"metadata", "annotations", key}) != nullptr;
}
bool IsRollingUpdate(const api::Object& d) {
  return StringAt(d, {"spec", "strategy", "type"}) == "RollingUpdate";
}
bool IsPaused(const api::Object& d) { return BoolAt(d, {"spec", "paused"}); }
bool HasProgressDeadline(const api::Object& d) {
  auto v = AsInt(ValueAt(d, {"spec", "progressDeadlineSeconds"}));
  return v && *v != kMaxInt32;
}
bool HasRevisionHistoryLimit(const api::Object& d) {
  auto v = AsInt(ValueAt(d, {"spec", "revisionHistoryLimit"}));
  return v && *v != kMaxInt32;
}

std::optional<int64_t> Revision(const api::Object& obj) {
  const json::value* v = ValueAt(obj, {"metadata", "annotations", kRevisionAnnotation});
  if (v == nullptr) return 0;
  if (!v->is_string()) return std::nullopt;
  return ParseInt(v->get_string());
}

int64_t MaxRevision(const RsList& rss) {
  int64_t max = 0;
  for (const auto& rs : rss) {
    if (!rs) continue;
    if (auto v = Revision(*rs); v && *v > max) max = *v;
  }
  return max;
}

int64_t LastRevision(const RsList& rss) {
  int64_t max = 0, second = 0;
  for (const auto& rs : rss) {
    if (!rs) continue;
    auto v = Revision(*rs);
    if (!v) continue;
    if (*v >= max) {
      second = max;
      max = *v;
    } else if (*v > second) {
      second = *v;
    }
  }
  return second;
}

bool SetReplicasAnnotations(api::Object* rs, int64_t desired, int64_t max) {
  json::object* a = MutableAnnotations(rs);
  bool updated = false;
  for (auto [key, value] : {std::pair{kDesiredReplicasAnnotation, desired},
                            std::pair{kMaxReplicasAnnotation, max}}) {
    std::string text = std::to_string(value);
    const json::value* cur = a->if_contains(key);
    if (cur == nullptr || !cur->is_string() || cur->get_string() != text) {
      (*a)[key] = text;
      updated = true;
    }
  }
  return updated;
}

bool ReplicasAnnotationsNeedUpdate(const api::Object& rs, int64_t desired, int64_t max) {
  return Annotation(rs, kDesiredReplicasAnnotation) != std::to_string(desired) ||
         !HasAnnotation(rs, kDesiredReplicasAnnotation) ||
         Annotation(rs, kMaxReplicasAnnotation) != std::to_string(max) ||
         !HasAnnotation(rs, kMaxReplicasAnnotation);
}

std::optional<int64_t> DesiredReplicasAnnotation(const api::Object& rs) {
  if (!HasAnnotation(rs, kDesiredReplicasAnnotation)) return std::nullopt;
  return ParseInt(Annotation(rs, kDesiredReplicasAnnotation));
}

std::optional<int64_t> MaxReplicasAnnotation(const api::Object& rs) {
  if (!HasAnnotation(rs, kMaxReplicasAnnotation)) return std::nullopt;
  return ParseInt(Annotation(rs, kMaxReplicasAnnotation));
}

bool SetNewReplicaSetAnnotations(const api::Object& d, api::Object* rs, int64_t new_revision,
                                 bool exists, size_t rev_history_limit_in_chars) {
  bool changed = false;
  json::object* a = MutableAnnotations(rs);
  // The Deployment's annotations, but those the controller keeps per ReplicaSet.
  if (const api::Object* da = ObjectAt(d, {"metadata", "annotations"})) {
    for (const auto& [k, v] : *da) {
      if (SkipCopyAnnotation(k)) continue;
      const json::value* cur = a->if_contains(k);
      if (cur != nullptr && *cur == v) continue;
      (*a)[k] = v;
      changed = true;
    }
  }
  const json::value* old_value = a->if_contains(kRevisionAnnotation);
  bool had_revision = old_value != nullptr;
  std::string old_revision =
      old_value && old_value->is_string() ? std::string(old_value->get_string()) : "";
  int64_t old_int = 0;
  if (!old_revision.empty()) {
    auto parsed = ParseInt(old_revision);
    if (!parsed) return false;  // not ours to fix (upstream leaves it)
    old_int = *parsed;
  }
  if (old_int < new_revision) {
    (*a)[kRevisionAnnotation] = std::to_string(new_revision);
    changed = true;
  }
  // A ReplicaSet that had a revision and gets a newer one is being rolled back to: keep the
  // revisions it served.
  if (had_revision && old_int < new_revision) {
    std::string history(StringAt(*rs, {"metadata", "annotations", kRevisionHistoryAnnotation}));
    if (history.empty()) {
      (*a)[kRevisionHistoryAnnotation] = old_revision;
    } else {
      std::vector<std::string> olds;
      size_t start = 0;
      while (true) {
        size_t comma = history.find(',', start);
        olds.push_back(history.substr(start, comma == std::string::npos ? std::string::npos
                                                                         : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      size_t total = history.size() + old_revision.size() + 1;
      size_t first = 0;
      while (total > rev_history_limit_in_chars && first < olds.size()) {
        total -= olds[first].size() + 1;
        ++first;
      }
      if (total <= rev_history_limit_in_chars) {
        std::string joined;
        for (size_t i = first; i < olds.size(); ++i) joined += olds[i] + ",";
        joined += old_revision;
        (*a)[kRevisionHistoryAnnotation] = joined;
      }
    }
  }
  if (!exists) {
    int64_t replicas = Replicas(d);
    if (SetReplicasAnnotations(rs, replicas, replicas + MaxSurge(d))) changed = true;
  }
  return changed;
}

bool SetDeploymentRevision(api::Object* d, std::string_view text) {
  json::object* a = MutableAnnotations(d);
  const json::value* cur = a->if_contains(kRevisionAnnotation);
  if (cur && cur->is_string() && cur->get_string() == text) return false;
  (*a)[kRevisionAnnotation] = text;
  return true;
}

void SetDeploymentAnnotationsTo(api::Object* d, const api::Object& rs) {
  json::object kept;
  if (const api::Object* da = ObjectAt(*d, {"metadata", "annotations"})) {
    for (const auto& [k, v] : *da) {
      if (SkipCopyAnnotation(k)) kept[k] = v;
    }
  }
  if (const api::Object* ra = ObjectAt(rs, {"metadata", "annotations"})) {
    for (const auto& [k, v] : *ra) {
      if (!SkipCopyAnnotation(k)) kept[k] = v;
    }
  }
  api::MutableMetadata(d)["annotations"] = std::move(kept);
}

Result<int64_t> ScaledValue(const json::value* v, int64_t total, bool round_up) {
  if (v == nullptr || v->is_null()) return InvalidArgumentError("nil value for IntOrString");
  if (auto i = AsInt(v)) return *i;
  if (!v->is_string()) return InvalidArgumentError("invalid value for IntOrString");
  std::string_view s = v->get_string();
  if (s.empty() || s.back() != '%') {
    return InvalidArgumentError("invalid type: string is not a percentage");
  }
  auto pct = ParseInt(s.substr(0, s.size() - 1));
  if (!pct) {
    return InvalidArgumentError("invalid value for IntOrString: invalid value \"" +
                                std::string(s) + "\"");
  }
  double scaled = static_cast<double>(*pct) * static_cast<double>(total) / 100.0;
  return static_cast<int64_t>(round_up ? std::ceil(scaled) : std::floor(scaled));
}

Result<std::pair<int64_t, int64_t>> ResolveFenceposts(const json::value* max_surge,
                                                      const json::value* max_unavailable,
                                                      int64_t desired) {
  static const json::value kZero = 0;
  auto surge = ScaledValue(max_surge ? max_surge : &kZero, desired, true);
  if (!surge.ok()) return surge.status();
  auto unavailable = ScaledValue(max_unavailable ? max_unavailable : &kZero, desired, false);
  if (!unavailable.ok()) return unavailable.status();
  // Both can round to zero; an unavailable pod then makes progress, as surge might not (quota).
  if (*surge == 0 && *unavailable == 0) return std::pair<int64_t, int64_t>{0, 1};
  return std::pair<int64_t, int64_t>{*surge, *unavailable};
}

int64_t MaxSurge(const api::Object& d) {
  if (!IsRollingUpdate(d)) return 0;
  auto r = ResolveFenceposts(RollingParam(d, "maxSurge"), RollingParam(d, "maxUnavailable"),
                             Replicas(d));
  return r.ok() ? r->first : 0;
}

int64_t MaxUnavailable(const api::Object& d) {
  int64_t replicas = Replicas(d);
  if (!IsRollingUpdate(d) || replicas == 0) return 0;
  auto r = ResolveFenceposts(RollingParam(d, "maxSurge"), RollingParam(d, "maxUnavailable"),
                             replicas);
  int64_t unavailable = r.ok() ? r->second : 0;
  return std::min(unavailable, replicas);
}

Result<int64_t> NewRSNewReplicas(const api::Object& d, const RsList& all, const api::Object& new_rs) {
  std::string_view type = StringAt(d, {"spec", "strategy", "type"});
  int64_t replicas = Replicas(d);
  if (type == "RollingUpdate") {
    auto surge = ScaledValue(RollingParam(d, "maxSurge"), replicas, true);
    if (!surge.ok()) return surge.status();
    int64_t current = ReplicaCount(all);
    int64_t max_total = replicas + *surge;
    int64_t new_replicas = Replicas(new_rs);
    if (current >= max_total) return new_replicas;
    int64_t scale_up = std::min(max_total - current, replicas - new_replicas);
    return new_replicas + scale_up;
  }
  if (type == "Recreate") return replicas;
  return InvalidArgumentError("deployment type " + std::string(type) + " isn't supported");
}

namespace {

int64_t ReplicaSetFraction(const api::Object& rs, const api::Object& d) {
  int64_t rs_replicas = Replicas(rs);
  if (Replicas(d) == 0) return -rs_replicas;
  int64_t deployment_replicas = Replicas(d) + MaxSurge(d);
  std::optional<int64_t> annotated = MaxReplicasAnnotation(rs);
  // Without the annotation: the Deployment's current size, which keeps within limits
  // through the min/max of GetProportion even if not exact.
  int64_t base = annotated ? *annotated : StatusInt(d, "replicas");
  if (base == 0) return 0;
  double size = static_cast<double>(rs_replicas * deployment_replicas) / static_cast<double>(base);
  return static_cast<int64_t>(std::round(size)) - rs_replicas;
}

}  // namespace

int64_t GetProportion(const api::Object* rs, const api::Object& d, int64_t to_add, int64_t added) {
  if (rs == nullptr || Replicas(*rs) == 0 || to_add == 0 || to_add == added) return 0;
  int64_t fraction = ReplicaSetFraction(*rs, d);
  int64_t allowed = to_add - added;
  // Never past what may be added (or removed) in total.
  return to_add > 0 ? std::min(fraction, allowed) : std::max(fraction, allowed);
}

bool IsSaturated(const api::Object& d, const api::Object* rs) {
  if (rs == nullptr) return false;
  auto desired = DesiredReplicasAnnotation(*rs);
  if (!desired) return false;
  int64_t replicas = Replicas(d);
  return Replicas(*rs) == replicas && *desired == replicas &&
         StatusInt(*rs, "availableReplicas") == replicas;
}

namespace {

bool EmptyValue(const json::value& v) {
  return v.is_null() || (v.is_object() && v.get_object().empty()) ||
         (v.is_array() && v.get_array().empty());
}

// Nulls, empty maps and empty lists dropped, recursively (after dropping, a map that became
// empty is dropped too); the hash label dropped from metadata.labels.
json::value Normalized(const json::value& v, bool template_root) {
  if (v.is_object()) {
    json::object out;
    for (const auto& [k, val] : v.get_object()) {
      json::value n = Normalized(val, false);
      if (template_root && k == "metadata" && n.is_object()) {
        json::object& m = n.get_object();
        if (auto* labels = m.if_contains("labels"); labels && labels->is_object()) {
          labels->get_object().erase(kPodTemplateHashLabel);
          if (labels->get_object().empty()) m.erase("labels");
        }
        if (m.empty()) continue;
      }
      if (EmptyValue(n)) continue;
      out[k] = std::move(n);
    }
    return out;
  }
  if (v.is_array()) {
    json::array out;
    for (const auto& e : v.get_array()) out.push_back(Normalized(e, false));
    return out;
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (std::floor(d) == d && std::abs(d) < 9e15) return static_cast<int64_t>(d);
  }
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(v.get_uint64());
  }
  return v;
}

void Canonical(const json::value& v, std::string* out) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const json::value*>> fields;
    for (const auto& [k, val] : v.get_object()) fields.emplace_back(k, &val);
    std::sort(fields.begin(), fields.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    out->push_back('{');
    bool first = true;
    for (const auto& [k, val] : fields) {
      if (!first) out->push_back(',');
      first = false;
      *out += json::serialize(json::value(json::string(k)));
      out->push_back(':');
      Canonical(*val, out);
    }
    out->push_back('}');
    return;
  }
  if (v.is_array()) {
    out->push_back('[');
    bool first = true;
    for (const auto& e : v.get_array()) {
      if (!first) out->push_back(',');
      first = false;
      Canonical(e, out);
    }
    out->push_back(']');
    return;
  }
  *out += json::serialize(v);
}

}  // namespace

bool EqualIgnoreHash(const json::value* t1, const json::value* t2) {
  static const json::value kNull = nullptr;
  return Normalized(t1 ? *t1 : kNull, true) == Normalized(t2 ? *t2 : kNull, true);
}

client::ObjectPtr FindNewReplicaSet(const api::Object& d, const RsList& rss) {
  RsList sorted = rss;
  SortByCreation(&sorted);
  const json::value* want = ValueAt(d, {"spec", "template"});
  for (const auto& rs : sorted) {
    // Several can match (after upgrades upstream has seen it): the oldest wins.
    if (EqualIgnoreHash(ValueAt(*rs, {"spec", "template"}), want)) return rs;
  }
  return nullptr;
}

RsList FindOldReplicaSets(const api::Object& d, const RsList& rss) {
  client::ObjectPtr new_rs = FindNewReplicaSet(d, rss);
  RsList out;
  for (const auto& rs : rss) {
    if (new_rs && api::GetUid(*rs) == api::GetUid(*new_rs)) continue;
    out.push_back(rs);
  }
  return out;
}

RsList FilterActiveReplicaSets(const RsList& rss) {
  RsList out;
  for (const auto& rs : rss) {
    if (rs && Replicas(*rs) > 0) out.push_back(rs);
  }
  return out;
}

client::ObjectPtr FindActiveOrLatest(const client::ObjectPtr& new_rs, RsList old_rss) {
  if (!new_rs && old_rss.empty()) return nullptr;
  SortByCreation(&old_rss);
  std::reverse(old_rss.begin(), old_rss.end());
  RsList all = old_rss;
  all.push_back(new_rs);
  RsList active = FilterActiveReplicaSets(all);
  if (active.empty()) return new_rs ? new_rs : old_rss.front();
  if (active.size() == 1) return active.front();
  return nullptr;
}

int64_t ReplicaCount(const RsList& rss) {
  int64_t n = 0;
  for (const auto& rs : rss) {
    if (rs) n += Replicas(*rs);
  }
  return n;
}

namespace {

int64_t SumStatus(const RsList& rss, std::string_view field) {
  int64_t n = 0;
  for (const auto& rs : rss) {
    if (rs) n += StatusInt(*rs, field);
  }
  return n;
}

}  // namespace

int64_t ActualReplicaCount(const RsList& rss) { return SumStatus(rss, "replicas"); }
int64_t ReadyReplicaCount(const RsList& rss) { return SumStatus(rss, "readyReplicas"); }
int64_t AvailableReplicaCount(const RsList& rss) { return SumStatus(rss, "availableReplicas"); }

void SortByCreation(RsList* rss) {
  std::stable_sort(rss->begin(), rss->end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    return CreatedBefore(*a, *b);
  });
}

void SortBySizeNewer(RsList* rss) {
  std::stable_sort(rss->begin(), rss->end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    if (Replicas(*a) == Replicas(*b)) return CreatedBefore(*b, *a);
    return Replicas(*a) > Replicas(*b);
  });
}

void SortBySizeOlder(RsList* rss) {
  std::stable_sort(rss->begin(), rss->end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    if (Replicas(*a) == Replicas(*b)) return CreatedBefore(*a, *b);
    return Replicas(*a) > Replicas(*b);
  });
}

void SortByRevision(RsList* rss) {
  std::stable_sort(rss->begin(), rss->end(), [](const client::ObjectPtr& a, const client::ObjectPtr& b) {
    auto ra = Revision(*a), rb = Revision(*b);
    if (!ra || !rb || *ra == *rb) return CreatedBefore(*a, *b);
    return *ra < *rb;
  });
}

std::string ComputeHash(const json::value& pod_template, std::optional<int64_t> collision_count) {
  std::string text;
  Canonical(Normalized(pod_template, false), &text);
  uint32_t h = 2166136261u;
  auto add = [&h](unsigned char c) {
    h ^= c;
    h *= 16777619u;
  };
  for (unsigned char c : text) add(c);
  if (collision_count) {
    uint32_t n = static_cast<uint32_t>(*collision_count);
    for (int i = 0; i < 8; ++i) add(i < 4 ? static_cast<unsigned char>(n >> (8 * i)) : 0);
  }
  // Upstream's rand.SafeEncodeString of the decimal sum: no vowels, no confusable characters.
  static constexpr std::string_view kAlphanums = "bcdfghjklmnpqrstvwxz2456789";
  std::string decimal = std::to_string(h);
  std::string out;
  for (unsigned char c : decimal) out.push_back(kAlphanums[c % kAlphanums.size()]);
  return out;
}

json::object NewCondition(std::string_view type, std::string_view status, std::string_view reason,
                          std::string_view message, Clock::WallTime now) {
  std::string t = Timestamp(now);
  return json::object{{"type", type},          {"status", status},         {"lastUpdateTime", t},
                      {"lastTransitionTime", t}, {"reason", reason},       {"message", message}};
}

const json::object* GetCondition(const json::object& status, std::string_view type) {
  const json::value* conds = status.if_contains("conditions");
  if (conds == nullptr || !conds->is_array()) return nullptr;
  for (const auto& c : conds->get_array()) {
    const json::object* co = c.if_object();
    if (co == nullptr) continue;
    const json::value* t = co->if_contains("type");
    if (t && t->is_string() && t->get_string() == type) return co;
  }
  return nullptr;
}

namespace {

}  // namespace

void SetCondition(json::object* status, json::object condition) {
  std::string_view type = StringAt(condition, {"type"});
  if (const json::object* cur = GetCondition(*status, type)) {
    if (StringAt(*cur, {"status"}) == StringAt(condition, {"status"}) &&
        StringAt(*cur, {"reason"}) == StringAt(condition, {"reason"})) {
      return;
    }
    if (StringAt(*cur, {"status"}) == StringAt(condition, {"status"})) {
      if (const json::value* t = cur->if_contains("lastTransitionTime")) {
        condition["lastTransitionTime"] = *t;
      }
    }
  }
  std::string type_copy(type);
  RemoveCondition(status, type_copy);
  json::value& conds = (*status)["conditions"];
  if (!conds.is_array()) conds = json::array();
  conds.get_array().push_back(std::move(condition));
}

void RemoveCondition(json::object* status, std::string_view type) {
  json::value* conds = status->if_contains("conditions");
  if (conds == nullptr || !conds->is_array()) return;
  json::array kept;
  for (auto& c : conds->get_array()) {
    const json::object* co = c.if_object();
    if (co != nullptr && StringAt(*co, {"type"}) == type) continue;
    kept.push_back(std::move(c));
  }
  if (kept.empty()) {
    status->erase("conditions");
  } else {
    *conds = std::move(kept);
  }
}

json::object CanonicalStatus(const json::value* status) {
  json::object out;
  if (status == nullptr || !status->is_object()) return out;
  out = status->get_object();
  for (const char* f : {"observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                        "availableReplicas", "unavailableReplicas"}) {
    const json::value* v = out.if_contains(f);
    if (v == nullptr) continue;
    auto n = AsInt(v);
    if (!n || *n == 0) {
      out.erase(f);
    } else {
      out[f] = *n;
    }
  }
  if (const json::value* c = out.if_contains("conditions"); c && EmptyValue(*c)) out.erase("conditions");
  return out;
}

namespace {

int64_t Field(const json::object& status, std::string_view f) {
  return AsInt(status.if_contains(f)).value_or(0);
}

}  // namespace

bool DeploymentComplete(const api::Object& d, const json::object& s) {
  int64_t replicas = Replicas(d);
  return Field(s, "updatedReplicas") == replicas && Field(s, "replicas") == replicas &&
         Field(s, "availableReplicas") == replicas &&
         Field(s, "observedGeneration") >= api::GetGeneration(d);
}

bool DeploymentProgressing(const api::Object& d, const json::object& s) {
  int64_t old_updated = StatusInt(d, "updatedReplicas");
  int64_t old_old = StatusInt(d, "replicas") - old_updated;
  int64_t new_old = Field(s, "replicas") - Field(s, "updatedReplicas");
  return Field(s, "updatedReplicas") > old_updated || new_old < old_old ||
         Field(s, "readyReplicas") > StatusInt(d, "readyReplicas") ||
         Field(s, "availableReplicas") > StatusInt(d, "availableReplicas");
}

bool DeploymentTimedOut(const api::Object& d, const json::object& s, Clock::WallTime now) {
  if (!HasProgressDeadline(d)) return false;
  const json::object* cond = GetCondition(s, "Progressing");
  if (cond == nullptr) return false;
  // After a complete rollout nothing is estimated; a timeout stays one.
  if (StringAt(*cond, {"reason"}) == kNewRSAvailableReason) return false;
  if (StringAt(*cond, {"reason"}) == kTimedOutReason) return true;
  auto from = client::ParseTime(StringAt(*cond, {"lastUpdateTime"}));
  if (!from) return false;
  auto deadline = std::chrono::seconds(IntAt(d, {"spec", "progressDeadlineSeconds"}));
  return *from + deadline < now;
}

}  // namespace keelson::controllers::deployment
