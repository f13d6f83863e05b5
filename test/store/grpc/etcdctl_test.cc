// etcdctl (the real etcd 3.4 client) against keelson's etcd v3 server. Built twice:
//  - etcdctl_proxy_test: the server in this process over the etcd backend talking to a real
//    etcd (tests the server without the embedded store);
//  - etcdctl_keelson_test: `keelson store` (the embedded store) as a separate process.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <regex>
#include <thread>

#include "test/util/processes.h"

#ifdef KEELSON_ETCDCTL_PROXY
#include "store/etcd/etcd_store.h"
#include "store/etcdserver/etcd_server.h"
#endif

namespace keelson::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::BackgroundCommand;
using testing::CommandResult;
using testing::RunCommand;

class EtcdctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef KEELSON_ETCDCTL_PROXY
    ASSERT_TRUE(etcd_.Start().ok()) << etcd_.log();
    EtcdOptions eo;
    eo.endpoints = {etcd_.endpoint()};
    auto store = OpenEtcdStore(eo);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    EtcdServerOptions so;
    so.progress_notify_interval = milliseconds(500);
    auto server = EtcdServer::Start(*store_, so);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    endpoint_ = "127.0.0.1:" + std::to_string(server_->port());
#else
    ASSERT_TRUE(std::filesystem::exists(KEELSON_BINARY)) << KEELSON_BINARY << " not built";
    Status st = keelson_.Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    endpoint_ = keelson_.endpoint();
#endif
  }

  void TearDown() override {
#ifdef KEELSON_ETCDCTL_PROXY
    if (server_) server_->Shutdown();
#endif
  }

  CommandResult Etcdctl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {"etcdctl", "--endpoints=" + endpoint_,
                                     "--command-timeout=10s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, stdin_data);
  }

  // Runs etcdctl, expecting success, and returns its stdout.
  std::string Ok(std::vector<std::string> args, const std::string& stdin_data = "") {
    auto r = Etcdctl(args, stdin_data);
    EXPECT_EQ(r.exit_code, 0) << "etcdctl " << ::testing::PrintToString(args) << "\nstdout: "
                              << r.out << "\nstderr: " << r.err;
    return r.out;
  }

  // The store revision after the last write (from a JSON header).
  int64_t Revision() {
    std::string out = Ok({"get", "/", "-w", "json"});
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("\"revision\":([0-9]+)"))) {
      ADD_FAILURE() << "no revision in " << out;
      return 0;
    }
    return std::stoll(m[1]);
  }

#ifdef KEELSON_ETCDCTL_PROXY
  testing::EtcdProcess etcd_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EtcdServer> server_;
#else
  testing::KeelsonStoreProcess keelson_{KEELSON_BINARY};
#endif
  std::string endpoint_;
};

TEST_F(EtcdctlTest, PutGetPrefixAndRevision) {
  EXPECT_EQ(Ok({"put", "/a/1", "v1"}), "OK\n");
  int64_t rev1 = Revision();
  Ok({"put", "/a/2", "v2"});
  Ok({"put", "/a/1", "v1b"});
  Ok({"put", "/b", "other"});
  EXPECT_EQ(Ok({"get", "/a", "--prefix"}), "/a/1\nv1b\n/a/2\nv2\n");
  EXPECT_EQ(Ok({"get", "/a/1", "--rev=" + std::to_string(rev1)}), "/a/1\nv1\n");
  EXPECT_EQ(Ok({"get", "/a", "--prefix", "--keys-only"}), "/a/1\n\n/a/2\n\n");
  EXPECT_NE(Ok({"get", "/a", "--prefix", "-w", "json"}).find("\"count\":2"), std::string::npos);
  EXPECT_EQ(Ok({"get", "/a", "--prefix", "--limit=1"}), "/a/1\nv1b\n");
  EXPECT_EQ(Ok({"get", "/missing"}), "");
  EXPECT_EQ(Ok({"del", "/a", "--prefix"}), "2\n");
  EXPECT_EQ(Ok({"get", "/a", "--prefix"}), "");
  EXPECT_EQ(Ok({"del", "/b", "--prev-kv"}), "1\n/b\nother\n");
}

TEST_F(EtcdctlTest, TxnInteractive) {
  const std::string txn =
      "create(\"/t/k\") = \"0\"\n"
      "\n"
      "put /t/k created\n"
      "\n"
      "get /t/k\n"
      "\n";
  const std::string prompts =
      "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n";
  EXPECT_EQ(Ok({"txn", "-i"}, txn), prompts + "SUCCESS\n\nOK\n");
  EXPECT_EQ(Ok({"txn", "-i"}, txn), prompts + "FAILURE\n\n/t/k\ncreated\n");
  const std::string by_value =
      "value(\"/t/k\") = \"created\"\n"
      "\n"
      "put /t/k updated\n"
      "\n"
      "\n";
  EXPECT_EQ(Ok({"txn", "-i"}, by_value), prompts + "SUCCESS\n\nOK\n");
  EXPECT_EQ(Ok({"get", "/t/k", "--print-value-only"}), "updated\n");
}

TEST_F(EtcdctlTest, WatchFromRevision) {
  Ok({"put", "/w/k", "one"});
  int64_t rev = Revision();
  Ok({"put", "/w/k", "two"});
  BackgroundCommand watch({"etcdctl", "--endpoints=" + endpoint_, "watch", "/w", "--prefix",
                           "--rev=" + std::to_string(rev)});
  ASSERT_TRUE(watch.WaitForOutput("two\n", seconds(10))) << watch.Stdout() << watch.Stderr();
  Ok({"put", "/w/k", "three"});
  Ok({"del", "/w/k"});
  ASSERT_TRUE(watch.WaitForOutput("DELETE\n/w/k\n", seconds(10)))
      << watch.Stdout() << watch.Stderr();
  watch.Stop();
  EXPECT_EQ(watch.Stdout(),
            "PUT\n/w/k\none\nPUT\n/w/k\ntwo\nPUT\n/w/k\nthree\nDELETE\n/w/k\n\n");
}

TEST_F(EtcdctlTest, WatchFromCompactedRevisionIsCanceled) {
  Ok({"put", "/wc", "1"});
  int64_t rev = Revision();
  Ok({"put", "/wc", "2"});
  Ok({"compact", std::to_string(Revision())});
  auto r = Etcdctl({"watch", "/wc", "--rev=" + std::to_string(rev)});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("watch was canceled (etcdserver: mvcc: required revision has "
                                 "been compacted)"),
            std::string::npos)
      << r.out << r.err;
}

TEST_F(EtcdctlTest, Leases) {
  std::string granted = Ok({"lease", "grant", "60"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(granted, m, std::regex("lease ([0-9a-f]+) granted with TTL\\(60s\\)")))
      << granted;
  std::string id = m[1];
  Ok({"put", "--lease=" + id, "/l/k", "v"});
  std::string ttl = Ok({"lease", "timetolive", id, "--keys"});
  EXPECT_NE(ttl.find("granted with TTL(60s)"), std::string::npos) << ttl;
  EXPECT_NE(ttl.find("attached keys([/l/k])"), std::string::npos) << ttl;
  EXPECT_EQ(Ok({"lease", "keep-alive", "--once", id}),
            "lease " + id + " keepalived with TTL(60)\n");
  EXPECT_NE(Ok({"lease", "list"}).find(id), std::string::npos);
  EXPECT_EQ(Ok({"lease", "revoke", id}), "lease " + id + " revoked\n");
  EXPECT_EQ(Ok({"get", "/l/k"}), "");
  EXPECT_EQ(Ok({"lease", "timetolive", id}), "lease " + id + " already expired\n");
  auto again = Etcdctl({"lease", "revoke", id});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("etcdserver: requested lease not found"), std::string::npos)
      << again.err;
}

TEST_F(EtcdctlTest, CompactionAndRevisionErrors) {
  Ok({"put", "/c", "1"});
  int64_t old_rev = Revision();
  Ok({"put", "/c", "2"});
  int64_t rev = Revision();
  EXPECT_EQ(Ok({"compact", std::to_string(rev)}), "compacted revision " + std::to_string(rev) + "\n");
  auto r = Etcdctl({"get", "/c", "--rev=" + std::to_string(old_rev)});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Error: etcdserver: mvcc: required revision has been compacted"),
            std::string::npos)
      << r.err;
  r = Etcdctl({"get", "/c", "--rev=" + std::to_string(rev + 1000)});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Error: etcdserver: mvcc: required revision is a future revision"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Ok({"get", "/c", "--rev=" + std::to_string(rev), "--print-value-only"}), "2\n");
}

TEST_F(EtcdctlTest, RequestTooLargeIsRejected) {
  auto r = Etcdctl({"put", "/big"}, std::string(1600 * 1024, 'x'));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("etcdserver: request is too large"), std::string::npos) << r.err;
  auto empty = Etcdctl({"put", "", "v"});
  EXPECT_NE(empty.exit_code, 0);
  EXPECT_NE(empty.err.find("etcdserver: key is not provided"), std::string::npos) << empty.err;
}

TEST_F(EtcdctlTest, EndpointStatusAndMemberList) {
  Ok({"put", "/s", "v"});
  int64_t rev = Revision();
  std::string status = Ok({"endpoint", "status", "-w", "json"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(status, m, std::regex("\"member_id\":([0-9]+)"))) << status;
  std::string member_id = m[1];
  EXPECT_NE(member_id, "0");
  EXPECT_NE(status.find("\"revision\":" + std::to_string(rev)), std::string::npos) << status;
  EXPECT_NE(status.find("\"leader\":" + member_id), std::string::npos) << status;
  EXPECT_NE(status.find("\"version\":\"3.4."), std::string::npos) << status;
  ASSERT_TRUE(std::regex_search(status, m, std::regex("\"dbSize\":([0-9]+)"))) << status;
  EXPECT_GT(std::stoll(m[1]), 0);

  std::string members = Ok({"member", "list"});
  EXPECT_NE(members.find(", started, keelson, "), std::string::npos) << members;
  EXPECT_NE(members.find("http://" + endpoint_), std::string::npos) << members;
  std::string json = Ok({"member", "list", "-w", "json"});
  EXPECT_NE(json.find("\"ID\":" + member_id), std::string::npos) << json;
  // etcdctl walks the member list to reach every endpoint.
  auto health = Etcdctl({"endpoint", "health", "--cluster"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_NE((health.out + health.err).find("http://" + endpoint_ + " is healthy"),
            std::string::npos)
      << health.out << health.err;
}

TEST_F(EtcdctlTest, SnapshotSave) {
  for (int i = 0; i < 20; ++i) Ok({"put", "/snap/" + std::to_string(i), std::string(1000, 'v')});
  testing::TempDir dir;
  std::string file = (dir.path() / "snap.db").string();
  std::string out = Ok({"snapshot", "save", file});
  EXPECT_NE(out.find("Snapshot saved at " + file), std::string::npos) << out;
  auto size = std::filesystem::file_size(file);
  EXPECT_GT(size, 32u);
  EXPECT_EQ(size % 512, 32u);  // whole pages + the sha256 trailer etcdctl checks for
#ifdef KEELSON_ETCDCTL_PROXY
  // Backed by etcd, the file is etcd's own snapshot: restoring verifies the trailer.
  auto restore = RunCommand({"etcdctl", "snapshot", "restore", file, "--data-dir",
                             (dir.path() / "restored").string()});
  EXPECT_EQ(restore.exit_code, 0) << restore.out << restore.err;
#endif
}

#ifndef KEELSON_ETCDCTL_PROXY
TEST_F(EtcdctlTest, DataSurvivesRestartAndSigkill) {
  Ok({"put", "/d/k", "v1"});
  ASSERT_TRUE(keelson_.Restart().ok()) << keelson_.stderr_text();
  EXPECT_EQ(Ok({"get", "/d/k", "--print-value-only"}), "v1\n");
  Ok({"put", "/d/k", "v2"});
  EXPECT_EQ(keelson_.Kill(), 128 + SIGKILL);
  ASSERT_TRUE(keelson_.Start().ok()) << keelson_.stderr_text();
  EXPECT_EQ(Ok({"get", "/d/k", "--print-value-only"}), "v2\n");
}

TEST(KeelsonStoreCommandTest, BadFlagsExitWithOne) {
  auto r = RunCommand({KEELSON_BINARY, "store", "--no-such-flag"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown flag --no-such-flag"), std::string::npos) << r.err;
  r = RunCommand({KEELSON_BINARY, "store", "--listen-client-urls", "http://127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--data-dir is required"), std::string::npos) << r.err;
  r = RunCommand({KEELSON_BINARY, "store", "--data-dir", "/tmp/x", "--auto-compaction-retention",
                  "soon"});
  EXPECT_EQ(r.exit_code, 1);
  r = RunCommand({KEELSON_BINARY, "store", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--listen-client-urls"), std::string::npos);
}

TEST(KeelsonStoreCommandTest, BusyPortOrLockedDataDirExitWithOne) {
  testing::KeelsonStoreProcess first(KEELSON_BINARY);
  ASSERT_TRUE(first.Start().ok()) << first.stderr_text();
  testing::TempDir other;
  // Same port, other data: the port is taken.
  auto r = RunCommand({KEELSON_BINARY, "store", "--listen-client-urls",
                       "http://" + first.endpoint(), "--data-dir", (other.path() / "d").string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot listen on " + first.endpoint()), std::string::npos) << r.err;
  // Other port, same data: the store is locked by the first process.
  r = RunCommand({KEELSON_BINARY, "store", "--listen-client-urls", "http://127.0.0.1:0",
                  "--data-dir", first.data_dir().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot open the store: FailedPrecondition"), std::string::npos) << r.err;
}

TEST(KeelsonStoreCommandTest, QuotaAndRequestSizeFlags) {
  testing::KeelsonStoreProcess p(KEELSON_BINARY, {"--quota-backend-bytes", "1048576",
                                                  "--max-request-bytes", "200000"});
  ASSERT_TRUE(p.Start().ok()) << p.stderr_text();
  auto put = [&](const std::string& key, size_t size) {
    // Letters and digits that do not compress, so that the quota fills as with real data.
    std::string value;
    uint32_t seed = static_cast<uint32_t>(std::hash<std::string>()(key));
    for (size_t i = 0; i < size; ++i) {
      seed = seed * 1664525u + 1013904223u;
      value.push_back("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(seed >> 24) % 62]);
    }
    return RunCommand({"etcdctl", "--endpoints=" + p.endpoint(), "put", key}, value);
  };
  auto big = put("/big", 300000);
  EXPECT_NE(big.exit_code, 0);
  EXPECT_NE(big.err.find("Error: etcdserver: request is too large"), std::string::npos)
      << big.err;
  bool full = false;
  for (int i = 0; i < 20 && !full; ++i) {
    auto r = put("/q/" + std::to_string(i), 150000);
    if (r.exit_code == 0) continue;
    EXPECT_NE(r.err.find("Error: etcdserver: mvcc: database space exceeded"), std::string::npos)
        << r.err;
    full = true;
  }
  EXPECT_TRUE(full) << "1 MiB quota never reached with 3 MB of puts";
}

TEST(KeelsonStoreCommandTest, SigtermShutsDownCleanly) {
  testing::KeelsonStoreProcess p(KEELSON_BINARY);
  ASSERT_TRUE(p.Start().ok()) << p.stderr_text();
  EXPECT_EQ(p.Terminate(), 0) << p.stderr_text();
}
#endif

}  // namespace
}  // namespace keelson::store
