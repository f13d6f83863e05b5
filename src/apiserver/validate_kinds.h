// The per-kind rules, by API group (validate_pod.cc, validate_core.cc, validate_apps.cc,
// validate_groups.cc, validate_status.cc), called by each kind's strategy. Each reports into
// `c.out` with upstream's field paths and texts.
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

// A Pod: its spec (PodSpec), no ephemeral containers on create, and on update only what
// may change (PodUpdate).
void ValidatePod(const Check& c);
// The pod template of a workload or Job (spec.template.spec), and of a CronJob's job
// template: a PodSpec without ephemeral containers.
void ValidatePodTemplate(const Check& c);
void ValidateJobTemplate(const Check& c);

// Core kinds other than Pod (validate_core.cc).
void ValidateService(const Check& c);
void ValidateConfigMap(const Check& c);
void ValidateSecret(const Check& c);
void ValidatePersistentVolumeClaim(const Check& c);
void ValidatePersistentVolume(const Check& c);
void ValidateNode(const Check& c);
void ValidateNamespace(const Check& c);
void ValidateEndpoints(const Check& c);
void ValidateEvent(const Check& c);
void ValidateLimitRange(const Check& c);
void ValidateResourceQuota(const Check& c);
// A ResourceQuota's status.hard and status.used: resource names and quantities.
void ResourceQuotaStatus(const json::object& quota, Causes* out);

// The status rules of a status subresource write, per kind (validate_status.cc).
void DeploymentStatus(const Check& c);
void ReplicaSetStatus(const Check& c);  // ReplicaSets and ReplicationControllers
void StatefulSetStatus(const Check& c);
void DaemonSetStatus(const Check& c);
void JobStatus(const Check& c);
void PodDisruptionBudgetStatus(const Check& c);
void PodStatus(const Check& c);
void NodeStatus(const Check& c);
void ResourceQuotaStatus(const Check& c);

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
