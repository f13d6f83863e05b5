// FakeRuntime: an in-memory CRI runtime for the kubelet's unit tests. It keeps
// pod sandboxes, containers and images as a runtime would and answers as
// containerd does through NewGrpcRuntime (same status codes, "<Method>: ..."
// messages), but runs no process: a test moves containers along
// (ExitContainer), injects faults (FailNext, SetDown) and reads back what the
// kubelet did (Calls, ContainerConfigOf, ExecCommands).
//
// Behaviour, as containerd 1.6 shows it:
//  - RunPodSandbox: READY at once; a second sandbox with the same metadata
//  (name, namespace,
//    uid, attempt) is refused (Internal, "failed to reserve sandbox name")
//    while the first exists. Pod-network sandboxes get an IP from 10.88.0.0/16;
//    host-network ones none.
//  - CreateContainer: NotFound for an unknown sandbox or an image the runtime
//  does not have;
//    Internal for a name (and attempt) already used in the sandbox. CREATED,
//    then RUNNING on StartContainer (only from CREATED, else Internal), then
//    EXITED.
//  - StopContainer: a running container exits with 143 ("Error") when given a
//  timeout, as a
//    process that honours SIGTERM does, and with 137 when the timeout is zero.
//    A container never started stays CREATED.
//  - StopPodSandbox: the sandbox goes NOTREADY, its running containers exit
//  with 137.
//    RemovePodSandbox (stopping it first) also removes its containers;
//    RemoveContainer of a running container kills it first.
//  - Stops and removes of what does not exist are Ok, as the Runtime interface
//  promises.
//  - ExecSync and ReopenContainerLog need a RUNNING container (else Internal).
//    ReopenContainerLog creates the container's log file when it is missing, as
//    containerd's does (the fake writes no log lines; a test writes them).
//  - Image names are normalized as containerd does ("busybox" is
//    "docker.io/library/busybox:latest"); ImageStatus also finds an image by
//    its id. PullImage succeeds for images present or registered with
//    AddPullableImage, and fails with NotFound for others.
//
// Timestamps (nanoseconds since the epoch) come from the clock given at
// construction. Ids are 64 hex digits, the same sequence for every FakeRuntime.
//
// Thread-safety: every method may be called from any thread; one mutex guards
// all state.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "kubelet/cri/runtime.h"

namespace keelson::kubelet::cri {

class FakeRuntime final : public Runtime {
 public:
  struct ExecCall {
    std::string container_id;
    std::vector<std::string> cmd;
  };

  explicit FakeRuntime(std::shared_ptr<const Clock> clock = RealClock());
  ~FakeRuntime() override;

  // --- Test controls ---

  // Makes `ref` present, as if pulled (normalized; `size` in bytes). Returns
  // the image id.
  std::string AddImage(const std::string& ref, uint64_t size = 1 << 20);
  // Lets PullImage of `ref` succeed; the image is added when it is pulled.
  void AddPullableImage(const std::string& ref, uint64_t size = 1 << 20);
  // The next call of `method` (a Runtime method name, e.g. "StartContainer")
  // returns `error` (not OK) and changes nothing. Calls queue up: FailNext
  // twice fails the next two calls.
  void FailNext(const std::string& method, keelson::Status error);
  // While down, every call fails with Unavailable, as when the runtime's socket
  // is gone. Faults queued with FailNext wait for the runtime to be up.
  void SetDown(bool down);
  // The NetworkReady condition Status() reports (true at construction).
  void SetNetworkReady(bool ready);
  // The container's process ends: RUNNING -> EXITED with `exit_code` and
  // `reason` ("" for containerd's own: "Completed" for 0, "Error" otherwise;
  // "OOMKilled" as a test chooses). NotFound for an unknown container,
  // FailedPrecondition when it is not running.
  keelson::Status ExitContainer(const std::string& container_id, int exit_code,
                                const std::string& reason = "", const std::string& message = "");
  // What ExecSync returns for `container_id`, or for any container without its
  // own ("*"). Without either, ExecSync returns exit 0 and no output.
  void SetExecResult(const std::string& container_id, ExecSyncResult result);

  // Method names of every call so far, in order, failed ones included.
  std::vector<std::string> Calls() const;
  void ClearCalls();
  // The commands ExecSync was called with, in order.
  std::vector<ExecCall> ExecCommands() const;
  // The configs the kubelet created a container or ran a sandbox with; NotFound
  // once removed.
  Result<v1::ContainerConfig> ContainerConfigOf(const std::string& container_id) const;
  Result<v1::PodSandboxConfig> SandboxConfigOf(const std::string& sandbox_id) const;

  // --- RuntimeService ---
  Result<v1::VersionResponse> Version() override;
  Result<v1::RuntimeStatus> Status() override;
  Result<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                    const std::string& runtime_handler) override;
  keelson::Status StopPodSandbox(const std::string& sandbox_id) override;
  keelson::Status RemovePodSandbox(const std::string& sandbox_id) override;
  Result<v1::PodSandboxStatus> PodSandboxStatus(const std::string& sandbox_id) override;
  Result<std::vector<v1::PodSandbox>> ListPodSandbox(const v1::PodSandboxFilter& filter) override;
  Result<std::string> CreateContainer(const std::string& sandbox_id,
                                      const v1::ContainerConfig& config,
                                      const v1::PodSandboxConfig& sandbox_config) override;
  keelson::Status StartContainer(const std::string& container_id) override;
  keelson::Status StopContainer(const std::string& container_id,
                                std::chrono::seconds timeout) override;
  keelson::Status RemoveContainer(const std::string& container_id) override;
  Result<std::vector<v1::Container>> ListContainers(const v1::ContainerFilter& filter) override;
  Result<v1::ContainerStatus> ContainerStatus(const std::string& container_id) override;
  keelson::Status UpdateContainerResources(const std::string& container_id,
                                           const v1::LinuxContainerResources& resources) override;
  keelson::Status ReopenContainerLog(const std::string& container_id) override;
  Result<ExecSyncResult> ExecSync(const std::string& container_id,
                                  const std::vector<std::string>& cmd,
                                  std::chrono::seconds timeout) override;
  Result<std::string> Exec(const v1::ExecRequest& request) override;
  Result<std::string> Attach(const v1::AttachRequest& request) override;
  Result<std::string> PortForward(const v1::PortForwardRequest& request) override;
  Result<std::vector<v1::ContainerStats>> ListContainerStats(
      const v1::ContainerStatsFilter& filter) override;

  // --- ImageService ---
  Result<std::vector<v1::Image>> ListImages(const v1::ImageFilter& filter) override;
  Result<std::optional<v1::Image>> ImageStatus(const v1::ImageSpec& image) override;
  Result<std::string> PullImage(const v1::ImageSpec& image, const v1::AuthConfig* auth,
                                const v1::PodSandboxConfig* sandbox_config) override;
  keelson::Status RemoveImage(const v1::ImageSpec& image) override;
  Result<std::vector<v1::FilesystemUsage>> ImageFsInfo() override;

 private:
  struct Sandbox {
    v1::PodSandboxConfig config;
    std::string runtime_handler;
    v1::PodSandboxState state = v1::SANDBOX_READY;
    int64_t created_at = 0;
    std::string ip;
  };
  struct Container {
    std::string sandbox_id;
    v1::ContainerConfig config;
    std::string image_id;
    std::string log_path;
    v1::ContainerState state = v1::CONTAINER_CREATED;
    int64_t created_at = 0;
    int64_t started_at = 0;
    int64_t finished_at = 0;
    int exit_code = 0;
    std::string reason;
    std::string message;
    v1::LinuxContainerResources resources;
  };

  // Logs the call of `method`; the fault to return instead of running it, if
  // any. Requires mu_.
  keelson::Status Enter(const char* method);
  std::string AddImageLocked(const std::string& ref,
                             uint64_t size);  // requires mu_
  int64_t NowNanos() const;
  std::string NewId();  // requires mu_
  // The id of the image `ref` (normalized, or an id) names, or "". Requires
  // mu_.
  std::string FindImage(const std::string& ref) const;
  // Ends a running container (RUNNING -> EXITED). Requires mu_.
  void Exit(Container& c, int exit_code, std::string reason, std::string message);
  v1::ContainerStatus StatusOf(const std::string& id, const Container& c) const;

  const std::shared_ptr<const Clock> clock_;
  mutable std::mutex mu_;
  // Everything below is guarded by mu_.
  std::mt19937_64 ids_;
  bool down_ = false;
  bool network_ready_ = true;
  int next_ip_ = 2;
  std::vector<std::string> calls_;
  std::map<std::string, std::deque<keelson::Status>> faults_;
  std::map<std::string, ExecSyncResult> exec_results_;
  std::vector<ExecCall> exec_calls_;
  std::map<std::string, Sandbox> sandboxes_;
  std::map<std::string, Container> containers_;
  std::map<std::string, v1::Image> images_;   // by id
  std::map<std::string, uint64_t> pullable_;  // normalized ref -> size
};

// "busybox" -> "docker.io/library/busybox:latest", as containerd names images.
// References with a digest keep it; ids ("sha256:...") are returned unchanged.
std::string NormalizeImageRef(const std::string& ref);

}  // namespace keelson::kubelet::cri
