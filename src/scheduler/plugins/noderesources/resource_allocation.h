// What NodeResourcesFit's scoring strategies and NodeResourcesBalancedAllocation share: the
// resources scored with their weights, and each resource's (requested, allocatable) on a node
// with the pod added (upstream's resourceAllocationScorer).
#pragma once

#include <string>
#include <vector>

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::noderesources {

struct ResourceSpec {
  enum class Kind : uint8_t { kCpu, kMemory, kEphemeralStorage, kScalar };
  ResourceSpec(std::string n, int64_t w) : name(std::move(n)), weight(w), kind(KindOf(name)) {}
  static Kind KindOf(std::string_view n) {
    if (n == "cpu") return Kind::kCpu;
    if (n == "memory") return Kind::kMemory;
    if (n == "ephemeral-storage") return Kind::kEphemeralStorage;
    return Kind::kScalar;
  }
  std::string name;
  int64_t weight = 1;
  Kind kind = Kind::kScalar;
};

Result<std::vector<ResourceSpec>> ParseResources(const boost::json::value* v,
                                                 const std::string& path);

// The pod's request of `resource` for scoring: with the non-zero defaults for cpu and memory
// unless `use_requested`.
int64_t PodRequest(const PodInfo& pod, const ResourceSpec& resource, bool use_requested);

// (allocatable, requested + pod) of `resource` on the node; (0, 0) skips the resource.
std::pair<int64_t, int64_t> AllocatableAndRequested(const NodeInfo& node,
                                                    const ResourceSpec& resource,
                                                    int64_t pod_request, bool use_requested);

}  // namespace keelson::scheduler::noderesources
