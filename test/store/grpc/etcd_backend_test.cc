// The etcd backend (OpenEtcdStore) against real etcd processes: one member for the store
// operations, a restarted member for watch resumption, a 3-member cluster for failover.
#include <gtest/gtest.h>

#include <thread>

#include "store/etcd/etcd_store.h"
#include "test/util/processes.h"

namespace keelson::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EtcdCluster;
using testing::EtcdProcess;

std::unique_ptr<Store> OpenOrDie(const std::vector<std::string>& endpoints,
                                 milliseconds timeout = seconds(10)) {
  EtcdOptions opts;
  opts.endpoints = endpoints;
  opts.request_timeout = timeout;
  auto s = OpenEtcdStore(opts);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// Collects batches until `want` events arrived or `timeout` passed.
std::vector<Event> CollectEvents(WatchStream& w, size_t want, milliseconds timeout = seconds(10)) {
  std::vector<Event> events;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (events.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto b = w.Next(milliseconds(200));
    if (!b.ok()) {
      ADD_FAILURE() << b.status().ToString();
      break;
    }
    if (b->canceled) {
      ADD_FAILURE() << "watch canceled: " << b->cancel_reason;
      break;
    }
    for (auto& e : b->events) events.push_back(std::move(e));
  }
  return events;
}

class EtcdBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.Start().ok()) << etcd_.log();
    store_ = OpenOrDie({etcd_.client_url()});
    ASSERT_NE(store_, nullptr);
  }

  EtcdProcess etcd_;
  std::unique_ptr<Store> store_;
};

TEST_F(EtcdBackendTest, OpenFailsWithUnavailableWhenNobodyAnswers) {
  EtcdOptions opts;
  opts.endpoints = {"127.0.0.1:" + std::to_string(testing::FreePort())};
  opts.request_timeout = milliseconds(300);
  auto s = OpenEtcdStore(opts);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  opts.endpoints = {"https://127.0.0.1:2379"};
  EXPECT_EQ(OpenEtcdStore(opts).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EtcdBackendTest, PutGetRange) {
  auto p1 = store_->Put("/r/a", "1");
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  ASSERT_TRUE(store_->Put("/r/b", "2").ok());
  ASSERT_TRUE(store_->Put("/r/c", "3").ok());
  auto p4 = store_->Put("/r/a", "1b");
  ASSERT_TRUE(p4.ok());
  EXPECT_EQ(p4->revision, p1->revision + 3);

  auto kv = store_->Get("/r/a");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->value, "1b");
  EXPECT_EQ(kv->version, 2);
  EXPECT_EQ(kv->create_revision, p1->revision);
  EXPECT_EQ(kv->mod_revision, p4->revision);
  EXPECT_EQ(store_->Get("/r/none").status().code(), StatusCode::kNotFound);

  RangeRequest req;
  req.key = "/r/";
  req.range_end = PrefixEnd("/r/");
  req.limit = 2;
  auto r = store_->Range(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 2u);
  EXPECT_EQ(r->kvs[0].key, "/r/a");
  EXPECT_EQ(r->kvs[1].key, "/r/b");
  EXPECT_TRUE(r->more);
  EXPECT_EQ(r->count, 3);
  EXPECT_EQ(r->revision, p4->revision);

  req.limit = 0;
  req.revision = p1->revision;  // the past: only /r/a with its first value
  r = store_->Range(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "1");

  req.revision = 0;
  req.sort_order = RangeRequest::SortOrder::kDescend;
  req.sort_target = RangeRequest::SortTarget::kMod;
  req.keys_only = true;
  r = store_->Range(req);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->kvs.size(), 3u);
  EXPECT_EQ(r->kvs[0].key, "/r/a");
  EXPECT_EQ(r->kvs[0].value, "");

  DeleteRangeRequest del;
  del.key = "/r/";
  del.range_end = PrefixEnd("/r/");
  del.prev_kv = true;
  auto d = store_->DeleteRange(del);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->deleted, 3);
  EXPECT_EQ(d->prev_kvs.size(), 3u);
}

TEST_F(EtcdBackendTest, TxnComparesNestedTxnAndErrors) {
  auto put = [](std::string k, std::string v) {
    PutRequest p;
    p.key = std::move(k);
    p.value = std::move(v);
    return RequestOp{p};
  };
  // Create-if-absent.
  TxnRequest create;
  Compare absent;
  absent.key = "/t/k";
  absent.target = Compare::Target::kCreate;
  absent.number = 0;
  create.compare.push_back(absent);
  create.success.push_back(put("/t/k", "v1"));
  RangeRequest get;
  get.key = "/t/k";
  create.failure.push_back(RequestOp{get});
  auto t1 = store_->Txn(create);
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  EXPECT_TRUE(t1->succeeded);
  auto t2 = store_->Txn(create);
  ASSERT_TRUE(t2.ok());
  EXPECT_FALSE(t2->succeeded);
  ASSERT_EQ(t2->responses.size(), 1u);
  EXPECT_EQ(std::get<RangeResponse>(t2->responses[0].response).kvs.at(0).value, "v1");

  // A compare over a range holds only when it holds for every key; nested txn applies.
  ASSERT_TRUE(store_->Put("/t/r/1", "a").ok());
  ASSERT_TRUE(store_->Put("/t/r/2", "b").ok());
  TxnRequest inner;
  inner.success.push_back(put("/t/inner", "x"));
  TxnRequest range_cmp;
  Compare all_a;
  all_a.key = "/t/r/";
  all_a.range_end = PrefixEnd("/t/r/");
  all_a.target = Compare::Target::kValue;
  all_a.value = "a";
  range_cmp.compare.push_back(all_a);
  range_cmp.failure.push_back(RequestOp{std::make_shared<const TxnRequest>(inner)});
  auto t3 = store_->Txn(range_cmp);
  ASSERT_TRUE(t3.ok()) << t3.status().ToString();
  EXPECT_FALSE(t3->succeeded);
  ASSERT_TRUE(std::get<std::shared_ptr<TxnResponse>>(t3->responses.at(0).response)->succeeded);
  EXPECT_EQ(store_->Get("/t/inner")->value, "x");

  TxnRequest dup;
  dup.success.push_back(put("/t/d", "1"));
  dup.success.push_back(put("/t/d", "2"));
  auto t4 = store_->Txn(dup);
  EXPECT_EQ(t4.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t4.status().message(), kErrDuplicateKey);

  auto empty = store_->Put("", "v");
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), kErrEmptyKey);

  auto big = store_->Put("/t/big", std::string(1600 * 1024, 'x'));
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(big.status().message(), kErrTooLarge);
}

TEST_F(EtcdBackendTest, WatchDeliversEventsWithPrevKvAndFilters) {
  ASSERT_TRUE(store_->Put("/w/a", "0").ok());
  WatchOptions opts;
  opts.key = "/w/";
  opts.range_end = PrefixEnd("/w/");
  opts.prev_kv = true;
  auto w = store_->Watch(opts);
  ASSERT_TRUE(w.ok());
  WatchOptions deletes_only = opts;
  deletes_only.filter_put = true;
  auto wd = store_->Watch(deletes_only);
  ASSERT_TRUE(wd.ok());
  std::atomic<int> ready{0};
  (*w)->SetReadyCallback([&] { ready++; });
  // No pause: a watch sees every change made after Watch() returned.

  auto p = store_->Put("/w/a", "1");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(store_->Put("/x/outside", "1").ok());
  DeleteRangeRequest del;
  del.key = "/w/a";
  ASSERT_TRUE(store_->DeleteRange(del).ok());

  auto events = CollectEvents(**w, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, Event::Type::kPut);
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[0].kv.mod_revision, p->revision);
  ASSERT_TRUE(events[0].prev_kv.has_value());
  EXPECT_EQ(events[0].prev_kv->value, "0");
  EXPECT_EQ(events[1].type, Event::Type::kDelete);
  EXPECT_EQ(events[1].kv.key, "/w/a");
  EXPECT_GT(ready.load(), 0);

  auto devents = CollectEvents(**wd, 1);
  ASSERT_EQ(devents.size(), 1u);
  EXPECT_EQ(devents[0].type, Event::Type::kDelete);

  // A progress request is answered with a progress batch.
  (*w)->RequestProgress();
  bool progress = false;
  for (int i = 0; i < 20 && !progress; ++i) {
    auto b = (*w)->Next(milliseconds(250));
    ASSERT_TRUE(b.ok());
    progress = b->progress;
  }
  EXPECT_TRUE(progress);

  (*w)->Cancel();
  auto b = (*w)->Next(milliseconds(10));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->canceled);
}

TEST_F(EtcdBackendTest, CompactionAndRevisionErrors) {
  auto p1 = store_->Put("/c/k", "1");
  ASSERT_TRUE(store_->Put("/c/k", "2").ok());
  auto p3 = store_->Put("/c/k", "3");
  ASSERT_TRUE(p1.ok() && p3.ok());
  auto c = store_->Compact(p3->revision);
  ASSERT_TRUE(c.ok()) << c.status().ToString();

  RangeRequest old;
  old.key = "/c/k";
  old.revision = p1->revision;
  auto r = store_->Range(old);
  EXPECT_EQ(r.status().code(), StatusCode::kGone);
  EXPECT_EQ(r.status().message(), kErrCompacted);
  old.revision = p3->revision + 100;
  r = store_->Range(old);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), kErrFutureRev);
  EXPECT_EQ(store_->Compact(p1->revision).status().code(), StatusCode::kGone);

  auto st = store_->GetStatus();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->compact_revision, p3->revision);
  EXPECT_EQ(st->revision, p3->revision);
  EXPECT_GT(st->db_size, 0);
  EXPECT_EQ(st->version, "3.4.23");

  WatchOptions opts;
  opts.key = "/c/k";
  opts.start_revision = p1->revision;
  auto w = store_->Watch(opts);
  ASSERT_TRUE(w.ok());
  WatchBatch last;
  for (int i = 0; i < 50 && !last.canceled; ++i) {
    auto b = (*w)->Next(milliseconds(100));
    ASSERT_TRUE(b.ok());
    last = *b;
  }
  EXPECT_TRUE(last.canceled);
  EXPECT_EQ(last.compact_revision, p3->revision);
}

TEST_F(EtcdBackendTest, Leases) {
  auto g = store_->LeaseGrant(60, 0);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_NE(g->id, 0);
  EXPECT_EQ(g->ttl, 60);
  ASSERT_TRUE(store_->Put("/l/k", "v", g->id).ok());

  auto ttl = store_->LeaseTimeToLive(g->id, true);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->granted_ttl, 60);
  EXPECT_GT(ttl->ttl, 50);
  EXPECT_EQ(ttl->keys, std::vector<std::string>{"/l/k"});

  auto ka = store_->LeaseKeepAlive(g->id);
  ASSERT_TRUE(ka.ok()) << ka.status().ToString();
  EXPECT_EQ(*ka, 60);
  auto list = store_->LeaseList();
  ASSERT_TRUE(list.ok());
  EXPECT_NE(std::find(list->begin(), list->end(), g->id), list->end());

  ASSERT_TRUE(store_->LeaseRevoke(g->id).ok());
  EXPECT_EQ(store_->Get("/l/k").status().code(), StatusCode::kNotFound);
  auto gone = store_->LeaseKeepAlive(g->id);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.status().message(), kErrLeaseNotFound);
  Status again = store_->LeaseRevoke(g->id);
  EXPECT_EQ(again.code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->LeaseTimeToLive(g->id, false)->ttl, -1);

  auto chosen = store_->LeaseGrant(5, 0x1234);
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(chosen->id, 0x1234);
}

TEST_F(EtcdBackendTest, SnapshotStreamsTheBackendWithoutTrailer) {
  ASSERT_TRUE(store_->Put("/s/k", "v").ok());
  std::string data;
  Status st = store_->Snapshot([&](std::string_view chunk) {
    data.append(chunk);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  // A bolt file is whole pages; etcd's 32-byte checksum trailer has been checked and removed.
  ASSERT_GT(data.size(), 0u);
  EXPECT_EQ(data.size() % 4096, 0u);
  EXPECT_NE(data.find("/s/k"), std::string::npos);
}

TEST(EtcdRestartTest, WatchResumesAcrossRestartWithoutLossOrDuplicates) {
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Start().ok()) << etcd.log();
  auto store = OpenOrDie({etcd.endpoint()}, seconds(20));
  ASSERT_NE(store, nullptr);
  WatchOptions opts;
  opts.key = "/rs/";
  opts.range_end = PrefixEnd("/rs/");
  auto w = store->Watch(opts);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(store->Put("/rs/1", "a").ok());
  auto first = CollectEvents(**w, 1);
  ASSERT_EQ(first.size(), 1u);

  etcd.Stop();
  // Written while the watch stream is broken: the watch must catch up from its revision.
  auto writer = std::thread([&] {
    EXPECT_TRUE(store->Put("/rs/2", "b").ok());  // waits for etcd to come back
  });
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_TRUE(etcd.Start().ok()) << etcd.log();
  writer.join();
  ASSERT_TRUE(store->Put("/rs/3", "c").ok());

  auto rest = CollectEvents(**w, 2, seconds(15));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].kv.key, "/rs/2");
  EXPECT_EQ(rest[1].kv.key, "/rs/3");
  auto extra = (*w)->Next(milliseconds(300));
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->events.empty()) << "duplicate events after resume";

  etcd.Kill();  // SIGKILL: the connection breaks without GOAWAY
  ASSERT_TRUE(etcd.Start().ok()) << etcd.log();
  ASSERT_TRUE(store->Put("/rs/4", "d").ok());
  auto after_kill = CollectEvents(**w, 1, seconds(15));
  ASSERT_EQ(after_kill.size(), 1u);
  EXPECT_EQ(after_kill[0].kv.key, "/rs/4");
}

TEST(EtcdClusterTest, ClientFailsOverWhenItsMemberStops) {
  EtcdCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.member(0).log();
  // pick_first connects to the first endpoint: member 0.
  auto store = OpenOrDie(cluster.endpoints(), seconds(20));
  ASSERT_NE(store, nullptr) << cluster.member(0).log();
  ASSERT_TRUE(store->Put("/f/0", "before").ok());
  WatchOptions opts;
  opts.key = "/f/";
  opts.range_end = PrefixEnd("/f/");
  auto w = store->Watch(opts);
  ASSERT_TRUE(w.ok());

  cluster.member(0).Stop();
  ASSERT_FALSE(cluster.member(0).running());
  for (int i = 1; i <= 5; ++i) {
    auto p = store->Put("/f/" + std::to_string(i), "after");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
  }
  auto kv = store->Get("/f/5");
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(kv->value, "after");
  auto events = CollectEvents(**w, 5, seconds(15));
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(events[i].kv.key, "/f/" + std::to_string(i + 1));
  auto st = store->GetStatus();
  EXPECT_TRUE(st.ok()) << st.status().ToString();
}

}  // namespace
}  // namespace keelson::store
