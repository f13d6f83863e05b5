// The API server's request metrics in Prometheus text format, with upstream's names:
// apiserver_request_total (counter) and apiserver_request_duration_seconds (histogram), by
// verb, group, version, resource, subresource, scope, component and (for the counter) code;
// apiserver_current_inflight_requests (gauge, by request_kind readOnly or mutating, watches
// left out as upstream does) and apiserver_longrunning_requests (gauge: open watches).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "apiserver/negotiation.h"
#include "common/clock.h"

namespace keelson::apiserver {

struct RequestLabels {
  std::string verb;  // GET, LIST, WATCH, POST, PUT, PATCH, DELETE, DELETECOLLECTION
  std::string group;
  std::string version;
  std::string resource;
  std::string subresource;
  std::string scope;  // resource, namespace, cluster
  std::string dry_run;

  auto operator<=>(const RequestLabels&) const = default;
};

class RequestMetrics {
 public:
  // A request starts (Begin), is answered (Observe) and ends (End: answered, or dropped).
  void Begin(const RequestLabels& labels);
  void End(const RequestLabels& labels);
  void Observe(const RequestLabels& labels, int code, std::chrono::nanoseconds duration);
  // The text exposition of both metrics (HELP and TYPE lines included).
  std::string Text() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative counts are computed at export
    double sum = 0;
    uint64_t count = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<RequestLabels, int>, uint64_t> totals_;  // guarded by mu_
  std::map<RequestLabels, Histogram> durations_;              // guarded by mu_
  int64_t inflight_read_ = 0;                                 // guarded by mu_
  int64_t inflight_mutating_ = 0;                             // guarded by mu_
  std::map<RequestLabels, int64_t> longrunning_;              // guarded by mu_
};

// Records a request's code and duration when it is answered (for a streamed answer, when the
// stream ends), then passes everything through. `metrics` and `clock` must outlive it.
class ObservingExchange final : public ForwardingExchange {
 public:
  ObservingExchange(std::shared_ptr<Exchange> inner, RequestMetrics* metrics,
                    RequestLabels labels, const Clock* clock);
  // A request dropped without an answer still ends.
  ~ObservingExchange() override;

  void Respond(HttpResponse response) override;
  void StartStream(int status, std::string content_type) override;
  void EndStream() override;

 private:
  void Record(int code);

  RequestMetrics* metrics_;
  RequestLabels labels_;
  const Clock* clock_;
  Clock::MonoTime start_;
  std::atomic<int> status_{200};
  std::atomic<bool> recorded_{false};
};

}  // namespace keelson::apiserver
