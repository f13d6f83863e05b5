// The controller manager's framework: --controllers selection, the queue worker's retries,
// terms that start controllers only on synced caches, and leader election between managers
// against an in-process API server.
#include "controllers/controller_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "api/object.h"
#include "client/rate_limiter.h"
#include "client/time_format.h"
#include "controllers/queue_worker.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

std::vector<ControllerDescriptor> Known() {
  auto none = [](ControllerContext&) -> Result<std::unique_ptr<Controller>> {
    return InternalError("not made in this test");
  };
  return {{"alpha-controller", {"alpha"}, true, none},
          {"beta-controller", {"beta"}, true, none},
          {"gamma-controller", {"gamma"}, false, none}};
}

std::vector<std::string> Select(std::vector<std::string> flag) {
  auto known = Known();
  auto r = SelectControllers(flag, known);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<std::string>{"<error>"};
}

TEST(SelectControllersTest, StarIsTheDefaultOnes) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Select({"*"}), (V{"alpha-controller", "beta-controller"}));
  EXPECT_EQ(Select({"*", "-beta"}), (V{"alpha-controller"}));
  EXPECT_EQ(Select({"*", "gamma-controller"}),
            (V{"alpha-controller", "beta-controller", "gamma-controller"}));
  EXPECT_EQ(Select({"beta"}), (V{"beta-controller"}));
  EXPECT_EQ(Select({}), V{});
  // The first entry naming a controller decides.
  EXPECT_EQ(Select({"-alpha", "alpha", "*"}), (V{"beta-controller"}));
  EXPECT_EQ(Select({"alpha-controller", "-alpha"}), (V{"alpha-controller"}));
}

TEST(SelectControllersTest, UnknownNameIsAnError) {
  auto known = Known();
  auto r = SelectControllers({"*", "-delta"}, known);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("\"delta\" is not in the list of known controllers"),
            std::string::npos);
}

TEST(SelectControllersTest, BuiltInNamesAndAliasesResolve) {
  auto r = SelectControllers({"serviceaccount"}, BuiltInControllers());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::vector<std::string>{"serviceaccount-controller"});
}

QueueWorkerOptions FastRetries(std::string name, int max_retries = -1) {
  QueueWorkerOptions o;
  o.name = std::move(name);
  o.max_retries = max_retries;
  o.rate_limiter = client::NewItemExponentialFailureRateLimiter(1ms, 20ms);
  return o;
}

TEST(QueueWorkerTest, FailedKeysAreRetriedUntilTheySucceed) {
  std::mutex mu;
  std::map<std::string, int> calls;
  QueueWorker w(FastRetries("test"), [&](const std::string& key) {
    std::lock_guard l(mu);
    int n = ++calls[key];
    return key == "ns/flaky" && n < 4 ? UnavailableError("not yet") : Status::Ok();
  });
  w.Enqueue("ns/flaky");
  w.Enqueue("ns/fine");
  w.Start(2);
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard l(mu);
    return calls["ns/flaky"] == 4;
  }));
  std::this_thread::sleep_for(50ms);  // no further retries once it succeeded
  std::lock_guard l(mu);
  EXPECT_EQ(calls["ns/flaky"], 4);
  EXPECT_EQ(calls["ns/fine"], 1);
  EXPECT_EQ(w.queue().NumRequeues("ns/flaky"), 0);  // forgotten after the success
}

TEST(QueueWorkerTest, KeysAreDroppedAfterMaxRetries) {
  std::atomic<int> calls{0};
  QueueWorker w(FastRetries("test", 3), [&](const std::string&) {
    ++calls;
    return InternalError("never works");
  });
  w.Enqueue("k");
  w.Start(1);
  ASSERT_TRUE(Eventually([&] { return calls == 4; }));  // the first try and 3 retries
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(calls, 4);
  w.Stop();
}

TEST(QueueWorkerTest, RetriesBackOff) {
  // The default limiter starts at 5 ms and doubles: in 300 ms a key that always fails is
  // tried at most ~7 times, not thousands.
  std::atomic<int> calls{0};
  QueueWorkerOptions o;
  o.name = "test";
  QueueWorker w(std::move(o), [&](const std::string&) {
    ++calls;
    return InternalError("never works");
  });
  w.Enqueue("k");
  w.Start(4);
  std::this_thread::sleep_for(300ms);
  w.Stop();
  EXPECT_GE(calls, 3);
  EXPECT_LE(calls, 8);
}

// A controller that lists config maps when it starts and counts how many of its kind are
// running at once across managers.
struct Probe {
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  std::atomic<int> starts{0};
  std::atomic<int> seen_at_start{-1};
};

class ProbeController final : public Controller {
 public:
  ProbeController(Probe* probe, client::SharedInformer* informer)
      : probe_(probe), informer_(informer) {}
  void Start() override {
    probe_->seen_at_start = static_cast<int>(informer_->indexer().Size());
    int now = ++probe_->active;
    int max = probe_->max_active;
    while (now > max && !probe_->max_active.compare_exchange_weak(max, now)) {
    }
    ++probe_->starts;
    started_ = true;
  }
  void Stop() override {
    if (started_) --probe_->active;
    started_ = false;
  }

 private:
  Probe* probe_;
  client::SharedInformer* informer_;
  bool started_ = false;
};

std::vector<ControllerDescriptor> ProbeRegistry(Probe* probe) {
  return {{"probe-controller", {"probe"}, true,
           [probe](ControllerContext& ctx) -> Result<std::unique_ptr<Controller>> {
             auto* informer = ctx.Informer("", "configmaps");
             if (!informer) return InternalError("no configmaps");
             return std::unique_ptr<Controller>(new ProbeController(probe, informer));
           }}};
}

class ControllerManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ControllerManager> NewManager(std::string identity, bool leader_elect = true) {
    ControllerManagerOptions o;
    o.registry = &registry_;
    o.identity = std::move(identity);
    o.leader_elect = leader_elect;
    o.lease_duration = 1500ms;
    o.renew_deadline = 1000ms;
    o.retry_period = 200ms;
    auto m = ControllerManager::Create(api_.client(), std::move(o));
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }

  std::string LeaseHolder() {
    auto lease = api_.Get("coordination.k8s.io", "leases", "kube-system", "kube-controller-manager");
    return lease ? api::FieldText(*lease, "spec.holderIdentity") : "";
  }

  testing::InProcessApi api_;
  Probe probe_;
  std::vector<ControllerDescriptor> registry_ = ProbeRegistry(&probe_);
};

TEST_F(ControllerManagerTest, ControllersStartOnSyncedCaches) {
  for (int i = 0; i < 3; ++i) {
    api_.Create("", "configmaps", "default",
                R"({"metadata":{"name":"cm-)" + std::to_string(i) + R"("}})");
  }
  auto m = NewManager("solo", /*leader_elect=*/false);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Selected(), std::vector<std::string>{"probe-controller"});
  m->Start();
  ASSERT_TRUE(m->WaitRunning(true, 10s));
  EXPECT_EQ(probe_.seen_at_start, 3);
  EXPECT_EQ(probe_.active, 1);
  m->Stop();
  EXPECT_FALSE(m->Running());
  EXPECT_EQ(probe_.active, 0);
  // Without leader election no Lease is written.
  EXPECT_EQ(api_.Get("coordination.k8s.io", "leases", "kube-system", "kube-controller-manager"),
            std::nullopt);
}

TEST_F(ControllerManagerTest, DisabledControllersAreNotMade) {
  ControllerManagerOptions o;
  o.registry = &registry_;
  o.leader_elect = false;
  o.controllers = {"*", "-probe"};
  auto m = ControllerManager::Create(api_.client(), std::move(o));
  ASSERT_TRUE(m.ok());
  (*m)->Start();
  ASSERT_TRUE((*m)->WaitRunning(true, 10s));
  EXPECT_EQ(probe_.starts, 0);
}

TEST_F(ControllerManagerTest, BadFlagsAreRefused) {
  ControllerManagerOptions o;
  o.registry = &registry_;
  o.controllers = {"*", "-nosuch"};
  EXPECT_FALSE(ControllerManager::Create(api_.client(), o).ok());
  o.controllers = {"*"};
  o.renew_deadline = o.lease_duration;
  EXPECT_FALSE(ControllerManager::Create(api_.client(), o).ok());
}

TEST_F(ControllerManagerTest, OneLeaderAtATimeAndTheOtherTakesOver) {
  auto a = NewManager("manager-a");
  ASSERT_NE(a, nullptr);
  a->Start();
  ASSERT_TRUE(a->WaitRunning(true, 10s));
  auto b = NewManager("manager-b");
  b->Start();
  // b stands by while a renews.
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(b->Running());
  EXPECT_EQ(LeaseHolder(), "manager-a");
  EXPECT_EQ(probe_.active, 1);

  a->Stop();  // releases the lease
  ASSERT_TRUE(b->WaitRunning(true, 10s));
  EXPECT_EQ(LeaseHolder(), "manager-b");
  EXPECT_EQ(probe_.active, 1);
  EXPECT_EQ(probe_.max_active, 1);
  b->Stop();
  EXPECT_EQ(probe_.active, 0);
}

TEST_F(ControllerManagerTest, LosingTheLeaseStopsTheControllersUntilItIsRegained) {
  auto m = NewManager("manager-a");
  ASSERT_NE(m, nullptr);
  m->Start();
  ASSERT_TRUE(m->WaitRunning(true, 10s));
  // Someone else takes the lease (as a partitioned manager would find on its return).
  auto leases = api_.Resource("coordination.k8s.io", "leases", "kube-system");
  ASSERT_TRUE(Eventually([&] {  // the manager renews meanwhile: retried on conflicts
    auto lease = leases.Get("kube-controller-manager");
    if (!lease.ok()) return false;
    auto& spec = (*lease)["spec"].as_object();
    spec["holderIdentity"] = "intruder";
    spec["leaseDurationSeconds"] = 3;
    spec["renewTime"] = client::FormatMicroTime(RealClock()->Now());
    return leases.Update(*lease).ok();
  }));

  ASSERT_TRUE(Eventually([&] { return !m->Running(); }, 5s));
  EXPECT_EQ(probe_.active, 0);
  // The intruder never renews: once its lease expires this manager leads again, in a new
  // term.
  ASSERT_TRUE(m->WaitRunning(true, 15s));
  EXPECT_EQ(m->Terms(), 2);
  EXPECT_EQ(LeaseHolder(), "manager-a");
  EXPECT_EQ(probe_.max_active, 1);
}

}  // namespace
}  // namespace keelson::controllers
