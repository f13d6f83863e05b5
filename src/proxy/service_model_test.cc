#include "proxy/service_model.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::proxy {
namespace {

namespace json = boost::json;

api::Object Service(std::string_view spec, std::string_view status = "{}") {
  api::Object s = json::parse(R"({"apiVersion":"v1","kind":"Service",
      "metadata":{"name":"web","namespace":"shop"}})").as_object();
  s["spec"] = json::parse(spec);
  s["status"] = json::parse(status);
  return s;
}

api::Object Slice(std::string_view endpoints, std::string_view ports,
                  std::string_view service = "web", std::string_view type = "IPv4") {
  api::Object s = json::parse(R"({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
      "metadata":{"name":"web-abc","namespace":"shop"}})").as_object();
  s["metadata"].as_object()["labels"] = json::object{{"kubernetes.io/service-name", service}};
  s["addressType"] = type;
  s["endpoints"] = json::parse(endpoints);
  s["ports"] = json::parse(ports);
  return s;
}

TEST(ParseServiceTest, ClusterIpPortsWithDefaults) {
  auto ports = ParseService(Service(R"({"type":"ClusterIP","clusterIP":"10.43.0.20",
      "clusterIPs":["10.43.0.20"],"ports":[{"name":"http","port":80,"targetPort":8080},
      {"name":"dns","port":53,"protocol":"UDP"}]})"));
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].Key(), "shop/web:http");
  EXPECT_EQ(ports[0].protocol, Protocol::kTcp);
  EXPECT_EQ(ports[0].cluster_ip, "10.43.0.20");
  EXPECT_EQ(ports[0].port, 80);
  EXPECT_EQ(ports[0].node_port, 0);
  EXPECT_FALSE(ports[0].HasExternal());
  EXPECT_EQ(ports[1].protocol, Protocol::kUdp);
}

TEST(ParseServiceTest, HeadlessExternalNameAndPortlessAreLeftAlone) {
  EXPECT_TRUE(ParseService(Service(R"({"clusterIP":"None","ports":[{"port":80}]})")).empty());
  EXPECT_TRUE(ParseService(Service(R"({"type":"ExternalName","externalName":"x.example.com",
      "ports":[{"port":80}]})")).empty());
  EXPECT_TRUE(ParseService(Service(R"({"clusterIP":"10.43.0.5","ports":[]})")).empty());
  EXPECT_TRUE(ParseService(Service(R"({"clusterIP":"10.43.0.5"})")).empty());
  // Garbage where a validated Service has values: skipped, never a crash.
  EXPECT_TRUE(ParseService(Service(R"({"clusterIP":"10.43.0.5","ports":[{"port":0},
      {"port":70000},{"port":"80"},{"port":80,"protocol":"ICMP"},7]})")).empty());
  EXPECT_TRUE(ParseService(Service(R"({"clusterIP":"not-an-ip","ports":[{"port":80}]})")).empty());
}

TEST(ParseServiceTest, PortNameClashKeepsTheFirst) {
  auto ports = ParseService(Service(R"({"clusterIP":"10.43.0.5","ports":[
      {"name":"a","port":80},{"name":"a","port":81}]})"));
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].port, 80);
}

TEST(ParseServiceTest, NodePortLocalPolicyAffinityAndExternalAddresses) {
  auto ports = ParseService(Service(
      R"({"type":"LoadBalancer","clusterIP":"10.43.0.9","externalIPs":["192.0.2.7","zz"],
      "externalTrafficPolicy":"Local","healthCheckNodePort":31999,
      "internalTrafficPolicy":"Local","sessionAffinity":"ClientIP",
      "sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}},
      "ports":[{"port":443,"nodePort":30443}]})",
      R"({"loadBalancer":{"ingress":[{"ip":"198.51.100.3"},{"hostname":"lb.example"}]}})"));
  ASSERT_EQ(ports.size(), 1u);
  const auto& p = ports[0];
  EXPECT_EQ(p.node_port, 30443);
  EXPECT_EQ(p.external_ips, std::vector<std::string>{"192.0.2.7"});
  EXPECT_EQ(p.load_balancer_ips, std::vector<std::string>{"198.51.100.3"});
  EXPECT_TRUE(p.external_local);
  EXPECT_TRUE(p.internal_local);
  EXPECT_EQ(p.health_check_node_port, 31999);
  EXPECT_TRUE(p.session_affinity);
  EXPECT_EQ(p.affinity_timeout_seconds, 60);
  EXPECT_TRUE(p.HasExternal());
  // externalTrafficPolicy means nothing to a ClusterIP Service.
  auto cip = ParseService(Service(R"({"clusterIP":"10.43.0.9","externalTrafficPolicy":"Local",
      "ports":[{"port":443,"nodePort":30443}]})"));
  ASSERT_EQ(cip.size(), 1u);
  EXPECT_FALSE(cip[0].external_local);
  EXPECT_EQ(cip[0].node_port, 0);
}

TEST(ParseEndpointSliceTest, ConditionsDefaultAsUpstream) {
  auto info = ParseEndpointSlice(Slice(R"([
      {"addresses":["10.42.0.5"],"nodeName":"n1"},
      {"addresses":["10.42.0.6"],"conditions":{"ready":false}},
      {"addresses":["10.42.0.7"],"conditions":{"ready":false,"serving":true,"terminating":true}},
      {"addresses":[]},{"addresses":["fe80::1"]}])",
                                       R"([{"name":"http","port":8080,"protocol":"TCP"}])"));
  EXPECT_EQ(info.service_name, "web");
  auto& eps = info.endpoints_by_port.at("http/tcp");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_TRUE(eps[0].ready && eps[0].serving && !eps[0].terminating);
  EXPECT_EQ(eps[0].node_name, "n1");
  EXPECT_EQ(eps[0].port, 8080);
  EXPECT_TRUE(!eps[1].ready && !eps[1].serving);
  EXPECT_TRUE(!eps[2].ready && eps[2].serving && eps[2].terminating);
}

TEST(ParseEndpointSliceTest, OtherFamiliesAndUnlabelledSlicesAreIgnored) {
  EXPECT_TRUE(ParseEndpointSlice(Slice(R"([{"addresses":["fe80::1"]}])", R"([{"port":80}])",
                                       "web", "IPv6"))
                  .service_name.empty());
  EXPECT_TRUE(ParseEndpointSlice(Slice(R"([{"addresses":["10.0.0.1"]}])", R"([{"port":80}])", ""))
                  .service_name.empty());
}

Endpoint Ep(std::string ip, bool ready, bool serving, bool terminating, std::string node = "n1") {
  return Endpoint{std::move(ip), 80, ready, serving, terminating, std::move(node)};
}

TEST(CategorizeEndpointsTest, ReadyFirstThenServingTerminating) {
  ServicePort p;
  auto c = CategorizeEndpoints(p, {Ep("10.0.0.2", true, true, false), Ep("10.0.0.1", false, true, true),
                                   Ep("10.0.0.2", true, true, false)},
                               "n1");
  ASSERT_EQ(c.cluster.size(), 1u);  // deduplicated; the terminating one only when none is ready
  EXPECT_EQ(c.cluster[0].ip, "10.0.0.2");
  c = CategorizeEndpoints(p, {Ep("10.0.0.1", false, true, true), Ep("10.0.0.3", false, false, true)},
                          "n1");
  ASSERT_EQ(c.cluster.size(), 1u);
  EXPECT_EQ(c.cluster[0].ip, "10.0.0.1");
  EXPECT_TRUE(c.any_ready_or_serving);
  c = CategorizeEndpoints(p, {Ep("10.0.0.3", false, false, false)}, "n1");
  EXPECT_TRUE(c.cluster.empty());
  EXPECT_FALSE(c.any_ready_or_serving);
}

TEST(CategorizeEndpointsTest, LocalPolicies) {
  ServicePort p;
  p.internal_local = true;
  p.external_local = true;
  auto c = CategorizeEndpoints(
      p, {Ep("10.0.0.1", true, true, false, "n1"), Ep("10.0.0.2", true, true, false, "n2")}, "n2");
  ASSERT_EQ(c.cluster.size(), 1u);
  EXPECT_EQ(c.cluster[0].ip, "10.0.0.2");
  ASSERT_EQ(c.local.size(), 1u);
  c = CategorizeEndpoints(p, {Ep("10.0.0.1", true, true, false, "n1")}, "n3");
  EXPECT_TRUE(c.cluster.empty());
  EXPECT_TRUE(c.local.empty());
  EXPECT_TRUE(c.any_ready_or_serving);
}

}  // namespace
}  // namespace keelson::proxy
