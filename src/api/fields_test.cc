// Field selector parsing, escaping, matching and the unsupported-field check.
#include "api/fields.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keelson::api {
namespace {

using Op = FieldRequirement::Operator;

struct ParseOk {
  std::string input;
  std::vector<FieldRequirement> want;
  std::string canonical;
};

TEST(FieldSelectorTest, Parses) {
  const std::vector<ParseOk> cases = {
      {"", {}, ""},
      {",,", {}, ""},
      {"a=b", {{"a", Op::kEquals, "b"}}, "a=b"},
      {"a==b", {{"a", Op::kEquals, "b"}}, "a=b"},
      {"a!=b", {{"a", Op::kNotEquals, "b"}}, "a!=b"},
      {"a=", {{"a", Op::kEquals, ""}}, "a="},
      {"=b", {{"", Op::kEquals, "b"}}, "=b"},
      // Terms sorted by their raw text.
      {"spec.nodeName=n1,metadata.name=p",
       {{"metadata.name", Op::kEquals, "p"}, {"spec.nodeName", Op::kEquals, "n1"}},
       "metadata.name=p,spec.nodeName=n1"},
      {"a=1,,b!=2,", {{"a", Op::kEquals, "1"}, {"b", Op::kNotEquals, "2"}}, "a=1,b!=2"},
      // No trimming: spaces belong to the field and the value.
      {" a = b ", {{" a ", Op::kEquals, " b "}}, " a = b "},
      // Escapes in values.
      {"a=x\\,y", {{"a", Op::kEquals, "x,y"}}, "a=x\\,y"},
      {"a=x\\=y", {{"a", Op::kEquals, "x=y"}}, "a=x\\=y"},
      {"a=x\\\\y", {{"a", Op::kEquals, "x\\y"}}, "a=x\\\\y"},
      {"a!=\\,,b=\\=", {{"a", Op::kNotEquals, ","}, {"b", Op::kEquals, "="}}, "a!=\\,,b=\\="},
      // The first operator splits: '!' alone is part of the field name.
      {"a!b=c", {{"a!b", Op::kEquals, "c"}}, "a!b=c"},
      {"a=h\xC3\xA9", {{"a", Op::kEquals, "h\xC3\xA9"}}, "a=h\xC3\xA9"},
  };
  for (const auto& c : cases) {
    auto s = FieldSelector::Parse(c.input);
    ASSERT_TRUE(s.ok()) << "'" << c.input << "': " << s.status().message();
    EXPECT_EQ(s->Requirements(), c.want) << c.input;
    EXPECT_EQ(s->String(), c.canonical) << c.input;
    EXPECT_EQ(s->Empty(), c.want.empty()) << c.input;
    auto again = FieldSelector::Parse(s->String());
    ASSERT_TRUE(again.ok()) << c.canonical;
    EXPECT_EQ(again->Requirements(), c.want) << c.canonical;
  }
}

struct ParseErr {
  std::string input;
  std::string message;
};

TEST(FieldSelectorTest, RejectsWithUpstreamMessages) {
  const std::vector<ParseErr> cases = {
      {"a", "invalid selector: 'a'; can't understand 'a'"},
      {"x=1,a", "invalid selector: 'x=1,a'; can't understand 'a'"},
      {"a!b", "invalid selector: 'a!b'; can't understand 'a!b'"},
      {"a=b=c", "invalid field selector: unescaped character in value: 61"},
      {"a===b", "invalid field selector: unescaped character in value: 61"},
      {"a=b!=c", "invalid field selector: unescaped character in value: 61"},
      {"a=\\x", "invalid field selector: invalid escape sequence: \\x"},
      {"a=b\\", "invalid field selector: invalid escape sequence: \\"},
      {"a=\\\xC3\xA9", "invalid field selector: invalid escape sequence: \\\xC3\xA9"},
  };
  for (const auto& c : cases) {
    auto s = FieldSelector::Parse(c.input);
    ASSERT_FALSE(s.ok()) << "'" << c.input << "' parsed as '" << s->String() << "'";
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.status().message(), c.message) << c.input;
  }
  // An unescaped ',' cannot reach a value (it splits terms), but the unescaper reports it.
  auto comma = UnescapeFieldValue("a,b");
  ASSERT_FALSE(comma.ok());
  EXPECT_EQ(comma.status().message(), "invalid field selector: unescaped character in value: 44");
}

TEST(FieldSelectorTest, EscapeRoundTrip) {
  for (std::string v : {"", "plain", "a,b", "a=b", "a\\b", "\\,=", "==,,\\\\"}) {
    auto back = UnescapeFieldValue(EscapeFieldValue(v));
    ASSERT_TRUE(back.ok()) << v;
    EXPECT_EQ(*back, v);
  }
  EXPECT_EQ(EscapeFieldValue("a\\b,c=d"), "a\\\\b\\,c\\=d");
}

struct MatchCase {
  std::string selector;
  Fields fields;
  bool want;
};

TEST(FieldSelectorTest, MatchingTreatsMissingFieldsAsEmpty) {
  const std::vector<MatchCase> cases = {
      {"", {}, true},
      {"metadata.name=p", {{"metadata.name", "p"}}, true},
      {"metadata.name=p", {{"metadata.name", "q"}}, false},
      {"metadata.name=p", {}, false},
      {"spec.nodeName!=n1", {{"spec.nodeName", "n2"}}, true},
      {"spec.nodeName!=n1", {{"spec.nodeName", "n1"}}, false},
      {"spec.nodeName!=n1", {}, true},
      {"spec.nodeName=", {}, true},
      {"spec.nodeName=", {{"spec.nodeName", "n1"}}, false},
      {"spec.nodeName!=", {}, false},
      {"a=1,b!=2", {{"a", "1"}, {"b", "3"}}, true},
      {"a=1,b!=2", {{"a", "1"}, {"b", "2"}}, false},
      {"a=x\\,y", {{"a", "x,y"}}, true},
  };
  for (const auto& c : cases) {
    auto s = FieldSelector::Parse(c.selector);
    ASSERT_TRUE(s.ok()) << c.selector;
    EXPECT_EQ(s->Matches(c.fields), c.want) << c.selector;
  }
}

TEST(FieldSelectorTest, RequiresExactMatch) {
  auto s = FieldSelector::Parse("spec.nodeName=n1,metadata.name!=x");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->RequiresExactMatch("spec.nodeName"), "n1");
  EXPECT_EQ(s->RequiresExactMatch("metadata.name"), std::nullopt);
  EXPECT_EQ(s->RequiresExactMatch("status.phase"), std::nullopt);
}

TEST(FieldSelectorTest, CheckSupported) {
  const std::set<std::string> pods = {"metadata.name", "metadata.namespace", "spec.nodeName",
                                      "status.phase"};
  auto ok = FieldSelector::Parse("spec.nodeName=n1,status.phase!=Running");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->CheckSupported(pods, "pods").ok());
  EXPECT_TRUE(FieldSelector().CheckSupported(pods, "pods").ok());

  // The first unsupported field in sorted term order is reported.
  auto bad = FieldSelector::Parse("spec.zzz=1,spec.foo=2,metadata.name=a");
  ASSERT_TRUE(bad.ok());
  Status st = bad->CheckSupported(pods, "pods");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "field label not supported: spec.foo");

  auto meta = FieldSelector::Parse("metadata.namespace=default,metadata.name=a");
  ASSERT_TRUE(meta.ok());
  EXPECT_TRUE(meta->CheckDefaultSupported().ok());
  Status def = bad->CheckDefaultSupported();
  EXPECT_EQ(def.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(def.message(),
            "\"spec.foo\" is not a known field selector: only \"metadata.name\", "
            "\"metadata.namespace\"");
}

}  // namespace
}  // namespace keelson::api
