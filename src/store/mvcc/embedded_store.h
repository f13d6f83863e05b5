// The embedded store: keelson's default backend, a multi-version key-value store on LMDB with
// etcd v3 semantics (see store/store.h and docs/store.md).
//
// Writes from all callers are group-committed: the committer thread applies every pending
// transaction in one LMDB write transaction, makes it durable with one sync, and then
// acknowledges them together. Reads run on LMDB read transactions and never wait for writers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace keelson::store {

struct EmbeddedOptions {
  std::string data_dir;
  // Largest size the database may grow to; writes past it fail with kErrNoSpace.
  int64_t quota_bytes = int64_t{8} << 30;
  Limits limits;
  // Automatic compaction keeps this much history (0 disables it), checked every
  // `auto_compact_interval`.
  std::chrono::seconds auto_compact_retention{std::chrono::minutes(5)};
  std::chrono::milliseconds auto_compact_interval{std::chrono::minutes(1)};
  // Recent events kept in memory for watchers (at most this many, and about this many
  // bytes); older ones are read back from disk.
  size_t watch_cache_events = 50000;
  size_t watch_cache_bytes = 16 << 20;
  // Largest number of transactions applied in one group commit.
  size_t max_batch = 4096;
  // How often expired leases are looked for.
  std::chrono::milliseconds lease_check_interval{500};
};

// Opens (creating if absent) the store in options.data_dir.
// Errors: FailedPrecondition when the directory is locked by another process, holds data of
// another format, or is corrupt (nothing is overwritten then); Internal for I/O errors.
Result<std::unique_ptr<Store>> OpenEmbeddedStore(const EmbeddedOptions& options);

}  // namespace keelson::store
