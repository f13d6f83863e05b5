// The embedded MVCC store on LMDB. Layout and commit path: docs/store.md.
#include "store/mvcc/embedded_store.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "store/mvcc/encoding.h"
#include "store/mvcc/watch_hub.h"

namespace keelson::store {
namespace mvcc {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Format 2 added zlib-compressed values (record flag 2), format 3 zstd (flag 4). Older
// directories are read as they are and relabelled when opened, so that an older keelson
// refuses them rather than misreading the flags.
constexpr const char* kFormat = "keelson-mvcc-3";
constexpr const char* kOlderFormats[] = {"keelson-mvcc-1", "keelson-mvcc-2"};
bool IsOlderFormat(std::string_view f) {
  for (const char* o : kOlderFormats) {
    if (f == o) return true;
  }
  return false;
}
// Values from this size up are stored compressed when that saves at least an eighth.
constexpr size_t kCompressMin = 512;

// zlib streams kept per thread (format 2 records are still read).
struct Inflater {
  Inflater() { ok = inflateInit(&z) == Z_OK; }
  ~Inflater() { inflateEnd(&z); }
  z_stream z{};
  bool ok = false;
};

// zstd contexts kept per thread: setting one up costs more than compressing a small value.
struct ZstdContexts {
  ZstdContexts() : c(ZSTD_createCCtx()), d(ZSTD_createDCtx()) {}
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
  ZSTD_CCtx* c;
  ZSTD_DCtx* d;
};
ZstdContexts& Zstd() {
  thread_local ZstdContexts z;
  return z;
}

// `in` as a zstd frame, if it fits in `limit` bytes.
std::optional<std::string> ZstdCompress(std::string_view in, size_t limit) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compressCCtx(Zstd().c, out.data(), out.size(), in.data(), in.size(), 1);
  if (ZSTD_isError(n) || n > limit) return std::nullopt;
  out.resize(n);
  return out;
}

// The stored form of a compressible value (a zstd frame); nullopt when compressing would not
// save enough to be worth a decompression on every read.
std::optional<std::string> Compress(std::string_view value) {
  if (value.size() < kCompressMin) return std::nullopt;
  if (value.size() >= 4 * kCompressMin) {
    // A large value is first probed on its head, so that data that does not compress (already
    // compressed, encrypted, random) costs little.
    std::string_view head = value.substr(0, kCompressMin);
    if (!ZstdCompress(head, head.size() - head.size() / 8)) return std::nullopt;
  }
  return ZstdCompress(value, value.size() - value.size() / 8);  // must save an eighth
}

// A record's value as written by the client; nullopt when a compressed value is corrupt.
std::optional<std::string> ValueOf(const Record& rec) {
  if (rec.codec == Codec::kNone) return std::string(rec.value);
  if (rec.codec == Codec::kZstd) {
    unsigned long long size = ZSTD_getFrameContentSize(rec.value.data(), rec.value.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > (1ULL << 32)) {
      return std::nullopt;
    }
    std::string out(size, '\0');
    size_t n = ZSTD_decompressDCtx(Zstd().d, out.data(), out.size(), rec.value.data(),
                                   rec.value.size());
    if (ZSTD_isError(n) || n != size) return std::nullopt;
    return out;
  }
  std::string_view in = rec.value;  // zlib, format 2
  uint64_t size = 0;
  if (!ReadVarint(&in, &size) || size > (uint64_t{1} << 32)) return std::nullopt;
  thread_local Inflater f;
  if (!f.ok || inflateReset(&f.z) != Z_OK) return std::nullopt;
  std::string out(size, '\0');
  f.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  f.z.avail_in = static_cast<uInt>(in.size());
  f.z.next_out = reinterpret_cast<Bytef*>(out.data());
  f.z.avail_out = static_cast<uInt>(size);
  if (inflate(&f.z, Z_FINISH) != Z_STREAM_END || f.z.avail_out != 0) return std::nullopt;
  return out;
}
constexpr const char* kFormatFile = "FORMAT";
constexpr const char* kLockFile = "LOCK";
constexpr size_t kMaxKeyBytes = 500;  // LMDB keys are at most 511 bytes; lkeys adds 8
constexpr int64_t kMinLeaseTTL = 2;   // seconds, as etcd with default timing
constexpr int64_t kMaxLeaseTTL = 9000000000;
constexpr size_t kCompactChunkRecords = 10000;
constexpr int64_t kLatest = INT64_MAX;  // read the newest version, own writes included

std::string LmdbError(int rc) { return mdb_strerror(rc); }

MDB_val Val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

std::string EncodeI64(int64_t v) {
  std::string s(8, '\0');
  PutBE64(s.data(), static_cast<uint64_t>(v));
  return s;
}

// A key clamped to what LMDB can search for; a clamped key sorts at or before the original,
// so cursor positioning stays correct and results are filtered by InRange afterwards.
std::string_view SearchKey(std::string_view k) {
  return k.substr(0, std::min<size_t>(k.size(), 511));
}

Status MdbStatus(int rc, std::string_view what) {
  if (rc == MDB_MAP_FULL) return ResourceExhaustedError(kErrNoSpace);
  if (rc == ENOSPC) return ResourceExhaustedError(std::string(what) + ": no space left on device");
  return InternalError(std::string(what) + ": " + LmdbError(rc));
}

// The branch taken by each (nested) transaction of one request, in depth-first order.
using TxnPath = std::vector<bool>;

bool HasWrites(const std::vector<RequestOp>& ops);
bool HasWrites(const TxnRequest& t) { return HasWrites(t.success) || HasWrites(t.failure); }
bool HasWrites(const std::vector<RequestOp>& ops) {
  for (const auto& op : ops) {
    if (std::holds_alternative<PutRequest>(op.request) ||
        std::holds_alternative<DeleteRangeRequest>(op.request)) {
      return true;
    }
    if (auto* t = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
      if (*t && HasWrites(**t)) return true;
    }
  }
  return false;
}

struct Interval {
  std::string begin, end;
};

// etcd refuses a transaction branch that writes a key twice: two puts of one key, or a put
// inside a deleted range, on one path through nested transactions.
Status CheckBranchKeys(const std::vector<RequestOp>& ops, std::set<std::string>* puts,
                       std::vector<Interval>* dels);
Status CheckTxnKeys(const TxnRequest& t, std::set<std::string>* puts,
                    std::vector<Interval>* dels) {
  for (const auto* branch : {&t.success, &t.failure}) {
    std::set<std::string> p = *puts;
    std::vector<Interval> d = *dels;
    KEELSON_RETURN_IF_ERROR(CheckBranchKeys(*branch, &p, &d));
  }
  return Status::Ok();
}

Status CheckBranchKeys(const std::vector<RequestOp>& ops, std::set<std::string>* puts,
                       std::vector<Interval>* dels) {
  for (const auto& op : ops) {
    if (auto* p = std::get_if<PutRequest>(&op.request)) {
      if (p->key.empty()) return InvalidArgumentError(kErrEmptyKey);
      if (p->key.size() > kMaxKeyBytes) {
        return InvalidArgumentError("etcdserver: key is too long (" +
                                    std::to_string(p->key.size()) + " bytes; at most " +
                                    std::to_string(kMaxKeyBytes) + ")");
      }
      if (!puts->insert(p->key).second) return InvalidArgumentError(kErrDuplicateKey);
      for (const auto& d : *dels) {
        if (InRange(p->key, d.begin, d.end)) return InvalidArgumentError(kErrDuplicateKey);
      }
    } else if (auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      if (d->key.empty()) return InvalidArgumentError(kErrEmptyKey);
      Interval iv{d->key, d->range_end};
      for (const auto& k : *puts) {
        if (InRange(k, iv.begin, iv.end)) return InvalidArgumentError(kErrDuplicateKey);
      }
      dels->push_back(std::move(iv));
    } else if (auto* r = std::get_if<RangeRequest>(&op.request)) {
      if (r->key.empty()) return InvalidArgumentError(kErrEmptyKey);
    } else if (auto* t = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
      if (!*t) return InvalidArgumentError("etcdserver: empty nested transaction");
      KEELSON_RETURN_IF_ERROR(CheckTxnKeys(**t, puts, dels));
    }
  }
  return Status::Ok();
}

class StoreImpl;

// The stored (compressed) forms of a transaction's put values, computed by the submitting
// thread so that the committer only writes them. Keyed by the PutRequest's address: a
// transaction's operations stay where they are while the transaction moves (vectors and
// nested transactions are moved or shared, never copied).
using PackedValues = std::unordered_map<const PutRequest*, std::string>;

void PackValues(const TxnRequest& t, PackedValues* out) {
  for (const auto* branch : {&t.success, &t.failure}) {
    for (const auto& op : *branch) {
      if (auto* p = std::get_if<PutRequest>(&op.request)) {
        if (!p->ignore_value) {
          if (auto packed = Compress(p->value)) (*out)[p] = std::move(*packed);
        }
      } else if (auto* n = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
        if (*n) PackValues(**n, out);
      }
    }
  }
}

// Reads and writes of one LMDB transaction (read-only or the committer's write transaction).
class TxnContext {
 public:
  TxnContext(StoreImpl* store, MDB_txn* txn, int64_t current, int64_t compact)
      : store_(store), txn_(txn), current_(current), compact_(compact) {}
  // Compressed values to store for the transaction's puts (those without one are stored as
  // they are).
  void set_packed(const PackedValues* packed) { packed_ = packed; }

  Result<RangeResponse> Range(const RangeRequest& req);
  Result<TxnResponse> Txn(const TxnRequest& req);
  // Lease grant and revoke as parts of a write batch.
  Status LeaseGrant(int64_t id, int64_t ttl);
  Status LeaseRevoke(int64_t id);
  // One bounded step of physical compaction; returns true when compaction is complete.
  Result<bool> CompactStep(int64_t compact_rev);

  int64_t revision() const { return current_; }
  std::vector<std::shared_ptr<const Event>>& events() { return events_; }

 private:
  struct Visible {
    KeyRev kr;
    bool found = false;
  };

  Result<Visible> VisibleAt(MDB_cursor* keys, std::string_view key, int64_t rev);

 public:
  Result<KeyValue> LoadKvAt(Revision rev) { return LoadKv(rev, false); }

 private:
  Result<KeyValue> LoadKv(Revision rev, bool keys_only);
  bool Compare(const store::Compare& c, Status* err);
  Status ComputePath(const TxnRequest& t, TxnPath* path);
  Status Validate(const TxnRequest& t, const TxnPath& path, size_t* pos);
  Result<TxnResponse> Execute(const TxnRequest& t, const TxnPath& path, size_t* pos);
  Result<PutResponse> Put(const PutRequest& p);
  Result<DeleteRangeResponse> Delete(const DeleteRangeRequest& d);
  Status WriteVersion(std::string_view key, const Record& rec, std::optional<KeyValue> prev,
                      int64_t prev_lease, const std::string* packed = nullptr);
  Result<std::optional<KeyValue>> Latest(std::string_view key);
  Status CheckRangeRevision(int64_t rev) const;

  StoreImpl* store_;
  MDB_txn* txn_;
  int64_t current_;
  int64_t compact_;
  int64_t write_rev_ = 0;  // the revision this transaction writes at, once it writes
  int64_t sub_ = 0;
  std::vector<std::shared_ptr<const Event>> events_;
  std::string scratch_;
  const PackedValues* packed_ = nullptr;
};

class StoreImpl final : public Store, public HistoryReader {
 public:
  explicit StoreImpl(EmbeddedOptions opts) : opts_(std::move(opts)) {}
  ~StoreImpl() override { Close(); }

  Status Open();
  void Close();

  Result<RangeResponse> Range(const RangeRequest& req) override;
  void TxnAsync(TxnRequest req, TxnCallback done) override;
  Result<std::unique_ptr<WatchStream>> Watch(const WatchOptions& opts) override;
  Result<int64_t> Compact(int64_t revision) override;
  Result<LeaseGrantResponse> LeaseGrant(int64_t ttl_seconds, int64_t id) override;
  Result<int64_t> LeaseKeepAlive(int64_t id) override;
  Status LeaseRevoke(int64_t id) override;
  Result<LeaseTimeToLiveResponse> LeaseTimeToLive(int64_t id, bool keys) override;
  Result<std::vector<int64_t>> LeaseList() override;
  Result<StoreStatus> GetStatus() override;
  Status Snapshot(const std::function<Status(std::string_view)>& sink) override;

  Result<Chunk> ReadHistory(int64_t from, int64_t to, const WatchOptions& opts,
                            size_t max_events) override;

  MDB_dbi rev_db() const { return rev_db_; }
  MDB_dbi keys_db() const { return keys_db_; }
  MDB_dbi meta_db() const { return meta_db_; }
  MDB_dbi lease_db() const { return lease_db_; }
  MDB_dbi lkeys_db() const { return lkeys_db_; }

 private:
  // A unit of work for the committer.
  struct Pending {
    enum class Kind { kTxn, kLeaseGrant, kLeaseRevoke, kCompact, kCompactStep };
    Kind kind = Kind::kTxn;
    TxnRequest txn;
    int64_t id = 0;   // lease id or compaction revision
    int64_t ttl = 0;
    TxnCallback done;                      // kTxn
    PackedValues packed;                   // kTxn: stored forms of its put values
    std::function<void(Status)> done_st;   // the others
  };

  // RAII read transaction from a pool of reset LMDB read transactions.
  class ReadTxn {
   public:
    ReadTxn(StoreImpl* s, MDB_txn* t) : s_(s), t_(t) {}
    ReadTxn(ReadTxn&& o) noexcept : s_(o.s_), t_(std::exchange(o.t_, nullptr)) {}
    ~ReadTxn() {
      if (t_) s_->ReleaseRead(t_);
    }
    MDB_txn* get() const { return t_; }

   private:
    StoreImpl* s_;
    MDB_txn* t_;
  };

  Status CheckDataDir();
  Status OpenEnv();
  Result<ReadTxn> AcquireRead();
  void ReleaseRead(MDB_txn* t);
  Result<std::pair<int64_t, int64_t>> ReadRevisions(MDB_txn* t);

  void Submit(Pending p);
  void CommitLoop();
  void CommitBatch(std::vector<Pending>& batch);
  void AckLoop();
  void HousekeepingLoop();
  Status SubmitAndWait(Pending p);
  Status CommitError(int rc);

  EmbeddedOptions opts_;
  int lock_fd_ = -1;
  MDB_env* env_ = nullptr;
  MDB_dbi rev_db_ = 0, keys_db_ = 0, meta_db_ = 0, lease_db_ = 0, lkeys_db_ = 0;
  std::shared_ptr<WatchHub> hub_;

  std::mutex pool_mu_;
  std::vector<MDB_txn*> read_pool_;  // guarded by pool_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;  // guarded by queue_mu_
  bool stopping_ = false;      // guarded by queue_mu_
  std::thread committer_;

  // Committed requests waiting for their callbacks, in commit order.
  struct Ack {
    TxnCallback done;
    std::function<void(Status)> done_st;
    Status status;
    std::optional<TxnResponse> txn;
  };
  std::mutex ack_mu_;
  std::condition_variable ack_cv_;
  std::deque<std::vector<Ack>> ack_queue_;  // guarded by ack_mu_
  bool ack_stop_ = false;                   // guarded by ack_mu_
  std::thread acker_;

  // Owned by the committer thread.
  int64_t current_rev_ = 0;
  int64_t compact_rev_ = 0;
  bool compact_pending_ = false;
  // Read by others after Open().
  std::atomic<int64_t> committed_rev_{0};
  std::atomic<int64_t> committed_compact_{0};

  // Leases in memory: expiry deadlines. The lease db is the durable record.
  struct LeaseState {
    int64_t ttl = 0;
    Clock::time_point expiry;
    bool revoking = false;
  };
  std::mutex lease_mu_;
  std::unordered_map<int64_t, LeaseState> leases_;  // guarded by lease_mu_
  std::mt19937_64 lease_rng_{std::random_device{}()};  // guarded by lease_mu_

  std::mutex hk_mu_;
  std::condition_variable hk_cv_;
  bool hk_stop_ = false;  // guarded by hk_mu_
  std::thread housekeeper_;
  std::deque<std::pair<Clock::time_point, int64_t>> rev_samples_;  // housekeeper only
};

// ---------------------------------------------------------------------------------------------
// TxnContext

Status TxnContext::CheckRangeRevision(int64_t rev) const {
  if (rev <= 0) return Status::Ok();
  if (rev > current_) return FailedPreconditionError(kErrFutureRev);
  if (rev < compact_) return Status(StatusCode::kGone, kErrCompacted);
  return Status::Ok();
}

Result<TxnContext::Visible> TxnContext::VisibleAt(MDB_cursor* keys, std::string_view key,
                                                  int64_t rev) {
  Visible v;
  MDB_val k = Val(key), d{};
  int rc;
  if (rev == kLatest) {
    // Inside a writing transaction this includes the transaction's own writes.
    rc = mdb_cursor_get(keys, &k, &d, MDB_SET);
    if (rc == MDB_NOTFOUND) return v;
    if (rc == 0) rc = mdb_cursor_get(keys, &k, &d, MDB_LAST_DUP);
  } else {
    char probe[KeyRev::kSize];
    KeyRev{Revision{rev + 1, 0}, false}.Encode(probe);
    MDB_val pd{KeyRev::kSize, probe};
    rc = mdb_cursor_get(keys, &k, &pd, MDB_GET_BOTH_RANGE);
    if (rc == 0) {
      d = pd;
      rc = mdb_cursor_get(keys, &k, &d, MDB_PREV_DUP);
      if (rc == MDB_NOTFOUND) return v;  // created after `rev`
    } else if (rc == MDB_NOTFOUND) {
      k = Val(key);
      rc = mdb_cursor_get(keys, &k, &d, MDB_SET);
      if (rc == MDB_NOTFOUND) return v;
      if (rc == 0) rc = mdb_cursor_get(keys, &k, &d, MDB_LAST_DUP);
    }
  }
  if (rc != 0) return MdbStatus(rc, "read key index");
  if (d.mv_size != KeyRev::kSize) return InternalError("corrupt key index entry");
  v.kr = KeyRev::Decode(static_cast<const char*>(d.mv_data));
  v.found = !v.kr.tombstone;
  return v;
}

Result<KeyValue> TxnContext::LoadKv(Revision rev, bool keys_only) {
  char kb[Revision::kSize];
  rev.Encode(kb);
  MDB_val k{Revision::kSize, kb}, d{};
  int rc = mdb_get(txn_, store_->rev_db(), &k, &d);
  if (rc != 0) return MdbStatus(rc, "read revision");
  auto rec = DecodeRecord(View(d));
  if (!rec) return InternalError("corrupt record at revision " + std::to_string(rev.main));
  KeyValue kv;
  kv.key = std::string(rec->key);
  kv.create_revision = rec->create_revision;
  kv.mod_revision = rev.main;
  kv.version = rec->version;
  kv.lease = rec->lease;
  if (!keys_only) {
    auto value = ValueOf(*rec);
    if (!value) return InternalError("corrupt value at revision " + std::to_string(rev.main));
    kv.value = std::move(*value);
  }
  return kv;
}

namespace {
struct CursorGuard {
  MDB_cursor* c = nullptr;
  ~CursorGuard() {
    if (c) mdb_cursor_close(c);
  }
};
}  // namespace

Result<RangeResponse> TxnContext::Range(const RangeRequest& req) {
  KEELSON_RETURN_IF_ERROR(CheckRangeRevision(req.revision));
  int64_t at = req.revision > 0 && req.revision < current_ ? req.revision : kLatest;
  RangeResponse resp;
  resp.revision = current_;

  CursorGuard cur;
  int rc = mdb_cursor_open(txn_, store_->keys_db(), &cur.c);
  if (rc != 0) return MdbStatus(rc, "open cursor");

  auto sort_order = req.sort_order;
  if (sort_order == RangeRequest::SortOrder::kNone &&
      req.sort_target != RangeRequest::SortTarget::kKey) {
    sort_order = RangeRequest::SortOrder::kAscend;
  }
  bool filters = req.min_mod_revision || req.max_mod_revision || req.min_create_revision ||
                 req.max_create_revision;
  bool natural_order = sort_order == RangeRequest::SortOrder::kNone ||
                       (sort_order == RangeRequest::SortOrder::kAscend &&
                        req.sort_target == RangeRequest::SortTarget::kKey);
  // Values are only loaded for keys that can end up in the response.
  size_t load_limit = (natural_order && !filters && req.limit > 0)
                          ? static_cast<size_t>(req.limit)
                          : SIZE_MAX;

  // With skip_count the scan ends once the page and one more key (for `more`) are found.
  const bool early_stop = req.skip_count && load_limit != SIZE_MAX && !req.count_only;
  bool stop = false;
  auto visit = [&](std::string_view key) -> Status {
    auto vis = VisibleAt(cur.c, key, at);
    if (!vis.ok()) return vis.status();
    if (!vis->found) return Status::Ok();
    ++resp.count;
    if (early_stop && resp.kvs.size() >= load_limit) {
      stop = true;  // this key proves there is more
      return Status::Ok();
    }
    if (req.count_only || resp.kvs.size() >= load_limit) return Status::Ok();
    auto kv = LoadKv(vis->kr.rev, req.keys_only);
    if (!kv.ok()) return kv.status();
    resp.kvs.push_back(std::move(*kv));
    return Status::Ok();
  };

  if (req.range_end.empty()) {
    if (req.key.size() <= 511) KEELSON_RETURN_IF_ERROR(visit(req.key));
  } else {
    std::string_view start = SearchKey(req.key);
    MDB_val k = Val(start), d{};
    rc = mdb_cursor_get(cur.c, &k, &d, MDB_SET_RANGE);
    std::string key;
    while (rc == 0) {
      key.assign(View(k));
      if (!InRange(key, req.key, req.range_end)) {
        if (key >= req.key) break;  // past the end
      } else {
        KEELSON_RETURN_IF_ERROR(visit(key));
        if (stop) break;
      }
      // visit() moved the cursor within this key's duplicates; step to the next key.
      MDB_val k2 = Val(key), d2{};
      rc = mdb_cursor_get(cur.c, &k2, &d2, MDB_SET);
      if (rc == 0) rc = mdb_cursor_get(cur.c, &k2, &d2, MDB_NEXT_NODUP);
      k = k2;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "range");
  }

  if (filters) {
    std::erase_if(resp.kvs, [&](const KeyValue& kv) {
      return (req.min_mod_revision && kv.mod_revision < req.min_mod_revision) ||
             (req.max_mod_revision && kv.mod_revision > req.max_mod_revision) ||
             (req.min_create_revision && kv.create_revision < req.min_create_revision) ||
             (req.max_create_revision && kv.create_revision > req.max_create_revision);
    });
  }
  if (!natural_order) {
    auto less = [&](const KeyValue& a, const KeyValue& b) {
      switch (req.sort_target) {
        case RangeRequest::SortTarget::kKey: return a.key < b.key;
        case RangeRequest::SortTarget::kVersion: return a.version < b.version;
        case RangeRequest::SortTarget::kCreate: return a.create_revision < b.create_revision;
        case RangeRequest::SortTarget::kMod: return a.mod_revision < b.mod_revision;
        case RangeRequest::SortTarget::kValue: return a.value < b.value;
      }
      return false;
    };
    if (sort_order == RangeRequest::SortOrder::kDescend) {
      std::stable_sort(resp.kvs.begin(), resp.kvs.end(),
                       [&](const KeyValue& a, const KeyValue& b) { return less(b, a); });
    } else {
      std::stable_sort(resp.kvs.begin(), resp.kvs.end(), less);
    }
  }
  if (early_stop) resp.count = 0;  // not counted
  if (req.limit > 0 && !req.count_only &&
      (resp.kvs.size() > static_cast<size_t>(req.limit) || stop ||
       (load_limit != SIZE_MAX && resp.count > req.limit))) {
    if (resp.kvs.size() > static_cast<size_t>(req.limit)) resp.kvs.resize(req.limit);
    resp.more = true;
  }
  return resp;
}

bool TxnContext::Compare(const store::Compare& c, Status* err) {
  RangeRequest rr;
  rr.key = c.key;
  rr.range_end = c.range_end;
  auto r = Range(rr);
  if (!r.ok()) {
    *err = r.status();
    return false;
  }
  auto holds = [&](const KeyValue& kv) {
    int cmp = 0;
    auto three_way = [](auto a, auto b) { return a < b ? -1 : (a > b ? 1 : 0); };
    switch (c.target) {
      case store::Compare::Target::kVersion: cmp = three_way(kv.version, c.number); break;
      case store::Compare::Target::kCreate: cmp = three_way(kv.create_revision, c.number); break;
      case store::Compare::Target::kMod: cmp = three_way(kv.mod_revision, c.number); break;
      case store::Compare::Target::kLease: cmp = three_way(kv.lease, c.number); break;
      case store::Compare::Target::kValue: cmp = kv.value.compare(c.value); break;
    }
    switch (c.result) {
      case store::Compare::Result::kEqual: return cmp == 0;
      case store::Compare::Result::kGreater: return cmp > 0;
      case store::Compare::Result::kLess: return cmp < 0;
      case store::Compare::Result::kNotEqual: return cmp != 0;
    }
    return false;
  };
  if (r->kvs.empty()) {
    // A missing key compares as zero; there is no missing value to compare to.
    if (c.target == store::Compare::Target::kValue) return false;
    return holds(KeyValue{});
  }
  for (const auto& kv : r->kvs) {
    if (!holds(kv)) return false;
  }
  return true;
}

Status TxnContext::ComputePath(const TxnRequest& t, TxnPath* path) {
  bool ok = true;
  for (const auto& c : t.compare) {
    Status err;
    if (!Compare(c, &err)) {
      if (!err.ok()) return err;
      ok = false;
      break;
    }
  }
  path->push_back(ok);
  for (const auto& op : ok ? t.success : t.failure) {
    if (auto* n = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
      KEELSON_RETURN_IF_ERROR(ComputePath(**n, path));
    }
  }
  return Status::Ok();
}

Result<std::optional<KeyValue>> TxnContext::Latest(std::string_view key) {
  CursorGuard cur;
  int rc = mdb_cursor_open(txn_, store_->keys_db(), &cur.c);
  if (rc != 0) return MdbStatus(rc, "open cursor");
  MDB_val k = Val(key), d{};
  rc = mdb_cursor_get(cur.c, &k, &d, MDB_SET);
  if (rc == MDB_NOTFOUND) return std::optional<KeyValue>();
  if (rc == 0) rc = mdb_cursor_get(cur.c, &k, &d, MDB_LAST_DUP);
  if (rc != 0) return MdbStatus(rc, "read key index");
  auto kr = KeyRev::Decode(static_cast<const char*>(d.mv_data));
  if (kr.tombstone) return std::optional<KeyValue>();
  auto kv = LoadKv(kr.rev, false);
  if (!kv.ok()) return kv.status();
  return std::optional<KeyValue>(std::move(*kv));
}

Status TxnContext::Validate(const TxnRequest& t, const TxnPath& path, size_t* pos) {
  bool ok = path.at((*pos)++);
  for (const auto& op : ok ? t.success : t.failure) {
    if (auto* r = std::get_if<RangeRequest>(&op.request)) {
      KEELSON_RETURN_IF_ERROR(CheckRangeRevision(r->revision));
    } else if (auto* p = std::get_if<PutRequest>(&op.request)) {
      if (p->lease != 0 && !p->ignore_lease) {
        MDB_val k{8, nullptr}, d{};
        std::string id = EncodeI64(p->lease);
        k.mv_data = id.data();
        int rc = mdb_get(txn_, store_->lease_db(), &k, &d);
        if (rc == MDB_NOTFOUND) return Status(StatusCode::kNotFound, kErrLeaseNotFound);
        if (rc != 0) return MdbStatus(rc, "read lease");
      }
      if (p->ignore_value || p->ignore_lease) {
        auto prev = Latest(p->key);
        if (!prev.ok()) return prev.status();
        if (!prev->has_value()) return NotFoundError("etcdserver: key not found");
      }
    } else if (auto* n = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
      KEELSON_RETURN_IF_ERROR(Validate(**n, path, pos));
    }
  }
  return Status::Ok();
}

Result<TxnResponse> TxnContext::Txn(const TxnRequest& req) {
  TxnPath path;
  KEELSON_RETURN_IF_ERROR(ComputePath(req, &path));
  size_t pos = 0;
  KEELSON_RETURN_IF_ERROR(Validate(req, path, &pos));
  pos = 0;
  auto resp = Execute(req, path, &pos);
  if (!resp.ok()) return resp.status();
  if (write_rev_ != 0) current_ = write_rev_;
  resp->revision = current_;
  return resp;
}

Result<TxnResponse> TxnContext::Execute(const TxnRequest& t, const TxnPath& path, size_t* pos) {
  TxnResponse resp;
  resp.succeeded = path.at((*pos)++);
  for (const auto& op : resp.succeeded ? t.success : t.failure) {
    if (auto* r = std::get_if<RangeRequest>(&op.request)) {
      auto rr = Range(*r);
      if (!rr.ok()) return rr.status();
      resp.responses.emplace_back().response.emplace<RangeResponse>(std::move(*rr));
    } else if (auto* p = std::get_if<PutRequest>(&op.request)) {
      auto pr = Put(*p);
      if (!pr.ok()) return pr.status();
      resp.responses.emplace_back().response.emplace<PutResponse>(std::move(*pr));
    } else if (auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
      auto dr = Delete(*d);
      if (!dr.ok()) return dr.status();
      resp.responses.emplace_back().response.emplace<DeleteRangeResponse>(std::move(*dr));
    } else if (auto* n = std::get_if<std::shared_ptr<const TxnRequest>>(&op.request)) {
      auto nr = Execute(**n, path, pos);
      if (!nr.ok()) return nr.status();
      resp.responses.emplace_back().response = std::make_shared<TxnResponse>(std::move(*nr));
    }
  }
  int64_t rev = write_rev_ != 0 ? write_rev_ : current_;
  resp.revision = rev;
  for (auto& r : resp.responses) {
    std::visit(
        [rev](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, PutResponse> ||
                        std::is_same_v<T, DeleteRangeResponse>) {
            x.revision = rev;
          }
        },
        r.response);
  }
  return resp;
}

Status TxnContext::WriteVersion(std::string_view key, const Record& rec,
                                std::optional<KeyValue> prev, int64_t prev_lease,
                                const std::string* packed) {
  if (write_rev_ == 0) write_rev_ = current_ + 1;
  Revision rev{write_rev_, sub_++};
  char rb[Revision::kSize];
  rev.Encode(rb);
  if (packed != nullptr && !rec.tombstone) {
    Record stored = rec;
    stored.value = *packed;
    stored.codec = Codec::kZstd;
    EncodeRecord(stored, &scratch_);
  } else {
    EncodeRecord(rec, &scratch_);
  }
  MDB_val k{Revision::kSize, rb}, d = Val(scratch_);
  int rc = mdb_put(txn_, store_->rev_db(), &k, &d, MDB_APPEND);
  if (rc != 0) return MdbStatus(rc, "write revision");
  char kb[KeyRev::kSize];
  KeyRev{rev, rec.tombstone}.Encode(kb);
  MDB_val uk = Val(key), kd{KeyRev::kSize, kb};
  rc = mdb_put(txn_, store_->keys_db(), &uk, &kd, 0);
  if (rc != 0) return MdbStatus(rc, "write key index");

  int64_t new_lease = rec.tombstone ? 0 : rec.lease;
  if (prev_lease != new_lease) {
    if (prev_lease != 0) {
      std::string lk = EncodeI64(prev_lease) + std::string(key);
      MDB_val lkv = Val(lk);
      rc = mdb_del(txn_, store_->lkeys_db(), &lkv, nullptr);
      if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "detach lease");
    }
    if (new_lease != 0) {
      std::string lk = EncodeI64(new_lease) + std::string(key);
      MDB_val lkv = Val(lk), empty{0, nullptr};
      rc = mdb_put(txn_, store_->lkeys_db(), &lkv, &empty, 0);
      if (rc != 0) return MdbStatus(rc, "attach lease");
    }
  }

  auto ev = std::make_shared<Event>();
  ev->type = rec.tombstone ? Event::Type::kDelete : Event::Type::kPut;
  ev->kv.key = std::string(key);
  ev->kv.mod_revision = rev.main;
  if (!rec.tombstone) {
    ev->kv.create_revision = rec.create_revision;
    ev->kv.version = rec.version;
    ev->kv.value = std::string(rec.value);
    ev->kv.lease = rec.lease;
  }
  ev->prev_kv = std::move(prev);
  events_.push_back(std::move(ev));
  return Status::Ok();
}

Result<PutResponse> TxnContext::Put(const PutRequest& p) {
  auto prev = Latest(p.key);
  if (!prev.ok()) return prev.status();
  int64_t rev = write_rev_ != 0 ? write_rev_ : current_ + 1;
  Record rec;
  rec.key = p.key;
  rec.value = p.value;
  rec.lease = p.lease;
  rec.create_revision = rev;
  rec.version = 1;
  int64_t prev_lease = 0;
  if (prev->has_value()) {
    const KeyValue& pk = **prev;
    rec.create_revision = pk.create_revision;
    rec.version = pk.version + 1;
    prev_lease = pk.lease;
    if (p.ignore_value) rec.value = pk.value;
    if (p.ignore_lease) rec.lease = pk.lease;
  }
  PutResponse resp;
  if (p.prev_kv && prev->has_value()) resp.prev_kv = **prev;
  const std::string* packed = nullptr;
  if (packed_ != nullptr && !p.ignore_value) {
    if (auto it = packed_->find(&p); it != packed_->end()) packed = &it->second;
  }
  // rec.value may view into prev's value; keep prev alive until written.
  KEELSON_RETURN_IF_ERROR(WriteVersion(p.key, rec, *prev, prev_lease, packed));
  resp.revision = write_rev_;
  return resp;
}

Result<DeleteRangeResponse> TxnContext::Delete(const DeleteRangeRequest& d) {
  RangeRequest rr;
  rr.key = d.key;
  rr.range_end = d.range_end;
  auto live = Range(rr);
  if (!live.ok()) return live.status();
  DeleteRangeResponse resp;
  for (auto& kv : live->kvs) {
    Record rec;
    rec.tombstone = true;
    rec.key = kv.key;
    int64_t prev_lease = kv.lease;
    std::string key = kv.key;
    KEELSON_RETURN_IF_ERROR(WriteVersion(key, rec, kv, prev_lease));
    ++resp.deleted;
    if (d.prev_kv) resp.prev_kvs.push_back(std::move(kv));
  }
  resp.revision = write_rev_ != 0 ? write_rev_ : current_;
  return resp;
}

Status TxnContext::LeaseGrant(int64_t id, int64_t ttl) {
  std::string k = EncodeI64(id), v = EncodeI64(ttl);
  MDB_val kv = Val(k), dv = Val(v);
  int rc = mdb_put(txn_, store_->lease_db(), &kv, &dv, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) {
    return Status(StatusCode::kAlreadyExists, "etcdserver: lease already exists");
  }
  if (rc != 0) return MdbStatus(rc, "write lease");
  return Status::Ok();
}

Status TxnContext::LeaseRevoke(int64_t id) {
  std::string lid = EncodeI64(id);
  MDB_val k = Val(lid), d{};
  int rc = mdb_get(txn_, store_->lease_db(), &k, &d);
  if (rc == MDB_NOTFOUND) return Status(StatusCode::kNotFound, kErrLeaseNotFound);
  if (rc != 0) return MdbStatus(rc, "read lease");
  std::vector<std::string> keys;
  {
    CursorGuard cur;
    rc = mdb_cursor_open(txn_, store_->lkeys_db(), &cur.c);
    if (rc != 0) return MdbStatus(rc, "open cursor");
    MDB_val ck = Val(lid), cd{};
    rc = mdb_cursor_get(cur.c, &ck, &cd, MDB_SET_RANGE);
    while (rc == 0 && View(ck).substr(0, 8) == lid) {
      keys.emplace_back(View(ck).substr(8));
      rc = mdb_cursor_get(cur.c, &ck, &cd, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "read lease keys");
  }
  for (const auto& key : keys) {
    auto prev = Latest(key);
    if (!prev.ok()) return prev.status();
    if (!prev->has_value() || (*prev)->lease != id) continue;
    Record rec;
    rec.tombstone = true;
    rec.key = key;
    KEELSON_RETURN_IF_ERROR(WriteVersion(key, rec, *prev, id));
  }
  // Any attachment left (a key whose lease changed) is stale: drop it with the lease.
  for (const auto& key : keys) {
    std::string lk = lid + key;
    MDB_val lkv = Val(lk);
    rc = mdb_del(txn_, store_->lkeys_db(), &lkv, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "detach lease");
  }
  k = Val(lid);
  rc = mdb_del(txn_, store_->lease_db(), &k, nullptr);
  if (rc != 0) return MdbStatus(rc, "delete lease");
  if (write_rev_ != 0) current_ = write_rev_;
  return Status::Ok();
}

Result<bool> TxnContext::CompactStep(int64_t compact_rev) {
  // Progress is kept in meta "compact_pos": the last revision examined.
  MDB_val mk = Val("compact_pos"), md{};
  Revision pos{0, 0};
  int rc = mdb_get(txn_, store_->meta_db(), &mk, &md);
  if (rc == 0 && md.mv_size == Revision::kSize) {
    pos = Revision::Decode(static_cast<const char*>(md.mv_data));
  } else if (rc != 0 && rc != MDB_NOTFOUND) {
    return MdbStatus(rc, "read compaction progress");
  }

  struct Doomed {
    std::string key;
    KeyRev kr;
  };
  std::vector<Doomed> doomed;
  std::set<Revision> seen;
  CursorGuard rc_cur, keys_cur;
  if ((rc = mdb_cursor_open(txn_, store_->rev_db(), &rc_cur.c)) != 0 ||
      (rc = mdb_cursor_open(txn_, store_->keys_db(), &keys_cur.c)) != 0) {
    return MdbStatus(rc, "open cursor");
  }
  char start[Revision::kSize];
  // A finished pass leaves {compact_rev, INT64_MAX}: the next one starts at the next main.
  (pos.sub == INT64_MAX ? Revision{pos.main + 1, 0} : Revision{pos.main, pos.sub + 1})
      .Encode(start);
  MDB_val k{Revision::kSize, start}, d{};
  rc = mdb_cursor_get(rc_cur.c, &k, &d, MDB_SET_RANGE);
  size_t visited = 0;
  bool done = false;
  while (true) {
    if (rc == MDB_NOTFOUND) {
      done = true;
      break;
    }
    if (rc != 0) return MdbStatus(rc, "compaction scan");
    Revision r = Revision::Decode(static_cast<const char*>(k.mv_data));
    if (r.main > compact_rev) {
      done = true;
      break;
    }
    if (visited >= kCompactChunkRecords) break;
    ++visited;
    pos = r;
    auto rec = DecodeRecord(View(d));
    if (!rec) return InternalError("corrupt record at revision " + std::to_string(r.main));
    std::string key(rec->key);
    // Every older version of the key is superseded by this one, which is <= compact_rev.
    MDB_val uk = Val(key), ud{};
    int krc = mdb_cursor_get(keys_cur.c, &uk, &ud, MDB_SET);
    if (krc == 0) krc = mdb_cursor_get(keys_cur.c, &uk, &ud, MDB_FIRST_DUP);
    bool latest = true;
    while (krc == 0) {
      auto kr = KeyRev::Decode(static_cast<const char*>(ud.mv_data));
      if (kr.rev < r) {
        if (seen.insert(kr.rev).second) doomed.push_back({key, kr});
      } else if (kr.rev > r) {
        if (kr.rev.main <= compact_rev) latest = false;
        break;
      }
      krc = mdb_cursor_get(keys_cur.c, &uk, &ud, MDB_NEXT_DUP);
    }
    if (krc != 0 && krc != MDB_NOTFOUND) return MdbStatus(krc, "compaction index scan");
    if (latest && rec->tombstone && seen.insert(r).second) {
      doomed.push_back({key, KeyRev{r, true}});
    }
    rc = mdb_cursor_get(rc_cur.c, &k, &d, MDB_NEXT);
  }
  for (const auto& x : doomed) {
    char rb[Revision::kSize];
    x.kr.rev.Encode(rb);
    MDB_val rk{Revision::kSize, rb};
    rc = mdb_del(txn_, store_->rev_db(), &rk, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "compaction delete");
    char kb[KeyRev::kSize];
    x.kr.Encode(kb);
    MDB_val uk = Val(x.key), ud{KeyRev::kSize, kb};
    rc = mdb_del(txn_, store_->keys_db(), &uk, &ud);
    if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "compaction delete index");
  }
  if (done) pos = Revision{compact_rev, INT64_MAX};
  char pb[Revision::kSize];
  pos.Encode(pb);
  MDB_val pv{Revision::kSize, pb};
  mk = Val("compact_pos");
  rc = mdb_put(txn_, store_->meta_db(), &mk, &pv, 0);
  if (rc != 0) return MdbStatus(rc, "write compaction progress");
  return done;
}

// ---------------------------------------------------------------------------------------------
// StoreImpl: opening

Status StoreImpl::CheckDataDir() {
  const fs::path dir(opts_.data_dir);
  if (opts_.data_dir.empty()) return InvalidArgumentError("no data directory given");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError("create data directory " + dir.string() + ": " + ec.message());

  lock_fd_ = ::open((dir / kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    return InternalError("open " + (dir / kLockFile).string() + ": " + std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK) {
      return FailedPreconditionError("data directory " + dir.string() +
                                     " is locked by another process (is another keelson "
                                     "store running on it?)");
    }
    return InternalError("lock " + dir.string() + ": " + std::strerror(err));
  }

  const fs::path format = dir / kFormatFile;
  if (fs::exists(format)) {
    std::ifstream in(format);
    std::string f;
    std::getline(in, f);
    if (f != kFormat && !IsOlderFormat(f)) {
      return FailedPreconditionError("data directory " + dir.string() + " holds a store of format '" +
                                     f + "', this keelson reads '" + kFormat +
                                     "'; refusing to touch it");
    }
    if (!fs::exists(dir / "data.mdb") || fs::file_size(dir / "data.mdb", ec) == 0) {
      return FailedPreconditionError("data directory " + dir.string() +
                                     " is corrupt: data.mdb is missing or empty");
    }
    if (IsOlderFormat(f)) {  // relabelled: from now on it may hold zstd values
      std::ofstream out(format, std::ios::trunc);
      out << kFormat << "\n";
      out.close();
      if (!out) return InternalError("write " + format.string());
    }
    return Status::Ok();
  }
  // No format marker: only a directory with nothing but our lock file may be initialised.
  std::vector<std::string> others;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name != kLockFile) others.push_back(name);
  }
  if (!others.empty()) {
    std::string list;
    for (size_t i = 0; i < others.size() && i < 5; ++i) list += (i ? ", " : "") + others[i];
    return FailedPreconditionError("data directory " + dir.string() +
                                   " is not empty and is not a keelson store (found: " + list +
                                   "); refusing to overwrite it");
  }
  std::ofstream out(format);
  out << kFormat << "\n";
  out.close();
  if (!out) return InternalError("write " + format.string());
  return Status::Ok();
}

Status StoreImpl::OpenEnv() {
  int rc = mdb_env_create(&env_);
  if (rc != 0) return MdbStatus(rc, "create environment");
  mdb_env_set_maxdbs(env_, 8);
  mdb_env_set_maxreaders(env_, 1024);
  mdb_env_set_mapsize(env_, static_cast<size_t>(opts_.quota_bytes));
  rc = mdb_env_open(env_, opts_.data_dir.c_str(), MDB_NOTLS | MDB_NORDAHEAD, 0600);
  if (rc != 0) {
    std::string msg = "data directory " + opts_.data_dir + " cannot be opened: " + LmdbError(rc);
    mdb_env_close(env_);
    env_ = nullptr;
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED) {
      return FailedPreconditionError(msg + " (the data file is corrupt or of another format)");
    }
    return InternalError(msg);
  }
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return MdbStatus(rc, "begin");
  auto open_db = [&](const char* name, unsigned flags, MDB_dbi* dbi) {
    return mdb_dbi_open(txn, name, flags | MDB_CREATE, dbi);
  };
  if ((rc = open_db("rev", 0, &rev_db_)) || (rc = open_db("keys", MDB_DUPSORT | MDB_DUPFIXED, &keys_db_)) ||
      (rc = open_db("meta", 0, &meta_db_)) || (rc = open_db("lease", 0, &lease_db_)) ||
      (rc = open_db("lkeys", 0, &lkeys_db_))) {
    mdb_txn_abort(txn);
    if (rc == MDB_INCOMPATIBLE || rc == MDB_CORRUPTED || rc == MDB_INVALID) {
      return FailedPreconditionError("data directory " + opts_.data_dir +
                                     " is corrupt: " + LmdbError(rc));
    }
    return MdbStatus(rc, "open databases");
  }
  MDB_val fk = Val("format"), fv{};
  rc = mdb_get(txn, meta_db_, &fk, &fv);
  if (rc == MDB_NOTFOUND || (rc == 0 && IsOlderFormat(View(fv)))) {
    MDB_val v = Val(kFormat);
    rc = mdb_put(txn, meta_db_, &fk, &v, 0);
  } else if (rc == 0 && View(fv) != kFormat) {
    mdb_txn_abort(txn);
    return FailedPreconditionError("data directory " + opts_.data_dir + " holds format '" +
                                   std::string(View(fv)) + "', expected " + kFormat);
  }
  if (rc != 0) {
    mdb_txn_abort(txn);
    return MdbStatus(rc, "write format");
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return MdbStatus(rc, "commit");
  return Status::Ok();
}

Result<std::pair<int64_t, int64_t>> StoreImpl::ReadRevisions(MDB_txn* t) {
  auto get = [&](const char* name, int64_t* out) -> Status {
    MDB_val k = Val(name), v{};
    int rc = mdb_get(t, meta_db_, &k, &v);
    if (rc == MDB_NOTFOUND) {
      *out = 0;
      return Status::Ok();
    }
    if (rc != 0) return MdbStatus(rc, "read meta");
    if (v.mv_size != 8) return InternalError(std::string("corrupt meta ") + name);
    *out = static_cast<int64_t>(GetBE64(static_cast<const char*>(v.mv_data)));
    return Status::Ok();
  };
  int64_t rev = 0, compact = 0;
  KEELSON_RETURN_IF_ERROR(get("rev", &rev));
  KEELSON_RETURN_IF_ERROR(get("compact", &compact));
  return std::make_pair(rev, compact);
}

Status StoreImpl::Open() {
  KEELSON_RETURN_IF_ERROR(CheckDataDir());
  KEELSON_RETURN_IF_ERROR(OpenEnv());
  auto rt = AcquireRead();
  if (!rt.ok()) return rt.status();
  auto revs = ReadRevisions(rt->get());
  if (!revs.ok()) return revs.status();
  current_rev_ = revs->first;
  compact_rev_ = revs->second;
  committed_rev_ = current_rev_;
  committed_compact_ = compact_rev_;
  {
    // Leases come back with a full TTL, as etcd does when a leader takes over.
    MDB_cursor* c = nullptr;
    int rc = mdb_cursor_open(rt->get(), lease_db_, &c);
    if (rc != 0) return MdbStatus(rc, "open cursor");
    MDB_val k{}, v{};
    auto now = Clock::now();
    std::lock_guard l(lease_mu_);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      int64_t id = static_cast<int64_t>(GetBE64(static_cast<const char*>(k.mv_data)));
      int64_t ttl = static_cast<int64_t>(GetBE64(static_cast<const char*>(v.mv_data)));
      leases_[id] = LeaseState{ttl, now + std::chrono::seconds(ttl), false};
    }
    mdb_cursor_close(c);
  }
  // A compaction interrupted by a stop resumes.
  MDB_val pk = Val("compact_pos"), pv{};
  if (mdb_get(rt->get(), meta_db_, &pk, &pv) == 0 && pv.mv_size == Revision::kSize) {
    compact_pending_ = Revision::Decode(static_cast<const char*>(pv.mv_data)).main < compact_rev_;
  }
  hub_ = std::make_shared<WatchHub>(this, opts_.watch_cache_events, opts_.watch_cache_bytes,
                                    current_rev_, compact_rev_);
  acker_ = std::thread([this] { AckLoop(); });
  committer_ = std::thread([this] { CommitLoop(); });
  housekeeper_ = std::thread([this] { HousekeepingLoop(); });
  if (compact_pending_) {
    Pending p;
    p.kind = Pending::Kind::kCompactStep;
    p.id = compact_rev_;
    Submit(std::move(p));
  }
  return Status::Ok();
}

void StoreImpl::Close() {
  {
    std::lock_guard l(hk_mu_);
    hk_stop_ = true;
    hk_cv_.notify_all();
  }
  if (housekeeper_.joinable()) housekeeper_.join();
  {
    std::lock_guard l(queue_mu_);
    stopping_ = true;
    queue_cv_.notify_all();
  }
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard l(ack_mu_);
    ack_stop_ = true;
  }
  ack_cv_.notify_all();
  if (acker_.joinable()) acker_.join();
  if (hub_) hub_->Close();
  {
    std::lock_guard l(pool_mu_);
    for (auto* t : read_pool_) mdb_txn_abort(t);
    read_pool_.clear();
  }
  if (env_) {
    mdb_env_close(env_);
    env_ = nullptr;
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

Result<StoreImpl::ReadTxn> StoreImpl::AcquireRead() {
  MDB_txn* t = nullptr;
  {
    std::lock_guard l(pool_mu_);
    if (!read_pool_.empty()) {
      t = read_pool_.back();
      read_pool_.pop_back();
    }
  }
  int rc = t ? mdb_txn_renew(t) : mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
  if (rc != 0) {
    if (t) mdb_txn_abort(t);
    return MdbStatus(rc, "begin read");
  }
  return ReadTxn(this, t);
}

void StoreImpl::ReleaseRead(MDB_txn* t) {
  mdb_txn_reset(t);
  std::lock_guard l(pool_mu_);
  read_pool_.push_back(t);
}

// ---------------------------------------------------------------------------------------------
// Reads

Result<RangeResponse> StoreImpl::Range(const RangeRequest& req) {
  if (req.key.empty()) return InvalidArgumentError(kErrEmptyKey);
  auto rt = AcquireRead();
  if (!rt.ok()) return rt.status();
  auto revs = ReadRevisions(rt->get());
  if (!revs.ok()) return revs.status();
  TxnContext ctx(this, rt->get(), revs->first, revs->second);
  return ctx.Range(req);
}

Result<HistoryReader::Chunk> StoreImpl::ReadHistory(int64_t from, int64_t to,
                                                    const WatchOptions& opts,
                                                    size_t max_events) {
  auto rt = AcquireRead();
  if (!rt.ok()) return rt.status();
  auto revs = ReadRevisions(rt->get());
  if (!revs.ok()) return revs.status();
  Chunk chunk;
  chunk.next_revision = from;
  if (from < revs->second) {
    chunk.compacted = true;
    chunk.compact_revision = revs->second;
    return chunk;
  }
  to = std::min(to, revs->first);
  MDB_cursor* c = nullptr;
  MDB_cursor* kc = nullptr;
  int rc = mdb_cursor_open(rt->get(), rev_db_, &c);
  if (rc == 0) rc = mdb_cursor_open(rt->get(), keys_db_, &kc);
  if (rc != 0) {
    if (c) mdb_cursor_close(c);
    return MdbStatus(rc, "open cursor");
  }
  CursorGuard g1{c}, g2{kc};
  char start[Revision::kSize];
  Revision{from, 0}.Encode(start);
  MDB_val k{Revision::kSize, start}, d{};
  int64_t last = from - 1;
  chunk.next_revision = to + 1;  // unless we stop early at a revision boundary
  for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    Revision r = Revision::Decode(static_cast<const char*>(k.mv_data));
    if (r.main > to) break;
    if (r.main != last && chunk.events.size() >= max_events) {
      chunk.next_revision = r.main;
      break;
    }
    last = r.main;
    auto rec = DecodeRecord(View(d));
    if (!rec) return InternalError("corrupt record at revision " + std::to_string(r.main));
    Event ev;
    ev.type = rec->tombstone ? Event::Type::kDelete : Event::Type::kPut;
    if (ev.type == Event::Type::kPut && opts.filter_put) continue;
    if (ev.type == Event::Type::kDelete && opts.filter_delete) continue;
    if (!InRange(rec->key, opts.key, opts.range_end)) continue;
    ev.kv.key = std::string(rec->key);
    ev.kv.mod_revision = r.main;
    if (!rec->tombstone) {
      ev.kv.create_revision = rec->create_revision;
      ev.kv.version = rec->version;
      ev.kv.lease = rec->lease;
      auto value = ValueOf(*rec);
      if (!value) return InternalError("corrupt value at revision " + std::to_string(r.main));
      ev.kv.value = std::move(*value);
    }
    if (opts.prev_kv) {
      char kb[KeyRev::kSize];
      KeyRev{r, rec->tombstone}.Encode(kb);
      MDB_val uk = Val(ev.kv.key), ud{KeyRev::kSize, kb};
      int krc = mdb_cursor_get(kc, &uk, &ud, MDB_GET_BOTH);
      if (krc == 0) krc = mdb_cursor_get(kc, &uk, &ud, MDB_PREV_DUP);
      if (krc == 0) {
        auto kr = KeyRev::Decode(static_cast<const char*>(ud.mv_data));
        if (!kr.tombstone) {
          TxnContext ctx(this, rt->get(), revs->first, revs->second);
          auto pkv = ctx.LoadKvAt(kr.rev);
          if (!pkv.ok()) return pkv.status();
          ev.prev_kv = std::move(*pkv);
        }
      } else if (krc != MDB_NOTFOUND) {
        return MdbStatus(krc, "read key index");
      }
    }
    chunk.events.push_back(std::move(ev));
  }
  if (rc != 0 && rc != MDB_NOTFOUND) return MdbStatus(rc, "read history");
  return chunk;
}

Result<std::unique_ptr<WatchStream>> StoreImpl::Watch(const WatchOptions& opts) {
  if (opts.key.empty()) return InvalidArgumentError(kErrEmptyKey);
  return hub_->NewStream(opts);
}

// ---------------------------------------------------------------------------------------------
// Writes

void StoreImpl::Submit(Pending p) {
  std::unique_lock l(queue_mu_);
  if (stopping_) {
    l.unlock();
    Status st = UnavailableError("store is closing");
    if (p.done) p.done(st);
    if (p.done_st) p.done_st(st);
    return;
  }
  queue_.push_back(std::move(p));
  if (queue_.size() == 1) queue_cv_.notify_one();
}

Status StoreImpl::SubmitAndWait(Pending p) {
  std::promise<Status> prom;
  auto fut = prom.get_future();
  p.done_st = [&prom](Status st) { prom.set_value(std::move(st)); };
  Submit(std::move(p));
  return fut.get();
}

void StoreImpl::TxnAsync(TxnRequest req, TxnCallback done) {
  if (TxnRequestBytes(req) > opts_.limits.max_request_bytes) {
    done(ResourceExhaustedError(kErrTooLarge));
    return;
  }
  {
    std::set<std::string> puts;
    std::vector<Interval> dels;
    Status st = CheckTxnKeys(req, &puts, &dels);
    for (const auto& c : req.compare) {
      if (st.ok() && c.key.empty()) st = InvalidArgumentError(kErrEmptyKey);
    }
    if (!st.ok()) {
      done(st);
      return;
    }
  }
  if (!HasWrites(req)) {
    // Read-only transactions are served from a snapshot, as linearizable as any read here.
    auto rt = AcquireRead();
    if (!rt.ok()) {
      done(rt.status());
      return;
    }
    auto revs = ReadRevisions(rt->get());
    if (!revs.ok()) {
      done(revs.status());
      return;
    }
    Result<TxnResponse> r = [&]() -> Result<TxnResponse> {
      TxnContext ctx(this, rt->get(), revs->first, revs->second);
      return ctx.Txn(req);
    }();
    done(std::move(r));
    return;
  }
  Pending p;
  p.kind = Pending::Kind::kTxn;
  p.txn = std::move(req);
  PackValues(p.txn, &p.packed);  // on this thread, not the committer's
  p.done = std::move(done);
  Submit(std::move(p));
}

void StoreImpl::CommitLoop() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock l(queue_mu_);
      queue_cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      size_t n = std::min(queue_.size(), opts_.max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitBatch(batch);
    batch.clear();
  }
  // Fail whatever arrived after the stop.
  std::deque<Pending> rest;
  {
    std::lock_guard l(queue_mu_);
    rest.swap(queue_);
  }
  for (auto& p : rest) {
    Status st = UnavailableError("store is closing");
    if (p.done) p.done(st);
    if (p.done_st) p.done_st(st);
  }
}

void StoreImpl::CommitBatch(std::vector<Pending>& batch) {
  struct Outcome {
    Status status;
    std::optional<TxnResponse> txn;
  };
  std::vector<Outcome> outcomes(batch.size());
  MDB_txn* w = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &w);
  if (rc != 0) {
    Status st = MdbStatus(rc, "begin write");
    for (auto& p : batch) {
      if (p.done) p.done(st);
      if (p.done_st) p.done_st(st);
    }
    return;
  }
  const int64_t start_rev = current_rev_;
  const int64_t start_compact = compact_rev_;
  std::vector<std::shared_ptr<const Event>> events;
  std::vector<std::pair<int64_t, int64_t>> granted;  // id, ttl
  std::vector<int64_t> revoked;
  bool need_step = false;
  Status fatal;  // a storage error: the whole batch fails

  for (size_t i = 0; i < batch.size() && fatal.ok(); ++i) {
    auto& p = batch[i];
    TxnContext ctx(this, w, current_rev_, compact_rev_);
    ctx.set_packed(&p.packed);
    Status st;
    switch (p.kind) {
      case Pending::Kind::kTxn: {
        auto r = ctx.Txn(p.txn);
        if (r.ok()) {
          outcomes[i].txn = std::move(*r);
        } else {
          st = r.status();
        }
        break;
      }
      case Pending::Kind::kLeaseGrant:
        st = ctx.LeaseGrant(p.id, p.ttl);
        if (st.ok()) granted.emplace_back(p.id, p.ttl);
        break;
      case Pending::Kind::kLeaseRevoke:
        st = ctx.LeaseRevoke(p.id);
        if (st.ok()) revoked.push_back(p.id);
        break;
      case Pending::Kind::kCompact:
        if (p.id <= compact_rev_) {
          st = Status(StatusCode::kGone, kErrCompacted);
        } else if (p.id > current_rev_) {
          st = FailedPreconditionError(kErrFutureRev);
        } else {
          std::string v = EncodeI64(p.id);
          MDB_val k = Val("compact"), d = Val(v);
          rc = mdb_put(w, meta_db_, &k, &d, 0);
          if (rc != 0) {
            st = MdbStatus(rc, "write compaction");
          } else {
            compact_rev_ = p.id;
            need_step = true;
          }
        }
        break;
      case Pending::Kind::kCompactStep: {
        auto done = ctx.CompactStep(compact_rev_);
        if (!done.ok()) {
          st = done.status();
        } else if (!*done) {
          need_step = true;
        }
        break;
      }
    }
    // Errors of a request that wrote nothing belong to it alone; validation happens before
    // any write, so a logical error never leaves half a transaction behind. A storage error
    // fails the whole batch.
    if (!st.ok() && (st.code() == StatusCode::kInternal ||
                     st.code() == StatusCode::kResourceExhausted)) {
      fatal = st;
      break;
    }
    outcomes[i].status = st;
    if (st.ok()) {
      current_rev_ = ctx.revision();
      for (auto& e : ctx.events()) events.push_back(std::move(e));
    }
  }

  if (fatal.ok() && current_rev_ != start_rev) {
    std::string v = EncodeI64(current_rev_);
    MDB_val k = Val("rev"), d = Val(v);
    rc = mdb_put(w, meta_db_, &k, &d, 0);
    if (rc != 0) fatal = MdbStatus(rc, "write revision");
  }
  if (fatal.ok()) {
    rc = mdb_txn_commit(w);
    if (rc != 0) fatal = CommitError(rc);
  } else {
    mdb_txn_abort(w);
  }
  if (!fatal.ok()) {
    current_rev_ = start_rev;
    compact_rev_ = start_compact;
    for (auto& p : batch) {
      if (p.done) p.done(fatal);
      if (p.done_st) p.done_st(fatal);
    }
    return;
  }

  committed_rev_ = current_rev_;
  committed_compact_ = compact_rev_;
  if (compact_rev_ != start_compact) hub_->SetCompactRevision(compact_rev_);
  if (!granted.empty() || !revoked.empty()) {
    auto now = Clock::now();
    std::lock_guard l(lease_mu_);
    for (auto [id, ttl] : granted) {
      leases_[id] = LeaseState{ttl, now + std::chrono::seconds(ttl), false};
    }
    for (auto id : revoked) leases_.erase(id);
  }
  if (!events.empty() || current_rev_ != start_rev) hub_->Publish(std::move(events), current_rev_);
  if (need_step) {
    Pending p;
    p.kind = Pending::Kind::kCompactStep;
    p.id = compact_rev_;
    Submit(std::move(p));
  }
  // Acknowledge on the acker thread, so that answering (which for a gRPC server includes
  // sending the responses) overlaps the next batch's commit.
  std::vector<Ack> acks;
  acks.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    acks.push_back(Ack{std::move(batch[i].done), std::move(batch[i].done_st),
                       std::move(outcomes[i].status), std::move(outcomes[i].txn)});
  }
  {
    std::lock_guard l(ack_mu_);
    ack_queue_.push_back(std::move(acks));
  }
  ack_cv_.notify_one();
}

void StoreImpl::AckLoop() {
  std::unique_lock l(ack_mu_);
  while (true) {
    ack_cv_.wait(l, [&] { return ack_stop_ || !ack_queue_.empty(); });
    if (ack_queue_.empty()) return;  // stopping, and everything acknowledged
    auto acks = std::move(ack_queue_.front());
    ack_queue_.pop_front();
    l.unlock();
    for (auto& a : acks) {
      if (a.done) {
        if (a.status.ok()) {
          a.done(std::move(*a.txn));
        } else {
          a.done(std::move(a.status));
        }
      }
      if (a.done_st) a.done_st(a.status);
    }
    l.lock();
  }
}

Status StoreImpl::CommitError(int rc) {
  // LMDB reports a short write as EIO; a full file system is the usual cause.
  if (rc == EIO || rc == ENOSPC) {
    struct statvfs vfs {};
    if (::statvfs(opts_.data_dir.c_str(), &vfs) == 0) {
      uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      if (free_bytes < (uint64_t{16} << 20)) {
        return ResourceExhaustedError("commit: no space left on device (" +
                                      std::to_string(free_bytes) + " bytes free in " +
                                      opts_.data_dir + ")");
      }
    }
  }
  return MdbStatus(rc, "commit");
}

Result<int64_t> StoreImpl::Compact(int64_t revision) {
  Pending p;
  p.kind = Pending::Kind::kCompact;
  p.id = revision;
  Status st = SubmitAndWait(std::move(p));
  if (!st.ok()) return st;
  return committed_rev_.load();
}

// ---------------------------------------------------------------------------------------------
// Leases

Result<LeaseGrantResponse> StoreImpl::LeaseGrant(int64_t ttl_seconds, int64_t id) {
  if (ttl_seconds > kMaxLeaseTTL) {
    return InvalidArgumentError("etcdserver: too large lease TTL");
  }
  if (id < 0) return InvalidArgumentError("etcdserver: lease ID must be positive");
  int64_t ttl = std::max(ttl_seconds, kMinLeaseTTL);
  if (id == 0) {
    std::lock_guard l(lease_mu_);
    do {
      id = static_cast<int64_t>(lease_rng_() >> 1);
    } while (id == 0 || leases_.count(id));
  }
  Pending p;
  p.kind = Pending::Kind::kLeaseGrant;
  p.id = id;
  p.ttl = ttl;
  Status st = SubmitAndWait(std::move(p));
  if (!st.ok()) return st;
  return LeaseGrantResponse{committed_rev_.load(), id, ttl};
}

Result<int64_t> StoreImpl::LeaseKeepAlive(int64_t id) {
  std::lock_guard l(lease_mu_);
  auto it = leases_.find(id);
  if (it == leases_.end() || it->second.revoking) {
    return Status(StatusCode::kNotFound, kErrLeaseNotFound);
  }
  it->second.expiry = Clock::now() + std::chrono::seconds(it->second.ttl);
  return it->second.ttl;
}

Status StoreImpl::LeaseRevoke(int64_t id) {
  Pending p;
  p.kind = Pending::Kind::kLeaseRevoke;
  p.id = id;
  return SubmitAndWait(std::move(p));
}

Result<LeaseTimeToLiveResponse> StoreImpl::LeaseTimeToLive(int64_t id, bool keys) {
  LeaseTimeToLiveResponse resp;
  resp.id = id;
  resp.revision = committed_rev_.load();
  {
    std::lock_guard l(lease_mu_);
    auto it = leases_.find(id);
    if (it == leases_.end()) return resp;  // ttl -1: expired or never granted
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(it->second.expiry -
                                                                      Clock::now());
    resp.ttl = std::max<int64_t>(0, (left.count() + 999) / 1000);
    resp.granted_ttl = it->second.ttl;
  }
  if (keys) {
    auto rt = AcquireRead();
    if (!rt.ok()) return rt.status();
    std::string lid = EncodeI64(id);
    MDB_cursor* c = nullptr;
    int rc = mdb_cursor_open(rt->get(), lkeys_db_, &c);
    if (rc != 0) return MdbStatus(rc, "open cursor");
    CursorGuard g{c};
    MDB_val k = Val(lid), d{};
    for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0 && View(k).substr(0, 8) == lid;
         rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
      resp.keys.emplace_back(View(k).substr(8));
    }
  }
  return resp;
}

Result<std::vector<int64_t>> StoreImpl::LeaseList() {
  std::lock_guard l(lease_mu_);
  std::vector<int64_t> ids;
  for (const auto& [id, st] : leases_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void StoreImpl::HousekeepingLoop() {
  auto last_compact = Clock::now();
  auto tick = std::min<std::chrono::milliseconds>(opts_.lease_check_interval,
                                                  std::chrono::milliseconds(1000));
  std::unique_lock l(hk_mu_);
  while (!hk_stop_) {
    hk_cv_.wait_for(l, tick);
    if (hk_stop_) break;
    l.unlock();
    auto now = Clock::now();
    // Expired leases are revoked through the committer like any other write.
    std::vector<int64_t> expired;
    {
      std::lock_guard ll(lease_mu_);
      for (auto& [id, st] : leases_) {
        if (!st.revoking && st.expiry <= now) {
          st.revoking = true;
          expired.push_back(id);
        }
      }
    }
    for (int64_t id : expired) {
      Pending p;
      p.kind = Pending::Kind::kLeaseRevoke;
      p.id = id;
      p.done_st = [this, id](Status st) {
        if (!st.ok() && st.code() != StatusCode::kNotFound) {
          std::lock_guard ll(lease_mu_);
          auto it = leases_.find(id);
          if (it != leases_.end()) it->second.revoking = false;  // try again next tick
        }
      };
      Submit(std::move(p));
    }
    // Periodic compaction keeps `auto_compact_retention` of history.
    if (opts_.auto_compact_retention.count() > 0) {
      rev_samples_.emplace_back(now, committed_rev_.load());
      if (now - last_compact >= opts_.auto_compact_interval) {
        last_compact = now;
        int64_t target = 0;
        while (!rev_samples_.empty() &&
               rev_samples_.front().first <= now - opts_.auto_compact_retention) {
          target = rev_samples_.front().second;
          rev_samples_.pop_front();
        }
        if (target > committed_compact_.load()) {
          Pending p;
          p.kind = Pending::Kind::kCompact;
          p.id = target;
          p.done_st = [](Status) {};
          Submit(std::move(p));
        }
      }
    }
    l.lock();
  }
}

// ---------------------------------------------------------------------------------------------
// Status and snapshot

Result<StoreStatus> StoreImpl::GetStatus() {
  StoreStatus s;
  s.revision = committed_rev_.load();
  s.compact_revision = committed_compact_.load();
  MDB_envinfo info{};
  MDB_stat st{};
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &st);
  std::error_code ec;
  auto size = fs::file_size(fs::path(opts_.data_dir) / "data.mdb", ec);
  s.db_size = ec ? 0 : static_cast<int64_t>(size);
  s.db_size_in_use = static_cast<int64_t>((info.me_last_pgno + 1) * st.ms_psize);
  s.version = "keelson-mvcc";
  return s;
}

Status StoreImpl::Snapshot(const std::function<Status(std::string_view)>& sink) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return InternalError(std::string("pipe: ") + std::strerror(errno));
  int copy_rc = 0;
  std::thread writer([&] {
    copy_rc = mdb_env_copyfd2(env_, fds[1], MDB_CP_COMPACT);
    ::close(fds[1]);
  });
  Status result;
  std::string buf(64 * 1024, '\0');
  while (true) {
    ssize_t n = ::read(fds[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.ok()) result = sink(std::string_view(buf.data(), static_cast<size_t>(n)));
    // On a sink error keep draining so the copier can finish.
  }
  ::close(fds[0]);
  writer.join();
  if (copy_rc != 0 && result.ok()) result = MdbStatus(copy_rc, "snapshot");
  return result;
}

}  // namespace
}  // namespace mvcc

Result<std::unique_ptr<Store>> OpenEmbeddedStore(const EmbeddedOptions& options) {
  auto s = std::make_unique<mvcc::StoreImpl>(options);
  Status st = s->Open();
  if (!st.ok()) return st;
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace keelson::store
