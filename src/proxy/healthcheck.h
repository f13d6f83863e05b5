// The proxy's small HTTP servers: /healthz, /livez and /metrics on the proxy's own port, and
// one listener per healthCheckNodePort of the Services with externalTrafficPolicy Local,
// answering as upstream's kube-proxy does (load balancers probe it to find the nodes that
// have endpoints):
//   200 {"service":{"namespace":"ns","name":"svc"},"localEndpoints":2,"serviceProxyHealthy":true}
//   503 with "localEndpoints":0 when this node has none.
// Requests are read with a size limit and a timeout; answers close the connection.
//
// Thread-safety: every method may be called from any thread; one thread serves.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"

namespace keelson::proxy {

struct HealthCheckService {
  std::string namespace_name;
  std::string name;
  int local_endpoints = 0;
  bool operator==(const HealthCheckService&) const = default;
};

class HealthServer {
 public:
  // `status_port` -1: no /healthz listener; 0: a free port. `metrics` gives /metrics' body and
  // `healthy` whether /healthz answers 200.
  static Result<std::unique_ptr<HealthServer>> Start(std::string bind_address, int status_port,
                                                     std::function<std::string()> metrics,
                                                     std::function<bool()> healthy);
  ~HealthServer();

  int StatusPort() const { return status_port_; }
  // The Services to answer for, by healthCheckNodePort. A port that cannot be bound is
  // logged and left out (another program holds it).
  void SetServices(std::map<int, HealthCheckService> services);
  void Stop();

 private:
  HealthServer() = default;
  void Serve();
  void Answer(int fd, int port);

  std::string bind_address_;
  int status_port_ = -1;
  int status_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::function<std::string()> metrics_;
  std::function<bool()> healthy_;
  std::mutex mu_;
  std::map<int, HealthCheckService> services_;  // guarded by mu_
  std::map<int, int> listeners_;                // port -> fd; guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
  std::thread thread_;
};

}  // namespace keelson::proxy
