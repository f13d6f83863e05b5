// The building block of the per-kind strategies (strategy.h): a Strategy described by what
// its kind has — whether it counts generations, its validation rules, status rules, field
// labels, printer and name rule — so that a kind with nothing unusual is a few lines of its
// group's file, and a kind with more overrides only what differs.
//
// Internal to the API server's strategies.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/strategy.h"
#include "apiserver/validate_kinds.h"

namespace keelson::apiserver::strategies {

// One of a kind's validation rule sets (validate_kinds.h); sees the object, and the stored
// object on an update.
using Rule = void (*)(const validation::Check&);
// A name rule: the problems of a name, or with `prefix` of a generateName.
using NameRule = std::vector<std::string> (*)(std::string_view name, bool prefix);

struct KindSpec {
  bool tracks_generation = false;
  std::vector<Rule> rules;         // create and update
  std::vector<Rule> status_rules;  // writes of the status subresource
  std::vector<std::string> field_labels;
  TablePrinterPtr printer;         // null: the default NAME / CREATED AT
  NameRule name_rule = nullptr;    // null: a DNS-1123 subdomain
  bool events_v1 = false;          // an Event written through events.k8s.io/v1
  bool returns_deleted_object = false;  // a delete answers with the object, not a Status
  bool orphans_dependents = false;      // DefaultGcPolicy() is kOrphanDependents
};

class KindStrategy : public Strategy {
 public:
  KindStrategy(const api::ResourceInfo& r, KindSpec spec);

  std::vector<std::string> NameErrors(std::string_view name, bool prefix) const override;
  bool TracksGeneration() const override { return spec_.tracks_generation; }
  api::FieldCauses Validate(const api::Object& obj) const override;
  api::FieldCauses ValidateUpdate(const api::Object& obj, const api::Object& old) const override;
  api::FieldCauses ValidateStatusUpdate(const api::Object& obj,
                                        const api::Object& old) const override;
  const std::vector<std::string>& FieldLabels() const override { return spec_.field_labels; }
  const TablePrinter& Printer() const override;
  bool ReturnsDeletedObject() const override { return spec_.returns_deleted_object; }
  GcPolicy DefaultGcPolicy() const override {
    return spec_.orphans_dependents ? GcPolicy::kOrphanDependents : GcPolicy::kDeleteDependents;
  }

 private:
  api::FieldCauses Run(const std::vector<Rule>& rules, const api::Object& obj,
                       const api::Object* old) const;

  KindSpec spec_;
};

// The factories of the per-kind strategies, by API group (core.cc, apps.cc, batch.cc,
// groups.cc). BuiltInStrategies() (registry.cc) lists which serves which resource.
using Factory = std::unique_ptr<Strategy> (*)(const api::ResourceInfo& r);

std::unique_ptr<Strategy> NewPodStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewNamespaceStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewNodeStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewServiceStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewEndpointsStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewConfigMapStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewSecretStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewServiceAccountStrategy(const api::ResourceInfo& r);
// The field labels of Events (core/v1 and events.k8s.io/v1 both store the core form).
const std::vector<std::string>& EventFieldLabels();
std::unique_ptr<Strategy> NewEventStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewReplicationControllerStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewLimitRangeStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewResourceQuotaStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewPersistentVolumeStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewPersistentVolumeClaimStrategy(const api::ResourceInfo& r);

std::unique_ptr<Strategy> NewDeploymentStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewReplicaSetStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewDaemonSetStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewStatefulSetStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewControllerRevisionStrategy(const api::ResourceInfo& r);

std::unique_ptr<Strategy> NewJobStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewCronJobStrategy(const api::ResourceInfo& r);

std::unique_ptr<Strategy> NewLeaseStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewEndpointSliceStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewEventsV1EventStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewPodDisruptionBudgetStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewPriorityClassStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewRoleStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewRoleBindingStrategy(const api::ResourceInfo& r);
std::unique_ptr<Strategy> NewClusterRoleBindingStrategy(const api::ResourceInfo& r);

}  // namespace keelson::apiserver::strategies
