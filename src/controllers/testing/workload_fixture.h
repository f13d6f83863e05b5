// Test support for the workload controllers: an in-process API server (as
// test/util/control_plane.h's) that also takes admission plugins (a quota that refuses
// pods), clients whose watches can be held back (a slow informer), a runner for a set of
// controllers, and the kubelet's part in tests: pods made Running and Ready through
// pods/NAME/status, as upstream's controller tests do.
//
// Thread-safety: the fixture's methods are for the test's thread; WatchGate may be opened
// and closed from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/object.h"
#include "apiserver/apiserver.h"
#include "apiserver/chain.h"
#include "client/informer.h"
#include "client/rest_client.h"
#include "controllers/controller.h"
#include "store/store.h"
#include "test/util/control_plane.h"
#include "test/util/processes.h"

namespace keelson::controllers::testing {

// Holds the watch events of the paths it covers while closed: reads of a watch stream
// whose target contains `path_part` ("/pods") block until it is opened. Lists go through.
class WatchGate {
 public:
  explicit WatchGate(std::string path_part) : path_part_(std::move(path_part)) {}
  void Close();
  void Open();
  // Blocks while closed (or until `stop` is set). For the streams.
  void Wait(const std::atomic<bool>& stop);
  bool Covers(std::string_view target) const;

 private:
  const std::string path_part_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;  // guarded by mu_
};

// A quota on pods: refuses pod creates in `ns` once `limit` have been admitted there, with
// upstream's ResourceQuota message (a 403).
class PodQuota final : public apiserver::AdmissionPlugin {
 public:
  PodQuota(std::string ns, int limit) : ns_(std::move(ns)), limit_(limit) {}
  std::string_view name() const override { return "TestPodQuota"; }
  std::optional<api::ApiError> Admit(const apiserver::AdmissionRequest& r) const override;
  int admitted() const { return admitted_.load(); }
  int refused() const { return refused_.load(); }

 private:
  const std::string ns_;
  const int limit_;
  mutable std::atomic<int> admitted_{0};
  mutable std::atomic<int> refused_{0};
};

class ControlPlane : public keelson::testing::InProcessApi {
 public:
  explicit ControlPlane(std::vector<std::shared_ptr<const apiserver::AdmissionPlugin>> admission = {})
      : InProcessApi(nullptr, std::move(admission)) {}

  // A client of its own; its watches wait on `gate` when given.
  std::unique_ptr<client::RestClient> NewClient(std::shared_ptr<WatchGate> gate = nullptr);

  // Pods of `ns` matching `selector` (all when empty), active or not, sorted by name.
  std::vector<api::Object> Pods(std::string_view ns, std::string_view selector = "");
  // Pods not being deleted.
  std::vector<api::Object> LivePods(std::string_view ns, std::string_view selector = "");
  // Sets the pod Running with a Ready condition (True since `since`, or not ready), as a
  // kubelet would; retries conflicts; a pod gone meanwhile is left alone.
  void SetPodReady(std::string_view ns, std::string_view name, bool ready,
                   std::optional<Clock::WallTime> since = std::nullopt);
  // Every live pod of the selector Running and Ready.
  void MakeAllReady(std::string_view ns, std::string_view selector);
  // Binds the pod to `node` through pods/NAME/binding.
  void Bind(std::string_view ns, std::string_view name, std::string_view node);
  // Events (events.k8s.io) about the object named `regarding` with `reason`.
  int CountEvents(std::string_view ns, std::string_view regarding, std::string_view reason);
};

// The kubelets' part for tests: every 20 ms, the live pods of `ns` that `ready` accepts (all
// when null) and that are not Ready yet are set Running and Ready.
class FakeKubelet {
 public:
  FakeKubelet(ControlPlane* api, std::string ns,
              std::function<bool(const api::Object& pod)> ready = nullptr);
  ~FakeKubelet();

 private:
  void Loop();

  ControlPlane* const api_;
  const std::string ns_;
  const std::function<bool(const api::Object&)> ready_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Runs controllers as a manager's term does: one informer factory, the controllers made
// from `factories`, informers started and synced, workers started. Stops in the destructor.
class ControllerRunner {
 public:
  ControllerRunner(client::RestClient* client, std::vector<ControllerFactory> factories,
                   ControllerOptions options = {}, std::shared_ptr<const Clock> clock = nullptr);
  ~ControllerRunner();
  bool ok() const { return ok_; }

 private:
  std::unique_ptr<client::SharedInformerFactory> informers_;
  std::unique_ptr<ControllerContext> ctx_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  bool ok_ = false;
};

// Polls `pred` every 10 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace keelson::controllers::testing
