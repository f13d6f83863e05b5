// The type declarations of the API: every served kind and every type it reaches, declared
// once (src/api/schema.inc, from the wire facts; tools/gen_schema.py) and used by everything
// that needs to know an object's shape: pruning and type checks of request bodies, defaulting,
// the protobuf codec, strategic merge patch and the OpenAPI documents.
//
// Thread-safe: the schema is built once, immutable afterwards.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace keelson::api {

// What a value is in JSON (and so how it is checked and encoded).
enum class ValueKind : unsigned char {
  kString,
  kBytes,  // base64 text in JSON, bytes in protobuf
  kBool,
  kInt32,
  kInt64,
  kDouble,
  kObject,        // a declared type (TypeDecl)
  kFreeform,      // any JSON object
  kStringList,    // a list of strings (the value type of a map of lists)
  kQuantity,      // "100m", "1Gi" (a number is accepted too)
  kIntOrString,   // 8080 or "http"
  kTime,          // RFC 3339, seconds
  kMicroTime,     // RFC 3339, microseconds
  kDuration,      // Go duration text, "1h2m3s"
  kRawExtension,  // any embedded JSON value
  kFieldsV1,      // managedFields' field sets: any JSON object
};

enum class Container : unsigned char { kNone, kArray, kMap };

struct TypeDecl;

struct FieldDecl {
  std::string name;  // the JSON name
  Container container = Container::kNone;
  ValueKind kind = ValueKind::kString;  // of the value, or of each element
  const TypeDecl* type = nullptr;       // when kind is kObject
  bool required = false;
  // List semantics: "atomic", "set", "map" or "" (then: replace unless a merge key is given).
  std::string list_type;
  std::vector<std::string> list_map_keys;
  // Strategic merge patch: "merge", "retainKeys", "merge,retainKeys" or "".
  std::string patch_strategy;
  std::string merge_key;
  // Protobuf: the field number, and the number of the field embedding it (a Go struct
  // embedded in its parent travels as one message field; 0 when not embedded). 0 when the
  // field has no protobuf form.
  int proto_number = 0;
  int proto_outer = 0;
  bool proto_map = false;
  // Facts of the Go types behind the API that the wire facts leave out. A plain scalar (not a
  // pointer): the protobuf wire always carries it, and its zero means unset, as its JSON form
  // leaves the zero out. An optional string whose empty value is a value (a claim's
  // storageClassName "": no dynamic provisioning).
  bool zero_is_unset = false;
  bool empty_is_value = false;
};

struct GroupVersionKind {
  std::string group, version, kind;
};

struct TypeDecl {
  std::string name;  // the definition name, e.g. "io.k8s.api.core.v1.Pod"
  // A leaf type whose JSON form is a scalar (Quantity, Time, IntOrString, ...): its kind;
  // kObject for types with fields.
  ValueKind kind = ValueKind::kObject;
  std::string proto_message;  // e.g. "k8s.io.api.core.v1.Pod"; "" when none
  std::vector<GroupVersionKind> gvks;
  std::string map_type;  // "atomic" when the struct is replaced as a whole
  std::vector<FieldDecl> fields;  // sorted by name

  const FieldDecl* Field(std::string_view json_name) const;
  // The field with protobuf number `number` (inside the embedded field `outer`, if not 0).
  const FieldDecl* ByNumber(int outer, int number) const;
  // Whether `number` is the field number of an embedded struct.
  bool IsOuter(int number) const;
  // The short Go-like name used in messages, e.g. "PodSpec".
  std::string_view ShortName() const;

  std::unordered_map<std::string_view, size_t> by_name;
  std::unordered_map<long, size_t> by_number;  // (outer << 32) | number
};

class Schema {
 public:
  static const Schema& BuiltIn();

  const TypeDecl* Type(std::string_view name) const;
  // The type declared for a kind, e.g. ("apps", "v1", "Deployment"); nullptr when none.
  const TypeDecl* Kind(std::string_view group, std::string_view version,
                       std::string_view kind) const;
  // Like Kind(), from "apps/v1" or "v1".
  const TypeDecl* KindOf(std::string_view api_version, std::string_view kind) const;
  const TypeDecl* ByProtoMessage(std::string_view message) const;
  const std::vector<TypeDecl>& types() const { return types_; }

 private:
  Schema();
  std::vector<TypeDecl> types_;
  std::unordered_map<std::string_view, size_t> by_name_;
  std::unordered_map<std::string, size_t> by_gvk_;
  std::unordered_map<std::string_view, size_t> by_proto_;
};

}  // namespace keelson::api
