#include "apiserver/patch.h"

#include <boost/json.hpp>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

void MergePatch(json::value* target, const json::value& patch) {
  if (!patch.is_object()) {
    *target = patch;
    return;
  }
  if (!target->is_object()) *target = json::object();
  auto& t = target->as_object();
  for (const auto& [k, v] : patch.as_object()) {
    if (v.is_null()) {
      t.erase(k);
    } else {
      MergePatch(&t[k], v);
    }
  }
}

Status CheckStrategic(const json::value& patch, const std::string& path) {
  if (patch.is_array()) {
    return InvalidArgumentError("strategic merge patch of the list at " +
                                (path.empty() ? std::string("/") : path) +
                                " is not supported yet; use a JSON merge patch "
                                "(--type=merge) or a JSON patch (--type=json)");
  }
  if (!patch.is_object()) return Status::Ok();
  for (const auto& [k, v] : patch.as_object()) {
    if (!k.empty() && k.front() == '$') {
      return InvalidArgumentError("strategic merge patch directive " + std::string(k) +
                                  " is not supported yet");
    }
    KEELSON_RETURN_IF_ERROR(CheckStrategic(v, path + "/" + std::string(k)));
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
  size_t i = std::stoul(tok);
  if (i > size || (!allow_end && i == size)) {
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

Result<json::value> Get(json::value* doc, const std::string& raw) {
  auto path = ParsePointer(raw);
  if (!path.ok()) return path.status();
  if (path->empty()) return *doc;
  auto parent = Parent(doc, *path, raw);
  if (!parent.ok()) return parent.status();
  json::value* p = *parent;
  if (p->is_object()) {
    if (auto* v = p->as_object().if_contains(path->back())) return *v;
  } else if (p->is_array()) {
    auto idx = ArrayIndex(path->back(), p->as_array().size(), false);
    if (!idx.ok()) return idx.status();
    return p->as_array()[*idx];
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
        auto cur = Get(doc, path);
        if (!cur.ok()) return cur.status();
        if (*cur != *v) return InvalidArgumentError("testing value " + path + " failed");
        continue;
      }
      KEELSON_RETURN_IF_ERROR(Add(doc, path, *v, name == "replace"));
    } else if (name == "remove") {
      KEELSON_RETURN_IF_ERROR(Remove(doc, path));
    } else if (name == "move" || name == "copy") {
      std::string from = str("from");
      auto v = Get(doc, from);
      if (!v.ok()) return v.status();
      if (name == "move") KEELSON_RETURN_IF_ERROR(Remove(doc, from));
      KEELSON_RETURN_IF_ERROR(Add(doc, path, std::move(*v), false));
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

Status ApplyPatch(PatchType type, std::string_view body, json::value* target) {
  boost::system::error_code ec;
  json::value patch = json::parse(body, ec);
  if (ec) return InvalidArgumentError("error decoding patch: " + ec.message());
  switch (type) {
    case PatchType::kMerge:
      if (!patch.is_object()) return InvalidArgumentError("a merge patch must be a JSON object");
      MergePatch(target, patch);
      return Status::Ok();
    case PatchType::kStrategic:
      if (!patch.is_object()) {
        return InvalidArgumentError("a strategic merge patch must be a JSON object");
      }
      KEELSON_RETURN_IF_ERROR(CheckStrategic(patch, ""));
      MergePatch(target, patch);
      return Status::Ok();
    case PatchType::kJson:
      return JsonPatch(target, patch);
  }
  return InvalidArgumentError("unknown patch type");
}

}  // namespace keelson::apiserver
