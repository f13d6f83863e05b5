// The etcd v3 gRPC API (KV, Watch, Lease, Maintenance, Cluster.MemberList) served over any
// keelson Store, so that etcd clients (etcdctl, kube-apiserver, client libraries) can use
// `keelson store` as if it were a one-member etcd 3.4 cluster.
//
// Built on gRPC's callback API: unary calls and streams hold no thread while they wait.
// Blocking Store calls (Range, leases, status) run on a small worker pool; transactions use
// Store::TxnAsync and are answered from the store's committer thread; watch streams pull
// from Store watch streams when these signal readiness, one write in flight per stream.
//
// Ownership: the server borrows the Store, which must outlive it. Thread-safety: all methods
// may be called from any thread; Shutdown() is idempotent and also run by the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace keelson::store {

struct EtcdServerOptions {
  // "127.0.0.1:PORT"; port 0 picks a free port (see EtcdServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // The URL announced in MemberList; empty: "http://" + the bound address.
  std::string client_url;
  std::string member_name = "keelson";
  // Response header ids; 0 derives a fixed nonzero id from member_name (and client_url for
  // the member id). Callers with stable state (a data dir) should pass ids derived from it.
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  // Reported as the server version by Maintenance.Status (etcd API level served).
  std::string version = "3.4.0";
  Limits limits;
  // How often watches created with progress_notify get a progress notification when they
  // had no events (etcd's default is 10 minutes).
  std::chrono::milliseconds progress_notify_interval{std::chrono::minutes(10)};
  // Threads that run blocking Store calls; 0: 2 x hardware threads (at least 4).
  int worker_threads = 0;
  // The store answers Range without blocking (the embedded store reads a snapshot and never
  // waits for writers): serve ranges on the gRPC thread instead of handing them to a worker.
  bool inline_reads = false;
};

class EtcdServer {
 public:
  // Binds the listen address and starts serving. Errors: InvalidArgument (bad address),
  // Unavailable (cannot listen).
  static Result<std::unique_ptr<EtcdServer>> Start(Store& store, EtcdServerOptions options);

  virtual ~EtcdServer() = default;

  // The bound TCP port.
  virtual int port() const = 0;
  // "http://127.0.0.1:PORT" (or options.client_url).
  virtual std::string client_url() const = 0;

  // Stops accepting calls, ends open streams and waits for calls in progress to finish.
  virtual void Shutdown() = 0;
};

}  // namespace keelson::store
