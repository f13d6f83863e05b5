// Strategies of the apps/v1 kinds.
#include "apiserver/strategies/kind_strategy.h"

namespace keelson::apiserver::strategies {

std::unique_ptr<Strategy> NewDeploymentStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::ValidatePodTemplate, validation::Workload},
                  .status_rules = {validation::DeploymentStatus},
                  .printer = printers::Deployment()});
}

std::unique_ptr<Strategy> NewReplicaSetStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::ValidatePodTemplate, validation::Workload},
                  .status_rules = {validation::ReplicaSetStatus},
                  .field_labels = {"status.replicas"},
                  .printer = printers::ReplicaSet()});
}

std::unique_ptr<Strategy> NewDaemonSetStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::ValidatePodTemplate, validation::Workload},
                  .status_rules = {validation::DaemonSetStatus},
                  .printer = printers::DaemonSet()});
}

std::unique_ptr<Strategy> NewStatefulSetStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::ValidatePodTemplate, validation::Workload},
                  .status_rules = {validation::StatefulSetStatus},
                  .printer = printers::StatefulSet()});
}

std::unique_ptr<Strategy> NewControllerRevisionStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::ControllerRevision},
                  .printer = printers::ControllerRevision()});
}

}  // namespace keelson::apiserver::strategies
