#include "store/etcdserver/etcd_server.h"

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "etcd/rpc.grpc.pb.h"
#include "store/etcdpb/etcdpb.h"

namespace keelson::store {
namespace {

namespace pb = etcdserverpb;
using std::chrono::milliseconds;

// etcd's allowance for gRPC framing on top of --max-request-bytes.
constexpr int kGrpcOverheadBytes = 512 * 1024;
// Snapshot messages carry at most this much (etcd uses 32 KiB).
constexpr size_t kSnapshotChunk = 64 * 1024;

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

// A fixed set of threads running posted functions in order. Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() { Stop(); }

  void Post(std::function<void()> fn) {
    bool wake;
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(fn));
      // Busy workers take the task when they finish theirs; waking one costs a futex call
      // and a context switch, which under a burst (one post per watcher per event) adds up.
      wake = idle_ > 0;
    }
    if (wake) cv_.notify_one();
  }

  // Runs what is queued, then joins the threads.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      if (!stop_ && queue_.empty()) {
        ++idle_;
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        --idle_;
      }
      if (queue_.empty()) return;
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn();
      fn = nullptr;
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  int idle_ = 0;                             // workers waiting for a task; guarded by mu_
  std::vector<std::thread> threads_;
};

class WatchSession;

// What the services share. Outlives every call (the gRPC server is shut down first).
struct ServerContext {
  Store& store;
  EtcdServerOptions options;
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  std::string client_url;
  WorkerPool pool;

  std::mutex sessions_mu;
  // Open watch streams, for the progress ticker.
  std::unordered_map<WatchSession*, std::weak_ptr<WatchSession>> sessions;  // guarded by sessions_mu

  std::mutex threads_mu;
  std::condition_variable threads_cv;
  int snapshot_threads = 0;  // guarded by threads_mu

  ServerContext(Store& s, EtcdServerOptions o, int workers)
      : store(s), options(std::move(o)), pool(workers) {}

  void FillHeader(int64_t revision, pb::ResponseHeader* h) const {
    h->set_cluster_id(cluster_id);
    h->set_member_id(member_id);
    h->set_revision(revision);
    h->set_raft_term(1);
  }

  // The store's current revision, for responses whose Store call does not report one.
  Result<int64_t> CurrentRevision() {
    RangeRequest req;
    req.key = std::string(1, '\0');
    req.count_only = true;
    auto r = store.Range(req);
    if (!r.ok()) return r.status();
    return r->revision;
  }

  grpc::Status TooLarge(const google::protobuf::Message& m) const {
    if (m.ByteSizeLong() > options.limits.max_request_bytes) {
      return etcdpb::ToGrpcStatus(ResourceExhaustedError(kErrTooLarge));
    }
    return grpc::Status::OK;
  }
};

grpc::Status EmptyKey() { return etcdpb::ToGrpcStatus(InvalidArgumentError(kErrEmptyKey)); }

grpc::Status Unimplemented(const char* what);

// Answers a unary call keelson store does not serve.
grpc::ServerUnaryReactor* Fail(grpc::CallbackServerContext* ctx, const char* what) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(Unimplemented(what));
  return reactor;
}

grpc::Status Unimplemented(const char* what) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      std::string("keelson store: ") + what + " is not supported");
}

// --- KV ---

class KVService final : public pb::KV::CallbackService {
 public:
  explicit KVService(ServerContext& s) : s_(s) {}

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* ctx, const pb::RangeRequest* req,
                                  pb::RangeResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    if (req->key().empty()) {
      reactor->Finish(EmptyKey());
      return reactor;
    }
    auto serve = [this, reactor, req, resp] {
      auto r = s_.store.Range(etcdpb::FromProto(*req));
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      etcdpb::ToProto(*r, resp);
      s_.FillHeader(r->revision, resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    };
    if (s_.options.inline_reads) {
      serve();
    } else {
      s_.pool.Post(std::move(serve));
    }
    return reactor;
  }

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx, const pb::PutRequest* req,
                                pb::PutResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    if (req->key().empty()) {
      reactor->Finish(EmptyKey());
      return reactor;
    }
    if (auto st = s_.TooLarge(*req); !st.ok()) {
      reactor->Finish(st);
      return reactor;
    }
    TxnRequest txn;
    txn.success.push_back(RequestOp{etcdpb::FromProto(*req)});
    s_.store.TxnAsync(std::move(txn), [this, reactor, resp](Result<TxnResponse> r) {
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      if (r->responses.size() != 1 || !std::holds_alternative<PutResponse>(r->responses[0].response)) {
        return reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "store: bad put response"));
      }
      etcdpb::ToProto(std::get<PutResponse>(r->responses[0].response), resp);
      s_.FillHeader(r->revision, resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* ctx,
                                        const pb::DeleteRangeRequest* req,
                                        pb::DeleteRangeResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    if (req->key().empty()) {
      reactor->Finish(EmptyKey());
      return reactor;
    }
    TxnRequest txn;
    txn.success.push_back(RequestOp{etcdpb::FromProto(*req)});
    s_.store.TxnAsync(std::move(txn), [this, reactor, resp](Result<TxnResponse> r) {
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      if (r->responses.size() != 1 ||
          !std::holds_alternative<DeleteRangeResponse>(r->responses[0].response)) {
        return reactor->Finish(
            grpc::Status(grpc::StatusCode::INTERNAL, "store: bad delete response"));
      }
      etcdpb::ToProto(std::get<DeleteRangeResponse>(r->responses[0].response), resp);
      s_.FillHeader(r->revision, resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* ctx, const pb::TxnRequest* req,
                                pb::TxnResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    if (auto st = s_.TooLarge(*req); !st.ok()) {
      reactor->Finish(st);
      return reactor;
    }
    s_.store.TxnAsync(etcdpb::FromProto(*req), [this, reactor, resp](Result<TxnResponse> r) {
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      pb::ResponseHeader header;
      s_.FillHeader(r->revision, &header);
      etcdpb::ToProto(*r, header, resp);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* ctx,
                                    const pb::CompactionRequest* req,
                                    pb::CompactionResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, req, resp] {
      auto r = s_.store.Compact(req->revision());
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(rev.status()));
      s_.FillHeader(*rev, resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  ServerContext& s_;
};

// --- Watch ---

// One Watch stream with any number of watches. Owned by itself (self_) from creation to
// OnDone, and by pool tasks and readiness callbacks (weak) while they run.
// mu_ guards the members below it. Lock order: a Store's internal locks, then mu_; Store
// watch streams are never called with mu_ held.
class WatchSession final : public grpc::ServerBidiReactor<pb::WatchRequest, pb::WatchResponse>,
                           public std::enable_shared_from_this<WatchSession> {
 public:
  explicit WatchSession(ServerContext& s) : s_(s) {}

  void Begin() {
    self_ = shared_from_this();
    {
      std::lock_guard lock(s_.sessions_mu);
      s_.sessions.emplace(this, weak_from_this());
    }
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard lock(mu_);
      closing_ = true;
      MaybeFinishLocked();
      return;
    }
    // Requests may call the store (which may block): handle them on the pool, in order,
    // reading the next one only when this one is done.
    s_.pool.Post([self = shared_from_this()] { self->HandleRequest(); });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    write_in_flight_ = false;
    if (!ok) closing_ = true;
    if (closing_) {
      // The client is gone or the server stops: nothing more is written.
      MaybeFinishLocked();
      return;
    }
    if (!out_.empty()) {
      StartWriteLocked();
    } else if (!ready_.empty()) {
      SchedulePumpLocked();
    }
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    closing_ = true;
    MaybeFinishLocked();
  }

  void OnDone() override {
    {
      std::lock_guard lock(s_.sessions_mu);
      s_.sessions.erase(this);
    }
    std::map<int64_t, Watch> watches;
    {
      std::lock_guard lock(mu_);
      watches.swap(watches_);
      ready_.clear();
    }
    for (auto& [id, w] : watches) w.stream->Cancel();
    watches.clear();
    auto last = std::move(self_);  // may be the last reference: `this` dies with it
  }

  // Called by the server's ticker: asks idle progress_notify watches for a notification.
  void ProgressTick() {
    std::vector<std::shared_ptr<WatchStream>> streams;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, w] : watches_) {
        if (w.progress_notify && !w.sent_since_tick) streams.push_back(w.stream);
        w.sent_since_tick = false;
      }
    }
    for (auto& st : streams) st->RequestProgress();
  }

 private:
  struct Watch {
    std::shared_ptr<WatchStream> stream;
    bool progress_notify = false;
    bool sent_since_tick = false;
  };

  void HandleRequest() {
    switch (req_.request_union_case()) {
      case pb::WatchRequest::kCreateRequest: Create(req_.create_request()); break;
      case pb::WatchRequest::kCancelRequest: CancelWatch(req_.cancel_request().watch_id()); break;
      case pb::WatchRequest::kProgressRequest: RequestProgress(); break;
      case pb::WatchRequest::REQUEST_UNION_NOT_SET: break;
    }
    std::lock_guard lock(mu_);
    if (!closing_ && !finished_) StartRead(&req_);
  }

  void Create(const pb::WatchCreateRequest& create) {
    pb::WatchResponse resp;
    resp.set_created(true);
    if (create.key().empty()) {
      resp.set_watch_id(-1);
      resp.set_canceled(true);
      resp.set_cancel_reason(kErrEmptyKey);
      Enqueue(std::move(resp));
      return;
    }
    WatchOptions opts = etcdpb::FromProto(create);
    // Like etcd, a watch without a start revision starts right after the revision the
    // created response reports, so a client resuming from header.revision + 1 loses nothing.
    auto rev = s_.CurrentRevision();
    if (!rev.ok()) {
      resp.set_watch_id(-1);
      resp.set_canceled(true);
      resp.set_cancel_reason(etcdpb::EtcdErrorText(rev.status().message()));
      Enqueue(std::move(resp));
      return;
    }
    s_.FillHeader(*rev, resp.mutable_header());
    if (opts.start_revision <= 0) opts.start_revision = *rev + 1;

    int64_t id = create.watch_id();
    {
      std::lock_guard lock(mu_);
      if (id != 0 && watches_.count(id)) {
        id = -1;
      } else if (id == 0) {
        while (watches_.count(next_id_)) ++next_id_;
        id = next_id_++;
      }
    }
    if (id == -1) {
      resp.set_watch_id(-1);
      resp.set_canceled(true);
      resp.set_cancel_reason("mvcc: duplicate watch ID provided on the WatchStream");
      Enqueue(std::move(resp));
      return;
    }
    resp.set_watch_id(id);
    auto stream = s_.store.Watch(opts);
    if (!stream.ok()) {
      resp.set_canceled(true);
      resp.set_cancel_reason(etcdpb::EtcdErrorText(stream.status().message()));
      Enqueue(std::move(resp));
      return;
    }
    std::shared_ptr<WatchStream> ws(std::move(*stream));
    std::weak_ptr<WatchSession> weak = weak_from_this();
    ws->SetReadyCallback([weak, id] {
      if (auto self = weak.lock()) self->OnWatchReady(id);
    });
    std::lock_guard lock(mu_);
    if (closing_ || finished_) {
      ws->Cancel();  // the stream ended meanwhile; `ws` is released after mu_
      return;
    }
    Watch& w = watches_[id];
    w.stream = ws;
    w.progress_notify = create.progress_notify();
    EnqueueLocked(std::move(resp));
    // Events may have been waiting before the callback was set.
    ready_.insert(id);
    if (!write_in_flight_) SchedulePumpLocked();
  }

  void CancelWatch(int64_t id) {
    std::shared_ptr<WatchStream> stream;
    {
      std::lock_guard lock(mu_);
      auto it = watches_.find(id);
      if (it == watches_.end()) return;  // etcd ignores unknown ids too
      stream = std::move(it->second.stream);
      watches_.erase(it);
      ready_.erase(id);
    }
    stream->Cancel();
    pb::WatchResponse resp;
    auto rev = s_.CurrentRevision();
    s_.FillHeader(rev.ok() ? *rev : 0, resp.mutable_header());
    resp.set_watch_id(id);
    resp.set_canceled(true);
    Enqueue(std::move(resp));
  }

  void RequestProgress() {
    std::vector<std::shared_ptr<WatchStream>> streams;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, w] : watches_) streams.push_back(w.stream);
    }
    if (streams.empty()) {
      // Nothing to be behind on: answer at once, as etcd does, for the whole stream (-1).
      pb::WatchResponse resp;
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return;
      s_.FillHeader(*rev, resp.mutable_header());
      resp.set_watch_id(-1);
      Enqueue(std::move(resp));
      return;
    }
    for (auto& st : streams) st->RequestProgress();
  }

  // The store's readiness hook: cheap, and never calls into the store.
  void OnWatchReady(int64_t id) {
    std::lock_guard lock(mu_);
    if (finished_ || !watches_.count(id)) return;
    ready_.insert(id);
    if (!write_in_flight_) SchedulePumpLocked();
  }

  void SchedulePumpLocked() {
    if (pump_scheduled_ || finished_) return;
    pump_scheduled_ = true;
    s_.pool.Post([self = shared_from_this()] { self->Pump(); });
  }

  // Pulls one batch from every ready watch (on a pool thread, one pump at a time per
  // session) and starts writing them.
  void Pump() {
    std::vector<std::pair<int64_t, std::shared_ptr<WatchStream>>> todo;
    {
      std::lock_guard lock(mu_);
      if (finished_ || closing_) {
        pump_scheduled_ = false;
        MaybeFinishLocked();
        return;
      }
      for (int64_t id : ready_) {
        auto it = watches_.find(id);
        if (it != watches_.end()) todo.emplace_back(id, it->second.stream);
      }
      ready_.clear();
    }
    std::vector<std::pair<int64_t, WatchBatch>> batches;
    std::vector<int64_t> still_ready;
    for (auto& [id, stream] : todo) {
      auto b = stream->Next(milliseconds(0));
      if (!b.ok()) {
        WatchBatch canceled;
        canceled.canceled = true;
        canceled.cancel_reason = etcdpb::EtcdErrorText(b.status().message());
        batches.emplace_back(id, std::move(canceled));
        continue;
      }
      if (b->events.empty() && !b->progress && !b->canceled) continue;
      if (!b->canceled) still_ready.push_back(id);  // it may hold more
      batches.emplace_back(id, std::move(*b));
    }
    std::vector<std::shared_ptr<WatchStream>> ended;
    std::lock_guard lock(mu_);
    pump_scheduled_ = false;
    for (auto& [id, b] : batches) {
      auto it = watches_.find(id);
      if (it == watches_.end()) continue;  // canceled meanwhile
      pb::WatchResponse resp;
      s_.FillHeader(b.revision, resp.mutable_header());
      resp.set_watch_id(id);
      if (b.canceled) {
        resp.set_canceled(true);
        resp.set_compact_revision(b.compact_revision);
        resp.set_cancel_reason(etcdpb::EtcdErrorText(b.cancel_reason));
        ended.push_back(std::move(it->second.stream));
        watches_.erase(it);
      } else {
        for (const auto& e : b.events) etcdpb::ToProto(e, resp.add_events());
        if (!b.events.empty()) it->second.sent_since_tick = true;
      }
      out_.push_back(std::move(resp));
    }
    for (int64_t id : still_ready) {
      if (watches_.count(id)) ready_.insert(id);
    }
    if (closing_) {
      MaybeFinishLocked();
    } else if (!write_in_flight_) {
      if (!out_.empty()) {
        StartWriteLocked();
      } else if (!ready_.empty()) {
        SchedulePumpLocked();
      }
    }
    // `ended` streams are released after mu_ (destructor order: lock_guard first).
  }

  void Enqueue(pb::WatchResponse resp) {
    std::lock_guard lock(mu_);
    EnqueueLocked(std::move(resp));
  }

  void EnqueueLocked(pb::WatchResponse resp) {
    if (finished_ || closing_) return;
    out_.push_back(std::move(resp));
    if (!write_in_flight_) StartWriteLocked();
  }

  void StartWriteLocked() {
    write_buf_ = std::move(out_.front());
    out_.pop_front();
    write_in_flight_ = true;
    StartWrite(&write_buf_);
  }

  void MaybeFinishLocked() {
    if (!closing_ || finished_ || write_in_flight_) return;
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  ServerContext& s_;
  std::shared_ptr<WatchSession> self_;
  pb::WatchRequest req_;  // filled by the read in flight, then handled before the next read

  std::mutex mu_;
  std::map<int64_t, Watch> watches_;
  std::set<int64_t> ready_;            // watches that may have batches to pull
  std::deque<pb::WatchResponse> out_;  // responses waiting for the writer
  pb::WatchResponse write_buf_;        // the response being written
  int64_t next_id_ = 0;
  bool write_in_flight_ = false;
  bool pump_scheduled_ = false;
  bool closing_ = false;   // the client went away or the server shuts down
  bool finished_ = false;  // Finish() called
};

class WatchService final : public pb::Watch::CallbackService {
 public:
  explicit WatchService(ServerContext& s) : s_(s) {}

  grpc::ServerBidiReactor<pb::WatchRequest, pb::WatchResponse>* Watch(
      grpc::CallbackServerContext*) override {
    auto session = std::make_shared<WatchSession>(s_);
    session->Begin();
    return session.get();
  }

 private:
  ServerContext& s_;
};

// --- Lease ---

// One LeaseKeepAlive stream: read a request, renew on a pool thread, write the answer, read
// the next. At most one operation is in flight, so the reactor (deleted in OnDone) is alive
// whenever a pool task runs.
class KeepAliveReactor final
    : public grpc::ServerBidiReactor<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(ServerContext& s) : s_(s) { StartRead(&req_); }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    s_.pool.Post([this] {
      resp_.Clear();
      auto ttl = s_.store.LeaseKeepAlive(req_.id());
      if (!ttl.ok() && ttl.status().code() != StatusCode::kNotFound) {
        return Finish(etcdpb::ToGrpcStatus(ttl.status()));
      }
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return Finish(etcdpb::ToGrpcStatus(rev.status()));
      s_.FillHeader(*rev, resp_.mutable_header());
      resp_.set_id(req_.id());
      resp_.set_ttl(ttl.ok() ? *ttl : 0);  // etcd answers an unknown lease with TTL 0
      StartWrite(&resp_);
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);
    StartRead(&req_);
  }

  void OnDone() override { delete this; }

 private:
  ServerContext& s_;
  pb::LeaseKeepAliveRequest req_;
  pb::LeaseKeepAliveResponse resp_;
};

class LeaseService final : public pb::Lease::CallbackService {
 public:
  explicit LeaseService(ServerContext& s) : s_(s) {}

  grpc::ServerUnaryReactor* LeaseGrant(grpc::CallbackServerContext* ctx,
                                       const pb::LeaseGrantRequest* req,
                                       pb::LeaseGrantResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, req, resp] {
      auto r = s_.store.LeaseGrant(req->ttl(), req->id());
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      s_.FillHeader(r->revision, resp->mutable_header());
      resp->set_id(r->id);
      resp->set_ttl(r->ttl);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* LeaseRevoke(grpc::CallbackServerContext* ctx,
                                        const pb::LeaseRevokeRequest* req,
                                        pb::LeaseRevokeResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, req, resp] {
      Status st = s_.store.LeaseRevoke(req->id());
      if (!st.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(st));
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(rev.status()));
      s_.FillHeader(*rev, resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerBidiReactor<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>* LeaseKeepAlive(
      grpc::CallbackServerContext*) override {
    return new KeepAliveReactor(s_);
  }

  grpc::ServerUnaryReactor* LeaseTimeToLive(grpc::CallbackServerContext* ctx,
                                            const pb::LeaseTimeToLiveRequest* req,
                                            pb::LeaseTimeToLiveResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, req, resp] {
      auto r = s_.store.LeaseTimeToLive(req->id(), req->keys());
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      s_.FillHeader(r->revision, resp->mutable_header());
      resp->set_id(req->id());
      resp->set_ttl(r->ttl);
      resp->set_grantedttl(r->granted_ttl);
      for (const auto& k : r->keys) resp->add_keys(k);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* LeaseLeases(grpc::CallbackServerContext* ctx,
                                        const pb::LeaseLeasesRequest*,
                                        pb::LeaseLeasesResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, resp] {
      auto r = s_.store.LeaseList();
      if (!r.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(r.status()));
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(rev.status()));
      s_.FillHeader(*rev, resp->mutable_header());
      for (int64_t id : *r) resp->add_leases()->set_id(id);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

 private:
  ServerContext& s_;
};

// --- Maintenance ---

// Streams Store::Snapshot followed by the sha256 of the streamed bytes, as etcd does
// (etcdctl checks for it). The store call runs on its own thread, which waits for each write
// to finish before passing the next chunk; it is the last to touch the reactor (Finish).
class SnapshotReactor final : public grpc::ServerWriteReactor<pb::SnapshotResponse> {
 public:
  explicit SnapshotReactor(ServerContext& s) : s_(s) {
    {
      std::lock_guard lock(s_.threads_mu);
      ++s_.snapshot_threads;
    }
    std::thread([this] { Run(); }).detach();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    in_flight_ = false;
    if (!ok) failed_ = true;
    cv_.notify_all();
  }
  void OnCancel() override {
    std::lock_guard lock(mu_);
    failed_ = true;
    cv_.notify_all();
  }
  void OnDone() override { delete this; }

 private:
  void Run() {
    ServerContext& s = s_;  // `this` may be gone once Finish has been called
    grpc::Status result = Stream();
    Finish(result);
    std::lock_guard lock(s.threads_mu);
    --s.snapshot_threads;
    s.threads_cv.notify_all();
  }

  grpc::Status Stream() {
    auto st = s_.store.GetStatus();
    if (!st.ok()) return etcdpb::ToGrpcStatus(st.status());
    s_.FillHeader(st->revision, &header_);
    // The size is known only once the store has sent everything; remaining_bytes counts
    // down from the store's reported file size and reaches 0 with the checksum message.
    total_ = static_cast<uint64_t>(std::max<int64_t>(st->db_size, 0)) + 32;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
    Status status = s_.store.Snapshot([&](std::string_view chunk) -> Status {
      EVP_DigestUpdate(md.get(), chunk.data(), chunk.size());
      while (!chunk.empty()) {
        size_t n = std::min(chunk.size(), kSnapshotChunk);
        if (!Send(chunk.substr(0, n), false)) return Status(StatusCode::kCancelled, "client gone");
        chunk.remove_prefix(n);
      }
      return Status::Ok();
    });
    if (!status.ok()) return etcdpb::ToGrpcStatus(status);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md.get(), sum, &len);
    if (!Send(std::string_view(reinterpret_cast<char*>(sum), len), true)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
    return grpc::Status::OK;
  }

  // Writes one message and waits until it has been written. False when the call is over.
  bool Send(std::string_view blob, bool last) {
    std::unique_lock lock(mu_);
    sent_ += blob.size();
    msg_.Clear();
    *msg_.mutable_header() = header_;
    msg_.set_blob(std::string(blob));
    msg_.set_remaining_bytes(last || sent_ >= total_ ? 0 : total_ - sent_);
    if (failed_) return false;
    in_flight_ = true;
    StartWrite(&msg_);
    cv_.wait(lock, [&] { return !in_flight_; });
    return !failed_;
  }

  ServerContext& s_;
  pb::ResponseHeader header_;
  uint64_t total_ = 0;
  uint64_t sent_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  pb::SnapshotResponse msg_;  // guarded by mu_ (gRPC reads it while in_flight_)
  bool in_flight_ = false;    // guarded by mu_
  bool failed_ = false;       // guarded by mu_
};

class MaintenanceService final : public pb::Maintenance::CallbackService {
 public:
  explicit MaintenanceService(ServerContext& s) : s_(s) {}

  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const pb::StatusRequest*,
                                   pb::StatusResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, resp] {
      auto st = s_.store.GetStatus();
      if (!st.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(st.status()));
      s_.FillHeader(st->revision, resp->mutable_header());
      resp->set_version(s_.options.version);
      resp->set_dbsize(st->db_size);
      resp->set_dbsizeinuse(st->db_size_in_use);
      resp->set_leader(s_.member_id);
      // One member, no raft: every applied revision is one raft entry of term 1.
      resp->set_raftindex(static_cast<uint64_t>(st->revision));
      resp->set_raftappliedindex(static_cast<uint64_t>(st->revision));
      resp->set_raftterm(1);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* Alarm(grpc::CallbackServerContext* ctx, const pb::AlarmRequest* req,
                                  pb::AlarmResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    if (req->action() == pb::AlarmRequest::ACTIVATE) {
      reactor->Finish(Unimplemented("raising alarms"));
      return reactor;
    }
    // keelson raises no alarms: a full store fails writes with "database space exceeded".
    s_.pool.Post([this, reactor, resp] {
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(rev.status()));
      s_.FillHeader(*rev, resp->mutable_header());
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerWriteReactor<pb::SnapshotResponse>* Snapshot(grpc::CallbackServerContext*,
                                                           const pb::SnapshotRequest*) override {
    return new SnapshotReactor(s_);
  }

  grpc::ServerUnaryReactor* Defragment(grpc::CallbackServerContext* ctx,
                                       const pb::DefragmentRequest*,
                                       pb::DefragmentResponse*) override {
    return Fail(ctx, "Defragment");
  }
  grpc::ServerUnaryReactor* Hash(grpc::CallbackServerContext* ctx, const pb::HashRequest*,
                                 pb::HashResponse*) override {
    return Fail(ctx, "Hash");
  }
  grpc::ServerUnaryReactor* HashKV(grpc::CallbackServerContext* ctx, const pb::HashKVRequest*,
                                   pb::HashKVResponse*) override {
    return Fail(ctx, "HashKV");
  }
  grpc::ServerUnaryReactor* MoveLeader(grpc::CallbackServerContext* ctx,
                                       const pb::MoveLeaderRequest*,
                                       pb::MoveLeaderResponse*) override {
    return Fail(ctx, "MoveLeader (a keelson store has one member)");
  }

 private:
  ServerContext& s_;
};

// --- Cluster ---

class ClusterService final : public pb::Cluster::CallbackService {
 public:
  explicit ClusterService(ServerContext& s) : s_(s) {}

  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* ctx,
                                       const pb::MemberListRequest*,
                                       pb::MemberListResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    s_.pool.Post([this, reactor, resp] {
      auto rev = s_.CurrentRevision();
      if (!rev.ok()) return reactor->Finish(etcdpb::ToGrpcStatus(rev.status()));
      s_.FillHeader(*rev, resp->mutable_header());
      pb::Member* m = resp->add_members();
      m->set_id(s_.member_id);
      m->set_name(s_.options.member_name);
      m->add_clienturls(s_.client_url);
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerUnaryReactor* MemberAdd(grpc::CallbackServerContext* ctx,
                                      const pb::MemberAddRequest*, pb::MemberAddResponse*) override {
    return Fail(ctx, "MemberAdd (a keelson store has one member)");
  }
  grpc::ServerUnaryReactor* MemberRemove(grpc::CallbackServerContext* ctx,
                                         const pb::MemberRemoveRequest*,
                                         pb::MemberRemoveResponse*) override {
    return Fail(ctx, "MemberRemove (a keelson store has one member)");
  }
  grpc::ServerUnaryReactor* MemberUpdate(grpc::CallbackServerContext* ctx,
                                         const pb::MemberUpdateRequest*,
                                         pb::MemberUpdateResponse*) override {
    return Fail(ctx, "MemberUpdate (a keelson store has one member)");
  }
  grpc::ServerUnaryReactor* MemberPromote(grpc::CallbackServerContext* ctx,
                                          const pb::MemberPromoteRequest*,
                                          pb::MemberPromoteResponse*) override {
    return Fail(ctx, "MemberPromote (a keelson store has one member)");
  }

 private:
  ServerContext& s_;
};

class EtcdServerImpl final : public EtcdServer {
 public:
  EtcdServerImpl(Store& store, EtcdServerOptions options, int workers)
      : ctx_(store, std::move(options), workers),
        kv_(ctx_),
        watch_(ctx_),
        lease_(ctx_),
        maintenance_(ctx_),
        cluster_(ctx_) {}

  ~EtcdServerImpl() override { Shutdown(); }

  Status Listen() {
    const auto& o = ctx_.options;
    grpc::ServerBuilder b;
    b.AddListeningPort(o.listen_address, grpc::InsecureServerCredentials(), &port_);
    b.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<size_t>(o.limits.max_request_bytes + kGrpcOverheadBytes, INT_MAX)));
    b.SetMaxSendMessageSize(INT_MAX);
    // etcd clients ping every 10 s or more (etcdctl asks for 2 s, Go clamps it to 10 s);
    // gRPC's defaults would answer such pings with GOAWAY.
    b.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    b.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // gRPC would share a port already in use (SO_REUSEPORT); a second server on the same
    // port must fail instead, as etcd does.
    b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    b.RegisterService(&kv_);
    b.RegisterService(&watch_);
    b.RegisterService(&lease_);
    b.RegisterService(&maintenance_);
    b.RegisterService(&cluster_);
    server_ = b.BuildAndStart();
    if (!server_ || port_ == 0) {
      return UnavailableError("etcd server: cannot listen on " + o.listen_address);
    }
    std::string host = o.listen_address.substr(0, o.listen_address.rfind(':'));
    ctx_.client_url =
        o.client_url.empty() ? "http://" + host + ":" + std::to_string(port_) : o.client_url;
    ctx_.cluster_id = o.cluster_id != 0 ? o.cluster_id : Fnv1a64("keelson-cluster/" + o.member_name);
    ctx_.member_id = o.member_id != 0
                         ? o.member_id
                         : Fnv1a64("keelson-member/" + o.member_name + "/" + ctx_.client_url);
    ticker_ = std::thread([this] { Tick(); });
    return Status::Ok();
  }

  int port() const override { return port_; }
  std::string client_url() const override { return ctx_.client_url; }

  void Shutdown() override {
    std::lock_guard shutdown_lock(shutdown_mu_);
    if (done_) return;
    done_ = true;
    {
      std::lock_guard lock(tick_mu_);
      stop_ticker_ = true;
    }
    tick_cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    if (server_) {
      // Streams (watches, keepalives) never end on their own: cancel them right away.
      server_->Shutdown(std::chrono::system_clock::now());
      server_->Wait();
    }
    {
      std::unique_lock lock(ctx_.threads_mu);
      ctx_.threads_cv.wait(lock, [&] { return ctx_.snapshot_threads == 0; });
    }
    ctx_.pool.Stop();
  }

 private:
  void Tick() {
    std::unique_lock lock(tick_mu_);
    while (!stop_ticker_) {
      tick_cv_.wait_for(lock, ctx_.options.progress_notify_interval);
      if (stop_ticker_) return;
      lock.unlock();
      std::vector<std::shared_ptr<WatchSession>> live;
      {
        std::lock_guard slock(ctx_.sessions_mu);
        for (auto& [ptr, weak] : ctx_.sessions) {
          if (auto s = weak.lock()) live.push_back(std::move(s));
        }
      }
      for (auto& s : live) s->ProgressTick();
      live.clear();
      lock.lock();
    }
  }

  ServerContext ctx_;
  KVService kv_;
  WatchService watch_;
  LeaseService lease_;
  MaintenanceService maintenance_;
  ClusterService cluster_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stop_ticker_ = false;  // guarded by tick_mu_
  std::thread ticker_;

  std::mutex shutdown_mu_;
  bool done_ = false;  // guarded by shutdown_mu_
};

}  // namespace

Result<std::unique_ptr<EtcdServer>> EtcdServer::Start(Store& store, EtcdServerOptions options) {
  if (options.listen_address.rfind(':') == std::string::npos) {
    return InvalidArgumentError("etcd server: listen address needs host:port: " +
                                options.listen_address);
  }
  if (options.progress_notify_interval <= milliseconds(0)) {
    return InvalidArgumentError("etcd server: progress notify interval must be positive");
  }
  int workers = options.worker_threads;
  if (workers <= 0) workers = std::max(4, 2 * static_cast<int>(std::thread::hardware_concurrency()));
  auto server = std::make_unique<EtcdServerImpl>(store, std::move(options), workers);
  KEELSON_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<EtcdServer>(std::move(server));
}

}  // namespace keelson::store
