// The in-process transport: a request goes to the API server's Handler::Serve as the HTTP
// server would hand it over (path and query decoded from the target, header names
// lowercased), and the answer comes back through an Exchange that plays the connection's
// part: Respond and StartStream/Write/EndStream are read by RoundTrip or a ResponseStream,
// Backlog is what the client has not read yet, OnClose runs when the client closes.
#include <cctype>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "apiserver/http.h"
#include "client/transport.h"

namespace keelson::client {
namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::pair<std::string, std::string>> LowerNames(
    std::vector<std::pair<std::string, std::string>> headers) {
  for (auto& [k, v] : headers) k = Lower(std::move(k));
  return headers;
}

// One exchange; shared by the server (which answers through it) and the client side.
class LocalExchange final : public apiserver::Exchange {
 public:
  // Server side.
  void Respond(api::HttpResponse response) override {
    std::lock_guard l(mu_);
    if (head_) return;  // a second answer is a server bug; keep the first
    head_ = true;
    status_ = response.status;
    content_type_ = std::move(response.content_type);
    headers_ = LowerNames(std::move(response.headers));
    data_ = std::move(response.body);
    ended_ = true;
    cv_.notify_all();
  }
  void StartStream(int status, std::string content_type) override {
    std::lock_guard l(mu_);
    if (head_) return;
    head_ = true;
    status_ = status;
    content_type_ = std::move(content_type);
    cv_.notify_all();
  }
  bool Write(std::string data) override {
    std::lock_guard l(mu_);
    if (closed_) return false;
    data_ += data;
    cv_.notify_all();
    return true;
  }
  void EndStream() override {
    std::lock_guard l(mu_);
    ended_ = true;
    cv_.notify_all();
  }
  size_t Backlog() const override {
    std::lock_guard l(mu_);
    return data_.size();
  }
  void OnClose(std::function<void()> fn) override {
    {
      std::lock_guard l(mu_);
      if (!closed_) {
        on_close_ = std::move(fn);
        return;
      }
    }
    if (fn) fn();
  }

  // Client side.
  void WaitHead() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return head_ || closed_; });
  }
  // Takes what has arrived, waiting for some; false at the end.
  bool Take(std::string* out) {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return !data_.empty() || ended_ || closed_; });
    if (closed_) return false;
    if (data_.empty()) return false;
    out->append(data_);
    data_.clear();
    return true;
  }
  api::HttpResponse TakeResponse() {
    std::lock_guard l(mu_);
    api::HttpResponse r;
    r.status = status_;
    r.content_type = content_type_;
    r.headers = headers_;
    r.body = std::move(data_);
    data_.clear();
    return r;
  }
  void Close() {
    std::function<void()> fn;
    {
      std::lock_guard l(mu_);
      if (closed_) return;
      closed_ = true;
      fn = std::move(on_close_);
      cv_.notify_all();
    }
    if (fn) fn();
  }

  int status() const { return status_; }
  const std::string& content_type() const { return content_type_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool head_ = false;    // guarded by mu_
  bool ended_ = false;   // guarded by mu_
  bool closed_ = false;  // guarded by mu_: the client went away
  // Written once, before head_ is set; read by the client only after it has seen head_.
  int status_ = 0;
  std::string content_type_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string data_;                // guarded by mu_: body bytes not yet taken
  std::function<void()> on_close_;  // guarded by mu_
};

class LocalStream final : public ResponseStream {
 public:
  explicit LocalStream(std::shared_ptr<LocalExchange> ex) : ex_(std::move(ex)) {}
  ~LocalStream() override { Close(); }
  int status() const override { return ex_->status(); }
  const std::string& content_type() const override { return ex_->content_type(); }
  const std::vector<std::pair<std::string, std::string>>& headers() const override {
    return ex_->headers();
  }
  Result<bool> Read(std::string* out) override { return ex_->Take(out); }
  void Close() override { ex_->Close(); }

 private:
  std::shared_ptr<LocalExchange> ex_;
};

class InProcessTransport final : public Transport {
 public:
  InProcessTransport(apiserver::Handler* handler, size_t body_limit)
      : handler_(handler), body_limit_(body_limit) {}

  Result<api::HttpResponse> RoundTrip(const api::HttpRequest& request) override {
    auto ex = Serve(request);
    // A streamed answer (a large list) waits for its reader to keep up: read as it comes.
    ex->WaitHead();
    std::string body;
    while (ex->Take(&body)) {
    }
    api::HttpResponse r = ex->TakeResponse();
    r.body.insert(0, body);
    return r;
  }

  Result<std::unique_ptr<ResponseStream>> OpenStream(const api::HttpRequest& request) override {
    auto ex = Serve(request);
    ex->WaitHead();
    return std::unique_ptr<ResponseStream>(std::make_unique<LocalStream>(std::move(ex)));
  }

  std::string Describe() const override { return "in-process"; }

 private:
  std::shared_ptr<LocalExchange> Serve(const api::HttpRequest& request) {
    api::HttpRequest req;
    req.method = request.method;
    req.target = request.target;
    auto qpos = req.target.find('?');
    req.path = api::PercentDecode(std::string_view(req.target).substr(0, qpos), false);
    if (qpos != std::string::npos) {
      req.query = api::ParseQuery(std::string_view(req.target).substr(qpos + 1));
    }
    req.headers = LowerNames(request.headers);
    if (!request.body.empty()) {
      req.headers.emplace_back("content-length", std::to_string(request.body.size()));
    }
    auto ex = std::make_shared<LocalExchange>();
    if (request.body.size() > body_limit_) {
      api::HttpResponse too_large;
      too_large.status = 413;
      too_large.body =
          "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
          "\"message\":\"the request body is too large (limit " + std::to_string(body_limit_) +
          " bytes)\",\"reason\":\"RequestEntityTooLarge\",\"code\":413}";
      ex->Respond(std::move(too_large));
      return ex;
    }
    req.body = request.body;
    handler_->Serve(std::move(req), ex);
    return ex;
  }

  apiserver::Handler* handler_;
  const size_t body_limit_;
};

}  // namespace

std::unique_ptr<Transport> NewInProcessTransport(apiserver::Handler* handler, size_t body_limit) {
  return std::make_unique<InProcessTransport>(handler, body_limit);
}

}  // namespace keelson::client
