#include "dns/objects.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::dns {
namespace {

api::Object Json(const char* text) { return boost::json::parse(text).as_object(); }

TEST(DnsObjects, ServicesOfEachKind) {
  auto web = ServiceFromObject(Json(R"({"metadata":{"name":"web","namespace":"default"},
      "spec":{"clusterIP":"10.43.0.10","clusterIPs":["10.43.0.10","fd00::10"],
              "ports":[{"name":"http","port":80},{"port":81,"protocol":"UDP"}]}})"));
  ASSERT_TRUE(web);
  EXPECT_EQ(web->kind, ServiceInfo::Kind::kClusterIp);
  EXPECT_EQ(web->cluster_ips, (std::vector<std::string>{"10.43.0.10", "fd00::10"}));
  ASSERT_EQ(web->ports.size(), 2u);
  EXPECT_EQ(web->ports[0].protocol, "TCP");
  EXPECT_EQ(web->ports[1].protocol, "UDP");
  EXPECT_EQ(web->ports[1].name, "");

  auto headless = ServiceFromObject(Json(R"({"metadata":{"name":"db","namespace":"d",
      "annotations":{"service.alpha.kubernetes.io/tolerate-unready-endpoints":"true"}},
      "spec":{"clusterIP":"None"}})"));
  ASSERT_TRUE(headless);
  EXPECT_EQ(headless->kind, ServiceInfo::Kind::kHeadless);
  EXPECT_TRUE(headless->publish_not_ready);

  auto ext = ServiceFromObject(Json(R"({"metadata":{"name":"e","namespace":"d"},
      "spec":{"type":"ExternalName","externalName":"www.example.com"}})"));
  ASSERT_TRUE(ext);
  EXPECT_EQ(ext->kind, ServiceInfo::Kind::kExternalName);
  EXPECT_EQ(ext->external_name, "www.example.com");

  // Not allocated yet, or no spec: nothing to serve.
  EXPECT_FALSE(ServiceFromObject(Json(R"({"metadata":{"name":"x","namespace":"d"},"spec":{}})")));
  EXPECT_FALSE(ServiceFromObject(Json(R"({"metadata":{"name":"x","namespace":"d"}})")));
  EXPECT_FALSE(ServiceFromObject(Json(R"({"metadata":{"name":"x","namespace":"d"},
      "spec":{"clusterIP":7,"ports":"nope"}})")));
}

TEST(DnsObjects, SlicesJoinTheirHeadlessService) {
  api::Object svc = Json(R"({"metadata":{"name":"db","namespace":"d"},
      "spec":{"clusterIP":"None","publishNotReadyAddresses":true}})");
  api::Object slice = Json(R"({"metadata":{"name":"db-abc","namespace":"d",
      "labels":{"kubernetes.io/service-name":"db"}},
      "addressType":"IPv4","ports":[{"name":"pg","port":5432,"protocol":"TCP"}],
      "endpoints":[{"addresses":["10.42.0.5"],"hostname":"db-0","conditions":{"ready":true}},
                   {"addresses":["10.42.0.6"],"conditions":{"ready":false}},
                   {"addresses":["10.42.0.7"]},
                   {"addresses":[]}]})");
  api::Object other_ns = slice;
  other_ns["metadata"].as_object()["namespace"] = "elsewhere";
  api::Object fqdn = Json(R"({"metadata":{"name":"db-f","namespace":"d",
      "labels":{"kubernetes.io/service-name":"db"}},"addressType":"FQDN",
      "endpoints":[{"addresses":["x.example"]}]})");
  auto services = ServicesFromObjects({&svc}, {&slice, &other_ns, &fqdn});
  ASSERT_EQ(services.size(), 1u);
  const auto& eps = services[0].endpoints;
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].hostname, "db-0");
  EXPECT_TRUE(eps[0].ready);
  EXPECT_FALSE(eps[1].ready);
  EXPECT_TRUE(eps[2].ready);  // no condition: ready
  ASSERT_EQ(eps[0].ports.size(), 1u);
  EXPECT_EQ(eps[0].ports[0].port, 5432);
  EXPECT_TRUE(services[0].publish_not_ready);
}

}  // namespace
}  // namespace keelson::dns
