// The Endpoints controller in a controller manager against an in-process API server.
#include "controllers/endpoint/endpoints_controller.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "controllers/endpoint/endpoints_test_fixture.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::Eventually;

// What the Endpoints say of one pod: ready or not, the ports it is listed with, the address.
struct Listed {
  bool ready = false;
  std::set<std::string> ports;  // "name:port/protocol"
  json::object address;
};

std::map<std::string, Listed> ByPod(const api::Object& ep) {
  std::map<std::string, Listed> out;
  const auto* subsets = ep.if_contains("subsets");
  if (!subsets) return out;
  for (const auto& s : subsets->as_array()) {
    std::set<std::string> ports;
    if (const auto* ps = s.as_object().if_contains("ports")) {
      for (const auto& p : ps->as_array()) {
        const auto& o = p.as_object();
        std::string name = o.contains("name") ? std::string(o.at("name").as_string()) : "";
        ports.insert(name + ":" + std::to_string(o.at("port").to_number<int64_t>()) + "/" +
                     std::string(o.at("protocol").as_string()));
      }
    }
    for (const char* list : {"addresses", "notReadyAddresses"}) {
      const auto* a = s.as_object().if_contains(list);
      if (!a) continue;
      for (const auto& addr : a->as_array()) {
        std::string pod(addr.as_object().at("targetRef").as_object().at("name").as_string());
        auto& l = out[pod];
        l.ready = std::string_view(list) == "addresses";
        l.ports.insert(ports.begin(), ports.end());
        l.address = addr.as_object();
      }
    }
  }
  return out;
}

json::array Ports(std::initializer_list<std::pair<const char*, int>> ports) {
  json::array out;
  for (auto [name, port] : ports) out.push_back(json::object{{"name", name}, {"containerPort", port}});
  return out;
}

class EndpointsControllerTest : public EndpointsFixture {
 protected:
  void SetUp() override { CreateNode("n1", "z1"); }
  std::map<std::string, Listed> ListedPods(const std::string& svc) {
    auto ep = Endpoints(svc);
    return ep ? ByPod(*ep) : std::map<std::string, Listed>();
  }
};

TEST_F(EndpointsControllerTest, NamedAndNumericTargetPortsPerPod) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w2", .ip = "10.1.0.2", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w3", .ip = "10.1.0.3", .ports = Ports({{"http", 8081}})});
  CreatePod({.name = "db", .app = "db", .ip = "10.1.0.9", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "no-ip", .ports = Ports({{"http", 8080}})});
  CreateService("web", "web",
                R"("ports":[{"name":"http","port":80,"targetPort":"http"},
                            {"name":"metrics","port":9000,"targetPort":9100}])");
  StartManager({"endpoints-controller"});
  ASSERT_TRUE(Eventually([&] { return ListedPods("web").size() == 3; })) << json::serialize(*Endpoints("web"));
  auto ep = *Endpoints("web");
  auto l = ByPod(ep);
  EXPECT_EQ(l["w1"].ports, (std::set<std::string>{"http:8080/TCP", "metrics:9100/TCP"}));
  EXPECT_EQ(l["w2"].ports, (std::set<std::string>{"http:8080/TCP", "metrics:9100/TCP"}));
  EXPECT_EQ(l["w3"].ports, (std::set<std::string>{"http:8081/TCP", "metrics:9100/TCP"}));
  EXPECT_TRUE(l["w1"].ready && l["w2"].ready && l["w3"].ready);
  // Packed: the addresses sharing a port set share a subset.
  EXPECT_EQ(ep.at("subsets").as_array().size(), 3u);
  const auto& a = l["w1"].address;
  EXPECT_EQ(a.at("ip"), "10.1.0.1");
  EXPECT_EQ(a.at("nodeName"), "n1");
  EXPECT_EQ(a.at("targetRef").as_object().at("kind"), "Pod");
  EXPECT_EQ(a.at("targetRef").as_object().at("namespace"), "default");
  EXPECT_EQ(api::FieldText(a, "targetRef.uid"),
            api::GetUid(*api_.Get("", "pods", "default", "w1")));
  EXPECT_FALSE(a.contains("hostname"));
  EXPECT_EQ(api::GetLabels(ep).at("team"), "t1");
  EXPECT_FALSE(api::GetLabels(ep).count("service.kubernetes.io/headless"));
  EXPECT_TRUE(api::GetAnnotations(ep).count("endpoints.kubernetes.io/last-change-trigger-time"));
}

TEST_F(EndpointsControllerTest, ReadinessMovesAddressesAndTerminatingPodsLeave) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w2", .ip = "10.1.0.2", .ports = Ports({{"http", 8080}}), .hold = true});
  CreateService("web", "web");
  StartManager({"endpoints-controller"});
  ASSERT_TRUE(Eventually([&] { return ListedPods("web").size() == 2; }));
  SetReady("w1", false);
  EXPECT_TRUE(Eventually([&] {
    auto l = ListedPods("web");
    return l.size() == 2 && !l["w1"].ready && l["w2"].ready;
  }));
  SetReady("w1", true);
  EXPECT_TRUE(Eventually([&] { return ListedPods("web")["w1"].ready; }));
  ASSERT_TRUE(api_.Resource("", "pods", "default").Delete("w2").ok());
  EXPECT_TRUE(Eventually([&] {
    auto l = ListedPods("web");
    return l.size() == 1 && l.count("w1");
  }));
  Release("w2");
}

TEST_F(EndpointsControllerTest, PublishNotReadyAddressesListsEveryPodAsReady) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ready = false, .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w2", .ip = "10.1.0.2", .ports = Ports({{"http", 8080}}), .hold = true});
  CreateService("web", "web",
                R"("publishNotReadyAddresses":true,
                   "ports":[{"name":"http","port":80,"targetPort":"http"}])");
  StartManager({"endpoints-controller"});
  ASSERT_TRUE(api_.Resource("", "pods", "default").Delete("w2").ok());
  EXPECT_TRUE(Eventually([&] {
    auto l = ListedPods("web");
    return l.size() == 2 && l["w1"].ready && l["w2"].ready;  // even terminating
  }));
  Release("w2");
}

TEST_F(EndpointsControllerTest, HeadlessServiceWithHostnames) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .hostname = "h1", .subdomain = "web"});
  CreatePod({.name = "w2", .ip = "10.1.0.2", .hostname = "h2", .subdomain = "other"});
  CreateService("web", "web", R"("clusterIP":"None")");
  StartManager({"endpoints-controller"});
  ASSERT_TRUE(Eventually([&] { return ListedPods("web").size() == 2; }));
  auto ep = *Endpoints("web");
  auto l = ByPod(ep);
  EXPECT_EQ(l["w1"].address.at("hostname"), "h1");
  EXPECT_FALSE(l["w2"].address.contains("hostname"));  // another subdomain
  EXPECT_TRUE(l["w1"].ports.empty());
  EXPECT_EQ(api::GetLabels(ep).at("service.kubernetes.io/headless"), "");
}

TEST_F(EndpointsControllerTest, ServicesWithoutSelectorAreLeftAlone) {
  api_.Create("", "endpoints", "default",
              R"({"metadata":{"name":"manual"},
                  "subsets":[{"addresses":[{"ip":"192.168.9.9"}],"ports":[{"port":5432}]}]})");
  CreateService("manual", "", R"("ports":[{"port":5432}])");
  CreatePod({.name = "w1", .ip = "10.1.0.1"});
  // The `kubernetes` Service's Endpoints, as a serving API server writes them.
  ASSERT_TRUE(api_.server()->PublishEndpoint("127.0.0.1", 6443).ok());
  auto before = Endpoints("manual");
  auto kubernetes = Endpoints("kubernetes");
  ASSERT_TRUE(before && kubernetes);
  StartManager({"endpoints-controller"});
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(api::GetResourceVersion(*Endpoints("manual")), api::GetResourceVersion(*before));
  EXPECT_EQ(api::GetResourceVersion(*Endpoints("kubernetes")), api::GetResourceVersion(*kubernetes));
}

TEST_F(EndpointsControllerTest, SelectorMatchingNothingAndDeletedServices) {
  CreateService("nobody", "nobody");
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ports = Ports({{"http", 8080}})});
  CreateService("web", "web");
  StartManager({"endpoints-controller"});
  ASSERT_TRUE(Eventually([&] { return Endpoints("nobody").has_value(); }));
  EXPECT_FALSE(Endpoints("nobody")->contains("subsets"));
  ASSERT_TRUE(Eventually([&] { return ListedPods("web").size() == 1; }));
  ASSERT_TRUE(api_.Resource("", "services", "default").Delete("web").ok());
  EXPECT_TRUE(Eventually([&] { return !Endpoints("web").has_value(); }));
}

TEST_F(EndpointsControllerTest, ManyPodsOneSubset) {
  for (int i = 0; i < 250; ++i) {
    CreatePod({.name = "w" + std::to_string(i),
               .ip = "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1),
               .ports = Ports({{"http", 8080}})});
  }
  CreateService("web", "web");
  StartManager({"endpoints-controller"});
  ASSERT_TRUE(Eventually([&] { return ListedPods("web").size() == 250; }));
  EXPECT_EQ(Endpoints("web")->at("subsets").as_array().size(), 1u);
}

}  // namespace
}  // namespace keelson::controllers
