#include "apiserver/strategy.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

const api::ResourceInfo& Resource(std::string_view group, std::string_view resource) {
  const api::ResourceInfo* r = api::ResourceRegistry::BuiltIn().Find(group, "v1", resource);
  EXPECT_NE(r, nullptr) << resource;
  return *r;
}

std::string Qos(const std::string& containers, const std::string& init = "[]") {
  return PodQosClass(
      json::parse(R"({"spec":{"containers":)" + containers + R"(,"initContainers":)" + init +
                  "}}")
          .as_object());
}

TEST(PodQosClass, FollowsCpuAndMemoryRequestsAndLimitsOfEveryContainer) {
  EXPECT_EQ(Qos(R"([{"name":"a"}])"), "BestEffort");
  // Only cpu and memory count.
  EXPECT_EQ(Qos(R"([{"name":"a","resources":{"limits":{"nvidia.com/gpu":"1"}}}])"),
            "BestEffort");
  EXPECT_EQ(Qos(R"([{"name":"a","resources":{"requests":{"cpu":"1","memory":"1Gi"},
    "limits":{"cpu":"1000m","memory":"1024Mi"}}}])"),
            "Guaranteed");  // equal amounts written differently
  EXPECT_EQ(Qos(R"([{"name":"a","resources":{"requests":{"cpu":"500m","memory":"1Gi"},
    "limits":{"cpu":"1","memory":"1Gi"}}}])"),
            "Burstable");
  EXPECT_EQ(Qos(R"([{"name":"a","resources":{"limits":{"cpu":"1"}}}])"), "Burstable");
  // Every container needs both limits, init containers included.
  EXPECT_EQ(Qos(R"([{"name":"a","resources":{"requests":{"cpu":"1","memory":"1Gi"},
    "limits":{"cpu":"1","memory":"1Gi"}}}])",
                R"([{"name":"i"}])"),
            "Burstable");
  // A zero request does not count as one.
  EXPECT_EQ(Qos(R"([{"name":"a","resources":{"requests":{"cpu":"0"}}}])"), "BestEffort");
}

TEST(Strategy, NewObjectsStartWithTheirKindsStatus) {
  auto created = [](const api::ResourceInfo& r, const char* body) {
    json::object o = json::parse(body).as_object();
    PrepareStatusForCreate(r, &o);
    return o.contains("status") ? o.at("status") : json::value();
  };
  EXPECT_EQ(created(Resource("apps", "replicasets"), R"({"status":{"replicas":4}})"),
            json::parse(R"({"replicas":0})"));
  EXPECT_EQ(created(Resource("apps", "daemonsets"), R"({"status":{"numberReady":3}})"),
            json::parse(R"({"currentNumberScheduled":0,"desiredNumberScheduled":0,
              "numberMisscheduled":0,"numberReady":0})"));
  EXPECT_EQ(created(Resource("apps", "deployments"), R"({"status":{"replicas":4}})"),
            json::object());
  EXPECT_EQ(created(Resource("", "namespaces"), R"({"status":{"phase":"Terminating"}})"),
            json::parse(R"({"phase":"Active"})"));
  EXPECT_EQ(created(Resource("", "persistentvolumeclaims"), R"({})"),
            json::parse(R"({"phase":"Pending"})"));
  EXPECT_EQ(created(Resource("", "services"), R"({"status":{"loadBalancer":{"ingress":[]}}})"),
            json::parse(R"({"loadBalancer":{}})"));
  // A kubelet registers its node with the status it reports; kinds without status have none.
  EXPECT_EQ(created(Resource("", "nodes"), R"({"status":{"phase":"Running"}})"),
            json::parse(R"({"phase":"Running"})"));
  EXPECT_TRUE(created(Resource("", "configmaps"), R"({"data":{}})").is_null());
}

TEST(Strategy, WritesOfTheMainResourceKeepTheStoredStatus) {
  json::object old = json::parse(R"({"spec":{"replicas":1},"status":{"replicas":1}})").as_object();
  json::object now = json::parse(R"({"spec":{"replicas":2},"status":{"replicas":9}})").as_object();
  KeepStatusOnUpdate(Resource("apps", "deployments"), old, &now);
  EXPECT_EQ(now.at("status"), json::parse(R"({"replicas":1})"));
  json::object bare = json::parse(R"({"spec":{}})").as_object();
  json::object added = json::parse(R"({"spec":{},"status":{"phase":"x"}})").as_object();
  KeepStatusOnUpdate(Resource("", "namespaces"), bare, &added);
  EXPECT_FALSE(added.contains("status"));
}

TEST(Strategy, SecretStringDataIsMergedIntoData) {
  json::object s =
      json::parse(R"({"data":{"a":"YQ==","b":"Yg=="},"stringData":{"b":"two","c":""}})")
          .as_object();
  MergeSecretStringData(&s);
  EXPECT_EQ(s.at("data"), json::parse(R"({"a":"YQ==","b":"dHdv","c":""})"));
  EXPECT_FALSE(s.contains("stringData"));
}

TEST(Strategy, GenerationIsCountedForPodsWorkloadsJobsAndBudgets) {
  EXPECT_TRUE(TracksGeneration(Resource("", "pods")));
  EXPECT_TRUE(TracksGeneration(Resource("apps", "deployments")));
  EXPECT_TRUE(TracksGeneration(*api::ResourceRegistry::BuiltIn().Find("batch", "v1", "cronjobs")));
  EXPECT_FALSE(TracksGeneration(Resource("", "namespaces")));
  EXPECT_FALSE(TracksGeneration(Resource("", "services")));
  EXPECT_FALSE(TracksGeneration(Resource("apps", "controllerrevisions")));
}

}  // namespace
}  // namespace keelson::apiserver
