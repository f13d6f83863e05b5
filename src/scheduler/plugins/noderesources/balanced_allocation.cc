#include "scheduler/plugins/noderesources/balanced_allocation.h"

#include <cmath>

#include <boost/json.hpp>

namespace keelson::scheduler::noderesources {

Result<std::vector<ResourceSpec>> ParseBalancedAllocationArgs(const boost::json::object& args) {
  for (const auto& [k, _] : args) {
    if (k != "resources") return InvalidArgumentError(std::string(k) + ": unknown field");
  }
  if (!args.contains("resources")) return std::vector<ResourceSpec>{{"cpu", 1}, {"memory", 1}};
  return ParseResources(args.if_contains("resources"), "resources");
}

int64_t BalancedResourceScore(std::span<const int64_t> requested,
                              std::span<const int64_t> allocatable) {
  auto fraction = [&](size_t i) {
    double f = static_cast<double>(requested[i]) / static_cast<double>(allocatable[i]);
    return f > 1 ? 1.0 : f;
  };
  // Two passes instead of a list of fractions: no allocation per node.
  double total = 0;
  size_t count = 0;
  double first = 0, second = 0;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (allocatable[i] == 0) continue;
    double f = fraction(i);
    if (count == 0) first = f;
    if (count == 1) second = f;
    total += f;
    ++count;
  }
  double std_dev = 0;
  if (count == 2) {
    std_dev = std::abs((first - second) / 2);
  } else if (count > 2) {
    double mean = total / static_cast<double>(count);
    double sum = 0;
    for (size_t i = 0; i < requested.size(); ++i) {
      if (allocatable[i] == 0) continue;
      double f = fraction(i);
      sum += (f - mean) * (f - mean);
    }
    std_dev = std::sqrt(sum / static_cast<double>(count));
  }
  return static_cast<int64_t>((1 - std_dev) * static_cast<double>(kMaxNodeScore));
}

PluginStatus BalancedAllocation::PreScore(CycleState&, const PodInfo& pod,
                                          const std::vector<NodeInfoPtr>&) {
  for (const auto& r : resources_) {
    if (PodRequest(pod, r, true) != 0) return {};
  }
  return PluginStatus::Skip();
}

int64_t BalancedAllocation::Score(const CycleState&, const PodInfo& pod,
                                  const NodeInfo& node) const {
  const size_t n = resources_.size();
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
    const auto& r = resources_[i];
    auto [a, q] = AllocatableAndRequested(node, r, PodRequest(pod, r, true), true);
    allocatable[i] = a;
    requested[i] = q;
  }
  return BalancedResourceScore({requested, n}, {allocatable, n});
}

}  // namespace keelson::scheduler::noderesources
