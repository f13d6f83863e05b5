// ControllerManager: runs the selected controllers (`keelson controller-manager`, and inside
// `keelson server`), leader-elected together on one Lease as upstream's
// kube-controller-manager (kube-system/kube-controller-manager).
//
// Each time this manager becomes the leader it starts a term: a fresh informer factory
// shared by every controller, the controllers made from the registry (each registering its
// handlers), the informers started and synced, then the controllers' workers. When the lease
// is lost, the term ends: the workers stop (a reconcile in progress finishes), the informers
// stop, and the manager stands for election again with nothing carried over — state lives
// in the API, so the next term (here or in another manager) resumes from it. Losing the
// lease happens at most renew_deadline after the last renewal, and another candidate takes
// it no sooner than lease_duration after it: the margin (5 s by default) is for stopping.
//
// Without leader election a single term runs from Start() to Stop().
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/leader_election.h"
#include "client/rest_client.h"
#include "controllers/controller.h"

namespace keelson::controllers {

struct ControllerManagerOptions {
  // --controllers: "*" is every controller on by default; "foo" and "-foo" (SelectControllers).
  std::vector<std::string> controllers = {"*"};
  ControllerOptions controller;

  bool leader_elect = true;
  std::string lease_namespace = "kube-system";
  std::string lease_name = "kube-controller-manager";
  // The candidate's identity: "<hostname>_<random uid>" when empty.
  std::string identity;
  std::chrono::nanoseconds lease_duration = std::chrono::seconds(15);
  std::chrono::nanoseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::nanoseconds retry_period = std::chrono::seconds(2);

  // The name in log lines ("scheduler" when the manager runs the scheduler).
  std::string component = "controller-manager";
  // Threads running the informers' event handlers (shared by every controller).
  int informer_handler_threads = 2;

  // The system's clock when null.
  std::shared_ptr<const Clock> clock;
  // The controllers to choose from; BuiltInControllers() when null (tests bring their own).
  const std::vector<ControllerDescriptor>* registry = nullptr;
};

class ControllerManager {
 public:
  // InvalidArgument for an unknown controller in `options.controllers` or bad timings.
  // `client` must outlive the manager.
  static Result<std::unique_ptr<ControllerManager>> Create(client::RestClient* client,
                                                           ControllerManagerOptions options);
  ~ControllerManager();  // Stop()
  ControllerManager(const ControllerManager&) = delete;
  ControllerManager& operator=(const ControllerManager&) = delete;

  // Starts standing for election (or the term, without leader election). Returns at once.
  void Start();
  // Ends the term (if leading), releases the lease and waits for everything to stop.
  void Stop();

  // The controllers selected by --controllers, in start order.
  const std::vector<std::string>& Selected() const { return selected_; }
  // Whether a term is running: leading, informers synced and controllers started.
  bool Running() const;
  // Waits (in real time) until Running() is `running`, or the timeout; returns Running().
  bool WaitRunning(bool running, std::chrono::milliseconds timeout) const;
  // Terms started so far.
  int Terms() const;
  const std::string& identity() const { return identity_; }

 private:
  ControllerManager(client::RestClient* client, ControllerManagerOptions options,
                    std::vector<std::string> selected, std::string identity);
  void Loop();
  // Runs one term until the lease is lost or Stop(). `leading` tells whether it still is.
  void RunTerm();

  client::RestClient* const client_;
  const ControllerManagerOptions options_;
  const std::shared_ptr<const Clock> clock_;
  const std::vector<std::string> selected_;
  const std::string identity_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool leading_ = false;   // guarded by mu_
  bool running_ = false;   // guarded by mu_
  int terms_ = 0;          // guarded by mu_
  std::thread thread_;
};

}  // namespace keelson::controllers
