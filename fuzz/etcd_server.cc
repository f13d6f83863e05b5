// The etcd v3 gRPC API of `keelson store` (store/etcdserver over the embedded store in a
// scratch directory), driven through real gRPC calls on loopback: the first byte picks the
// call (KV Range, Put, DeleteRange, Txn, Compact; Lease Grant, Revoke, TimeToLive, Leases;
// Maintenance Status; Cluster MemberList; Watch), the rest is its request message.
// Invariants: nothing crashes, leaks or hangs: every call is answered within 5 seconds.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>

#include "etcd/rpc.grpc.pb.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/temp_dir.h"
#include "store/etcdserver/etcd_server.h"
#include "store/mvcc/embedded_store.h"

using namespace keelson;
namespace pb = etcdserverpb;

namespace {

struct Harness {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::EtcdServer> server;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
  std::unique_ptr<pb::Cluster::Stub> cluster;
  std::unique_ptr<pb::Watch::Stub> watch;
};

Harness* Start() {
  auto* h = new Harness;
  store::EmbeddedOptions eo;
  eo.data_dir = fuzz::ScratchDir("etcd") + "/store";
  eo.auto_compact_retention = std::chrono::seconds(0);
  auto st = store::OpenEmbeddedStore(eo);
  if (!st.ok()) fuzz::Fail("cannot open the store", st.status().message());
  h->store = std::move(*st);
  store::EtcdServerOptions so;
  so.worker_threads = 2;
  auto srv = store::EtcdServer::Start(*h->store, so);
  if (!srv.ok()) fuzz::Fail("cannot start the etcd server", srv.status().message());
  h->server = std::move(*srv);
  auto ch = grpc::CreateChannel("127.0.0.1:" + std::to_string(h->server->port()),
                                grpc::InsecureChannelCredentials());
  h->kv = pb::KV::NewStub(ch);
  h->lease = pb::Lease::NewStub(ch);
  h->maintenance = pb::Maintenance::NewStub(ch);
  h->cluster = pb::Cluster::NewStub(ch);
  h->watch = pb::Watch::NewStub(ch);
  return h;
}

void Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

template <typename Req, typename Resp, typename Call>
void Unary(std::string_view bytes, Call call) {
  Req req;
  if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  Resp resp;
  grpc::ClientContext ctx;
  Deadline(&ctx);
  grpc::Status s = call(&ctx, req, &resp);
  fuzz::Check(s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED,
              "an etcd call was not answered within 5 seconds", req.DebugString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = Start();
  if (size < 1) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 12) {
    case 0:
      Unary<pb::RangeRequest, pb::RangeResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->kv->Range(c, q, r);
      });
      break;
    case 1:
      Unary<pb::PutRequest, pb::PutResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->kv->Put(c, q, r);
      });
      break;
    case 2:
      Unary<pb::DeleteRangeRequest, pb::DeleteRangeResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->kv->DeleteRange(c, q, r);
      });
      break;
    case 3:
      Unary<pb::TxnRequest, pb::TxnResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->kv->Txn(c, q, r);
      });
      break;
    case 4:
      Unary<pb::CompactionRequest, pb::CompactionResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->kv->Compact(c, q, r);
      });
      break;
    case 5:
      Unary<pb::LeaseGrantRequest, pb::LeaseGrantResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->lease->LeaseGrant(c, q, r);
      });
      break;
    case 6:
      Unary<pb::LeaseRevokeRequest, pb::LeaseRevokeResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->lease->LeaseRevoke(c, q, r);
      });
      break;
    case 7:
      Unary<pb::LeaseTimeToLiveRequest, pb::LeaseTimeToLiveResponse>(
          bytes, [&](auto* c, auto& q, auto* r) { return h->lease->LeaseTimeToLive(c, q, r); });
      break;
    case 8:
      Unary<pb::LeaseLeasesRequest, pb::LeaseLeasesResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->lease->LeaseLeases(c, q, r);
      });
      break;
    case 9:
      Unary<pb::StatusRequest, pb::StatusResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->maintenance->Status(c, q, r);
      });
      break;
    case 10:
      Unary<pb::MemberListRequest, pb::MemberListResponse>(bytes, [&](auto* c, auto& q, auto* r) {
        return h->cluster->MemberList(c, q, r);
      });
      break;
    default: {
      // A watch stream: one request, its first answer, then the client goes away.
      pb::WatchRequest req;
      if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return 0;
      grpc::ClientContext ctx;
      Deadline(&ctx);
      auto stream = h->watch->Watch(&ctx);
      if (stream->Write(req)) {
        if (req.has_create_request() || req.has_progress_request()) {
          pb::WatchResponse resp;
          bool got = stream->Read(&resp);
          fuzz::Check(got || ctx.deadline() > std::chrono::system_clock::now(),
                      "a watch request was not answered within 5 seconds", req.DebugString());
        }
      }
      stream->WritesDone();
      ctx.TryCancel();
      (void)stream->Finish();
      break;
    }
  }
  return 0;
}
