#include "apiserver/apply.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

const api::TypeDecl& Deployment() {
  return *api::Schema::BuiltIn().Kind("apps", "v1", "Deployment");
}

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

ManagerInfo Who(std::string m) { return {std::move(m), "apps/v1", "2026-01-01T00:00:00Z"}; }

constexpr std::string_view kConfig = R"({"apiVersion":"apps/v1","kind":"Deployment",
  "metadata":{"name":"d","labels":{"a":"1"}},"spec":{"replicas":2,
  "selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},
  "spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]},
  {"name":"side","image":"busybox"}]}}}})";

TEST(FieldSetTest, NamesFieldsListElementsAndSetMembersAsUpstreamDoes) {
  auto set = FieldSetOf(Deployment(), Obj(kConfig));
  auto containers = set.at("f:spec").at("f:template").at("f:spec").at("f:containers");
  const auto& web = containers.at(R"(k:{"name":"web"})");
  EXPECT_TRUE(web.as_object().contains("."));
  EXPECT_TRUE(web.as_object().contains("f:image"));
  // The port's key carries the defaulted protocol, as the stored element has it.
  EXPECT_TRUE(web.at("f:ports").as_object().contains(R"(k:{"containerPort":80,"protocol":"TCP"})"));
  EXPECT_EQ(set.at("f:spec").at("f:selector"), json::object());  // an atomic struct
  EXPECT_FALSE(set.at("f:metadata").as_object().contains("f:name"));  // identity: not managed
}

TEST(ServerSideApplyTest, CreatesMergesAndRemovesWhatTheManagerNoLongerApplies) {
  std::vector<ApplyConflict> conflicts;
  auto live = ServerSideApply(Deployment(), nullptr, Obj(kConfig), Who("a"), false, &conflicts);
  ASSERT_TRUE(conflicts.empty());
  ASSERT_EQ(live.at("metadata").at("managedFields").as_array().size(), 1u);
  EXPECT_EQ(live.at("metadata").at("managedFields").as_array()[0].at("operation"), "Apply");
  // Another manager adds a label; then "a" applies without the sidecar and with a new image.
  json::object before = live;
  live.at("metadata").as_object()["labels"].as_object()["team"] = "x";
  TrackUpdate(Deployment(), &before, &live, Who("b"));
  ASSERT_EQ(live.at("metadata").at("managedFields").as_array().size(), 2u);
  auto cfg = Obj(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":
    {"labels":{"app":"d"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}})");
  auto next = ServerSideApply(Deployment(), &live, cfg, Who("a"), false, &conflicts);
  ASSERT_TRUE(conflicts.empty());
  const auto& cs = next.at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 1u);  // the sidecar went: only "a" had it
  EXPECT_EQ(cs[0].at("image"), "nginx:1.27");
  EXPECT_FALSE(cs[0].as_object().contains("ports"));  // "a" stopped applying them
  EXPECT_EQ(next.at("metadata").at("labels"), json::parse(R"({"team":"x"})"));  // b's stays
}

TEST(ServerSideApplyTest, ChangingAnotherManagersFieldConflictsUnlessForced) {
  std::vector<ApplyConflict> conflicts;
  auto live = ServerSideApply(Deployment(), nullptr, Obj(kConfig), Who("a"), false, &conflicts);
  json::object before = live;
  live["spec"].as_object()["replicas"] = 5;
  TrackUpdate(Deployment(), &before, &live, Who("scaler"));
  auto again = ServerSideApply(Deployment(), &live, Obj(kConfig), Who("a"), false, &conflicts);
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].manager, "scaler");
  EXPECT_EQ(conflicts[0].field, ".spec.replicas");
  // Applying the value the other manager set is shared ownership, not a conflict.
  auto same = Obj(kConfig);
  same["spec"].as_object()["replicas"] = 5;
  conflicts.clear();
  ServerSideApply(Deployment(), &live, same, Who("a"), false, &conflicts);
  EXPECT_TRUE(conflicts.empty());
  auto forced = ServerSideApply(Deployment(), &live, Obj(kConfig), Who("a"), true, &conflicts);
  ASSERT_TRUE(conflicts.empty());
  EXPECT_EQ(forced.at("spec").at("replicas"), 2);
  // The scaler lost the field, and with it its only entry.
  for (const auto& e : forced.at("metadata").at("managedFields").as_array()) {
    EXPECT_NE(e.at("manager"), "scaler");
  }
}

TEST(ServerSideApplyTest, ListMapKeysLeftOutOrNullAreTheirDefaults) {
  // A container port without a protocol is the port the server stored with protocol TCP:
  // applying the configuration again changes nothing (it used to add the port again).
  constexpr std::string_view kPorts = R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{
    "metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"x",
    "ports":[{"containerPort":80,"protocol":null},{"containerPort":81.0}]}]}}}})";
  std::vector<ApplyConflict> conflicts;
  auto once = ServerSideApply(Deployment(), nullptr, Obj(kPorts), Who("a"), false, &conflicts);
  auto& ports = once["spec"].as_object()["template"].as_object()["spec"].as_object()
                    ["containers"].as_array()[0].as_object()["ports"].as_array();
  for (auto& p : ports) p.as_object()["protocol"] = "TCP";  // as defaulting stores them
  ports[1].as_object()["containerPort"] = 81;
  auto twice = ServerSideApply(Deployment(), &once, Obj(kPorts), Who("a"), false, &conflicts);
  EXPECT_TRUE(conflicts.empty());
  EXPECT_EQ(twice.at("spec").at("template").at("spec").at("containers").at(0).at("ports")
                .as_array().size(), 2u);
}

}  // namespace
}  // namespace keelson::apiserver
