// Container probes and lifecycle hook handlers, as upstream's kubelet runs them: exec (through
// the runtime's ExecSync), httpGet (HTTP/1.1 GET; a status in [200, 400) succeeds), tcpSocket
// (a connection is accepted) and grpc (grpc.health.v1.Health/Check answers SERVING).
//
// ProbeManager keeps one worker per probe of every running container (liveness, readiness,
// startup), runs them on its own thread as periodSeconds, initialDelaySeconds,
// timeoutSeconds, successThreshold and failureThreshold say, and tells the kubelet when a
// result changes. Until a startup probe succeeds, the other two do not run.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "kubelet/cri/runtime.h"

namespace keelson::kubelet {

struct HandlerResult {
  bool success = false;
  std::string message;  // why it failed (or the output of a failing exec)
};

// Runs one handler ({exec: ...}, {httpGet: ...}, {tcpSocket: ...}, {grpc: ...} or, for hooks,
// {sleep: {seconds}}) against a container. `ports` maps the container's named ports to
// numbers; `host` is the pod's IP (the node's for host-network pods).
HandlerResult RunHandler(cri::Runtime* runtime, const boost::json::object& handler,
                         const std::string& container_id, const std::string& host,
                         const std::map<std::string, int>& ports, std::chrono::seconds timeout);

enum class ProbeType { kLiveness, kReadiness, kStartup };

class ProbeManager {
 public:
  // `on_change(pod key, container name, container id, type, changed, result, message)` is
  // called from the manager's threads after every failed probe (changed false: for the
  // Unhealthy event) and when a result changes after its thresholds (changed true) — for
  // liveness, each time the failure threshold is reached.
  using OnChange = std::function<void(const std::string& pod_key, const std::string& container,
                                      const std::string& container_id, ProbeType type, bool changed,
                                      bool result, const std::string& message)>;
  ProbeManager(cri::Runtime* runtime, std::shared_ptr<const Clock> clock, OnChange on_change);
  ~ProbeManager();  // Stop()

  // Makes sure the probes of `container` (its JSON spec) run for container `container_id`,
  // started at `started` (initialDelaySeconds counts from then). Probes of an earlier
  // container of the same name are dropped.
  void Ensure(const std::string& pod_key, const std::string& pod_uid,
              const boost::json::object& container, const std::string& container_id,
              const std::string& host, Clock::MonoTime started);
  // Stops every probe of the pod whose container id is not in `keep`.
  void Retain(const std::string& pod_uid, const std::vector<std::string>& keep);

  // The current result: nullopt when there is no such probe; false until it first succeeds
  // (readiness, startup).
  std::optional<bool> Result(const std::string& pod_uid, const std::string& container,
                             ProbeType type) const;

  void Stop();

 private:
  struct Worker {
    std::string pod_key;
    std::string container;
    std::string container_id;
    std::string host;
    ProbeType type;
    boost::json::object probe;
    std::map<std::string, int> ports;
    Clock::MonoTime next;
    int successes = 0;
    int failures = 0;
    bool result = false;
    bool running = false;  // on the prober thread right now
  };
  void Loop();
  void RunOne(const std::string& key);

  cri::Runtime* const runtime_;
  const std::shared_ptr<const Clock> clock_;
  const OnChange on_change_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // "<pod uid>/<container>/<type>" → worker; guarded by mu_.
  std::map<std::string, Worker> workers_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace keelson::kubelet
