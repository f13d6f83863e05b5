#include "api/object.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>

namespace keelson::api {
namespace {

namespace json = boost::json;

std::string_view StringAt(const Object* o, std::string_view key) {
  if (o == nullptr) return {};
  const auto* v = o->if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

std::string_view MetaString(const Object& obj, std::string_view key) {
  return StringAt(GetMetadata(obj), key);
}

std::map<std::string, std::string, std::less<>> StringMap(const Object& obj, std::string_view key) {
  std::map<std::string, std::string, std::less<>> out;
  const Object* m = GetMetadata(obj);
  const auto* v = m ? m->if_contains(key) : nullptr;
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, val] : v->as_object()) {
    if (val.is_string()) out.emplace(std::string(k), std::string(val.as_string()));
  }
  return out;
}

void SetMapEntry(Object* obj, std::string_view map, std::string_view key, std::string_view value) {
  auto& m = MutableMetadata(obj)[map];
  if (!m.is_object()) m = json::object();
  m.as_object()[key] = value;
}

bool Flag(const Object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

}  // namespace

const Object* GetMetadata(const Object& obj) {
  const auto* m = obj.if_contains("metadata");
  return m != nullptr && m->is_object() ? &m->as_object() : nullptr;
}

Object& MutableMetadata(Object* obj) {
  auto& m = (*obj)["metadata"];
  if (!m.is_object()) m = json::object();
  return m.as_object();
}

std::string_view GetApiVersion(const Object& obj) { return StringAt(&obj, "apiVersion"); }
std::string_view GetKind(const Object& obj) { return StringAt(&obj, "kind"); }
std::string_view GetName(const Object& obj) { return MetaString(obj, "name"); }
std::string_view GetGenerateName(const Object& obj) { return MetaString(obj, "generateName"); }
std::string_view GetNamespace(const Object& obj) { return MetaString(obj, "namespace"); }
std::string_view GetUid(const Object& obj) { return MetaString(obj, "uid"); }
std::string_view GetResourceVersion(const Object& obj) {
  return MetaString(obj, "resourceVersion");
}
std::string_view GetCreationTimestamp(const Object& obj) {
  return MetaString(obj, "creationTimestamp");
}
std::string_view GetDeletionTimestamp(const Object& obj) {
  return MetaString(obj, "deletionTimestamp");
}

bool IsBeingDeleted(const Object& obj) {
  const Object* m = GetMetadata(obj);
  if (m == nullptr) return false;
  const auto* v = m->if_contains("deletionTimestamp");
  return v != nullptr && !v->is_null();
}

std::optional<int64_t> GetDeletionGracePeriodSeconds(const Object& obj) {
  const Object* m = GetMetadata(obj);
  const auto* v = m ? m->if_contains("deletionGracePeriodSeconds") : nullptr;
  if (v == nullptr || !v->is_int64()) return std::nullopt;
  return v->as_int64();
}

int64_t GetGeneration(const Object& obj) {
  const Object* m = GetMetadata(obj);
  const auto* v = m ? m->if_contains("generation") : nullptr;
  return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

std::map<std::string, std::string, std::less<>> GetLabels(const Object& obj) {
  return StringMap(obj, "labels");
}

std::map<std::string, std::string, std::less<>> GetAnnotations(const Object& obj) {
  return StringMap(obj, "annotations");
}

std::vector<std::string> GetFinalizers(const Object& obj) {
  std::vector<std::string> out;
  const Object* m = GetMetadata(obj);
  const auto* f = m ? m->if_contains("finalizers") : nullptr;
  if (f == nullptr || !f->is_array()) return out;
  for (const auto& v : f->as_array()) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

bool HasFinalizer(const Object& obj, std::string_view finalizer) {
  auto f = GetFinalizers(obj);
  return std::find(f.begin(), f.end(), finalizer) != f.end();
}

std::vector<OwnerReference> GetOwnerReferences(const Object& obj) {
  std::vector<OwnerReference> out;
  const Object* m = GetMetadata(obj);
  const auto* refs = m ? m->if_contains("ownerReferences") : nullptr;
  if (refs == nullptr || !refs->is_array()) return out;
  for (const auto& v : refs->as_array()) {
    if (!v.is_object()) continue;
    const auto& o = v.as_object();
    out.push_back(OwnerReference{std::string(StringAt(&o, "apiVersion")),
                                 std::string(StringAt(&o, "kind")),
                                 std::string(StringAt(&o, "name")),
                                 std::string(StringAt(&o, "uid")), Flag(o, "controller"),
                                 Flag(o, "blockOwnerDeletion")});
  }
  return out;
}

std::optional<OwnerReference> GetControllerOf(const Object& obj) {
  for (auto& ref : GetOwnerReferences(obj)) {
    if (ref.controller) return ref;
  }
  return std::nullopt;
}

void SetName(Object* obj, std::string_view name) { MutableMetadata(obj)["name"] = name; }
void SetNamespace(Object* obj, std::string_view ns) { MutableMetadata(obj)["namespace"] = ns; }
void SetResourceVersion(Object* obj, std::string_view rv) {
  MutableMetadata(obj)["resourceVersion"] = rv;
}
void SetResourceVersion(Object* obj, int64_t revision) {
  SetResourceVersion(obj, std::to_string(revision));
}
void SetLabel(Object* obj, std::string_view key, std::string_view value) {
  SetMapEntry(obj, "labels", key, value);
}
void SetAnnotation(Object* obj, std::string_view key, std::string_view value) {
  SetMapEntry(obj, "annotations", key, value);
}

bool AddFinalizer(Object* obj, std::string_view finalizer) {
  if (HasFinalizer(*obj, finalizer)) return false;
  auto& f = MutableMetadata(obj)["finalizers"];
  if (!f.is_array()) f = json::array();
  f.as_array().emplace_back(finalizer);
  return true;
}

bool RemoveFinalizer(Object* obj, std::string_view finalizer) {
  Object& m = MutableMetadata(obj);
  auto* f = m.if_contains("finalizers");
  if (f == nullptr || !f->is_array()) return false;
  auto& a = f->as_array();
  auto it = std::find_if(a.begin(), a.end(), [&](const json::value& v) {
    return v.is_string() && v.as_string() == finalizer;
  });
  if (it == a.end()) return false;
  a.erase(it);
  if (a.empty()) m.erase("finalizers");
  return true;
}

void SetFinalizers(Object* obj, const std::vector<std::string>& finalizers) {
  Object& m = MutableMetadata(obj);
  if (finalizers.empty()) {
    m.erase("finalizers");
    return;
  }
  json::array a;
  for (const auto& f : finalizers) a.emplace_back(f);
  m["finalizers"] = std::move(a);
}

json::object ToJson(const OwnerReference& ref) {
  json::object o{{"apiVersion", ref.api_version},
                 {"kind", ref.kind},
                 {"name", ref.name},
                 {"uid", ref.uid}};
  if (ref.controller) o["controller"] = true;
  if (ref.block_owner_deletion) o["blockOwnerDeletion"] = true;
  return o;
}

void SetOwnerReferences(Object* obj, const std::vector<OwnerReference>& refs) {
  Object& m = MutableMetadata(obj);
  if (refs.empty()) {
    m.erase("ownerReferences");
    return;
  }
  json::array a;
  for (const auto& r : refs) a.push_back(ToJson(r));
  m["ownerReferences"] = std::move(a);
}

std::string FieldText(const Object& obj, std::string_view path) {
  const json::value* cur = nullptr;
  const Object* o = &obj;
  while (true) {
    auto dot = path.find('.');
    cur = o->if_contains(path.substr(0, dot));
    if (cur == nullptr) return "";
    if (dot == std::string_view::npos) break;
    if (!cur->is_object()) return "";
    o = &cur->as_object();
    path.remove_prefix(dot + 1);
  }
  if (cur->is_string()) return std::string(cur->as_string());
  if (cur->is_bool()) return cur->as_bool() ? "true" : "false";
  if (cur->is_int64()) return std::to_string(cur->as_int64());
  if (cur->is_uint64()) return std::to_string(cur->as_uint64());
  return "";
}

std::string NewUid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace keelson::api
