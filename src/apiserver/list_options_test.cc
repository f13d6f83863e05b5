// The list and watch options upstream refuses, and which read each combination means.
#include "apiserver/list_options.h"

#include <gtest/gtest.h>

namespace keelson::apiserver {
namespace {

ListOptions Parse(const std::string& query) {
  HttpRequest req;
  req.query = ParseQuery(query);
  auto o = ParseListOptions(req);
  EXPECT_TRUE(o.ok()) << query;
  return o.ok() ? *o : ListOptions{};
}

std::string Errors(const std::string& query) {
  auto errs = ValidateListOptions(Parse(query));
  return errs.empty() ? "" : api::AggregateMessage(errs);
}

TEST(ListOptionsTest, RefusesWhatUpstreamRefuses) {
  EXPECT_EQ(Errors("resourceVersion=5&resourceVersionMatch=Exact"), "");
  EXPECT_EQ(Errors("resourceVersion=0&resourceVersionMatch=NotOlderThan"), "");
  EXPECT_EQ(Errors("resourceVersionMatch=Exact"),
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless "
            "resourceVersion is provided");
  EXPECT_EQ(Errors("resourceVersion=0&resourceVersionMatch=Exact"),
            "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for "
            "resourceVersion \"0\"");
  EXPECT_EQ(Errors("resourceVersion=5&resourceVersionMatch=Newest"),
            "resourceVersionMatch: Unsupported value: \"Newest\": supported values: \"Exact\", "
            "\"NotOlderThan\", \"\"");
  EXPECT_EQ(Errors("resourceVersion=5&resourceVersionMatch=Exact&continue=5|k"),
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue "
            "is provided");
  EXPECT_EQ(Errors("sendInitialEvents=true"),
            "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list");
  // Watches.
  EXPECT_EQ(Errors("watch=true&resourceVersionMatch=NotOlderThan"),
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch "
            "unless sendInitialEvents is provided");
  EXPECT_EQ(Errors("watch=true&sendInitialEvents=true"),
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
            "resourceVersionMatch to NotOlderThan");
  EXPECT_EQ(Errors("watch=true&sendInitialEvents=true&resourceVersionMatch=Exact"),
            "[resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
            "resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "
            "\"Exact\": supported values: \"NotOlderThan\"]");
  EXPECT_EQ(Errors("watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan"), "");
}

TEST(ListOptionsTest, ReadsFollowResourceVersionAndMatch) {
  EXPECT_EQ(ListReadOf(Parse("")), ListRead::kConsistent);
  EXPECT_EQ(ListReadOf(Parse("limit=5")), ListRead::kConsistent);
  EXPECT_EQ(ListReadOf(Parse("resourceVersion=0")), ListRead::kAny);
  EXPECT_EQ(ListReadOf(Parse("resourceVersion=0&limit=5")), ListRead::kAny);
  EXPECT_EQ(ListReadOf(Parse("resourceVersion=7")), ListRead::kNotOlderThan);
  EXPECT_EQ(ListReadOf(Parse("resourceVersion=7&limit=5")), ListRead::kExact);  // legacy
  EXPECT_EQ(ListReadOf(Parse("resourceVersion=7&resourceVersionMatch=NotOlderThan&limit=5")),
            ListRead::kNotOlderThan);
  EXPECT_EQ(ListReadOf(Parse("resourceVersion=7&resourceVersionMatch=Exact")), ListRead::kExact);
}

TEST(ListOptionsTest, BadNumbersAndTokens) {
  HttpRequest req;
  req.query = ParseQuery("resourceVersion=abc");
  EXPECT_EQ(ParseListOptions(req).status().message(), "invalid resourceVersion: abc");
  req.query = ParseQuery("limit=x");
  EXPECT_EQ(ParseListOptions(req).status().message(), "invalid limit: x");
  auto t = DecodeContinue(EncodeContinue(42, "/registry/pods/ns/a"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->revision, 42);
  EXPECT_EQ(t->last_key, "/registry/pods/ns/a");
  EXPECT_FALSE(DecodeContinue("nonsense").ok());
  EXPECT_FALSE(DecodeContinue("x|k").ok());
}

}  // namespace
}  // namespace keelson::apiserver
