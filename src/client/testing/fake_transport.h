// FakeTransport: a Transport for tests that answers from a function and records every
// request. A reply is a whole response, a transport failure, or a FakeStream the test feeds
// (for watches): Push() bytes, End() the body, Break() the connection.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "client/transport.h"

namespace keelson::client::testing {

class FakeStream {
 public:
  explicit FakeStream(int status = 200, std::string content_type = "application/json")
      : status_(status), content_type_(std::move(content_type)) {}

  void Push(std::string data);
  // One watch event line: {"type": TYPE, "object": OBJECT}.
  void PushEvent(std::string_view type, std::string_view object_json);
  void End();    // the body ends cleanly
  void Break();  // the connection breaks
  // Whether the client closed the stream.
  bool closed();
  // Waits (real time, up to 5 s) until the client closed it.
  bool WaitClosed();

  int status() const { return status_; }
  const std::string& content_type() const { return content_type_; }

 private:
  friend class FakeResponseStream;
  const int status_;
  const std::string content_type_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string data_;       // guarded by mu_
  bool ended_ = false;     // guarded by mu_
  bool broken_ = false;    // guarded by mu_
  bool closed_ = false;    // guarded by mu_
};

using FakeReply = std::variant<api::HttpResponse, Status, std::shared_ptr<FakeStream>>;

class FakeTransport final : public Transport {
 public:
  using Responder = std::function<FakeReply(const api::HttpRequest&)>;
  explicit FakeTransport(Responder responder = nullptr) : responder_(std::move(responder)) {}

  void SetResponder(Responder r);
  // Queued replies are used first, in order, before the responder.
  void Enqueue(FakeReply reply);

  Result<api::HttpResponse> RoundTrip(const api::HttpRequest& request) override;
  Result<std::unique_ptr<ResponseStream>> OpenStream(const api::HttpRequest& request) override;
  std::string Describe() const override { return "fake"; }

  std::vector<api::HttpRequest> requests();
  size_t request_count();
  // Waits (real time, up to 5 s) until at least `n` requests were made.
  bool WaitRequests(size_t n);

 private:
  FakeReply Reply(const api::HttpRequest& request);

  std::mutex mu_;
  std::condition_variable cv_;
  Responder responder_;                   // guarded by mu_
  std::deque<FakeReply> queued_;          // guarded by mu_
  std::vector<api::HttpRequest> requests_;  // guarded by mu_
};

// A JSON response.
api::HttpResponse JsonResponse(int status, std::string body);

}  // namespace keelson::client::testing
