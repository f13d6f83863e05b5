#include "controllers/controller_manager.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "api/object.h"
#include "common/log.h"

namespace keelson::controllers {

namespace {

std::string DefaultIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "localhost") + "_" + api::NewUid();
}

}  // namespace

Result<std::unique_ptr<ControllerManager>> ControllerManager::Create(
    client::RestClient* client, ControllerManagerOptions options) {
  const auto& registry = options.registry ? *options.registry : BuiltInControllers();
  auto selected = SelectControllers(options.controllers, registry);
  if (!selected.ok()) return selected.status();
  if (options.leader_elect) {
    if (options.lease_duration <= options.renew_deadline) {
      return InvalidArgumentError("the lease duration must be longer than the renew deadline");
    }
    if (options.renew_deadline <= options.retry_period) {
      return InvalidArgumentError("the renew deadline must be longer than the retry period");
    }
  }
  std::string identity = options.identity.empty() ? DefaultIdentity() : options.identity;
  return std::unique_ptr<ControllerManager>(
      new ControllerManager(client, std::move(options), std::move(*selected), std::move(identity)));
}

ControllerManager::ControllerManager(client::RestClient* client, ControllerManagerOptions options,
                                     std::vector<std::string> selected, std::string identity)
    : client_(client), options_(std::move(options)),
      clock_(options_.clock ? options_.clock : RealClock()), selected_(std::move(selected)),
      identity_(std::move(identity)) {}

ControllerManager::~ControllerManager() { Stop(); }

void ControllerManager::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Loop(); });
}

void ControllerManager::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ControllerManager::Running() const {
  std::lock_guard lock(mu_);
  return running_;
}

bool ControllerManager::WaitRunning(bool running, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return running_ == running; });
  return running_;
}

int ControllerManager::Terms() const {
  std::lock_guard lock(mu_);
  return terms_;
}

void ControllerManager::Loop() {
  while (true) {
    std::unique_ptr<client::LeaderElector> elector;
    if (options_.leader_elect) {
      client::LeaderElectionConfig c;
      c.identity = identity_;
      c.lease_duration = options_.lease_duration;
      c.renew_deadline = options_.renew_deadline;
      c.retry_period = options_.retry_period;
      c.release_on_cancel = true;
      c.clock = clock_;
      // The elector's callbacks must return at once (renewals wait on them): they only flip
      // the state this loop waits on.
      c.on_started_leading = [this] {
        { std::lock_guard lock(mu_); leading_ = true; }
        cv_.notify_all();
      };
      c.on_stopped_leading = [this] {
        { std::lock_guard lock(mu_); leading_ = false; }
        cv_.notify_all();
      };
      c.on_new_leader = [this](const std::string& id) {
        if (!id.empty() && id != identity_) LogInfo(options_.component, "the leader is " + id);
      };
      c.log = [this](const std::string& m) { LogWarning(options_.component, m); };
      auto e = client::LeaderElector::Create(
          client::NewLeaseLock(client_, options_.lease_namespace, options_.lease_name),
          std::move(c));
      if (!e.ok()) {  // Create() checked the timings; the identity is never empty.
        LogError(options_.component, "leader election: " + e.status().message());
        return;
      }
      elector = std::move(*e);
      elector->Start();
    } else {
      std::lock_guard lock(mu_);
      leading_ = true;
    }
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return leading_ || stopping_; });
      if (stopping_ && !leading_) break;
    }
    RunTerm();
    if (elector) elector->Stop();  // releases the lease when still held (Stop())
    std::unique_lock lock(mu_);
    leading_ = false;
    if (stopping_) break;
    // Lost the lease: stand again (a candidate that just lost waits one retry period).
    clock_->WaitUntil(cv_, lock, clock_->Monotonic() + options_.retry_period);
    if (stopping_) break;
  }
}

void ControllerManager::RunTerm() {
  {
    std::lock_guard lock(mu_);
    ++terms_;
  }
  LogInfo(options_.component, "leading as " + identity_ + ": starting controllers");
  const auto& registry = options_.registry ? *options_.registry : BuiltInControllers();
  client::SharedInformerFactoryOptions fo;
  fo.handler_threads = options_.informer_handler_threads;
  client::SharedInformerFactory informers(client_, fo);
  ControllerContext context(client_, &informers, clock_, options_.controller);
  std::vector<std::pair<std::string, std::unique_ptr<Controller>>> controllers;
  for (const auto& d : registry) {
    if (std::find(selected_.begin(), selected_.end(), d.name) == selected_.end()) continue;
    auto c = d.make(context);
    if (!c.ok()) {
      LogError(options_.component, "not starting " + d.name + ": " + c.status().message());
      continue;
    }
    if (*c) controllers.emplace_back(d.name, std::move(*c));
  }
  auto still_leading = [&] {
    std::lock_guard lock(mu_);
    return leading_ && !stopping_;
  };
  informers.Start();
  bool synced = false;
  while (still_leading() && !(synced = informers.WaitForCacheSync(std::chrono::milliseconds(200)))) {
  }
  if (synced && still_leading()) {
    for (auto& [name, c] : controllers) c->Start();
    std::string names;
    for (auto& [name, c] : controllers) names += (names.empty() ? "" : ", ") + name;
    LogInfo(options_.component, "started " + names);
    {
      std::unique_lock lock(mu_);
      running_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !leading_ || stopping_; });
    }
  }
  bool lost = false;
  {
    std::lock_guard lock(mu_);
    lost = !leading_;
  }
  if (lost) LogWarning(options_.component, "lost the lease: stopping controllers");
  for (auto it = controllers.rbegin(); it != controllers.rend(); ++it) it->second->Stop();
  informers.Shutdown();
  context.Shutdown();
  controllers.clear();
  {
    std::lock_guard lock(mu_);
    running_ = false;
  }
  cv_.notify_all();
}

}  // namespace keelson::controllers
