// Upstream's in-flight limits (kube-apiserver's --max-requests-inflight and
// --max-mutating-requests-inflight): at most so many read-only and so many mutating requests
// are being served at once; one more is answered 429 TooManyRequests with `Retry-After: 1`
// ("Too many requests, please try again later."). Long-running requests (watches, exec,
// attach, portforward, proxy, log) are not counted, as upstream's long-running check has it.
//
// InflightLimiter is a Handler decorator: it wraps the API server's Handler. A request holds
// its slot from Serve() until its answer ends (Respond(), or EndStream() of a stream), or
// until the handler lets go of its Exchange without answering.
//
// Thread-safety: Serve() may be called from any number of threads at once; the counters are
// atomics.
#pragma once

#include <atomic>
#include <memory>
#include <string_view>

#include "apiserver/http.h"

namespace keelson::apiserver {

struct InflightOptions {
  int max_requests = 400;           // GET and HEAD; 0: no limit
  int max_mutating_requests = 200;  // every other method; 0: no limit
};

// Upstream's BasicLongRunningRequestCheck: the watch verb (`?watch=true|1|t|...`, or a
// `/watch/` path), the proxy verb (`/api/v1/proxy/...`), and the subresources attach, exec,
// log, portforward and proxy.
bool IsLongRunningRequest(const HttpRequest& req);

// Whether a request counts against the mutating limit (any method but GET and HEAD).
bool IsMutatingRequest(std::string_view method);

class InflightLimiter final : public Handler {
 public:
  // `inner` must outlive the limiter.
  InflightLimiter(Handler* inner, InflightOptions options);

  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override;

  // Requests holding a slot now.
  int inflight() const { return counters_->read_only.load(); }
  int mutating_inflight() const { return counters_->mutating.load(); }

  struct Counters {
    std::atomic<int> read_only{0};
    std::atomic<int> mutating{0};
  };

 private:
  Handler* inner_;
  InflightOptions options_;
  // Shared with the exchanges that hold slots, which may outlive the limiter.
  std::shared_ptr<Counters> counters_;
};

}  // namespace keelson::apiserver
