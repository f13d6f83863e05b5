// Server: the sockets and threads that answer DNS queries from a Zone (zone.h) and a
// Forwarder (forwarder.h).
//
//   - UDP: `udp_workers` threads per listen address, each with its own SO_REUSEPORT socket
//     (the kernel spreads clients over them), reading and answering in batches with
//     recvmmsg/sendmmsg. Answers are cut to 512 bytes, or to the client's EDNS payload size
//     capped at `max_udp_size`, with TC set when records were left out.
//   - TCP: one thread with epoll for every listener and connection (RFC 7766): two-byte
//     length-prefixed messages, several queries per connection answered as they complete
//     (forwarded ones out of order), at most `max_tcp_connections` connections (more are
//     closed at once), closed after `tcp_idle_timeout` without a complete query, when the
//     client sends something that is not a query, or when it reads its answers too slowly.
//   - Queries for the cluster zone are answered on the receiving thread from the current
//     Zone, which each thread holds on to until ZoneHolder's generation moves (no lock on the
//     hot path). Until a first Zone is set they get SERVFAIL.
//   - Other names go to the Forwarder (its cache first); without one they are REFUSED.
//
// Thread-safety: Start() and Stop() from one thread; ZoneHolder from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "dns/forwarder.h"
#include "dns/zone.h"

namespace keelson::dns {

// The current Zone, swapped whole on change.
class ZoneHolder {
 public:
  void Set(std::shared_ptr<const Zone> zone) {
    std::lock_guard lock(mu_);
    zone_ = std::move(zone);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const Zone> Get() const {
    std::lock_guard lock(mu_);
    return zone_;
  }
  // Moves on every Set(); a reader refreshes its copy when it changed.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Zone> zone_;  // guarded by mu_
  std::atomic<uint64_t> generation_{0};
};

struct ServerOptions {
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> listen = {"0.0.0.0:53"};  // addr:port; port 0: a free port
  int udp_workers = 2;
  size_t max_udp_size = 1232;
  int max_tcp_connections = 512;
  std::chrono::milliseconds tcp_idle_timeout{10000};
  // Forwarded queries a TCP connection may have in flight before it is read no further.
  int max_tcp_pending = 32;
};

class Server {
 public:
  // Binds every listen address (UDP and TCP on the same port) and starts the threads.
  // `zones` and `forwarder` (null: no forwarding) must outlive the server. InvalidArgument
  // for a bad address, Unavailable when it cannot be bound.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, const ZoneHolder* zones,
                                               Forwarder* forwarder);
  virtual ~Server() = default;
  // The port of each listen address, in order.
  virtual std::vector<int> Ports() const = 0;
  // Stops the threads and closes the sockets. Idempotent.
  virtual void Stop() = 0;
};

// "0.0.0.0:53", "127.0.0.1:0", "[::]:53", ":53" (every IPv4 address).
Result<Upstream> ParseListenAddress(std::string_view text);

}  // namespace keelson::dns
