// The etcd backend: the Store interface over gRPC to a real etcd (>= 3.4) cluster.
//
// One channel to all members (pick-first across the endpoint list), so that a lost member is
// replaced by the next; calls wait for a connection up to their deadline, so an etcd restart
// shows as latency, not as errors. Watches resume from their next revision after a broken
// stream.
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
