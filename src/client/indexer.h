// Indexer: the thread-safe cache of an informer (upstream's cache.Indexer): objects by key
// ("namespace/name", or "name" for cluster-scoped objects), plus named indexes from index
// values to keys. Objects are immutable and shared (ObjectPtr = shared_ptr<const Object>):
// readers keep what they got for as long as they like; a change replaces the pointer, it
// never alters an object. Copy before changing anything.
//
// Index functions: NamespaceIndex (always present), NodeNameIndex (pods by spec.nodeName),
// LabelIndex (by one label's value), FieldIndex (by any field path's text), or your own.
//
// Lister reads an Indexer the way controllers do: get by namespace and name, list with a
// label selector, over everything or one namespace (through the namespace index).
//
// Thread-safety: every method may be called from any thread (a shared mutex: reads run in
// parallel).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/labels.h"
#include "api/object.h"
#include "common/status.h"

namespace keelson::client {

using ObjectPtr = std::shared_ptr<const api::Object>;

// "namespace/name", or "name" when the namespace is empty (upstream's MetaNamespaceKeyFunc).
std::string ObjectKey(const api::Object& obj);
std::string ObjectKey(std::string_view ns, std::string_view name);

// The values an object is indexed under (none: not in the index).
using IndexFunc = std::function<std::vector<std::string>(const api::Object&)>;

inline constexpr std::string_view kNamespaceIndex = "namespace";
inline constexpr std::string_view kNodeNameIndex = "spec.nodeName";

// metadata.namespace (cluster-scoped objects are not indexed).
IndexFunc NamespaceIndexFunc();
// spec.nodeName when set (unbound pods are not indexed).
IndexFunc NodeNameIndexFunc();
// The value of label `key`, when the object has it.
IndexFunc LabelIndexFunc(std::string key);
// The text of a field path (api::FieldText), when not empty.
IndexFunc FieldIndexFunc(std::string path);

class Indexer {
 public:
  // With the namespace index.
  Indexer();

  // Adds an index and indexes what is cached. AlreadyExists when `name` is taken.
  Status AddIndex(std::string name, IndexFunc fn);

  // Adds or replaces the object with obj's key; returns the one it replaced (null if none).
  ObjectPtr Upsert(ObjectPtr obj);
  // Removes the object with `key`; returns it (null if none).
  ObjectPtr Delete(std::string_view key);
  // Replaces everything with `objects`.
  void Replace(std::vector<ObjectPtr> objects);

  // The object with `key`, or null.
  ObjectPtr Get(std::string_view key) const;
  ObjectPtr Get(std::string_view ns, std::string_view name) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> ListKeys() const;
  size_t Size() const;

  // The objects indexed under `value` in index `index`, in key order. NotFound for an index
  // that does not exist.
  Result<std::vector<ObjectPtr>> ByIndex(std::string_view index, std::string_view value) const;
  // The values index `index` holds. NotFound for an index that does not exist.
  Result<std::vector<std::string>> IndexValues(std::string_view index) const;

 private:
  struct Index {
    IndexFunc fn;
    std::unordered_map<std::string, std::set<std::string>> keys;  // value -> keys
  };
  void IndexLocked(const std::string& key, const api::Object* old_obj, const api::Object* obj);

  mutable std::shared_mutex mu_;
  std::map<std::string, ObjectPtr, std::less<>> items_;  // guarded by mu_
  std::map<std::string, Index, std::less<>> indexes_;     // guarded by mu_
};

// A read-only view of an Indexer. The indexer must outlive it. Thread-safe.
class Lister {
 public:
  explicit Lister(const Indexer* indexer) : indexer_(indexer) {}

  ObjectPtr Get(std::string_view ns, std::string_view name) const {
    return indexer_->Get(ns, name);
  }
  // Every object whose labels match `selector`.
  std::vector<ObjectPtr> List(const api::LabelSelector& selector = {}) const;
  // The objects of namespace `ns` whose labels match `selector`.
  std::vector<ObjectPtr> List(std::string_view ns, const api::LabelSelector& selector = {}) const;

 private:
  const Indexer* indexer_;
};

}  // namespace keelson::client
