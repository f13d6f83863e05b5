#include "apiserver/metrics.h"

#include <cstdio>

namespace keelson::apiserver {
namespace {

// Upstream's buckets for apiserver_request_duration_seconds.
constexpr double kBuckets[] = {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5,
                               2,     3,     4,    5,   6,   8,   10,  15,  20,  30,  45,  60};
constexpr size_t kNumBuckets = sizeof(kBuckets) / sizeof(kBuckets[0]);

std::string LabelText(const RequestLabels& l) {
  return "component=\"apiserver\",dry_run=\"" + l.dry_run + "\",group=\"" + l.group +
         "\",resource=\"" + l.resource + "\",scope=\"" + l.scope + "\",subresource=\"" +
         l.subresource + "\",verb=\"" + l.verb + "\",version=\"" + l.version + "\"";
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

bool ReadOnly(const RequestLabels& l) { return l.verb == "GET" || l.verb == "LIST"; }

}  // namespace

void RequestMetrics::Begin(const RequestLabels& labels) {
  std::lock_guard l(mu_);
  if (labels.verb == "WATCH") {
    ++longrunning_[labels];
  } else if (ReadOnly(labels)) {
    ++inflight_read_;
  } else {
    ++inflight_mutating_;
  }
}

void RequestMetrics::End(const RequestLabels& labels) {
  std::lock_guard l(mu_);
  if (labels.verb == "WATCH") {
    if (auto it = longrunning_.find(labels); it != longrunning_.end() && it->second > 0) {
      --it->second;
    }
  } else if (ReadOnly(labels)) {
    if (inflight_read_ > 0) --inflight_read_;
  } else if (inflight_mutating_ > 0) {
    --inflight_mutating_;
  }
}

void RequestMetrics::Observe(const RequestLabels& labels, int code,
                             std::chrono::nanoseconds duration) {
  double secs = std::chrono::duration<double>(duration).count();
  std::lock_guard l(mu_);
  ++totals_[{labels, code}];
  auto& h = durations_[labels];
  if (h.buckets.empty()) h.buckets.assign(kNumBuckets, 0);
  for (size_t i = 0; i < kNumBuckets; ++i) {
    if (secs <= kBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  h.sum += secs;
  ++h.count;
}

std::string RequestMetrics::Text() const {
  std::lock_guard l(mu_);
  std::string out =
      "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for "
      "each verb, dry run value, group, version, resource, scope, component, and HTTP "
      "response code.\n# TYPE apiserver_request_total counter\n";
  for (const auto& [key, n] : totals_) {
    out += "apiserver_request_total{code=\"" + std::to_string(key.second) + "\"," +
           LabelText(key.first) + "} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in "
      "seconds for each verb, dry run value, group, version, resource, subresource, scope and "
      "component.\n# TYPE apiserver_request_duration_seconds histogram\n";
  for (const auto& [labels, h] : durations_) {
    std::string lt = LabelText(labels);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kNumBuckets; ++i) {
      cumulative += h.buckets[i];
      out += "apiserver_request_duration_seconds_bucket{" + lt + ",le=\"" + Number(kBuckets[i]) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "apiserver_request_duration_seconds_bucket{" + lt + ",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "apiserver_request_duration_seconds_sum{" + lt + "} " + Number(h.sum) + "\n";
    out += "apiserver_request_duration_seconds_count{" + lt + "} " + std::to_string(h.count) +
           "\n";
  }
  out +=
      "# HELP apiserver_current_inflight_requests [STABLE] Maximal number of currently used "
      "inflight request limit of this apiserver per request kind in last second.\n"
      "# TYPE apiserver_current_inflight_requests gauge\n"
      "apiserver_current_inflight_requests{request_kind=\"mutating\"} " +
      std::to_string(inflight_mutating_) +
      "\napiserver_current_inflight_requests{request_kind=\"readOnly\"} " +
      std::to_string(inflight_read_) +
      "\n# HELP apiserver_longrunning_requests [STABLE] Gauge of all active long-running "
      "apiserver requests broken out by verb, group, version, resource, scope and component. "
      "Not all requests are tracked this way.\n# TYPE apiserver_longrunning_requests gauge\n";
  for (const auto& [labels, n] : longrunning_) {
    out += "apiserver_longrunning_requests{" + LabelText(labels) + "} " + std::to_string(n) + "\n";
  }
  return out;
}

ObservingExchange::ObservingExchange(std::shared_ptr<Exchange> inner, RequestMetrics* metrics,
                                     RequestLabels labels, const Clock* clock)
    : ForwardingExchange(std::move(inner)), metrics_(metrics), labels_(std::move(labels)),
      clock_(clock), start_(clock->Monotonic()) {
  metrics_->Begin(labels_);
}

ObservingExchange::~ObservingExchange() {
  if (!recorded_.exchange(true)) metrics_->End(labels_);
}

void ObservingExchange::Respond(HttpResponse response) {
  Record(response.status);
  inner_->Respond(std::move(response));
}

void ObservingExchange::StartStream(int status, std::string content_type) {
  status_ = status;
  inner_->StartStream(status, std::move(content_type));
}

void ObservingExchange::EndStream() {
  Record(status_);
  inner_->EndStream();
}

void ObservingExchange::Record(int code) {
  if (recorded_.exchange(true)) return;
  metrics_->Observe(labels_, code, clock_->Monotonic() - start_);
  metrics_->End(labels_);
}

}  // namespace keelson::apiserver
