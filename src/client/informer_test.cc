// Shared informers against a scripted transport: handlers see adds (initial list and later),
// updates and deletes in order; a re-list after 410 reports vanished objects as deletes with
// final state unknown; a handler added later gets the cache as adds; resync on a fake clock;
// removed handlers hear nothing more; the factory shares one informer per resource.
#include "client/informer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <thread>

#include "client/testing/fake_transport.h"

namespace keelson::client {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::FakeStream;
using testing::FakeTransport;
using testing::JsonResponse;

std::string Cm(std::string_view name, int rv) {
  return json::serialize(json::object{
      {"kind", "ConfigMap"},
      {"apiVersion", "v1"},
      {"metadata", json::object{{"name", name}, {"namespace", "default"},
                                {"resourceVersion", std::to_string(rv)}}}});
}

std::string List(std::vector<std::string> items, int rv) {
  std::string s = R"({"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":")" +
                  std::to_string(rv) + "\"},\"items\":[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s + "]}";
}

std::string Gone() {
  return R"x({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old"})x";
}

// Records the calls of one handler as text: "add a@3 initial", "update a@3->a@5",
// "delete b@4 unknown".
class Recorder {
 public:
  ResourceEventHandler Handler() {
    ResourceEventHandler h;
    h.on_add = [this](const ObjectPtr& o, bool initial) {
      Record("add " + Id(o) + (initial ? " initial" : ""));
    };
    h.on_update = [this](const ObjectPtr& old_obj, const ObjectPtr& new_obj) {
      Record("update " + Id(old_obj) + "->" + Id(new_obj));
    };
    h.on_delete = [this](const ObjectPtr& o, bool unknown) {
      Record("delete " + Id(o) + (unknown ? " unknown" : ""));
    };
    return h;
  }
  std::vector<std::string> Wait(size_t n) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, 5s, [&] { return calls_.size() >= n; });
    return calls_;
  }
  size_t size() {
    std::lock_guard l(mu_);
    return calls_.size();
  }

 private:
  static std::string Id(const ObjectPtr& o) {
    return std::string(api::GetName(*o)) + "@" + std::string(api::GetResourceVersion(*o));
  }
  void Record(std::string s) {
    std::lock_guard l(mu_);
    calls_.push_back(std::move(s));
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
};

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RestConfig c;
    c.server = "http://test";
    client_ = std::make_unique<RestClient>(c, transport_, clock_);
    SharedInformerFactoryOptions o;
    o.namespace_name = "default";
    factory_ = std::make_unique<SharedInformerFactory>(client_.get(), std::move(o));
    informer_ = factory_->InformerFor("", "configmaps").value();
  }
  void TearDown() override { factory_->Shutdown(); }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::unique_ptr<RestClient> client_;
  std::unique_ptr<SharedInformerFactory> factory_;
  SharedInformer* informer_ = nullptr;
};

TEST_F(InformerTest, FactorySharesOneInformerPerResource) {
  EXPECT_EQ(factory_->InformerFor("", "configmaps").value(), informer_);
  EXPECT_NE(factory_->InformerFor("", "secrets").value(), informer_);
  EXPECT_FALSE(factory_->InformerFor("", "nosuchthings").ok());
}

TEST_F(InformerTest, HandlersSeeTheListThenEveryChangeInOrder) {
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3), Cm("b", 4)}, 10)));
  transport_->Enqueue(stream);
  Recorder rec;
  informer_->AddEventHandler(rec.Handler());
  factory_->Start();
  ASSERT_TRUE(factory_->WaitForCacheSync(10s));
  EXPECT_TRUE(informer_->HasSynced());
  EXPECT_EQ(rec.Wait(2), (std::vector<std::string>{"add a@3 initial", "add b@4 initial"}));

  ASSERT_TRUE(transport_->WaitRequests(2));
  stream->PushEvent("ADDED", Cm("c", 11));
  stream->PushEvent("MODIFIED", Cm("a", 12));
  stream->PushEvent("DELETED", Cm("b", 13));
  EXPECT_EQ(rec.Wait(5), (std::vector<std::string>{"add a@3 initial", "add b@4 initial",
                                                  "add c@11", "update a@3->a@12",
                                                  "delete b@13"}));
  // The cache holds the change when the handler runs.
  auto lister = informer_->lister();
  EXPECT_EQ(api::GetResourceVersion(*lister.Get("default", "a")), "12");
  EXPECT_EQ(lister.Get("default", "b"), nullptr);
  EXPECT_EQ(informer_->indexer().Size(), 2u);
}

TEST_F(InformerTest, RelistReportsVanishedObjectsAsDeletesWithUnknownFinalState) {
  auto s1 = std::make_shared<FakeStream>();
  auto s2 = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3), Cm("b", 4), Cm("c", 5)}, 10)));
  transport_->Enqueue(s1);
  // After the 410: b is unchanged, a changed, c is gone, d is new.
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 20), Cm("b", 4), Cm("d", 21)}, 30)));
  transport_->Enqueue(s2);
  Recorder rec;
  informer_->AddEventHandler(rec.Handler());
  factory_->Start();
  rec.Wait(3);
  ASSERT_TRUE(transport_->WaitRequests(2));
  s1->PushEvent("ERROR", Gone());
  auto calls = rec.Wait(6);
  ASSERT_EQ(calls.size(), 6u);
  std::vector<std::string> after(calls.begin() + 3, calls.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, (std::vector<std::string>{"add d@21", "delete c@5 unknown", "update a@3->a@20"}));
  EXPECT_EQ(informer_->indexer().ListKeys(),
            (std::vector<std::string>{"default/a", "default/b", "default/d"}));
  for (int i = 0; i < 500 && informer_->LastSyncResourceVersion() != "30"; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(informer_->LastSyncResourceVersion(), "30");
}

TEST_F(InformerTest, LateHandlerGetsTheCacheAsAdds) {
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3)}, 10)));
  transport_->Enqueue(stream);
  factory_->Start();
  ASSERT_TRUE(factory_->WaitForCacheSync(10s));
  Recorder late;
  informer_->AddEventHandler(late.Handler());
  EXPECT_EQ(late.Wait(1), (std::vector<std::string>{"add a@3 initial"}));
  ASSERT_TRUE(transport_->WaitRequests(2));
  stream->PushEvent("ADDED", Cm("b", 11));
  EXPECT_EQ(late.Wait(2).back(), "add b@11");
}

TEST_F(InformerTest, ResyncRedeliversTheCacheEveryPeriod) {
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({Cm("a", 3), Cm("b", 4)}, 10)));
  transport_->Enqueue(stream);
  Recorder rec, quiet;
  informer_->AddEventHandler(rec.Handler(), 30s);
  informer_->AddEventHandler(quiet.Handler());
  factory_->Start();
  ASSERT_TRUE(factory_->WaitForCacheSync(10s));
  rec.Wait(2);
  clock_->Advance(30s);
  auto calls = rec.Wait(4);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[2], "update a@3->a@3");
  EXPECT_EQ(calls[3], "update b@4->b@4");
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(quiet.size(), 2u);  // no resync asked for
}

TEST_F(InformerTest, RemovedHandlerHearsNothingMore) {
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(200, List({}, 10)));
  transport_->Enqueue(stream);
  Recorder kept, removed;
  informer_->AddEventHandler(kept.Handler());
  HandlerId id = informer_->AddEventHandler(removed.Handler());
  factory_->Start();
  ASSERT_TRUE(factory_->WaitForCacheSync(10s));
  informer_->RemoveEventHandler(id);
  ASSERT_TRUE(transport_->WaitRequests(2));
  stream->PushEvent("ADDED", Cm("a", 11));
  kept.Wait(1);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(removed.size(), 0u);
}

TEST_F(InformerTest, IndexesOnTheInformersCache) {
  auto stream = std::make_shared<FakeStream>();
  transport_->Enqueue(JsonResponse(
      200, List({R"({"metadata":{"name":"a","namespace":"default","labels":{"app":"x"}}})",
                 R"({"metadata":{"name":"b","namespace":"default","labels":{"app":"y"}}})"},
                10)));
  transport_->Enqueue(stream);
  ASSERT_TRUE(informer_->AddIndex("app", LabelIndexFunc("app")).ok());
  factory_->Start();
  ASSERT_TRUE(factory_->WaitForCacheSync(10s));
  auto x = informer_->indexer().ByIndex("app", "x");
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x->size(), 1u);
  EXPECT_EQ(api::GetName(*(*x)[0]), "a");
  EXPECT_EQ(api::GetKind(*(*x)[0]), "ConfigMap");  // list items get their kind
}

TEST_F(InformerTest, WaitForCacheSyncTimesOutOnTheClock) {
  // No answer to the list: the informer never syncs.
  transport_->SetResponder([](const api::HttpRequest&) -> testing::FakeReply {
    return UnavailableError("connection refused");
  });
  factory_->Start();
  std::atomic<bool> result{true};
  std::thread t([&] { result = factory_->WaitForCacheSync(10s); });
  // Time passes for the waiter (and the reflector's retries) until the deadline.
  for (int i = 0; i < 100 && result.load(); ++i) {
    clock_->Advance(1s);
    std::this_thread::sleep_for(2ms);
  }
  t.join();
  EXPECT_FALSE(result.load());
}

}  // namespace
}  // namespace keelson::client
