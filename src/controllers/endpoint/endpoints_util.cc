#include "controllers/endpoint/endpoints_util.h"

#include <arpa/inet.h>

#include "client/time_format.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"

namespace keelson::controllers {

namespace json = boost::json;

namespace {

const json::object* ObjectAt(const api::Object& obj, std::string_view a, std::string_view b) {
  const auto* x = obj.if_contains(a);
  if (!x || !x->is_object()) return nullptr;
  const auto* y = x->as_object().if_contains(b);
  return y && y->is_object() ? &y->as_object() : nullptr;
}

const json::array* ArrayAt(const api::Object& obj, std::string_view a, std::string_view b) {
  const auto* x = obj.if_contains(a);
  if (!x || !x->is_object()) return nullptr;
  const auto* y = x->as_object().if_contains(b);
  return y && y->is_array() ? &y->as_array() : nullptr;
}

const json::object* Labels(const api::Object& obj) { return ObjectAt(obj, "metadata", "labels"); }

bool LabelsEqual(const api::Object& a, const api::Object& b) {
  const json::object* la = Labels(a);
  const json::object* lb = Labels(b);
  static const json::object kEmpty;
  return (la ? *la : kEmpty) == (lb ? *lb : kEmpty);
}

bool MatchesLabels(const json::object& selector, const json::object* labels) {
  for (const auto& [k, v] : selector) {
    if (!labels) return false;
    const auto* have = labels->if_contains(k);
    if (!have || *have != v) return false;
  }
  return true;
}

std::set<std::string> ServicesForLabels(const client::Indexer& services, std::string_view ns,
                                        const json::object* labels) {
  std::set<std::string> out;
  auto list = services.ByIndex(client::kNamespaceIndex, ns);
  if (!list.ok()) return out;
  for (const auto& svc : *list) {
    auto selector = ServiceSelector(*svc);
    if (selector && MatchesLabels(*selector, labels)) out.insert(client::ObjectKey(*svc));
  }
  return out;
}

// Upstream's podEndpointsChanged: (whether an endpoint of the pod changes, whether the
// Services it belongs to may change).
std::pair<bool, bool> PodEndpointsChanged(const api::Object& old, const api::Object& cur) {
  bool labels_changed = !LabelsEqual(old, cur) ||
                        api::FieldText(old, "spec.hostname") != api::FieldText(cur, "spec.hostname") ||
                        api::FieldText(old, "spec.subdomain") != api::FieldText(cur, "spec.subdomain");
  if (api::GetDeletionTimestamp(old) != api::GetDeletionTimestamp(cur)) return {true, labels_changed};
  if (IsPodReady(old) != IsPodReady(cur)) return {true, labels_changed};
  if (PodIps(old) != PodIps(cur)) return {true, labels_changed};
  return {false, labels_changed};
}

}  // namespace

std::optional<json::object> ServiceSelector(const api::Object& service) {
  const json::object* selector = ObjectAt(service, "spec", "selector");
  if (!selector) return std::nullopt;
  return *selector;
}

bool SelectorMatches(const json::object& selector, const api::Object& pod) {
  return MatchesLabels(selector, Labels(pod));
}

std::vector<client::ObjectPtr> PodsOfService(const client::Indexer& pods,
                                             const api::Object& service) {
  std::vector<client::ObjectPtr> out;
  auto selector = ServiceSelector(service);
  if (!selector) return out;
  auto list = pods.ByIndex(client::kNamespaceIndex, api::GetNamespace(service));
  if (!list.ok()) return out;
  for (auto& pod : *list) {
    if (MatchesLabels(*selector, Labels(*pod))) out.push_back(std::move(pod));
  }
  return out;
}

std::set<std::string> ServicesForPod(const client::Indexer& services, const api::Object& pod) {
  return ServicesForLabels(services, api::GetNamespace(pod), Labels(pod));
}

std::set<std::string> ServicesToUpdateOnPodChange(const client::Indexer& services,
                                                  const api::Object* old, const api::Object* cur) {
  if (!old && !cur) return {};
  if (!old) return ServicesForPod(services, *cur);
  if (!cur) return ServicesForPod(services, *old);
  // A resync: the Services have their own.
  if (api::GetResourceVersion(*old) == api::GetResourceVersion(*cur)) return {};
  auto [pod_changed, labels_changed] = PodEndpointsChanged(*old, *cur);
  if (!pod_changed && !labels_changed) return {};
  std::set<std::string> now = ServicesForPod(services, *cur);
  if (!labels_changed) return now;
  std::set<std::string> before = ServicesForPod(services, *old);
  std::set<std::string> out;
  if (pod_changed) {
    out = now;
    out.insert(before.begin(), before.end());
    return out;
  }
  // Only the labels changed: the Services that gained or lost the pod.
  for (const auto& s : now) {
    if (!before.count(s)) out.insert(s);
  }
  for (const auto& s : before) {
    if (!now.count(s)) out.insert(s);
  }
  return out;
}

bool ShouldPodBeInEndpoints(const api::Object& pod, bool include_terminating) {
  if (IsPodTerminal(pod)) return false;
  if (PodIps(pod).empty()) return false;
  if (!include_terminating && api::IsBeingDeleted(pod)) return false;
  return true;
}

bool ShouldSetHostname(const api::Object& pod, const api::Object& service) {
  return !api::FieldText(pod, "spec.hostname").empty() &&
         api::FieldText(pod, "spec.subdomain") == api::GetName(service) &&
         api::GetNamespace(service) == api::GetNamespace(pod);
}

bool IsServiceIpSet(const api::Object& service) {
  std::string ip = api::FieldText(service, "spec.clusterIP");
  return !ip.empty() && ip != "None";
}

std::vector<std::string> PodIps(const api::Object& pod) {
  std::vector<std::string> out;
  if (const json::array* ips = ArrayAt(pod, "status", "podIPs")) {
    for (const auto& ip : *ips) {
      if (!ip.is_object()) continue;
      std::string_view s = StringAt(ip.as_object(), {"ip"});
      if (!s.empty()) out.emplace_back(s);
    }
  }
  if (out.empty()) {
    std::string ip = api::FieldText(pod, "status.podIP");
    if (!ip.empty()) out.push_back(std::move(ip));
  }
  return out;
}

bool IsIpv6(std::string_view ip) { return ip.find(':') != std::string_view::npos; }

std::optional<int64_t> FindPort(const api::Object& pod, const json::object& service_port) {
  std::string_view protocol = StringAt(service_port, {"protocol"});
  if (protocol.empty()) protocol = "TCP";
  const auto* target = service_port.if_contains("targetPort");
  if (!target || target->is_null()) target = service_port.if_contains("port");
  if (!target) return std::nullopt;
  if (target->is_int64()) return target->as_int64();
  if (target->is_uint64()) return static_cast<int64_t>(target->as_uint64());
  if (!target->is_string()) return std::nullopt;
  std::string_view name = target->as_string();
  auto search = [&](const json::array* containers, bool sidecars_only) -> std::optional<int64_t> {
    if (!containers) return std::nullopt;
    for (const auto& c : *containers) {
      if (!c.is_object()) continue;
      if (sidecars_only && StringAt(c.as_object(), {"restartPolicy"}) != "Always") continue;
      const auto* ports = c.as_object().if_contains("ports");
      if (!ports || !ports->is_array()) continue;
      for (const auto& p : ports->as_array()) {
        if (!p.is_object()) continue;
        std::string_view proto = StringAt(p.as_object(), {"protocol"});
        if (proto.empty()) proto = "TCP";
        if (StringAt(p.as_object(), {"name"}) != name || proto != protocol) continue;
        const auto* port = p.as_object().if_contains("containerPort");
        if (port && port->is_int64()) return port->as_int64();
      }
    }
    return std::nullopt;
  };
  if (auto p = search(ArrayAt(pod, "spec", "containers"), false)) return p;
  return search(ArrayAt(pod, "spec", "initContainers"), true);
}

std::optional<Clock::WallTime> TriggerTimeTracker::Compute(
    const api::Object& service, const std::vector<client::ObjectPtr>& pods) {
  const std::string key = client::ObjectKey(service);
  const auto created = client::ParseTime(api::GetCreationTimestamp(service));
  std::optional<State> before;
  {
    std::lock_guard lock(mu_);
    if (auto it = states_.find(key); it != states_.end()) before = it->second;
  }
  State state;
  std::optional<Clock::WallTime> min_changed;
  auto changed = [&](Clock::WallTime t) {
    if (!min_changed || t < *min_changed) min_changed = t;
  };
  for (const auto& pod : pods) {
    const api::Object* ready = GetPodCondition(*pod, "Ready");
    if (!ready) continue;
    auto t = client::ParseTime(api::FieldText(*ready, "lastTransitionTime"));
    if (!t) continue;
    std::string name(api::GetName(*pod));
    state.pod_times[name] = *t;
    Clock::WallTime last{};
    if (before) {
      if (auto it = before->pod_times.find(name); it != before->pod_times.end()) last = it->second;
    }
    if (*t > last) changed(*t);
  }
  state.service_time = created.value_or(Clock::WallTime{});
  if (before && state.service_time > before->service_time) changed(state.service_time);
  {
    std::lock_guard lock(mu_);
    states_[key] = std::move(state);
  }
  if (!before) return created;  // a Service seen for the first time: its creation
  return min_changed;
}

void TriggerTimeTracker::DeleteService(const std::string& key) {
  std::lock_guard lock(mu_);
  states_.erase(key);
}

std::string FormatRfc3339Nano(Clock::WallTime t) {
  std::string whole = api::FormatTime(t);  // "...:05Z"
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count() %
               1000000000;
  if (nanos < 0) nanos += 1000000000;
  if (nanos == 0) return whole;
  std::string frac = std::to_string(nanos);
  frac.insert(0, 9 - frac.size(), '0');
  while (frac.back() == '0') frac.pop_back();
  whole.insert(whole.size() - 1, "." + frac);
  return whole;
}

}  // namespace keelson::controllers
