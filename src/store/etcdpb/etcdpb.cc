#include "store/etcdpb/etcdpb.h"

#include <string_view>
#include <type_traits>

namespace keelson::store::etcdpb {

namespace pb = etcdserverpb;

void ToProto(const KeyValue& kv, mvccpb::KeyValue* out) {
  out->set_key(kv.key);
  out->set_create_revision(kv.create_revision);
  out->set_mod_revision(kv.mod_revision);
  out->set_version(kv.version);
  out->set_value(kv.value);
  out->set_lease(kv.lease);
}

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.value = kv.value();
  out.lease = kv.lease();
  return out;
}

void ToProto(const Event& ev, mvccpb::Event* out) {
  out->set_type(ev.type == Event::Type::kDelete ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
  ToProto(ev.kv, out->mutable_kv());
  if (ev.prev_kv) ToProto(*ev.prev_kv, out->mutable_prev_kv());
}

Event FromProto(const mvccpb::Event& ev) {
  Event out;
  out.type = ev.type() == mvccpb::Event::DELETE ? Event::Type::kDelete : Event::Type::kPut;
  out.kv = FromProto(ev.kv());
  if (ev.has_prev_kv()) out.prev_kv = FromProto(ev.prev_kv());
  return out;
}

void ToProto(const RangeRequest& req, pb::RangeRequest* out) {
  out->set_key(req.key);
  out->set_range_end(req.range_end);
  out->set_limit(req.limit);
  out->set_revision(req.revision);
  out->set_sort_order(static_cast<pb::RangeRequest::SortOrder>(req.sort_order));
  out->set_sort_target(static_cast<pb::RangeRequest::SortTarget>(req.sort_target));
  out->set_serializable(req.serializable);
  out->set_keys_only(req.keys_only);
  out->set_count_only(req.count_only);
  out->set_min_mod_revision(req.min_mod_revision);
  out->set_max_mod_revision(req.max_mod_revision);
  out->set_min_create_revision(req.min_create_revision);
  out->set_max_create_revision(req.max_create_revision);
}

RangeRequest FromProto(const pb::RangeRequest& req) {
  RangeRequest out;
  out.key = req.key();
  out.range_end = req.range_end();
  out.limit = req.limit();
  out.revision = req.revision();
  // Unknown enum values (a newer client) fall back to etcd's defaults.
  int order = req.sort_order();
  out.sort_order = order >= 0 && order <= 2 ? static_cast<RangeRequest::SortOrder>(order)
                                            : RangeRequest::SortOrder::kNone;
  int target = req.sort_target();
  out.sort_target = target >= 0 && target <= 4 ? static_cast<RangeRequest::SortTarget>(target)
                                               : RangeRequest::SortTarget::kKey;
  out.serializable = req.serializable();
  out.keys_only = req.keys_only();
  out.count_only = req.count_only();
  out.min_mod_revision = req.min_mod_revision();
  out.max_mod_revision = req.max_mod_revision();
  out.min_create_revision = req.min_create_revision();
  out.max_create_revision = req.max_create_revision();
  return out;
}

void ToProto(const PutRequest& req, pb::PutRequest* out) {
  out->set_key(req.key);
  out->set_value(req.value);
  out->set_lease(req.lease);
  out->set_prev_kv(req.prev_kv);
  out->set_ignore_value(req.ignore_value);
  out->set_ignore_lease(req.ignore_lease);
}

PutRequest FromProto(const pb::PutRequest& req) {
  PutRequest out;
  out.key = req.key();
  out.value = req.value();
  out.lease = req.lease();
  out.prev_kv = req.prev_kv();
  out.ignore_value = req.ignore_value();
  out.ignore_lease = req.ignore_lease();
  return out;
}

void ToProto(const DeleteRangeRequest& req, pb::DeleteRangeRequest* out) {
  out->set_key(req.key);
  out->set_range_end(req.range_end);
  out->set_prev_kv(req.prev_kv);
}

DeleteRangeRequest FromProto(const pb::DeleteRangeRequest& req) {
  DeleteRangeRequest out;
  out.key = req.key();
  out.range_end = req.range_end();
  out.prev_kv = req.prev_kv();
  return out;
}

void ToProto(const Compare& cmp, pb::Compare* out) {
  out->set_result(static_cast<pb::Compare::CompareResult>(cmp.result));
  out->set_target(static_cast<pb::Compare::CompareTarget>(cmp.target));
  out->set_key(cmp.key);
  out->set_range_end(cmp.range_end);
  switch (cmp.target) {
    case Compare::Target::kVersion: out->set_version(cmp.number); break;
    case Compare::Target::kCreate: out->set_create_revision(cmp.number); break;
    case Compare::Target::kMod: out->set_mod_revision(cmp.number); break;
    case Compare::Target::kValue: out->set_value(cmp.value); break;
    case Compare::Target::kLease: out->set_lease(cmp.number); break;
  }
}

Compare FromProto(const pb::Compare& cmp) {
  Compare out;
  int result = cmp.result();
  out.result = result >= 0 && result <= 3 ? static_cast<Compare::Result>(result)
                                          : Compare::Result::kEqual;
  int target = cmp.target();
  out.target = target >= 0 && target <= 4 ? static_cast<Compare::Target>(target)
                                          : Compare::Target::kVersion;
  out.key = cmp.key();
  out.range_end = cmp.range_end();
  // etcd reads the union member that matches the target; a mismatched member reads as zero.
  switch (out.target) {
    case Compare::Target::kVersion: out.number = cmp.version(); break;
    case Compare::Target::kCreate: out.number = cmp.create_revision(); break;
    case Compare::Target::kMod: out.number = cmp.mod_revision(); break;
    case Compare::Target::kValue: out.value = cmp.value(); break;
    case Compare::Target::kLease: out.number = cmp.lease(); break;
  }
  return out;
}

namespace {

void OpsToProto(const std::vector<RequestOp>& ops,
                google::protobuf::RepeatedPtrField<pb::RequestOp>* out) {
  for (const auto& op : ops) {
    pb::RequestOp* p = out->Add();
    std::visit(
        [p](const auto& r) {
          using T = std::decay_t<decltype(r)>;
          if constexpr (std::is_same_v<T, RangeRequest>) {
            ToProto(r, p->mutable_request_range());
          } else if constexpr (std::is_same_v<T, PutRequest>) {
            ToProto(r, p->mutable_request_put());
          } else if constexpr (std::is_same_v<T, DeleteRangeRequest>) {
            ToProto(r, p->mutable_request_delete_range());
          } else {
            if (r) ToProto(*r, p->mutable_request_txn());
            else p->mutable_request_txn();
          }
        },
        op.request);
  }
}

std::vector<RequestOp> OpsFromProto(const google::protobuf::RepeatedPtrField<pb::RequestOp>& ops) {
  std::vector<RequestOp> out;
  out.reserve(ops.size());
  for (const auto& op : ops) {
    switch (op.request_case()) {
      case pb::RequestOp::kRequestRange:
        out.push_back(RequestOp{FromProto(op.request_range())});
        break;
      case pb::RequestOp::kRequestPut:
        out.push_back(RequestOp{FromProto(op.request_put())});
        break;
      case pb::RequestOp::kRequestDeleteRange:
        out.push_back(RequestOp{FromProto(op.request_delete_range())});
        break;
      case pb::RequestOp::kRequestTxn:
        out.push_back(RequestOp{std::make_shared<const TxnRequest>(FromProto(op.request_txn()))});
        break;
      case pb::RequestOp::REQUEST_NOT_SET:
        // etcd skips empty ops too (its apply loop finds no request and does nothing); an
        // empty range keeps responses aligned with requests.
        out.push_back(RequestOp{RangeRequest{}});
        break;
    }
  }
  return out;
}

}  // namespace

void ToProto(const TxnRequest& req, pb::TxnRequest* out) {
  for (const auto& c : req.compare) ToProto(c, out->add_compare());
  OpsToProto(req.success, out->mutable_success());
  OpsToProto(req.failure, out->mutable_failure());
}

TxnRequest FromProto(const pb::TxnRequest& req) {
  TxnRequest out;
  out.compare.reserve(req.compare_size());
  for (const auto& c : req.compare()) out.compare.push_back(FromProto(c));
  out.success = OpsFromProto(req.success());
  out.failure = OpsFromProto(req.failure());
  return out;
}

void ToProto(const WatchOptions& opts, pb::WatchCreateRequest* out) {
  out->set_key(opts.key);
  out->set_range_end(opts.range_end);
  out->set_start_revision(opts.start_revision);
  out->set_prev_kv(opts.prev_kv);
  if (opts.filter_put) out->add_filters(pb::WatchCreateRequest::NOPUT);
  if (opts.filter_delete) out->add_filters(pb::WatchCreateRequest::NODELETE);
}

WatchOptions FromProto(const pb::WatchCreateRequest& req) {
  WatchOptions out;
  out.key = req.key();
  out.range_end = req.range_end();
  out.start_revision = req.start_revision();
  out.prev_kv = req.prev_kv();
  for (int f : req.filters()) {
    if (f == pb::WatchCreateRequest::NOPUT) out.filter_put = true;
    if (f == pb::WatchCreateRequest::NODELETE) out.filter_delete = true;
  }
  return out;
}

void ToProto(const RangeResponse& resp, pb::RangeResponse* out) {
  out->mutable_kvs()->Reserve(static_cast<int>(resp.kvs.size()));
  for (const auto& kv : resp.kvs) ToProto(kv, out->add_kvs());
  out->set_more(resp.more);
  out->set_count(resp.count);
}

void ToProto(const PutResponse& resp, pb::PutResponse* out) {
  if (resp.prev_kv) ToProto(*resp.prev_kv, out->mutable_prev_kv());
}

void ToProto(const DeleteRangeResponse& resp, pb::DeleteRangeResponse* out) {
  out->set_deleted(resp.deleted);
  for (const auto& kv : resp.prev_kvs) ToProto(kv, out->add_prev_kvs());
}

void ToProto(const TxnResponse& resp, const pb::ResponseHeader& header, pb::TxnResponse* out) {
  *out->mutable_header() = header;
  out->set_succeeded(resp.succeeded);
  for (const auto& r : resp.responses) {
    pb::ResponseOp* p = out->add_responses();
    std::visit(
        [p, &header](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, RangeResponse>) {
            auto* m = p->mutable_response_range();
            ToProto(x, m);
            *m->mutable_header() = header;
          } else if constexpr (std::is_same_v<T, PutResponse>) {
            auto* m = p->mutable_response_put();
            ToProto(x, m);
            *m->mutable_header() = header;
          } else if constexpr (std::is_same_v<T, DeleteRangeResponse>) {
            auto* m = p->mutable_response_delete_range();
            ToProto(x, m);
            *m->mutable_header() = header;
          } else {
            auto* m = p->mutable_response_txn();
            if (x) ToProto(*x, header, m);
            else *m->mutable_header() = header;
          }
        },
        r.response);
  }
}

RangeResponse FromProto(const pb::RangeResponse& resp) {
  RangeResponse out;
  out.revision = resp.header().revision();
  out.kvs.reserve(resp.kvs_size());
  for (const auto& kv : resp.kvs()) out.kvs.push_back(FromProto(kv));
  out.more = resp.more();
  out.count = resp.count();
  return out;
}

PutResponse FromProto(const pb::PutResponse& resp) {
  PutResponse out;
  out.revision = resp.header().revision();
  if (resp.has_prev_kv()) out.prev_kv = FromProto(resp.prev_kv());
  return out;
}

DeleteRangeResponse FromProto(const pb::DeleteRangeResponse& resp) {
  DeleteRangeResponse out;
  out.revision = resp.header().revision();
  out.deleted = resp.deleted();
  out.prev_kvs.reserve(resp.prev_kvs_size());
  for (const auto& kv : resp.prev_kvs()) out.prev_kvs.push_back(FromProto(kv));
  return out;
}

TxnResponse FromProto(const pb::TxnResponse& resp) {
  TxnResponse out;
  out.revision = resp.header().revision();
  out.succeeded = resp.succeeded();
  out.responses.resize(resp.responses_size());
  for (int i = 0; i < resp.responses_size(); ++i) {
    const auto& r = resp.responses(i);
    auto& dst = out.responses[i].response;  // a default RangeResponse for an empty op
    switch (r.response_case()) {
      case pb::ResponseOp::kResponseRange:
        dst.emplace<RangeResponse>(FromProto(r.response_range()));
        break;
      case pb::ResponseOp::kResponsePut:
        dst.emplace<PutResponse>(FromProto(r.response_put()));
        break;
      case pb::ResponseOp::kResponseDeleteRange:
        dst.emplace<DeleteRangeResponse>(FromProto(r.response_delete_range()));
        break;
      case pb::ResponseOp::kResponseTxn:
        dst.emplace<std::shared_ptr<TxnResponse>>(
            std::make_shared<TxnResponse>(FromProto(r.response_txn())));
        break;
      case pb::ResponseOp::RESPONSE_NOT_SET:
        break;
    }
  }
  return out;
}

namespace {

constexpr std::string_view kEtcdServerPrefix = "etcdserver: ";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

struct EtcdError {
  const char* text;       // the store's kErr* text
  grpc::StatusCode grpc;  // the code etcd sends it with
  StatusCode store;       // the store's code for it
};

constexpr EtcdError kEtcdErrors[] = {
    {kErrCompacted, grpc::StatusCode::OUT_OF_RANGE, StatusCode::kGone},
    {kErrFutureRev, grpc::StatusCode::OUT_OF_RANGE, StatusCode::kFailedPrecondition},
    {kErrLeaseNotFound, grpc::StatusCode::NOT_FOUND, StatusCode::kNotFound},
    {kErrTooLarge, grpc::StatusCode::INVALID_ARGUMENT, StatusCode::kResourceExhausted},
    {kErrNoSpace, grpc::StatusCode::RESOURCE_EXHAUSTED, StatusCode::kResourceExhausted},
    {kErrDuplicateKey, grpc::StatusCode::INVALID_ARGUMENT, StatusCode::kInvalidArgument},
    {kErrEmptyKey, grpc::StatusCode::INVALID_ARGUMENT, StatusCode::kInvalidArgument},
};

}  // namespace

std::string EtcdErrorText(const std::string& message) {
  if (StartsWith(message, "mvcc: ")) return std::string(kEtcdServerPrefix) + message;
  return message;
}

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  for (const auto& e : kEtcdErrors) {
    if (status.message() == e.text) return grpc::Status(e.grpc, EtcdErrorText(e.text));
  }
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (status.code()) {
    case StatusCode::kOk: code = grpc::StatusCode::OK; break;
    case StatusCode::kNotFound: code = grpc::StatusCode::NOT_FOUND; break;
    case StatusCode::kAlreadyExists: code = grpc::StatusCode::ALREADY_EXISTS; break;
    case StatusCode::kConflict: code = grpc::StatusCode::FAILED_PRECONDITION; break;
    case StatusCode::kInvalidArgument: code = grpc::StatusCode::INVALID_ARGUMENT; break;
    case StatusCode::kGone: code = grpc::StatusCode::OUT_OF_RANGE; break;
    case StatusCode::kFailedPrecondition: code = grpc::StatusCode::FAILED_PRECONDITION; break;
    case StatusCode::kResourceExhausted: code = grpc::StatusCode::RESOURCE_EXHAUSTED; break;
    case StatusCode::kUnavailable: code = grpc::StatusCode::UNAVAILABLE; break;
    case StatusCode::kDeadlineExceeded: code = grpc::StatusCode::DEADLINE_EXCEEDED; break;
    case StatusCode::kCancelled: code = grpc::StatusCode::CANCELLED; break;
    case StatusCode::kUnimplemented: code = grpc::StatusCode::UNIMPLEMENTED; break;
    case StatusCode::kInternal: code = grpc::StatusCode::INTERNAL; break;
  }
  return grpc::Status(code, EtcdErrorText(status.message()));
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  const std::string message = status.error_message();  // returned by value
  std::string_view msg = message;
  std::string_view bare = StartsWith(msg, kEtcdServerPrefix) ? msg.substr(kEtcdServerPrefix.size())
                                                             : msg;
  for (const auto& e : kEtcdErrors) {
    if (msg == e.text || bare == e.text) return Status(e.store, e.text);
  }
  std::string text = std::string(msg);
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND: return Status(StatusCode::kNotFound, text);
    case grpc::StatusCode::ALREADY_EXISTS: return Status(StatusCode::kAlreadyExists, text);
    case grpc::StatusCode::INVALID_ARGUMENT: return Status(StatusCode::kInvalidArgument, text);
    case grpc::StatusCode::OUT_OF_RANGE: return Status(StatusCode::kInvalidArgument, text);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status(StatusCode::kFailedPrecondition, text);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status(StatusCode::kResourceExhausted, text);
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(StatusCode::kUnavailable, "etcd: " + text);
    case grpc::StatusCode::CANCELLED: return Status(StatusCode::kCancelled, text);
    case grpc::StatusCode::UNIMPLEMENTED: return Status(StatusCode::kUnimplemented, text);
    default: return Status(StatusCode::kInternal, "etcd: " + text);
  }
}

}  // namespace keelson::store::etcdpb
