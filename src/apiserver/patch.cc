#include "apiserver/patch.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "api/json_limits.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

Status TooDeep(std::string_view what) {
  return InvalidArgumentError(std::string(what) + " is nested more than " +
                              std::to_string(kPatchMaxDepth) + " levels deep");
}

Status MergePatch(json::value* target, const json::value& patch, size_t depth) {
  if (!patch.is_object()) {
    *target = patch;
    return Status::Ok();
  }
  if (depth > kPatchMaxDepth) return TooDeep("the merge patch");
  if (!target->is_object()) *target = json::object();
  auto& t = target->as_object();
  for (const auto& [k, v] : patch.as_object()) {
    if (v.is_null()) {
      t.erase(k);
    } else {
      KEELSON_RETURN_IF_ERROR(MergePatch(&t[k], v, depth + 1));
    }
  }
  return Status::Ok();
}

// Values compared by their serialized form, so that sets and indexes of list elements cost
// one pass instead of a comparison of every pair (a patch of many thousand elements against a
// list of many thousand must not take quadratic time).
std::string Canonical(const json::value& v) { return json::serialize(v); }

// --- strategic merge patch ------------------------------------------------------------------
// Merges per the declared list semantics: lists of objects with a merge key are merged by that
// key, lists of scalars with the merge strategy are unions, other lists are replaced. The
// directives: `$patch: replace|delete|merge` in an object or a list element,
// `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.

constexpr std::string_view kSetOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitive = "$deleteFromPrimitiveList/";

Status StrategicObject(const api::TypeDecl* type, json::object* target, const json::object& patch,
                       bool* deleted, size_t depth);

// The merge-key value of a list element, serialized for comparison.
std::optional<std::string> KeyOf(const json::value& e, const std::string& key) {
  if (!e.is_object()) return std::nullopt;
  const auto* v = e.as_object().if_contains(key);
  if (v == nullptr) return std::nullopt;
  return json::serialize(*v);
}

bool IsMergeList(const api::FieldDecl* f) {
  return f != nullptr && f->container == api::Container::kArray &&
         f->patch_strategy.find("merge") != std::string::npos;
}

Status StrategicList(const api::FieldDecl& f, json::array* target, const json::array& patch,
                     size_t depth) {
  bool objects = f.kind == api::ValueKind::kObject;
  if (!objects) {  // a set of scalars: the union
    std::unordered_set<std::string> have;
    for (const auto& v : *target) have.insert(Canonical(v));
    for (const auto& v : patch) {
      if (have.insert(Canonical(v)).second) target->push_back(v);
    }
    return Status::Ok();
  }
  const std::string& key = f.merge_key;
  // `$patch: replace` anywhere in the patch list replaces the whole list.
  for (const auto& e : patch) {
    if (e.is_object() && e.as_object().contains("$patch") &&
        e.as_object().at("$patch") == "replace") {
      json::array out;
      for (const auto& o : patch) {
        if (o.is_object() && o.as_object().contains("$patch")) continue;
        out.push_back(o);
      }
      *target = std::move(out);
      return Status::Ok();
    }
  }
  // The first element of the target with each merge-key value. Elements are merged in place
  // and deletions only mark them, so positions stay valid until the end.
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < target->size(); ++i) {
    if (auto k = KeyOf((*target)[i], key)) index.emplace(std::move(*k), i);
  }
  std::vector<bool> gone_at(target->size(), false);
  for (const auto& e : patch) {
    auto k = KeyOf(e, key);
    if (!k) {
      return InvalidArgumentError("map: " + json::serialize(e) +
                                  " does not contain declared merge key: " + key);
    }
    auto it = index.find(*k);
    const auto& eo = e.as_object();
    if (const auto* d = eo.if_contains("$patch"); d && *d == "delete") {
      if (it != index.end()) {
        gone_at[it->second] = true;
        index.erase(it);
      }
      continue;
    }
    if (it == index.end()) {
      json::object fresh;
      bool gone = false;
      KEELSON_RETURN_IF_ERROR(StrategicObject(f.type, &fresh, eo, &gone, depth + 1));
      if (!gone) {
        target->push_back(std::move(fresh));
        gone_at.push_back(false);
        index.emplace(std::move(*k), target->size() - 1);
      }
      continue;
    }
    json::value& slot = (*target)[it->second];
    if (!slot.is_object()) slot = json::object();
    bool gone = false;
    KEELSON_RETURN_IF_ERROR(StrategicObject(f.type, &slot.as_object(), eo, &gone, depth + 1));
    if (gone) {
      gone_at[it->second] = true;
      index.erase(it);
    }
  }
  if (std::find(gone_at.begin(), gone_at.end(), true) != gone_at.end()) {
    json::array kept;
    for (size_t i = 0; i < target->size(); ++i) {
      if (!gone_at[i]) kept.push_back(std::move((*target)[i]));
    }
    *target = std::move(kept);
  }
  return Status::Ok();
}

// Orders `list` as `order` says (elements named there first, in that order; the others after,
// in their own order).
void SetOrder(const api::FieldDecl& f, json::array* list, const json::array& order) {
  bool objects = f.kind == api::ValueKind::kObject;
  auto key = [&](const json::value& e) -> std::optional<std::string> {
    if (objects) return KeyOf(e, f.merge_key);
    return Canonical(e);
  };
  std::unordered_map<std::string, size_t> ranks;
  for (size_t i = 0; i < order.size(); ++i) {
    if (auto k = key(order[i])) ranks.emplace(std::move(*k), i);
  }
  std::vector<std::pair<size_t, size_t>> keyed;  // (rank, position)
  keyed.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    auto k = key((*list)[i]);
    auto r = k ? ranks.find(*k) : ranks.end();
    keyed.emplace_back(r == ranks.end() ? order.size() : r->second, i);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  json::array sorted;
  sorted.reserve(list->size());
  for (const auto& [rank, i] : keyed) sorted.push_back(std::move((*list)[i]));
  *list = std::move(sorted);
}

Status StrategicObject(const api::TypeDecl* type, json::object* target, const json::object& patch,
                       bool* deleted, size_t depth) {
  if (depth > kPatchMaxDepth) return TooDeep("the strategic merge patch");
  if (const auto* d = patch.if_contains("$patch")) {
    if (*d == "delete") {
      *deleted = true;
      return Status::Ok();
    }
    if (*d == "replace") {
      json::object out;
      for (const auto& [k, v] : patch) {
        if (k != "$patch") out[k] = v;
      }
      *target = std::move(out);
      return Status::Ok();
    }
    if (*d != "merge") {
      return InvalidArgumentError("unknown patch type: " + json::serialize(*d) +
                                  " in map: " + json::serialize(patch));
    }
  }
  for (const auto& [k, v] : patch) {
    std::string_view key = k;
    if (key == "$patch" || key == "$retainKeys") continue;
    if (key.starts_with(kSetOrder) || key.starts_with(kDeleteFromPrimitive)) continue;
    if (!key.empty() && key.front() == '$') {
      return InvalidArgumentError("strategic merge patch directive " + std::string(key) +
                                  " is not supported");
    }
    if (v.is_null()) {
      target->erase(key);
      continue;
    }
    const api::FieldDecl* f = type ? type->Field(key) : nullptr;
    json::value& cur = (*target)[key];
    if (f != nullptr && f->container == api::Container::kArray) {
      if (!v.is_array()) {
        return InvalidArgumentError("the value of " + std::string(key) + " must be a list");
      }
      if (IsMergeList(f) && cur.is_array()) {
        KEELSON_RETURN_IF_ERROR(StrategicList(*f, &cur.as_array(), v.as_array(), depth));
      } else if (IsMergeList(f)) {
        json::array fresh;
        KEELSON_RETURN_IF_ERROR(StrategicList(*f, &fresh, v.as_array(), depth));
        cur = std::move(fresh);
      } else {
        cur = v;
      }
      continue;
    }
    if (!v.is_object()) {
      cur = v;
      continue;
    }
    const api::TypeDecl* sub = nullptr;
    if (f != nullptr && f->container == api::Container::kMap) {
      if (!cur.is_object()) cur = json::object();
      if (const auto* d = v.as_object().if_contains("$patch")) {
        if (*d == "delete") {
          target->erase(key);
          continue;
        }
        if (*d == "replace") cur = json::object();
      }
      for (const auto& [mk, mv] : v.as_object()) {
        if (mk == "$patch") continue;
        if (mv.is_null()) {
          cur.as_object().erase(mk);
        } else if (f->kind == api::ValueKind::kObject && mv.is_object()) {
          json::value& slot = cur.as_object()[mk];
          if (!slot.is_object()) slot = json::object();
          bool gone = false;
          KEELSON_RETURN_IF_ERROR(
              StrategicObject(f->type, &slot.as_object(), mv.as_object(), &gone, depth + 1));
          if (gone) cur.as_object().erase(mk);
        } else {
          cur.as_object()[mk] = mv;
        }
      }
      continue;
    }
    if (f != nullptr && f->kind == api::ValueKind::kObject) {
      sub = f->type;
      if (sub->map_type == "atomic") {
        cur = v;
        continue;
      }
    } else if (f != nullptr) {
      cur = v;  // a leaf with an object form (RawExtension, FieldsV1): replaced
      continue;
    }
    if (!cur.is_object()) cur = json::object();
    bool gone = false;
    KEELSON_RETURN_IF_ERROR(StrategicObject(sub, &cur.as_object(), v.as_object(), &gone, depth + 1));
    if (gone) target->erase(key);
  }
  // Directives applied after the merge.
  for (const auto& [k, v] : patch) {
    std::string_view key = k;
    if (key.starts_with(kDeleteFromPrimitive)) {
      auto* list = target->if_contains(key.substr(kDeleteFromPrimitive.size()));
      if (list && list->is_array() && v.is_array()) {
        std::unordered_set<std::string> drop;
        for (const auto& gone : v.as_array()) drop.insert(Canonical(gone));
        auto& a = list->as_array();
        a.erase(std::remove_if(a.begin(), a.end(),
                               [&](const json::value& e) { return drop.contains(Canonical(e)); }),
                a.end());
      }
    } else if (key.starts_with(kSetOrder)) {
      std::string_view name = key.substr(kSetOrder.size());
      const api::FieldDecl* f = type ? type->Field(name) : nullptr;
      auto* list = target->if_contains(name);
      if (f && list && list->is_array() && v.is_array()) SetOrder(*f, &list->as_array(), v.as_array());
    }
  }
  if (const auto* retain = patch.if_contains("$retainKeys"); retain && retain->is_array()) {
    std::unordered_set<std::string_view> keep;
    for (const auto& k : retain->as_array()) {
      if (k.is_string()) keep.insert(k.as_string());
    }
    for (auto it = target->begin(); it != target->end();) {
      it = keep.contains(it->key()) ? std::next(it) : target->erase(it);
    }
  }
  return Status::Ok();
}

// RFC 6901 pointer tokens.
Result<std::vector<std::string>> ParsePointer(std::string_view p) {
  std::vector<std::string> out;
  if (p.empty()) return out;
  if (p.front() != '/') return InvalidArgumentError("invalid JSON pointer \"" + std::string(p) + "\"");
  p.remove_prefix(1);
  while (true) {
    auto slash = p.find('/');
    std::string tok(p.substr(0, slash));
    std::string un;
    for (size_t i = 0; i < tok.size(); ++i) {
      if (tok[i] == '~' && i + 1 < tok.size() && (tok[i + 1] == '0' || tok[i + 1] == '1')) {
        un += tok[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        un += tok[i];
      }
    }
    out.push_back(std::move(un));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

Result<size_t> ArrayIndex(const std::string& tok, size_t size, bool allow_end) {
  if (allow_end && tok == "-") return size;
  if (tok.empty() || tok.find_first_not_of("0123456789") != std::string::npos ||
      (tok.size() > 1 && tok[0] == '0')) {
    return InvalidArgumentError("invalid array index \"" + tok + "\"");
  }
  // Without std::stoul, which throws for an index beyond its range ("/spec/x/99999999999999999999").
  size_t i = 0;
  auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), i);
  if (ec != std::errc() || i > size || (!allow_end && i == size)) {
    return InvalidArgumentError("array index " + tok + " is out of bounds");
  }
  return i;
}

// The container holding the last token of `path`.
Result<json::value*> Parent(json::value* doc, const std::vector<std::string>& path,
                            std::string_view raw) {
  json::value* cur = doc;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (cur->is_object()) {
      cur = cur->as_object().if_contains(path[i]);
    } else if (cur->is_array()) {
      auto idx = ArrayIndex(path[i], cur->as_array().size(), false);
      if (!idx.ok()) return idx.status();
      cur = &cur->as_array()[*idx];
    } else {
      cur = nullptr;
    }
    if (cur == nullptr) {
      return InvalidArgumentError("the path \"" + std::string(raw) + "\" does not exist");
    }
  }
  return cur;
}

// The value at `raw`, in place.
Result<json::value*> Find(json::value* doc, const std::string& raw) {
  auto path = ParsePointer(raw);
  if (!path.ok()) return path.status();
  if (path->empty()) return doc;
  auto parent = Parent(doc, *path, raw);
  if (!parent.ok()) return parent.status();
  json::value* p = *parent;
  if (p->is_object()) {
    if (auto* v = p->as_object().if_contains(path->back())) return v;
  } else if (p->is_array()) {
    auto idx = ArrayIndex(path->back(), p->as_array().size(), false);
    if (!idx.ok()) return idx.status();
    return &p->as_array()[*idx];
  }
  return InvalidArgumentError("the path \"" + raw + "\" does not exist");
}

Status Remove(json::value* doc, const std::string& raw) {
  auto path = ParsePointer(raw);
  if (!path.ok()) return path.status();
  if (path->empty()) return InvalidArgumentError("cannot remove the whole document");
  auto parent = Parent(doc, *path, raw);
  if (!parent.ok()) return parent.status();
  json::value* p = *parent;
  if (p->is_object() && p->as_object().erase(path->back()) == 1) return Status::Ok();
  if (p->is_array()) {
    auto idx = ArrayIndex(path->back(), p->as_array().size(), false);
    if (!idx.ok()) return idx.status();
    p->as_array().erase(p->as_array().begin() + static_cast<long>(*idx));
    return Status::Ok();
  }
  return InvalidArgumentError("unable to remove nonexistent key: " + path->back() +
                              ": missing value");
}

Status Add(json::value* doc, const std::string& raw, json::value v, bool replace) {
  auto path = ParsePointer(raw);
  if (!path.ok()) return path.status();
  if (path->empty()) {
    *doc = std::move(v);
    return Status::Ok();
  }
  auto parent = Parent(doc, *path, raw);
  if (!parent.ok()) return parent.status();
  json::value* p = *parent;
  if (p->is_object()) {
    auto& o = p->as_object();
    if (replace && !o.contains(path->back())) {
      return InvalidArgumentError("replace operation does not apply: doc is missing key: " + raw);
    }
    o[path->back()] = std::move(v);
    return Status::Ok();
  }
  if (p->is_array()) {
    auto& a = p->as_array();
    auto idx = ArrayIndex(path->back(), a.size(), !replace);
    if (!idx.ok()) return idx.status();
    if (replace) {
      a[*idx] = std::move(v);
    } else {
      a.insert(a.begin() + static_cast<long>(*idx), std::move(v));
    }
    return Status::Ok();
  }
  return InvalidArgumentError("the path \"" + raw + "\" does not exist");
}

Status JsonPatch(json::value* doc, const json::value& patch) {
  if (!patch.is_array()) return InvalidArgumentError("a JSON patch must be an array of operations");
  if (patch.as_array().size() > kJsonPatchMaxOperations) {
    return ResourceExhaustedError("The allowed maximum operations in a JSON patch is " +
                                  std::to_string(kJsonPatchMaxOperations) + ", got " +
                                  std::to_string(patch.as_array().size()));
  }
  size_t copied = 0;  // bytes added by copy operations, each of which can double a document
  for (const auto& opv : patch.as_array()) {
    if (!opv.is_object()) return InvalidArgumentError("a JSON patch operation must be an object");
    const auto& op = opv.as_object();
    auto str = [&](const char* k) -> std::string {
      auto* v = op.if_contains(k);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    std::string name = str("op"), path = str("path");
    if (!op.contains("path")) return InvalidArgumentError("operation \"" + name + "\" has no path");
    if (name == "add" || name == "replace" || name == "test") {
      auto* v = op.if_contains("value");
      if (v == nullptr) return InvalidArgumentError("operation \"" + name + "\" has no value");
      if (name == "test") {
        auto cur = Find(doc, path);
        if (!cur.ok()) return cur.status();
        if (**cur != *v) return InvalidArgumentError("testing value " + path + " failed");
        continue;
      }
      KEELSON_RETURN_IF_ERROR(Add(doc, path, *v, name == "replace"));
    } else if (name == "remove") {
      KEELSON_RETURN_IF_ERROR(Remove(doc, path));
    } else if (name == "move" || name == "copy") {
      std::string from = str("from");
      auto v = Find(doc, from);
      if (!v.ok()) return v.status();
      json::value value;
      if (name == "copy") {
        copied += json::serialize(**v).size();
        if (copied > kJsonPatchMaxCopyBytes) {
          return ResourceExhaustedError(
              "Unable to complete the copy, the accumulated size increase of copy is " +
              std::to_string(copied) + ", exceeding the limit " +
              std::to_string(kJsonPatchMaxCopyBytes));
        }
        value = **v;
      } else {
        value = **v;  // copied: `from` may be an ancestor of `path`, checked by Remove first
        KEELSON_RETURN_IF_ERROR(Remove(doc, from));
      }
      KEELSON_RETURN_IF_ERROR(Add(doc, path, std::move(value), false));
    } else {
      return InvalidArgumentError("unexpected kind of JSON patch operation: \"" + name + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<PatchType> PatchTypeOf(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  if (ct == "application/merge-patch+json") return PatchType::kMerge;
  if (ct == "application/json-patch+json") return PatchType::kJson;
  if (ct == "application/strategic-merge-patch+json") return PatchType::kStrategic;
  return InvalidArgumentError("the body of the request was in an unknown format - accepted "
                              "media types include: application/json-patch+json, "
                              "application/merge-patch+json, "
                              "application/strategic-merge-patch+json");
}

Status ApplyPatch(PatchType type, std::string_view body, const api::TypeDecl* schema,
                  json::value* target) {
  auto parsed = api::ParseJson(body);
  if (!parsed.ok()) {
    return InvalidArgumentError("error decoding patch: " + parsed.status().message());
  }
  const json::value& patch = *parsed;
  switch (type) {
    case PatchType::kMerge:
      if (!patch.is_object()) return InvalidArgumentError("a merge patch must be a JSON object");
      return MergePatch(target, patch, 0);
    case PatchType::kStrategic: {
      if (!patch.is_object()) {
        return InvalidArgumentError("a strategic merge patch must be a JSON object");
      }
      if (!target->is_object()) *target = json::object();
      bool deleted = false;
      KEELSON_RETURN_IF_ERROR(
          StrategicObject(schema, &target->as_object(), patch.as_object(), &deleted, 0));
      if (deleted) return InvalidArgumentError("a strategic merge patch cannot delete the object");
      return Status::Ok();
    }
    case PatchType::kJson:
      return JsonPatch(target, patch);
  }
  return InvalidArgumentError("unknown patch type");
}

}  // namespace keelson::apiserver
