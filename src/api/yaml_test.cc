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

}  // namespace
}  // namespace keelson::api
