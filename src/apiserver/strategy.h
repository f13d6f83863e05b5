// What upstream's registry strategies do to an object's status around writes: a new object
// starts with the status its kind starts with (a pod is Pending with its QoS class, a
// namespace Active, a persistent volume Pending, a node keeps what its kubelet reports, the
// rest start empty), and writes of the main resource keep the stored status: only the
// status subresource changes it.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "api/resources.h"

namespace keelson::apiserver {

// Whether objects of `r` count their spec's versions in metadata.generation (1 at create,
// one more with every change of the spec): pods, the workloads, jobs, cron jobs and
// disruption budgets, as upstream's strategies have it.
bool TracksGeneration(const api::ResourceInfo& r);

// Whether writes of the main resource leave `r`'s status alone (it has a status subresource).
bool HasStatusSubresource(const api::ResourceInfo& r);

// Sets the status a new object of kind `r` starts with.
void PrepareStatusForCreate(const api::ResourceInfo& r, boost::json::object* obj);

// Gives `obj`, the new version of `old` written through the main resource, the stored status.
void KeepStatusOnUpdate(const api::ResourceInfo& r, const boost::json::object& old,
                        boost::json::object* obj);

// A Secret's stringData is write-only: each of its entries goes into data (base64, over a
// data entry of the same key) and stringData itself is dropped, as upstream converts it.
void MergeSecretStringData(boost::json::object* secret);

// A pod's quality of service class from its containers' (and init containers') cpu and
// memory requests and limits: "Guaranteed", "Burstable" or "BestEffort".
std::string PodQosClass(const boost::json::object& pod);

}  // namespace keelson::apiserver
