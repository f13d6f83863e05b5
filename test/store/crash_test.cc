// Crash test: SIGKILL a real `keelson store` process under concurrent write load, restart it,
// and check the store's promises:
//   - every acknowledged write is there, at the revision it was acknowledged with;
//   - an unacknowledged transaction is either wholly there or wholly absent (each one puts
//     two keys);
//   - revisions have no holes: revisions 1..current each hold exactly one transaction.
// KEELSON_CRASH_ROUNDS sets the number of kill/restart rounds (CI runs a few; the stress
// script, scripts/crash-stress.sh, many).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "etcd/rpc.grpc.pb.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;

struct Acked {
  std::string id;
  int64_t revision;
};

int Rounds() {
  const char* e = std::getenv("KEELSON_CRASH_ROUNDS");
  return e ? std::max(1, std::atoi(e)) : 3;
}

std::unique_ptr<etcdserverpb::KV::Stub> Connect(const std::string& endpoint) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // the verification reads every key at once
  return etcdserverpb::KV::NewStub(
      grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args));
}

TEST(StoreCrashTest, AcknowledgedWritesSurviveSigkill) {
  testing::KeelsonStoreProcess server(KEELSON_BINARY);
  ASSERT_TRUE(server.Start().ok()) << server.stderr_text();
  std::mt19937 rng(std::random_device{}());
  std::vector<Acked> all_acked;
  constexpr int kWriters = 32;

  for (int round = 0; round < Rounds(); ++round) {
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<Acked> acked;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto kv = Connect(server.endpoint());
        for (int seq = 0; !stop.load(); ++seq) {
          std::string id = std::to_string(round) + "-" + std::to_string(w) + "-" +
                           std::to_string(seq);
          etcdserverpb::TxnRequest req;
          for (const char* half : {"/a", "/b"}) {
            auto* put = req.add_success()->mutable_request_put();
            put->set_key("/crash/" + id + half);
            put->set_value(id);
          }
          etcdserverpb::TxnResponse resp;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + 5s);
          if (!kv->Txn(&ctx, req, &resp).ok()) break;  // the server is gone
          std::lock_guard l(mu);
          acked.push_back({id, resp.header().revision()});
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
    EXPECT_EQ(server.Kill(), 128 + SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
    ASSERT_FALSE(acked.empty()) << "round " << round << ": no write was acknowledged";
    all_acked.insert(all_acked.end(), acked.begin(), acked.end());

    ASSERT_TRUE(server.Start().ok()) << server.stderr_text();
    auto kv = Connect(server.endpoint());

    // Every acknowledged transaction, from this round and earlier ones, is there whole.
    etcdserverpb::RangeRequest all;
    all.set_key("/crash/");
    all.set_range_end("/crash0");
    etcdserverpb::RangeResponse resp;
    grpc::ClientContext ctx;
    auto st = kv->Range(&ctx, all, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    std::map<std::string, int64_t> rev_of;
    for (const auto& k : resp.kvs()) rev_of[k.key()] = k.mod_revision();
    for (const auto& a : all_acked) {
      auto ia = rev_of.find("/crash/" + a.id + "/a");
      auto ib = rev_of.find("/crash/" + a.id + "/b");
      ASSERT_NE(ia, rev_of.end()) << "acknowledged write lost: " << a.id;
      ASSERT_NE(ib, rev_of.end()) << "acknowledged write lost: " << a.id;
      ASSERT_EQ(ia->second, a.revision) << a.id;
      ASSERT_EQ(ib->second, a.revision) << a.id;
    }
    // No half transactions, and revisions 1..current each hold exactly one transaction.
    std::map<int64_t, int> keys_at;
    std::map<std::string, int> halves;
    for (const auto& k : resp.kvs()) {
      ++keys_at[k.mod_revision()];
      ++halves[k.value()];
    }
    for (const auto& [id, n] : halves) ASSERT_EQ(n, 2) << "half-applied transaction " << id;
    int64_t current = resp.header().revision();
    ASSERT_EQ(static_cast<int64_t>(keys_at.size()), current) << "revision holes";
    int64_t expect = 1;
    for (const auto& [rev, n] : keys_at) {
      ASSERT_EQ(rev, expect++) << "revision hole";
      ASSERT_EQ(n, 2) << "revision " << rev;
    }
    std::printf("round %d: %zu acknowledged, revision %lld after restart\n", round,
                acked.size(), static_cast<long long>(current));
  }
}

}  // namespace
}  // namespace keelson
