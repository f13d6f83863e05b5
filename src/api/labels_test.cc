// Label selector parsing, normalisation, matching and the structured form, checked against
// upstream's grammar and message texts.
#include "api/labels.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keelson::api {
namespace {

const std::string kNameRegexMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const std::string kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

// Input and its canonical String().
struct ParseOk {
  std::string input;
  std::string canonical;
};

TEST(LabelSelectorTest, ParsesAndNormalises) {
  const std::vector<ParseOk> cases = {
      {"", ""},
      {"   ", ""},
      {"x=a", "x=a"},
      {"x==a", "x==a"},
      {"x!=a", "x!=a"},
      {"x", "x"},
      {"!x", "!x"},
      {"  !  x  ", "!x"},
      {"x=", "x="},
      {"x= ,y", "x=,y"},
      {"x>1", "x>1"},
      {"x<10", "x<10"},
      // Requirements sorted by key; values sorted and de-duplicated.
      {"z=1,a=2,m", "a=2,m,z=1"},
      {"x in (c,a,b,a)", "x in (a,b,c)"},
      {"x notin (b, a)", "x notin (a,b)"},
      {"x in ()", "x in ()"},
      {"x in (,a)", "x in (,a)"},
      {"x in (a,)", "x in (,a)"},
      {"x in (a,,b)", "x in (,a,b)"},
      // Whitespace: space, tab, CR, LF anywhere between tokens.
      {"\tx\n=\ra ,\ty in(a)", "x=a,y in (a)"},
      {"x in(a),y notin(b)", "x in (a),y notin (b)"},
      // "in" and "notin" are identifiers where a key or value is expected.
      {"in in (in,notin)", "in in (in,notin)"},
      {"notin=in", "notin=in"},
      // Same key twice keeps both terms in written order.
      {"x!=b,x!=a", "x!=b,x!=a"},
      {"example.com/app=web", "example.com/app=web"},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::Parse(c.input);
    ASSERT_TRUE(s.ok()) << "'" << c.input << "': " << s.status().message();
    EXPECT_EQ(s->String(), c.canonical) << c.input;
    // The canonical form is a fixed point.
    auto again = LabelSelector::Parse(s->String());
    ASSERT_TRUE(again.ok()) << c.canonical;
    EXPECT_EQ(again->String(), c.canonical);
  }
}

TEST(LabelSelectorTest, EmptyMeansEverything) {
  auto s = LabelSelector::Parse("");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Empty());
  EXPECT_TRUE(s->Matches({}));
  EXPECT_TRUE(s->Matches({{"a", "b"}}));
  auto x = LabelSelector::Parse("x");
  ASSERT_TRUE(x.ok());
  EXPECT_FALSE(x->Empty());

  LabelSelector nothing = LabelSelector::Nothing();
  EXPECT_FALSE(nothing.Empty());
  EXPECT_FALSE(nothing.Matches({}));
  EXPECT_EQ(nothing.String(), "");
}

struct ParseErr {
  std::string input;
  std::string message;
};

TEST(LabelSelectorTest, RejectsWithUpstreamMessages) {
  const std::vector<ParseErr> cases = {
      {",", "found ',', expected: !, identifier, or 'end of string'"},
      {"=a", "found '=', expected: !, identifier, or 'end of string'"},
      {"x=a,", "found '', expected: identifier after ','"},
      {"x=a,,y", "found ',', expected: identifier after ','"},
      {"x=a y", "found 'y', expected: ',' or 'end of string'"},
      {"x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"},
      {"x=(", "unable to parse requirement: found '(', expected: identifier"},
      {"x in", "unable to parse requirement: found '' expected: '('"},
      {"x in a", "unable to parse requirement: found 'a' expected: '('"},
      {"x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"},
      {"x in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
      {"x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"},
      {"x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
      {"x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
      {"!", "unable to parse requirement: found '', expected: identifier"},
      {"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
      {"!x=a", "found '=', expected: ',' or 'end of string'"},
      {"!x in (a)", "found 'in', expected: ',' or 'end of string'"},
      {"x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"},
      {"x===a", "unable to parse requirement: found '=', expected: identifier"},
      {"a@b", "unable to parse requirement: <nil>: Invalid value: \"a@b\": " + kNameRegexMsg},
      {"/a=b", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be "
               "non-empty"},
      {std::string(64, 'k'),
       "unable to parse requirement: <nil>: Invalid value: \"" + std::string(64, 'k') +
           "\": name part must be no more than 63 characters"},
      {"x=a/b",
       "unable to parse requirement: values[0][x]: Invalid value: \"a/b\": " + kLabelValueMsg},
      {"x=" + std::string(64, 'v'),
       "unable to parse requirement: values[0][x]: Invalid value: \"" + std::string(64, 'v') +
           "\": must be no more than 63 characters"},
      {"x in (ok,-bad,_bad)",
       "unable to parse requirement: [values[0][x]: Invalid value: \"-bad\": " + kLabelValueMsg +
           ", values[1][x]: Invalid value: \"_bad\": " + kLabelValueMsg + "]"},
      {"x>a",
       "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' "
       "operators, the value must be an integer"},
      {"x<", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' "
             "operators, the value must be an integer"},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::Parse(c.input);
    ASSERT_FALSE(s.ok()) << "'" << c.input << "' parsed as '" << s->String() << "'";
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), c.message) << c.input;
  }
}

TEST(LabelSelectorTest, KeyAndValueLengthLimits) {
  const std::string k63(63, 'k'), v63(63, 'v');
  const std::string prefix253 = std::string(249, 'p') + ".com";
  ASSERT_EQ(prefix253.size(), 253u);
  EXPECT_TRUE(LabelSelector::Parse(k63 + "=" + v63).ok());
  EXPECT_TRUE(LabelSelector::Parse(prefix253 + "/" + k63).ok());
  EXPECT_FALSE(LabelSelector::Parse("p" + prefix253 + "/" + k63).ok());
  EXPECT_FALSE(LabelSelector::Parse(k63 + "k").ok());
  EXPECT_FALSE(LabelSelector::Parse("k=" + v63 + "v").ok());
}

struct MatchCase {
  std::string selector;
  Labels labels;
  bool want;
};

TEST(LabelSelectorTest, MatchingSemantics) {
  const std::vector<MatchCase> cases = {
      {"", {}, true},
      {"x=a", {{"x", "a"}}, true},
      {"x=a", {{"x", "b"}}, false},
      {"x=a", {}, false},
      {"x==a", {{"x", "a"}}, true},
      {"x=", {{"x", ""}}, true},
      {"x=", {}, false},
      // != and notin match when the key is absent.
      {"x!=a", {}, true},
      {"x!=a", {{"x", "b"}}, true},
      {"x!=a", {{"x", "a"}}, false},
      {"x notin (a,b)", {}, true},
      {"x notin (a,b)", {{"x", "c"}}, true},
      {"x notin (a,b)", {{"x", "b"}}, false},
      {"x in (a,b)", {{"x", "b"}}, true},
      {"x in (a,b)", {{"x", "c"}}, false},
      {"x in (a,b)", {}, false},
      {"x in (,a)", {{"x", ""}}, true},
      {"x", {{"x", ""}}, true},
      {"x", {{"y", "a"}}, false},
      {"!x", {{"y", "a"}}, true},
      {"!x", {{"x", ""}}, false},
      {"x>5", {{"x", "6"}}, true},
      {"x>5", {{"x", "5"}}, false},
      {"x>5", {{"x", "+6"}}, true},
      {"x>5", {{"x", "six"}}, false},
      {"x>5", {}, false},
      {"x<5", {{"x", "-9223372036854775808"}}, true},
      {"x<5", {{"x", "9223372036854775808"}}, false},  // out of int64 range
      {"x<10", {{"x", "9"}}, true},  // numeric, not lexical
      // AND of all requirements.
      {"x=a,y", {{"x", "a"}, {"y", "1"}}, true},
      {"x=a,y", {{"x", "a"}}, false},
      {"x=a,!y", {{"x", "a"}}, true},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::Parse(c.selector);
    ASSERT_TRUE(s.ok()) << c.selector << ": " << s.status().message();
    EXPECT_EQ(s->Matches(c.labels), c.want) << c.selector;
  }
}

TEST(LabelSelectorTest, RequirementsAccessors) {
  auto s = LabelSelector::Parse("b in (y,x),a!=1,!c");
  ASSERT_TRUE(s.ok());
  const auto& reqs = s->Requirements();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].key(), "a");
  EXPECT_EQ(reqs[0].op(), SelectorOperator::kNotEquals);
  EXPECT_EQ(reqs[0].values(), (std::vector<std::string>{"1"}));
  EXPECT_EQ(reqs[1].key(), "b");
  EXPECT_EQ(reqs[1].op(), SelectorOperator::kIn);
  EXPECT_EQ(reqs[1].values(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(reqs[2].op(), SelectorOperator::kDoesNotExist);
  EXPECT_TRUE(reqs[2].values().empty());
  EXPECT_EQ(OperatorName(reqs[1].op()), "in");
}

TEST(LabelSelectorTest, RequiresExactMatch) {
  auto s = LabelSelector::Parse("a=1,b in (2),c in (3,4),d!=5");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->RequiresExactMatch("a"), "1");
  EXPECT_EQ(s->RequiresExactMatch("b"), "2");
  EXPECT_EQ(s->RequiresExactMatch("c"), std::nullopt);
  EXPECT_EQ(s->RequiresExactMatch("d"), std::nullopt);
  EXPECT_EQ(s->RequiresExactMatch("e"), std::nullopt);
}

TEST(LabelSelectorTest, NulBytesBehaveLikeUpstreamLexer) {
  // Upstream's lexer reads a NUL byte as "no more input": where a token would start it ends
  // the selector (the rest is ignored); inside a token it just ends that token.
  auto ended = LabelSelector::Parse(std::string("x=a \0,garbage(", 14));
  ASSERT_TRUE(ended.ok()) << ended.status().message();
  EXPECT_EQ(ended->String(), "x=a");
  auto split = LabelSelector::Parse(std::string("x=a,\0y", 6));
  ASSERT_TRUE(split.ok()) << split.status().message();
  EXPECT_EQ(split->String(), "x=a,y");
}

TEST(LabelSelectorFromMatchTest, BuildsEquivalentSelector) {
  auto s = LabelSelector::FromMatch(
      {{"app", "web"}},
      {{"tier", "In", {"fe", "be"}}, {"canary", "DoesNotExist", {}}, {"env", "NotIn", {"dev"}},
       {"team", "Exists", {}}});
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->String(), "app=web,!canary,env notin (dev),team,tier in (be,fe)");
  EXPECT_TRUE(s->Matches({{"app", "web"}, {"tier", "fe"}, {"team", "x"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "fe"}, {"team", "x"}, {"canary", "1"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "fe"}, {"team", "x"}, {"env", "dev"}}));
  // Values keep their given order in memory; String() sorts them.
  EXPECT_EQ(s->Requirements().back().values(), (std::vector<std::string>{"fe", "be"}));

  auto parsed = LabelSelector::Parse(s->String());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->String(), s->String());
}

TEST(LabelSelectorFromMatchTest, EmptyMatchesEverything) {
  auto s = LabelSelector::FromMatch({}, {});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Empty());
  EXPECT_TRUE(s->Matches({{"a", "b"}}));
}

struct MatchErr {
  Labels labels;
  std::vector<MatchExpression> exprs;
  std::string message;
};

TEST(LabelSelectorFromMatchTest, RejectsWithUpstreamValidationMessages) {
  const std::vector<MatchErr> cases = {
      {{}, {{"k", "In", {}}},
       "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' "
       "or 'NotIn'"},
      {{}, {{"k", "NotIn", {}}},
       "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' "
       "or 'NotIn'"},
      {{}, {{"k", "Exists", {"v"}}},
       "matchExpressions[0].values: Forbidden: may not be specified when `operator` is "
       "'Exists' or 'DoesNotExist'"},
      {{}, {{"k", "in", {"v"}}},
       "matchExpressions[0].operator: Invalid value: \"in\": not a valid selector operator"},
      {{}, {{"k", "Gt", {"1"}}},
       "matchExpressions[0].operator: Invalid value: \"Gt\": not a valid selector operator"},
      {{}, {{"", "Exists", {}}},
       "[matchExpressions[0].key: Invalid value: \"\": name part must be non-empty, "
       "matchExpressions[0].key: Invalid value: \"\": " + kNameRegexMsg + "]"},
      {{}, {{"k", "In", {"ok", "no way"}}},
       "matchExpressions[0].values[1]: Invalid value: \"no way\": " + kLabelValueMsg},
      {{{"bad key", "v"}}, {},
       "matchLabels: Invalid value: \"bad key\": " + kNameRegexMsg},
      {{{"k", "bad value"}}, {{"ok", "Exists", {}}, {"k2", "Bogus", {}}},
       "[matchLabels: Invalid value: \"bad value\": " + kLabelValueMsg +
           ", matchExpressions[1].operator: Invalid value: \"Bogus\": not a valid selector "
           "operator]"},
  };
  for (const auto& c : cases) {
    auto s = LabelSelector::FromMatch(c.labels, c.exprs);
    ASSERT_FALSE(s.ok()) << c.message;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), c.message);
  }
}

TEST(LabelSelectorFromMatchTest, ValidateMatchGivesFieldErrors) {
  auto errs = LabelSelector::ValidateMatch({}, {{"k", "In", {}}});
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].type, FieldError::Type::kRequired);
  EXPECT_EQ(errs[0].ToString("spec.selector"),
            "spec.selector.matchExpressions[0].values: Required value: must be specified when "
            "`operator` is 'In' or 'NotIn'");
  EXPECT_TRUE(LabelSelector::ValidateMatch({{"a", "b"}}, {{"c", "Exists", {}}}).empty());
}

}  // namespace
}  // namespace keelson::api
