#include "apiserver/openapi.h"

#include <boost/json.hpp>

#include <cstdio>
#include <set>
#include <vector>

#include "api/schema.h"
#include "api/wire.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using api::Container;
using api::FieldDecl;
using api::TypeDecl;
using api::ValueKind;

// The declared type behind a leaf kind, for a $ref.
std::string_view LeafTypeName(ValueKind k) {
  switch (k) {
    case ValueKind::kQuantity: return "io.k8s.apimachinery.pkg.api.resource.Quantity";
    case ValueKind::kIntOrString: return "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
    case ValueKind::kTime: return "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
    case ValueKind::kMicroTime: return "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
    case ValueKind::kRawExtension: return "io.k8s.apimachinery.pkg.runtime.RawExtension";
    case ValueKind::kFieldsV1: return "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1";
    default: return "";
  }
}

json::array Gvks(const TypeDecl& t) {
  json::array out;
  for (const auto& g : t.gvks) {
    out.push_back(json::object{{"group", g.group}, {"kind", g.kind}, {"version", g.version}});
  }
  return out;
}

// The schema of one value of `kind`.
json::object ValueSchema(ValueKind kind, const TypeDecl* type, std::string_view ref_prefix) {
  auto ref = [&](std::string_view name) {
    return json::object{{"$ref", std::string(ref_prefix) + std::string(name)}};
  };
  switch (kind) {
    case ValueKind::kString:
    case ValueKind::kDuration: return {{"type", "string"}};
    case ValueKind::kBytes: return {{"type", "string"}, {"format", "byte"}};
    case ValueKind::kBool: return {{"type", "boolean"}};
    case ValueKind::kInt32: return {{"type", "integer"}, {"format", "int32"}};
    case ValueKind::kInt64: return {{"type", "integer"}, {"format", "int64"}};
    case ValueKind::kDouble: return {{"type", "number"}, {"format", "double"}};
    case ValueKind::kObject: return ref(type->name);
    case ValueKind::kFreeform: return {{"type", "object"}};
    case ValueKind::kStringList:
      return {{"type", "array"}, {"items", json::object{{"type", "string"}}}};
    default: return ref(LeafTypeName(kind));
  }
}

json::object FieldSchema(const FieldDecl& f, std::string_view ref_prefix) {
  json::object v = ValueSchema(f.kind, f.type, ref_prefix);
  json::object s;
  if (f.container == Container::kArray) {
    s = {{"type", "array"}, {"items", std::move(v)}};
    if (!f.list_type.empty()) s["x-kubernetes-list-type"] = f.list_type;
    if (!f.list_map_keys.empty()) {
      json::array keys;
      for (const auto& k : f.list_map_keys) keys.push_back(json::string(k));
      s["x-kubernetes-list-map-keys"] = std::move(keys);
    }
  } else if (f.container == Container::kMap) {
    s = {{"type", "object"}, {"additionalProperties", std::move(v)}};
  } else {
    s = std::move(v);
  }
  if (!f.patch_strategy.empty()) s["x-kubernetes-patch-strategy"] = f.patch_strategy;
  if (!f.merge_key.empty()) s["x-kubernetes-patch-merge-key"] = f.merge_key;
  return s;
}

json::object TypeSchema(const TypeDecl& t, std::string_view ref_prefix) {
  json::object s;
  switch (t.kind) {
    case ValueKind::kQuantity: return {{"type", "string"}};
    case ValueKind::kIntOrString: return {{"type", "string"}, {"format", "int-or-string"}};
    case ValueKind::kTime:
    case ValueKind::kMicroTime: return {{"type", "string"}, {"format", "date-time"}};
    case ValueKind::kString: return {{"type", "string"}};
    case ValueKind::kObject: break;
    default: return {{"type", "object"}};
  }
  s["type"] = "object";
  json::object props;
  json::array required;
  for (const FieldDecl& f : t.fields) {
    props[f.name] = FieldSchema(f, ref_prefix);
    if (f.required) required.push_back(json::string(f.name));
  }
  s["properties"] = std::move(props);
  if (!required.empty()) s["required"] = std::move(required);
  if (!t.gvks.empty()) s["x-kubernetes-group-version-kind"] = Gvks(t);
  if (!t.map_type.empty()) s["x-kubernetes-map-type"] = t.map_type;
  return s;
}

// Every declared type `root` reaches, itself included.
void Reach(const api::Schema& schema, const TypeDecl& root, std::set<std::string>* out) {
  if (!out->insert(root.name).second) return;
  for (const FieldDecl& f : root.fields) {
    if (f.type != nullptr) {
      Reach(schema, *f.type, out);
    } else if (auto leaf = LeafTypeName(f.kind); !leaf.empty()) {
      if (const TypeDecl* t = schema.Type(leaf)) Reach(schema, *t, out);
    }
  }
}

// --- paths ------------------------------------------------------------------------------------

json::object Param(std::string_view name, std::string_view in, std::string_view type,
                   bool required, bool v3) {
  json::object p{{"name", name}, {"in", in}, {"uniqueItems", true}};
  if (required) p["required"] = true;
  if (v3) {
    p["schema"] = json::object{{"type", type}, {"uniqueItems", true}};
    p.erase("uniqueItems");
  } else {
    p["type"] = type;
  }
  return p;
}

json::object Operation(const api::ResourceInfo& r, std::string_view action, std::string_view id,
                       std::vector<std::string_view> query, bool body, bool v3,
                       std::string_view ref_prefix, std::string_view response_type) {
  json::object op;
  op["operationId"] = std::string(id);
  op["x-kubernetes-action"] = action;
  op["x-kubernetes-group-version-kind"] =
      json::object{{"group", r.group}, {"kind", r.kind}, {"version", r.version}};
  json::array params;
  std::string ref = std::string(ref_prefix) + std::string(response_type);
  if (body && !v3) {
    params.push_back(json::object{{"name", "body"}, {"in", "body"}, {"required", true},
                                  {"schema", json::object{{"$ref", ref}}}});
  }
  for (auto q : query) {
    std::string_view type = q == "force" || q == "watch" || q == "allowWatchBookmarks" ? "boolean"
                            : q == "limit" || q == "timeoutSeconds" || q == "gracePeriodSeconds"
                                ? "integer"
                                : "string";
    params.push_back(Param(q, "query", type, false, v3));
  }
  if (!params.empty()) op["parameters"] = std::move(params);
  if (body && v3) {
    json::object content;
    for (std::string_view ct : action == "patch"
                                   ? std::vector<std::string_view>{"application/json-patch+json",
                                                                   "application/merge-patch+json",
                                                                   "application/strategic-merge-patch+json",
                                                                   "application/apply-patch+yaml"}
                                   : std::vector<std::string_view>{"*/*"}) {
      content[ct] = json::object{{"schema", json::object{{"$ref", ref}}}};
    }
    op["requestBody"] = json::object{{"content", std::move(content)}, {"required", true}};
  }
  json::object ok;
  if (v3) {
    ok = {{"description", "OK"},
          {"content", json::object{{"application/json",
                                    json::object{{"schema", json::object{{"$ref", ref}}}}}}}};
  } else {
    ok = {{"description", "OK"}, {"schema", json::object{{"$ref", ref}}}};
  }
  op["responses"] = json::object{{"200", std::move(ok)}};
  return op;
}

// The paths of one resource, keyed by path.
void ResourcePaths(const api::ResourceInfo& r, const api::Schema& schema, bool v3,
                   std::string_view ref_prefix, json::object* paths) {
  const TypeDecl* kind = schema.Kind(r.group, r.version, r.kind);
  const TypeDecl* list = schema.Kind(r.group, r.version, r.kind + "List");
  if (kind == nullptr || list == nullptr) return;
  std::string base = r.group.empty() ? "/api/v1" : "/apis/" + r.group + "/" + r.version;
  std::string coll = base + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.resource;
  std::string item = coll + "/{name}";
  std::string kn = r.kind;
  std::string scope = r.namespaced ? "Namespaced" : "";
  auto id = [&](std::string_view verb, std::string_view suffix = "") {
    return std::string(verb) + scope + kn + std::string(suffix);
  };
  std::vector<std::string_view> write = {"dryRun", "fieldManager", "fieldValidation"};
  std::vector<std::string_view> patch = {"dryRun", "fieldManager", "fieldValidation", "force"};
  std::vector<std::string_view> listq = {"allowWatchBookmarks", "continue", "fieldSelector",
                                         "labelSelector", "limit", "resourceVersion",
                                         "resourceVersionMatch", "timeoutSeconds", "watch"};
  std::vector<std::string_view> del = {"dryRun", "gracePeriodSeconds", "propagationPolicy"};
  auto path_params = [&](bool with_name) {
    json::array p;
    if (with_name) p.push_back(Param("name", "path", "string", true, v3));
    if (r.namespaced) p.push_back(Param("namespace", "path", "string", true, v3));
    return p;
  };
  const std::string& kind_name = kind->name;
  const std::string& list_name = list->name;
  json::object c{{"parameters", path_params(false)}};
  c["get"] = Operation(r, "list", id("list"), listq, false, v3, ref_prefix, list_name);
  c["post"] = Operation(r, "post", id("create"), write, true, v3, ref_prefix, kind_name);
  c["delete"] = Operation(r, "deletecollection", id("deletecollection"), del, false, v3,
                          ref_prefix, "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
  (*paths)[coll] = std::move(c);
  json::object i{{"parameters", path_params(true)}};
  i["get"] = Operation(r, "get", id("read"), {}, false, v3, ref_prefix, kind_name);
  i["put"] = Operation(r, "put", id("replace"), write, true, v3, ref_prefix, kind_name);
  i["patch"] = Operation(r, "patch", id("patch"), patch, true, v3, ref_prefix, kind_name);
  i["delete"] = Operation(r, "delete", id("delete"), del, false, v3, ref_prefix,
                          "io.k8s.apimachinery.pkg.apis.meta.v1.Status");
  (*paths)[item] = std::move(i);
  if (r.namespaced) {
    json::object all;
    all["get"] = Operation(r, "list", "list" + kn + "ForAllNamespaces", listq, false, v3,
                           ref_prefix, list_name);
    (*paths)[base + "/" + r.resource] = std::move(all);
  }
}

// The types a set of resources reaches, plus what every group-version speaks.
std::set<std::string> TypesOf(const std::vector<const api::ResourceInfo*>& rs,
                              const api::Schema& schema) {
  std::set<std::string> names;
  for (const auto* r : rs) {
    for (const auto& k : {r->kind, r->kind + "List"}) {
      if (const TypeDecl* t = schema.Kind(r->group, r->version, k)) Reach(schema, *t, &names);
    }
  }
  for (const char* meta : {"io.k8s.apimachinery.pkg.apis.meta.v1.Status",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"}) {
    if (const TypeDecl* t = schema.Type(meta)) Reach(schema, *t, &names);
  }
  return names;
}

std::string Hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llX", static_cast<unsigned long long>(h));
  return buf;
}

// --- the protobuf form of Swagger 2.0 ---------------------------------------------------------

using api::wire::PutBytes;
using api::wire::PutNumber;

// A JSON value as YAML text, as gnostic keeps vendor extensions (scalars, lists of scalars,
// lists of flat maps).
std::string Yaml(const json::value& v) {
  auto scalar = [](const json::value& s) -> std::string {
    if (s.is_string()) {
      std::string_view str = s.as_string();
      if (str.empty()) return "\"\"";
      return std::string(str);
    }
    return json::serialize(s);
  };
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v.as_array()) {
      if (e.is_object()) {
        bool first = true;
        for (const auto& [k, ev] : e.as_object()) {
          out += (first ? "- " : "  ") + std::string(k) + ": " + scalar(ev) + "\n";
          first = false;
        }
      } else {
        out += "- " + scalar(e) + "\n";
      }
    }
    return out;
  }
  if (v.is_object()) {
    std::string out;
    for (const auto& [k, ev] : v.as_object()) out += std::string(k) + ": " + scalar(ev) + "\n";
    return out;
  }
  return scalar(v) + "\n";
}

std::string NamedAny(std::string_view name, const json::value& v) {
  std::string any;
  PutBytes(&any, 2, Yaml(v));
  std::string out;
  PutBytes(&out, 1, name);
  PutBytes(&out, 2, any);
  return out;
}

std::string SchemaPb(const json::object& s);

std::string SchemaPb(const json::object& s) {
  std::string out;
  if (auto* r = s.if_contains("$ref")) PutBytes(&out, 1, r->as_string());
  if (auto* f = s.if_contains("format")) PutBytes(&out, 2, f->as_string());
  if (auto* req = s.if_contains("required")) {
    for (const auto& n : req->as_array()) PutBytes(&out, 19, n.as_string());
  }
  if (auto* ap = s.if_contains("additionalProperties")) {
    std::string item;
    PutBytes(&item, 1, SchemaPb(ap->as_object()));
    PutBytes(&out, 21, item);
  }
  if (auto* t = s.if_contains("type")) {
    std::string ti;
    PutBytes(&ti, 1, t->as_string());
    PutBytes(&out, 22, ti);
  }
  if (auto* items = s.if_contains("items")) {
    std::string ii;
    PutBytes(&ii, 1, SchemaPb(items->as_object()));
    PutBytes(&out, 23, ii);
  }
  if (auto* props = s.if_contains("properties")) {
    std::string p;
    for (const auto& [k, v] : props->as_object()) {
      std::string named;
      PutBytes(&named, 1, k);
      PutBytes(&named, 2, SchemaPb(v.as_object()));
      PutBytes(&p, 1, named);
    }
    PutBytes(&out, 25, p);
  }
  for (const auto& [k, v] : s) {
    if (k.starts_with("x-")) PutBytes(&out, 31, NamedAny(k, v));
  }
  return out;
}

std::string ParameterPb(const json::object& p) {
  std::string param;
  if (p.at("in") == "body") {
    std::string body;
    PutBytes(&body, 2, p.at("name").as_string());
    PutBytes(&body, 3, "body");
    PutNumber(&body, 4, 1);
    PutBytes(&body, 5, SchemaPb(p.at("schema").as_object()));
    PutBytes(&param, 1, body);
  } else {
    bool path = p.at("in") == "path";
    std::string sub;
    if (auto* r = p.if_contains("required"); r && r->as_bool()) PutNumber(&sub, 1, 1);
    PutBytes(&sub, 2, p.at("in").as_string());
    PutBytes(&sub, 4, p.at("name").as_string());
    PutBytes(&sub, path ? 5 : 6, p.at("type").as_string());
    PutNumber(&sub, path ? 19 : 20, 1);  // uniqueItems
    std::string non_body;
    PutBytes(&non_body, path ? 4 : 3, sub);
    PutBytes(&param, 2, non_body);
  }
  std::string item;
  PutBytes(&item, 1, param);
  return item;
}

std::string OperationPb(const json::object& op) {
  std::string out;
  PutBytes(&out, 5, op.at("operationId").as_string());
  if (auto* ps = op.if_contains("parameters")) {
    for (const auto& p : ps->as_array()) PutBytes(&out, 8, ParameterPb(p.as_object()));
  }
  std::string responses;
  for (const auto& [code, resp] : op.at("responses").as_object()) {
    std::string r;
    PutBytes(&r, 1, resp.at("description").as_string());
    std::string si;
    PutBytes(&si, 1, SchemaPb(resp.at("schema").as_object()));
    PutBytes(&r, 2, si);
    std::string rv;
    PutBytes(&rv, 1, r);
    std::string named;
    PutBytes(&named, 1, code);
    PutBytes(&named, 2, rv);
    PutBytes(&responses, 1, named);
  }
  PutBytes(&out, 9, responses);
  for (const auto& [k, v] : op) {
    if (k.starts_with("x-")) PutBytes(&out, 13, NamedAny(k, v));
  }
  return out;
}

std::string DocumentPb(const json::object& doc) {
  std::string out;
  PutBytes(&out, 1, "2.0");
  std::string info;
  PutBytes(&info, 1, doc.at("info").at("title").as_string());
  PutBytes(&info, 2, doc.at("info").at("version").as_string());
  PutBytes(&out, 2, info);
  std::string paths;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    std::string pi;
    static constexpr std::pair<std::string_view, int> kOps[] = {
        {"get", 2}, {"put", 3}, {"post", 4}, {"delete", 5}, {"patch", 8}};
    for (auto [name, number] : kOps) {
      if (auto* op = item.as_object().if_contains(name)) {
        PutBytes(&pi, number, OperationPb(op->as_object()));
      }
    }
    if (auto* ps = item.as_object().if_contains("parameters")) {
      for (const auto& p : ps->as_array()) PutBytes(&pi, 9, ParameterPb(p.as_object()));
    }
    std::string named;
    PutBytes(&named, 1, path);
    PutBytes(&named, 2, pi);
    PutBytes(&paths, 2, named);
  }
  PutBytes(&out, 8, paths);
  std::string defs;
  for (const auto& [name, s] : doc.at("definitions").as_object()) {
    std::string named;
    PutBytes(&named, 1, name);
    PutBytes(&named, 2, SchemaPb(s.as_object()));
    PutBytes(&defs, 1, named);
  }
  PutBytes(&out, 9, defs);
  return out;
}

}  // namespace

OpenApi::OpenApi(const api::ResourceRegistry& registry, std::string server_version) {
  const api::Schema& schema = api::Schema::BuiltIn();
  json::object index_paths;
  for (const auto& gv : registry.GroupVersions()) {
    std::vector<const api::ResourceInfo*> rs;
    for (const auto& r : registry.all()) {
      if (r.GroupVersion() == gv) rs.push_back(&r);
    }
    json::object paths;
    for (const auto* r : rs) ResourcePaths(*r, schema, true, "#/components/schemas/", &paths);
    json::object schemas;
    for (const auto& name : TypesOf(rs, schema)) {
      schemas[name] = TypeSchema(*schema.Type(name), "#/components/schemas/");
    }
    json::object doc{{"openapi", "3.0.0"},
                     {"info", json::object{{"title", "Kubernetes"}, {"version", server_version}}},
                     {"paths", std::move(paths)},
                     {"components", json::object{{"schemas", std::move(schemas)}}}};
    std::string path = gv.find('/') == std::string::npos ? "api/" + gv : "apis/" + gv;
    std::string text = json::serialize(doc);
    index_paths[path] =
        json::object{{"serverRelativeURL", "/openapi/v3/" + path + "?hash=" + Hash(text)}};
    v3_[path] = std::move(text);
  }
  v3_index_ = json::serialize(json::object{{"paths", std::move(index_paths)}});

  std::vector<const api::ResourceInfo*> all;
  json::object paths;
  for (const auto& r : registry.all()) {
    all.push_back(&r);
    ResourcePaths(r, schema, false, "#/definitions/", &paths);
  }
  json::object defs;
  for (const auto& name : TypesOf(all, schema)) {
    defs[name] = TypeSchema(*schema.Type(name), "#/definitions/");
  }
  json::object doc{{"swagger", "2.0"},
                   {"info", json::object{{"title", "Kubernetes"}, {"version", server_version}}},
                   {"paths", std::move(paths)},
                   {"definitions", std::move(defs)}};
  v2_protobuf_ = DocumentPb(doc);
  v2_json_ = json::serialize(doc);
}

const std::string* OpenApi::V3(std::string_view path) const {
  auto it = v3_.find(path);
  return it == v3_.end() ? nullptr : &it->second;
}

}  // namespace keelson::apiserver
