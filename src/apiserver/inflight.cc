#include "apiserver/inflight.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace keelson::apiserver {
namespace {

// Go's strconv.ParseBool true values, which upstream uses for `watch`.
bool ParseBoolTrue(std::string_view v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Releases its slot once, when the answer ends or the last reference goes.
class Slot {
 public:
  explicit Slot(std::atomic<int>* counter, std::shared_ptr<InflightLimiter::Counters> owner)
      : counter_(counter), owner_(std::move(owner)) {}
  ~Slot() { Release(); }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  void Release() {
    if (!released_.exchange(true)) counter_->fetch_sub(1);
  }

 private:
  std::atomic<int>* counter_;
  std::shared_ptr<InflightLimiter::Counters> owner_;  // keeps *counter_ alive
  std::atomic<bool> released_{false};
};

// Forwards everything to the connection's exchange and gives the slot back when the answer
// is complete.
class SlotExchange final : public Exchange {
 public:
  SlotExchange(std::shared_ptr<Exchange> inner, std::atomic<int>* counter,
               std::shared_ptr<InflightLimiter::Counters> owner)
      : inner_(std::move(inner)), slot_(counter, std::move(owner)) {}

  void Respond(HttpResponse response) override {
    inner_->Respond(std::move(response));
    slot_.Release();
  }
  void StartStream(int status, std::string content_type) override {
    inner_->StartStream(status, std::move(content_type));
  }
  bool Write(std::string data) override { return inner_->Write(std::move(data)); }
  void EndStream() override {
    inner_->EndStream();
    slot_.Release();
  }
  size_t Backlog() const override { return inner_->Backlog(); }
  void OnClose(std::function<void()> fn) override { inner_->OnClose(std::move(fn)); }

 private:
  std::shared_ptr<Exchange> inner_;
  Slot slot_;
};

HttpResponse TooManyRequests() {
  HttpResponse r;
  r.status = 429;
  r.headers.emplace_back("Retry-After", "1");
  r.body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
      R"("message":"Too many requests, please try again later.","reason":"TooManyRequests",)"
      R"("details":{"retryAfterSeconds":1},"code":429})";
  return r;
}

}  // namespace

bool IsMutatingRequest(std::string_view method) { return method != "GET" && method != "HEAD"; }

bool IsLongRunningRequest(const HttpRequest& req) {
  auto parts = Segments(req.path);
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    i = 2;  // /api/v1
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    i = 3;  // /apis/GROUP/VERSION
  } else {
    return false;  // not a resource request
  }
  if (i < parts.size() && (parts[i] == "watch" || parts[i] == "proxy")) return true;
  for (const auto& [k, v] : req.query) {
    if (k == "watch" && ParseBoolTrue(v)) return true;
  }
  // As upstream's RequestInfo: namespaces/NS/RESOURCE/NAME/SUBRESOURCE, but namespaces/NAME/
  // status and namespaces/NAME/finalize are the namespace's own subresources.
  if (i < parts.size() && parts[i] == "namespaces" && i + 2 < parts.size() &&
      parts[i + 2] != "status" && parts[i + 2] != "finalize") {
    i += 2;
  }
  if (i + 2 >= parts.size()) return false;
  std::string_view sub = parts[i + 2];
  return sub == "attach" || sub == "exec" || sub == "log" || sub == "portforward" ||
         sub == "proxy";
}

InflightLimiter::InflightLimiter(Handler* inner, InflightOptions options)
    : inner_(inner), options_(options), counters_(std::make_shared<Counters>()) {}

void InflightLimiter::Serve(HttpRequest req, std::shared_ptr<Exchange> ex) {
  if (IsLongRunningRequest(req)) return inner_->Serve(std::move(req), std::move(ex));
  bool mutating = IsMutatingRequest(req.method);
  int limit = mutating ? options_.max_mutating_requests : options_.max_requests;
  if (limit <= 0) return inner_->Serve(std::move(req), std::move(ex));
  std::atomic<int>* counter = mutating ? &counters_->mutating : &counters_->read_only;
  if (counter->fetch_add(1) >= limit) {
    counter->fetch_sub(1);
    return ex->Respond(TooManyRequests());
  }
  inner_->Serve(std::move(req),
                std::make_shared<SlotExchange>(std::move(ex), counter, counters_));
}

}  // namespace keelson::apiserver
