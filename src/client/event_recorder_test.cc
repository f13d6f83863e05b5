// The event recorder against a scripted transport on a fake clock: the events.k8s.io/v1 Event
// it writes, aggregation of repeats into a series (count 2 patched at once, later counts
// written every 30 minutes and when the series ends after 6 quiet minutes), a series whose
// event is gone written again, distinct events kept apart.
#include "client/event_recorder.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "client/testing/fake_transport.h"

namespace keelson::client {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::FakeReply;
using testing::FakeTransport;
using testing::JsonResponse;

api::Object Pod(std::string_view name) {
  return api::Object{{"apiVersion", "v1"},
                     {"kind", "Pod"},
                     {"metadata", json::object{{"name", name}, {"namespace", "web"},
                                               {"uid", "uid-1"}, {"resourceVersion", "7"}}}};
}

class EventRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    transport_->SetResponder([this](const api::HttpRequest& r) -> FakeReply {
      if (r.method == "PATCH" && patch_not_found_) {
        return JsonResponse(404, R"({"kind":"Status","code":404,"reason":"NotFound"})");
      }
      return JsonResponse(r.method == "POST" ? 201 : 200, r.method == "POST" ? r.body : "{}");
    });
    RestConfig c;
    c.server = "http://test";
    client_ = std::make_unique<RestClient>(c, transport_, clock_);
    EventRecorderOptions o;
    o.reporting_controller = "default-scheduler";
    o.reporting_instance = "default-scheduler-host1";
    o.clock = clock_;
    recorder_ = std::make_unique<EventRecorder>(client_.get(), o);
  }
  void TearDown() override { recorder_->Shutdown(); }

  // The requests since the last call, as "METHOD path".
  std::vector<std::string> Writes() {
    recorder_->Flush();
    auto all = transport_->requests();
    std::vector<std::string> out;
    for (size_t i = seen_; i < all.size(); ++i) out.push_back(all[i].method + " " + all[i].target);
    seen_ = all.size();
    return out;
  }
  json::object Body(size_t i) { return json::parse(transport_->requests().at(i).body).as_object(); }
  void Scheduled() {
    recorder_->Event(Pod("p1"), kEventTypeNormal, "Scheduled", "Binding",
                     "Successfully assigned web/p1 to node1");
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  std::unique_ptr<RestClient> client_;
  std::unique_ptr<EventRecorder> recorder_;
  size_t seen_ = 0;
  std::atomic<bool> patch_not_found_{false};
};

TEST_F(EventRecorderTest, WritesAnEventsV1Event) {
  Scheduled();
  ASSERT_EQ(Writes(), (std::vector<std::string>{"POST /apis/events.k8s.io/v1/namespaces/web/events"}));
  json::object e = Body(0);
  EXPECT_EQ(e.at("apiVersion").as_string(), "events.k8s.io/v1");
  EXPECT_EQ(e.at("kind").as_string(), "Event");
  // "<name>.<hex nanoseconds of the event time>"
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", 1767225600000000000ULL);
  EXPECT_EQ(api::GetName(e), std::string("p1.") + hex);
  EXPECT_EQ(api::GetNamespace(e), "web");
  EXPECT_EQ(e.at("eventTime").as_string(), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(e.at("reportingController").as_string(), "default-scheduler");
  EXPECT_EQ(e.at("reportingInstance").as_string(), "default-scheduler-host1");
  EXPECT_EQ(e.at("action").as_string(), "Binding");
  EXPECT_EQ(e.at("reason").as_string(), "Scheduled");
  EXPECT_EQ(e.at("type").as_string(), "Normal");
  EXPECT_EQ(e.at("note").as_string(), "Successfully assigned web/p1 to node1");
  const auto& regarding = e.at("regarding").as_object();
  EXPECT_EQ(regarding.at("kind").as_string(), "Pod");
  EXPECT_EQ(regarding.at("name").as_string(), "p1");
  EXPECT_EQ(regarding.at("namespace").as_string(), "web");
  EXPECT_EQ(regarding.at("uid").as_string(), "uid-1");
  EXPECT_EQ(regarding.at("apiVersion").as_string(), "v1");
  EXPECT_FALSE(e.contains("series"));
}

TEST_F(EventRecorderTest, RepeatsBecomeASeries) {
  Scheduled();
  EXPECT_EQ(Writes().size(), 1u);
  std::string name(api::GetName(Body(0)));
  clock_->Advance(1s);
  Scheduled();  // the second: patched at once with count 2
  auto w = Writes();
  ASSERT_EQ(w, (std::vector<std::string>{"PATCH /apis/events.k8s.io/v1/namespaces/web/events/" + name}));
  json::object patch = Body(1);
  EXPECT_EQ(patch.at("series").at("count").as_int64(), 2);
  EXPECT_EQ(patch.at("series").at("lastObservedTime").as_string(), "2026-01-01T00:00:01.000000Z");
  EXPECT_EQ(transport_->requests()[1].Header("content-type"),
            "application/strategic-merge-patch+json");
  clock_->Advance(1s);
  Scheduled();
  Scheduled();  // counted, not written
  EXPECT_TRUE(Writes().empty());
  // Six minutes later the series is still live (the pass looks for 6 quiet minutes)...
  clock_->Advance(6min);
  EXPECT_TRUE(Writes().empty());
  // ...six more and it ends: its final count is written.
  clock_->Advance(6min);
  w = Writes();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(Body(2).at("series").at("count").as_int64(), 4);
  EXPECT_EQ(Body(2).at("series").at("lastObservedTime").as_string(), "2026-01-01T00:00:02.000000Z");
  // The next one starts a new event.
  Scheduled();
  w = Writes();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(w[0].starts_with("POST "));
  EXPECT_NE(api::GetName(Body(3)), name);
}

TEST_F(EventRecorderTest, LongSeriesAreRefreshedEveryThirtyMinutes) {
  Scheduled();
  Scheduled();
  EXPECT_EQ(Writes().size(), 2u);
  // A repeat every 5 minutes keeps the series live; at 30 minutes its count is written.
  for (int i = 1; i <= 6; ++i) {
    clock_->Advance(5min);
    auto w = Writes();
    if (i < 6) {
      EXPECT_TRUE(w.empty()) << i;
    } else {
      ASSERT_EQ(w.size(), 1u);
      EXPECT_TRUE(w[0].starts_with("PATCH "));
    }
    Scheduled();
  }
  EXPECT_EQ(Body(2).at("series").at("count").as_int64(), 7);  // 2 + five repeats
  EXPECT_TRUE(Writes().empty());
}

TEST_F(EventRecorderTest, SeriesOfAVanishedEventIsCreatedAgain) {
  Scheduled();
  Writes();
  patch_not_found_ = true;
  Scheduled();
  auto w = Writes();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_TRUE(w[0].starts_with("PATCH "));
  EXPECT_TRUE(w[1].starts_with("POST "));
  json::object e = Body(2);
  EXPECT_EQ(e.at("series").at("count").as_int64(), 2);
  EXPECT_EQ(e.at("reason").as_string(), "Scheduled");
}

TEST_F(EventRecorderTest, DistinctEventsAreKeptApart) {
  Scheduled();
  recorder_->Event(Pod("p1"), kEventTypeWarning, "FailedScheduling", "Scheduling", "0/3 nodes");
  recorder_->Event(Pod("p2"), kEventTypeNormal, "Scheduled", "Binding", "to node2");
  recorder_->Event(Pod("p1"), "Bogus", "X", "Y", "dropped: not Normal or Warning");
  auto w = Writes();
  ASSERT_EQ(w.size(), 3u);
  for (const auto& line : w) EXPECT_TRUE(line.starts_with("POST ")) << line;
  // Same instant: the names still differ.
  EXPECT_NE(api::GetName(Body(0)), api::GetName(Body(1)));
}

TEST_F(EventRecorderTest, ClusterScopedObjectsGetEventsInDefault) {
  api::Object node{{"apiVersion", "v1"}, {"kind", "Node"},
                   {"metadata", json::object{{"name", "node1"}}}};
  recorder_->Event(node, kEventTypeNormal, "NodeReady", "StatusChange", "ready");
  auto w = Writes();
  ASSERT_EQ(w, (std::vector<std::string>{"POST /apis/events.k8s.io/v1/namespaces/default/events"}));
}

}  // namespace
}  // namespace keelson::client
