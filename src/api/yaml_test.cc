#include "api/yaml.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::api {
namespace {

namespace json = boost::json;

TEST(YamlTest, TypesPlainScalarsAsKubernetesDoes) {
  auto v = YamlToJson(R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  labels: {a: "yes", b: 'on'}
data:
  quoted: "007"
spec:
  n: 3
  hex: 0x10
  f: 1.5
  t: true
  y: yes
  empty:
  list: [a, 2, null, ~]
)");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
    "metadata":{"name":"c","labels":{"a":"yes","b":"on"}},"data":{"quoted":"007"},
    "spec":{"n":3,"hex":16,"f":1.5,"t":true,"y":true,"empty":null,"list":["a",2,null,null]}})"));
}

TEST(YamlTest, ReportsWhereTheSyntaxBreaks) {
  auto v = YamlToJson("a: [1, 2\nb: c\n");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("yaml: line"), std::string::npos) << v.status().message();
}

TEST(YamlTest, RefusesNestingNoObjectHasInsteadOfOverflowingTheStack) {
  auto flow = YamlToJson(std::string(200000, '[') + std::string(200000, ']'));
  ASSERT_FALSE(flow.ok());
  EXPECT_NE(flow.status().message().find("nested too deeply"), std::string::npos);
  std::string block;
  for (int i = 0; i < 3000; ++i) block += std::string(i, ' ') + "k:\n";
  auto indented = YamlToJson(block);
  ASSERT_FALSE(indented.ok());
  // Quoted brackets are text, not nesting.
  auto quoted = YamlToJson("a: \"" + std::string(500, '[') + "\"\n");
  ASSERT_TRUE(quoted.ok()) << quoted.status().ToString();
}

}  // namespace
}  // namespace keelson::api
