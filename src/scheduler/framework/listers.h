// Listers: the scheduler's read-only views of the objects plugins look up besides pods and
// nodes — claims and volumes (VolumeBinding), disruption budgets (DefaultPreemption),
// namespaces (namespace selectors of pod affinity terms), priority classes, and the workloads
// and services that select a pod (the default topology spread constraints).
//
// Fed by Scheduler's event handlers; typed once on arrival. Thread-safety: every method may be
// called from any thread (a reader/writer lock inside); returned views are immutable.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/framework/types.h"

namespace keelson::scheduler {

struct PvcView {
  std::string namespace_, name, uid;
  std::string volume_name;     // spec.volumeName
  std::string phase;           // status.phase
  std::string storage_class;   // spec.storageClassName
  bool deleting = false;
};

struct PvView {
  std::string name;
  std::optional<NodeSelector> node_affinity;  // spec.nodeAffinity.required
  std::string claim_namespace, claim_name;    // spec.claimRef
};

struct StorageClassView {
  std::string name;
  bool wait_for_first_consumer = false;  // volumeBindingMode WaitForFirstConsumer
};

struct PdbView {
  std::string namespace_, name;
  api::LabelSelector selector;  // Nothing() when the PDB has none (matches no pod)
  int32_t disruptions_allowed = 0;
  std::vector<std::string> disrupted_pods;  // status.disruptedPods names
};

struct PriorityClassView {
  std::string name;
  int32_t value = 0;
  bool global_default = false;
  bool preempt_never = false;
};

// A Service, ReplicationController, ReplicaSet or StatefulSet: its namespace and selector.
struct WorkloadSelectorView {
  std::string namespace_;
  Labels match_labels;  // a Service's or RC's selector map; a RS/SS's matchLabels
  std::optional<api::LabelSelector> selector;  // RS/SS: the full selector
};

enum class WorkloadKind : uint8_t { kService, kReplicationController, kReplicaSet, kStatefulSet };

class Listers {
 public:
  // Updates from events; `obj` null means deleted.
  void SetPvc(std::string_view ns, std::string_view name, const api::Object* obj);
  void SetPv(std::string_view name, const api::Object* obj);
  void SetStorageClass(std::string_view name, const api::Object* obj);
  void SetPdb(std::string_view ns, std::string_view name, const api::Object* obj);
  void SetNamespace(std::string_view name, const api::Object* obj);
  void SetPriorityClass(std::string_view name, const api::Object* obj);
  void SetWorkload(WorkloadKind kind, std::string_view ns, std::string_view name,
                   const api::Object* obj);

  std::shared_ptr<const PvcView> Pvc(std::string_view ns, std::string_view name) const;
  std::shared_ptr<const PvView> Pv(std::string_view name) const;
  std::shared_ptr<const StorageClassView> StorageClass(std::string_view name) const;
  std::vector<std::shared_ptr<const PdbView>> Pdbs() const;
  // Null when the namespace is not known.
  std::shared_ptr<const Labels> NamespaceLabels(std::string_view name) const;
  // Names of the namespaces whose labels match `selector`.
  std::vector<std::string> NamespacesMatching(const api::LabelSelector& selector) const;
  std::shared_ptr<const PriorityClassView> PriorityClass(std::string_view name) const;
  std::shared_ptr<const PriorityClassView> GlobalDefaultPriorityClass() const;
  // Upstream's helper.DefaultSelector: the union of the selectors of the Services, RCs,
  // ReplicaSets and StatefulSets in the pod's namespace that select it. Empty when none.
  api::LabelSelector DefaultSelector(const PodInfo& pod) const;
  bool HasWorkloads() const;

 private:
  using Key = std::string;  // "ns/name" or "name"
  mutable std::shared_mutex mu_;
  std::map<Key, std::shared_ptr<const PvcView>, std::less<>> pvcs_;
  std::map<Key, std::shared_ptr<const PvView>, std::less<>> pvs_;
  std::map<Key, std::shared_ptr<const StorageClassView>, std::less<>> storage_classes_;
  std::map<Key, std::shared_ptr<const PdbView>, std::less<>> pdbs_;
  std::map<Key, std::shared_ptr<const Labels>, std::less<>> namespaces_;
  std::map<Key, std::shared_ptr<const PriorityClassView>, std::less<>> priority_classes_;
  std::map<Key, std::shared_ptr<const WorkloadSelectorView>, std::less<>> workloads_[4];
};

}  // namespace keelson::scheduler
