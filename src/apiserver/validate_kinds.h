// The per-kind rules of ValidateObject, by API group (validate_pod.cc, validate_core.cc,
// validate_apps.cc, validate_groups.cc). Each reports into `c.out` with upstream's field
// paths and texts. Internal to the API server's validation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apiserver/validate_util.h"

namespace keelson::apiserver::validation {

// A PodSpec at `base` ("spec", "spec.template.spec"): containers, ports, probes, resources,
// env, volumes and mounts, tolerations, enums.
void PodSpec(const json::value* spec, const std::string& base, Causes* out);
// A pod's spec may change only in images, activeDeadlineSeconds and added tolerations.
void PodUpdate(const json::object& obj, const json::object& old, Causes* out);
// The pod-level fields of a PodSpec at `base`: affinity, topology spread, security context,
// DNS config, host aliases, OS, priority class name, readiness and scheduling gates.
void PodLevelFields(const json::object& spec, const std::string& base, Causes* out);
// A container's securityContext at `p`.
void ContainerSecurityContext(const json::value* sc, const std::string& p, Causes* out);
// Resource requirements (requests, limits) of a container at `base`.
void ResourceRequirements(const json::value* res, const std::string& base, Causes* out);
// Upstream's standard resource names (cpu, memory, pods, requests.storage, hugepages-...).
bool IsStandardResourceName(std::string_view name);

// Core kinds other than Pod: Service, ConfigMap, Secret, PersistentVolume(Claim), Node,
// Namespace, Endpoints, Event, LimitRange, ResourceQuota, ServiceAccount.
void CoreKind(const Check& c);
// A ResourceQuota's status.hard and status.used: resource names and quantities.
void ResourceQuotaStatus(const json::object& quota, Causes* out);
// The status rules of a status subresource write (validate_status.cc).
void Status(const Check& c);
// apps/v1 and ReplicationController: selectors, templates, strategies, immutability.
void Workload(const Check& c);
void ControllerRevision(const Check& c);
// batch/v1: Job and CronJob.
void Job(const Check& c);
void CronJob(const Check& c);
// coordination, discovery, policy, scheduling and rbac.
void Lease(const Check& c);
void EndpointSlice(const Check& c);
void PodDisruptionBudget(const Check& c);
void PriorityClass(const Check& c);
void Rbac(const Check& c);
// path.IsValidPathSegmentName: the names of RBAC objects and PersistentVolumes.
std::vector<std::string> PathSegmentName(std::string_view name);

}  // namespace keelson::apiserver::validation
