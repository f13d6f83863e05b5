// The REST client against a scripted transport: paths and parameters of every verb, typed
// errors, retries with backoff and Retry-After on a fake clock, which verbs are retried after
// a connection failure, the client-side rate limit, protobuf answers and watch streams (JSON
// and protobuf), cancellation.
#include "client/rest_client.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "api/protobuf.h"
#include "client/testing/fake_transport.h"
#include "client/time_format.h"

namespace keelson::client {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::FakeReply;
using testing::FakeStream;
using testing::FakeTransport;
using testing::JsonResponse;

const api::ResourceInfo& Res(std::string_view group, std::string_view resource) {
  for (const auto& r : api::ResourceRegistry::BuiltIn().all()) {
    if (r.group == group && r.resource == resource) return r;
  }
  std::abort();
}

std::string StatusBody(int code, std::string_view reason, std::string_view message) {
  return json::serialize(json::object{{"kind", "Status"},
                                      {"apiVersion", "v1"},
                                      {"status", "Failure"},
                                      {"code", code},
                                      {"reason", reason},
                                      {"message", message}});
}

class RestClientTest : public ::testing::Test {
 protected:
  RestClient& Client(RestConfig config = {}) {
    if (config.server.empty()) config.server = "http://test";
    client_ = std::make_unique<RestClient>(config, transport_, clock_);
    return *client_;
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::unique_ptr<RestClient> client_;
};

TEST_F(RestClientTest, PathsAndParametersOfEachVerb) {
  RestClient& c = Client();
  transport_->SetResponder([](const api::HttpRequest&) -> FakeReply {
    return JsonResponse(200, R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}})");
  });
  auto pods = c.Resource(Res("", "pods")).Namespace("ns 1");
  ASSERT_TRUE(pods.Get("p").ok());
  ListOptions lo;
  lo.label_selector = "app=web,tier in (a,b)";
  lo.field_selector = "spec.nodeName=n1";
  lo.limit = 10;
  lo.continue_token = "tok";
  ASSERT_TRUE(pods.List(lo).ok());
  api::Object pod{{"metadata", json::object{{"name", "p"}}}};
  WriteOptions wo;
  wo.dry_run = true;
  wo.field_manager = "me";
  ASSERT_TRUE(pods.Create(pod, wo).ok());
  ASSERT_TRUE(pods.Update(pod).ok());
  ASSERT_TRUE(pods.UpdateStatus(pod).ok());
  ASSERT_TRUE(pods.Patch("p", PatchType::kStrategicMerge, R"({"metadata":{"labels":{"a":"b"}}})").ok());
  DeleteOptions d;
  d.grace_period_seconds = 0;
  d.precondition_uid = "u1";
  ASSERT_TRUE(pods.Delete("p", d).ok());
  ASSERT_TRUE(pods.DeleteCollection({}, lo).ok());
  ASSERT_TRUE(pods.CreateSubresource("p", "binding", api::Object{{"target", json::object{}}}).ok());
  auto deployments = c.Resource(Res("apps", "deployments")).Namespace("default");
  ASSERT_TRUE(deployments.GetSubresource("d", "scale").ok());
  auto nodes = c.Resource(Res("", "nodes"));
  ASSERT_TRUE(nodes.Get("n1").ok());

  auto reqs = transport_->requests();
  ASSERT_EQ(reqs.size(), 11u);
  auto line = [&](size_t i) { return reqs[i].method + " " + reqs[i].target; };
  EXPECT_EQ(line(0), "GET /api/v1/namespaces/ns%201/pods/p");
  EXPECT_EQ(line(1),
            "GET /api/v1/namespaces/ns%201/pods?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29"
            "&fieldSelector=spec.nodeName%3Dn1&limit=10&continue=tok");
  EXPECT_EQ(line(2), "POST /api/v1/namespaces/ns%201/pods?dryRun=All&fieldManager=me");
  EXPECT_EQ(line(3), "PUT /api/v1/namespaces/ns%201/pods/p");
  EXPECT_EQ(line(4), "PUT /api/v1/namespaces/ns%201/pods/p/status");
  EXPECT_EQ(line(5), "PATCH /api/v1/namespaces/ns%201/pods/p");
  EXPECT_EQ(reqs[5].Header("content-type"), "application/strategic-merge-patch+json");
  EXPECT_EQ(line(6), "DELETE /api/v1/namespaces/ns%201/pods/p");
  auto del = json::parse(reqs[6].body).as_object();
  EXPECT_EQ(del.at("gracePeriodSeconds").as_int64(), 0);
  EXPECT_EQ(del.at("preconditions").at("uid").as_string(), "u1");
  EXPECT_TRUE(line(7).starts_with("DELETE /api/v1/namespaces/ns%201/pods?labelSelector="));
  EXPECT_EQ(line(8), "POST /api/v1/namespaces/ns%201/pods/p/binding");
  EXPECT_EQ(line(9), "GET /apis/apps/v1/namespaces/default/deployments/d/scale");
  EXPECT_EQ(line(10), "GET /api/v1/nodes/n1");
  // A create without apiVersion and kind gets them from the resource.
  auto created = json::parse(reqs[2].body).as_object();
  EXPECT_EQ(created.at("kind").as_string(), "Pod");
  EXPECT_EQ(created.at("apiVersion").as_string(), "v1");
  EXPECT_EQ(reqs[0].Header("accept"), "application/json");
  EXPECT_EQ(reqs[0].Header("user-agent"), "keelson");
}

TEST_F(RestClientTest, BearerTokenIsSentFromConfigOrFile) {
  RestConfig cfg;
  cfg.bearer_token = "abc";
  RestClient& c = Client(cfg);
  transport_->Enqueue(JsonResponse(200, "{}"));
  ASSERT_TRUE(c.Resource(Res("", "nodes")).Get("n").ok());
  EXPECT_EQ(transport_->requests()[0].Header("authorization"), "Bearer abc");
}

TEST_F(RestClientTest, TokenFileIsReadAgainEveryMinute) {
  std::string path = ::testing::TempDir() + "/keelson-client-token";
  std::ofstream(path) << "first\n";
  RestConfig cfg;
  cfg.bearer_token_file = path;
  RestClient& c = Client(cfg);
  transport_->SetResponder([](const api::HttpRequest&) -> FakeReply {
    return JsonResponse(200, "{}");
  });
  auto nodes = c.Resource(Res("", "nodes"));
  ASSERT_TRUE(nodes.Get("n").ok());
  std::ofstream(path) << "rotated\n";
  ASSERT_TRUE(nodes.Get("n").ok());
  clock_->Advance(1min);
  ASSERT_TRUE(nodes.Get("n").ok());
  auto reqs = transport_->requests();
  EXPECT_EQ(reqs[0].Header("authorization"), "Bearer first");
  EXPECT_EQ(reqs[1].Header("authorization"), "Bearer first");
  EXPECT_EQ(reqs[2].Header("authorization"), "Bearer rotated");
  std::remove(path.c_str());
}

TEST_F(RestClientTest, ErrorAnswersAreTypedApiErrors) {
  RestClient& c = Client();
  transport_->Enqueue(JsonResponse(404, StatusBody(404, "NotFound", "pods \"x\" not found")));
  transport_->Enqueue(JsonResponse(409, StatusBody(409, "Conflict", "the object has been modified")));
  transport_->Enqueue(JsonResponse(409, StatusBody(409, "AlreadyExists", "exists")));
  transport_->Enqueue(JsonResponse(400, "not json at all"));
  auto pods = c.Resource(Res("", "pods")).Namespace("default");
  auto r1 = pods.Get("x");
  ASSERT_FALSE(r1.ok());
  EXPECT_TRUE(api::IsNotFound(r1.error()));
  EXPECT_EQ(r1.error().message, "pods \"x\" not found");
  auto r2 = pods.Update(api::Object{{"metadata", json::object{{"name", "x"}}}});
  EXPECT_TRUE(api::IsConflict(r2.error()));
  auto r3 = pods.Create(api::Object{});
  EXPECT_TRUE(api::IsAlreadyExists(r3.error()));
  auto r4 = pods.Get("x");
  EXPECT_EQ(r4.error().code, 400);
  EXPECT_FALSE(IsConnectionFailure(r4.error()));
}

TEST_F(RestClientTest, RetriesTooManyRequestsAfterRetryAfter) {
  RestClient& c = Client();
  auto busy = JsonResponse(429, StatusBody(429, "TooManyRequests", "slow down"));
  busy.headers.emplace_back("retry-after", "3");
  transport_->Enqueue(busy);
  transport_->Enqueue(JsonResponse(200, R"({"kind":"Node"})"));
  api::ApiResult<api::Object> result = api::NewInternalError("unset");
  std::thread t([&] { result = c.Resource(Res("", "nodes")).Get("n"); });
  ASSERT_TRUE(transport_->WaitRequests(1));
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  clock_->Advance(2999ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(transport_->request_count(), 1u);
  clock_->Advance(1ms);
  t.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(transport_->request_count(), 2u);
}

TEST_F(RestClientTest, RetriesUnavailableWithBackoffThenGivesUp) {
  RestConfig cfg;
  cfg.retry.max_retries = 3;
  cfg.retry.initial_backoff = 100ms;
  cfg.retry.max_backoff = 1s;
  RestClient& c = Client(cfg);
  transport_->SetResponder([](const api::HttpRequest&) -> FakeReply {
    return JsonResponse(503, StatusBody(503, "ServiceUnavailable", "not ready"));
  });
  api::ApiResult<api::Object> result = api::NewInternalError("unset");
  std::thread t([&] { result = c.Resource(Res("", "nodes")).Get("n"); });
  // Waits of 100, 200, 400 ms (plus up to half again of jitter).
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(transport_->WaitRequests(i + 1));
    ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
    clock_->Advance(std::chrono::milliseconds(150 << i));
  }
  t.join();
  EXPECT_EQ(transport_->request_count(), 4u);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(api::IsServiceUnavailable(result.error()));
  EXPECT_FALSE(IsConnectionFailure(result.error()));
}

TEST_F(RestClientTest, InternalErrorWithoutRetryAfterIsNotRetried) {
  RestClient& c = Client();
  transport_->Enqueue(JsonResponse(500, StatusBody(500, "InternalError", "boom")));
  auto r = c.Resource(Res("", "nodes")).Get("n");
  EXPECT_TRUE(api::IsInternalError(r.error()));
  EXPECT_EQ(transport_->request_count(), 1u);
}

TEST_F(RestClientTest, ConnectionFailures) {
  RestClient& c = Client();
  auto nodes = c.Resource(Res("", "nodes"));
  // Not sent at all: retried whatever the verb.
  transport_->Enqueue(UnavailableError("connection refused"));
  transport_->Enqueue(JsonResponse(201, R"({"kind":"Node"})"));
  api::ApiResult<api::Object> created = api::NewInternalError("unset");
  std::thread t([&] { created = nodes.Create(api::Object{}); });
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  clock_->Advance(1s);
  t.join();
  EXPECT_TRUE(created.ok());
  EXPECT_EQ(transport_->request_count(), 2u);

  // Broken after sending: a POST is not sent twice...
  transport_->Enqueue(InternalError("connection reset by peer"));
  auto again = nodes.Create(api::Object{});
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(IsConnectionFailure(again.error()));
  EXPECT_EQ(again.error().code, 503);
  EXPECT_NE(again.error().message.find("connection reset by peer"), std::string::npos);
  EXPECT_EQ(transport_->request_count(), 3u);

  // ...a GET is.
  transport_->Enqueue(InternalError("connection reset by peer"));
  transport_->Enqueue(JsonResponse(200, R"({"kind":"Node"})"));
  api::ApiResult<api::Object> got = api::NewInternalError("unset");
  std::thread t2([&] { got = nodes.Get("n"); });
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  clock_->Advance(1s);
  t2.join();
  EXPECT_TRUE(got.ok());
}

TEST_F(RestClientTest, StopTokenCancelsRetries) {
  RestClient& c = Client();
  transport_->SetResponder([](const api::HttpRequest&) -> FakeReply {
    return UnavailableError("connection refused");
  });
  std::stop_source stop;
  api::ApiResult<api::Object> r = api::NewInternalError("unset");
  std::thread t([&] { r = c.Resource(Res("", "nodes")).WithStop(stop.get_token()).Get("n"); });
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  stop.request_stop();
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsCancelled(r.error()));
}

TEST_F(RestClientTest, ClientSideRateLimit) {
  RestConfig cfg;
  cfg.qps = 2;
  cfg.burst = 2;
  RestClient& c = Client(cfg);
  transport_->SetResponder([](const api::HttpRequest&) -> FakeReply {
    return JsonResponse(200, R"({"kind":"Node"})");
  });
  auto nodes = c.Resource(Res("", "nodes"));
  ASSERT_TRUE(nodes.Get("a").ok());
  ASSERT_TRUE(nodes.Get("b").ok());
  std::atomic<bool> done{false};
  std::thread t([&] {
    EXPECT_TRUE(nodes.Get("c").ok());
    done = true;
  });
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  EXPECT_EQ(transport_->request_count(), 2u);
  clock_->Advance(500ms);
  t.join();
  EXPECT_EQ(transport_->request_count(), 3u);
}

TEST_F(RestClientTest, ListItemsGetApiVersionAndKind) {
  RestClient& c = Client();
  transport_->Enqueue(JsonResponse(
      200, R"({"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"7"},
              "items":[{"metadata":{"name":"a"}}]})"));
  auto list = c.Resource(Res("apps", "deployments")).List();
  ASSERT_TRUE(list.ok());
  const auto& item = list->at("items").as_array()[0].as_object();
  EXPECT_EQ(item.at("kind").as_string(), "Deployment");
  EXPECT_EQ(item.at("apiVersion").as_string(), "apps/v1");
}

TEST_F(RestClientTest, ProtobufAnswersAndBodies) {
  RestConfig cfg;
  cfg.content_type = ContentType::kProtobuf;
  RestClient& c = Client(cfg);
  api::Object cm{{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", json::object{{"name", "c"}, {"namespace", "default"}}},
                 {"data", json::object{{"k", "v"}}}};
  auto pb = api::EncodeKubernetesProtobuf(cm);
  ASSERT_TRUE(pb.ok());
  api::HttpResponse resp;
  resp.status = 201;
  resp.content_type = std::string(api::kProtobufContentType);
  resp.body = *pb;
  transport_->Enqueue(resp);
  auto created = c.Resource(Res("", "configmaps")).Namespace("default").Create(cm);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->at("data").at("k").as_string(), "v");
  auto req = transport_->requests()[0];
  EXPECT_EQ(req.Header("content-type"), api::kProtobufContentType);
  EXPECT_EQ(req.Header("accept"), "application/vnd.kubernetes.protobuf, application/json");
  auto decoded = api::DecodeKubernetesProtobuf(req.body);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(api::GetName(*decoded), "c");
}

TEST_F(RestClientTest, WatchJsonEventsBookmarksAndErrors) {
  RestClient& c = Client();
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(stream);
  ListOptions o;
  o.resource_version = "5";
  o.allow_watch_bookmarks = true;
  o.timeout_seconds = 300;
  auto w = c.Resource(Res("", "configmaps")).Namespace("default").Watch(o);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(transport_->requests()[0].target,
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=5&timeoutSeconds=300"
            "&allowWatchBookmarks=true");
  // Events may arrive split anywhere.
  std::string ev = R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"6"}}})";
  stream->Push(ev.substr(0, 20));
  stream->Push(ev.substr(20) + "\n" +
               R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"9"}}})" +
               "\n");
  auto e1 = (*w)->Next();
  ASSERT_TRUE(e1.ok() && e1->has_value());
  EXPECT_EQ((*e1)->type, WatchEventType::kAdded);
  EXPECT_EQ(api::GetName(*(*e1)->object), "a");
  EXPECT_EQ(api::GetKind(*(*e1)->object), "ConfigMap");  // filled in
  auto e2 = (*w)->Next();
  ASSERT_TRUE(e2.ok() && e2->has_value());
  EXPECT_EQ((*e2)->type, WatchEventType::kBookmark);
  EXPECT_EQ(api::GetResourceVersion(*(*e2)->object), "9");
  stream->PushEvent("ERROR", StatusBody(410, "Expired", "too old resource version: 5 (9)"));
  auto e3 = (*w)->Next();
  ASSERT_FALSE(e3.ok());
  EXPECT_TRUE(api::IsGone(e3.error()));
  // Finished after an error.
  auto e4 = (*w)->Next();
  EXPECT_TRUE(e4.ok() && !e4->has_value());
}

TEST_F(RestClientTest, WatchEndsCleanlyOrBreaks) {
  RestClient& c = Client();
  auto s1 = std::make_shared<FakeStream>();
  auto s2 = std::make_shared<FakeStream>();
  transport_->Enqueue(s1);
  transport_->Enqueue(s2);
  auto cms = c.Resource(Res("", "configmaps"));
  auto w1 = cms.Watch({});
  ASSERT_TRUE(w1.ok());
  s1->End();
  auto end = (*w1)->Next();
  EXPECT_TRUE(end.ok() && !end->has_value());
  auto w2 = cms.Watch({});
  ASSERT_TRUE(w2.ok());
  s2->Break();
  auto broken = (*w2)->Next();
  ASSERT_FALSE(broken.ok());
  EXPECT_TRUE(IsConnectionFailure(broken.error()));
}

TEST_F(RestClientTest, WatchStopUnblocksNext) {
  RestClient& c = Client();
  auto s = std::make_shared<FakeStream>();
  transport_->Enqueue(s);
  auto w = c.Resource(Res("", "configmaps")).Watch({});
  ASSERT_TRUE(w.ok());
  std::thread t([&] {
    auto r = (*w)->Next();
    EXPECT_TRUE(r.ok() && !r->has_value());
  });
  std::this_thread::sleep_for(20ms);
  (*w)->Stop();
  t.join();
  EXPECT_TRUE(s->closed());
}

TEST_F(RestClientTest, WatchRefusedAtStartIsItsError) {
  RestClient& c = Client();
  transport_->Enqueue(JsonResponse(410, StatusBody(410, "Expired", "too old resource version")));
  auto w = c.Resource(Res("", "configmaps")).Watch({});
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(api::IsGone(w.error()));
}

TEST_F(RestClientTest, WatchProtobufFrames) {
  RestConfig cfg;
  cfg.content_type = ContentType::kProtobuf;
  RestClient& c = Client(cfg);
  auto s = std::make_shared<FakeStream>(200, std::string(api::kProtobufWatchContentType));
  transport_->Enqueue(s);
  auto w = c.Resource(Res("", "configmaps")).Namespace("default").Watch({});
  ASSERT_TRUE(w.ok());
  api::Object cm{{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", json::object{{"name", "c"}, {"namespace", "default"},
                                           {"resourceVersion", "12"}}}};
  auto frame = api::EncodeWatchEventProtobuf("MODIFIED", cm);
  ASSERT_TRUE(frame.ok());
  // Split across reads.
  s->Push(frame->substr(0, 3));
  s->Push(frame->substr(3));
  auto e = (*w)->Next();
  ASSERT_TRUE(e.ok() && e->has_value()) << (e.ok() ? "" : e.error().message);
  EXPECT_EQ((*e)->type, WatchEventType::kModified);
  EXPECT_EQ(api::GetName(*(*e)->object), "c");
  EXPECT_EQ(api::GetResourceVersion(*(*e)->object), "12");
}

TEST(TimeFormatTest, MicroTimeRoundTrip) {
  auto t = Clock::WallTime(std::chrono::seconds(1767225600)) + 123456789ns;
  EXPECT_EQ(FormatMicroTime(t), "2026-01-01T00:00:00.123456Z");
  auto back = ParseTime("2026-01-01T00:00:00.123456Z");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, TruncateToMicros(t));
  EXPECT_EQ(ParseTime("2026-01-01T01:00:00+01:00"), Clock::WallTime(std::chrono::seconds(1767225600)));
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  EXPECT_FALSE(ParseTime("2026-01-01T00:00:00").has_value());
}

}  // namespace
}  // namespace keelson::client
