#include "api/json_limits.h"

#include <gtest/gtest.h>

#include <string>

namespace keelson::api {
namespace {

TEST(JsonLimitsTest, DepthUpTo100) {
  auto nested = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(ParseJson(nested(100)).ok());
  auto deep = ParseJson(nested(101));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().message(), "json: the document is nested more than 100 levels deep");
}

TEST(JsonLimitsTest, StrictText) {
  EXPECT_FALSE(ParseJson("{\"a\":\"\xff\"}").ok());
  EXPECT_FALSE(ParseJson("{\"a\":1,}").ok());
  EXPECT_FALSE(ParseJson("{\"a\":1 /* c */}").ok());
  EXPECT_FALSE(ParseJson("{\"a\":NaN}").ok());
  EXPECT_TRUE(ParseJson("{\"a\":\"h\xc3\xa9\"}").ok());
}

TEST(JsonLimitsTest, Utf8AsTheParserReadsIt) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // cut short
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));
  // The parser agrees on each.
  for (std::string s : {"\xc3\xa9", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf"}) {
    EXPECT_EQ(IsValidUtf8(s), ParseJson("\"" + s + "\"").ok()) << s;
  }
}

}  // namespace
}  // namespace keelson::api

namespace keelson::api {
namespace {

TEST(ParseJsonFinite, NumbersBeyondADoubleAreRefused) {
  auto r = ParseJson(R"({"spec":{"ports":[{"port":79e77777777}]}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "json: a number is out of range");
  EXPECT_TRUE(ParseJson(R"({"a":1.5e300,"b":[-2e-300]})").ok());
}

}  // namespace
}  // namespace keelson::api
