// Tests of the watch cache against the real embedded store in a temp dir: lists at the current
// and at older revisions, selectors, pagination, resuming watches and the ring's limit, slow
// watchers, bookmarks and progress, and recovery when the store watch breaks.
#include "apiserver/watch_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "test/util/stores.h"

namespace keelson::apiserver {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A store that passes everything through but can break the watches it has handed out.
class FaultyStore final : public store::Store {
 public:
  enum class Fault { kNone, kCompacted, kUnavailable };

  explicit FaultyStore(store::Store* inner) : inner_(inner) {}

  // Every watch opened before this call fails once with `f`; later ones work.
  void BreakWatches(Fault f) {
    std::lock_guard l(mu_);
    fault_ = f;
    ++break_generation_;
  }
  int watches_opened() {
    std::lock_guard l(mu_);
    return opened_;
  }

  Result<store::RangeResponse> Range(const store::RangeRequest& r) override {
    return inner_->Range(r);
  }
  void TxnAsync(store::TxnRequest r, TxnCallback done) override {
    inner_->TxnAsync(std::move(r), std::move(done));
  }
  Result<std::unique_ptr<store::WatchStream>> Watch(const store::WatchOptions& o) override;
  Result<int64_t> Compact(int64_t r) override { return inner_->Compact(r); }
  Result<store::LeaseGrantResponse> LeaseGrant(int64_t ttl, int64_t id) override {
    return inner_->LeaseGrant(ttl, id);
  }
  Result<int64_t> LeaseKeepAlive(int64_t id) override { return inner_->LeaseKeepAlive(id); }
  Status LeaseRevoke(int64_t id) override { return inner_->LeaseRevoke(id); }
  Result<store::LeaseTimeToLiveResponse> LeaseTimeToLive(int64_t id, bool keys) override {
    return inner_->LeaseTimeToLive(id, keys);
  }
  Result<std::vector<int64_t>> LeaseList() override { return inner_->LeaseList(); }
  Result<store::StoreStatus> GetStatus() override { return inner_->GetStatus(); }
  Status Snapshot(const std::function<Status(std::string_view)>& sink) override {
    return inner_->Snapshot(sink);
  }

 private:
  friend class FaultyStream;
  store::Store* inner_;
  std::mutex mu_;
  Fault fault_ = Fault::kNone;  // guarded by mu_
  int break_generation_ = 0;    // guarded by mu_
  int opened_ = 0;              // guarded by mu_
};

class FaultyStream final : public store::WatchStream {
 public:
  FaultyStream(FaultyStore* owner, std::unique_ptr<store::WatchStream> inner, int generation)
      : owner_(owner), inner_(std::move(inner)), generation_(generation) {}
  Result<store::WatchBatch> Next(std::chrono::milliseconds timeout) override {
    {
      std::lock_guard l(owner_->mu_);
      if (generation_ < owner_->break_generation_) {
        if (owner_->fault_ == FaultyStore::Fault::kUnavailable) {
          return UnavailableError("connection lost");
        }
        store::WatchBatch b;
        b.canceled = true;
        b.compact_revision = 1;
        b.cancel_reason = store::kErrCompacted;
        return b;
      }
    }
    return inner_->Next(timeout);
  }
  void RequestProgress() override { inner_->RequestProgress(); }
  void SetReadyCallback(std::function<void()> ready) override {
    inner_->SetReadyCallback(std::move(ready));
  }
  void Cancel() override { inner_->Cancel(); }

 private:
  FaultyStore* owner_;
  std::unique_ptr<store::WatchStream> inner_;
  int generation_;
};

Result<std::unique_ptr<store::WatchStream>> FaultyStore::Watch(const store::WatchOptions& o) {
  auto s = inner_->Watch(o);
  if (!s.ok()) return s.status();
  std::lock_guard l(mu_);
  ++opened_;
  return std::unique_ptr<store::WatchStream>(
      std::make_unique<FaultyStream>(this, std::move(*s), break_generation_));
}

// Records what a watch is sent, as "TYPE name rv" lines. A stalled sink never drains, so its
// backlog grows with every flush.
class RecordingSink final : public WatchSink {
 public:
  explicit RecordingSink(bool stalled = false) : stalled_(stalled) {}

  size_t Add(const WatchEvent& e) override {
    static constexpr const char* kTypes[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
    std::string line = kTypes[static_cast<int>(e.type)];
    if (e.object != nullptr) {
      std::string_view key = e.object->key();
      line += " " + std::string(key.substr(key.rfind('/') + 1)) + " " +
              std::to_string(e.object->revision());
      // The JSON must carry the same resourceVersion.
      EXPECT_NE(e.object->json().find("\"resourceVersion\":\"" +
                                      std::to_string(e.object->revision()) + "\""),
                std::string_view::npos);
    } else {
      line += " " + std::to_string(e.revision) + (e.initial_events_end ? " end" : "");
    }
    buffered_.push_back(line);
    buffered_bytes_ += line.size() + (e.object ? e.object->json().size() : 0);
    return buffered_bytes_;
  }
  bool Flush() override {
    std::lock_guard l(mu_);
    for (auto& s : buffered_) lines_.push_back(std::move(s));
    backlog_ += stalled_ ? buffered_bytes_ : 0;
    buffered_.clear();
    buffered_bytes_ = 0;
    cv_.notify_all();
    return true;
  }
  size_t Backlog() const override {
    std::lock_guard l(mu_);
    return backlog_;
  }
  void End() override {
    std::lock_guard l(mu_);
    ++ended_;
    cv_.notify_all();
  }

  std::vector<std::string> lines() const {
    std::lock_guard l(mu_);
    return lines_;
  }
  std::vector<std::string> events() const {  // without bookmarks
    std::vector<std::string> out;
    for (auto& s : lines()) {
      if (s.rfind("BOOKMARK", 0) != 0) out.push_back(s);
    }
    return out;
  }
  int ended() const {
    std::lock_guard l(mu_);
    return ended_;
  }
  bool WaitFor(const std::function<bool(const std::vector<std::string>&)>& pred,
               std::chrono::milliseconds timeout = 5s) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [&] { return pred(lines_); });
  }
  bool WaitLines(size_t n) {
    return WaitFor([&](const auto& ls) { return ls.size() >= n; });
  }
  bool WaitEnded() {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, 5s, [&] { return ended_ > 0; });
  }

 private:
  const bool stalled_;
  std::vector<std::string> buffered_;  // used by the cache's one writer at a time
  size_t buffered_bytes_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;  // guarded by mu_
  size_t backlog_ = 0;              // guarded by mu_
  int ended_ = 0;                   // guarded by mu_
};

const std::vector<std::string> kFields = {"metadata.name", "metadata.namespace", "status.phase"};

std::string Obj(const std::string& ns, const std::string& name, const std::string& app,
                const std::string& phase = "Pending") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"(","namespace":")" + ns + R"(","labels":{"app":")" + app +
         R"("}},"status":{"phase":")" + phase + R"("}})";
}

std::string Key(const std::string& ns, const std::string& name) {
  return "/registry/pods/" + ns + "/" + name;
}

ObjectFilter AppIs(std::string app) {
  return [app](const CachedObject& o) {
    auto l = o.Labels();
    auto it = l.find("app");
    return it != l.end() && it->second == app;
  };
}

// A list request (no index).
CacheListRequest Q(std::string prefix, std::string after, int64_t limit, int64_t revision,
                   ObjectFilter filter) {
  CacheListRequest r;
  r.prefix = std::move(prefix);
  r.after = std::move(after);
  r.limit = limit;
  r.revision = revision;
  r.filter = std::move(filter);
  return r;
}

class WatchCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    faulty_ = std::make_unique<FaultyStore>(store_.get());
  }
  void TearDown() override {
    if (cache_) cache_->Stop();
  }

  void StartCache(size_t ring = 1000, size_t max_backlog = 16 << 20,
                  std::chrono::milliseconds bookmarks = 1000ms) {
    WatchCacheOptions o;
    o.field_paths = kFields;
    o.ring_capacity = ring;
    o.max_watcher_backlog = max_backlog;
    o.bookmark_interval = bookmarks;
    o.list_page = 7;  // several pages even for small tests
    cache_ = WatchCache::Start(faulty_.get(), "/registry/pods/", std::move(o));
    ASSERT_TRUE(Fresh(0).ok());
  }

  int64_t Put(const std::string& ns, const std::string& name, const std::string& app,
              const std::string& phase = "Pending") {
    auto r = store_->Put(Key(ns, name), Obj(ns, name, app, phase));
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->revision : 0;
  }
  int64_t Delete(const std::string& ns, const std::string& name) {
    auto r = store_->DeleteRange({Key(ns, name), "", false});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->revision : 0;
  }
  int64_t StoreRevision() {
    store::RangeRequest rr;
    rr.key = "/";
    auto r = store_->Range(rr);
    return r.ok() ? r->revision : 0;
  }

  // WhenFresh as a blocking call.
  Result<int64_t> Fresh(int64_t min, std::chrono::milliseconds wait = 3s) {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<int64_t>> out;
    cache_->WhenFresh(min, Clock::now() + wait, [&](Result<int64_t> r) {
      std::lock_guard l(mu);
      out = std::move(r);
      cv.notify_all();
    });
    std::unique_lock l(mu);
    cv.wait(l, [&] { return out.has_value(); });
    return std::move(*out);
  }

  // Names (with their resourceVersions) a list returns.
  static std::vector<std::string> Names(const CacheListResult& r) {
    std::vector<std::string> out;
    for (const auto& o : r.items) {
      std::string_view k = o->key();
      out.push_back(std::string(k.substr(k.rfind('/') + 1)) + "@" + std::to_string(o->revision()));
    }
    return out;
  }
  // The same from the store, at `revision`.
  std::vector<std::string> StoreNames(const std::string& prefix, int64_t revision) {
    store::RangeRequest rr;
    rr.key = prefix;
    rr.range_end = store::PrefixEnd(prefix);
    rr.revision = revision;
    auto r = store_->Range(rr);
    EXPECT_TRUE(r.ok());
    std::vector<std::string> out;
    for (const auto& kv : r->kvs) {
      out.push_back(kv.key.substr(kv.key.rfind('/') + 1) + "@" + std::to_string(kv.mod_revision));
    }
    return out;
  }

  Result<std::shared_ptr<CacheWatch>> Watch(std::shared_ptr<RecordingSink> sink, int64_t from,
                                            bool initial = false, ObjectFilter filter = nullptr,
                                            bool bookmarks = false, bool end = false) {
    CacheWatchRequest r;
    r.prefix = "/registry/pods/";
    r.filter = std::move(filter);
    r.initial_events = initial;
    r.resource_version = from;
    r.bookmarks = bookmarks;
    r.initial_events_end = end;
    return cache_->Watch(std::move(r), std::move(sink));
  }

  testing::TempDir dir_{"keelson-watchcache"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<FaultyStore> faulty_;
  std::unique_ptr<WatchCache> cache_;
};

TEST_F(WatchCacheTest, CachedObjectCarriesItsRevisionLabelsAndFields) {
  auto o = CachedObject::Build(Key("ns1", "a"), Obj("ns1", "a", "web", "Running"), 42, kFields);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ((*o)->key(), Key("ns1", "a"));
  EXPECT_EQ((*o)->revision(), 42);
  EXPECT_EQ((*o)->json(),
            R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"ns1",)"
            R"("labels":{"app":"web"},"resourceVersion":"42"},"status":{"phase":"Running"}})");
  EXPECT_EQ((*o)->Labels(), (api::Labels{{"app", "web"}}));
  EXPECT_EQ((*o)->Fields(kFields),
            (api::Fields{{"metadata.name", "a"}, {"metadata.namespace", "ns1"},
                         {"status.phase", "Running"}}));
  auto d = (*o)->WithRevision(50, kFields);
  EXPECT_EQ(d->revision(), 50);
  EXPECT_NE(d->json().find("\"resourceVersion\":\"50\""), std::string_view::npos);
  EXPECT_EQ(d->Labels(), (*o)->Labels());
  EXPECT_FALSE(CachedObject::Build("/k", "not json", 1, kFields).ok());
}

TEST_F(WatchCacheTest, ListsTheCurrentStateAndOlderRevisionsAsTheStoreHasThem) {
  for (int i = 0; i < 20; ++i) Put(i % 2 ? "ns1" : "ns2", "p" + std::to_string(i), "web");
  StartCache();
  int64_t r1 = StoreRevision();
  ASSERT_TRUE(Fresh(r1).ok());
  auto now = cache_->List(Q("/registry/pods/", "", 0, 0, nullptr));
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->revision, r1);
  EXPECT_EQ(Names(*now), StoreNames("/registry/pods/", r1));
  EXPECT_EQ(now->items.size(), 20u);

  // Change things: updates, deletes, creates, several per key.
  Put("ns1", "p1", "web", "Running");
  Delete("ns2", "p2");
  Put("ns1", "p1", "db");
  Put("ns3", "new", "web");
  Delete("ns1", "p3");
  Put("ns1", "p3", "again");
  int64_t r2 = StoreRevision();
  ASSERT_TRUE(Fresh(r2).ok());
  for (int64_t at : {r1, r1 + 1, r1 + 3, r2}) {
    for (std::string prefix : {"/registry/pods/", "/registry/pods/ns1/", "/registry/pods/ns3/"}) {
      auto l = cache_->List(Q(prefix, "", 0, at, nullptr));
      ASSERT_TRUE(l.ok()) << at;
      EXPECT_EQ(l->revision, at);
      EXPECT_EQ(Names(*l), StoreNames(prefix, at)) << prefix << " at " << at;
    }
  }
  // Not held: before the cache's list, or ahead of it.
  EXPECT_EQ(cache_->List(Q("/registry/pods/", "", 0, r1 - 1, nullptr)).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(cache_->List(Q("/registry/pods/", "", 0, r2 + 100, nullptr)).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(WatchCacheTest, SelectorsFilterListsAndWatchesSeeObjectsEnterAndLeave) {
  Put("ns1", "a", "web");
  Put("ns1", "b", "db");
  StartCache();
  auto l = cache_->List(Q("/registry/pods/", "", 0, 0, AppIs("web")));
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->items.size(), 1u);
  EXPECT_EQ(l->items[0]->key(), Key("ns1", "a"));
  auto by_field = cache_->List(Q("/registry/pods/", "", 0, 0, [](const CachedObject& o) {
                                  return o.Fields(kFields).at("metadata.name") == "b";
                                }));
  ASSERT_EQ(by_field->items.size(), 1u);

  auto sink = std::make_shared<RecordingSink>();
  auto w = Watch(sink, 0, /*initial=*/true, AppIs("web"));
  ASSERT_TRUE(w.ok());
  int64_t r_b = Put("ns1", "b", "web");     // b starts matching: ADDED
  int64_t r_a = Put("ns1", "a", "db");      // a stops matching: DELETED (previous content)
  Put("ns1", "a", "db", "Running");         // still not matching: nothing
  int64_t r_b2 = Put("ns1", "b", "web", "Running");  // MODIFIED
  int64_t r_d = Delete("ns1", "b");         // DELETED
  ASSERT_TRUE(sink->WaitLines(5));
  std::vector<std::string> want = {
      "ADDED a " + std::to_string(l->items[0]->revision()), "ADDED b " + std::to_string(r_b),
      "DELETED a " + std::to_string(r_a), "MODIFIED b " + std::to_string(r_b2),
      "DELETED b " + std::to_string(r_d)};
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sink->events(), want);
}

TEST_F(WatchCacheTest, PagesReadOneRevisionWhileTheCollectionChanges) {
  for (int i = 0; i < 30; ++i) Put("ns1", "p" + std::to_string(100 + i), "web");
  StartCache();
  auto first = cache_->List(Q("/registry/pods/ns1/", "", 7, 0, nullptr));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->more);
  int64_t at = first->revision;
  std::vector<std::string> got = Names(*first);
  std::string after(first->items.back()->key());
  int i = 0;
  while (true) {
    // Writers change every part of the collection between pages.
    Put("ns1", "p" + std::to_string(100 + (i * 7) % 30), "changed");
    Delete("ns1", "p" + std::to_string(100 + (i * 11 + 3) % 30));
    Put("ns1", "p" + std::to_string(200 + i), "late");
    ++i;
    auto page = cache_->List(Q("/registry/pods/ns1/", after, 7, at, nullptr));
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->revision, at);
    EXPECT_LE(page->items.size(), 7u);
    auto names = Names(*page);
    got.insert(got.end(), names.begin(), names.end());
    if (!page->more) break;
    after = std::string(page->items.back()->key());
  }
  EXPECT_EQ(got, StoreNames("/registry/pods/ns1/", at));
  // A page with a filter still reads the snapshot.
  auto filtered = cache_->List(Q("/registry/pods/ns1/", "", 0, at, AppIs("changed")));
  EXPECT_TRUE(filtered->items.empty());
}

TEST_F(WatchCacheTest, WatchResumesFromTheRingAndIsTooOldBeforeIt) {
  StartCache(/*ring=*/10);
  std::vector<int64_t> revs;
  for (int i = 0; i < 5; ++i) revs.push_back(Put("ns1", "p" + std::to_string(i), "web"));
  int64_t start = revs[0];
  ASSERT_TRUE(Fresh(revs.back()).ok());
  // From a revision the ring covers: exactly the changes after it.
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(Watch(sink, revs[1]).ok());
  int64_t more = Put("ns1", "p9", "web");
  ASSERT_TRUE(sink->WaitLines(4));
  EXPECT_EQ(sink->events(),
            (std::vector<std::string>{"ADDED p2 " + std::to_string(revs[2]),
                                      "ADDED p3 " + std::to_string(revs[3]),
                                      "ADDED p4 " + std::to_string(revs[4]),
                                      "ADDED p9 " + std::to_string(more)}));
  // Overflow the ring: the start is no longer covered.
  for (int i = 0; i < 20; ++i) Put("ns1", "q" + std::to_string(i), "web");
  ASSERT_TRUE(Fresh(StoreRevision()).ok());
  auto old = Watch(std::make_shared<RecordingSink>(), start);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kGone);
  EXPECT_EQ(old.status().message().rfind("too old resource version: " + std::to_string(start) +
                                             " (",
                                         0),
            0u)
      << old.status().message();
  // The floor named in the message can be watched from.
  std::string msg = old.status().message();
  int64_t floor = std::stoll(msg.substr(msg.find('(') + 1));
  EXPECT_GT(floor, start);
  EXPECT_TRUE(Watch(std::make_shared<RecordingSink>(), floor).ok());
  EXPECT_FALSE(Watch(std::make_shared<RecordingSink>(), floor - 1).ok());
  // And older pages are read from the store instead.
  EXPECT_EQ(cache_->List(Q("/registry/pods/", "", 0, start, nullptr)).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(WatchCacheTest, ASlowWatcherIsClosedWithoutHoldingUpTheOthers) {
  StartCache(1000, /*max_backlog=*/64 * 1024);
  auto slow = std::make_shared<RecordingSink>(/*stalled=*/true);
  auto fast = std::make_shared<RecordingSink>();
  int64_t from = StoreRevision();
  ASSERT_TRUE(Watch(slow, from).ok());
  ASSERT_TRUE(Watch(fast, from).ok());
  std::string big(2000, 'x');
  const int kWrites = 300;  // about 600 KB: far past the slow watcher's bound
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(store_
                    ->Put(Key("ns1", "p" + std::to_string(i)),
                          R"({"kind":"Pod","metadata":{"name":"p)" + std::to_string(i) +
                              R"("},"data":")" + big + R"("})")
                    .ok());
  }
  ASSERT_TRUE(fast->WaitLines(kWrites));
  EXPECT_TRUE(slow->WaitEnded());
  EXPECT_LT(slow->lines().size(), static_cast<size_t>(kWrites));
  EXPECT_EQ(fast->ended(), 0);
  EXPECT_EQ(cache_->Stats().terminated_watchers, 1u);
  EXPECT_EQ(cache_->Stats().watchers, 1u);
}

TEST_F(WatchCacheTest, ASlowClientOfInitialEventsIsClosedWhenChangesPileUp) {
  for (int i = 0; i < 400; ++i) Put("ns1", "p" + std::to_string(i), "web");
  StartCache(1000, /*max_backlog=*/4 * 1024);
  auto slow = std::make_shared<RecordingSink>(/*stalled=*/true);
  ASSERT_TRUE(Watch(slow, 0, /*initial=*/true).ok());
  // The initializer holds back on the stalled client while changes arrive.
  for (int i = 0; i < 200; ++i) Put("ns1", "p" + std::to_string(i), "db");
  EXPECT_TRUE(slow->WaitEnded());
}

TEST_F(WatchCacheTest, InitialEventsThenTheirEndBookmarkThenChanges) {
  Put("ns1", "a", "web");
  Put("ns1", "b", "web");
  StartCache();
  int64_t at = StoreRevision();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(Watch(sink, 0, true, nullptr, /*bookmarks=*/true, /*end=*/true).ok());
  int64_t c = Put("ns1", "c", "web");
  ASSERT_TRUE(sink->WaitLines(4));
  auto lines = sink->lines();
  EXPECT_EQ(lines[0].rfind("ADDED a ", 0), 0u);
  EXPECT_EQ(lines[1].rfind("ADDED b ", 0), 0u);
  EXPECT_EQ(lines[2], "BOOKMARK " + std::to_string(at) + " end");
  EXPECT_EQ(lines[3], "ADDED c " + std::to_string(c));
}

TEST_F(WatchCacheTest, ProgressMovesTheCacheAndItsBookmarksWhileTheResourceIsIdle) {
  StartCache(1000, 16 << 20, /*bookmarks=*/100ms);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(Watch(sink, StoreRevision(), false, nullptr, /*bookmarks=*/true).ok());
  // Writes elsewhere in the store: the pods' cache hears of them only as progress.
  int64_t rev = 0;
  for (int i = 0; i < 3; ++i) rev = store_->Put("/registry/configmaps/x" + std::to_string(i), "{}")->revision;
  auto fresh = Fresh(rev, 2s);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_GE(*fresh, rev);
  EXPECT_TRUE(sink->WaitFor([&](const auto& ls) {
    return !ls.empty() && ls.back() == "BOOKMARK " + std::to_string(rev);
  })) << ::testing::PrintToString(sink->lines());
  // A revision nobody has written yet is waited for, then refused.
  auto future = Fresh(rev + 1000, 300ms);
  EXPECT_EQ(future.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(future.status().message().find("Too large resource version"), std::string::npos);
}

TEST_F(WatchCacheTest, ABrokenStoreWatchIsResumedWithoutLosingWatchers) {
  StartCache();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(Watch(sink, StoreRevision()).ok());
  int64_t a = Put("ns1", "a", "web");
  ASSERT_TRUE(sink->WaitLines(1));
  faulty_->BreakWatches(FaultyStore::Fault::kUnavailable);
  // Written while the store watch is broken: must arrive once, from the resumed watch.
  int64_t b = Put("ns1", "b", "web");
  for (int i = 0; i < 500 && faulty_->watches_opened() < 2; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(faulty_->watches_opened(), 2);
  int64_t c = Put("ns1", "c", "web");
  ASSERT_TRUE(sink->WaitLines(3));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sink->events(), (std::vector<std::string>{"ADDED a " + std::to_string(a),
                                                      "ADDED b " + std::to_string(b),
                                                      "ADDED c " + std::to_string(c)}));
  EXPECT_EQ(sink->ended(), 0);
  EXPECT_EQ(cache_->Stats().initializations, 1u);
}

TEST_F(WatchCacheTest, ACompactedStoreWatchMakesTheCacheListAgainAndCloseItsWatchers) {
  Put("ns1", "a", "web");
  StartCache();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(Watch(sink, StoreRevision()).ok());
  faulty_->BreakWatches(FaultyStore::Fault::kCompacted);
  // Changes made while the cache is not watching are in its new state.
  Put("ns1", "b", "web");
  Delete("ns1", "a");
  EXPECT_TRUE(sink->WaitEnded());
  int64_t rev = StoreRevision();
  ASSERT_TRUE(Fresh(rev).ok());
  EXPECT_EQ(cache_->Stats().initializations, 2u);
  auto l = cache_->List(Q("/registry/pods/", "", 0, 0, nullptr));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(Names(*l), StoreNames("/registry/pods/", l->revision));
  // New watches work.
  auto again = std::make_shared<RecordingSink>();
  ASSERT_TRUE(Watch(again, l->revision).ok());
  int64_t c = Put("ns1", "c", "web");
  ASSERT_TRUE(again->WaitLines(1));
  EXPECT_EQ(again->events(), (std::vector<std::string>{"ADDED c " + std::to_string(c)}));
}

TEST_F(WatchCacheTest, StoppedWatchesAndTimeoutsEnd) {
  StartCache();
  auto sink = std::make_shared<RecordingSink>();
  auto w = Watch(sink, StoreRevision());
  ASSERT_TRUE(w.ok());
  (*w)->Stop();
  EXPECT_EQ(sink->ended(), 1);
  Put("ns1", "a", "web");
  ASSERT_TRUE(Fresh(StoreRevision()).ok());
  EXPECT_TRUE(sink->events().empty());

  auto timed = std::make_shared<RecordingSink>();
  CacheWatchRequest r;
  r.prefix = "/registry/pods/";
  r.resource_version = StoreRevision();
  r.deadline = Clock::now() + 200ms;
  ASSERT_TRUE(cache_->Watch(r, timed).ok());
  EXPECT_TRUE(timed->WaitEnded());
}

}  // namespace
}  // namespace keelson::apiserver
