// The scheduler's typed, compact views of cluster objects: a pod (PodInfo), a node (NodeView)
// and the per-node aggregate the cache keeps (NodeInfo), plus the small value types they are
// made of (resources, taints, tolerations, node selectors, pod affinity terms, topology spread
// constraints).
//
// An object's JSON is read once, when it is added or updated (MakePodInfo, MakeNodeView); the
// scheduling cycle only reads these views, never JSON. Views are immutable once built and are
// shared as std::shared_ptr<const T>, so any number of threads may read them without locking.
// NodeInfo is copied on write by the cache (see cache.h): a NodeInfo reached through a snapshot
// never changes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/labels.h"
#include "api/object.h"
#include "common/status.h"

namespace keelson::scheduler {

using ObjectPtr = std::shared_ptr<const api::Object>;
using Labels = api::Labels;

// The well-known label keys the plugins use.
inline constexpr std::string_view kLabelHostname = "kubernetes.io/hostname";
inline constexpr std::string_view kLabelTopologyZone = "topology.kubernetes.io/zone";
inline constexpr std::string_view kDefaultSchedulerName = "default-scheduler";

// The requests a pod makes or a node offers. CPU in millicores, the others in units (bytes,
// pods, devices). Extended and hugepages resources are `scalars`, sorted by name.
struct Resources {
  int64_t milli_cpu = 0;
  int64_t memory = 0;
  int64_t ephemeral_storage = 0;
  int64_t allowed_pods = 0;
  std::vector<std::pair<std::string, int64_t>> scalars;

  int64_t Scalar(std::string_view name) const;
  void AddScalar(std::string_view name, int64_t value);
  void SetScalarMax(std::string_view name, int64_t value);
  void Add(const Resources& r);
  void Subtract(const Resources& r);
  // Per-field maximum (pods excluded).
  void SetMax(const Resources& r);
  bool IsZero() const;
  bool operator==(const Resources&) const = default;
};

// Upstream's IsScalarResourceName: extended resources (a domain-prefixed name outside
// kubernetes.io), hugepages-*, attachable-volumes-* and prefixed native resources.
bool IsScalarResourceName(std::string_view name);

// Requests of pods that name none, used by scoring only (upstream's non-zero defaults).
inline constexpr int64_t kDefaultMilliCpuRequest = 100;
inline constexpr int64_t kDefaultMemoryRequest = 200 * 1024 * 1024;

enum class TaintEffect : uint8_t { kNone, kNoSchedule, kPreferNoSchedule, kNoExecute };

struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::kNone;
};

struct Toleration {
  std::string key;
  bool op_exists = false;  // operator Exists; otherwise Equal
  std::string value;
  TaintEffect effect = TaintEffect::kNone;  // kNone tolerates every effect

  // Upstream's Toleration.ToleratesTaint.
  bool Tolerates(const Taint& taint) const;
};

bool TolerationsTolerate(const std::vector<Toleration>& tolerations, const Taint& taint);

// One requirement of a node selector term (v1.NodeSelectorRequirement).
struct NodeSelectorRequirement {
  enum class Op : uint8_t { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt, kInvalid };
  std::string key;
  Op op = Op::kInvalid;
  std::vector<std::string> values;
};

struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions;
  std::vector<NodeSelectorRequirement> match_fields;  // only metadata.name is defined
};

struct NodeView;

// v1.NodeSelector: the terms are ORed; a term's requirements are ANDed; a term with no
// requirement matches nothing; a requirement that cannot be evaluated does not match.
struct NodeSelector {
  std::vector<NodeSelectorTerm> terms;
  bool Matches(const NodeView& node) const;
};

bool TermMatches(const NodeSelectorTerm& term, const NodeView& node);

struct PreferredSchedulingTerm {
  int32_t weight = 0;
  NodeSelectorTerm term;
};

struct PodInfo;

// A pod affinity term as the scheduler evaluates it (upstream's framework.AffinityTerm): the
// namespaces named (or the pod's own when neither namespaces nor a namespace selector are
// given), the label selector and the namespace selector.
struct AffinityTerm {
  std::set<std::string, std::less<>> namespaces;
  api::LabelSelector selector;
  // Set when the term has a namespaceSelector; Nothing() is never stored here.
  std::optional<api::LabelSelector> namespace_selector;
  std::string topology_key;

  // True when `pod` is in the term's namespaces (or its namespace's labels `ns_labels` match
  // the namespace selector) and its labels match the selector.
  bool Matches(const PodInfo& pod, const Labels* ns_labels) const;
};

struct WeightedAffinityTerm {
  AffinityTerm term;
  int32_t weight = 0;
};

struct TopologySpreadConstraint {
  int32_t max_skew = 1;
  std::string topology_key;
  bool do_not_schedule = true;  // whenUnsatisfiable: DoNotSchedule (else ScheduleAnyway)
  api::LabelSelector selector;  // with matchLabelKeys merged in
  int32_t min_domains = 1;
  bool node_affinity_policy_honor = true;   // nodeAffinityPolicy (default Honor)
  bool node_taints_policy_honor = false;    // nodeTaintsPolicy (default Ignore)
};

struct HostPort {
  std::string ip;        // "0.0.0.0" when not given
  std::string protocol;  // "TCP" when not given
  int32_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// Whether `a` and `b` would conflict on one node: same protocol and port, and the same IP or
// either the wildcard.
bool HostPortsConflict(const HostPort& a, const HostPort& b);

// The scheduler's view of a pod, built once per pod version.
struct PodInfo {
  ObjectPtr object;  // the pod as received; never changed
  std::string uid;
  std::string namespace_;
  std::string name;
  std::string node_name;       // spec.nodeName
  std::string scheduler_name;  // spec.schedulerName, defaulted
  std::string nominated_node_name;
  std::string priority_class_name;
  Labels labels;
  int32_t priority = 0;
  bool has_priority = false;       // spec.priority was set
  bool preempt_never = false;      // preemptionPolicy Never
  bool terminating = false;        // deletionTimestamp set
  bool terminal = false;           // phase Succeeded or Failed
  int64_t start_time = 0;          // status.startTime, seconds since the epoch; 0 when unset
  int64_t creation_time = 0;

  Resources requests;  // containers, init and sidecar containers, overhead
  int64_t non_zero_milli_cpu = 0;  // requests with upstream's non-zero defaults
  int64_t non_zero_memory = 0;

  std::vector<HostPort> host_ports;
  std::vector<Toleration> tolerations;
  Labels node_selector;
  std::optional<NodeSelector> required_node_affinity;
  std::vector<PreferredSchedulingTerm> preferred_node_affinity;

  std::vector<AffinityTerm> required_affinity;
  std::vector<AffinityTerm> required_anti_affinity;
  std::vector<WeightedAffinityTerm> preferred_affinity;
  std::vector<WeightedAffinityTerm> preferred_anti_affinity;
  std::vector<TopologySpreadConstraint> spread_constraints;

  std::vector<std::string> images;      // normalised (":latest" added), init containers first
  std::vector<std::string> pvc_names;   // claims the pod's volumes name
  std::vector<std::string> scheduling_gates;

  // Why part of the spec could not be read (a bad label selector, ...); the pod then fails
  // its scheduling with this message, as upstream's PodInfo.ParseError does.
  std::string parse_error;

  bool HasAffinity() const {
    return !required_affinity.empty() || !required_anti_affinity.empty() ||
           !preferred_affinity.empty() || !preferred_anti_affinity.empty();
  }
  bool HasRequiredAntiAffinity() const { return !required_anti_affinity.empty(); }
  std::string Key() const { return namespace_ + "/" + name; }
};
using PodInfoPtr = std::shared_ptr<const PodInfo>;

// Builds a PodInfo from a pod object. Never fails: what cannot be read is left out and noted
// in parse_error.
PodInfoPtr MakePodInfo(ObjectPtr pod);
// The same pod with spec.nodeName set (what the cache assumes while the binding is under way).
PodInfoPtr WithNodeName(const PodInfo& pod, std::string_view node_name);
// The same pod with status.nominatedNodeName set or cleared.
PodInfoPtr WithNominatedNodeName(const PodInfo& pod, std::string_view node_name);

struct ImageInfo {
  std::string name;
  int64_t size = 0;
};

// The scheduler's view of a node.
struct NodeView {
  ObjectPtr object;
  std::string name;
  std::string uid;
  Labels labels;
  std::vector<Taint> taints;
  bool unschedulable = false;
  Resources allocatable;  // status.allocatable, or capacity where allocatable is absent
  std::vector<ImageInfo> images;  // one entry per name of each image, sorted by name

  const ImageInfo* Image(std::string_view name) const;
};
using NodeViewPtr = std::shared_ptr<const NodeView>;

NodeViewPtr MakeNodeView(ObjectPtr node);

// The per-node aggregate: the node and the pods on it (bound and assumed) with what they use.
// Owned by the cache; snapshots share it read-only (copy on write, see cache.h).
struct NodeInfo {
  NodeViewPtr node;  // null while only pods of the node are known
  std::vector<PodInfoPtr> pods;
  std::vector<PodInfoPtr> pods_with_affinity;
  std::vector<PodInfoPtr> pods_with_required_anti_affinity;
  Resources requested;
  int64_t non_zero_milli_cpu = 0;
  int64_t non_zero_memory = 0;
  std::vector<HostPort> used_ports;
  std::map<std::string, int, std::less<>> pvc_ref_counts;  // "namespace/claim"
  int64_t generation = 0;

  const std::string& Name() const;
  void AddPod(PodInfoPtr pod);
  // False when no pod with that uid is there.
  bool RemovePod(std::string_view uid);
};
using NodeInfoPtr = std::shared_ptr<const NodeInfo>;

// Hints to the CPU that a node's data will be read soon (the filter and score loops walk
// thousands of NodeInfos scattered on the heap; fetching ahead hides the cache misses).
inline void PrefetchNodeInfo(const NodeInfo* ni) {
  __builtin_prefetch(ni);
  __builtin_prefetch(reinterpret_cast<const char*>(ni) + 64);
  __builtin_prefetch(reinterpret_cast<const char*>(ni) + 128);
}
inline void PrefetchNodeView(const NodeInfo* ni) {
  const NodeView* v = ni->node.get();
  if (!v) return;
  __builtin_prefetch(v);
  __builtin_prefetch(reinterpret_cast<const char*>(v) + 64);
  __builtin_prefetch(reinterpret_cast<const char*>(v) + 128);
  __builtin_prefetch(reinterpret_cast<const char*>(v) + 192);
}

// Parses "2024-05-01T10:00:00Z" (and fractional seconds, offsets); 0 when unparsable.
int64_t ParseTimeSeconds(std::string_view rfc3339);

// A metav1.LabelSelector held as JSON into a selector. A null/absent selector yields Nothing()
// when `nil_is_nothing`, else Everything.
Result<api::LabelSelector> LabelSelectorFromJson(const boost::json::value* selector,
                                                 bool nil_is_nothing);
// A map of strings (matchLabels, nodeSelector, labels).
Labels StringMapFromJson(const boost::json::value* v);

// The priority of a pod (spec.priority, 0 when unset), and upstream's MoreImportantPod:
// higher priority first, then the earlier start time.
inline int32_t PodPriority(const PodInfo& p) { return p.priority; }
bool MoreImportantPod(const PodInfo& a, const PodInfo& b);

}  // namespace keelson::scheduler
