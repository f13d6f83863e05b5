// The EndpointSlice controller in a controller manager against an in-process API server.
#include "controllers/endpointslice/endpointslice_controller.h"

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

json::array Ports(std::initializer_list<std::pair<const char*, int>> ports) {
  json::array out;
  for (auto [name, port] : ports) out.push_back(json::object{{"name", name}, {"containerPort", port}});
  return out;
}

// Every endpoint of the slices, by pod name.
std::map<std::string, json::object> SliceEndpoints(const std::vector<api::Object>& slices) {
  std::map<std::string, json::object> out;
  for (const auto& s : slices) {
    for (const auto& e : s.at("endpoints").as_array()) {
      out[std::string(e.as_object().at("targetRef").as_object().at("name").as_string())] =
          e.as_object();
    }
  }
  return out;
}

size_t Count(const std::vector<api::Object>& slices) {
  size_t n = 0;
  for (const auto& s : slices) n += s.at("endpoints").as_array().size();
  return n;
}

std::string Conditions(const json::object& ep) {
  const auto& c = ep.at("conditions").as_object();
  return std::string("ready=") + (c.at("ready").as_bool() ? "1" : "0") +
         " serving=" + (c.at("serving").as_bool() ? "1" : "0") +
         " terminating=" + (c.at("terminating").as_bool() ? "1" : "0");
}

class EndpointSliceTest : public EndpointsFixture {
 protected:
  void SetUp() override { CreateNode("n1", "z1"); }
};

TEST_F(EndpointSliceTest, SlicesCarryUpstreamsLabelsOwnerAndEndpoints) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w2", .ip = "10.1.0.2", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w3", .ip = "10.1.0.3", .ports = Ports({{"http", 8081}})});
  CreateService("web", "web",
                R"("ports":[{"name":"http","port":80,"targetPort":"http"},
                            {"name":"metrics","port":9000,"targetPort":9100}])");
  StartManager({"endpointslice-controller"});
  ASSERT_TRUE(Eventually([&] { return Count(Slices("web")) == 3; }));
  auto slices = Slices("web");
  ASSERT_EQ(slices.size(), 2u);  // one per set of ports
  auto service = *api_.Get("", "services", "default", "web");
  for (const auto& s : slices) {
    auto labels = api::GetLabels(s);
    EXPECT_EQ(labels.at("kubernetes.io/service-name"), "web");
    EXPECT_EQ(labels.at("endpointslice.kubernetes.io/managed-by"), "endpointslice-controller.k8s.io");
    EXPECT_EQ(labels.at("team"), "t1");
    EXPECT_EQ(api::GetGenerateName(s), "web-");
    auto owner = api::GetControllerOf(s);
    ASSERT_TRUE(owner);
    EXPECT_EQ(owner->kind, "Service");
    EXPECT_EQ(owner->uid, api::GetUid(service));
    EXPECT_EQ(s.at("addressType"), "IPv4");
    EXPECT_TRUE(api::GetAnnotations(s).count("endpoints.kubernetes.io/last-change-trigger-time"));
    std::set<int64_t> ports;
    for (const auto& p : s.at("ports").as_array()) ports.insert(p.as_object().at("port").to_number<int64_t>());
    const size_t n = s.at("endpoints").as_array().size();
    const std::set<int64_t> want = n == 2 ? std::set<int64_t>{8080, 9100} : std::set<int64_t>{8081, 9100};
    EXPECT_EQ(ports, want);
  }
  auto eps = SliceEndpoints(slices);
  const auto& w1 = eps["w1"];
  EXPECT_EQ(json::serialize(w1.at("addresses")), R"(["10.1.0.1"])");
  EXPECT_EQ(Conditions(w1), "ready=1 serving=1 terminating=0");
  EXPECT_EQ(w1.at("nodeName"), "n1");
  EXPECT_EQ(w1.at("zone"), "z1");
  EXPECT_EQ(w1.at("targetRef").as_object().at("kind"), "Pod");
}

TEST_F(EndpointSliceTest, ReadinessAndTerminatingConditions) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ports = Ports({{"http", 8080}})});
  CreatePod({.name = "w2", .ip = "10.1.0.2", .ports = Ports({{"http", 8080}}), .hold = true});
  CreateService("web", "web");
  StartManager({"endpointslice-controller"});
  ASSERT_TRUE(Eventually([&] { return Count(Slices("web")) == 2; }));
  SetReady("w1", false);
  EXPECT_TRUE(Eventually([&] {
    return Conditions(SliceEndpoints(Slices("web"))["w1"]) == "ready=0 serving=0 terminating=0";
  }));
  ASSERT_TRUE(api_.Resource("", "pods", "default").Delete("w2").ok());
  // A terminating pod that still serves.
  EXPECT_TRUE(Eventually([&] {
    auto eps = SliceEndpoints(Slices("web"));
    return eps.count("w2") && Conditions(eps["w2"]) == "ready=0 serving=1 terminating=1";
  }));
  Release("w2");
  EXPECT_TRUE(Eventually([&] { return Count(Slices("web")) == 1; }));
}

TEST_F(EndpointSliceTest, PublishNotReadyAddressesMakesEveryEndpointReady) {
  CreatePod({.name = "w1", .ip = "10.1.0.1", .ready = false, .ports = Ports({{"http", 8080}})});
  CreateService("web", "web",
                R"("publishNotReadyAddresses":true,
                   "ports":[{"name":"http","port":80,"targetPort":"http"}])");
  StartManager({"endpointslice-controller"});
  EXPECT_TRUE(Eventually([&] {
    auto eps = SliceEndpoints(Slices("web"));
    return eps.count("w1") && Conditions(eps["w1"]) == "ready=1 serving=0 terminating=0";
  }));
}

TEST_F(EndpointSliceTest, MoreThanMaxEndpointsSplitIntoSlicesAndRemovalsStayInPlace) {
  for (int i = 0; i < 250; ++i) {
    CreatePod({.name = "w" + std::to_string(i),
               .ip = "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1),
               .ports = Ports({{"http", 8080}})});
  }
  CreateService("web", "web");
  StartManager({"endpointslice-controller"});
  ASSERT_TRUE(Eventually([&] { return Count(Slices("web")) == 250; }));
  auto slices = Slices("web");
  std::multiset<size_t> sizes;
  std::set<std::string> names;
  for (const auto& s : slices) {
    sizes.insert(s.at("endpoints").as_array().size());
    names.insert(std::string(api::GetName(s)));
  }
  EXPECT_EQ(sizes, (std::multiset<size_t>{50, 100, 100}));
  EXPECT_EQ(SliceEndpoints(slices).size(), 250u);
  // Pods going away leave their slices in place: no slice is replaced.
  client::DeleteOptions now;
  now.grace_period_seconds = 0;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(api_.Resource("", "pods", "default").Delete("w" + std::to_string(i * 8), now).ok());
  }
  ASSERT_TRUE(Eventually([&] { return Count(Slices("web")) == 220; }));
  std::set<std::string> after;
  for (const auto& s : Slices("web")) after.insert(std::string(api::GetName(s)));
  EXPECT_EQ(after, names);
}

TEST_F(EndpointSliceTest, MaxEndpointsPerSliceIsASetting) {
  for (int i = 0; i < 25; ++i) {
    CreatePod({.name = "w" + std::to_string(i), .ip = "10.1.0." + std::to_string(i + 1),
               .ports = Ports({{"http", 8080}})});
  }
  CreateService("web", "web");
  StartManager({"endpointslice-controller"}, /*max_endpoints_per_slice=*/10);
  ASSERT_TRUE(Eventually([&] { return Count(Slices("web")) == 25; }));
  EXPECT_EQ(Slices("web").size(), 3u);
}

TEST_F(EndpointSliceTest, NoSelectorNoSlicesAndAnEmptySelectionAPlaceholder) {
  CreateService("manual", "", R"("ports":[{"port":5432}])");
  CreateService("nobody", "nobody");
  StartManager({"endpointslice-controller"});
  ASSERT_TRUE(Eventually([&] { return Slices("nobody").size() == 1; }));
  auto placeholder = Slices("nobody")[0];
  EXPECT_TRUE(placeholder.at("endpoints").as_array().empty());
  const auto* ports = placeholder.if_contains("ports");
  EXPECT_TRUE(!ports || ports->is_null() || ports->as_array().empty());
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(Slices("manual").empty());
  EXPECT_EQ(Slices("nobody").size(), 1u);  // and it stays the one
  // A pod appearing fills the placeholder.
  CreatePod({.name = "n", .app = "nobody", .ip = "10.1.0.5"});
  EXPECT_TRUE(Eventually([&] { return Count(Slices("nobody")) == 1 && Slices("nobody").size() == 1; }));
}

}  // namespace
}  // namespace keelson::controllers
