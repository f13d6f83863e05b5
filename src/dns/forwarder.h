// Forwarder: asks the node's resolvers (upstreams) what the cluster zone does not answer, and
// caches their answers (cache.h).
//
// Each upstream query goes out over UDP from a fresh socket (a random source port, a random
// id; an answer whose id, source or question differs is ignored) with EDNS0; a truncated
// answer is asked again over TCP. An upstream that does not answer within the attempt timeout
// (or refuses) gives way to the next; when every attempt failed, or the overall timeout
// passed, the waiters get nothing (the server answers SERVFAIL). Identical questions in
// flight share one upstream query. At most `max_pending` questions are in flight; beyond
// that, new ones fail at once rather than queue without bound.
//
// Thread-safety: Lookup() and Resolve() may be called from any thread. Callbacks run on the
// forwarder's own I/O thread (or, for an immediate failure, on the caller's) and must be
// quick. Stop() (and the destructor) fail whatever is still in flight, then join the thread.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "dns/cache.h"

namespace keelson::dns {

// An upstream's socket address.
struct Upstream {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;  // "10.0.0.2:53", for logs
};

// "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353" (port 53 by default). InvalidArgument
// otherwise.
Result<Upstream> ParseUpstream(std::string_view text);
// The nameserver lines of a resolv.conf. NotFound when the file cannot be read.
Result<std::vector<std::string>> ReadResolvConf(const std::string& path);

struct ForwarderOptions {
  std::vector<Upstream> upstreams;
  std::chrono::milliseconds attempt_timeout{1500};
  std::chrono::milliseconds timeout{4000};
  size_t max_pending = 1024;
  size_t cache_entries = 10000;
  CacheLimits cache_limits;
};

class Forwarder {
 public:
  // Null when the question could not be answered (timeouts, failures, overload, stop).
  using Callback = std::function<void(std::shared_ptr<const CachedAnswer>)>;

  // Starts the I/O thread. InvalidArgument without upstreams; Internal when the kernel
  // refuses an epoll or eventfd.
  static Result<std::unique_ptr<Forwarder>> Start(ForwarderOptions options);
  virtual ~Forwarder() = default;

  // The cached answer to the question, or null.
  virtual std::shared_ptr<const CachedAnswer> Lookup(std::string_view lower_qname, uint16_t qtype,
                                                     uint16_t qclass, bool dnssec_ok, bool cd) = 0;
  // Asks the upstreams (or the cache) and calls `done` once.
  virtual void Resolve(std::string_view lower_qname, uint16_t qtype, uint16_t qclass,
                       bool dnssec_ok, bool cd, Callback done) = 0;
  virtual void Stop() = 0;
  virtual size_t cached_entries() const = 0;
};

}  // namespace keelson::dns
