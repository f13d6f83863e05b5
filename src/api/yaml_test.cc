#include "api/yaml.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>

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


// Nine levels of anchors, each a list of nine aliases of the one before: about 600 bytes
// that name 9^9 strings.
std::string BillionLaughs() {
  std::string doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n";
  doc += "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    doc += std::string("  ") + c + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) doc += (i ? ",*" : "*") + prev;
    doc += "]\n";
  }
  return doc;
}

TEST(YamlTest, RefusesAliasExpansionBeyondItsBudgetAtOnce) {
  std::string bomb = BillionLaughs();
  ASSERT_LT(bomb.size(), 1000u);
  auto start = std::chrono::steady_clock::now();
  auto v = YamlToJson(bomb);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("excessive aliasing"), std::string::npos)
      << v.status().message();
  // The conversion stops where the budget ends, long before the 387 million strings.
  EXPECT_LT(took, std::chrono::seconds(1));
}

TEST(YamlTest, AliasesWithinTheBudgetAreExpanded) {
  // A document reusing an anchor a few times, as real manifests do.
  auto v = YamlToJson(R"(base: &labels {app: web, tier: front}
a: *labels
b: *labels
c: [*labels, *labels]
)");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v).at("c").as_array().at(1), json::parse(R"({"app":"web","tier":"front"})"));
  // Six levels of ten aliases each: a million strings from 300 bytes is refused.
  std::string deep = "a0: &a0 x\n";
  for (int level = 1; level <= 6; ++level) {
    std::string prev = "a" + std::to_string(level - 1);
    deep += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) deep += (i ? ",*" : "*") + prev;
    deep += "]\n";
  }
  auto refused = YamlToJson(deep);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("excessive aliasing"), std::string::npos);
}

TEST(YamlTest, LargeDocumentsWithoutAliasesFitTheirBudget) {
  // The densest plain document: a flow list of one-character scalars.
  std::string list = "items: [";
  for (int i = 0; i < 200000; ++i) list += (i ? ",1" : "1");
  list += "]\n";
  auto v = YamlToJson(list);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v).at("items").as_array().size(), 200000u);
}

TEST(YamlTest, RefusesTextThatIsNotUtf8) {
  // Stored, such strings would no longer parse as JSON.
  auto bad = YamlToJson("apiVersion: v1\nkind: ConfigMap\ndata: {a: \"\xff\"}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "yaml: the document is not valid UTF-8");
  // The parser's own encoding detection can turn valid text (a NUL byte) into invalid UTF-8.
  EXPECT_FALSE(YamlToJson(std::string("metadata: {an\0_x: y}\n", 22)).ok());
  EXPECT_TRUE(YamlToJson("data: {a: \"h\u00e9\"}\n").ok());
}

}  // namespace
}  // namespace keelson::api
