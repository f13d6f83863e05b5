// Strategies of the core (v1) kinds.
#include <boost/json.hpp>

#include "api/object.h"
#include "api/validation.h"
#include "apiserver/strategies/default_tolerations.h"
#include "apiserver/strategies/kind_strategy.h"

namespace keelson::apiserver::strategies {
namespace {

namespace json = boost::json;

// A pod: Pending with its QoS class when created, with upstream's default tolerations of the
// not-ready and unreachable NoExecute taints (DefaultTolerationSeconds); bound pods are deleted
// gracefully, their kubelet finishing the deletion once the containers have stopped.
class PodStrategy final : public KindStrategy {
 public:
  explicit PodStrategy(const api::ResourceInfo& r)
      : KindStrategy(r, {.tracks_generation = true,
                         .rules = {validation::ValidatePod},
                         .status_rules = {validation::PodStatus},
                         .field_labels = {"spec.nodeName", "spec.restartPolicy",
                                          "spec.schedulerName", "spec.serviceAccountName",
                                          "spec.hostNetwork", "status.phase", "status.podIP",
                                          "status.nominatedNodeName"},
                         .printer = printers::Pod(),
                         .returns_deleted_object = true}) {}

  std::string IndexedField() const override { return "spec.nodeName"; }

  void PrepareForCreate(api::Object* pod) const override {
    KindStrategy::PrepareForCreate(pod);
    AddDefaultTolerationSeconds(pod);
  }

  std::optional<int64_t> GracePeriod(const api::Object& pod,
                                     std::optional<int64_t> requested) const override {
    // An unbound pod has no kubelet to wait for.
    if (api::FieldText(pod, "spec.nodeName").empty()) return 0;
    if (requested) return *requested;
    const auto* spec = pod.if_contains("spec");
    const auto* grace = spec && spec->is_object()
                            ? spec->as_object().if_contains("terminationGracePeriodSeconds")
                            : nullptr;
    return grace && grace->is_int64() ? grace->as_int64() : 30;
  }

 protected:
  api::Object InitialStatus(const api::Object& pod) const override {
    api::Object status = KindStrategy::InitialStatus(pod);
    status["phase"] = "Pending";
    status["qosClass"] = PodQosClass(pod);
    return status;
  }
};

// A namespace: a DNS-1123 label, Active when created, with the label naming it and the
// namespace controller's finalizer; Terminating once deletion starts.
class NamespaceStrategy final : public KindStrategy {
 public:
  explicit NamespaceStrategy(const api::ResourceInfo& r)
      : KindStrategy(r, {.rules = {validation::ValidateNamespace},
                         .field_labels = {"status.phase"},
                         .printer = printers::Namespace(),
                         .name_rule = api::NameIsDNSLabel,
                         .returns_deleted_object = true}) {}

  void PrepareForCreate(api::Object* ns) const override {
    KindStrategy::PrepareForCreate(ns);
    api::SetLabel(ns, "kubernetes.io/metadata.name", std::string(api::GetName(*ns)));
    // The namespace controller's finalizer, which it clears once the content is gone.
    auto& spec = (*ns)["spec"];
    if (!spec.is_object()) spec = json::object();
    auto& fins = spec.as_object()["finalizers"];
    if (!fins.is_array()) fins = json::array();
    auto& list = fins.as_array();
    if (std::find(list.begin(), list.end(), json::value("kubernetes")) == list.end()) {
      list.push_back("kubernetes");
    }
  }

  // The namespace controller's hold: spec.finalizers, cleared through /finalize.
  bool HoldsDeletion(const api::Object& ns) const override {
    const auto* spec = ns.if_contains("spec");
    const auto* fins = spec && spec->is_object() ? spec->as_object().if_contains("finalizers")
                                                  : nullptr;
    return fins && fins->is_array() && !fins->as_array().empty();
  }

  void PrepareForDelete(api::Object* ns) const override {
    auto& status = (*ns)["status"];
    if (!status.is_object()) status = json::object();
    status.as_object()["phase"] = "Terminating";
  }

 protected:
  api::Object InitialStatus(const api::Object&) const override {
    return api::Object{{"phase", "Active"}};
  }
};

// A node keeps the status its kubelet registers it with.
class NodeStrategy final : public KindStrategy {
 public:
  explicit NodeStrategy(const api::ResourceInfo& r)
      : KindStrategy(r, {.rules = {validation::ValidateNode},
                         .status_rules = {validation::NodeStatus},
                         .field_labels = {"spec.unschedulable"},
                         .printer = printers::Node()}) {}

 protected:
  api::Object InitialStatus(const api::Object& node) const override {
    const auto* status = node.if_contains("status");
    return status && status->is_object() ? status->as_object() : api::Object();
  }
};

class ServiceStrategy final : public KindStrategy {
 public:
  explicit ServiceStrategy(const api::ResourceInfo& r)
      : KindStrategy(r, {.rules = {validation::ValidateService},
                         .printer = printers::Service(),
                         .name_rule = api::NameIsDNS1035Label,
                         .returns_deleted_object = true}) {}

 protected:
  api::Object InitialStatus(const api::Object&) const override {
    return api::Object{{"loadBalancer", json::object()}};
  }
};

class SecretStrategy final : public KindStrategy {
 public:
  explicit SecretStrategy(const api::ResourceInfo& r)
      : KindStrategy(r, {.rules = {validation::ValidateSecret},
                         .field_labels = {"type"},
                         .printer = printers::Secret()}) {}

  void Canonicalize(api::Object* secret) const override { MergeSecretStringData(secret); }
};

// Persistent volumes and claims start Pending, until bound.
class VolumeStrategy final : public KindStrategy {
 public:
  using KindStrategy::KindStrategy;

 protected:
  api::Object InitialStatus(const api::Object&) const override {
    return api::Object{{"phase", "Pending"}};
  }
};

}  // namespace

std::unique_ptr<Strategy> NewPodStrategy(const api::ResourceInfo& r) {
  return std::make_unique<PodStrategy>(r);
}

std::unique_ptr<Strategy> NewNamespaceStrategy(const api::ResourceInfo& r) {
  return std::make_unique<NamespaceStrategy>(r);
}

std::unique_ptr<Strategy> NewNodeStrategy(const api::ResourceInfo& r) {
  return std::make_unique<NodeStrategy>(r);
}

std::unique_ptr<Strategy> NewServiceStrategy(const api::ResourceInfo& r) {
  return std::make_unique<ServiceStrategy>(r);
}

std::unique_ptr<Strategy> NewSecretStrategy(const api::ResourceInfo& r) {
  return std::make_unique<SecretStrategy>(r);
}

std::unique_ptr<Strategy> NewEndpointsStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::ValidateEndpoints}, .printer = printers::Endpoints()});
}

std::unique_ptr<Strategy> NewConfigMapStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::ValidateConfigMap}, .printer = printers::ConfigMap()});
}

std::unique_ptr<Strategy> NewServiceAccountStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.printer = printers::ServiceAccount(), .returns_deleted_object = true});
}

// Event field labels, shared by the core and events.k8s.io strategies (both store the core
// form).
const std::vector<std::string>& EventFieldLabels() {
  static const std::vector<std::string> kLabels = {
      "involvedObject.kind",       "involvedObject.namespace", "involvedObject.name",
      "involvedObject.uid",        "involvedObject.apiVersion",
      "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
      "reportingComponent",        "source",                   "type"};
  return kLabels;
}

std::unique_ptr<Strategy> NewEventStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(r, KindSpec{.rules = {validation::ValidateEvent},
                                                    .field_labels = EventFieldLabels(),
                                                    .printer = printers::CoreEvent()});
}

std::unique_ptr<Strategy> NewReplicationControllerStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::ValidatePodTemplate, validation::Workload},
                  .status_rules = {validation::ReplicaSetStatus},
                  .field_labels = {"status.replicas"},
                  .printer = printers::ReplicationController(),
                  .orphans_dependents = true});
}

std::unique_ptr<Strategy> NewLimitRangeStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(r, KindSpec{.rules = {validation::ValidateLimitRange}});
}

std::unique_ptr<Strategy> NewResourceQuotaStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.rules = {validation::ValidateResourceQuota},
                  .status_rules = {validation::ResourceQuotaStatus},
                  .printer = printers::ResourceQuota()});
}

std::unique_ptr<Strategy> NewPersistentVolumeStrategy(const api::ResourceInfo& r) {
  return std::make_unique<VolumeStrategy>(
      r, KindSpec{.rules = {validation::ValidatePersistentVolume},
                  .printer = printers::PersistentVolume(),
                  .name_rule = [](std::string_view name, bool) {
                    return validation::PathSegmentName(name);
                  },
                  .returns_deleted_object = true});
}

std::unique_ptr<Strategy> NewPersistentVolumeClaimStrategy(const api::ResourceInfo& r) {
  return std::make_unique<VolumeStrategy>(
      r, KindSpec{.rules = {validation::ValidatePersistentVolumeClaim},
                  .printer = printers::PersistentVolumeClaim(),
                  .returns_deleted_object = true});
}

}  // namespace keelson::apiserver::strategies
