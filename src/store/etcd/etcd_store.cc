// The etcd backend. Layout:
//  - EtcdConnection: the channel, one stub per etcd service and a small timer thread for
//    retry back-off. Shared (shared_ptr) by the store and every watch it opened, so that a
//    watch may outlive the store object.
//  - EtcdStore: unary calls (blocking, with retries for calls that are safe to repeat) and
//    TxnAsync on the callback API.
//  - EtcdWatch: one Watch bidi stream per store watch (a ClientBidiReactor), re-created from
//    the next revision when the stream breaks.
#include "store/etcd/etcd_store.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "etcd/rpc.grpc.pb.h"
#include "store/etcdpb/etcdpb.h"

namespace keelson::store {
namespace {

namespace pb = etcdserverpb;
// gRPC deadlines take system_clock time points.
using Clock = std::chrono::system_clock;
using std::chrono::milliseconds;

// Runs functions at a time on one thread. Thread-safe. Pending functions are dropped (and
// destroyed) when the timer is destroyed; the destructor may run on the timer thread itself
// (a task may drop the last reference to the timer's owner), so the thread keeps its state
// in a shared block of its own.
class Timer {
 public:
  Timer() : shared_(std::make_shared<Shared>()) {
    thread_ = std::thread([s = shared_] { Run(*s); });
  }
  ~Timer() {
    {
      std::lock_guard lock(shared_->mu);
      shared_->stop = true;
    }
    shared_->cv.notify_all();
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
  void RunAt(Clock::time_point when, std::function<void()> fn) {
    {
      std::lock_guard lock(shared_->mu);
      shared_->tasks.emplace(when, std::move(fn));
    }
    shared_->cv.notify_all();
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::multimap<Clock::time_point, std::function<void()>> tasks;  // guarded by mu
    bool stop = false;                                               // guarded by mu
  };

  static void Run(Shared& s) {
    std::unique_lock lock(s.mu);
    while (!s.stop) {
      if (s.tasks.empty()) {
        s.cv.wait(lock);
        continue;
      }
      auto it = s.tasks.begin();
      if (it->first > Clock::now()) {
        s.cv.wait_until(lock, it->first);
        continue;
      }
      auto fn = std::move(it->second);
      s.tasks.erase(it);
      lock.unlock();
      fn();
      fn = nullptr;  // may destroy the Timer (not `s`)
      lock.lock();
    }
    auto tasks = std::move(s.tasks);
    lock.unlock();
  }

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

// gRPC must not destroy a channel from one of its own callback threads (the channel's
// callback queue would be torn down under the running callback). Callbacks therefore hand
// their references to the connection to the timer thread, which drops them.
struct EtcdConnection {
  EtcdOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
  Timer timer;
};

template <typename T>
void ReleaseOnTimer(std::shared_ptr<T> ref, EtcdConnection& conn) {
  conn.timer.RunAt(Clock::now(), [r = std::move(ref)] {});
}

// Parses the endpoint list into a gRPC target: "ipv4:a:p,b:p" for IPv4 literals (pick_first
// walks the list in order), "ipv6:[a]:p,..." for IPv6 literals, "dns:///host:port" for a
// single host name.
Result<std::string> EndpointsTarget(const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return InvalidArgumentError("etcd: no endpoints given");
  std::vector<std::string> v4, v6, names;
  for (std::string ep : endpoints) {
    if (ep.rfind("https://", 0) == 0) {
      return InvalidArgumentError("etcd: TLS endpoints are not supported yet: " + ep);
    }
    if (ep.rfind("http://", 0) == 0) ep = ep.substr(7);
    while (!ep.empty() && ep.back() == '/') ep.pop_back();
    size_t colon = ep.rfind(':');
    if (colon == std::string::npos || colon + 1 == ep.size()) {
      return InvalidArgumentError("etcd: endpoint needs host:port: " + ep);
    }
    std::string host = ep.substr(0, colon);
    std::string port = ep.substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgumentError("etcd: bad port in endpoint: " + ep);
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
      v4.push_back(ep);
    } else if (host.size() > 2 && host.front() == '[' && host.back() == ']' &&
               inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1) {
      v6.push_back(ep);
    } else {
      names.push_back(ep);
    }
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ",") + e;
    return s;
  };
  if (!v4.empty() && v6.empty() && names.empty()) return "ipv4:" + join(v4);
  if (v4.empty() && !v6.empty() && names.empty()) return "ipv6:" + join(v6);
  if (names.size() == 1 && v4.empty() && v6.empty()) return "dns:///" + names[0];
  return InvalidArgumentError(
      "etcd: several endpoints must all be IPv4 or all IPv6 addresses (or give one host name)");
}

bool TxnWrites(const TxnRequest& req) {
  auto writes = [](const std::vector<RequestOp>& ops) {
    for (const auto& op : ops) {
      if (std::holds_alternative<PutRequest>(op.request) ||
          std::holds_alternative<DeleteRangeRequest>(op.request)) {
        return true;
      }
      if (const auto* t = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
        if (*t && TxnWrites(**t)) return true;
      }
    }
    return false;
  };
  return writes(req.success) || writes(req.failure);
}

// Whether a failed call may be sent again. Reads may always be repeated while the member
// set is unreachable; writes only when etcd says the request was not proposed, because a
// write that reached raft may have been applied.
bool Retriable(const grpc::Status& s, bool idempotent) {
  const std::string& m = s.error_message();
  if (m == "etcdserver: no leader" || m == "raft proposal dropped" ||
      m == "etcdserver: not capable") {
    return true;
  }
  if (!idempotent) return false;
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         m == "etcdserver: leader changed" || m == "etcdserver: request timed out";
}

milliseconds Backoff(int attempt) {
  return milliseconds(std::min(1000, 50 << std::min(attempt, 5)));
}

class EtcdWatch;

// State shared between an EtcdWatch (the consumer's handle) and the reactor of its current
// stream. Guarded by mu.
struct WatchState : std::enable_shared_from_this<WatchState> {
  std::shared_ptr<EtcdConnection> conn;
  WatchOptions options;
  bool progress_notify = false;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<WatchBatch> batches;
  std::optional<WatchBatch> final_batch;  // set once the watch has ended
  std::function<void()> ready;
  int64_t next_revision = 0;  // where the next stream starts: after the last event seen
  bool closed = false;        // Cancel() called or the watch ended
  int attempt = 0;
  class WatchCall* call = nullptr;  // the live stream, if any

  void Connect();
  void ScheduleReconnect();
  void Push(WatchBatch batch) {  // mu held
    bool canceled = batch.canceled;
    if (canceled) closed = true;
    batches.push_back(std::move(batch));
    cv.notify_all();
    if (ready) ready();
  }
};

// One Watch stream. Deletes itself in OnDone. Guarded by state->mu, except the gRPC-owned
// buffers, which only the reaction in flight touches.
class WatchCall final : public grpc::ClientBidiReactor<pb::WatchRequest, pb::WatchResponse> {
 public:
  explicit WatchCall(std::shared_ptr<WatchState> state) : state_(std::move(state)) {
    ctx_.set_wait_for_ready(true);
    pb::WatchRequest create_req;
    auto* create = create_req.mutable_create_request();
    etcdpb::ToProto(state_->options, create);
    create->set_progress_notify(state_->progress_notify);
    if (state_->next_revision > 0) create->set_start_revision(state_->next_revision);
    pending_.push_back(std::move(create_req));
  }

  // state->mu held.
  void Start() {
    state_->conn->watch->async()->Watch(&ctx_, this);
    MaybeWrite();
    StartRead(&resp_);
    StartCall();
  }
  // state->mu held.
  void Cancel() { ctx_.TryCancel(); }
  // state->mu held.
  void RequestProgress() {
    pb::WatchRequest req;
    req.mutable_progress_request();
    pending_.push_back(std::move(req));
    MaybeWrite();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(state_->mu);
    write_in_flight_ = false;
    if (!pending_.empty()) pending_.pop_front();
    if (ok) MaybeWrite();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    std::lock_guard lock(state_->mu);
    Handle(resp_);
    resp_.Clear();
    if (!state_->closed) {
      StartRead(&resp_);
    } else {
      ctx_.TryCancel();
    }
  }

  void OnDone(const grpc::Status&) override {
    std::shared_ptr<WatchState> state = std::move(state_);
    {
      std::lock_guard lock(state->mu);
      state->call = nullptr;
      if (!state->closed) state->ScheduleReconnect();
    }
    delete this;
    EtcdConnection& conn = *state->conn;
    ReleaseOnTimer(std::move(state), conn);
  }

 private:
  void MaybeWrite() {
    if (write_in_flight_ || pending_.empty()) return;
    write_in_flight_ = true;
    StartWrite(&pending_.front());
  }

  void Handle(const pb::WatchResponse& r) {
    WatchState& st = *state_;
    int64_t rev = r.header().revision();
    if (r.created() && !r.canceled()) {
      st.attempt = 0;
      if (r.events_size() == 0) return;
    }
    if (r.canceled()) {
      if (r.compact_revision() == 0 && r.cancel_reason() == "etcdserver: no leader") {
        ctx_.TryCancel();  // resumes on the next stream
        return;
      }
      WatchBatch b;
      b.revision = rev;
      b.canceled = true;
      b.compact_revision = r.compact_revision();
      b.cancel_reason = r.compact_revision() != 0 ? std::string(kErrCompacted) : r.cancel_reason();
      st.final_batch = b;
      st.Push(std::move(b));
      return;
    }
    WatchBatch b;
    b.revision = rev;
    if (r.events_size() > 0) {
      b.events.reserve(r.events_size());
      for (const auto& e : r.events()) b.events.push_back(etcdpb::FromProto(e));
      st.next_revision = b.events.back().kv.mod_revision + 1;
    } else if (r.compact_revision() == 0) {
      b.progress = true;
      // etcd 3.4 answers a progress request (watch id -1) at once, even when the watcher
      // still catches up; only a periodic notification proves the watcher is synced.
      if (r.watch_id() != -1) st.next_revision = std::max(st.next_revision, rev + 1);
    } else {
      return;
    }
    st.Push(std::move(b));
  }

  std::shared_ptr<WatchState> state_;
  grpc::ClientContext ctx_;
  pb::WatchResponse resp_;
  std::deque<pb::WatchRequest> pending_;  // front is in flight when write_in_flight_
  bool write_in_flight_ = false;
};

void WatchState::Connect() {  // mu held
  if (closed || call != nullptr) return;
  call = new WatchCall(shared_from_this());
  call->Start();
}

void WatchState::ScheduleReconnect() {  // mu held
  auto self = shared_from_this();
  conn->timer.RunAt(Clock::now() + Backoff(attempt++), [self] {
    std::lock_guard lock(self->mu);
    self->Connect();
  });
}

class EtcdWatch final : public WatchStream {
 public:
  explicit EtcdWatch(std::shared_ptr<WatchState> state) : state_(std::move(state)) {}
  ~EtcdWatch() override { Cancel(); }

  Result<WatchBatch> Next(milliseconds timeout) override {
    std::unique_lock lock(state_->mu);
    state_->cv.wait_for(lock, timeout, [&] {
      return !state_->batches.empty() || state_->final_batch.has_value();
    });
    if (!state_->batches.empty()) {
      WatchBatch b = std::move(state_->batches.front());
      state_->batches.pop_front();
      return b;
    }
    if (state_->final_batch) return *state_->final_batch;
    return WatchBatch{};
  }

  void RequestProgress() override {
    std::lock_guard lock(state_->mu);
    if (state_->call != nullptr) state_->call->RequestProgress();
  }

  void SetReadyCallback(std::function<void()> ready) override {
    std::lock_guard lock(state_->mu);
    state_->ready = std::move(ready);
  }

  void Cancel() override {
    std::lock_guard lock(state_->mu);
    if (!state_->final_batch) {
      WatchBatch b;
      b.canceled = true;
      b.cancel_reason = "watch canceled";
      state_->final_batch = b;
      state_->batches.clear();
    }
    state_->closed = true;
    if (state_->call != nullptr) state_->call->Cancel();
    state_->cv.notify_all();
  }

 private:
  std::shared_ptr<WatchState> state_;
};

// One TxnAsync call, alive until `done` has been called.
struct TxnCall {
  std::shared_ptr<EtcdConnection> conn;
  pb::TxnRequest req;
  pb::TxnResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx;
  Store::TxnCallback done;
  Clock::time_point deadline;
  bool idempotent = false;
  int attempt = 0;
};

void StartTxn(std::shared_ptr<TxnCall> call) {
  call->ctx = std::make_unique<grpc::ClientContext>();
  call->ctx->set_wait_for_ready(true);
  call->ctx->set_deadline(call->deadline);
  call->resp.Clear();
  TxnCall* raw = call.get();
  raw->conn->kv->async()->Txn(raw->ctx.get(), &raw->req, &raw->resp,
                              [call = std::move(call)](grpc::Status s) mutable {
                                EtcdConnection& conn = *call->conn;
                                if (s.ok()) {
                                  call->done(etcdpb::FromProto(call->resp));
                                  return ReleaseOnTimer(std::move(call), conn);
                                }
                                auto retry_at = Clock::now() + Backoff(call->attempt++);
                                if (Retriable(s, call->idempotent) && retry_at < call->deadline) {
                                  conn.timer.RunAt(retry_at, [c = std::move(call)] { StartTxn(c); });
                                  return;
                                }
                                call->done(etcdpb::FromGrpcStatus(s));
                                ReleaseOnTimer(std::move(call), conn);
                              });
}

class EtcdStore final : public Store {
 public:
  explicit EtcdStore(std::shared_ptr<EtcdConnection> conn) : conn_(std::move(conn)) {}

  Result<RangeResponse> Range(const RangeRequest& req) override {
    pb::RangeRequest preq;
    etcdpb::ToProto(req, &preq);
    pb::RangeResponse presp;
    KEELSON_RETURN_IF_ERROR(Call(true, [&](grpc::ClientContext* ctx) {
      return conn_->kv->Range(ctx, preq, &presp);
    }));
    return etcdpb::FromProto(presp);
  }

  void TxnAsync(TxnRequest req, TxnCallback done) override {
    if (TxnRequestBytes(req) > conn_->options.limits.max_request_bytes) {
      done(ResourceExhaustedError(kErrTooLarge));
      return;
    }
    auto call = std::make_shared<TxnCall>();
    call->conn = conn_;
    call->idempotent = !TxnWrites(req);
    etcdpb::ToProto(req, &call->req);
    call->done = std::move(done);
    call->deadline = Clock::now() + conn_->options.request_timeout;
    StartTxn(std::move(call));
  }

  Result<std::unique_ptr<WatchStream>> Watch(const WatchOptions& opts) override {
    if (opts.key.empty()) return InvalidArgumentError(kErrEmptyKey);
    auto state = std::make_shared<WatchState>();
    state->conn = conn_;
    state->options = opts;
    if (opts.start_revision > 0) {
      state->next_revision = opts.start_revision;
    } else {
      // The stream reaches etcd after Watch() returns; pinning the start to the revision
      // current now keeps every change made after Watch() returns in the watch.
      RangeRequest probe;
      probe.key = std::string(1, '\0');
      probe.count_only = true;
      auto now = Range(probe);
      if (!now.ok()) return now.status();
      state->next_revision = now->revision + 1;
    }
    {
      std::lock_guard lock(state->mu);
      state->Connect();
    }
    return std::unique_ptr<WatchStream>(new EtcdWatch(std::move(state)));
  }

  Result<int64_t> Compact(int64_t revision) override {
    pb::CompactionRequest req;
    req.set_revision(revision);
    pb::CompactionResponse resp;
    KEELSON_RETURN_IF_ERROR(Call(false, [&](grpc::ClientContext* ctx) {
      return conn_->kv->Compact(ctx, req, &resp);
    }));
    return resp.header().revision();
  }

  Result<LeaseGrantResponse> LeaseGrant(int64_t ttl_seconds, int64_t id) override {
    pb::LeaseGrantRequest req;
    req.set_ttl(ttl_seconds);
    req.set_id(id);
    pb::LeaseGrantResponse resp;
    // Repeating a grant with a chosen id is safe (a duplicate fails); one without is not.
    KEELSON_RETURN_IF_ERROR(Call(id != 0, [&](grpc::ClientContext* ctx) {
      return conn_->lease->LeaseGrant(ctx, req, &resp);
    }));
    if (!resp.error().empty()) return InternalError("etcd: " + resp.error());
    return LeaseGrantResponse{resp.header().revision(), resp.id(), resp.ttl()};
  }

  Result<int64_t> LeaseKeepAlive(int64_t id) override {
    // etcd renews leases only over the LeaseKeepAlive stream: one request, one response.
    pb::LeaseKeepAliveRequest req;
    req.set_id(id);
    pb::LeaseKeepAliveResponse resp;
    KEELSON_RETURN_IF_ERROR(Call(true, [&](grpc::ClientContext* ctx) {
      auto stream = conn_->lease->LeaseKeepAlive(ctx);
      bool got = stream->Write(req) && stream->WritesDone() && stream->Read(&resp);
      grpc::Status s = stream->Finish();
      if (s.ok() && !got) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "keepalive stream closed");
      return s;
    }));
    if (resp.ttl() <= 0) return NotFoundError(kErrLeaseNotFound);
    return resp.ttl();
  }

  Status LeaseRevoke(int64_t id) override {
    pb::LeaseRevokeRequest req;
    req.set_id(id);
    pb::LeaseRevokeResponse resp;
    // Not repeated on a lost answer: a second revoke of a revoked lease reports NotFound.
    return Call(false, [&](grpc::ClientContext* ctx) {
      return conn_->lease->LeaseRevoke(ctx, req, &resp);
    });
  }

  Result<LeaseTimeToLiveResponse> LeaseTimeToLive(int64_t id, bool keys) override {
    pb::LeaseTimeToLiveRequest req;
    req.set_id(id);
    req.set_keys(keys);
    pb::LeaseTimeToLiveResponse resp;
    KEELSON_RETURN_IF_ERROR(Call(true, [&](grpc::ClientContext* ctx) {
      return conn_->lease->LeaseTimeToLive(ctx, req, &resp);
    }));
    LeaseTimeToLiveResponse out;
    out.revision = resp.header().revision();
    out.id = resp.id();
    out.ttl = resp.ttl();
    out.granted_ttl = resp.grantedttl();
    out.keys.assign(resp.keys().begin(), resp.keys().end());
    return out;
  }

  Result<std::vector<int64_t>> LeaseList() override {
    pb::LeaseLeasesResponse resp;
    KEELSON_RETURN_IF_ERROR(Call(true, [&](grpc::ClientContext* ctx) {
      return conn_->lease->LeaseLeases(ctx, pb::LeaseLeasesRequest(), &resp);
    }));
    std::vector<int64_t> ids;
    for (const auto& l : resp.leases()) ids.push_back(l.id());
    return ids;
  }

  Result<StoreStatus> GetStatus() override {
    pb::StatusResponse resp;
    KEELSON_RETURN_IF_ERROR(Call(true, [&](grpc::ClientContext* ctx) {
      return conn_->maintenance->Status(ctx, pb::StatusRequest(), &resp);
    }));
    StoreStatus st;
    st.revision = resp.header().revision();
    st.db_size = resp.dbsize();
    st.db_size_in_use = resp.dbsizeinuse();
    st.version = resp.version();
    auto compact = CompactRevision(st.revision);
    if (!compact.ok()) return compact.status();
    st.compact_revision = *compact;
    return st;
  }

  Status Snapshot(const std::function<Status(std::string_view chunk)>& sink) override {
    // etcd ends its snapshot with a sha256 of the bytes before it; the store interface
    // delivers the backend file alone, so the last 32 bytes are held back and checked.
    constexpr size_t kSha = 32;
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(Clock::now() + conn_->options.request_timeout * 60);
    auto reader = conn_->maintenance->Snapshot(&ctx, pb::SnapshotRequest());
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
    std::string held;  // the tail that may be the checksum
    pb::SnapshotResponse resp;
    Status sink_status;
    while (reader->Read(&resp)) {
      held += resp.blob();
      if (held.size() > kSha) {
        std::string_view out(held.data(), held.size() - kSha);
        EVP_DigestUpdate(md.get(), out.data(), out.size());
        sink_status = sink(out);
        if (!sink_status.ok()) {
          ctx.TryCancel();
          break;
        }
        held.erase(0, out.size());
      }
    }
    grpc::Status s = reader->Finish();
    if (!sink_status.ok()) return sink_status;
    if (!s.ok()) return etcdpb::FromGrpcStatus(s);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md.get(), sum, &len);
    if (held.size() != kSha || held != std::string_view(reinterpret_cast<char*>(sum), len)) {
      return InternalError("etcd: snapshot checksum mismatch");
    }
    return Status::Ok();
  }

 private:
  // Runs a blocking call with a fresh context per attempt until it succeeds, fails for good
  // or request_timeout passes.
  template <typename Fn>
  Status Call(bool idempotent, Fn&& fn) {
    auto deadline = Clock::now() + conn_->options.request_timeout;
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(deadline);
      grpc::Status s = fn(&ctx);
      if (s.ok()) return Status::Ok();
      auto retry_at = Clock::now() + Backoff(attempt);
      if (!Retriable(s, idempotent) || retry_at >= deadline) return etcdpb::FromGrpcStatus(s);
      std::this_thread::sleep_until(retry_at);
    }
  }

  // etcd reports the compaction revision only through errors: reads below it fail with
  // "compacted". The smallest readable revision is found by bisection (about log2(revision)
  // count-only reads of one key).
  Result<int64_t> CompactRevision(int64_t current) {
    auto readable = [&](int64_t rev) -> Result<bool> {
      RangeRequest req;
      req.key = std::string(1, '\0');
      req.count_only = true;
      req.revision = rev;
      auto r = Range(req);
      if (r.ok()) return true;
      if (r.status().code() == StatusCode::kGone) return false;
      return r.status();
    };
    if (current <= 1) return int64_t{0};
    auto first = readable(1);
    if (!first.ok()) return first.status();
    if (*first) return int64_t{0};
    int64_t lo = 1, hi = current;  // lo unreadable, hi readable
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      auto ok = readable(mid);
      if (!ok.ok()) return ok.status();
      (*ok ? hi : lo) = mid;
    }
    return hi;
  }

  std::shared_ptr<EtcdConnection> conn_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdOptions& options) {
  auto target = EndpointsTarget(options.endpoints);
  if (!target.ok()) return target.status();
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("pick_first");
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  // Reconnect quickly after a member restarts; notice a silent member within ~15 s (etcd
  // refuses pings more often than every 5 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  auto conn = std::make_shared<EtcdConnection>();
  conn->options = options;
  conn->channel = grpc::CreateCustomChannel(*target, grpc::InsecureChannelCredentials(), args);
  conn->kv = pb::KV::NewStub(conn->channel);
  conn->watch = pb::Watch::NewStub(conn->channel);
  conn->lease = pb::Lease::NewStub(conn->channel);
  conn->maintenance = pb::Maintenance::NewStub(conn->channel);

  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);
  ctx.set_deadline(Clock::now() + options.request_timeout);
  pb::StatusResponse resp;
  grpc::Status s = conn->maintenance->Status(&ctx, pb::StatusRequest(), &resp);
  if (!s.ok()) {
    return UnavailableError("etcd: no member of " + *target + " answered: " + s.error_message());
  }
  return std::unique_ptr<Store>(new EtcdStore(std::move(conn)));
}

}  // namespace keelson::store
