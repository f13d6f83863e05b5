// Name, label-key, label-value and annotation validation against upstream's messages.
#include "api/validation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keelson::api {
namespace {

using Msgs = std::vector<std::string>;

// Upstream's full texts, spelled out once so every table below compares whole messages.
const std::string kNameRegexMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const std::string kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const std::string kDNS1123LabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const std::string kDNS1123SubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const std::string kDNS1035LabelMsg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

struct Case {
  std::string input;
  Msgs want;
};

TEST(ValidationTest, DNS1123Label) {
  const std::vector<Case> cases = {
      {"a", {}},
      {"0", {}},
      {"a-b-c", {}},
      {"1-2", {}},
      {std::string(63, 'a'), {}},
      {std::string(64, 'a'), {"must be no more than 63 characters"}},
      {"", {kDNS1123LabelMsg}},
      {"A", {kDNS1123LabelMsg}},
      {"-a", {kDNS1123LabelMsg}},
      {"a-", {kDNS1123LabelMsg}},
      {"a_b", {kDNS1123LabelMsg}},
      {"a.b", {"must not contain dots"}},
      {"a..b", {kDNS1123LabelMsg}},
      {std::string(64, 'a') + "_", {"must be no more than 63 characters", kDNS1123LabelMsg}},
  };
  for (const auto& c : cases) EXPECT_EQ(IsDNS1123Label(c.input), c.want) << c.input;
}

TEST(ValidationTest, DNS1123Subdomain) {
  std::string longest;  // 253 bytes of valid labels
  while (longest.size() < 253) longest += longest.empty() ? "a" : ".a";
  ASSERT_EQ(longest.size(), 253u);
  const std::vector<Case> cases = {
      {"example.com", {}},
      {"a", {}},
      {"a-1.b-2.c", {}},
      {longest, {}},
      {longest + "a", {"must be no more than 253 characters"}},
      {"", {kDNS1123SubdomainMsg}},
      {"Example.com", {kDNS1123SubdomainMsg}},
      {".a", {kDNS1123SubdomainMsg}},
      {"a.", {kDNS1123SubdomainMsg}},
      {"a..b", {kDNS1123SubdomainMsg}},
      {"a.-b", {kDNS1123SubdomainMsg}},
      {"a_b.c", {kDNS1123SubdomainMsg}},
  };
  for (const auto& c : cases) EXPECT_EQ(IsDNS1123Subdomain(c.input), c.want) << c.input;
}

TEST(ValidationTest, DNS1035Label) {
  const std::vector<Case> cases = {
      {"a", {}},
      {"a-1", {}},
      {"1a", {kDNS1035LabelMsg}},
      {"a-", {kDNS1035LabelMsg}},
      {"", {kDNS1035LabelMsg}},
      {std::string(64, 'a'), {"must be no more than 63 characters"}},
  };
  for (const auto& c : cases) EXPECT_EQ(IsDNS1035Label(c.input), c.want) << c.input;
}

TEST(ValidationTest, QualifiedName) {
  const std::string long_prefix = std::string(254, 'a');
  const std::vector<Case> cases = {
      {"simple", {}},
      {"now-with-dashes", {}},
      {"1-starts-with-num", {}},
      {"1234", {}},
      {"simple/simple", {}},
      {"now-with-dashes/simple", {}},
      {"example.com/Upper_Case.And-dots", {}},
      {"A", {}},
      {std::string(63, 'a'), {}},
      {std::string(253, 'a') + "/" + std::string(63, 'b'), {}},
      {"", {"name part must be non-empty", "name part " + kNameRegexMsg}},
      {std::string(64, 'a'), {"name part must be no more than 63 characters"}},
      {"-a", {"name part " + kNameRegexMsg}},
      {"a b", {"name part " + kNameRegexMsg}},
      {"a@b", {"name part " + kNameRegexMsg}},
      {"/a", {"prefix part must be non-empty"}},
      {"a/", {"name part must be non-empty", "name part " + kNameRegexMsg}},
      {"Example.com/a", {"prefix part " + kDNS1123SubdomainMsg}},
      {long_prefix + "/a", {"prefix part must be no more than 253 characters"}},
      {"a/b/c",
       {"a qualified name " + kNameRegexMsg +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"}},
  };
  for (const auto& c : cases) EXPECT_EQ(IsQualifiedName(c.input), c.want) << c.input;
}

TEST(ValidationTest, LabelValue) {
  const std::vector<Case> cases = {
      {"", {}},
      {"a", {}},
      {"MyValue", {}},
      {"my_value", {}},
      {"1.2-3_4", {}},
      {std::string(63, 'v'), {}},
      {std::string(64, 'v'), {"must be no more than 63 characters"}},
      {"-a", {kLabelValueMsg}},
      {"a.", {kLabelValueMsg}},
      {"a/b", {kLabelValueMsg}},
      {"a b", {kLabelValueMsg}},
      {std::string(64, 'v') + "-", {"must be no more than 63 characters", kLabelValueMsg}},
  };
  for (const auto& c : cases) EXPECT_EQ(IsValidLabelValue(c.input), c.want) << c.input;
}

TEST(ValidationTest, GenerateNamePrefixMayEndInDash) {
  EXPECT_EQ(NameIsDNSSubdomain("web-", true), Msgs{});
  EXPECT_EQ(NameIsDNSSubdomain("web-", false), Msgs{kDNS1123SubdomainMsg});
  EXPECT_EQ(NameIsDNSLabel("web-", true), Msgs{});
  EXPECT_EQ(NameIsDNS1035Label("web-", true), Msgs{});
  EXPECT_EQ(NameIsDNSLabel("Web-", true), Msgs{kDNS1123LabelMsg});
  // A lone "-" is not masked (upstream needs more than one byte).
  EXPECT_EQ(NameIsDNSLabel("-", true), Msgs{kDNS1123LabelMsg});
  // Upstream's mask drops the byte before the dash, so a 64-byte prefix ending in '-' still
  // passes the 63-byte label limit; 65 bytes do not.
  EXPECT_EQ(NameIsDNSLabel(std::string(63, 'a') + "-", true), Msgs{});
  EXPECT_EQ(NameIsDNSLabel(std::string(64, 'a') + "-", true),
            Msgs{"must be no more than 63 characters"});
}

TEST(ValidationTest, ValidateLabelsReportsKeysAndValues) {
  EXPECT_TRUE(ValidateLabels({{"app", "web"}, {"example.com/tier", ""}}).empty());

  auto errs = ValidateLabels({{"bad key", "ok"}, {"ok", "bad value"}});
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].ToString("metadata.labels"),
            "metadata.labels: Invalid value: \"bad key\": name part " + kNameRegexMsg);
  EXPECT_EQ(errs[1].ToString("metadata.labels"),
            "metadata.labels: Invalid value: \"bad value\": " + kLabelValueMsg);
  EXPECT_EQ(errs[1].Reason(), "FieldValueInvalid");
}

TEST(ValidationTest, AnnotationKeysIgnoreCaseAndValuesAreFree) {
  EXPECT_TRUE(ValidateAnnotations({{"Example.COM/Some-Key", "any value / at all, even = !"}})
                  .empty());
  auto errs = ValidateAnnotations({{"a/b/c", ""}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].bad_value, "a/b/c");  // reported as written, not lowercased
}

TEST(ValidationTest, AnnotationsTotalSizeLimit) {
  // key "k" (1 byte) + value: exactly at the limit is fine, one byte more is not.
  Annotations at_limit = {{"k", std::string(kTotalAnnotationSizeLimitBytes - 1, 'x')}};
  EXPECT_TRUE(ValidateAnnotations(at_limit).empty());

  Annotations over = {{"k", std::string(kTotalAnnotationSizeLimitBytes - 1, 'x')}, {"j", ""}};
  auto errs = ValidateAnnotations(over);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].type, FieldError::Type::kTooLong);
  EXPECT_EQ(errs[0].ToString("metadata.annotations"),
            "metadata.annotations: Too long: may not be more than 262144 bytes");
}

TEST(ValidationTest, FieldErrorBodies) {
  EXPECT_EQ((FieldError{FieldError::Type::kRequired, "values", "", "must be set"}.ToString(
                "spec.selector")),
            "spec.selector.values: Required value: must be set");
  EXPECT_EQ((FieldError{FieldError::Type::kForbidden, "[0]", "x", "no"}.ToString("items")),
            "items[0]: Forbidden: no");
  EXPECT_EQ((FieldError{FieldError::Type::kInvalid, "key", "x", "bad"}.ToString()),
            "key: Invalid value: \"x\": bad");
}

TEST(ValidationTest, GoQuoteMatchesStrconvQuote) {
  EXPECT_EQ(GoQuote(""), "\"\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("\n\t\x01\x7f"), "\"\\n\\t\\x01\\x7f\"");
  EXPECT_EQ(GoQuote("h\xC3\xA9llo"), "\"h\xC3\xA9llo\"");  // printable UTF-8 kept
  EXPECT_EQ(GoQuote("\xFF"), "\"\\xff\"");                // invalid byte
  EXPECT_EQ(GoQuote("\xC2\x85"), "\"\\u0085\"");          // C1 control
}

TEST(ValidationTest, AggregateMessageFormats) {
  EXPECT_EQ(AggregateMessage(std::vector<std::string>{"one"}), "one");
  EXPECT_EQ(AggregateMessage(std::vector<std::string>{"a", "b", "a"}), "[a, b]");
  EXPECT_EQ(AggregateMessage(std::vector<std::string>{"a", "a"}), "a");
}

}  // namespace
}  // namespace keelson::api
