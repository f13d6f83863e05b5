// The etcd backend: the Store interface over gRPC to a real etcd (>= 3.4) cluster.
//
// One channel to all members (pick-first across the endpoint list), so that a lost member is
// replaced by the next; calls wait for a connection up to their deadline, so an etcd restart
// shows as latency, not as errors. Reads are retried until request_timeout; writes only when
// etcd says they were not proposed ("no leader"), since a lost answer may hide an applied
// write. Requests over limits.max_request_bytes fail here with kErrTooLarge.
//
// Watches: one Watch gRPC stream per store watch. A broken stream is re-created (with
// back-off) from the revision after the last event delivered, so no event is lost or repeated;
// Next() keeps returning empty batches meanwhile. A watch without a start revision starts
// after the revision current when Watch() returns (one read to learn it).
//
// GetStatus: etcd reports no compaction revision, so compact_revision is found by bisection
// with count-only reads (about log2(revision) small requests).
// Snapshot: etcd's snapshot stream ends with a sha256 of the data; it is checked and not
// passed to the sink, which receives the bolt database file alone.
//
// Thread-safety: as every Store. A store's watch streams may outlive it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace keelson::store {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379" or "127.0.0.1:2379"
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  Limits limits;
};

// Errors: InvalidArgument for unusable endpoints; Unavailable when no member answers within
// request_timeout.
Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdOptions& options);

}  // namespace keelson::store
