// The API server's resource registry: every served resource, declared once, with the facts
// discovery, routing and storage need (names, scope, verbs, short names, categories,
// subresources, storage prefix).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keelson::api {

struct ResourceInfo {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string resource; // plural, lowercase: "pods"
  std::string singular; // "pod"
  std::string kind;     // "Pod"
  bool namespaced = true;
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> subresources;  // "status", "scale", ...
  // False for the review APIs (SelfSubjectAccessReview, ...): create-only, answered at once,
  // never stored, listed or watched.
  bool stored = true;

  // "v1" or "apps/v1"
  std::string GroupVersion() const { return group.empty() ? version : group + "/" + version; }
  // Where objects live in the store: "/registry/<resource>/" (+ "<namespace>/" + name).
  std::string StoragePrefix() const;
};

// The registry of served resources. Immutable after construction; thread-safe.
class ResourceRegistry {
 public:
  // Every resource keelson serves.
  static const ResourceRegistry& BuiltIn();

  const std::vector<ResourceInfo>& all() const { return resources_; }
  const ResourceInfo* Find(std::string_view group, std::string_view version,
                           std::string_view resource) const;
  // Group versions in discovery order: "v1" first, then the groups.
  std::vector<std::string> GroupVersions() const;
  std::vector<std::string> Groups() const;  // API groups other than the core group

 private:
  explicit ResourceRegistry(std::vector<ResourceInfo> r) : resources_(std::move(r)) {}
  std::vector<ResourceInfo> resources_;
};

}  // namespace keelson::api
