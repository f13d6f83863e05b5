#include "apiserver/patch.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

const api::TypeDecl* Deployment() { return api::Schema::BuiltIn().Kind("apps", "v1", "Deployment"); }

json::value Strategic(std::string_view target, std::string_view patch) {
  json::value t = json::parse(target);
  Status st = ApplyPatch(PatchType::kStrategic, patch, Deployment(), &t);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return t;
}

constexpr std::string_view kLive = R"({"metadata":{"name":"d","labels":{"a":"1","b":"2"},
  "finalizers":["x"]},"spec":{"replicas":1,"template":{"spec":{"containers":[
  {"name":"c","image":"nginx:1.25","args":["-a","-b"],"ports":[{"containerPort":80,"protocol":"TCP"}],
   "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
  {"name":"side","image":"busybox"}]}}}})";

TEST(StrategicMergePatchTest, MergesListsByTheirMergeKeyAsKubectlApplySendsThem) {
  // What kubectl apply sends when the image and replicas change.
  auto out = Strategic(kLive, R"({"spec":{"replicas":2,"template":{"spec":{
    "$setElementOrder/containers":[{"name":"c"},{"name":"side"}],
    "containers":[{"image":"nginx:1.27","name":"c"}]}}}})");
  const auto& cs = out.at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].at("name"), "c");
  EXPECT_EQ(cs[0].at("image"), "nginx:1.27");
  EXPECT_EQ(cs[0].at("env").as_array().size(), 2u);  // untouched fields stay
  EXPECT_EQ(cs[1].at("name"), "side");
  EXPECT_EQ(out.at("spec").at("replicas"), 2);
}

TEST(StrategicMergePatchTest, AddsDeletesAndReordersElements) {
  auto out = Strategic(kLive, R"({"spec":{"template":{"spec":{
    "$setElementOrder/containers":[{"name":"new"},{"name":"c"}],
    "containers":[{"name":"new","image":"redis"},{"name":"side","$patch":"delete"}]}}}})");
  const auto& cs = out.at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].at("name"), "new");
  EXPECT_EQ(cs[1].at("name"), "c");
}

TEST(StrategicMergePatchTest, NestedListsAtomicListsAndScalarSets) {
  auto out = Strategic(kLive, R"({"metadata":{"labels":{"a":null,"c":"3"},"finalizers":["y"]},
    "spec":{"template":{"spec":{"containers":[{"name":"c","args":["-z"],
    "env":[{"name":"B","value":"two"},{"name":"C","value":"3"}],
    "ports":[{"containerPort":443}]}]}}}})");
  EXPECT_EQ(out.at("metadata").at("labels"), json::parse(R"({"b":"2","c":"3"})"));
  EXPECT_EQ(out.at("metadata").at("finalizers"), json::parse(R"(["x","y"])"));  // a set
  const auto& c = out.at("spec").at("template").at("spec").at("containers").as_array()[0];
  EXPECT_EQ(c.at("args"), json::parse(R"(["-z"])"));  // atomic: replaced
  EXPECT_EQ(c.at("env"), json::parse(
      R"([{"name":"A","value":"1"},{"name":"B","value":"two"},{"name":"C","value":"3"}])"));
  EXPECT_EQ(c.at("ports").as_array().size(), 2u);
}

TEST(StrategicMergePatchTest, Directives) {
  auto out = Strategic(kLive, R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["x"]},
    "spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"},
    "template":{"spec":{"containers":[{"name":"c","env":[{"$patch":"replace"},
    {"name":"Z","value":"z"}]}]}}}})");
  EXPECT_EQ(out.at("metadata").at("finalizers"), json::array());
  EXPECT_EQ(out.at("spec").at("strategy"), json::parse(R"({"type":"Recreate"})"));
  EXPECT_EQ(out.at("spec").at("template").at("spec").at("containers").as_array()[0].at("env"),
            json::parse(R"([{"name":"Z","value":"z"}])"));
  auto replaced = Strategic(kLive, R"({"metadata":{"labels":{"$patch":"replace","z":"9"}}})");
  EXPECT_EQ(replaced.at("metadata").at("labels"), json::parse(R"({"z":"9"})"));
}

TEST(StrategicMergePatchTest, AnElementWithoutItsMergeKeyIsRefused) {
  json::value t = json::parse(kLive);
  Status st = ApplyPatch(PatchType::kStrategic,
                         R"({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})",
                         Deployment(), &t);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not contain declared merge key: name"), std::string::npos);
}

}  // namespace
}  // namespace keelson::apiserver
