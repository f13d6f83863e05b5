#include "apiserver/apply.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "api/defaults.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using api::Container;
using api::FieldDecl;
using api::TypeDecl;
using api::ValueKind;
using Path = std::vector<std::string>;

// Metadata the server owns or that names the object: never part of a field set.
bool Unmanaged(std::string_view metadata_field) {
  static const std::set<std::string_view> kSkip = {
      "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
      "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"};
  return kSkip.count(metadata_field) > 0;
}

bool IsListMap(const FieldDecl& f) {
  return f.container == Container::kArray && f.kind == ValueKind::kObject &&
         (f.list_type == "map" || (f.list_type.empty() && !f.merge_key.empty()));
}

bool IsSet(const FieldDecl& f) {
  return f.container == Container::kArray && f.kind != ValueKind::kObject &&
         (f.list_type == "set" ||
          (f.list_type.empty() && f.patch_strategy.find("merge") != std::string::npos));
}

bool Granular(const FieldDecl& f) {
  return f.kind == ValueKind::kObject && f.container == Container::kNone &&
         f.type->map_type != "atomic";
}

// The identity of a list-map element: its key fields (defaulted when left out or null, so that
// {containerPort: 80} is the element the server stored as {containerPort: 80, protocol: TCP}).
json::object KeyOf(const FieldDecl& f, const json::value& e) {
  json::object key;
  std::vector<std::string> names = f.list_map_keys;
  if (names.empty() && !f.merge_key.empty()) names.push_back(f.merge_key);
  const json::object* o = e.is_object() ? &e.as_object() : nullptr;
  for (const auto& n : names) {
    if (o != nullptr && o->contains(n) && !o->at(n).is_null()) {
      const json::value& v = o->at(n);
      // A whole number is the same key however it was written (80, 80.0, 8e1), as pruning
      // stores it as an integer.
      if (v.is_double() && std::abs(v.as_double()) < 9e15 &&
          v.as_double() == std::trunc(v.as_double())) {
        key[n] = static_cast<int64_t>(v.as_double());
      } else {
        key[n] = v;
      }
    } else if (auto d = api::DefaultOf(*f.type, n)) {
      key[n] = *d;
    }
  }
  return key;
}

std::string ElementKey(const FieldDecl& f, const json::value& e) {
  return "k:" + json::serialize(KeyOf(f, e));
}

json::object SetOfObject(const TypeDecl* t, const json::object& o, bool metadata);

json::object SetOfField(const FieldDecl* f, const json::value& v) {
  json::object node;
  if (f == nullptr) {  // an undeclared object (embedded JSON): granular
    if (v.is_object()) {
      for (const auto& [k, cv] : v.as_object()) node["f:" + std::string(k)] = SetOfField(nullptr, cv);
    }
    return node;
  }
  if (f->container == Container::kMap && v.is_object()) {
    for (const auto& [k, cv] : v.as_object()) {
      node["f:" + std::string(k)] = f->kind == ValueKind::kObject && cv.is_object()
                                         ? SetOfObject(f->type, cv.as_object(), false)
                                         : json::object();
    }
    return node;
  }
  if (f->container == Container::kArray && v.is_array()) {
    if (IsListMap(*f)) {
      for (const auto& e : v.as_array()) {
        json::object child{{".", json::object()}};
        if (e.is_object()) {
          for (auto& [k, v] : SetOfObject(f->type, e.as_object(), false)) child[k] = std::move(v);
        }
        node[ElementKey(*f, e)] = std::move(child);
      }
    } else if (IsSet(*f)) {
      for (const auto& e : v.as_array()) node["v:" + json::serialize(e)] = json::object();
    }
    return node;
  }
  if (Granular(*f) && v.is_object()) return SetOfObject(f->type, v.as_object(), false);
  return node;
}

json::object SetOfObject(const TypeDecl* t, const json::object& o, bool top) {
  json::object out;
  for (const auto& [k, v] : o) {
    if (top && (k == "apiVersion" || k == "kind" || k == "status")) continue;
    if (v.is_null()) continue;
    const FieldDecl* f = t ? t->Field(k) : nullptr;
    if (top && k == "metadata" && v.is_object()) {
      json::object meta;
      for (const auto& [mk, mv] : v.as_object()) {
        if (Unmanaged(mk) || mv.is_null()) continue;
        const FieldDecl* mf = f && f->type ? f->type->Field(mk) : nullptr;
        meta["f:" + std::string(mk)] = SetOfField(mf, mv);
      }
      if (!meta.empty()) out["f:metadata"] = std::move(meta);
      continue;
    }
    out["f:" + std::string(k)] = SetOfField(f, v);
  }
  return out;
}

// --- sets as paths ----------------------------------------------------------------------------

// Every leaf of a set: an empty node, or "." (an element as a whole).
void Leaves(const json::object& node, Path* prefix, std::vector<Path>* out) {
  for (const auto& [k, v] : node) {
    prefix->push_back(std::string(k));
    if (!v.is_object() || v.as_object().empty()) {
      out->push_back(*prefix);
    } else {
      Leaves(v.as_object(), prefix, out);
    }
    prefix->pop_back();
  }
}

std::vector<Path> Leaves(const json::object& set) {
  std::vector<Path> out;
  Path prefix;
  Leaves(set, &prefix, &out);
  return out;
}

bool Contains(const json::object& set, const Path& p) {
  const json::object* node = &set;
  for (const auto& seg : p) {
    const auto* next = node->if_contains(seg);
    if (next == nullptr || !next->is_object()) return false;
    node = &next->as_object();
  }
  return true;
}

void Add(json::object* set, const Path& p) {
  json::object* node = set;
  for (const auto& seg : p) {
    auto& next = (*node)[seg];
    if (!next.is_object()) next = json::object();
    node = &next.as_object();
  }
}

// Removes the leaf `p`, and the parents it leaves empty.
void Remove(json::object* set, const Path& p, size_t i = 0) {
  if (i >= p.size()) return;
  auto* next = set->if_contains(p[i]);
  if (next == nullptr || !next->is_object()) return;
  if (i + 1 == p.size()) {
    set->erase(p[i]);
    return;
  }
  Remove(&next->as_object(), p, i + 1);
  if (next->as_object().empty()) set->erase(p[i]);
}

// --- paths in objects -------------------------------------------------------------------------

// Where a path leads in an object: the value, and what holds it (an object and the field's
// name, or an array and the element's index).
struct Location {
  const json::value* value = nullptr;
  const json::object* in_object = nullptr;
  std::string field;
  const json::array* in_array = nullptr;
  size_t index = 0;
};

// Follows `p` in `root` (an object of `type`); the element itself for a trailing ".".
Location Find(const TypeDecl& type, const json::object& root, const Path& p) {
  Location at;
  const json::value* cur = nullptr;  // nullptr: at the root object
  const TypeDecl* t = &type;
  const FieldDecl* f = nullptr;
  bool in_map = false;
  for (const auto& seg : p) {
    if (seg == ".") continue;
    if (seg.rfind("f:", 0) == 0) {
      const json::object* o = cur == nullptr ? &root : cur->is_object() ? &cur->as_object() : nullptr;
      if (o == nullptr) return {};
      std::string name = seg.substr(2);
      const auto* next = o->if_contains(name);
      if (next == nullptr) return {};
      if (in_map) {  // a map's entry: typed by the map's element
        t = f != nullptr && f->kind == ValueKind::kObject ? f->type : nullptr;
        f = nullptr;
        in_map = false;
      } else {
        f = t ? t->Field(name) : nullptr;
        in_map = f != nullptr && f->container == Container::kMap;
        if (f && f->container == Container::kNone) t = f->type;
      }
      at.in_object = o;
      at.field = std::move(name);
      at.in_array = nullptr;
      cur = next;
    } else if (seg.rfind("k:", 0) == 0 || seg.rfind("v:", 0) == 0) {
      if (cur == nullptr || !cur->is_array() || f == nullptr) return {};
      const auto& a = cur->as_array();
      size_t i = 0;
      for (; i < a.size(); ++i) {
        std::string k = seg[0] == 'k' ? ElementKey(*f, a[i]) : "v:" + json::serialize(a[i]);
        if (k == seg) break;
      }
      if (i == a.size()) return {};
      at.in_object = nullptr;
      at.in_array = &a;
      at.index = i;
      t = f->type;
      f = nullptr;
      cur = &a[i];
    } else {
      return {};
    }
  }
  at.value = cur;
  return at;
}

const json::value* ValueAt(const TypeDecl& type, const json::object& obj, const Path& p) {
  return Find(type, obj, p).value;
}

void DeleteAt(const TypeDecl& type, json::object* obj, const Path& p) {
  Location at = Find(type, *obj, p);
  if (at.value == nullptr) return;
  // The location points into `obj`, which the caller lets us change.
  if (at.in_array != nullptr) {
    auto& a = const_cast<json::array&>(*at.in_array);
    a.erase(a.begin() + static_cast<std::ptrdiff_t>(at.index));
  } else if (at.in_object != nullptr) {
    const_cast<json::object&>(*at.in_object).erase(at.field);
  }
}

std::string FieldText(const Path& p) {
  std::string out;
  for (const auto& seg : p) {
    if (seg == ".") continue;
    if (seg.rfind("f:", 0) == 0) {
      out += "." + seg.substr(2);
    } else if (seg.rfind("k:", 0) == 0) {
      out += "[" + seg.substr(2) + "]";
    } else {
      out += "[=" + seg.substr(2) + "]";
    }
  }
  return out;
}

// --- merging ----------------------------------------------------------------------------------

void MergeValue(const FieldDecl* f, json::value* live, const json::value& cfg);

void MergeObject(const TypeDecl* t, json::value* live, const json::object& cfg) {
  if (!live->is_object()) *live = json::object();
  auto& o = live->as_object();
  for (const auto& [k, v] : cfg) {
    if (v.is_null()) {
      o.erase(k);
      continue;
    }
    MergeValue(t ? t->Field(k) : nullptr, &o[k], v);
  }
}

void MergeValue(const FieldDecl* f, json::value* live, const json::value& cfg) {
  if (f == nullptr) {
    if (cfg.is_object() && live->is_object()) return MergeObject(nullptr, live, cfg.as_object());
    *live = cfg;
    return;
  }
  if (f->container == Container::kMap && cfg.is_object()) {
    if (!live->is_object()) *live = json::object();
    for (const auto& [k, v] : cfg.as_object()) {
      if (v.is_null()) {
        live->as_object().erase(k);
      } else if (f->kind == ValueKind::kObject && v.is_object()) {
        MergeObject(f->type, &live->as_object()[k], v.as_object());
      } else {
        live->as_object()[k] = v;
      }
    }
    return;
  }
  // A list map merges its elements by key even when there is no live list yet, so that two
  // elements of the configuration with one key become one element, as they would on the
  // next apply.
  if (f->container == Container::kArray && cfg.is_array() && !live->is_array() && IsListMap(*f)) {
    *live = json::array();
  }
  if (f->container == Container::kArray && cfg.is_array() && live->is_array()) {
    auto& a = live->as_array();
    // Elements found through an index of the live list, so that merging long lists takes
    // linear time.
    if (IsListMap(*f)) {
      std::unordered_map<std::string, size_t> index;
      for (size_t i = 0; i < a.size(); ++i) index.emplace(ElementKey(*f, a[i]), i);
      for (const auto& e : cfg.as_array()) {
        if (!e.is_object()) continue;  // not an element of this list (pruning drops it)
        std::string key = ElementKey(*f, e);
        auto it = index.find(key);
        if (it != index.end() && e.is_object()) {
          MergeObject(f->type, &a[it->second], e.as_object());
        } else {
          a.push_back(e);
          index.emplace(std::move(key), a.size() - 1);
        }
      }
      return;
    }
    if (IsSet(*f)) {
      std::unordered_set<std::string> have;
      for (const auto& e : a) have.insert(json::serialize(e));
      for (const auto& e : cfg.as_array()) {
        if (have.insert(json::serialize(e)).second) a.push_back(e);
      }
      return;
    }
  }
  if (Granular(*f) && cfg.is_object()) return MergeObject(f->type, live, cfg.as_object());
  *live = cfg;
}

// --- managedFields ----------------------------------------------------------------------------

json::array Entries(const json::object& obj) {
  const auto* meta = obj.if_contains("metadata");
  if (meta == nullptr || !meta->is_object()) return {};
  const auto* mf = meta->as_object().if_contains("managedFields");
  return mf && mf->is_array() ? mf->as_array() : json::array();
}

void SetEntries(json::object* obj, json::array entries) {
  json::array kept;
  for (auto& e : entries) {
    const auto* set = e.as_object().if_contains("fieldsV1");
    if (set && set->is_object() && !set->as_object().empty()) kept.push_back(std::move(e));
  }
  auto& meta = (*obj)["metadata"];
  if (!meta.is_object()) meta = json::object();
  if (kept.empty()) {
    meta.as_object().erase("managedFields");
  } else {
    meta.as_object()["managedFields"] = std::move(kept);
  }
}

json::object* SetOf(json::value& entry) {
  auto& s = entry.as_object()["fieldsV1"];
  if (!s.is_object()) s = json::object();
  return &s.as_object();
}

bool Is(const json::value& entry, std::string_view manager, std::string_view operation) {
  const auto& e = entry.as_object();
  const auto* m = e.if_contains("manager");
  const auto* op = e.if_contains("operation");
  return m && m->is_string() && m->as_string() == manager && op && op->is_string() &&
         op->as_string() == operation;
}

json::value& EntryFor(json::array* entries, const ManagerInfo& who, std::string_view operation) {
  for (auto& e : *entries) {
    if (e.is_object() && Is(e, who.manager, operation)) {
      e.as_object()["apiVersion"] = who.api_version;
      e.as_object()["time"] = who.time;
      return e;
    }
  }
  entries->push_back(json::object{{"manager", who.manager},
                                  {"operation", operation},
                                  {"apiVersion", who.api_version},
                                  {"time", who.time},
                                  {"fieldsType", "FieldsV1"},
                                  {"fieldsV1", json::object()}});
  return entries->back();
}

}  // namespace

json::object FieldSetOf(const TypeDecl& type, const json::object& obj) {
  return SetOfObject(&type, obj, true);
}

json::object ServerSideApply(const TypeDecl& type, const json::object* live,
                             const json::object& config, const ManagerInfo& who, bool force,
                             std::vector<ApplyConflict>* conflicts) {
  json::object cfg = config;
  if (auto* m = cfg.if_contains("metadata"); m && m->is_object()) {
    m->as_object().erase("managedFields");
    m->as_object().erase("resourceVersion");
  }
  json::object fresh = FieldSetOf(type, cfg);
  json::object base = live ? *live : json::object();
  json::array entries = live ? Entries(*live) : json::array();
  json::object previous;
  for (auto& e : entries) {
    if (e.is_object() && Is(e, who.manager, "Apply")) previous = *SetOf(e);
  }
  // Conflicts: a field another manager owns, set here to a different value.
  std::vector<Path> fresh_leaves = Leaves(fresh);
  for (auto& e : entries) {
    if (!e.is_object() || Is(e, who.manager, "Apply")) continue;
    json::object* other = SetOf(e);
    for (const auto& p : fresh_leaves) {
      if (p.back() == "." || !Contains(*other, p)) continue;
      const json::value* was = ValueAt(type, base, p);
      const json::value* want = ValueAt(type, cfg, p);
      if (was && want && *was == *want) continue;  // the same value: shared ownership
      if (force) {
        Remove(other, p);
      } else {
        std::string op(e.as_object().at("manager").as_string());
        conflicts->push_back({op, FieldText(p)});
      }
    }
  }
  if (!conflicts->empty()) return {};
  json::value merged = base;
  MergeObject(&type, &merged, cfg);
  // What this manager applied before and applies no more goes, unless someone else owns it.
  // Outer paths first: a list element goes as a whole before its fields are looked at (they
  // identify it).
  std::vector<Path> gone;
  for (auto& p : Leaves(previous)) {
    if (Contains(fresh, p)) continue;
    if (p.back() == ".") p.pop_back();
    gone.push_back(std::move(p));
  }
  std::stable_sort(gone.begin(), gone.end(),
                   [](const Path& a, const Path& b) { return a.size() < b.size(); });
  auto owned_by_others = [&](const Path& p) {
    for (auto& e : entries) {
      if (e.is_object() && !Is(e, who.manager, "Apply") && Contains(*SetOf(e), p)) {
        return true;
      }
    }
    return false;
  };
  for (const auto& target : gone) {
    if (owned_by_others(target)) continue;
    DeleteAt(type, &merged.as_object(), target);
    // A list or map emptied this way goes too, unless it is still applied or owned.
    Path up = target;
    while (up.size() > 1) {
      up.pop_back();
      if (up.back().rfind("f:", 0) != 0) continue;
      const json::value* v = ValueAt(type, merged.as_object(), up);
      bool empty = v && ((v->is_array() && v->as_array().empty()) ||
                         (v->is_object() && v->as_object().empty()));
      if (!empty || Contains(fresh, up) || owned_by_others(up)) break;
      DeleteAt(type, &merged.as_object(), up);
    }
  }
  *SetOf(EntryFor(&entries, who, "Apply")) = std::move(fresh);
  json::object out = std::move(merged.as_object());
  SetEntries(&out, std::move(entries));
  return out;
}

void TrackUpdate(const TypeDecl& type, const json::object* old, json::object* obj,
                 const ManagerInfo& who) {
  json::array given = Entries(*obj);
  json::array entries = old ? Entries(*old) : json::array();
  if (!given.empty() && given != entries) return;  // the client set them: kept as given
  json::object now = FieldSetOf(type, *obj);
  if (old == nullptr) {  // a create: every field is the creator's
    if (!now.empty()) *SetOf(EntryFor(&entries, who, "Update")) = std::move(now);
    SetEntries(obj, std::move(entries));
    return;
  }
  json::object before = FieldSetOf(type, *old);
  for (const auto& p : Leaves(before)) {  // gone fields belong to nobody
    if (Contains(now, p)) continue;
    for (auto& e : entries) {
      if (e.is_object()) Remove(SetOf(e), p);
    }
  }
  std::vector<Path> changed;
  for (const auto& p : Leaves(now)) {
    const json::value* a = ValueAt(type, *old, p);
    const json::value* b = ValueAt(type, *obj, p);
    if (!a || !b || *a != *b) changed.push_back(p);
  }
  if (!changed.empty()) {
    for (auto& e : entries) {
      if (!e.is_object() || Is(e, who.manager, "Update")) continue;
      for (const auto& p : changed) Remove(SetOf(e), p);
    }
    json::object* mine = SetOf(EntryFor(&entries, who, "Update"));
    for (const auto& p : changed) Add(mine, p);
  }
  SetEntries(obj, std::move(entries));
}

}  // namespace keelson::apiserver
