#include "api/schema.h"

#include <algorithm>
#include <span>
#include <utility>

namespace keelson::api {
namespace {

struct TypeRow {
  const char* name;
  const char* json_type;
  const char* format;
  const char* proto_message;
  const char* gvks;
  const char* map_type;
};

struct FieldRow {
  const char* type;
  const char* name;
  const char* shape;
  const char* element;
  const char* format;
  int proto_outer;
  int proto_number;
  const char* proto_type;
  const char* proto_label;
  bool required;
  const char* list_type;
  const char* list_map_keys;
  const char* patch_strategy;
  const char* merge_key;
};

#define KEELSON_TYPE(...) {__VA_ARGS__},
#define KEELSON_FIELD(...)
constexpr TypeRow kTypes[] = {
#include "api/schema.inc"
};
#undef KEELSON_TYPE
#undef KEELSON_FIELD
#define KEELSON_TYPE(...)
#define KEELSON_FIELD(...) {__VA_ARGS__},
constexpr FieldRow kFields[] = {
#include "api/schema.inc"
};
#undef KEELSON_TYPE
#undef KEELSON_FIELD

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto i = s.find(sep);
    out.emplace_back(s.substr(0, i));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}

// The leaf types: declared with a scalar JSON form.
ValueKind LeafKind(std::string_view name, std::string_view json_type) {
  if (name == "io.k8s.apimachinery.pkg.api.resource.Quantity") return ValueKind::kQuantity;
  if (name == "io.k8s.apimachinery.pkg.util.intstr.IntOrString") return ValueKind::kIntOrString;
  if (name == "io.k8s.apimachinery.pkg.apis.meta.v1.Time") return ValueKind::kTime;
  if (name == "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime") return ValueKind::kMicroTime;
  if (name == "io.k8s.apimachinery.pkg.runtime.RawExtension") return ValueKind::kRawExtension;
  if (name == "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1") return ValueKind::kFieldsV1;
  if (json_type == "string") return ValueKind::kString;
  return ValueKind::kObject;
}

ValueKind ScalarKind(std::string_view shape, std::string_view format) {
  if (shape == "string") {
    if (format == "byte") return ValueKind::kBytes;
    if (format == "date-time") return ValueKind::kTime;
    return ValueKind::kString;
  }
  if (shape == "integer") return format == "int32" ? ValueKind::kInt32 : ValueKind::kInt64;
  if (shape == "number") return ValueKind::kDouble;
  if (shape == "boolean") return ValueKind::kBool;
  return ValueKind::kFreeform;
}

long NumberKey(int outer, int number) { return (static_cast<long>(outer) << 32) | number; }

// Facts of the Go types that the wire facts do not carry (FieldDecl::zero_is_unset and
// empty_is_value): the plain scalar fields, and the optional strings whose empty value means
// something.
constexpr std::pair<std::string_view, std::string_view> kPlainScalars[] = {
    {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "generation"},
    {"io.k8s.api.core.v1.Container", "stdin"},
    {"io.k8s.api.core.v1.Container", "stdinOnce"},
    {"io.k8s.api.core.v1.Container", "tty"},
    {"io.k8s.api.core.v1.EphemeralContainer", "stdin"},
    {"io.k8s.api.core.v1.EphemeralContainer", "stdinOnce"},
    {"io.k8s.api.core.v1.EphemeralContainer", "tty"},
    {"io.k8s.api.core.v1.ContainerPort", "hostPort"},
    {"io.k8s.api.core.v1.PodSpec", "hostNetwork"},
    {"io.k8s.api.core.v1.PodSpec", "hostPID"},
    {"io.k8s.api.core.v1.PodSpec", "hostIPC"},
    {"io.k8s.api.core.v1.Probe", "initialDelaySeconds"},
    {"io.k8s.api.core.v1.VolumeMount", "readOnly"},
    {"io.k8s.api.core.v1.ServicePort", "nodePort"},
    {"io.k8s.api.core.v1.ServiceSpec", "publishNotReadyAddresses"},
    {"io.k8s.api.core.v1.NodeSpec", "unschedulable"},
    {"io.k8s.api.core.v1.ReplicationControllerSpec", "minReadySeconds"},
    {"io.k8s.api.apps.v1.DeploymentSpec", "minReadySeconds"},
    {"io.k8s.api.apps.v1.DeploymentSpec", "paused"},
    {"io.k8s.api.apps.v1.ReplicaSetSpec", "minReadySeconds"},
    {"io.k8s.api.apps.v1.StatefulSetSpec", "minReadySeconds"},
    {"io.k8s.api.apps.v1.DaemonSetSpec", "minReadySeconds"},
    {"io.k8s.api.scheduling.v1.PriorityClass", "globalDefault"},
};
constexpr std::pair<std::string_view, std::string_view> kEmptyIsValue[] = {
    {"io.k8s.api.core.v1.PersistentVolumeClaimSpec", "storageClassName"},  // no provisioning
};

bool Listed(std::string_view type, std::string_view field,
            std::span<const std::pair<std::string_view, std::string_view>> list) {
  return std::find(list.begin(), list.end(), std::pair(type, field)) != list.end();
}

}  // namespace

const FieldDecl* TypeDecl::Field(std::string_view json_name) const {
  auto it = by_name.find(json_name);
  return it == by_name.end() ? nullptr : &fields[it->second];
}

const FieldDecl* TypeDecl::ByNumber(int outer, int number) const {
  auto it = by_number.find(NumberKey(outer, number));
  return it == by_number.end() ? nullptr : &fields[it->second];
}

bool TypeDecl::IsOuter(int number) const {
  return std::any_of(fields.begin(), fields.end(),
                     [number](const FieldDecl& f) { return f.proto_outer == number; });
}

std::string_view TypeDecl::ShortName() const {
  std::string_view n = name;
  return n.substr(n.rfind('.') + 1);
}

Schema::Schema() {
  types_.reserve(std::size(kTypes));
  for (const TypeRow& r : kTypes) {
    TypeDecl t;
    t.name = r.name;
    t.kind = LeafKind(r.name, r.json_type);
    t.proto_message = r.proto_message;
    t.map_type = r.map_type;
    for (const auto& gvk : Split(r.gvks, ';')) {
      auto parts = Split(gvk, '/');
      if (parts.size() == 3) t.gvks.push_back({parts[0], parts[1], parts[2]});
    }
    types_.push_back(std::move(t));
  }
  for (size_t i = 0; i < types_.size(); ++i) by_name_[types_[i].name] = i;
  auto type = [this](std::string_view n) -> TypeDecl* {
    auto it = by_name_.find(n);
    return it == by_name_.end() ? nullptr : &types_[it->second];
  };
  for (const FieldRow& r : kFields) {
    TypeDecl* owner = type(r.type);
    if (owner == nullptr) continue;
    FieldDecl f;
    f.name = r.name;
    std::string_view shape = r.shape, element = r.element;
    auto resolve = [&](std::string_view elem_shape, std::string_view name) {
      if (const TypeDecl* t = type(name)) {
        f.kind = t->kind;
        if (t->kind == ValueKind::kObject) f.type = t;
      } else {
        f.kind = ScalarKind(elem_shape, r.format);
      }
    };
    if (shape == "ref") {
      resolve("", element);
    } else if (shape == "array" || shape == "map") {
      f.container = shape == "array" ? Container::kArray : Container::kMap;
      if (element.substr(0, 6) == "array:") {
        f.kind = ValueKind::kStringList;
      } else {
        resolve(element, element);
      }
    } else {
      f.kind = ScalarKind(shape, r.format);
    }
    if (std::string_view(r.proto_type) == "k8s.io.apimachinery.pkg.apis.meta.v1.Duration") {
      f.kind = ValueKind::kDuration;
    }
    f.required = r.required;
    f.list_type = r.list_type;
    f.list_map_keys = Split(r.list_map_keys, ',');
    f.patch_strategy = r.patch_strategy;
    f.merge_key = r.merge_key;
    f.proto_number = r.proto_number;
    f.proto_outer = r.proto_outer;
    f.proto_map = std::string_view(r.proto_type).substr(0, 4) == "map<";
    f.zero_is_unset = Listed(r.type, r.name, kPlainScalars);
    f.empty_is_value = Listed(r.type, r.name, kEmptyIsValue);
    owner->fields.push_back(std::move(f));
  }
  for (size_t i = 0; i < types_.size(); ++i) {
    TypeDecl& t = types_[i];
    for (size_t j = 0; j < t.fields.size(); ++j) {
      t.by_name[t.fields[j].name] = j;
      if (t.fields[j].proto_number > 0) {
        t.by_number[NumberKey(t.fields[j].proto_outer, t.fields[j].proto_number)] = j;
      }
    }
    for (const auto& g : t.gvks) by_gvk_[g.group + "/" + g.version + "/" + g.kind] = i;
    if (!t.proto_message.empty()) by_proto_[t.proto_message] = i;
  }
}

const Schema& Schema::BuiltIn() {
  static const Schema* schema = new Schema();
  return *schema;
}

const TypeDecl* Schema::Type(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &types_[it->second];
}

const TypeDecl* Schema::Kind(std::string_view group, std::string_view version,
                             std::string_view kind) const {
  std::string key;
  key.append(group).append("/").append(version).append("/").append(kind);
  auto it = by_gvk_.find(key);
  return it == by_gvk_.end() ? nullptr : &types_[it->second];
}

const TypeDecl* Schema::KindOf(std::string_view api_version, std::string_view kind) const {
  auto slash = api_version.find('/');
  if (slash == std::string_view::npos) return Kind("", api_version, kind);
  return Kind(api_version.substr(0, slash), api_version.substr(slash + 1), kind);
}

const TypeDecl* Schema::ByProtoMessage(std::string_view message) const {
  auto it = by_proto_.find(message);
  return it == by_proto_.end() ? nullptr : &types_[it->second];
}

}  // namespace keelson::api
