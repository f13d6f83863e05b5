// The container runtime as the kubelet sees it: the two services of the
// Container Runtime Interface (runtime.v1), RuntimeService (pod sandboxes,
// containers, streaming) and ImageService (images). The kubelet holds these
// interfaces only; the gRPC client to a runtime socket (NewGrpcRuntime,
// grpc_runtime.cc) implements both, and unit tests use the in-memory
// FakeRuntime (fake_runtime.h), which can be told to fail any call.
//
// Messages are the CRI's own (the generated runtime.v1 types of
// proto/cri/api.proto), so what the kubelet builds is what goes on the wire.
//
// Errors: NotFound when the sandbox, container or image named does not exist;
// Unavailable when the runtime cannot be reached (socket missing, runtime
// restarting); DeadlineExceeded when a call outlived its timeout; other codes
// carry the runtime's own message. No call throws.
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "cri/api.pb.h"

namespace keelson::kubelet::cri {

namespace v1 = ::runtime::v1;

struct ExecSyncResult {
  std::string stdout_data;
  std::string stderr_data;
  int exit_code = 0;
};

class RuntimeService {
 public:
  virtual ~RuntimeService() = default;

  // The runtime's name and version (nodeInfo.containerRuntimeVersion is
  // "name://version").
  virtual Result<v1::VersionResponse> Version() = 0;
  // Whether the runtime and its network are ready (conditions RuntimeReady,
  // NetworkReady).
  virtual Result<v1::RuntimeStatus> Status() = 0;

  // Creates and starts a pod sandbox (its network namespace set up through
  // CNI); returns its id.
  virtual Result<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                            const std::string& runtime_handler) = 0;
  // Stops every container of the sandbox and tears its network down;
  // idempotent.
  virtual keelson::Status StopPodSandbox(const std::string& sandbox_id) = 0;
  // Removes a sandbox and its containers; idempotent (Ok when already gone).
  virtual keelson::Status RemovePodSandbox(const std::string& sandbox_id) = 0;
  virtual Result<v1::PodSandboxStatus> PodSandboxStatus(const std::string& sandbox_id) = 0;
  virtual Result<std::vector<v1::PodSandbox>> ListPodSandbox(
      const v1::PodSandboxFilter& filter) = 0;

  // Creates a container in a sandbox (`sandbox_config` is the one the sandbox
  // was run with); returns its id.
  virtual Result<std::string> CreateContainer(const std::string& sandbox_id,
                                              const v1::ContainerConfig& config,
                                              const v1::PodSandboxConfig& sandbox_config) = 0;
  virtual keelson::Status StartContainer(const std::string& container_id) = 0;
  // SIGTERM (or the image's stop signal), then SIGKILL after `timeout`;
  // idempotent.
  virtual keelson::Status StopContainer(const std::string& container_id,
                                        std::chrono::seconds timeout) = 0;
  // Removes a container (stopping it first if needed); Ok when already gone.
  virtual keelson::Status RemoveContainer(const std::string& container_id) = 0;
  virtual Result<std::vector<v1::Container>> ListContainers(const v1::ContainerFilter& filter) = 0;
  virtual Result<v1::ContainerStatus> ContainerStatus(const std::string& container_id) = 0;
  virtual keelson::Status UpdateContainerResources(
      const std::string& container_id, const v1::LinuxContainerResources& resources) = 0;
  // Asks the runtime to reopen the container's log file (after the kubelet
  // rotated it).
  virtual keelson::Status ReopenContainerLog(const std::string& container_id) = 0;

  // Runs a command in a running container and waits for it (probes, exec
  // hooks); `timeout` zero means no limit.
  virtual Result<ExecSyncResult> ExecSync(const std::string& container_id,
                                          const std::vector<std::string>& cmd,
                                          std::chrono::seconds timeout) = 0;
  // Streaming: the URL of the runtime's streaming server that serves the
  // session.
  virtual Result<std::string> Exec(const v1::ExecRequest& request) = 0;
  virtual Result<std::string> Attach(const v1::AttachRequest& request) = 0;
  virtual Result<std::string> PortForward(const v1::PortForwardRequest& request) = 0;

  virtual Result<std::vector<v1::ContainerStats>> ListContainerStats(
      const v1::ContainerStatsFilter& filter) = 0;
};

class ImageService {
 public:
  virtual ~ImageService() = default;

  virtual Result<std::vector<v1::Image>> ListImages(const v1::ImageFilter& filter) = 0;
  // The image, or nullopt when the runtime does not have it.
  virtual Result<std::optional<v1::Image>> ImageStatus(const v1::ImageSpec& image) = 0;
  // Pulls an image (with registry credentials if `auth` is non-null); returns
  // its reference (the image id the runtime resolved it to).
  virtual Result<std::string> PullImage(const v1::ImageSpec& image, const v1::AuthConfig* auth,
                                        const v1::PodSandboxConfig* sandbox_config) = 0;
  // Ok when the image is already gone.
  virtual keelson::Status RemoveImage(const v1::ImageSpec& image) = 0;
  virtual Result<std::vector<v1::FilesystemUsage>> ImageFsInfo() = 0;
};

// Both services, as one runtime endpoint provides them.
class Runtime : public RuntimeService, public ImageService {};

struct GrpcRuntimeOptions {
  // "unix:///run/containerd/containerd.sock" or a plain socket path.
  std::string endpoint;
  // Deadline of each unary call but PullImage and ExecSync (which carry their
  // own). StopContainer and ExecSync get call_timeout plus their own timeout
  // (the runtime waits that long first; ExecSync with timeout zero has no
  // deadline), RunPodSandbox twice it (the runtime may pull the sandbox image
  // and run CNI).
  std::chrono::milliseconds call_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds pull_timeout{std::chrono::minutes(10)};
};

// A client of the runtime at `options.endpoint`. The connection is made lazily
// and remade after the runtime restarts; calls in between fail with
// Unavailable. An endpoint that is not a unix socket makes every call fail with
// InvalidArgument.
std::unique_ptr<Runtime> NewGrpcRuntime(GrpcRuntimeOptions options);

}  // namespace keelson::kubelet::cri
