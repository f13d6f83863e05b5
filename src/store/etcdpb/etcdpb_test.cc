#include "store/etcdpb/etcdpb.h"

#include <gtest/gtest.h>

namespace keelson::store::etcdpb {
namespace {

TEST(EtcdPbTest, TxnRoundTripKeepsNestedTxnAndRangeCompare) {
  TxnRequest inner;
  inner.success.push_back(RequestOp{DeleteRangeRequest{"a", "b", true}});
  TxnRequest req;
  Compare c;
  c.result = Compare::Result::kLess;
  c.target = Compare::Target::kMod;
  c.key = "k";
  c.range_end = "l";
  c.number = 42;
  req.compare.push_back(c);
  Compare v;
  v.target = Compare::Target::kValue;
  v.key = "x";
  v.value = "val";
  req.compare.push_back(v);
  PutRequest put;
  put.key = "p";
  put.value = std::string("v\0w", 3);
  put.lease = 7;
  put.prev_kv = true;
  req.success.push_back(RequestOp{put});
  req.failure.push_back(RequestOp{std::make_shared<const TxnRequest>(inner)});

  etcdserverpb::TxnRequest p;
  ToProto(req, &p);
  EXPECT_EQ(p.compare(0).mod_revision(), 42);
  EXPECT_EQ(p.compare(0).range_end(), "l");
  EXPECT_EQ(p.compare(1).value(), "val");
  ASSERT_TRUE(p.failure(0).has_request_txn());

  TxnRequest back = FromProto(p);
  ASSERT_EQ(back.compare.size(), 2u);
  EXPECT_EQ(back.compare[0].result, Compare::Result::kLess);
  EXPECT_EQ(back.compare[0].target, Compare::Target::kMod);
  EXPECT_EQ(back.compare[0].number, 42);
  EXPECT_EQ(back.compare[0].range_end, "l");
  EXPECT_EQ(back.compare[1].value, "val");
  const auto& bp = std::get<PutRequest>(back.success.at(0).request);
  EXPECT_EQ(bp.value, put.value);
  EXPECT_EQ(bp.lease, 7);
  EXPECT_TRUE(bp.prev_kv);
  const auto& bi = std::get<std::shared_ptr<const TxnRequest>>(back.failure.at(0).request);
  const auto& del = std::get<DeleteRangeRequest>(bi->success.at(0).request);
  EXPECT_EQ(del.range_end, "b");
  EXPECT_TRUE(del.prev_kv);
}

TEST(EtcdPbTest, TxnResponseRoundTrip) {
  TxnResponse resp;
  resp.revision = 9;
  resp.succeeded = true;
  RangeResponse rr;
  rr.kvs.push_back(KeyValue{"a", 2, 3, 4, "v", 5});
  rr.count = 1;
  resp.responses.push_back(ResponseOp{rr});
  auto nested = std::make_shared<TxnResponse>();
  nested->responses.push_back(ResponseOp{DeleteRangeResponse{0, 2, {}}});
  resp.responses.push_back(ResponseOp{nested});
  etcdserverpb::ResponseHeader h;
  h.set_revision(9);
  etcdserverpb::TxnResponse p;
  ToProto(resp, h, &p);
  EXPECT_EQ(p.responses(0).response_range().header().revision(), 9);
  TxnResponse back = FromProto(p);
  EXPECT_EQ(back.revision, 9);
  EXPECT_TRUE(back.succeeded);
  EXPECT_EQ(std::get<RangeResponse>(back.responses[0].response).kvs[0],
            (KeyValue{"a", 2, 3, 4, "v", 5}));
  auto& bn = std::get<std::shared_ptr<TxnResponse>>(back.responses[1].response);
  EXPECT_EQ(std::get<DeleteRangeResponse>(bn->responses[0].response).deleted, 2);
}

TEST(EtcdPbTest, WatchOptionsFilters) {
  WatchOptions o;
  o.key = "a";
  o.range_end = std::string(1, '\0');
  o.start_revision = 5;
  o.prev_kv = true;
  o.filter_delete = true;
  etcdserverpb::WatchCreateRequest p;
  ToProto(o, &p);
  ASSERT_EQ(p.filters_size(), 1);
  EXPECT_EQ(p.filters(0), etcdserverpb::WatchCreateRequest::NODELETE);
  WatchOptions back = FromProto(p);
  EXPECT_EQ(back.range_end, o.range_end);
  EXPECT_EQ(back.start_revision, 5);
  EXPECT_TRUE(back.prev_kv);
  EXPECT_TRUE(back.filter_delete);
  EXPECT_FALSE(back.filter_put);
}

TEST(EtcdPbTest, ErrorsCarryEtcdCodesAndTexts) {
  struct Case {
    Status status;
    grpc::StatusCode code;
    std::string wire;
  } cases[] = {
      {Status(StatusCode::kGone, kErrCompacted), grpc::StatusCode::OUT_OF_RANGE,
       "etcdserver: mvcc: required revision has been compacted"},
      {Status(StatusCode::kFailedPrecondition, kErrFutureRev), grpc::StatusCode::OUT_OF_RANGE,
       "etcdserver: mvcc: required revision is a future revision"},
      {NotFoundError(kErrLeaseNotFound), grpc::StatusCode::NOT_FOUND, kErrLeaseNotFound},
      {ResourceExhaustedError(kErrTooLarge), grpc::StatusCode::INVALID_ARGUMENT, kErrTooLarge},
      {ResourceExhaustedError(kErrNoSpace), grpc::StatusCode::RESOURCE_EXHAUSTED, kErrNoSpace},
      {InvalidArgumentError(kErrDuplicateKey), grpc::StatusCode::INVALID_ARGUMENT,
       kErrDuplicateKey},
      {InvalidArgumentError(kErrEmptyKey), grpc::StatusCode::INVALID_ARGUMENT, kErrEmptyKey},
  };
  for (const auto& c : cases) {
    grpc::Status g = ToGrpcStatus(c.status);
    EXPECT_EQ(g.error_code(), c.code) << c.wire;
    EXPECT_EQ(g.error_message(), c.wire);
    Status back = FromGrpcStatus(g);
    EXPECT_EQ(back.code(), c.status.code()) << c.wire;
    EXPECT_EQ(back.message(), c.status.message());
  }
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x")).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(ToGrpcStatus(UnavailableError("down")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace keelson::store::etcdpb
