// The reflector against a scripted transport: list then watch from the list's
// resourceVersion, events and bookmarks moving it on, re-watch after the stream ends or
// breaks, re-list after 410 (as an ERROR event or as the watch's answer), paged lists and an
// expired continue token, backoff after failures on a fake clock.
#include "client/reflector.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <thread>

#include "client/testing/fake_transport.h"

namespace keelson::client {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::FakeReply;
using testing::FakeStream;
using testing::FakeTransport;
using testing::JsonResponse;

const api::ResourceInfo& ConfigMaps() {
  for (const auto& r : api::ResourceRegistry::BuiltIn().all()) {
    if (r.group.empty() && r.resource == "configmaps") return r;
  }
  std::abort();
}

std::string Cm(std::string_view name, int rv) {
  return json::serialize(json::object{
      {"kind", "ConfigMap"},
      {"apiVersion", "v1"},
      {"metadata", json::object{{"name", name}, {"namespace", "default"},
                                {"resourceVersion", std::to_string(rv)}}}});
}

std::string List(std::vector<std::string> items, int rv, std::string cont = "") {
  std::string s = R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":")" +
                  std::to_string(rv) + "\"";
  if (!cont.empty()) s += ",\"continue\":\"" + cont + "\"";
  s += "},\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s + "]}";
}

std::string Bookmark(int rv) {
  return R"({"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":")" +
         std::to_string(rv) + "\"}}";
}

std::string GoneStatus() {
  return R"x({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired",)x"
         R"x("code":410,"message":"too old resource version: 1 (50)"})x";
}

// Records what the reflector tells it.
class RecordingStore final : public ReflectorStore {
 public:
  void Replace(std::vector<ObjectPtr> objects, const std::string& rv) override {
    std::lock_guard l(mu_);
    std::string line = "replace@" + rv + ":";
    for (const auto& o : objects) line += " " + std::string(api::GetName(*o));
    log_.push_back(line);
    cv_.notify_all();
  }
  void Apply(WatchEventType type, ObjectPtr object) override {
    static constexpr const char* kNames[] = {"added", "modified", "deleted", "bookmark"};
    std::lock_guard l(mu_);
    log_.push_back(std::string(kNames[static_cast<int>(type)]) + " " +
                   std::string(api::GetName(*object)) + "@" +
                   std::string(api::GetResourceVersion(*object)));
    cv_.notify_all();
  }
  // Waits until `n` entries were recorded.
  std::vector<std::string> Wait(size_t n) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, 5s, [&] { return log_.size() >= n; });
    return log_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_;
};

// Polls `pred` for up to 5 s of real time.
template <typename F>
bool Eventually(F pred) {
  for (int i = 0; i < 500; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

RestConfig TestConfig() {
  RestConfig c;
  c.server = "http://test";
  return c;
}

struct Query {
  explicit Query(const api::HttpRequest& r) {
    auto q = r.target.find('?');
    path = r.target.substr(0, q);
    if (q != std::string::npos) params = api::ParseQuery(std::string_view(r.target).substr(q + 1));
  }
  std::string Get(std::string_view k) const {
    for (const auto& [key, v] : params) {
      if (key == k) return v;
    }
    return "";
  }
  bool watch() const { return Get("watch") == "true"; }
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;
};

class ReflectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = std::make_unique<RestClient>(TestConfig(), transport_, clock_);
  }
  void Start(ReflectorOptions o = {}) {
    reflector_ = std::make_unique<Reflector>(client_->Resource(ConfigMaps()).Namespace("default"),
                                             &store_, std::move(o));
    thread_ = std::thread([this] { reflector_->Run(); });
  }
  void TearDown() override {
    if (reflector_) reflector_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  Query Request(size_t i) { return Query(transport_->requests().at(i)); }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::unique_ptr<RestClient> client_;
  RecordingStore store_;
  std::unique_ptr<Reflector> reflector_;
  std::thread thread_;
};

TEST_F(ReflectorTest, ListsThenWatchesFromTheListsResourceVersion) {
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3), Cm("b", 5)}, 10)));
  transport_->Enqueue(stream);
  Start();
  ASSERT_TRUE(transport_->WaitRequests(2));
  Query list = Request(0);
  EXPECT_FALSE(list.watch());
  EXPECT_EQ(list.path, "/api/v1/namespaces/default/configmaps");
  EXPECT_EQ(list.Get("limit"), "500");
  EXPECT_EQ(list.Get("resourceVersion"), "");  // a consistent list
  Query watch = Request(1);
  EXPECT_TRUE(watch.watch());
  EXPECT_EQ(watch.Get("resourceVersion"), "10");
  EXPECT_EQ(watch.Get("allowWatchBookmarks"), "true");
  int64_t timeout = std::stoll(watch.Get("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LT(timeout, 600);

  stream->PushEvent("ADDED", Cm("c", 11));
  stream->PushEvent("MODIFIED", Cm("a", 12));
  stream->PushEvent("DELETED", Cm("b", 13));
  auto log = store_.Wait(4);
  EXPECT_EQ(log, (std::vector<std::string>{"replace@10: a b", "added c@11", "modified a@12",
                                          "deleted b@13"}));
  EXPECT_TRUE(Eventually([&] { return reflector_->LastSyncResourceVersion() == "13"; }));
}

TEST_F(ReflectorTest, BookmarksMoveTheResourceVersionAndTheNextWatchStartsThere) {
  auto s1 = std::make_shared<FakeStream>();
  auto s2 = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3)}, 10)));
  transport_->Enqueue(s1);
  transport_->Enqueue(s2);
  Start();
  ASSERT_TRUE(transport_->WaitRequests(2));
  s1->PushEvent("ADDED", Cm("b", 11));
  s1->PushEvent("BOOKMARK", Bookmark(40));
  store_.Wait(2);
  // The stream ends (its timeout): watch again from the bookmark, no list.
  s1->End();
  ASSERT_TRUE(transport_->WaitRequests(3));
  Query again = Request(2);
  EXPECT_TRUE(again.watch());
  EXPECT_EQ(again.Get("resourceVersion"), "40");
  EXPECT_EQ(reflector_->LastSyncResourceVersion(), "40");
  // A bookmark is not an object change.
  EXPECT_EQ(store_.Wait(2).size(), 2u);
}

TEST_F(ReflectorTest, ExpiredErrorEventRelists) {
  auto s1 = std::make_shared<FakeStream>();
  auto s2 = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3), Cm("b", 4)}, 10)));
  transport_->Enqueue(s1);
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 30)}, 50)));
  transport_->Enqueue(s2);
  Start();
  ASSERT_TRUE(transport_->WaitRequests(2));
  s1->PushEvent("ERROR", GoneStatus());
  ASSERT_TRUE(transport_->WaitRequests(4));
  EXPECT_FALSE(Request(2).watch());  // a list, at once (no backoff)
  EXPECT_EQ(Request(2).Get("resourceVersion"), "");
  EXPECT_EQ(Request(3).Get("resourceVersion"), "50");
  auto log = store_.Wait(2);
  EXPECT_EQ(log, (std::vector<std::string>{"replace@10: a b", "replace@50: a"}));
  EXPECT_TRUE(s1->WaitClosed());
}

TEST_F(ReflectorTest, ExpiredAnswerToTheWatchRelists) {
  auto s = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({}, 10)));
  transport_->Enqueue(JsonResponse(410, GoneStatus()));
  transport_->Enqueue(JsonResponse(200, List({Cm("z", 60)}, 60)));
  transport_->Enqueue(s);
  Start();
  ASSERT_TRUE(transport_->WaitRequests(4));
  EXPECT_FALSE(Request(2).watch());
  EXPECT_EQ(Request(3).Get("resourceVersion"), "60");
  EXPECT_EQ(store_.Wait(2), (std::vector<std::string>{"replace@10:", "replace@60: z"}));
}

TEST_F(ReflectorTest, BrokenConnectionResumesTheWatchWithoutListing) {
  auto s1 = std::make_shared<FakeStream>();
  auto s2 = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({}, 10)));
  transport_->Enqueue(s1);
  transport_->Enqueue(s2);
  Start();
  ASSERT_TRUE(transport_->WaitRequests(2));
  s1->PushEvent("ADDED", Cm("a", 11));
  s1->PushEvent("MODIFIED", Cm("a", 12));
  store_.Wait(3);
  s1->Break();
  ASSERT_TRUE(transport_->WaitRequests(3));
  EXPECT_TRUE(Request(2).watch());
  EXPECT_EQ(Request(2).Get("resourceVersion"), "12");
  s2->PushEvent("DELETED", Cm("a", 13));
  EXPECT_EQ(store_.Wait(4).back(), "deleted a@13");
}

TEST_F(ReflectorTest, UnreachableServerIsRetriedWithBackoff) {
  RestConfig cfg = TestConfig();
  cfg.retry.max_retries = 0;  // the reflector's own backoff only
  client_ = std::make_unique<RestClient>(cfg, transport_, clock_);
  auto s = std::make_shared<FakeStream>();
  transport_->Enqueue(UnavailableError("connection refused"));
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3)}, 10)));
  transport_->Enqueue(UnavailableError("connection refused"));
  transport_->Enqueue(s);
  ReflectorOptions o;
  o.initial_backoff = 1s;
  Start(o);
  ASSERT_TRUE(transport_->WaitRequests(1));
  // The failed list waits its backoff (1 s, up to 2 s with jitter) before listing again.
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  EXPECT_EQ(transport_->request_count(), 1u);
  clock_->Advance(2s);
  ASSERT_TRUE(transport_->WaitRequests(3));
  // The watch could not start: retried after a backoff, from the list's resourceVersion.
  ASSERT_TRUE(clock_->AwaitWaiters(1, 5000ms));
  clock_->Advance(2s);
  ASSERT_TRUE(transport_->WaitRequests(4));
  EXPECT_TRUE(Request(3).watch());
  EXPECT_EQ(Request(3).Get("resourceVersion"), "10");
}

TEST_F(ReflectorTest, PagedListAndExpiredContinueToken) {
  auto s = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 1), Cm("b", 2)}, 10, "page2")));
  transport_->Enqueue(JsonResponse(410, GoneStatus()));  // the token expired
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 1), Cm("b", 2), Cm("c", 12)}, 12)));
  transport_->Enqueue(s);
  ReflectorOptions o;
  o.page_size = 2;
  Start(o);
  ASSERT_TRUE(transport_->WaitRequests(4));
  EXPECT_EQ(Request(0).Get("limit"), "2");
  EXPECT_EQ(Request(1).Get("continue"), "page2");
  EXPECT_EQ(Request(2).Get("limit"), "");  // the whole list at once
  EXPECT_EQ(Request(2).Get("continue"), "");
  EXPECT_EQ(store_.Wait(1), (std::vector<std::string>{"replace@12: a b c"}));
  EXPECT_EQ(Request(3).Get("resourceVersion"), "12");
}

TEST_F(ReflectorTest, PagesAreJoined) {
  auto s = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 1)}, 10, "p2")));
  transport_->Enqueue(JsonResponse(200, List({Cm("b", 2)}, 10)));
  transport_->Enqueue(s);
  ReflectorOptions o;
  o.page_size = 1;
  Start(o);
  EXPECT_EQ(store_.Wait(1), (std::vector<std::string>{"replace@10: a b"}));
}

TEST_F(ReflectorTest, StopEndsTheWatch) {
  auto s = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({}, 10)));
  transport_->Enqueue(s);
  Start();
  ASSERT_TRUE(transport_->WaitRequests(2));
  reflector_->Stop();
  thread_.join();
  EXPECT_TRUE(s->closed());
}

}  // namespace
}  // namespace keelson::client
