// Test helpers that run real processes on loopback: etcd members and clusters, `keelson store`,
// and one-shot or background commands such as etcdctl.
//
// Hermetic: every process gets a fresh temp dir and free 127.0.0.1 ports; destructors kill
// what was started and remove the dirs. Children get SIGKILL when the thread that started
// them exits (PR_SET_PDEATHSIG), so a test that dies leaves nothing behind; start processes
// from the test's main thread. Not thread-safe: use each object from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace keelson::testing {

// A port that was free on 127.0.0.1 a moment ago.
int FreePort();

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "keelson-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// The versioned kubectl binaries next to the machine's `kubectl` (its package ships
// kubectl.1.27 ... kubectl.1.33), or plain `kubectl` where there are none.
std::vector<std::string> KubectlBinaries();

// Runs argv[0] (looked up in PATH) with ETCDCTL_API=3 added to the environment, feeding
// `stdin_data`, and returns its output once it exits (killed after `timeout`).
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// One child process with stdout and stderr in files.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts argv (argv[0] looked up in PATH) with ETCDCTL_API=3 in its environment. stdout
  // is truncated, stderr appended.
  Status Start(const std::vector<std::string>& argv, const std::filesystem::path& stdout_path,
               const std::filesystem::path& stderr_path, const std::string& stdin_data = "");
  bool running();
  // Sends `sig` and waits up to `timeout` for the exit (then SIGKILL). Returns the exit code
  // (or 128 + signal).
  int Signal(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits up to `timeout` for the exit; false if still running.
  bool Wait(std::chrono::milliseconds timeout, int* exit_code = nullptr);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
};

// A command running in the background (e.g. `etcdctl watch`), output captured in files.
class BackgroundCommand {
 public:
  explicit BackgroundCommand(const std::vector<std::string>& argv);
  std::string Stdout() const;
  std::string Stderr() const;
  // Waits until stdout contains `text`.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);
  // SIGTERM; returns the exit code.
  int Stop() { return process_.Signal(SIGTERM); }

 private:
  TempDir dir_;
  Process process_;
};

// A single real etcd (/usr/bin/etcd) member, or one member of an EtcdCluster.
class EtcdProcess {
 public:
  // Allocates ports and a data dir; does not start.
  EtcdProcess();
  ~EtcdProcess();

  // Starts (or restarts, same ports and data) and waits until it serves client requests.
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Kill();  // SIGKILL
  void Stop();  // SIGTERM, waits
  Status Restart() {
    Stop();
    return Start();
  }
  bool running() { return process_.running(); }

  std::string endpoint() const;    // "127.0.0.1:PORT"
  std::string client_url() const;  // "http://127.0.0.1:PORT"
  std::string peer_url() const;
  const std::string& name() const { return name_; }
  std::string log() const;

 private:
  friend class EtcdCluster;
  Status Spawn();
  Status WaitReady(std::chrono::milliseconds timeout);

  std::string name_ = "default";
  std::string initial_cluster_;  // empty: a one-member cluster
  std::string cluster_token_ = "keelson-test";
  int client_port_ = 0;
  int peer_port_ = 0;
  size_t ready_before_ = 0;  // "ready" lines in the log before the last Spawn()
  TempDir dir_;
  Process process_;
};

// Three etcd members on loopback.
class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 3);
  // Starts every member and waits until all serve.
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  EtcdProcess& member(int i) { return *members_.at(i); }
  int size() const { return static_cast<int>(members_.size()); }
  std::vector<std::string> endpoints() const;

 private:
  std::vector<std::unique_ptr<EtcdProcess>> members_;
};

// `keelson store` (the binary given at construction) on a free port with its own data dir.
class KeelsonStoreProcess {
 public:
  explicit KeelsonStoreProcess(std::string binary, std::vector<std::string> extra_flags = {});
  ~KeelsonStoreProcess();

  // Starts (or restarts on the same port and data dir) and waits for the ready line.
  Status Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  int Kill();       // SIGKILL; returns the exit code (137)
  int Terminate();  // SIGTERM; returns the exit code
  Status Restart() {
    Terminate();
    return Start();
  }

  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string ready_line() const { return ready_line_; }
  std::string stderr_text() const;

 private:
  std::string binary_;
  std::vector<std::string> extra_flags_;
  TempDir dir_;
  std::filesystem::path data_dir_;
  int port_ = 0;
  std::string ready_line_;
  Process process_;
};

}  // namespace keelson::testing
