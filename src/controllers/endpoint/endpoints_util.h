// What the Endpoints and EndpointSlice controllers share (upstream's k8s.io/endpointslice/util
// and the pod helpers they use): which Services a pod change concerns, whether a pod is an
// endpoint, its addresses and ports for a Service, and the trigger-time tracker behind the
// endpoints.kubernetes.io/last-change-trigger-time annotation.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "client/indexer.h"
#include "common/clock.h"

namespace keelson::controllers {

inline constexpr std::string_view kLastChangeTriggerTimeAnnotation =
    "endpoints.kubernetes.io/last-change-trigger-time";
inline constexpr std::string_view kHeadlessServiceLabel = "service.kubernetes.io/headless";

// spec.selector of a Service: nullopt when it has none (null or absent: the Service's
// endpoints are someone else's), else the map (an empty one selects every pod).
std::optional<boost::json::object> ServiceSelector(const api::Object& service);
// Whether every key of `selector` has its value among `labels` (metadata.labels of a pod).
bool SelectorMatches(const boost::json::object& selector, const api::Object& pod);
// The pods of `service`'s namespace its selector matches, from `pods` (by the namespace
// index). Empty when the Service has no selector.
std::vector<client::ObjectPtr> PodsOfService(const client::Indexer& pods, const api::Object& service);

// The keys ("ns/name") of the Services of namespace `ns` whose selector matches `pod`.
std::set<std::string> ServicesForPod(const client::Indexer& services, const api::Object& pod);
// The Services a pod change concerns (upstream's GetPodUpdateProjectionKey and
// GetServicesToUpdate): for an add or a delete (one of old, cur null) the pod's Services; for
// an update, none when neither what an endpoint shows (deletion, readiness, IPs) nor the
// labels, hostname or subdomain changed; when the labels changed, the Services of the old
// and the new labels (only those that gained or lost the pod, when nothing else changed).
std::set<std::string> ServicesToUpdateOnPodChange(const client::Indexer& services,
                                                  const api::Object* old, const api::Object* cur);

// Whether a pod is an endpoint at all: not terminal, has an IP, and is not terminating unless
// `include_terminating`.
bool ShouldPodBeInEndpoints(const api::Object& pod, bool include_terminating);
// Whether the endpoint carries the pod's hostname: it has one, and its subdomain is the
// Service's name in the same namespace.
bool ShouldSetHostname(const api::Object& pod, const api::Object& service);
// spec.clusterIP is set and not "None".
bool IsServiceIpSet(const api::Object& service);
// status.podIPs (or status.podIP when that list is missing).
std::vector<std::string> PodIps(const api::Object& pod);
bool IsIpv6(std::string_view ip);
// The container port a Service port targets on `pod` (upstream's FindPort): a numeric
// targetPort as it is (the port when there is none), a named one looked up among the
// containers' (and restartable init containers') ports of the same protocol. nullopt when
// the pod has no such port.
std::optional<int64_t> FindPort(const api::Object& pod, const boost::json::object& service_port);

// Upstream's TriggerTimeTracker: per Service, the trigger times (the pods' Ready transition
// times and the Service's creation) seen at its last sync; the time to export is the earliest
// that changed since, or the Service's creation on its first sync. Thread-safe; one sync per
// Service at a time (the work queue's rule).
class TriggerTimeTracker {
 public:
  // The time to export, or nullopt to clear the annotation.
  std::optional<Clock::WallTime> Compute(const api::Object& service,
                                         const std::vector<client::ObjectPtr>& pods);
  void DeleteService(const std::string& key);

 private:
  struct State {
    Clock::WallTime service_time;
    std::map<std::string, Clock::WallTime> pod_times;
  };
  std::mutex mu_;
  std::map<std::string, State> states_;  // guarded by mu_
};

// RFC 3339 with the fraction Go's RFC3339Nano prints (none for whole seconds).
std::string FormatRfc3339Nano(Clock::WallTime t);

}  // namespace keelson::controllers
