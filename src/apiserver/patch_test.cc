#include "apiserver/patch.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>

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

// --- budgets -------------------------------------------------------------------------------

TEST(PatchBudgetTest, AJsonPatchHasAtMost10000Operations) {
  auto ops = [](int n) {
    std::string p = "[";
    for (int i = 0; i < n; ++i) {
      p += std::string(i ? "," : "") + R"({"op":"add","path":"/metadata/labels/x","value":"1"})";
    }
    return p + "]";
  };
  json::value t = json::parse(kLive);
  EXPECT_TRUE(ApplyPatch(PatchType::kJson, ops(10000), Deployment(), &t).ok());
  Status st = ApplyPatch(PatchType::kJson, ops(10001), Deployment(), &t);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
}

TEST(PatchBudgetTest, CopiesThatDoubleTheDocumentStopAtTheCopyBudget) {
  // 40 copies of the document into itself would make it 2^40 times larger.
  std::string p = "[";
  for (int i = 0; i < 40; ++i) {
    p += std::string(i ? "," : "") + R"({"op":"copy","from":"/spec","path":"/spec/c)" +
         std::to_string(i) + R"("})";
  }
  p += "]";
  json::value t = json::parse(kLive);
  Status st = ApplyPatch(PatchType::kJson, p, Deployment(), &t);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("exceeding the limit 3145728"), std::string::npos) << st.message();
}

TEST(PatchBudgetTest, PatchesNestedTooDeeplyAreRefused) {
  std::string deep(150, '[');
  deep += std::string(150, ']');
  std::string patch = R"({"metadata":{"annotations":{"a":)" + deep + "}}}";
  json::value t = json::parse(kLive);
  Status st = ApplyPatch(PatchType::kMerge, patch, Deployment(), &t);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("nested more than 100 levels deep"), std::string::npos)
      << st.message();
}

TEST(PatchBudgetTest, LargeStrategicListsMergeInLinearTime) {
  // 20,000 containers patched into 20,000 others, with an order directive and a primitive
  // list of 20,000: quadratic merging would take minutes.
  std::string live = R"({"spec":{"template":{"spec":{"containers":[)";
  std::string patch = R"({"spec":{"template":{"spec":{"containers":[)";
  std::string order = R"("$setElementOrder/containers":[)";
  std::string finalizers = R"("metadata":{"finalizers":[)";
  for (int i = 0; i < 20000; ++i) {
    std::string sep = i ? "," : "";
    live += sep + R"({"name":"a)" + std::to_string(i) + R"(","image":"x"})";
    patch += sep + R"({"name":"b)" + std::to_string(i) + R"(","image":"y"})";
    order += sep + R"({"name":"b)" + std::to_string(i) + R"("})";
    finalizers += sep + R"("f/)" + std::to_string(i) + R"(")";
  }
  live += "]}}}}";
  patch += "]," + order + "]}}}," + finalizers + "]}}";
  json::value t = json::parse(live);
  auto start = std::chrono::steady_clock::now();
  Status st = ApplyPatch(PatchType::kStrategic, patch, Deployment(), &t);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(st.ok()) << st.message();
  const auto& cs = t.at("spec").at("template").at("spec").at("containers").as_array();
  ASSERT_EQ(cs.size(), 40000u);
  EXPECT_EQ(cs[0].at("name"), "b0");  // in the order the directive gives
  EXPECT_EQ(cs[20000].at("name"), "a0");
  EXPECT_EQ(t.at("metadata").at("finalizers").as_array().size(), 20000u);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(PatchBudgetTest, AnArrayIndexBeyondAnyListIsAnErrorNotAnException) {
  json::value t = json::parse(kLive);
  Status st = ApplyPatch(PatchType::kJson,
                         R"([{"op":"replace","path":"/spec/template/spec/containers/99999999999999999999999","value":{}}])",
                         Deployment(), &t);
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace keelson::apiserver
