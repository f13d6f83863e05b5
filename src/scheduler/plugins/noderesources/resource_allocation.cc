#include "scheduler/plugins/noderesources/resource_allocation.h"

#include <boost/json.hpp>

namespace keelson::scheduler::noderesources {

namespace json = boost::json;

Result<std::vector<ResourceSpec>> ParseResources(const json::value* v, const std::string& path) {
  std::vector<ResourceSpec> out;
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return InvalidArgumentError(path + ": Invalid value: must be a list");
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    const auto& e = v->as_array()[i];
    if (!e.is_object()) return InvalidArgumentError(p + ": Invalid value: must be an object");
    ResourceSpec r("", 1);
    const auto* name = e.as_object().if_contains("name");
    if (!name || !name->is_string() || name->as_string().empty()) {
      return InvalidArgumentError(p + ".name: Required value");
    }
    r.name = name->as_string();
    r.kind = ResourceSpec::KindOf(r.name);
    const auto* w = e.as_object().if_contains("weight");
    if (w && !w->is_null()) {
      if (!w->is_int64()) return InvalidArgumentError(p + ".weight: Invalid value: must be an integer");
      r.weight = w->as_int64();
    }
    if (r.weight <= 0 || r.weight > 100) {
      return InvalidArgumentError(p + ".weight: Invalid value: " + std::to_string(r.weight) +
                                  ": resource weight of " + r.name + " should be in range [1, 100]");
    }
    for (const auto& [k, _] : e.as_object()) {
      if (k != "name" && k != "weight") {
        return InvalidArgumentError("strict decoding error: unknown field \"" + p + "." +
                                    std::string(k) + "\"");
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

int64_t PodRequest(const PodInfo& pod, const ResourceSpec& r, bool use_requested) {
  switch (r.kind) {
    case ResourceSpec::Kind::kCpu: return use_requested ? pod.requests.milli_cpu : pod.non_zero_milli_cpu;
    case ResourceSpec::Kind::kMemory: return use_requested ? pod.requests.memory : pod.non_zero_memory;
    case ResourceSpec::Kind::kEphemeralStorage: return pod.requests.ephemeral_storage;
    case ResourceSpec::Kind::kScalar: break;
  }
  return pod.requests.Scalar(r.name);
}

std::pair<int64_t, int64_t> AllocatableAndRequested(const NodeInfo& node,
                                                    const ResourceSpec& spec,
                                                    int64_t pod_request, bool use_requested) {
  const Resources& alloc = node.node->allocatable;
  const std::string& resource = spec.name;
  if (spec.kind == ResourceSpec::Kind::kCpu) {
    return {alloc.milli_cpu,
            (use_requested ? node.requested.milli_cpu : node.non_zero_milli_cpu) + pod_request};
  }
  if (spec.kind == ResourceSpec::Kind::kMemory) {
    return {alloc.memory,
            (use_requested ? node.requested.memory : node.non_zero_memory) + pod_request};
  }
  if (spec.kind == ResourceSpec::Kind::kEphemeralStorage) {
    return {alloc.ephemeral_storage, node.requested.ephemeral_storage + pod_request};
  }
  // An extended resource the pod does not request is not scored.
  if (pod_request == 0) return {0, 0};
  for (const auto& [n, v] : alloc.scalars) {
    if (n == resource) return {v, node.requested.Scalar(resource) + pod_request};
  }
  return {0, 0};
}

}  // namespace keelson::scheduler::noderesources
