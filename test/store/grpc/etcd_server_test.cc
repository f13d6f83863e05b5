// keelson's etcd v3 server over the embedded store, driven by raw gRPC clients: watch stream
// protocol details (ids, cancel, progress) and scale (1000 watch streams, thousands of
// concurrent unary calls, few threads).
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "etcd/rpc.grpc.pb.h"
#include "store/etcdserver/etcd_server.h"
#include "store/mvcc/embedded_store.h"
#include "test/util/processes.h"

namespace keelson::store {
namespace {

namespace pb = etcdserverpb;
using std::chrono::milliseconds;
using std::chrono::seconds;

int ThreadCount() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

class EtcdServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedOptions eo;
    eo.data_dir = (dir_.path() / "data").string();
    auto s = OpenEmbeddedStore(eo);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    EtcdServerOptions so;
    so.progress_notify_interval = milliseconds(300);
    auto server = EtcdServer::Start(*store_, so);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    kv_ = pb::KV::NewStub(channel_);
    watch_ = pb::Watch::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  int64_t Put(const std::string& key, const std::string& value) {
    grpc::ClientContext ctx;
    pb::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    pb::PutResponse resp;
    grpc::Status s = kv_->Put(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.header().revision();
  }

  testing::TempDir dir_{"keelson-etcd-server"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<EtcdServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::KV::Stub> kv_;
  std::unique_ptr<pb::Watch::Stub> watch_;
};

pb::WatchRequest Create(const std::string& key, int64_t watch_id = 0, bool progress = false) {
  pb::WatchRequest r;
  auto* c = r.mutable_create_request();
  c->set_key(key);
  c->set_watch_id(watch_id);
  c->set_progress_notify(progress);
  return r;
}

TEST_F(EtcdServerTest, HeadersCarryClusterMemberAndRevision) {
  int64_t rev = Put("/h", "v");
  grpc::ClientContext ctx;
  pb::RangeRequest req;
  req.set_key("/h");
  pb::RangeResponse resp;
  ASSERT_TRUE(kv_->Range(&ctx, req, &resp).ok());
  EXPECT_NE(resp.header().cluster_id(), 0u);
  EXPECT_NE(resp.header().member_id(), 0u);
  EXPECT_EQ(resp.header().revision(), rev);
  EXPECT_EQ(resp.kvs(0).value(), "v");

  grpc::ClientContext ctx2;
  pb::RangeRequest empty;
  grpc::Status s = kv_->Range(&ctx2, empty, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), kErrEmptyKey);

  grpc::ClientContext ctx3;
  pb::RangeRequest old;
  old.set_key("/h");
  old.set_revision(rev + 10);
  s = kv_->Range(&ctx3, old, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision is a future revision");
}

TEST_F(EtcdServerTest, ManyWatchesOnOneStreamWithIdsCancelAndProgress) {
  grpc::ClientContext ctx;
  auto stream = watch_->Watch(&ctx);
  pb::WatchResponse resp;

  ASSERT_TRUE(stream->Write(Create("/a")));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_TRUE(resp.created());
  EXPECT_EQ(resp.watch_id(), 0);  // etcd numbers watches from 0
  int64_t created_rev = resp.header().revision();

  ASSERT_TRUE(stream->Write(Create("/b", 7, true)));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_TRUE(resp.created());
  EXPECT_EQ(resp.watch_id(), 7);

  ASSERT_TRUE(stream->Write(Create("/c", 7)));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_TRUE(resp.created());
  EXPECT_TRUE(resp.canceled());
  EXPECT_EQ(resp.watch_id(), -1);

  int64_t ra = Put("/a", "1");
  EXPECT_EQ(ra, created_rev + 1);  // the created header is the revision the watch starts after
  int64_t rb = Put("/b", "2");
  std::map<int64_t, int64_t> seen;  // watch id -> event revision
  while (seen.size() < 2) {
    ASSERT_TRUE(stream->Read(&resp));
    ASSERT_EQ(resp.events_size(), 1) << resp.DebugString();
    seen[resp.watch_id()] = resp.events(0).kv().mod_revision();
  }
  EXPECT_EQ(seen[0], ra);
  EXPECT_EQ(seen[7], rb);

  pb::WatchRequest progress;
  progress.mutable_progress_request();
  ASSERT_TRUE(stream->Write(progress));
  std::set<int64_t> progressed;
  while (progressed.size() < 2) {
    ASSERT_TRUE(stream->Read(&resp));
    if (resp.events_size() == 0 && !resp.created() && !resp.canceled()) {
      EXPECT_EQ(resp.header().revision(), rb);
      progressed.insert(resp.watch_id());
    }
  }

  pb::WatchRequest cancel;
  cancel.mutable_cancel_request()->set_watch_id(0);
  ASSERT_TRUE(stream->Write(cancel));
  do {
    ASSERT_TRUE(stream->Read(&resp));
  } while (!resp.canceled());
  EXPECT_EQ(resp.watch_id(), 0);

  Put("/a", "after-cancel");
  int64_t rb2 = Put("/b", "3");
  for (;;) {
    ASSERT_TRUE(stream->Read(&resp));
    if (resp.events_size() == 0) continue;  // periodic progress of watch 7
    EXPECT_EQ(resp.watch_id(), 7);
    EXPECT_EQ(resp.events(0).kv().mod_revision(), rb2);
    break;
  }
  stream->WritesDone();
  while (stream->Read(&resp)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(EtcdServerTest, ProgressNotifyIsPeriodicForIdleWatches) {
  grpc::ClientContext ctx;
  auto stream = watch_->Watch(&ctx);
  pb::WatchResponse resp;
  ASSERT_TRUE(stream->Write(Create("/p", 0, true)));
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_TRUE(resp.created());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(stream->Read(&resp));  // nothing happens: the next message is a notification
  EXPECT_EQ(resp.events_size(), 0);
  EXPECT_FALSE(resp.canceled());
  EXPECT_EQ(resp.watch_id(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  ctx.TryCancel();
}

// A watch stream on the callback API: counts what it receives.
class WatchClient : public grpc::ClientBidiReactor<pb::WatchRequest, pb::WatchResponse> {
 public:
  struct Counters {
    std::mutex mu;
    std::condition_variable cv;
    int created = 0;
    int events = 0;
    int done = 0;
  };

  WatchClient(pb::Watch::Stub* stub, const std::string& key, Counters* c) : c_(c) {
    req_ = Create(key);
    stub->async()->Watch(&ctx_, this);
    StartWrite(&req_);
    StartRead(&resp_);
    StartCall();
  }
  void Cancel() { ctx_.TryCancel(); }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      std::lock_guard lock(c_->mu);
      if (resp_.created()) c_->created++;
      c_->events += resp_.events_size();
    }
    c_->cv.notify_all();
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status&) override {
    std::lock_guard lock(c_->mu);
    c_->done++;
    c_->cv.notify_all();
  }

 private:
  Counters* c_;
  grpc::ClientContext ctx_;
  pb::WatchRequest req_;
  pb::WatchResponse resp_;
};

TEST_F(EtcdServerTest, ThousandWatchStreamsAndConcurrentUnaryCallsNeedFewThreads) {
  constexpr int kStreams = 1000;
  constexpr int kCalls = 3000;
  WatchClient::Counters counters;
  std::vector<std::unique_ptr<WatchClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<WatchClient>(watch_.get(), "/scale", &counters));
  }
  {
    std::unique_lock lock(counters.mu);
    ASSERT_TRUE(counters.cv.wait_for(lock, seconds(60), [&] { return counters.created == kStreams; }))
        << counters.created;
  }
  Put("/scale", "go");
  {
    std::unique_lock lock(counters.mu);
    ASSERT_TRUE(counters.cv.wait_for(lock, seconds(60), [&] { return counters.events == kStreams; }))
        << counters.events;
  }

  // Many unary calls in flight at once.
  struct Call {
    grpc::ClientContext ctx;
    pb::PutRequest put;
    pb::PutResponse put_resp;
    pb::RangeRequest range;
    pb::RangeResponse range_resp;
  };
  std::vector<std::unique_ptr<Call>> calls(kCalls);
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0, failed = 0;
  int peak_threads = ThreadCount();
  for (int i = 0; i < kCalls; ++i) {
    calls[i] = std::make_unique<Call>();
    auto done = [&](grpc::Status s) {
      std::lock_guard lock(mu);
      ++finished;
      if (!s.ok()) ++failed;
      cv.notify_all();
    };
    if (i % 2 == 0) {
      calls[i]->put.set_key("/unary/" + std::to_string(i));
      calls[i]->put.set_value("v");
      kv_->async()->Put(&calls[i]->ctx, &calls[i]->put, &calls[i]->put_resp, done);
    } else {
      calls[i]->range.set_key("/scale");
      kv_->async()->Range(&calls[i]->ctx, &calls[i]->range, &calls[i]->range_resp, done);
    }
    if (i % 500 == 0) peak_threads = std::max(peak_threads, ThreadCount());
  }
  {
    std::unique_lock lock(mu);
    while (finished < kCalls) {
      cv.wait_for(lock, milliseconds(50));
      peak_threads = std::max(peak_threads, ThreadCount());
    }
  }
  EXPECT_EQ(failed, 0);
  // Threads do not grow with streams or calls (a thread each would mean > 1000).
  EXPECT_LT(peak_threads, 200) << "threads: " << peak_threads;
  std::cerr << "peak threads with " << kStreams << " watch streams and " << kCalls
            << " concurrent calls: " << peak_threads << "\n";

  for (auto& c : clients) c->Cancel();
  std::unique_lock lock(counters.mu);
  ASSERT_TRUE(counters.cv.wait_for(lock, seconds(30), [&] { return counters.done == kStreams; }));
}

TEST_F(EtcdServerTest, ShutdownEndsOpenStreams) {
  grpc::ClientContext ctx;
  auto stream = watch_->Watch(&ctx);
  pb::WatchResponse resp;
  ASSERT_TRUE(stream->Write(Create("/s")));
  ASSERT_TRUE(stream->Read(&resp));
  std::thread stopper([&] { server_->Shutdown(); });
  while (stream->Read(&resp)) {
  }
  stopper.join();
  stream->Finish().IgnoreError();
}

}  // namespace
}  // namespace keelson::store
