#include "cmd/cluster_dns.h"

#include <arpa/inet.h>

#include <boost/json.hpp>

#include "api/errors.h"
#include "api/object.h"
#include "api/resources.h"

namespace keelson::cmd {
namespace {

namespace json = boost::json;

// Create, or replace what is there (keeping its resourceVersion and allocated fields).
Status Upsert(const client::ResourceClient& rc, json::object want) {
  std::string name(api::GetName(want));
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto cur = rc.Get(name);
    if (!cur.ok()) {
      if (!api::IsNotFound(cur.error())) return cur.error().ToStatus();
      auto made = rc.Create(want);
      if (made.ok()) return Status::Ok();
      if (made.error().reason == "AlreadyExists") continue;
      return made.error().ToStatus();
    }
    json::object next = want;
    api::SetResourceVersion(&next, api::GetResourceVersion(*cur));
    auto& meta = api::MutableMetadata(&next);
    if (const auto* m = api::GetMetadata(*cur)) {
      for (const char* keep : {"uid", "creationTimestamp"}) {
        if (m->contains(keep)) meta[keep] = m->at(keep);
      }
    }
    // Fields the API server allocates stay as they are.
    if (want.contains("spec") && cur->contains("spec")) {
      const auto& cs = cur->at("spec").as_object();
      auto& ns = next["spec"].as_object();
      for (const char* keep : {"clusterIPs", "ipFamilies", "ipFamilyPolicy",
                               "internalTrafficPolicy"}) {
        if (cs.contains(keep) && !ns.contains(keep)) ns[keep] = cs.at(keep);
      }
    }
    auto updated = rc.Update(next);
    if (updated.ok()) return Status::Ok();
    if (api::IsConflict(updated.error())) continue;
    return updated.error().ToStatus();
  }
  return UnavailableError("kube-dns: too many conflicting writers");
}

}  // namespace

Status PublishClusterDns(client::RestClient* client, const std::string& service_ip,
                         const std::string& endpoint_ip, int port, const std::string& slice_name) {
  const auto& reg = api::ResourceRegistry::BuiltIn();
  client::ResourceClient services(client, reg.Find("", "v1", "services"), "kube-system");
  client::ResourceClient slices(client, reg.Find("discovery.k8s.io", "v1", "endpointslices"),
                                "kube-system");
  json::object labels{{"k8s-app", "kube-dns"},
                      {"kubernetes.io/cluster-service", "true"},
                      {"kubernetes.io/name", "KubeDNS"}};
  json::object svc{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", json::object{{"name", "kube-dns"}, {"namespace", "kube-system"}, {"labels", labels}}},
      {"spec",
       json::object{{"type", "ClusterIP"},
                    {"clusterIP", service_ip},
                    {"ports", json::array{json::object{{"name", "dns"}, {"port", 53},
                                                       {"protocol", "UDP"}, {"targetPort", port}},
                                          json::object{{"name", "dns-tcp"}, {"port", 53},
                                                       {"protocol", "TCP"}, {"targetPort", port}}}}}}};
  KEELSON_RETURN_IF_ERROR(Upsert(services, svc));
  json::object slice{
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata",
       json::object{{"name", slice_name},
                    {"namespace", "kube-system"},
                    {"labels", json::object{{"kubernetes.io/service-name", "kube-dns"},
                                            {"endpointslice.kubernetes.io/managed-by",
                                             "keelson-server"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", json::array{json::object{{"addresses", json::array{endpoint_ip}},
                                             {"conditions", json::object{{"ready", true}}}}}},
      {"ports", json::array{json::object{{"name", "dns"}, {"port", port}, {"protocol", "UDP"}},
                            json::object{{"name", "dns-tcp"}, {"port", port}, {"protocol", "TCP"}}}}};
  return Upsert(slices, slice);
}

}  // namespace keelson::cmd

namespace keelson::cmd {

std::string ClusterDnsAddress(const std::string& service_cidr) {
  auto slash = service_cidr.find('/');
  in_addr a{};
  if (slash == std::string::npos ||
      inet_pton(AF_INET, service_cidr.substr(0, slash).c_str(), &a) != 1) {
    return "";
  }
  uint32_t ip = ntohl(a.s_addr) + 10;
  a.s_addr = htonl(ip);
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "";
}

}  // namespace keelson::cmd
