// The storage interface every keelson component uses to hold cluster state.
//
// Semantics are those of the etcd v3 API: one cluster-wide revision that increases by one
// with every transaction that changes something; multi-version keys that can be read at a past
// revision until compacted; transactions with compares; watches from a revision; leases.
// Two backends implement it and pass one conformance suite (test/store): the embedded MVCC
// store on LMDB (OpenEmbeddedStore) and a real etcd cluster over gRPC (OpenEtcdStore).
//
// Thread-safety: every method of Store may be called from any thread concurrently.
// A WatchStream is used by one consumer thread at a time, except Cancel() and
// RequestProgress(), which may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace keelson::store {

// etcd's error texts, kept so that etcd clients and operators see the messages they know.
inline constexpr const char* kErrCompacted = "mvcc: required revision has been compacted";
inline constexpr const char* kErrFutureRev = "mvcc: required revision is a future revision";
inline constexpr const char* kErrLeaseNotFound = "etcdserver: requested lease not found";
inline constexpr const char* kErrTooLarge = "etcdserver: request is too large";
inline constexpr const char* kErrNoSpace = "etcdserver: mvcc: database space exceeded";
inline constexpr const char* kErrDuplicateKey = "etcdserver: duplicate key given in txn request";
inline constexpr const char* kErrEmptyKey = "etcdserver: key is not provided";

struct KeyValue {
  std::string key;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;  // 1 on creation, +1 per put, reset by delete
  std::string value;
  int64_t lease = 0;

  bool operator==(const KeyValue&) const = default;
};

// Key ranges follow etcd: range_end empty selects `key` alone; range_end "\0" selects every
// key >= key; otherwise the half-open interval [key, range_end).
struct RangeRequest {
  enum class SortOrder { kNone = 0, kAscend = 1, kDescend = 2 };
  enum class SortTarget { kKey = 0, kVersion = 1, kCreate = 2, kMod = 3, kValue = 4 };

  std::string key;
  std::string range_end;
  int64_t limit = 0;     // 0: no limit
  int64_t revision = 0;  // <= 0: the current revision
  SortOrder sort_order = SortOrder::kNone;
  SortTarget sort_target = SortTarget::kKey;
  bool serializable = false;  // the embedded store is always linearizable
  bool keys_only = false;
  bool count_only = false;
  int64_t min_mod_revision = 0;
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;
  // Not part of the etcd API: the caller does not need `count`, so a backend may stop reading
  // once `limit` keys (and one more, for `more`) are found and leave count at 0. Lets a
  // paged read of a large range cost what the pages cost. Backends may ignore it.
  bool skip_count = false;
};

struct RangeResponse {
  int64_t revision = 0;  // the store revision the range was served at
  std::vector<KeyValue> kvs;
  bool more = false;     // more keys matched than `limit` allowed
  int64_t count = 0;     // number of keys in the range (before limit)
};

struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;
  bool prev_kv = false;
  bool ignore_value = false;  // keep the current value (key must exist)
  bool ignore_lease = false;  // keep the current lease (key must exist)
};

struct PutResponse {
  int64_t revision = 0;
  std::optional<KeyValue> prev_kv;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct DeleteRangeResponse {
  int64_t revision = 0;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

struct Compare {
  enum class Result { kEqual = 0, kGreater = 1, kLess = 2, kNotEqual = 3 };
  enum class Target { kVersion = 0, kCreate = 1, kMod = 2, kValue = 3, kLease = 4 };

  Result result = Result::kEqual;
  Target target = Target::kVersion;
  std::string key;
  std::string range_end;  // a compare over a range holds when it holds for every key
  int64_t number = 0;     // version, create/mod revision or lease, by target
  std::string value;      // for Target::kValue
};

struct TxnRequest;
struct TxnResponse;

struct RequestOp {
  std::variant<RangeRequest, PutRequest, DeleteRangeRequest, std::shared_ptr<const TxnRequest>>
      request;
};

struct ResponseOp {
  std::variant<RangeResponse, PutResponse, DeleteRangeResponse, std::shared_ptr<TxnResponse>>
      response;
};

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
};

struct TxnResponse {
  int64_t revision = 0;  // the store revision after the transaction
  bool succeeded = false;
  std::vector<ResponseOp> responses;
};

struct Event {
  enum class Type { kPut = 0, kDelete = 1 };
  Type type = Type::kPut;
  KeyValue kv;  // for a delete: key and mod_revision (the deleting revision) only
  std::optional<KeyValue> prev_kv;
};

struct WatchOptions {
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // <= 0: changes after the current revision
  bool prev_kv = false;
  bool filter_put = false;     // drop PUT events
  bool filter_delete = false;  // drop DELETE events
};

// What one call to WatchStream::Next returns.
struct WatchBatch {
  int64_t revision = 0;        // the store revision the batch was read at (response header)
  std::vector<Event> events;   // in revision order; empty for a progress notification
  bool progress = false;       // a progress notification: every event <= revision was sent
  bool canceled = false;       // the watch has ended; no more batches follow
  int64_t compact_revision = 0;  // set with canceled when start revision was compacted
  std::string cancel_reason;
};

class WatchStream {
 public:
  virtual ~WatchStream() = default;

  // Waits up to `timeout` for events and returns them. Returns an empty batch (not progress,
  // not canceled) when the timeout passes with nothing to report. After a batch with
  // `canceled` set, every further call returns the same.
  // Errors: Unavailable when the backend cannot be reached.
  virtual Result<WatchBatch> Next(std::chrono::milliseconds timeout) = 0;

  // Asks for a progress notification: once every event up to the current revision has been
  // returned, the next Next() returns a batch with `progress` set.
  virtual void RequestProgress() = 0;

  // `ready` is called, from an arbitrary thread, when Next() may have something new to
  // return; it is the hook for event-loop consumers. It is called without the store's locks
  // held, so it may call Next() and RequestProgress(), but not Cancel() or
  // SetReadyCallback(). It is never called after Cancel() has returned. Keep it cheap: it
  // runs on the store's commit path. Set it before the first Next().
  virtual void SetReadyCallback(std::function<void()> ready) = 0;

  // Ends the watch; a blocked Next() returns a canceled batch.
  virtual void Cancel() = 0;
};

struct LeaseGrantResponse {
  int64_t revision = 0;
  int64_t id = 0;
  int64_t ttl = 0;  // seconds
};

struct LeaseTimeToLiveResponse {
  int64_t revision = 0;
  int64_t id = 0;
  int64_t ttl = -1;          // seconds left; -1 when the lease has expired or does not exist
  int64_t granted_ttl = 0;
  std::vector<std::string> keys;
};

struct StoreStatus {
  int64_t revision = 0;
  int64_t compact_revision = 0;
  int64_t db_size = 0;         // bytes the backend file takes
  int64_t db_size_in_use = 0;  // bytes holding live pages
  std::string version;         // backend version string
};

// The storage interface. See the file comment for semantics and thread-safety.
class Store {
 public:
  using TxnCallback = std::function<void(Result<TxnResponse>)>;

  virtual ~Store() = default;

  // Reads a key or a range. Errors: Gone (revision compacted), FailedPrecondition (future
  // revision), InvalidArgument, Unavailable.
  virtual Result<RangeResponse> Range(const RangeRequest& req) = 0;

  // Runs a transaction; `done` is called exactly once, from an arbitrary thread, when the
  // outcome is durable (or failed). A transaction that writes is applied atomically or not
  // at all. Errors: InvalidArgument (duplicate key, empty key), ResourceExhausted (too large,
  // no space), NotFound (lease), Gone, Unavailable.
  virtual void TxnAsync(TxnRequest req, TxnCallback done) = 0;

  virtual Result<std::unique_ptr<WatchStream>> Watch(const WatchOptions& opts) = 0;

  // Discards history before `revision`. Errors: Gone (already compacted past it),
  // FailedPrecondition (future revision).
  virtual Result<int64_t> Compact(int64_t revision) = 0;

  // Leases. `id` 0 lets the store choose. KeepAlive returns the TTL the lease now has;
  // NotFound once it has expired or been revoked. Revoke deletes every attached key in one
  // revision.
  virtual Result<LeaseGrantResponse> LeaseGrant(int64_t ttl_seconds, int64_t id) = 0;
  virtual Result<int64_t> LeaseKeepAlive(int64_t id) = 0;
  virtual Status LeaseRevoke(int64_t id) = 0;
  virtual Result<LeaseTimeToLiveResponse> LeaseTimeToLive(int64_t id, bool keys) = 0;
  virtual Result<std::vector<int64_t>> LeaseList() = 0;

  virtual Result<StoreStatus> GetStatus() = 0;

  // Streams a consistent copy of the whole backend to `sink` in chunks. The embedded store
  // sends its LMDB file.
  virtual Status Snapshot(const std::function<Status(std::string_view chunk)>& sink) = 0;

  // Convenience wrappers over TxnAsync and Range; they block the calling thread.
  Result<TxnResponse> Txn(TxnRequest req);
  Result<PutResponse> Put(PutRequest req);
  Result<PutResponse> Put(std::string key, std::string value, int64_t lease = 0);
  Result<DeleteRangeResponse> DeleteRange(DeleteRangeRequest req);
  // The key's current value, or NotFound.
  Result<KeyValue> Get(const std::string& key);
};

// The smallest key greater than every key with `prefix`: the range_end for a prefix watch or
// range ("\0" when the prefix is all 0xff bytes or empty).
std::string PrefixEnd(std::string_view prefix);

// True when `key` falls in the etcd range [begin, end) with etcd's range_end conventions.
bool InRange(std::string_view key, std::string_view begin, std::string_view end);

// Size and limits shared by both backends.
struct Limits {
  size_t max_request_bytes = 1536 * 1024;  // 1.5 MiB, as etcd
};

// Approximate encoded size of a transaction, checked against Limits::max_request_bytes.
size_t TxnRequestBytes(const TxnRequest& req);

}  // namespace keelson::store
