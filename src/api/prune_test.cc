#include "api/prune.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/defaults.h"
#include "api/schema.h"

namespace keelson::api {
namespace {

namespace json = boost::json;

const TypeDecl& Kind(std::string_view av, std::string_view kind) {
  const TypeDecl* t = Schema::BuiltIn().KindOf(av, kind);
  EXPECT_NE(t, nullptr);
  return *t;
}

TEST(PruneTest, DropsAndReportsUnknownFieldsWithTheirPaths) {
  json::object d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"d","bogus":1},
    "spec":{"foo":true,"template":{"spec":{"containers":[{"name":"a"},{"name":"b","bar":2}]}}}})")
                       .as_object();
  auto report = Prune(Kind("apps/v1", "Deployment"), &d);
  EXPECT_TRUE(report.type_error.empty()) << report.type_error;
  EXPECT_EQ(report.unknown, (std::vector<std::string>{
                                "metadata.bogus", "spec.foo",
                                "spec.template.spec.containers[1].bar"}));
  EXPECT_FALSE(d.at("metadata").as_object().contains("bogus"));
  EXPECT_FALSE(d.at("spec").as_object().contains("foo"));
  EXPECT_EQ(d.at("spec").at("template").at("spec").at("containers").as_array()[1],
            json::parse(R"({"name":"b"})"));
}

TEST(PruneTest, ReportsTheFirstTypeErrorAsGoDoes) {
  json::object d = json::parse(R"({"spec":{"replicas":"three"}})").as_object();
  auto report = Prune(Kind("apps/v1", "Deployment"), &d);
  EXPECT_EQ(report.type_error,
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
            "type int32");
  json::object cm = json::parse(R"({"metadata":{"labels":{"a":true}}})").as_object();
  EXPECT_EQ(Prune(Kind("v1", "ConfigMap"), &cm).type_error,
            "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type "
            "string");
  json::object big = json::parse(R"({"spec":{"replicas":4294967296}})").as_object();
  EXPECT_NE(Prune(Kind("apps/v1", "Deployment"), &big).type_error, "");
  // A whole number beyond int64 in an int-or-string is a type error, not a conversion.
  json::object port = json::parse(R"({"spec":{"ports":[{"port":80,"targetPort":6e37}]}})").as_object();
  EXPECT_NE(Prune(Kind("v1", "Service"), &port).type_error, "");
  json::object q = json::parse(
      R"({"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"lots"}}}]}})").as_object();
  EXPECT_NE(Prune(Kind("v1", "Pod"), &q).type_error.find("quantities must match"),
            std::string::npos);
}

TEST(PruneTest, AcceptsWhatUpstreamAccepts) {
  json::object p = json::parse(R"({"metadata":{"labels":null},"spec":{"containers":[
    {"name":"c","ports":[{"containerPort":80.0}],"resources":{"limits":{"cpu":1,"memory":"1Gi"}},
     "livenessProbe":{"httpGet":{"port":"http"}}}]}})").as_object();
  auto report = Prune(Kind("v1", "Pod"), &p);
  EXPECT_TRUE(report.type_error.empty()) << report.type_error;
  EXPECT_TRUE(report.unknown.empty());
  EXPECT_FALSE(p.at("metadata").as_object().contains("labels"));  // null is absent
  const auto& c = p.at("spec").at("containers").as_array()[0];
  EXPECT_TRUE(c.at("ports").as_array()[0].at("containerPort").is_int64());
  EXPECT_EQ(c.at("resources").at("limits").at("cpu"), "1");
}

TEST(DefaultsTest, FillsWhatUpstreamFillsWhereverTheTypeOccurs) {
  json::object d = json::parse(R"({"spec":{"selector":{},"template":{"spec":{"containers":[
    {"name":"a","image":"nginx:1.27","ports":[{"containerPort":80}]},
    {"name":"b","image":"busybox"}],"volumes":[{"name":"scratch"}]}}}})").as_object();
  ApplyDefaults(Kind("apps/v1", "Deployment"), &d);
  const auto& spec = d.at("spec");
  EXPECT_EQ(spec.at("replicas"), 1);
  EXPECT_EQ(spec.at("revisionHistoryLimit"), 10);
  EXPECT_EQ(spec.at("progressDeadlineSeconds"), 600);
  EXPECT_EQ(spec.at("strategy"), json::parse(R"({"type":"RollingUpdate",
    "rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}})"));
  const auto& pod = spec.at("template").at("spec");
  EXPECT_EQ(pod.at("restartPolicy"), "Always");
  EXPECT_EQ(pod.at("dnsPolicy"), "ClusterFirst");
  EXPECT_EQ(pod.at("terminationGracePeriodSeconds"), 30);
  EXPECT_EQ(pod.at("schedulerName"), "default-scheduler");
  const auto& cs = pod.at("containers").as_array();
  EXPECT_EQ(cs[0].at("imagePullPolicy"), "IfNotPresent");
  EXPECT_EQ(cs[1].at("imagePullPolicy"), "Always");  // no tag means latest
  EXPECT_EQ(cs[0].at("ports").as_array()[0].at("protocol"), "TCP");
  EXPECT_EQ(cs[0].at("terminationMessagePath"), "/dev/termination-log");
  EXPECT_EQ(pod.at("volumes").as_array()[0].at("emptyDir"), json::object());
}

TEST(DefaultsTest, KeepsWhatTheClientSet) {
  json::object s = json::parse(R"({"spec":{"type":"NodePort","ports":[{"port":80,"targetPort":8080,
    "protocol":"UDP"},{"port":443}]}})").as_object();
  ApplyDefaults(Kind("v1", "Service"), &s);
  const auto& ports = s.at("spec").at("ports").as_array();
  EXPECT_EQ(s.at("spec").at("type"), "NodePort");
  EXPECT_EQ(ports[0].at("targetPort"), 8080);
  EXPECT_EQ(ports[0].at("protocol"), "UDP");
  EXPECT_EQ(ports[1].at("targetPort"), 443);
  EXPECT_EQ(s.at("spec").at("sessionAffinity"), "None");
  json::object strat = json::parse(R"({"spec":{"strategy":{"type":"Recreate"}}})").as_object();
  ApplyDefaults(Kind("apps/v1", "Deployment"), &strat);
  EXPECT_FALSE(strat.at("spec").at("strategy").as_object().contains("rollingUpdate"));
}

TEST(DefaultsTest, DefaultsThatDependOnOtherFields) {
  // A pod's requests default to its limits; a controller's labels and selector to its
  // template's labels.
  json::object pod = json::parse(R"({"spec":{"containers":[{"name":"a","image":"nginx",
    "resources":{"limits":{"cpu":"1","memory":"1Gi"},"requests":{"cpu":"500m"}}}]}})")
                         .as_object();
  ApplyDefaults(Kind("v1", "Pod"), &pod);
  EXPECT_EQ(pod.at("spec").at("containers").as_array()[0].at("resources").at("requests"),
            json::parse(R"({"cpu":"500m","memory":"1Gi"})"));
  json::object rc = json::parse(R"({"spec":{"template":{"metadata":{"labels":{"app":"web"}},
    "spec":{"containers":[{"name":"a","image":"nginx"}]}}}})").as_object();
  ApplyDefaults(Kind("v1", "ReplicationController"), &rc);
  EXPECT_EQ(rc.at("metadata").at("labels"), json::parse(R"({"app":"web"})"));
  EXPECT_EQ(rc.at("spec").at("selector"), json::parse(R"({"app":"web"})"));
  json::object labelled = json::parse(R"({"metadata":{"labels":{"tier":"x"}},"spec":{"template":
    {"metadata":{"labels":{"app":"web"}}}}})").as_object();
  ApplyDefaults(Kind("v1", "ReplicationController"), &labelled);
  EXPECT_EQ(labelled.at("metadata").at("labels"), json::parse(R"({"tier":"x"})"));
}

}  // namespace
}  // namespace keelson::api
