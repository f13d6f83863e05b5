// Conversion between the store interface's value types (store/store.h) and the etcd v3 API
// protobuf messages (proto/etcd/*.proto), and between Status and grpc::Status.
//
// Used by both sides of the etcd v3 gRPC API: the etcd backend (store/etcd) turns store
// requests into etcd messages, and `keelson store`'s server (store/etcdserver) turns etcd
// messages into store requests. All functions are pure and thread-safe; none throws.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"
#include "etcd/kv.pb.h"
#include "etcd/rpc.pb.h"
#include "store/store.h"

namespace keelson::store::etcdpb {

// --- keys and events ---
void ToProto(const KeyValue& kv, mvccpb::KeyValue* out);
KeyValue FromProto(const mvccpb::KeyValue& kv);
void ToProto(const Event& ev, mvccpb::Event* out);
Event FromProto(const mvccpb::Event& ev);

// --- requests (store -> etcd) ---
void ToProto(const RangeRequest& req, etcdserverpb::RangeRequest* out);
void ToProto(const PutRequest& req, etcdserverpb::PutRequest* out);
void ToProto(const DeleteRangeRequest& req, etcdserverpb::DeleteRangeRequest* out);
void ToProto(const Compare& cmp, etcdserverpb::Compare* out);
void ToProto(const TxnRequest& req, etcdserverpb::TxnRequest* out);
void ToProto(const WatchOptions& opts, etcdserverpb::WatchCreateRequest* out);

// --- requests (etcd -> store) ---
RangeRequest FromProto(const etcdserverpb::RangeRequest& req);
PutRequest FromProto(const etcdserverpb::PutRequest& req);
DeleteRangeRequest FromProto(const etcdserverpb::DeleteRangeRequest& req);
Compare FromProto(const etcdserverpb::Compare& cmp);
TxnRequest FromProto(const etcdserverpb::TxnRequest& req);
WatchOptions FromProto(const etcdserverpb::WatchCreateRequest& req);

// --- responses (store -> etcd). Headers are the caller's: these fill everything else. ---
void ToProto(const RangeResponse& resp, etcdserverpb::RangeResponse* out);
void ToProto(const PutResponse& resp, etcdserverpb::PutResponse* out);
void ToProto(const DeleteRangeResponse& resp, etcdserverpb::DeleteRangeResponse* out);
// Fills nested responses' headers with `header` as etcd does.
void ToProto(const TxnResponse& resp, const etcdserverpb::ResponseHeader& header,
             etcdserverpb::TxnResponse* out);

// --- responses (etcd -> store). `revision` fields come from the response headers. ---
RangeResponse FromProto(const etcdserverpb::RangeResponse& resp);
PutResponse FromProto(const etcdserverpb::PutResponse& resp);
DeleteRangeResponse FromProto(const etcdserverpb::DeleteRangeResponse& resp);
TxnResponse FromProto(const etcdserverpb::TxnResponse& resp);

// The message etcd puts on the wire for a store error text: etcd prefixes its mvcc errors
// ("mvcc: required revision has been compacted") with "etcdserver: ".
std::string EtcdErrorText(const std::string& message);

// Status -> grpc::Status with the code and text etcd clients recognise (compacted and future
// revision: OUT_OF_RANGE; lease not found: NOT_FOUND; too large, duplicate key, empty key:
// INVALID_ARGUMENT; no space: RESOURCE_EXHAUSTED). Other statuses map by code.
grpc::Status ToGrpcStatus(const Status& status);

// grpc::Status -> Status, recognising etcd's error texts (compacted: Gone; future revision:
// FailedPrecondition; lease not found: NotFound; too large, no space: ResourceExhausted;
// duplicate key, empty key: InvalidArgument) and otherwise mapping by code; transport
// failures (UNAVAILABLE, DEADLINE_EXCEEDED) become Unavailable. Messages carry the store's
// kErr* texts where one applies.
Status FromGrpcStatus(const grpc::Status& status);

}  // namespace keelson::store::etcdpb
