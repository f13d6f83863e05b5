// Nodes, taints and tolerations as the node lifecycle and taint eviction controllers read and
// write them (upstream's controller/util/node, util/taints, the core/v1 toleration helpers and
// component-helpers' node topology). Pure functions over the JSON objects, plus the few writes
// of a node's taints, which go through the API with a read-modify-write on conflict.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "client/rest_client.h"
#include "common/clock.h"
#include "common/status.h"

namespace keelson::controllers {

inline constexpr std::string_view kTaintNodeNotReady = "node.kubernetes.io/not-ready";
inline constexpr std::string_view kTaintNodeUnreachable = "node.kubernetes.io/unreachable";
inline constexpr std::string_view kTaintNodeUnschedulable = "node.kubernetes.io/unschedulable";
inline constexpr std::string_view kTaintNodeOutOfService = "node.kubernetes.io/out-of-service";
inline constexpr std::string_view kTaintEffectNoExecute = "NoExecute";
inline constexpr std::string_view kTaintEffectNoSchedule = "NoSchedule";

// A taint as upstream matches it: by key and effect (value and timeAdded do not count).
struct TaintRef {
  std::string key;
  std::string effect;
};

// The node's status condition of `type`, or null.
const boost::json::object* GetNodeCondition(const api::Object& node, std::string_view type);
// The condition's status ("True", "False", "Unknown"; "" when there is none).
std::string_view ConditionStatus(const boost::json::object* condition);
// The Ready condition is True (upstream's IsNodeReady).
bool IsNodeReady(const api::Object& node);

// spec.taints (the objects that are taints; empty when none).
std::vector<boost::json::object> GetTaints(const api::Object& node);
// Whether `taints` hold one with `ref`'s key and effect.
bool TaintExists(const std::vector<boost::json::object>& taints, const TaintRef& ref);
// The taints whose effect is NoExecute.
std::vector<boost::json::object> NoExecuteTaints(const api::Object& node);

// Whether `toleration` tolerates `taint` (upstream's Toleration.ToleratesTaint: an empty
// effect or key matches any; Exists matches any value, Equal or "" the same value).
bool ToleratesTaint(const boost::json::object& toleration, const boost::json::object& taint);
// Upstream's GetMatchingTolerations: whether every taint is tolerated by one of the
// tolerations, and for each taint the first toleration that does.
struct MatchingTolerations {
  bool all_tolerated = false;
  std::vector<boost::json::object> used;
};
MatchingTolerations GetMatchingTolerations(const std::vector<boost::json::object>& taints,
                                           const boost::json::array& tolerations);
// spec.tolerations of a pod (empty when none).
boost::json::array PodTolerations(const api::Object& pod);
// The shortest tolerationSeconds among `tolerations` (0 when there are none or one is not
// positive); nullopt when none sets tolerationSeconds, i.e. they tolerate forever.
std::optional<std::chrono::seconds> MinTolerationTime(
    const std::vector<boost::json::object>& tolerations);

// The zone key of a node (component-helpers' GetZoneKey): region and zone from the
// topology.kubernetes.io (or the deprecated failure-domain.beta.kubernetes.io) labels, ""
// when the node has neither.
std::string ZoneKey(const api::Object& node);

// Adds `add` (with timeAdded set to now, replacing a taint of the same key and effect) and
// removes `remove` from the node `node_name`, in one update that compares on the
// resourceVersion, read again and retried on a conflict (upstream's SwapNodeControllerTaint).
// `cached` is the node as the caller last saw it (used for the first try and to skip the
// write when nothing would change); null reads the node first. NotFound when the node is
// gone; other API failures as Status.
Status SwapNodeTaints(const client::ResourceClient& nodes, const api::Object* cached,
                     std::string_view node_name, const std::vector<TaintRef>& add,
                     const std::vector<TaintRef>& remove, const Clock& clock);

}  // namespace keelson::controllers
