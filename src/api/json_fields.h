// Typed reads of fields of JSON objects, for walks over objects the API server has validated
// (pod specs, Services, runtime configs): an absent field, or one of another type, reads as
// absent (null, "", nullopt, false), so this is never an error path.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keelson::api::fields {

inline const boost::json::object* Obj(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

inline const boost::json::array* Arr(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->as_array() : nullptr;
}

inline std::string Str(const boost::json::object* o, std::string_view key) {
  if (o == nullptr) return "";
  const auto* v = o->if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}
inline std::string Str(const boost::json::object& o, std::string_view key) { return Str(&o, key); }

inline std::optional<int64_t> Int(const boost::json::object* o, std::string_view key) {
  if (o == nullptr) return std::nullopt;
  const auto* v = o->if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

inline bool Bool(const boost::json::object* o, std::string_view key) {
  if (o == nullptr) return false;
  const auto* v = o->if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

}  // namespace keelson::api::fields
