#include "apiserver/inflight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace keelson::apiserver {
namespace {

// Records what is answered.
class FakeExchange final : public Exchange {
 public:
  void Respond(HttpResponse response) override { responses.push_back(std::move(response)); }
  void StartStream(int status, std::string) override { started = status; }
  bool Write(std::string data) override {
    written += data;
    return true;
  }
  void EndStream() override { ended = true; }
  size_t Backlog() const override { return 0; }
  void OnClose(std::function<void()> fn) override { on_close = std::move(fn); }

  std::vector<HttpResponse> responses;
  int started = 0;
  std::string written;
  bool ended = false;
  std::function<void()> on_close;
};

// Keeps every exchange it is handed, unanswered, until the test answers it.
class HoldingHandler final : public Handler {
 public:
  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override {
    requests.push_back(std::move(req));
    held.push_back(std::move(ex));
  }
  std::vector<HttpRequest> requests;
  std::vector<std::shared_ptr<Exchange>> held;
};

HttpRequest Request(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = target;
  auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = ParseQuery(std::string_view(target).substr(q + 1));
  return r;
}

TEST(InflightTest, ReadOnlyRequestsOverTheLimitGet429WithRetryAfter) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {.max_requests = 3, .max_mutating_requests = 2});
  for (int i = 0; i < 3; ++i) {
    limiter.Serve(Request("GET", "/api/v1/namespaces"), std::make_shared<FakeExchange>());
  }
  EXPECT_EQ(inner.held.size(), 3u);
  EXPECT_EQ(limiter.inflight(), 3);
  auto refused = std::make_shared<FakeExchange>();
  limiter.Serve(Request("GET", "/api/v1/namespaces"), refused);
  ASSERT_EQ(refused->responses.size(), 1u);
  const HttpResponse& r = refused->responses[0];
  EXPECT_EQ(r.status, 429);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(r.headers[0].second, "1");
  EXPECT_NE(r.body.find("\"reason\":\"TooManyRequests\""), std::string::npos);
  EXPECT_NE(r.body.find("Too many requests, please try again later."), std::string::npos);
  EXPECT_EQ(inner.held.size(), 3u);  // never reached the handler

  // Mutating requests have their own limit.
  auto post = std::make_shared<FakeExchange>();
  limiter.Serve(Request("POST", "/api/v1/namespaces"), post);
  EXPECT_EQ(inner.held.size(), 4u);
  EXPECT_EQ(limiter.mutating_inflight(), 1);

  // An answer frees the slot.
  inner.held[0]->Respond(HttpResponse{});
  EXPECT_EQ(limiter.inflight(), 2);
  auto admitted = std::make_shared<FakeExchange>();
  limiter.Serve(Request("GET", "/api/v1/namespaces"), admitted);
  EXPECT_TRUE(admitted->responses.empty());
  EXPECT_EQ(inner.held.size(), 5u);
}

TEST(InflightTest, MutatingLimitIsSeparate) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {.max_requests = 1, .max_mutating_requests = 2});
  for (const char* m : {"POST", "PUT"}) {
    limiter.Serve(Request(m, "/api/v1/namespaces/default/configmaps"),
                  std::make_shared<FakeExchange>());
  }
  for (const char* m : {"PATCH", "DELETE"}) {
    auto ex = std::make_shared<FakeExchange>();
    limiter.Serve(Request(m, "/api/v1/namespaces/default/configmaps/x"), ex);
    ASSERT_EQ(ex->responses.size(), 1u);
    EXPECT_EQ(ex->responses[0].status, 429);
  }
  auto get = std::make_shared<FakeExchange>();
  limiter.Serve(Request("GET", "/api/v1/namespaces/default/configmaps"), get);
  EXPECT_TRUE(get->responses.empty());
  EXPECT_EQ(limiter.inflight(), 1);
  EXPECT_EQ(limiter.mutating_inflight(), 2);
}

TEST(InflightTest, StreamsHoldTheirSlotUntilTheyEnd) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {.max_requests = 1, .max_mutating_requests = 1});
  auto conn = std::make_shared<FakeExchange>();
  limiter.Serve(Request("GET", "/api/v1/pods"), conn);
  inner.held[0]->StartStream(200, "application/json");
  EXPECT_TRUE(inner.held[0]->Write("{}"));
  EXPECT_EQ(limiter.inflight(), 1);
  inner.held[0]->EndStream();
  EXPECT_EQ(limiter.inflight(), 0);
  EXPECT_EQ(conn->started, 200);
  EXPECT_EQ(conn->written, "{}");
  EXPECT_TRUE(conn->ended);
  // Answering twice does not give the slot back twice.
  inner.held[0]->Respond(HttpResponse{});
  EXPECT_EQ(limiter.inflight(), 0);
}

TEST(InflightTest, AHandlerThatDropsItsExchangeGivesTheSlotBack) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {.max_requests = 1, .max_mutating_requests = 1});
  limiter.Serve(Request("GET", "/api/v1/pods"), std::make_shared<FakeExchange>());
  EXPECT_EQ(limiter.inflight(), 1);
  inner.held.clear();
  EXPECT_EQ(limiter.inflight(), 0);
}

TEST(InflightTest, TheSlotOutlivesTheLimiterSafely) {
  HoldingHandler inner;
  {
    InflightLimiter limiter(&inner, {.max_requests = 1, .max_mutating_requests = 1});
    limiter.Serve(Request("GET", "/api/v1/pods"), std::make_shared<FakeExchange>());
  }
  inner.held[0]->Respond(HttpResponse{});
  inner.held.clear();
}

TEST(InflightTest, OnCloseReachesTheConnection) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {});
  auto conn = std::make_shared<FakeExchange>();
  limiter.Serve(Request("GET", "/api/v1/pods"), conn);
  bool closed = false;
  inner.held[0]->OnClose([&] { closed = true; });
  ASSERT_TRUE(conn->on_close);
  conn->on_close();
  EXPECT_TRUE(closed);
}

TEST(InflightTest, LongRunningRequestsAreNotCounted) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {.max_requests = 1, .max_mutating_requests = 1});
  limiter.Serve(Request("GET", "/api/v1/pods"), std::make_shared<FakeExchange>());
  limiter.Serve(Request("POST", "/api/v1/namespaces/default/pods"),
                std::make_shared<FakeExchange>());
  for (const char* target : {
           "/api/v1/pods?watch=true",
           "/api/v1/namespaces/default/pods?watch=1",
           "/apis/apps/v1/deployments?labelSelector=a%3Db&watch=True",
           "/api/v1/watch/pods",
           "/apis/apps/v1/watch/namespaces/default/deployments/d",
           "/api/v1/namespaces/default/pods/p/log?follow=true",
           "/api/v1/namespaces/default/pods/p/exec?command=sh",
           "/api/v1/namespaces/default/pods/p/attach",
           "/api/v1/namespaces/default/pods/p/portforward",
           "/api/v1/namespaces/default/pods/p/proxy/some/path",
           "/api/v1/namespaces/default/services/s/proxy",
           "/api/v1/nodes/n/proxy/metrics",
           "/api/v1/proxy/namespaces/default/pods/p",
       }) {
    auto ex = std::make_shared<FakeExchange>();
    limiter.Serve(Request("GET", target), ex);
    EXPECT_TRUE(ex->responses.empty()) << target;
  }
  auto exec = std::make_shared<FakeExchange>();
  limiter.Serve(Request("POST", "/api/v1/namespaces/default/pods/p/exec"), exec);
  EXPECT_TRUE(exec->responses.empty());
  EXPECT_EQ(limiter.inflight(), 1);
  EXPECT_EQ(limiter.mutating_inflight(), 1);
}

TEST(InflightTest, LongRunningCheck) {
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/pods")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/pods?watch=false")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/pods?watch=yes")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/namespaces/default/pods/p/status")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/namespaces/log")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/namespaces/exec/status")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/api/v1/namespaces/default/pods/log")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/healthz?watch=true")));
  EXPECT_FALSE(IsLongRunningRequest(Request("GET", "/version")));
  EXPECT_TRUE(IsLongRunningRequest(Request("GET", "/api/v1/namespaces?watch=t")));
  EXPECT_TRUE(IsLongRunningRequest(Request("GET", "/api/v1/namespaces/default/pods/p/log")));
  EXPECT_TRUE(IsMutatingRequest("POST"));
  EXPECT_TRUE(IsMutatingRequest("OPTIONS"));
  EXPECT_FALSE(IsMutatingRequest("GET"));
  EXPECT_FALSE(IsMutatingRequest("HEAD"));
}

TEST(InflightTest, ZeroMeansNoLimit) {
  HoldingHandler inner;
  InflightLimiter limiter(&inner, {.max_requests = 0, .max_mutating_requests = 0});
  for (int i = 0; i < 1000; ++i) {
    auto ex = std::make_shared<FakeExchange>();
    limiter.Serve(Request(i % 2 ? "GET" : "PUT", "/api/v1/pods"), ex);
    ASSERT_TRUE(ex->responses.empty());
  }
  EXPECT_EQ(inner.held.size(), 1000u);
}

TEST(InflightTest, ConcurrentRequestsNeverExceedTheLimit) {
  // Many threads serving and answering at once: the slots admitted never exceed the limit.
  class CountingHandler final : public Handler {
   public:
    void Serve(HttpRequest, std::shared_ptr<Exchange> ex) override {
      int now = ++inside;
      int seen = max.load();
      while (now > seen && !max.compare_exchange_weak(seen, now)) {
      }
      --inside;
      ex->Respond(HttpResponse{});
    }
    std::atomic<int> inside{0};
    std::atomic<int> max{0};
  } inner;
  InflightLimiter limiter(&inner, {.max_requests = 4, .max_mutating_requests = 4});
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto ex = std::make_shared<FakeExchange>();
        limiter.Serve(Request("GET", "/api/v1/pods"), ex);
        if (!ex->responses.empty() && ex->responses[0].status == 429) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(inner.max.load(), 4);
  EXPECT_EQ(limiter.inflight(), 0);
}

}  // namespace
}  // namespace keelson::apiserver
