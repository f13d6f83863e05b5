// `keelson server` (and other keelson commands) as processes for tests: a free port, a data
// directory of their own, stopped on destruction (and killed should the test die).
//
// Not thread-safe: use each object from the test's main thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "test/util/processes.h"

namespace keelson::testing {

class KeelsonServer {
 public:
  // `binary` is the keelson executable; `extra_flags` go after the server's own. Without
  // `local_node` the server runs no node (--disable-agent); with it, its node's containers,
  // mounts and containerd are cleaned up on destruction (scripts/node-cleanup.sh).
  explicit KeelsonServer(std::string binary, std::vector<std::string> extra_flags = {},
                         bool local_node = false);
  ~KeelsonServer();
  // Starts (or restarts, same port and data) and waits for its kubeconfig line.
  Status Start();
  // SIGTERM; the exit code.
  int Stop() { return process_.Signal(SIGTERM); }
  int Kill() { return process_.Signal(SIGKILL); }

  std::string kubeconfig() const { return (dir_.path() / "data" / "kubeconfig.yaml").string(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string log() const;  // its stdout and stderr

 private:
  std::string binary_;
  std::vector<std::string> extra_flags_;
  bool local_node_ = false;
  TempDir dir_{"keelson-server"};
  Process process_;
  int port_ = 0;
};

}  // namespace keelson::testing
