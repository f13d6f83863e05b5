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
  // `binary` is the keelson executable; `extra_flags` go after the server's own.
  explicit KeelsonServer(std::string binary, std::vector<std::string> extra_flags = {});
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
  TempDir dir_{"keelson-server"};
  Process process_;
  int port_ = 0;
};

}  // namespace keelson::testing
