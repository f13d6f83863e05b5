// Accessors for the metadata of an object held as JSON (metav1.ObjectMeta), as upstream's
// metav1.Object interface offers them: GetName, GetLabels, GetOwnerReferences, ... and their
// setters. Readers return empty values when a field is absent or of the wrong type; they never
// throw. Writers create `metadata` when it is missing.
//
// Objects are boost::json::object values (ROADMAP decision 3); these functions are pure and
// thread-compatible.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keelson::api {

using Object = boost::json::object;

// metav1.OwnerReference.
struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
  bool block_owner_deletion = false;
};

// The metadata object, or null.
const Object* GetMetadata(const Object& obj);
// The metadata object, created (or replaced, when not an object) if needed.
Object& MutableMetadata(Object* obj);

std::string_view GetApiVersion(const Object& obj);
std::string_view GetKind(const Object& obj);
std::string_view GetName(const Object& obj);
std::string_view GetGenerateName(const Object& obj);
std::string_view GetNamespace(const Object& obj);
std::string_view GetUid(const Object& obj);
std::string_view GetResourceVersion(const Object& obj);
std::string_view GetCreationTimestamp(const Object& obj);
// "" when the object is not being deleted.
std::string_view GetDeletionTimestamp(const Object& obj);
bool IsBeingDeleted(const Object& obj);
std::optional<int64_t> GetDeletionGracePeriodSeconds(const Object& obj);
int64_t GetGeneration(const Object& obj);
// String-valued entries only.
std::map<std::string, std::string, std::less<>> GetLabels(const Object& obj);
std::map<std::string, std::string, std::less<>> GetAnnotations(const Object& obj);
std::vector<std::string> GetFinalizers(const Object& obj);
bool HasFinalizer(const Object& obj, std::string_view finalizer);
std::vector<OwnerReference> GetOwnerReferences(const Object& obj);
// The owner reference marked controller, if any.
std::optional<OwnerReference> GetControllerOf(const Object& obj);

void SetName(Object* obj, std::string_view name);
void SetNamespace(Object* obj, std::string_view ns);
void SetResourceVersion(Object* obj, std::string_view rv);
void SetResourceVersion(Object* obj, int64_t revision);
void SetLabel(Object* obj, std::string_view key, std::string_view value);
void SetAnnotation(Object* obj, std::string_view key, std::string_view value);
// Add returns false when already there; Remove false when absent. An emptied list is removed.
bool AddFinalizer(Object* obj, std::string_view finalizer);
bool RemoveFinalizer(Object* obj, std::string_view finalizer);
// The list as given; an empty list removes metadata.finalizers.
void SetFinalizers(Object* obj, const std::vector<std::string>& finalizers);
void SetOwnerReferences(Object* obj, const std::vector<OwnerReference>& refs);

// The value of a dotted field path ("spec.nodeName") as a field selector sees it: strings as
// they are, booleans and integers as text, "" when absent or of another type.
std::string FieldText(const Object& obj, std::string_view path);

// A new object uid (a random version 4 UUID).
std::string NewUid();
// A timestamp as the API writes them: RFC 3339 in UTC, whole seconds ("2024-05-01T10:00:00Z").
std::string FormatTime(std::chrono::system_clock::time_point t);

// The JSON form of an owner reference, as upstream serialises it.
boost::json::object ToJson(const OwnerReference& ref);

}  // namespace keelson::api
