#include "api/resources.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace keelson::api {
namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

ResourceInfo R(std::string group, std::string resource, std::string singular, std::string kind,
               bool namespaced, std::vector<std::string> short_names = {},
               std::vector<std::string> categories = {},
               std::vector<std::string> subresources = {}) {
  ResourceInfo r;
  r.group = std::move(group);
  r.version = "v1";
  r.resource = std::move(resource);
  r.singular = std::move(singular);
  r.kind = std::move(kind);
  r.namespaced = namespaced;
  r.verbs = kAllVerbs;
  r.short_names = std::move(short_names);
  r.categories = std::move(categories);
  r.subresources = std::move(subresources);
  return r;
}

std::vector<ResourceInfo> BuiltInResources() {
  const bool kNs = true, kCluster = false;
  std::vector<ResourceInfo> v = {
      // core/v1
      R("", "namespaces", "namespace", "Namespace", kCluster, {"ns"}, {}, {"finalize", "status"}),
      R("", "pods", "pod", "Pod", kNs, {"po"}, {"all"}, {"binding", "eviction", "log", "status"}),
      R("", "nodes", "node", "Node", kCluster, {"no"}, {}, {"status"}),
      R("", "services", "service", "Service", kNs, {"svc"}, {"all"}, {"status"}),
      R("", "endpoints", "endpoints", "Endpoints", kNs, {"ep"}),
      R("", "configmaps", "configmap", "ConfigMap", kNs, {"cm"}),
      R("", "secrets", "secret", "Secret", kNs),
      R("", "serviceaccounts", "serviceaccount", "ServiceAccount", kNs, {"sa"}, {}, {"token"}),
      R("", "events", "event", "Event", kNs, {"ev"}),
      R("", "replicationcontrollers", "replicationcontroller", "ReplicationController", kNs,
        {"rc"}, {"all"}, {"scale", "status"}),
      R("", "limitranges", "limitrange", "LimitRange", kNs, {"limits"}),
      R("", "resourcequotas", "resourcequota", "ResourceQuota", kNs, {"quota"}, {}, {"status"}),
      R("", "persistentvolumes", "persistentvolume", "PersistentVolume", kCluster, {"pv"}, {},
        {"status"}),
      R("", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", kNs,
        {"pvc"}, {}, {"status"}),
      // apps/v1
      R("apps", "deployments", "deployment", "Deployment", kNs, {"deploy"}, {"all"},
        {"scale", "status"}),
      R("apps", "replicasets", "replicaset", "ReplicaSet", kNs, {"rs"}, {"all"},
        {"scale", "status"}),
      R("apps", "daemonsets", "daemonset", "DaemonSet", kNs, {"ds"}, {"all"}, {"status"}),
      R("apps", "statefulsets", "statefulset", "StatefulSet", kNs, {"sts"}, {"all"},
        {"scale", "status"}),
      R("apps", "controllerrevisions", "controllerrevision", "ControllerRevision", kNs),
      // batch/v1
      R("batch", "jobs", "job", "Job", kNs, {}, {"all"}, {"status"}),
      R("batch", "cronjobs", "cronjob", "CronJob", kNs, {"cj"}, {"all"}, {"status"}),
      // others
      R("coordination.k8s.io", "leases", "lease", "Lease", kNs),
      R("discovery.k8s.io", "endpointslices", "endpointslice", "EndpointSlice", kNs),
      R("events.k8s.io", "events", "event", "Event", kNs, {"ev"}),
      R("policy", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", kNs,
        {"pdb"}, {}, {"status"}),
      R("scheduling.k8s.io", "priorityclasses", "priorityclass", "PriorityClass", kCluster,
        {"pc"}),
      R("rbac.authorization.k8s.io", "roles", "role", "Role", kNs),
      R("rbac.authorization.k8s.io", "clusterroles", "clusterrole", "ClusterRole", kCluster),
      R("rbac.authorization.k8s.io", "rolebindings", "rolebinding", "RoleBinding", kNs),
      R("rbac.authorization.k8s.io", "clusterrolebindings", "clusterrolebinding",
        "ClusterRoleBinding", kCluster),
  };
  // The review APIs kubectl posts to (auth can-i, auth whoami).
  for (auto [group, resource, kind] :
       {std::tuple{"authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview"},
        std::tuple{"authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview"}}) {
    ResourceInfo r = R(group, resource, "", kind, kCluster);
    r.verbs = {"create"};
    r.stored = false;
    v.push_back(std::move(r));
  }
  // Namespaces cannot be deleted as a collection.
  for (auto& r : v) {
    if (r.group.empty() && r.resource == "namespaces") {
      r.verbs.erase(std::remove(r.verbs.begin(), r.verbs.end(), "deletecollection"),
                    r.verbs.end());
    }
  }
  // Discovery lists a group's resources by name, as upstream's installer does; kubectl keeps
  // that order when it expands a category (`get all` prints cronjobs before jobs). Groups
  // keep the order above.
  std::map<std::string, size_t> group_rank;
  for (const auto& r : v) group_rank.emplace(r.group, group_rank.size());
  std::stable_sort(v.begin(), v.end(), [&](const ResourceInfo& a, const ResourceInfo& b) {
    return std::pair(group_rank.at(a.group), a.resource) <
           std::pair(group_rank.at(b.group), b.resource);
  });
  return v;
}

}  // namespace

std::string ResourceInfo::StoragePrefix() const {
  // Kubernetes keeps objects under their plural name, with a few historical exceptions.
  if (group.empty()) {
    if (resource == "services") return "/registry/services/specs/";
    if (resource == "endpoints") return "/registry/services/endpoints/";
    if (resource == "nodes") return "/registry/minions/";
    if (resource == "replicationcontrollers") return "/registry/controllers/";
  }
  return "/registry/" + resource + "/";
}

const ResourceRegistry& ResourceRegistry::BuiltIn() {
  static const ResourceRegistry registry(BuiltInResources());
  return registry;
}

const ResourceInfo* ResourceRegistry::Find(std::string_view group, std::string_view version,
                                           std::string_view resource) const {
  for (const auto& r : resources_) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

std::vector<std::string> ResourceRegistry::GroupVersions() const {
  std::vector<std::string> out;
  for (const auto& r : resources_) {
    auto gv = r.GroupVersion();
    if (std::find(out.begin(), out.end(), gv) == out.end()) out.push_back(gv);
  }
  return out;
}

std::vector<std::string> ResourceRegistry::Groups() const {
  std::vector<std::string> out;
  for (const auto& r : resources_) {
    if (!r.group.empty() && std::find(out.begin(), out.end(), r.group) == out.end()) {
      out.push_back(r.group);
    }
  }
  return out;
}

}  // namespace keelson::api
