#include "scheduler/plugins/noderesources/fit.h"

#include <cmath>

#include <boost/json.hpp>

namespace keelson::scheduler::noderesources {

namespace json = boost::json;

Result<FitArgs> ParseFitArgs(const json::object& args) {
  FitArgs out;
  for (const auto& [k, _] : args) {
    if (k != "ignoredResources" && k != "ignoredResourceGroups" && k != "scoringStrategy") {
      return InvalidArgumentError(std::string(k) + ": unknown field");
    }
  }
  for (auto [field, set] : {std::pair<const char*, std::set<std::string, std::less<>>*>{
                                "ignoredResources", &out.ignored_resources},
                            {"ignoredResourceGroups", &out.ignored_resource_groups}}) {
    const auto* v = args.if_contains(field);
    if (!v || v->is_null()) continue;
    if (!v->is_array()) return InvalidArgumentError(std::string(field) + ": Invalid value: must be a list");
    for (size_t i = 0; i < v->as_array().size(); ++i) {
      const auto& e = v->as_array()[i];
      if (!e.is_string()) return InvalidArgumentError(std::string(field) + "[" + std::to_string(i) + "]: Invalid value: must be a string");
      std::string s(e.as_string());
      if (std::string_view(field) == "ignoredResourceGroups" && s.find('/') != std::string::npos) {
        return InvalidArgumentError(std::string(field) + "[" + std::to_string(i) +
                                    "]: Invalid value: \"" + s +
                                    "\": resource group name can't contain '/'");
      }
      set->insert(std::move(s));
    }
  }
  const auto* ss = args.if_contains("scoringStrategy");
  if (!ss || ss->is_null()) return out;
  if (!ss->is_object()) return InvalidArgumentError("scoringStrategy: Invalid value: must be an object");
  const auto& so = ss->as_object();
  for (const auto& [k, _] : so) {
    if (k != "type" && k != "resources" && k != "requestedToCapacityRatio") {
      return InvalidArgumentError("strict decoding error: unknown field \"scoringStrategy." +
                                  std::string(k) + "\"");
    }
  }
  if (const auto* t = so.if_contains("type"); t && !t->is_null()) {
    std::string type = t->is_string() ? std::string(t->as_string()) : json::serialize(*t);
    if (type == "LeastAllocated") out.strategy = Strategy::kLeastAllocated;
    else if (type == "MostAllocated") out.strategy = Strategy::kMostAllocated;
    else if (type == "RequestedToCapacityRatio") out.strategy = Strategy::kRequestedToCapacityRatio;
    else {
      return InvalidArgumentError("scoringStrategy.type: Unsupported value: \"" + type +
                                  "\": supported values: \"LeastAllocated\", \"MostAllocated\", "
                                  "\"RequestedToCapacityRatio\"");
    }
  }
  if (so.contains("resources")) {
    auto r = ParseResources(so.if_contains("resources"), "scoringStrategy.resources");
    if (!r.ok()) return r.status();
    out.resources = std::move(*r);
  }
  if (out.strategy == Strategy::kRequestedToCapacityRatio) {
    const auto* rtcr = so.if_contains("requestedToCapacityRatio");
    const json::value* shape = rtcr && rtcr->is_object() ? rtcr->as_object().if_contains("shape") : nullptr;
    if (!shape || !shape->is_array() || shape->as_array().empty()) {
      return InvalidArgumentError("scoringStrategy.requestedToCapacityRatio.shape: Required value");
    }
    int64_t prev = -1;
    for (size_t i = 0; i < shape->as_array().size(); ++i) {
      std::string p = "scoringStrategy.requestedToCapacityRatio.shape[" + std::to_string(i) + "]";
      const auto& e = shape->as_array()[i];
      if (!e.is_object()) return InvalidArgumentError(p + ": Invalid value: must be an object");
      ShapePoint sp;
      const auto* u = e.as_object().if_contains("utilization");
      const auto* s = e.as_object().if_contains("score");
      sp.utilization = u && u->is_int64() ? u->as_int64() : 0;
      sp.score = s && s->is_int64() ? s->as_int64() : 0;
      if (sp.utilization < 0 || sp.utilization > 100) {
        return InvalidArgumentError(p + ".utilization: Invalid value: " +
                                    std::to_string(sp.utilization) + ": not in valid range [0, 100]");
      }
      if (sp.utilization <= prev) {
        return InvalidArgumentError(p + ".utilization: Invalid value: " +
                                    std::to_string(sp.utilization) +
                                    ": utilization values must be sorted in increasing order");
      }
      prev = sp.utilization;
      if (sp.score < 0 || sp.score > 10) {
        return InvalidArgumentError(p + ".score: Invalid value: " + std::to_string(sp.score) +
                                    ": not in valid range [0, 10]");
      }
      sp.score *= kMaxNodeScore / 10;
      out.shape.push_back(sp);
    }
  }
  return out;
}

std::vector<InsufficientResource> Fits(const PodInfo& pod, const NodeInfo& node,
                                       const FitArgs& args) {
  std::vector<InsufficientResource> out;
  const Resources& alloc = node.node->allocatable;
  if (static_cast<int64_t>(node.pods.size()) + 1 > alloc.allowed_pods) {
    out.push_back({"pods", "Too many pods", false});
  }
  const Resources& req = pod.requests;
  if (req.IsZero()) return out;
  const Resources& used = node.requested;
  if (req.milli_cpu > 0 && req.milli_cpu > alloc.milli_cpu - used.milli_cpu) {
    out.push_back({"cpu", "Insufficient cpu", req.milli_cpu > alloc.milli_cpu});
  }
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) {
    out.push_back({"memory", "Insufficient memory", req.memory > alloc.memory});
  }
  if (req.ephemeral_storage > 0 &&
      req.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage) {
    out.push_back({"ephemeral-storage", "Insufficient ephemeral-storage",
                   req.ephemeral_storage > alloc.ephemeral_storage});
  }
  for (const auto& [name, v] : req.scalars) {
    if (v == 0) continue;
    if (args.ignored_resources.count(name)) continue;
    auto slash = name.find('/');
    if (slash != std::string::npos && args.ignored_resource_groups.count(name.substr(0, slash))) {
      continue;
    }
    int64_t a = alloc.Scalar(name);
    if (v > a - used.Scalar(name)) out.push_back({name, "Insufficient " + name, v > a});
  }
  return out;
}

Fit::Fit(FitArgs args) : args_(std::move(args)) {}

PluginStatus Fit::Filter(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  auto insufficient = Fits(pod, node, args_);
  if (insufficient.empty()) return {};
  if (insufficient.size() == 1) {
    // The common single reasons, prebuilt (a failed cycle reports one per node).
    static const PluginStatus kCpu(Code::kUnschedulable, "Insufficient cpu");
    static const PluginStatus kCpuUnresolvable(Code::kUnschedulableAndUnresolvable, "Insufficient cpu");
    static const PluginStatus kMemory(Code::kUnschedulable, "Insufficient memory");
    static const PluginStatus kMemoryUnresolvable(Code::kUnschedulableAndUnresolvable, "Insufficient memory");
    static const PluginStatus kPods(Code::kUnschedulable, "Too many pods");
    const auto& r = insufficient[0];
    if (r.resource == "cpu") return r.unresolvable ? kCpuUnresolvable : kCpu;
    if (r.resource == "memory") return r.unresolvable ? kMemoryUnresolvable : kMemory;
    if (r.resource == "pods") return kPods;
  }
  std::vector<std::string> reasons;
  Code code = Code::kUnschedulable;
  for (auto& r : insufficient) {
    reasons.push_back(std::move(r.reason));
    if (r.unresolvable) code = Code::kUnschedulableAndUnresolvable;
  }
  return PluginStatus(code, std::move(reasons));
}

int64_t LeastAllocatedScore(std::span<const int64_t> requested,
                            std::span<const int64_t> allocatable,
                            const std::vector<ResourceSpec>& resources) {
  int64_t score = 0, weights = 0;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (allocatable[i] == 0) continue;
    int64_t s = requested[i] > allocatable[i]
                    ? 0
                    : (allocatable[i] - requested[i]) * kMaxNodeScore / allocatable[i];
    score += s * resources[i].weight;
    weights += resources[i].weight;
  }
  return weights == 0 ? 0 : score / weights;
}

int64_t MostAllocatedScore(std::span<const int64_t> requested,
                           std::span<const int64_t> allocatable,
                           const std::vector<ResourceSpec>& resources) {
  int64_t score = 0, weights = 0;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (allocatable[i] == 0) continue;
    int64_t r = std::min(requested[i], allocatable[i]);
    score += r * kMaxNodeScore / allocatable[i] * resources[i].weight;
    weights += resources[i].weight;
  }
  return weights == 0 ? 0 : score / weights;
}

namespace {
int64_t BrokenLinear(const std::vector<ShapePoint>& shape, int64_t p) {
  for (size_t i = 0; i < shape.size(); ++i) {
    if (p <= shape[i].utilization) {
      if (i == 0) return shape[0].score;
      return shape[i - 1].score + (shape[i].score - shape[i - 1].score) *
                                      (p - shape[i - 1].utilization) /
                                      (shape[i].utilization - shape[i - 1].utilization);
    }
  }
  return shape.back().score;
}
}  // namespace

int64_t RequestedToCapacityRatioScore(std::span<const int64_t> requested,
                                      std::span<const int64_t> allocatable,
                                      const std::vector<ResourceSpec>& resources,
                                      const std::vector<ShapePoint>& shape) {
  int64_t score = 0, weights = 0;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (allocatable[i] == 0) continue;
    int64_t s = (requested[i] > allocatable[i])
                    ? BrokenLinear(shape, 100)
                    : BrokenLinear(shape, requested[i] * 100 / allocatable[i]);
    if (s > 0) {
      score += s * resources[i].weight;
      weights += resources[i].weight;
    }
  }
  if (weights == 0) return 0;
  return static_cast<int64_t>(std::round(static_cast<double>(score) / static_cast<double>(weights)));
}

int64_t Fit::Score(const CycleState&, const PodInfo& pod, const NodeInfo& node) const {
  const size_t n = args_.resources.size();
  // The common case is two resources: no allocation per node.
  int64_t req_buf[8], alloc_buf[8];
  std::vector<int64_t> req_heap, alloc_heap;
  int64_t* requested = req_buf;
  int64_t* allocatable = alloc_buf;
  if (n > 8) {
    req_heap.resize(n);
    alloc_heap.resize(n);
    requested = req_heap.data();
    allocatable = alloc_heap.data();
  }
  for (size_t i = 0; i < n; ++i) {
    const auto& r = args_.resources[i];
    auto [a, q] = AllocatableAndRequested(node, r, PodRequest(pod, r, false), false);
    allocatable[i] = a;
    requested[i] = q;
  }
  switch (args_.strategy) {
    case Strategy::kLeastAllocated: return LeastAllocatedScore({requested, n}, {allocatable, n}, args_.resources);
    case Strategy::kMostAllocated: return MostAllocatedScore({requested, n}, {allocatable, n}, args_.resources);
    case Strategy::kRequestedToCapacityRatio:
      return RequestedToCapacityRatioScore({requested, n}, {allocatable, n}, args_.resources, args_.shape);
  }
  return 0;
}

std::vector<ClusterEventWithHint> Fit::EventsToRegister() const {
  FitArgs args = args_;
  return {
      {{EventResource::kAssignedPod, kDelete | kUpdatePodScaleDown, "AssignedPodChange"},
       [](const PodInfo& pod, const EventObjects& ev) {
         const PodInfo* p = ev.old_pod ? ev.old_pod.get() : nullptr;
         if (!p) return QueueingHint::kSkip;
         if (pod.requests.IsZero()) return QueueingHint::kQueue;
         // Queue when the freed pod held some of what this pod asks for (or a pod slot).
         return QueueingHint::kQueue;
       }},
      {{EventResource::kNode, kAdd | kUpdateNodeAllocatable, "NodeChange"},
       [args](const PodInfo& pod, const EventObjects& ev) {
         if (!ev.new_node) return QueueingHint::kSkip;
         NodeInfo empty;
         empty.node = ev.new_node;
         return Fits(pod, empty, args).empty() ? QueueingHint::kQueue : QueueingHint::kSkip;
       }},
      {{EventResource::kUnscheduledPod, kUpdatePodScaleDown, "UnscheduledPodUpdate"}, nullptr},
  };
}

}  // namespace keelson::scheduler::noderesources
