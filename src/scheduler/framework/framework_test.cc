// The extension points the default plugins do not exercise — Reserve/Unreserve, Permit
// (wait, allow, reject, timeout), PreBind, PostBind — through the scheduler, with a test
// plugin registered beside the in-tree ones; and score weights.
#include "scheduler/framework/framework.h"

#include <gtest/gtest.h>

#include "scheduler/cache/cache.h"
#include "scheduler/plugins/registry.h"
#include "scheduler/queue/scheduling_queue.h"
#include "scheduler/scheduler.h"
#include "scheduler/testing/fakes.h"

namespace keelson::scheduler {
namespace {

using namespace std::chrono_literals;
using testing::FakeClient;
using testing::NodeBuilder;
using testing::PodBuilder;

// Records the points it is called at; its behaviour is set per test.
class Recorder final : public ReservePlugin, public PermitPlugin, public PreBindPlugin,
                       public PostBindPlugin, public FilterPlugin, public ScorePlugin {
 public:
  static constexpr std::string_view kName = "Recorder";
  std::string_view Name() const override { return kName; }

  PluginStatus Reserve(CycleState&, const PodInfo&, std::string_view) override {
    Log("Reserve");
    return reserve;
  }
  void Unreserve(CycleState&, const PodInfo&, std::string_view) override { Log("Unreserve"); }
  PluginStatus Permit(CycleState&, const PodInfo&, std::string_view,
                      std::chrono::milliseconds* timeout) override {
    Log("Permit");
    *timeout = permit_timeout;
    return permit;
  }
  PluginStatus PreBind(CycleState&, const PodInfo&, std::string_view) override {
    Log("PreBind");
    return pre_bind;
  }
  void PostBind(CycleState&, const PodInfo&, std::string_view) override { Log("PostBind"); }
  PluginStatus Filter(const CycleState&, const PodInfo&, const NodeInfo&) const override { return {}; }
  // Prefers the node named "favourite".
  int64_t Score(const CycleState&, const PodInfo&, const NodeInfo& node) const override {
    return node.Name() == "favourite" ? 100 : 0;
  }

  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> l(mu);
    return calls;
  }

  PluginStatus reserve, permit, pre_bind;
  std::chrono::milliseconds permit_timeout{0};

 private:
  void Log(std::string s) {
    std::lock_guard<std::mutex> l(mu);
    calls.push_back(std::move(s));
  }
  std::mutex mu;
  std::vector<std::string> calls;
};

class ExtensionPointsTest : public ::testing::Test {
 protected:
  void Start(std::string_view weights = "") {
    Registry registry = InTreeRegistry();
    registry["Recorder"] = {[this](const boost::json::object&, Handle*) -> Result<std::unique_ptr<Plugin>> {
                              auto p = std::make_unique<Recorder>();
                              rec_ = p.get();
                              configure_(*p);
                              return std::unique_ptr<Plugin>(std::move(p));
                            },
                            nullptr};
    auto config = LoadConfiguration(std::string(R"(
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: Recorder
)") + std::string(weights), registry);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    SchedulerOptions o;
    o.clock = clock_;
    o.api_threads = 2;
    o.parallelism = 1;
    auto s = Scheduler::Create(*config, &client_, o, registry);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sched_ = std::move(*s);
    sched_->OnEvent(ResourceKind::kNode, nullptr, NodeBuilder("plain").Obj());
    sched_->OnEvent(ResourceKind::kNode, nullptr, NodeBuilder("favourite").Obj());
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  FakeClient client_;
  std::unique_ptr<Scheduler> sched_;
  Recorder* rec_ = nullptr;
  std::function<void(Recorder&)> configure_ = [](Recorder&) {};
};

TEST_F(ExtensionPointsTest, TheBindingCycleRunsEveryPointInOrder) {
  Start();
  sched_->OnEvent(ResourceKind::kPod, nullptr, PodBuilder("p").Obj());
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  EXPECT_EQ(rec_->Calls(), (std::vector<std::string>{"Reserve", "Permit", "PreBind", "PostBind"}));
  ASSERT_EQ(client_.bindings.size(), 1u);
  EXPECT_EQ(client_.bindings[0].node, "favourite");  // the test plugin's score decides
}

TEST_F(ExtensionPointsTest, ScoreWeightsMultiply) {
  // NodeResourcesFit at weight 100 outweighs the Recorder's preference when "plain" is emptier.
  Start(R"(
      - name: NodeResourcesFit
        weight: 100
)");
  sched_->OnEvent(ResourceKind::kPod, nullptr, PodBuilder("busy").Req("3").Node("favourite").Obj());
  sched_->OnEvent(ResourceKind::kPod, nullptr, PodBuilder("p").Req("100m").Obj());
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  ASSERT_EQ(client_.bindings.size(), 1u);
  EXPECT_EQ(client_.bindings[0].node, "plain");
}

TEST_F(ExtensionPointsTest, AReserveFailureUnreservesAndRequeues) {
  configure_ = [](Recorder& r) { r.reserve = PluginStatus(Code::kUnschedulable, "no room in the ledger"); };
  Start();
  auto pod = PodBuilder("p").Obj();
  sched_->OnEvent(ResourceKind::kPod, nullptr, pod);
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  EXPECT_EQ(rec_->Calls(), (std::vector<std::string>{"Reserve", "Unreserve"}));
  EXPECT_TRUE(client_.bindings.empty());
  EXPECT_EQ(sched_->cache().AssumedPodCount(), 0u);
  EXPECT_EQ(sched_->queue().WhereIs(std::string(api::GetUid(*pod))), "unschedulable");
  auto failed = client_.EventsWithReason("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].message, "no room in the ledger");
}

TEST_F(ExtensionPointsTest, PermitWaitsUntilAllowed) {
  configure_ = [](Recorder& r) {
    r.permit = PluginStatus(Code::kWait);
    r.permit_timeout = 60s;
  };
  Start();
  auto pod = PodBuilder("p").Obj();
  std::string uid(api::GetUid(*pod));
  sched_->OnEvent(ResourceKind::kPod, nullptr, pod);
  ASSERT_TRUE(sched_->ScheduleOne());
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(client_.bindings.empty());
  EXPECT_TRUE(sched_->cache().IsAssumedPod(uid));  // counted while it waits
  EXPECT_TRUE(sched_->AllowWaitingPod(uid, "Recorder"));
  sched_->WaitForApiCalls();
  EXPECT_EQ(client_.bindings.size(), 1u);
}

TEST_F(ExtensionPointsTest, PermitTimesOutAndTheAssumedPodIsForgotten) {
  configure_ = [](Recorder& r) {
    r.permit = PluginStatus(Code::kWait);
    r.permit_timeout = 5s;
  };
  Start();
  auto pod = PodBuilder("p").Obj();
  sched_->OnEvent(ResourceKind::kPod, nullptr, pod);
  ASSERT_TRUE(sched_->ScheduleOne());
  std::this_thread::sleep_for(20ms);
  clock_->Advance(6s);
  sched_->WaitForApiCalls();
  EXPECT_TRUE(client_.bindings.empty());
  EXPECT_EQ(sched_->cache().AssumedPodCount(), 0u);
  auto calls = rec_->Calls();
  EXPECT_EQ(calls.back(), "Unreserve");
  auto failed = client_.EventsWithReason("FailedScheduling");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].message, "rejected due to timeout after waiting at permit");
}

TEST_F(ExtensionPointsTest, APreBindFailureForgetsThePod) {
  configure_ = [](Recorder& r) { r.pre_bind = PluginStatus(Code::kError, "volume not attached"); };
  Start();
  auto pod = PodBuilder("p").Obj();
  sched_->OnEvent(ResourceKind::kPod, nullptr, pod);
  ASSERT_TRUE(sched_->ScheduleOne());
  sched_->WaitForApiCalls();
  EXPECT_TRUE(client_.bindings.empty());
  EXPECT_EQ(rec_->Calls().back(), "Unreserve");
  EXPECT_EQ(sched_->queue().WhereIs(std::string(api::GetUid(*pod))), "backoff");
  std::lock_guard<std::mutex> l(client_.mu);
  ASSERT_FALSE(client_.patches.empty());
  EXPECT_EQ(client_.patches.back().second.condition->reason, "SchedulerError");
}

TEST(FrameworkCreate, UnknownPluginsAndMissingPointsAreErrors) {
  testing::TestHandle h;
  Profile p;
  p.plugins.multi_point.enabled = {{"PrioritySort", 0}, {"NoSuchPlugin", 0}};
  auto f = Framework::Create(p, InTreeRegistry(), &h);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "plugin \"NoSuchPlugin\" does not exist");
  Profile q;
  q.plugins.multi_point.enabled = {{"PrioritySort", 0}};
  q.plugins.filter.enabled = {{"ImageLocality", 0}};
  auto g = Framework::Create(q, InTreeRegistry(), &h);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "plugin \"ImageLocality\" does not extend Filter plugin");
  Profile r;
  r.plugins.multi_point.enabled = {{"PrioritySort", 0}};
  auto k = Framework::Create(r, InTreeRegistry(), &h);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(),
            "at least one bind plugin is needed for profile with scheduler name \"default-scheduler\"");
}

}  // namespace
}  // namespace keelson::scheduler
