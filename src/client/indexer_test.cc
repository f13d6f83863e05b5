// The indexer: keys, the namespace, spec.nodeName, label and custom indexes as objects come,
// change and go; replace; listers with label selectors.
#include "client/indexer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::client {
namespace {

namespace json = boost::json;

ObjectPtr Pod(std::string_view ns, std::string_view name, std::string_view node = "",
              json::object labels = {}) {
  api::Object o{{"kind", "Pod"},
                {"metadata", json::object{{"name", name}, {"namespace", ns}, {"labels", labels}}},
                {"spec", json::object{}}};
  if (!node.empty()) o["spec"].as_object()["nodeName"] = node;
  return std::make_shared<const api::Object>(std::move(o));
}

std::vector<std::string> Names(const std::vector<ObjectPtr>& objs) {
  std::vector<std::string> out;
  for (const auto& o : objs) out.push_back(ObjectKey(*o));
  return out;
}

TEST(IndexerTest, Keys) {
  EXPECT_EQ(ObjectKey("ns", "a"), "ns/a");
  EXPECT_EQ(ObjectKey("", "node1"), "node1");
  EXPECT_EQ(ObjectKey(*Pod("x", "y")), "x/y");
}

TEST(IndexerTest, UpsertGetDelete) {
  Indexer ix;
  EXPECT_EQ(ix.Upsert(Pod("ns", "a")), nullptr);
  auto b1 = Pod("ns", "b", "n1");
  ix.Upsert(b1);
  auto b2 = Pod("ns", "b", "n2");
  EXPECT_EQ(ix.Upsert(b2), b1);  // the replaced object
  EXPECT_EQ(ix.Get("ns/b"), b2);
  EXPECT_EQ(ix.Get("ns", "b"), b2);
  EXPECT_EQ(ix.Size(), 2u);
  EXPECT_EQ(ix.ListKeys(), (std::vector<std::string>{"ns/a", "ns/b"}));
  EXPECT_EQ(ix.Delete("ns/b"), b2);
  EXPECT_EQ(ix.Delete("ns/b"), nullptr);
  EXPECT_EQ(ix.Get("ns/b"), nullptr);
}

TEST(IndexerTest, NamespaceAndNodeNameIndexesFollowChanges) {
  Indexer ix;
  ASSERT_TRUE(ix.AddIndex(std::string(kNodeNameIndex), NodeNameIndexFunc()).ok());
  ix.Upsert(Pod("a", "p1", "n1"));
  ix.Upsert(Pod("a", "p2", "n2"));
  ix.Upsert(Pod("b", "p3", "n1"));
  ix.Upsert(Pod("b", "unbound"));
  EXPECT_EQ(Names(*ix.ByIndex(kNodeNameIndex, "n1")), (std::vector<std::string>{"a/p1", "b/p3"}));
  EXPECT_EQ(Names(*ix.ByIndex(kNamespaceIndex, "b")), (std::vector<std::string>{"b/p3", "b/unbound"}));
  EXPECT_EQ(*ix.IndexValues(kNodeNameIndex), (std::vector<std::string>{"n1", "n2"}));
  // p1 moves to n2; unbound gets bound; p3 goes.
  ix.Upsert(Pod("a", "p1", "n2"));
  ix.Upsert(Pod("b", "unbound", "n1"));
  ix.Delete("b/p3");
  EXPECT_EQ(Names(*ix.ByIndex(kNodeNameIndex, "n1")), (std::vector<std::string>{"b/unbound"}));
  EXPECT_EQ(Names(*ix.ByIndex(kNodeNameIndex, "n2")), (std::vector<std::string>{"a/p1", "a/p2"}));
  EXPECT_TRUE(ix.ByIndex(kNodeNameIndex, "n9")->empty());
  EXPECT_EQ(ix.ByIndex("nope", "x").status().code(), StatusCode::kNotFound);
}

TEST(IndexerTest, LabelAndCustomIndexesAddedLaterIndexWhatIsCached) {
  Indexer ix;
  ix.Upsert(Pod("a", "p1", "", {{"app", "web"}}));
  ix.Upsert(Pod("a", "p2", "", {{"app", "db"}}));
  ix.Upsert(Pod("a", "p3"));
  ASSERT_TRUE(ix.AddIndex("app", LabelIndexFunc("app")).ok());
  EXPECT_EQ(ix.AddIndex("app", LabelIndexFunc("app")).code(), StatusCode::kAlreadyExists);
  // A custom index with several values per object: every label key.
  ASSERT_TRUE(ix.AddIndex("keys", [](const api::Object& o) {
                  std::vector<std::string> out;
                  for (const auto& [k, v] : api::GetLabels(o)) out.push_back(k);
                  return out;
                }).ok());
  EXPECT_EQ(Names(*ix.ByIndex("app", "web")), (std::vector<std::string>{"a/p1"}));
  EXPECT_EQ(Names(*ix.ByIndex("keys", "app")), (std::vector<std::string>{"a/p1", "a/p2"}));
  ix.Upsert(Pod("a", "p2", "", {{"app", "web"}}));
  EXPECT_EQ(Names(*ix.ByIndex("app", "web")), (std::vector<std::string>{"a/p1", "a/p2"}));
  EXPECT_TRUE(ix.ByIndex("app", "db")->empty());
}

TEST(IndexerTest, ReplaceRebuildsEverything) {
  Indexer ix;
  ASSERT_TRUE(ix.AddIndex(std::string(kNodeNameIndex), NodeNameIndexFunc()).ok());
  ix.Upsert(Pod("a", "old", "n1"));
  ix.Replace({Pod("a", "new", "n2"), Pod("b", "other", "n2")});
  EXPECT_EQ(ix.Get("a/old"), nullptr);
  EXPECT_TRUE(ix.ByIndex(kNodeNameIndex, "n1")->empty());
  EXPECT_EQ(ix.ByIndex(kNodeNameIndex, "n2")->size(), 2u);
  EXPECT_EQ(ix.ByIndex(kNamespaceIndex, "a")->size(), 1u);
}

TEST(IndexerTest, CachedObjectsStayValidAfterReplacement) {
  Indexer ix;
  ix.Upsert(Pod("a", "p", "n1"));
  ObjectPtr held = ix.Get("a/p");
  ix.Upsert(Pod("a", "p", "n2"));
  ix.Delete("a/p");
  EXPECT_EQ(api::FieldText(*held, "spec.nodeName"), "n1");
}

TEST(ListerTest, ListsWithSelectors) {
  Indexer ix;
  ix.Upsert(Pod("a", "web1", "", {{"app", "web"}}));
  ix.Upsert(Pod("a", "db1", "", {{"app", "db"}}));
  ix.Upsert(Pod("b", "web2", "", {{"app", "web"}, {"tier", "fe"}}));
  Lister lister(&ix);
  auto web = api::LabelSelector::Parse("app=web");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(Names(lister.List(*web)), (std::vector<std::string>{"a/web1", "b/web2"}));
  EXPECT_EQ(Names(lister.List("a", *web)), (std::vector<std::string>{"a/web1"}));
  EXPECT_EQ(lister.List("a").size(), 2u);
  EXPECT_EQ(lister.List().size(), 3u);
  EXPECT_TRUE(lister.List("zzz").empty());
  EXPECT_EQ(lister.Get("b", "web2"), ix.Get("b/web2"));
}

}  // namespace
}  // namespace keelson::client
