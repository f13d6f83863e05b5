#include "controllers/endpoint/endpoints_controller.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "common/log.h"
#include "controllers/base/pod_util.h"
#include "controllers/base/workload_util.h"
#include "controllers/endpoint/endpoints_util.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;

constexpr const char* kName = "endpoints-controller";
constexpr int kMaxRetries = 15;
// Upstream's maxCapacity: Endpoints keep at most this many addresses.
constexpr size_t kMaxCapacity = 1000;
constexpr std::string_view kOverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity";
constexpr std::string_view kLeaderAnnotation = "control-plane.alpha.kubernetes.io/leader";

// One address of a pod for one port (or none): what the pod contributes before packing.
struct Entry {
  json::object address;
  std::optional<json::object> port;
  bool ready;
};

// The key that tells addresses apart: IP and the pod's uid.
std::string AddressKey(const json::object& address) {
  std::string key(StringAt(address, {"ip"}));
  if (const auto* ref = address.if_contains("targetRef"); ref && ref->is_object()) {
    key += "|";
    key += StringAt(ref->as_object(), {"uid"});
  }
  return key;
}

// Upstream's RepackSubsets: the addresses grouped by the set of ports they offer, one subset
// per group, each address ready in a group when it is ready for any of its ports there.
// Ordered deterministically: addresses by IP and uid, ports by name, number and protocol,
// subsets by their first address.
json::array RepackSubsets(const std::vector<Entry>& entries) {
  std::map<std::string, json::object> addresses;                     // key -> address
  std::map<std::string, std::map<std::string, bool>> by_port;         // port -> key -> ready
  std::map<std::string, std::optional<json::object>> ports;           // port key -> port
  for (const auto& e : entries) {
    std::string key = AddressKey(e.address);
    addresses.emplace(key, e.address);
    std::string port_key = e.port ? json::serialize(*e.port) : std::string();  // "": no port
    ports.emplace(port_key, e.port);
    auto [it, inserted] = by_port[port_key].emplace(key, e.ready);
    if (!inserted && !it->second) it->second = e.ready;
  }
  // The ports each set of (address, ready) offers.
  std::map<std::string, std::pair<std::map<std::string, bool>, std::vector<json::object>>> groups;
  for (const auto& [port_key, addrs] : by_port) {
    std::string signature;
    for (const auto& [k, ready] : addrs) signature += k + (ready ? "+" : "-") + "\n";
    auto& g = groups[signature];
    g.first = addrs;
    if (const auto& p = ports[port_key]) g.second.push_back(*p);
  }
  std::vector<json::object> subsets;
  for (auto& [signature, g] : groups) {
    json::array ready, not_ready;
    for (const auto& [k, r] : g.first) (r ? ready : not_ready).push_back(addresses[k]);
    json::object subset;
    if (!ready.empty()) subset["addresses"] = std::move(ready);
    if (!not_ready.empty()) subset["notReadyAddresses"] = std::move(not_ready);
    std::sort(g.second.begin(), g.second.end(), [](const json::object& a, const json::object& b) {
      auto ka = std::make_tuple(StringAt(a, {"name"}), a.at("port").to_number<int64_t>(), StringAt(a, {"protocol"}));
      auto kb = std::make_tuple(StringAt(b, {"name"}), b.at("port").to_number<int64_t>(), StringAt(b, {"protocol"}));
      return ka < kb;
    });
    if (!g.second.empty()) {
      json::array ports_out;
      for (auto& p : g.second) ports_out.push_back(std::move(p));
      subset["ports"] = std::move(ports_out);
    }
    subsets.push_back(std::move(subset));
  }
  auto first_key = [](const json::object& s) {
    for (const char* list : {"addresses", "notReadyAddresses"}) {
      if (const auto* a = s.if_contains(list); a && !a->as_array().empty()) {
        return AddressKey(a->as_array().front().as_object());
      }
    }
    return std::string();
  };
  std::sort(subsets.begin(), subsets.end(), [&](const json::object& a, const json::object& b) {
    auto ka = first_key(a), kb = first_key(b);
    if (ka != kb) return ka < kb;
    return json::serialize(a) < json::serialize(b);
  });
  json::array out;
  for (auto& s : subsets) out.push_back(std::move(s));
  return out;
}

size_t CountAddresses(const json::array& subsets, const char* list) {
  size_t n = 0;
  for (const auto& s : subsets) {
    if (const auto* a = s.as_object().if_contains(list)) n += a->as_array().size();
  }
  return n;
}

// Upstream's truncateEndpoints: past kMaxCapacity addresses, ready ones are kept first, each
// subset cut in proportion to its share. Returns whether anything was cut.
bool TruncateSubsets(json::array* subsets) {
  const size_t ready = CountAddresses(*subsets, "addresses");
  const size_t not_ready = CountAddresses(*subsets, "notReadyAddresses");
  if (ready + not_ready <= kMaxCapacity) return false;
  const bool truncate_ready = ready > kMaxCapacity;
  const size_t max = truncate_ready ? kMaxCapacity : kMaxCapacity - ready;
  const size_t total = truncate_ready ? ready : not_ready;
  size_t can_add = max;
  for (auto& v : *subsets) {
    auto& s = v.as_object();
    const char* list = truncate_ready ? "addresses" : "notReadyAddresses";
    size_t in_subset = s.contains(list) ? s.at(list).as_array().size() : 0;
    size_t to_add = static_cast<size_t>(
        std::ceil(static_cast<double>(in_subset) / static_cast<double>(total) * max));
    to_add = std::min(to_add, can_add);
    if (s.contains(list)) {
      auto& a = s.at(list).as_array();
      if (a.size() > to_add) a.resize(to_add);
      can_add -= a.size();
      if (a.empty()) s.erase(list);
    }
    if (truncate_ready) s.erase("notReadyAddresses");
  }
  return true;
}

class EndpointsController final : public Controller {
 public:
  EndpointsController(ControllerContext& ctx, client::SharedInformer* services,
                      client::SharedInformer* pods, client::SharedInformer* endpoints,
                      client::ResourceClient client)
      : services_(&services->indexer()),
        pods_(&pods->indexer()),
        endpoints_(&endpoints->indexer()),
        client_(std::move(client)),
        recorder_(ctx.Recorder("endpoint-controller")),
        workers_(ctx.options().concurrent_endpoint_syncs),
        batch_(ctx.options().endpoint_updates_batch_period),
        queue_({.name = kName, .clock = ctx.clock(), .max_retries = kMaxRetries},
               [this](const std::string& key) { return SyncService(key); }) {
    services->AddEventHandler(queue_.EnqueueOnEveryChange());
    pods->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& p, bool) { PodChanged(nullptr, p.get()); },
        .on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& p) {
          PodChanged(old.get(), p.get());
        },
        .on_delete = [this](const client::ObjectPtr& p, bool) { PodChanged(p.get(), nullptr); },
    });
    endpoints->AddEventHandler({
        .on_delete = [this](const client::ObjectPtr& e, bool) { queue_.Enqueue(*e); },
    });
  }

  void Start() override {
    // Endpoints left behind by Services deleted while no controller ran.
    for (const auto& e : endpoints_->List()) {
      if (api::GetAnnotations(*e).count(kLeaderAnnotation)) continue;
      queue_.Enqueue(*e);
    }
    queue_.Start(workers_);
  }
  void Stop() override { queue_.Stop(); }

 private:
  void PodChanged(const api::Object* old, const api::Object* cur) {
    for (const auto& key : ServicesToUpdateOnPodChange(*services_, old, cur)) {
      if (batch_.count() > 0) {
        queue_.EnqueueAfter(key, batch_);
      } else {
        queue_.Enqueue(key);
      }
    }
  }

  // The address of `pod` for `service`: of the Service's first IP family.
  static std::optional<json::object> AddressFor(const api::Object& service, const api::Object& pod) {
    bool v6 = false;
    const auto* spec = service.at("spec").if_object();
    const auto* families = spec ? spec->if_contains("ipFamilies") : nullptr;
    if (families && families->is_array() && !families->as_array().empty() &&
        families->as_array().front().is_string()) {
      v6 = families->as_array().front().as_string() == "IPv6";
    } else if (IsServiceIpSet(service)) {
      v6 = IsIpv6(api::FieldText(service, "spec.clusterIP"));
    } else {
      v6 = IsIpv6(api::FieldText(pod, "status.podIP"));
    }
    for (const auto& ip : PodIps(pod)) {
      if (IsIpv6(ip) != v6) continue;
      json::object address{{"ip", ip}};
      if (ShouldSetHostname(pod, service)) address["hostname"] = api::FieldText(pod, "spec.hostname");
      address["nodeName"] = api::FieldText(pod, "spec.nodeName");
      address["targetRef"] = json::object{{"kind", "Pod"},
                                          {"namespace", api::GetNamespace(pod)},
                                          {"name", api::GetName(pod)},
                                          {"uid", api::GetUid(pod)}};
      return address;
    }
    return std::nullopt;
  }

  Status SyncService(const std::string& key) {
    auto slash = key.find('/');
    const std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
    client::ObjectPtr service = services_->Get(ns, name);
    client::ResourceClient endpoints = client_.Namespace(ns);
    if (!service) {
      // The Service is gone: so are its Endpoints.
      auto r = endpoints.Delete(name);
      if (!r.ok() && !api::IsNotFound(r.error())) return r.error().ToStatus();
      tracker_.DeleteService(key);
      std::lock_guard lock(mu_);
      stale_.erase(key);
      return Status::Ok();
    }
    if (api::FieldText(*service, "spec.type") == "ExternalName") return Status::Ok();
    if (!ServiceSelector(*service)) return Status::Ok();

    const bool publish_not_ready =
        api::FieldText(*service, "spec.publishNotReadyAddresses") == "true";
    std::vector<client::ObjectPtr> pods = PodsOfService(*pods_, *service);
    std::optional<Clock::WallTime> trigger = tracker_.Compute(*service, pods);

    const json::array* service_ports = nullptr;
    if (const auto* p = service->at("spec").as_object().if_contains("ports"); p && p->is_array()) {
      service_ports = &p->as_array();
    }
    const bool headless = api::FieldText(*service, "spec.clusterIP") == "None";
    std::vector<Entry> entries;
    for (const auto& pod : pods) {
      if (!ShouldPodBeInEndpoints(*pod, publish_not_ready)) continue;
      auto address = AddressFor(*service, *pod);
      if (!address) continue;
      const bool ready = publish_not_ready || IsPodReady(*pod);
      if (!service_ports || service_ports->empty()) {
        // A headless Service may have no ports.
        if (headless) entries.push_back({*address, std::nullopt, ready});
        continue;
      }
      for (const auto& sp : *service_ports) {
        if (!sp.is_object()) continue;
        auto number = FindPort(*pod, sp.as_object());
        if (!number) continue;
        json::object port;
        if (std::string_view n = StringAt(sp.as_object(), {"name"}); !n.empty()) port["name"] = n;
        port["port"] = *number;
        std::string_view protocol = StringAt(sp.as_object(), {"protocol"});
        port["protocol"] = protocol.empty() ? "TCP" : protocol;
        if (std::string_view app = StringAt(sp.as_object(), {"appProtocol"}); !app.empty()) {
          port["appProtocol"] = app;
        }
        entries.push_back({*address, std::move(port), ready});
      }
    }
    json::array subsets = RepackSubsets(entries);

    client::ObjectPtr current = endpoints_->Get(ns, name);
    if (current) {
      std::lock_guard lock(mu_);
      auto it = stale_.find(key);
      if (it != stale_.end() && it->second == api::GetResourceVersion(*current)) {
        // Retried quietly, as a conflict: the cache catches up in a moment.
        return Status(StatusCode::kConflict,
                      "the Endpoints cache is out of date: resource version " + it->second +
                          " was already replaced for " + key);
      }
    }
    json::object labels;
    if (const auto* l = service->at("metadata").as_object().if_contains("labels");
        l && l->is_object()) {
      labels = l->as_object();
    }
    if (current) {
      json::object current_labels;
      if (const auto* l = current->at("metadata").as_object().if_contains("labels");
          l && l->is_object()) {
        current_labels = l->as_object();
      }
      current_labels.erase(kHeadlessServiceLabel);
      const auto* cs = current->if_contains("subsets");
      const json::array current_subsets = cs && cs->is_array() ? cs->as_array() : json::array();
      const bool over = CountAddresses(current_subsets, "addresses") +
                            CountAddresses(current_subsets, "notReadyAddresses") >
                        kMaxCapacity;
      const bool capacity_ok = !over && !api::GetAnnotations(*current).count(kOverCapacityAnnotation);
      if (current_subsets == subsets && current_labels == labels && capacity_ok) {
        return Status::Ok();  // nothing to write
      }
    }

    api::Object next = current ? *current
                               : api::Object{{"apiVersion", "v1"},
                                             {"kind", "Endpoints"},
                                             {"metadata", json::object{{"name", name},
                                                                       {"namespace", ns}}}};
    auto& meta = api::MutableMetadata(&next);
    auto& annotations = meta["annotations"];
    if (!annotations.is_object()) annotations = json::object();
    if (trigger) {
      annotations.as_object()[kLastChangeTriggerTimeAnnotation] = FormatRfc3339Nano(*trigger);
    } else {
      annotations.as_object().erase(kLastChangeTriggerTimeAnnotation);
    }
    if (TruncateSubsets(&subsets)) {
      annotations.as_object()[kOverCapacityAnnotation] = "truncated";
    } else {
      annotations.as_object().erase(kOverCapacityAnnotation);
    }
    if (annotations.as_object().empty()) meta.erase("annotations");
    if (!IsServiceIpSet(*service)) {
      labels[kHeadlessServiceLabel] = "";
    } else {
      labels.erase(kHeadlessServiceLabel);
    }
    if (labels.empty()) {
      meta.erase("labels");
    } else {
      meta["labels"] = labels;
    }
    if (subsets.empty()) {
      next.erase("subsets");
    } else {
      next["subsets"] = std::move(subsets);
    }

    auto written = current ? endpoints.Update(next) : endpoints.Create(next);
    if (!written.ok()) {
      // A namespace being deleted refuses new objects: nothing to do for it.
      if (!current && api::IsForbidden(written.error())) return Status::Ok();
      if (!api::IsConflict(written.error())) {
        recorder_->Event(next, client::kEventTypeWarning,
                         current ? "FailedToUpdateEndpoint" : "FailedToCreateEndpoint",
                         current ? "Update" : "Create",
                         (current ? "Failed to update endpoint " : "Failed to create endpoint for service ") +
                             key + ": " + written.error().message);
      }
      return written.error().ToStatus();
    }
    if (current && api::GetResourceVersion(*written) != api::GetResourceVersion(*current)) {
      // Until the cache has the new version, the old one is known stale.
      std::lock_guard lock(mu_);
      stale_[key] = std::string(api::GetResourceVersion(*current));
    }
    return Status::Ok();
  }

  const client::Indexer* services_;
  const client::Indexer* pods_;
  const client::Indexer* endpoints_;
  client::ResourceClient client_;
  client::EventRecorder* recorder_;
  const int workers_;
  const std::chrono::nanoseconds batch_;
  TriggerTimeTracker tracker_;
  std::mutex mu_;
  std::map<std::string, std::string> stale_;  // guarded by mu_: key -> replaced resourceVersion
  QueueWorker queue_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewEndpointsController(ControllerContext& ctx) {
  client::SharedInformer* services = ctx.Informer("", "services");
  client::SharedInformer* pods = ctx.Informer("", "pods");
  client::SharedInformer* endpoints = ctx.Informer("", "endpoints");
  auto client = ctx.client()->Resource("", "endpoints");
  if (!services || !pods || !endpoints || !client.ok()) {
    return InternalError("services, pods or endpoints unknown");
  }
  return std::unique_ptr<Controller>(
      new EndpointsController(ctx, services, pods, endpoints, std::move(*client)));
}

}  // namespace keelson::controllers
