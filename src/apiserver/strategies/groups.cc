// Strategies of the smaller groups: coordination, discovery, events, policy, scheduling and
// rbac.
#include "apiserver/strategies/kind_strategy.h"

namespace keelson::apiserver::strategies {
namespace {

// RBAC objects are named by path segments, not DNS names.
std::vector<std::string> PathSegment(std::string_view name, bool) {
  return validation::PathSegmentName(name);
}

}  // namespace

std::unique_ptr<Strategy> NewLeaseStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::Lease}, .printer = printers::Lease()});
}

std::unique_ptr<Strategy> NewEndpointSliceStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::EndpointSlice}, .printer = printers::EndpointSlice()});
}

// events.k8s.io/v1 Events are stored in their core form (apiserver/events_v1.h) and meet
// upstream's stricter rules for that API.
std::unique_ptr<Strategy> NewEventsV1EventStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(r, KindSpec{.rules = {validation::ValidateEvent},
                                                    .field_labels = EventFieldLabels(),
                                                    .printer = printers::CoreEvent(),
                                                    .events_v1 = true});
}

std::unique_ptr<Strategy> NewPodDisruptionBudgetStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::PodDisruptionBudget},
                  .status_rules = {validation::PodDisruptionBudgetStatus},
                  .printer = printers::PodDisruptionBudget()});
}

std::unique_ptr<Strategy> NewPriorityClassStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::PriorityClass}, .printer = printers::PriorityClass()});
}

std::unique_ptr<Strategy> NewRoleStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::Rbac}, .name_rule = PathSegment});
}

std::unique_ptr<Strategy> NewRoleBindingStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(r, KindSpec{.rules = {validation::Rbac},
                                                    .printer = printers::RoleBinding(),
                                                    .name_rule = PathSegment});
}

std::unique_ptr<Strategy> NewClusterRoleBindingStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(r, KindSpec{.rules = {validation::Rbac},
                                                    .printer = printers::ClusterRoleBinding(),
                                                    .name_rule = PathSegment});
}

}  // namespace keelson::apiserver::strategies
