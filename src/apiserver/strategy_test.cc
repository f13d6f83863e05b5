#include "apiserver/strategy.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>

#include "api/object.h"

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

const Strategy& StrategyOf(const api::ResourceInfo& r) {
  static const StrategyRegistry strategies = BuiltInStrategies(api::ResourceRegistry::BuiltIn());
  const Strategy* s = strategies.Find(r);
  EXPECT_NE(s, nullptr) << r.resource;
  return *s;
}

TEST(Strategy, EveryStoredResourceHasItsKindsStrategy) {
  for (const auto& r : api::ResourceRegistry::BuiltIn().all()) {
    if (!r.stored) continue;
    const Strategy& s = StrategyOf(r);
    // events.k8s.io/v1 Events are stored in their core form: their strategy is the core kind's.
    if (r.group == "events.k8s.io") {
      EXPECT_EQ(s.resource().group, "") << r.resource;
    } else {
      EXPECT_EQ(&s.resource(), &r) << r.resource;
    }
    EXPECT_NE(s.type(), nullptr) << r.resource;
  }
}

TEST(Strategy, NewObjectsStartWithTheirKindsStatus) {
  auto created = [](const api::ResourceInfo& r, const char* body) {
    json::object o = json::parse(body).as_object();
    o["metadata"] = json::object{{"name", "x"}, {"uid", "u"}};
    StrategyOf(r).PrepareForCreate(&o);
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
  StrategyOf(Resource("apps", "deployments")).PrepareForUpdate(&now, old);
  EXPECT_EQ(now.at("status"), json::parse(R"({"replicas":1})"));
  json::object bare = json::parse(R"({"spec":{}})").as_object();
  json::object added = json::parse(R"({"spec":{},"status":{"phase":"x"}})").as_object();
  StrategyOf(Resource("", "namespaces")).PrepareForUpdate(&added, bare);
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
  auto tracks = [](std::string_view group, std::string_view resource) {
    return StrategyOf(Resource(group, resource)).TracksGeneration();
  };
  EXPECT_TRUE(tracks("", "pods"));
  EXPECT_TRUE(tracks("apps", "deployments"));
  EXPECT_TRUE(tracks("batch", "cronjobs"));
  EXPECT_TRUE(tracks("policy", "poddisruptionbudgets"));
  EXPECT_FALSE(tracks("", "namespaces"));
  EXPECT_FALSE(tracks("", "services"));
  EXPECT_FALSE(tracks("apps", "controllerrevisions"));
}

TEST(Strategy, GenerationFollowsChangesOfTheSpec) {
  const Strategy& d = StrategyOf(Resource("apps", "deployments"));
  json::object created = json::parse(R"({"metadata":{"name":"d","uid":"u"},
    "spec":{"replicas":1}})").as_object();
  d.PrepareForCreate(&created);
  EXPECT_EQ(api::GetGeneration(created), 1);
  json::object scaled = created;
  scaled["spec"].as_object()["replicas"] = 2;
  d.PrepareForUpdate(&scaled, created);
  EXPECT_EQ(api::GetGeneration(scaled), 2);
  json::object relabelled = scaled;
  api::SetLabel(&relabelled, "a", "b");
  d.PrepareForUpdate(&relabelled, scaled);
  EXPECT_EQ(api::GetGeneration(relabelled), 2);
  // Kinds that do not count keep none, whatever the body says.
  json::object cm = json::parse(R"({"metadata":{"name":"c","generation":0}})").as_object();
  StrategyOf(Resource("", "configmaps")).PrepareForCreate(&cm);
  EXPECT_FALSE(api::GetMetadata(cm)->contains("generation"));
}

TEST(Strategy, TheStatusSubresourceChangesTheStatusAndNothingElse) {
  const Strategy& pods = StrategyOf(Resource("", "pods"));
  StatusStrategy status(pods);
  json::object old = json::parse(R"({"metadata":{"name":"p","uid":"u","labels":{"a":"1"}},
    "spec":{"nodeName":"n1"},"status":{"phase":"Pending"}})").as_object();
  json::object now = json::parse(R"({"metadata":{"name":"p","labels":{"a":"2"}},
    "spec":{"nodeName":"n2"},"status":{"phase":"Running"}})").as_object();
  status.PrepareForUpdate(&now, old);
  EXPECT_EQ(api::FieldText(now, "status.phase"), "Running");
  EXPECT_EQ(api::FieldText(now, "spec.nodeName"), "n1");
  EXPECT_EQ(api::GetLabels(now).at("a"), "1");
  EXPECT_TRUE(status.ValidateUpdate(now, old).empty());
  // The pod status rules apply, and the identity of the object may not change.
  json::object bad = now;
  bad["status"].as_object()["podIPs"] = json::parse(R"([{"ip":"not-an-ip"}])");
  api::MutableMetadata(&bad)["uid"] = "other";
  auto causes = status.ValidateUpdate(bad, old);
  ASSERT_EQ(causes.size(), 2u);
  EXPECT_EQ(causes[0].first, "metadata.uid");
  EXPECT_EQ(causes[1].first, "status.podIPs[0].ip");
}

TEST(Strategy, BoundPodsAreDeletedGracefully) {
  const Strategy& pods = StrategyOf(Resource("", "pods"));
  json::object unbound = json::parse(R"({"spec":{}})").as_object();
  EXPECT_EQ(pods.GracePeriod(unbound, std::nullopt), 0);
  json::object bound = json::parse(R"({"spec":{"nodeName":"n"}})").as_object();
  EXPECT_EQ(pods.GracePeriod(bound, std::nullopt), 30);
  EXPECT_EQ(pods.GracePeriod(bound, 5), 5);
  bound["spec"].as_object()["terminationGracePeriodSeconds"] = 7;
  EXPECT_EQ(pods.GracePeriod(bound, std::nullopt), 7);
  // Other kinds go at once (or wait for their finalizers).
  EXPECT_EQ(StrategyOf(Resource("", "configmaps")).GracePeriod(bound, 5), std::nullopt);
}

TEST(Strategy, NamespacesAreLabelledFinalizedAndTerminate) {
  const Strategy& ns = StrategyOf(Resource("", "namespaces"));
  json::object obj = json::parse(R"({"metadata":{"name":"team-a"}})").as_object();
  ns.PrepareForCreate(&obj);
  EXPECT_EQ(api::GetLabels(obj).at("kubernetes.io/metadata.name"), "team-a");
  EXPECT_EQ(obj.at("spec"), json::parse(R"({"finalizers":["kubernetes"]})"));
  ns.PrepareForDelete(&obj);
  EXPECT_EQ(api::FieldText(obj, "status.phase"), "Terminating");
  EXPECT_FALSE(ns.NameErrors("a.b", false).empty());  // a DNS-1123 label
  EXPECT_TRUE(StrategyOf(Resource("", "configmaps")).NameErrors("a.b", false).empty());
}

TEST(Strategy, FieldLabelsArePerKind) {
  auto fields = [](std::string_view group, std::string_view resource) {
    return StrategyOf(Resource(group, resource)).SelectableFields();
  };
  auto has = [](const std::vector<std::string>& v, const char* f) {
    return std::find(v.begin(), v.end(), f) != v.end();
  };
  EXPECT_TRUE(has(fields("", "pods"), "spec.nodeName"));
  EXPECT_TRUE(has(fields("", "pods"), "metadata.name"));
  EXPECT_FALSE(has(fields("", "configmaps"), "spec.nodeName"));
  EXPECT_TRUE(has(fields("", "secrets"), "type"));
  EXPECT_TRUE(has(fields("", "events"), "involvedObject.name"));
  EXPECT_TRUE(has(fields("events.k8s.io", "events"), "involvedObject.name"));
  EXPECT_EQ(fields("", "configmaps"),
            (std::vector<std::string>{"metadata.name", "metadata.namespace"}));
}

}  // namespace
}  // namespace keelson::apiserver
