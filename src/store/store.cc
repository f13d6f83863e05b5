#include "store/store.h"

#include <future>

namespace keelson::store {

Result<TxnResponse> Store::Txn(TxnRequest req) {
  std::promise<Result<TxnResponse>> p;
  auto f = p.get_future();
  TxnAsync(std::move(req), [&p](Result<TxnResponse> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<PutResponse> Store::Put(PutRequest req) {
  TxnRequest txn;
  txn.success.push_back(RequestOp{std::move(req)});
  auto r = Txn(std::move(txn));
  if (!r.ok()) return r.status();
  auto& resp = std::get<PutResponse>(r->responses.at(0).response);
  resp.revision = r->revision;
  return std::move(resp);
}

Result<PutResponse> Store::Put(std::string key, std::string value, int64_t lease) {
  PutRequest req;
  req.key = std::move(key);
  req.value = std::move(value);
  req.lease = lease;
  return Put(std::move(req));
}

Result<DeleteRangeResponse> Store::DeleteRange(DeleteRangeRequest req) {
  TxnRequest txn;
  txn.success.push_back(RequestOp{std::move(req)});
  auto r = Txn(std::move(txn));
  if (!r.ok()) return r.status();
  auto& resp = std::get<DeleteRangeResponse>(r->responses.at(0).response);
  resp.revision = r->revision;
  return std::move(resp);
}

Result<KeyValue> Store::Get(const std::string& key) {
  RangeRequest req;
  req.key = key;
  auto r = Range(req);
  if (!r.ok()) return r.status();
  if (r->kvs.empty()) return NotFoundError("key not found: " + key);
  return std::move(r->kvs.front());
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

bool InRange(std::string_view key, std::string_view begin, std::string_view end) {
  if (end.empty()) return key == begin;
  if (end == std::string_view("\0", 1)) return key >= begin;
  return key >= begin && key < end;
}

namespace {
size_t OpsBytes(const std::vector<RequestOp>& ops);

size_t OpBytes(const RequestOp& op) {
  constexpr size_t kOverhead = 16;
  return std::visit(
      [](const auto& r) -> size_t {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, RangeRequest>) {
          return kOverhead + r.key.size() + r.range_end.size();
        } else if constexpr (std::is_same_v<T, PutRequest>) {
          return kOverhead + r.key.size() + r.value.size();
        } else if constexpr (std::is_same_v<T, DeleteRangeRequest>) {
          return kOverhead + r.key.size() + r.range_end.size();
        } else {
          return r ? TxnRequestBytes(*r) : 0;
        }
      },
      op.request);
}

size_t OpsBytes(const std::vector<RequestOp>& ops) {
  size_t n = 0;
  for (const auto& op : ops) n += OpBytes(op);
  return n;
}
}  // namespace

size_t TxnRequestBytes(const TxnRequest& req) {
  size_t n = OpsBytes(req.success) + OpsBytes(req.failure);
  for (const auto& c : req.compare) n += 16 + c.key.size() + c.range_end.size() + c.value.size();
  return n;
}

}  // namespace keelson::store
