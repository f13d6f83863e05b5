// The store conformance suite: one set of etcd v3 semantics every backend must pass. It runs
// against the embedded store and against a real etcd (see conformance_backends.cc).
#include "test/store/conformance.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace keelson::store {
namespace {

using namespace std::chrono_literals;

class ConformanceTest : public ::testing::TestWithParam<const BackendFactory*> {
 protected:
  void SetUp() override {
    auto b = GetParam()->Open();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backend_ = std::move(*b);
    store_ = backend_->store();
    // Keys are namespaced per test so that backends shared between tests stay independent.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = std::string("/t/") + info->name() + "/";
    for (auto& c : prefix_) {
      if (c == '/' && &c != &prefix_.front() && &c != &prefix_.back()) c = '_';
    }
  }

  std::string K(const std::string& k) const { return prefix_ + k; }

  int64_t PutRev(const std::string& k, const std::string& v, int64_t lease = 0) {
    auto r = store_->Put(K(k), v, lease);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->revision : 0;
  }

  RangeResponse Get(RangeRequest req) {
    auto r = store_->Range(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : RangeResponse{};
  }

  RangeResponse Prefix(const std::string& p = "") {
    RangeRequest req;
    req.key = K(p);
    req.range_end = PrefixEnd(K(p));
    return Get(req);
  }

  // Collects at least `n` events from `w` within a deadline.
  std::vector<Event> Collect(WatchStream* w, size_t n, std::chrono::milliseconds limit = 10s) {
    std::vector<Event> out;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto b = w->Next(200ms);
      EXPECT_TRUE(b.ok()) << b.status().ToString();
      if (!b.ok() || b->canceled) break;
      for (auto& e : b->events) out.push_back(std::move(e));
    }
    return out;
  }

  std::unique_ptr<Backend> backend_;
  Store* store_ = nullptr;
  std::string prefix_;
};

TEST_P(ConformanceTest, PutAssignsRevisionsAndVersions) {
  int64_t r1 = PutRev("a", "1");
  int64_t r2 = PutRev("a", "2");
  int64_t r3 = PutRev("b", "x");
  EXPECT_EQ(r2, r1 + 1);
  EXPECT_EQ(r3, r2 + 1);
  auto a = store_->Get(K("a"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, "2");
  EXPECT_EQ(a->create_revision, r1);
  EXPECT_EQ(a->mod_revision, r2);
  EXPECT_EQ(a->version, 2);
  auto missing = store_->Get(K("nope"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_P(ConformanceTest, PutPrevKvAndIgnoreValue) {
  PutRev("k", "old");
  PutRequest p;
  p.key = K("k");
  p.value = "new";
  p.prev_kv = true;
  auto r = store_->Put(p);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->prev_kv.has_value());
  EXPECT_EQ(r->prev_kv->value, "old");

  PutRequest iv;
  iv.key = K("k");
  iv.ignore_value = true;
  ASSERT_TRUE(store_->Put(iv).ok());
  EXPECT_EQ(store_->Get(K("k"))->value, "new");
  EXPECT_EQ(store_->Get(K("k"))->version, 3);

  PutRequest missing;
  missing.key = K("absent");
  missing.ignore_value = true;
  auto m = store_->Put(missing);
  EXPECT_FALSE(m.ok());
}

TEST_P(ConformanceTest, RangePrefixLimitCountAndMore) {
  for (int i = 0; i < 10; ++i) PutRev("r/" + std::to_string(i), "v" + std::to_string(i));
  PutRev("rz", "outside");
  auto all = Prefix("r/");
  EXPECT_EQ(all.count, 10);
  ASSERT_EQ(all.kvs.size(), 10u);
  EXPECT_EQ(all.kvs.front().key, K("r/0"));
  EXPECT_FALSE(all.more);

  RangeRequest lim;
  lim.key = K("r/");
  lim.range_end = PrefixEnd(K("r/"));
  lim.limit = 3;
  auto l = Get(lim);
  EXPECT_EQ(l.kvs.size(), 3u);
  EXPECT_TRUE(l.more);
  EXPECT_EQ(l.count, 10);

  RangeRequest half;  // [r/3, r/6)
  half.key = K("r/3");
  half.range_end = K("r/6");
  auto h = Get(half);
  ASSERT_EQ(h.kvs.size(), 3u);
  EXPECT_EQ(h.kvs[2].key, K("r/5"));

  RangeRequest co = lim;
  co.limit = 0;
  co.count_only = true;
  auto c = Get(co);
  EXPECT_EQ(c.count, 10);
  EXPECT_TRUE(c.kvs.empty());

  RangeRequest ko = lim;
  ko.keys_only = true;
  auto k = Get(ko);
  ASSERT_EQ(k.kvs.size(), 3u);
  EXPECT_TRUE(k.kvs[0].value.empty());
  EXPECT_GT(k.kvs[0].mod_revision, 0);

  RangeRequest from;  // key and every key after it
  from.key = K("r/8");
  from.range_end = std::string(1, '\0');
  auto f = Get(from);
  ASSERT_GE(f.kvs.size(), 3u);
  EXPECT_EQ(f.kvs[0].key, K("r/8"));
  EXPECT_EQ(f.kvs[2].key, K("rz"));
}

TEST_P(ConformanceTest, RangeSortAndRevisionFilters) {
  int64_t ra = PutRev("s/a", "3");
  PutRev("s/b", "1");
  PutRev("s/c", "2");
  PutRev("s/a", "9");  // s/a now has the highest mod revision
  RangeRequest req;
  req.key = K("s/");
  req.range_end = PrefixEnd(K("s/"));
  req.sort_order = RangeRequest::SortOrder::kDescend;
  req.sort_target = RangeRequest::SortTarget::kKey;
  auto d = Get(req);
  ASSERT_EQ(d.kvs.size(), 3u);
  EXPECT_EQ(d.kvs[0].key, K("s/c"));

  req.sort_target = RangeRequest::SortTarget::kMod;
  req.sort_order = RangeRequest::SortOrder::kNone;  // a non-key target sorts ascending
  auto m = Get(req);
  ASSERT_EQ(m.kvs.size(), 3u);
  EXPECT_EQ(m.kvs[0].key, K("s/b"));
  EXPECT_EQ(m.kvs[2].key, K("s/a"));

  req.sort_target = RangeRequest::SortTarget::kValue;
  req.sort_order = RangeRequest::SortOrder::kDescend;
  req.limit = 1;
  auto v = Get(req);
  ASSERT_EQ(v.kvs.size(), 1u);
  EXPECT_EQ(v.kvs[0].value, "9");
  EXPECT_TRUE(v.more);

  RangeRequest f;
  f.key = K("s/");
  f.range_end = PrefixEnd(K("s/"));
  f.max_create_revision = ra;
  auto fr = Get(f);
  ASSERT_EQ(fr.kvs.size(), 1u);
  EXPECT_EQ(fr.kvs[0].key, K("s/a"));
}

TEST_P(ConformanceTest, RangeAtPastRevision) {
  int64_t r1 = PutRev("h", "1");
  int64_t r2 = PutRev("h", "2");
  ASSERT_TRUE(store_->DeleteRange(DeleteRangeRequest{K("h"), "", false}).ok());
  PutRev("h", "3");
  RangeRequest req;
  req.key = K("h");
  req.revision = r1;
  auto a = Get(req);
  ASSERT_EQ(a.kvs.size(), 1u);
  EXPECT_EQ(a.kvs[0].value, "1");
  req.revision = r2;
  EXPECT_EQ(Get(req).kvs.at(0).value, "2");
  req.revision = r2 + 1;  // deleted at this revision
  EXPECT_TRUE(Get(req).kvs.empty());
  req.revision = 0;
  auto now = Get(req);
  ASSERT_EQ(now.kvs.size(), 1u);
  EXPECT_EQ(now.kvs[0].version, 1);  // a delete resets the version
  EXPECT_EQ(now.kvs[0].create_revision, r2 + 2);

  req.revision = now.revision + 1000;
  auto fut = store_->Range(req);
  EXPECT_FALSE(fut.ok());
  EXPECT_EQ(fut.status().message(), kErrFutureRev);
}

TEST_P(ConformanceTest, DeleteRangeCountsAndBumpsRevisionOnce) {
  PutRev("d/1", "a");
  PutRev("d/2", "b");
  int64_t before = PutRev("d/3", "c");
  DeleteRangeRequest del;
  del.key = K("d/");
  del.range_end = PrefixEnd(K("d/"));
  del.prev_kv = true;
  auto r = store_->DeleteRange(del);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, 3);
  EXPECT_EQ(r->prev_kvs.size(), 3u);
  EXPECT_EQ(r->revision, before + 1);
  EXPECT_EQ(Prefix("d/").count, 0);
  // Deleting nothing does not create a revision.
  auto again = store_->DeleteRange(del);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->deleted, 0);
  EXPECT_EQ(again->revision, before + 1);
}

TEST_P(ConformanceTest, TxnComparesChooseBranch) {
  int64_t r = PutRev("x", "1");
  TxnRequest t;
  t.compare.push_back(Compare{Compare::Result::kEqual, Compare::Target::kMod, K("x"), "", r, ""});
  t.success.push_back(RequestOp{PutRequest{K("x"), "2"}});
  RangeRequest get_x;
  get_x.key = K("x");
  t.failure.push_back(RequestOp{get_x});
  auto ok = store_->Txn(t);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->revision, r + 1);
  // Same compare again fails: mod revision moved on.
  auto fail = store_->Txn(t);
  ASSERT_TRUE(fail.ok());
  EXPECT_FALSE(fail->succeeded);
  EXPECT_EQ(fail->revision, r + 1);
  ASSERT_EQ(fail->responses.size(), 1u);
  auto& rr = std::get<RangeResponse>(fail->responses[0].response);
  ASSERT_EQ(rr.kvs.size(), 1u);
  EXPECT_EQ(rr.kvs[0].value, "2");
}

TEST_P(ConformanceTest, TxnCompareTargetsAndMissingKeys) {
  PutRev("c", "m");
  auto run = [&](Compare c) {
    TxnRequest t;
    t.compare.push_back(std::move(c));
    auto r = store_->Txn(t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->succeeded;
  };
  using R = Compare::Result;
  using T = Compare::Target;
  EXPECT_TRUE(run({R::kEqual, T::kValue, K("c"), "", 0, "m"}));
  EXPECT_TRUE(run({R::kGreater, T::kValue, K("c"), "", 0, "a"}));
  EXPECT_TRUE(run({R::kLess, T::kValue, K("c"), "", 0, "z"}));
  EXPECT_TRUE(run({R::kNotEqual, T::kValue, K("c"), "", 0, "q"}));
  EXPECT_TRUE(run({R::kEqual, T::kVersion, K("c"), "", 1, ""}));
  EXPECT_TRUE(run({R::kGreater, T::kCreate, K("c"), "", 0, ""}));
  EXPECT_TRUE(run({R::kEqual, T::kLease, K("c"), "", 0, ""}));
  // A missing key has version, create and mod revision 0; a value compare on it fails.
  EXPECT_TRUE(run({R::kEqual, T::kVersion, K("missing"), "", 0, ""}));
  EXPECT_TRUE(run({R::kEqual, T::kCreate, K("missing"), "", 0, ""}));
  EXPECT_FALSE(run({R::kEqual, T::kValue, K("missing"), "", 0, ""}));
  // A compare over a range holds only if it holds for every key.
  PutRev("cr/1", "v");
  PutRev("cr/2", "v");
  EXPECT_TRUE(run({R::kEqual, T::kValue, K("cr/"), PrefixEnd(K("cr/")), 0, "v"}));
  PutRev("cr/3", "w");
  EXPECT_FALSE(run({R::kEqual, T::kValue, K("cr/"), PrefixEnd(K("cr/")), 0, "v"}));
}

TEST_P(ConformanceTest, NestedTxnAndReadOnlyTxn) {
  int64_t r0 = PutRev("n", "0");
  auto inner = std::make_shared<TxnRequest>();
  inner->compare.push_back(
      Compare{Compare::Result::kEqual, Compare::Target::kVersion, K("n"), "", 1, ""});
  inner->success.push_back(RequestOp{PutRequest{K("n2"), "inner"}});
  TxnRequest outer;
  outer.success.push_back(RequestOp{PutRequest{K("n"), "1"}});
  outer.success.push_back(RequestOp{std::shared_ptr<const TxnRequest>(inner)});
  auto r = store_->Txn(outer);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded);
  EXPECT_EQ(r->revision, r0 + 1);  // one transaction, one revision
  ASSERT_EQ(r->responses.size(), 2u);
  auto& nested = std::get<std::shared_ptr<TxnResponse>>(r->responses[1].response);
  EXPECT_TRUE(nested->succeeded);
  EXPECT_EQ(store_->Get(K("n2"))->value, "inner");
  EXPECT_EQ(store_->Get(K("n2"))->mod_revision, r0 + 1);

  TxnRequest ro;
  RangeRequest get_n;
  get_n.key = K("n");
  ro.success.push_back(RequestOp{get_n});
  auto rr = store_->Txn(ro);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(rr->revision, r0 + 1);
}

TEST_P(ConformanceTest, TxnRejectsDuplicateKeysAndEmptyKeys) {
  TxnRequest t;
  t.success.push_back(RequestOp{PutRequest{K("dup"), "1"}});
  t.success.push_back(RequestOp{PutRequest{K("dup"), "2"}});
  auto r = store_->Txn(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), kErrDuplicateKey);
  EXPECT_EQ(store_->Get(K("dup")).status().code(), StatusCode::kNotFound);

  auto e = store_->Put("", "v");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ConformanceTest, OversizeRequestIsRefused) {
  std::string big(2 * 1024 * 1024, 'x');
  auto r = store_->Put(K("big"), big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), kErrTooLarge);
  EXPECT_EQ(store_->Get(K("big")).status().code(), StatusCode::kNotFound);
  // Just under the limit is fine.
  std::string ok(1024 * 1024, 'y');
  EXPECT_TRUE(store_->Put(K("ok"), ok).ok());
  EXPECT_EQ(store_->Get(K("ok"))->value.size(), ok.size());
}

TEST_P(ConformanceTest, WatchSeesNewEventsWithPrevKv) {
  PutRev("w/a", "0");
  WatchOptions o;
  o.key = K("w/");
  o.range_end = PrefixEnd(K("w/"));
  o.prev_kv = true;
  auto w = store_->Watch(o);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  int64_t r1 = PutRev("w/a", "1");
  PutRev("other", "ignored");
  ASSERT_TRUE(store_->DeleteRange(DeleteRangeRequest{K("w/a"), "", false}).ok());
  auto evs = Collect(w->get(), 2);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, Event::Type::kPut);
  EXPECT_EQ(evs[0].kv.value, "1");
  EXPECT_EQ(evs[0].kv.mod_revision, r1);
  ASSERT_TRUE(evs[0].prev_kv.has_value());
  EXPECT_EQ(evs[0].prev_kv->value, "0");
  EXPECT_EQ(evs[1].type, Event::Type::kDelete);
  EXPECT_EQ(evs[1].kv.key, K("w/a"));
  EXPECT_EQ(evs[1].kv.mod_revision, r1 + 2);
  ASSERT_TRUE(evs[1].prev_kv.has_value());
  EXPECT_EQ(evs[1].prev_kv->value, "1");
}

TEST_P(ConformanceTest, WatchFromPastRevisionReplaysHistoryInOrder) {
  int64_t first = PutRev("hw", "1");
  for (int i = 2; i <= 20; ++i) PutRev("hw", std::to_string(i));
  WatchOptions o;
  o.key = K("hw");
  o.start_revision = first;
  auto w = store_->Watch(o);
  ASSERT_TRUE(w.ok());
  auto evs = Collect(w->get(), 20);
  ASSERT_EQ(evs.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(evs[i].kv.value, std::to_string(i + 1));
    EXPECT_EQ(evs[i].kv.mod_revision, first + i);
  }
}

TEST_P(ConformanceTest, WatchFilters) {
  WatchOptions o;
  o.key = K("f");
  o.filter_put = true;
  auto w = store_->Watch(o);
  ASSERT_TRUE(w.ok());
  PutRev("f", "1");
  ASSERT_TRUE(store_->DeleteRange(DeleteRangeRequest{K("f"), "", false}).ok());
  auto evs = Collect(w->get(), 1);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, Event::Type::kDelete);
}

TEST_P(ConformanceTest, WatchProgressNotification) {
  WatchOptions o;
  o.key = K("p");
  auto w = store_->Watch(o);
  ASSERT_TRUE(w.ok());
  int64_t r = PutRev("unrelated", "x");
  (*w)->RequestProgress();
  bool got = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    auto b = (*w)->Next(200ms);
    ASSERT_TRUE(b.ok());
    if (b->progress) {
      EXPECT_GE(b->revision, r);
      EXPECT_TRUE(b->events.empty());
      got = true;
    }
  }
  EXPECT_TRUE(got);
}

TEST_P(ConformanceTest, CompactionDiscardsHistory) {
  int64_t r1 = PutRev("cp", "1");
  int64_t r2 = PutRev("cp", "2");
  PutRev("cp", "3");
  auto c = store_->Compact(r2);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  RangeRequest old;
  old.key = K("cp");
  old.revision = r1;
  auto gone = store_->Range(old);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kGone);
  EXPECT_EQ(gone.status().message(), kErrCompacted);
  old.revision = r2;
  auto at = store_->Range(old);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at->kvs.at(0).value, "2");
  EXPECT_EQ(store_->Get(K("cp"))->value, "3");
  // Compacting again to the same revision is an error.
  EXPECT_EQ(store_->Compact(r2).status().code(), StatusCode::kGone);

  WatchOptions o;
  o.key = K("cp");
  o.start_revision = r1;
  auto w = store_->Watch(o);
  ASSERT_TRUE(w.ok());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool canceled = false;
  while (!canceled && std::chrono::steady_clock::now() < deadline) {
    auto b = (*w)->Next(200ms);
    ASSERT_TRUE(b.ok());
    if (b->canceled) {
      canceled = true;
      EXPECT_GE(b->compact_revision, r2);
    }
  }
  EXPECT_TRUE(canceled);
}

TEST_P(ConformanceTest, LeaseAttachKeepAliveRevoke) {
  auto g = store_->LeaseGrant(60, 0);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_GT(g->id, 0);
  EXPECT_EQ(g->ttl, 60);
  PutRev("l/1", "a", g->id);
  PutRev("l/2", "b", g->id);
  PutRev("l/keep", "c");
  EXPECT_EQ(store_->Get(K("l/1"))->lease, g->id);
  auto ka = store_->LeaseKeepAlive(g->id);
  ASSERT_TRUE(ka.ok());
  EXPECT_EQ(*ka, 60);
  auto ttl = store_->LeaseTimeToLive(g->id, true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->granted_ttl, 60);
  EXPECT_GT(ttl->ttl, 50);
  std::set<std::string> keys(ttl->keys.begin(), ttl->keys.end());
  EXPECT_EQ(keys, (std::set<std::string>{K("l/1"), K("l/2")}));
  auto ids = store_->LeaseList();
  ASSERT_TRUE(ids.ok());
  EXPECT_NE(std::find(ids->begin(), ids->end(), g->id), ids->end());

  int64_t before = Prefix("l/").revision;
  ASSERT_TRUE(store_->LeaseRevoke(g->id).ok());
  auto after = Prefix("l/");
  EXPECT_EQ(after.count, 1);
  EXPECT_EQ(after.revision, before + 1);  // both keys went in one revision
  EXPECT_EQ(store_->LeaseKeepAlive(g->id).status().code(), StatusCode::kNotFound);
  auto gone = store_->LeaseTimeToLive(g->id, false);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->ttl, -1);
  EXPECT_EQ(store_->LeaseRevoke(g->id).code(), StatusCode::kNotFound);
}

TEST_P(ConformanceTest, PutWithUnknownLeaseFails) {
  auto r = store_->Put(K("nl"), "v", 0x7fffffff12345);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), kErrLeaseNotFound);
  EXPECT_EQ(store_->Get(K("nl")).status().code(), StatusCode::kNotFound);
}

TEST_P(ConformanceTest, ExpiredLeaseDeletesKeys) {
  auto g = store_->LeaseGrant(2, 0);
  ASSERT_TRUE(g.ok());
  PutRev("exp", "v", g->id);
  WatchOptions o;
  o.key = K("exp");
  auto w = store_->Watch(o);
  ASSERT_TRUE(w.ok());
  auto evs = Collect(w->get(), 1, 15s);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, Event::Type::kDelete);
  EXPECT_EQ(store_->Get(K("exp")).status().code(), StatusCode::kNotFound);
}

TEST_P(ConformanceTest, ConcurrentWritersGetDistinctContiguousRevisions) {
  constexpr int kThreads = 16, kPerThread = 50;
  std::vector<std::thread> ts;
  std::mutex mu;
  std::vector<int64_t> revs;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store_->Put(K("cc/" + std::to_string(t)), std::to_string(i));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        std::lock_guard l(mu);
        revs.push_back(r->revision);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::sort(revs.begin(), revs.end());
  ASSERT_EQ(revs.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(std::adjacent_find(revs.begin(), revs.end()), revs.end());
  if (backend_->exclusive()) {
    // Nobody else writes to this store: the revisions are exactly contiguous.
    EXPECT_EQ(revs.back() - revs.front() + 1, static_cast<int64_t>(revs.size()));
  }
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(store_->Get(K("cc/" + std::to_string(t)))->version, kPerThread);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ConformanceTest, ::testing::ValuesIn(AllBackends()),
                         [](const auto& info) { return info.param->name(); });

}  // namespace
}  // namespace keelson::store
