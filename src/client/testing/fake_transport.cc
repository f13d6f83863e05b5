#include "client/testing/fake_transport.h"

#include <chrono>

namespace keelson::client::testing {

void FakeStream::Push(std::string data) {
  std::lock_guard l(mu_);
  data_ += data;
  cv_.notify_all();
}

void FakeStream::PushEvent(std::string_view type, std::string_view object_json) {
  Push("{\"type\":\"" + std::string(type) + "\",\"object\":" + std::string(object_json) + "}\n");
}

void FakeStream::End() {
  std::lock_guard l(mu_);
  ended_ = true;
  cv_.notify_all();
}

void FakeStream::Break() {
  std::lock_guard l(mu_);
  broken_ = true;
  cv_.notify_all();
}

bool FakeStream::closed() {
  std::lock_guard l(mu_);
  return closed_;
}

bool FakeStream::WaitClosed() {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, std::chrono::seconds(5), [&] { return closed_; });
}

class FakeResponseStream final : public ResponseStream {
 public:
  explicit FakeResponseStream(std::shared_ptr<FakeStream> s) : s_(std::move(s)) {}
  ~FakeResponseStream() override { Close(); }
  int status() const override { return s_->status_; }
  const std::string& content_type() const override { return s_->content_type_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const override {
    return headers_;
  }
  Result<bool> Read(std::string* out) override {
    std::unique_lock l(s_->mu_);
    s_->cv_.wait(l, [&] { return !s_->data_.empty() || s_->ended_ || s_->broken_ || s_->closed_; });
    if (s_->closed_) return false;
    if (!s_->data_.empty()) {
      out->append(s_->data_);
      s_->data_.clear();
      return true;
    }
    if (s_->broken_) return InternalError("connection reset by peer");
    return false;
  }
  void Close() override {
    std::lock_guard l(s_->mu_);
    s_->closed_ = true;
    s_->cv_.notify_all();
  }

 private:
  std::shared_ptr<FakeStream> s_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

void FakeTransport::SetResponder(Responder r) {
  std::lock_guard l(mu_);
  responder_ = std::move(r);
}

void FakeTransport::Enqueue(FakeReply reply) {
  std::lock_guard l(mu_);
  queued_.push_back(std::move(reply));
}

FakeReply FakeTransport::Reply(const api::HttpRequest& request) {
  Responder responder;
  {
    std::lock_guard l(mu_);
    requests_.push_back(request);
    cv_.notify_all();
    if (!queued_.empty()) {
      FakeReply r = std::move(queued_.front());
      queued_.pop_front();
      return r;
    }
    responder = responder_;
  }
  if (!responder) return JsonResponse(404, "{\"kind\":\"Status\",\"code\":404}");
  return responder(request);
}

Result<api::HttpResponse> FakeTransport::RoundTrip(const api::HttpRequest& request) {
  FakeReply r = Reply(request);
  if (auto* resp = std::get_if<api::HttpResponse>(&r)) return *resp;
  if (auto* st = std::get_if<Status>(&r)) return *st;
  return InternalError("a stream reply to a plain request");
}

Result<std::unique_ptr<ResponseStream>> FakeTransport::OpenStream(const api::HttpRequest& request) {
  FakeReply r = Reply(request);
  if (auto* st = std::get_if<Status>(&r)) return *st;
  std::shared_ptr<FakeStream> s;
  if (auto* resp = std::get_if<api::HttpResponse>(&r)) {
    s = std::make_shared<FakeStream>(resp->status, resp->content_type);
    s->Push(resp->body);
    s->End();
  } else {
    s = std::get<std::shared_ptr<FakeStream>>(r);
  }
  return std::unique_ptr<ResponseStream>(std::make_unique<FakeResponseStream>(std::move(s)));
}

std::vector<api::HttpRequest> FakeTransport::requests() {
  std::lock_guard l(mu_);
  return requests_;
}

size_t FakeTransport::request_count() {
  std::lock_guard l(mu_);
  return requests_.size();
}

bool FakeTransport::WaitRequests(size_t n) {
  std::unique_lock l(mu_);
  return cv_.wait_for(l, std::chrono::seconds(5), [&] { return requests_.size() >= n; });
}

api::HttpResponse JsonResponse(int status, std::string body) {
  api::HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

}  // namespace keelson::client::testing
