// NewGrpcRuntime: the CRI client. One grpc::Channel to the runtime's unix
// socket, one stub per service, and one blocking unary call per method.
//
// Failing fast: calls never set wait_for_ready, so while the socket is missing
// or refuses connections (the runtime is down or restarting) a call fails with
// Unavailable after at most kConnectWait instead of waiting out its deadline.
// Each such call also makes a new connection attempt, so the first call after
// the runtime is back finds it; between calls the channel retries by itself
// with a short back-off (at most kMaxReconnectBackoff).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "cri/api.grpc.pb.h"
#include "kubelet/cri/runtime.h"

namespace keelson::kubelet::cri {
namespace {

// gRPC deadlines take system_clock time points.
using SystemClock = std::chrono::system_clock;
using std::chrono::milliseconds;

// The CRI version the kubelet announces in VersionRequest (upstream's
// kubeRuntimeAPIVersion).
constexpr char kKubeRuntimeApiVersion[] = "0.1.0";
// Upstream kubelet's limit on CRI messages (ListContainers on a busy node,
// ExecSync output).
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;
constexpr milliseconds kInitialReconnectBackoff{100};
constexpr milliseconds kMaxReconnectBackoff{3000};
// How long a call waits for a channel that is not connected before it is tried
// (and fails with Unavailable if the runtime is still unreachable).
constexpr milliseconds kConnectWait{200};

Status FromGrpc(std::string_view rpc, const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  std::string message = std::string(rpc) + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return Status(StatusCode::kNotFound, std::move(message));
    case grpc::StatusCode::UNAVAILABLE:
      return Status(StatusCode::kUnavailable, std::move(message));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(StatusCode::kDeadlineExceeded, std::move(message));
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return Status(StatusCode::kInvalidArgument, std::move(message));
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status(StatusCode::kAlreadyExists, std::move(message));
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status(StatusCode::kUnimplemented, std::move(message));
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status(StatusCode::kFailedPrecondition, std::move(message));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status(StatusCode::kResourceExhausted, std::move(message));
    case grpc::StatusCode::CANCELLED:
      return Status(StatusCode::kCancelled, std::move(message));
    default:
      return Status(StatusCode::kInternal, std::move(message));
  }
}

// Stop and remove calls are idempotent: the thing being gone already is
// success.
Status IgnoreNotFound(Status s) {
  if (s.code() == StatusCode::kNotFound) return Status::Ok();
  return s;
}

// "unix:///path" or "unix:/path" as given; a plain path becomes "unix:<path>".
// Other schemes (tcp://, npipe://) are not spoken to a container runtime on
// Linux.
Result<std::string> ChannelTarget(const std::string& endpoint) {
  if (endpoint.empty()) return InvalidArgumentError("CRI endpoint is empty");
  if (endpoint.rfind("unix:", 0) == 0) {
    if (endpoint.size() == 5 || endpoint == "unix://") {
      return InvalidArgumentError("CRI endpoint " + endpoint + " names no socket path");
    }
    return endpoint;
  }
  if (endpoint.find("://") != std::string::npos) {
    return InvalidArgumentError("CRI endpoint " + endpoint +
                                " is not a unix socket (unix:///path or /path)");
  }
  return "unix:" + endpoint;
}

class GrpcRuntime final : public Runtime {
 public:
  GrpcRuntime(GrpcRuntimeOptions options, std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)),
        channel_(std::move(channel)),
        runtime_(v1::RuntimeService::NewStub(channel_)),
        images_(v1::ImageService::NewStub(channel_)) {}

  // --- RuntimeService ---

  Result<v1::VersionResponse> Version() override {
    v1::VersionRequest req;
    req.set_version(kKubeRuntimeApiVersion);
    v1::VersionResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("Version", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->Version(ctx, req, &resp);
    }));
    return resp;
  }

  Result<v1::RuntimeStatus> Status() override {
    v1::StatusRequest req;
    v1::StatusResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("Status", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->Status(ctx, req, &resp);
    }));
    if (!resp.has_status()) return InternalError("Status: the runtime returned no status");
    return std::move(*resp.mutable_status());
  }

  Result<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                    const std::string& runtime_handler) override {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = config;
    req.set_runtime_handler(runtime_handler);
    v1::RunPodSandboxResponse resp;
    // Twice the usual deadline, as upstream's kubelet allows: the runtime may
    // have to pull the sandbox image and run CNI first.
    KEELSON_RETURN_IF_ERROR(
        Call("RunPodSandbox", Deadline(2 * options_.call_timeout),
             [&](grpc::ClientContext* ctx) { return runtime_->RunPodSandbox(ctx, req, &resp); }));
    if (resp.pod_sandbox_id().empty()) {
      return InternalError("RunPodSandbox: the runtime returned no sandbox id");
    }
    return std::move(*resp.mutable_pod_sandbox_id());
  }

  keelson::Status StopPodSandbox(const std::string& sandbox_id) override {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(sandbox_id);
    v1::StopPodSandboxResponse resp;
    return IgnoreNotFound(Call("StopPodSandbox", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->StopPodSandbox(ctx, req, &resp);
    }));
  }

  keelson::Status RemovePodSandbox(const std::string& sandbox_id) override {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(sandbox_id);
    v1::RemovePodSandboxResponse resp;
    return IgnoreNotFound(Call("RemovePodSandbox", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->RemovePodSandbox(ctx, req, &resp);
    }));
  }

  Result<v1::PodSandboxStatus> PodSandboxStatus(const std::string& sandbox_id) override {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(sandbox_id);
    v1::PodSandboxStatusResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("PodSandboxStatus", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->PodSandboxStatus(ctx, req, &resp);
    }));
    if (!resp.has_status()) {
      return InternalError("PodSandboxStatus: the runtime returned no status for " + sandbox_id);
    }
    return std::move(*resp.mutable_status());
  }

  Result<std::vector<v1::PodSandbox>> ListPodSandbox(const v1::PodSandboxFilter& filter) override {
    v1::ListPodSandboxRequest req;
    *req.mutable_filter() = filter;
    v1::ListPodSandboxResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("ListPodSandbox", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->ListPodSandbox(ctx, req, &resp);
    }));
    return std::vector<v1::PodSandbox>(std::make_move_iterator(resp.mutable_items()->begin()),
                                       std::make_move_iterator(resp.mutable_items()->end()));
  }

  Result<std::string> CreateContainer(const std::string& sandbox_id,
                                      const v1::ContainerConfig& config,
                                      const v1::PodSandboxConfig& sandbox_config) override {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(sandbox_id);
    *req.mutable_config() = config;
    *req.mutable_sandbox_config() = sandbox_config;
    v1::CreateContainerResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("CreateContainer", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->CreateContainer(ctx, req, &resp);
    }));
    if (resp.container_id().empty()) {
      return InternalError("CreateContainer: the runtime returned no container id");
    }
    return std::move(*resp.mutable_container_id());
  }

  keelson::Status StartContainer(const std::string& container_id) override {
    v1::StartContainerRequest req;
    req.set_container_id(container_id);
    v1::StartContainerResponse resp;
    return Call("StartContainer", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->StartContainer(ctx, req, &resp);
    });
  }

  keelson::Status StopContainer(const std::string& container_id,
                                std::chrono::seconds timeout) override {
    v1::StopContainerRequest req;
    req.set_container_id(container_id);
    req.set_timeout(timeout.count());
    v1::StopContainerResponse resp;
    // The runtime waits up to `timeout` for the process before it kills it.
    auto deadline = Deadline(options_.call_timeout + timeout);
    return IgnoreNotFound(Call("StopContainer", deadline, [&](grpc::ClientContext* ctx) {
      return runtime_->StopContainer(ctx, req, &resp);
    }));
  }

  keelson::Status RemoveContainer(const std::string& container_id) override {
    v1::RemoveContainerRequest req;
    req.set_container_id(container_id);
    v1::RemoveContainerResponse resp;
    return IgnoreNotFound(Call("RemoveContainer", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->RemoveContainer(ctx, req, &resp);
    }));
  }

  Result<std::vector<v1::Container>> ListContainers(const v1::ContainerFilter& filter) override {
    v1::ListContainersRequest req;
    *req.mutable_filter() = filter;
    v1::ListContainersResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("ListContainers", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->ListContainers(ctx, req, &resp);
    }));
    return std::vector<v1::Container>(std::make_move_iterator(resp.mutable_containers()->begin()),
                                      std::make_move_iterator(resp.mutable_containers()->end()));
  }

  Result<v1::ContainerStatus> ContainerStatus(const std::string& container_id) override {
    v1::ContainerStatusRequest req;
    req.set_container_id(container_id);
    v1::ContainerStatusResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("ContainerStatus", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->ContainerStatus(ctx, req, &resp);
    }));
    if (!resp.has_status()) {
      return InternalError("ContainerStatus: the runtime returned no status for " + container_id);
    }
    return std::move(*resp.mutable_status());
  }

  keelson::Status UpdateContainerResources(const std::string& container_id,
                                           const v1::LinuxContainerResources& resources) override {
    v1::UpdateContainerResourcesRequest req;
    req.set_container_id(container_id);
    *req.mutable_linux() = resources;
    v1::UpdateContainerResourcesResponse resp;
    return Call("UpdateContainerResources", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->UpdateContainerResources(ctx, req, &resp);
    });
  }

  keelson::Status ReopenContainerLog(const std::string& container_id) override {
    v1::ReopenContainerLogRequest req;
    req.set_container_id(container_id);
    v1::ReopenContainerLogResponse resp;
    return Call("ReopenContainerLog", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->ReopenContainerLog(ctx, req, &resp);
    });
  }

  Result<ExecSyncResult> ExecSync(const std::string& container_id,
                                  const std::vector<std::string>& cmd,
                                  std::chrono::seconds timeout) override {
    v1::ExecSyncRequest req;
    req.set_container_id(container_id);
    for (const auto& arg : cmd) req.add_cmd(arg);
    req.set_timeout(timeout.count());
    v1::ExecSyncResponse resp;
    // The runtime enforces `timeout` itself; the call's deadline leaves it room
    // to answer.
    auto deadline = timeout.count() > 0 ? Deadline(options_.call_timeout + timeout)
                                        : SystemClock::time_point::max();
    KEELSON_RETURN_IF_ERROR(Call("ExecSync", deadline, [&](grpc::ClientContext* ctx) {
      return runtime_->ExecSync(ctx, req, &resp);
    }));
    ExecSyncResult result;
    result.stdout_data = std::move(*resp.mutable_stdout());
    result.stderr_data = std::move(*resp.mutable_stderr());
    result.exit_code = resp.exit_code();
    return result;
  }

  Result<std::string> Exec(const v1::ExecRequest& request) override {
    v1::ExecResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("Exec", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->Exec(ctx, request, &resp);
    }));
    if (resp.url().empty()) return InternalError("Exec: the runtime returned no URL");
    return std::move(*resp.mutable_url());
  }

  Result<std::string> Attach(const v1::AttachRequest& request) override {
    v1::AttachResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("Attach", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->Attach(ctx, request, &resp);
    }));
    if (resp.url().empty()) return InternalError("Attach: the runtime returned no URL");
    return std::move(*resp.mutable_url());
  }

  Result<std::string> PortForward(const v1::PortForwardRequest& request) override {
    v1::PortForwardResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("PortForward", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->PortForward(ctx, request, &resp);
    }));
    if (resp.url().empty()) return InternalError("PortForward: the runtime returned no URL");
    return std::move(*resp.mutable_url());
  }

  Result<std::vector<v1::ContainerStats>> ListContainerStats(
      const v1::ContainerStatsFilter& filter) override {
    v1::ListContainerStatsRequest req;
    *req.mutable_filter() = filter;
    v1::ListContainerStatsResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("ListContainerStats", Deadline(), [&](grpc::ClientContext* ctx) {
      return runtime_->ListContainerStats(ctx, req, &resp);
    }));
    return std::vector<v1::ContainerStats>(std::make_move_iterator(resp.mutable_stats()->begin()),
                                           std::make_move_iterator(resp.mutable_stats()->end()));
  }

  // --- ImageService ---

  Result<std::vector<v1::Image>> ListImages(const v1::ImageFilter& filter) override {
    v1::ListImagesRequest req;
    *req.mutable_filter() = filter;
    v1::ListImagesResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("ListImages", Deadline(), [&](grpc::ClientContext* ctx) {
      return images_->ListImages(ctx, req, &resp);
    }));
    return std::vector<v1::Image>(std::make_move_iterator(resp.mutable_images()->begin()),
                                  std::make_move_iterator(resp.mutable_images()->end()));
  }

  Result<std::optional<v1::Image>> ImageStatus(const v1::ImageSpec& image) override {
    v1::ImageStatusRequest req;
    *req.mutable_image() = image;
    v1::ImageStatusResponse resp;
    keelson::Status s = Call("ImageStatus", Deadline(), [&](grpc::ClientContext* ctx) {
      return images_->ImageStatus(ctx, req, &resp);
    });
    // containerd answers an empty response for an image it does not have; other
    // runtimes answer NotFound.
    if (s.code() == StatusCode::kNotFound) return std::optional<v1::Image>();
    if (!s.ok()) return s;
    if (!resp.has_image() || resp.image().id().empty()) return std::optional<v1::Image>();
    return std::optional<v1::Image>(std::move(*resp.mutable_image()));
  }

  Result<std::string> PullImage(const v1::ImageSpec& image, const v1::AuthConfig* auth,
                                const v1::PodSandboxConfig* sandbox_config) override {
    v1::PullImageRequest req;
    *req.mutable_image() = image;
    if (auth != nullptr) *req.mutable_auth() = *auth;
    if (sandbox_config != nullptr) *req.mutable_sandbox_config() = *sandbox_config;
    v1::PullImageResponse resp;
    KEELSON_RETURN_IF_ERROR(
        Call("PullImage", Deadline(options_.pull_timeout),
             [&](grpc::ClientContext* ctx) { return images_->PullImage(ctx, req, &resp); }));
    if (resp.image_ref().empty()) {
      return InternalError("PullImage: the runtime returned no image reference for " +
                           image.image());
    }
    return std::move(*resp.mutable_image_ref());
  }

  keelson::Status RemoveImage(const v1::ImageSpec& image) override {
    v1::RemoveImageRequest req;
    *req.mutable_image() = image;
    v1::RemoveImageResponse resp;
    return IgnoreNotFound(Call("RemoveImage", Deadline(), [&](grpc::ClientContext* ctx) {
      return images_->RemoveImage(ctx, req, &resp);
    }));
  }

  Result<std::vector<v1::FilesystemUsage>> ImageFsInfo() override {
    v1::ImageFsInfoRequest req;
    v1::ImageFsInfoResponse resp;
    KEELSON_RETURN_IF_ERROR(Call("ImageFsInfo", Deadline(), [&](grpc::ClientContext* ctx) {
      return images_->ImageFsInfo(ctx, req, &resp);
    }));
    auto* fs = resp.mutable_image_filesystems();
    return std::vector<v1::FilesystemUsage>(std::make_move_iterator(fs->begin()),
                                            std::make_move_iterator(fs->end()));
  }

 private:
  SystemClock::time_point Deadline() const { return Deadline(options_.call_timeout); }
  static SystemClock::time_point Deadline(milliseconds timeout) {
    return SystemClock::now() + timeout;
  }

  // Gives a channel that is not connected up to kConnectWait to become so.
  // gRPC's C core makes progress on a connection only while some thread polls
  // the channel: a call that fails at once (the channel in TRANSIENT_FAILURE,
  // no wait_for_ready) polls nothing, so without this the handshake with a
  // runtime that came back waits for gRPC's backup poller (every 5 s).
  // Resetting the back-off makes the attempt now rather than at its end.
  void Connect(SystemClock::time_point deadline) {
    grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_READY) return;
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
    }
    channel_->WaitForConnected(std::min(deadline, SystemClock::now() + kConnectWait));
  }

  // Runs one unary call `fn(ctx)` with `deadline`; the rpc name prefixes any
  // error.
  template <typename Fn>
  keelson::Status Call(std::string_view rpc, SystemClock::time_point deadline, Fn&& fn) {
    Connect(deadline);
    grpc::ClientContext ctx;
    if (deadline != SystemClock::time_point::max()) ctx.set_deadline(deadline);
    return FromGrpc(rpc, fn(&ctx));
  }

  const GrpcRuntimeOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  const std::unique_ptr<v1::ImageService::Stub> images_;
};

// The runtime for an endpoint that cannot be dialled: every call fails with the
// reason.
class InvalidEndpointRuntime final : public Runtime {
 public:
  explicit InvalidEndpointRuntime(keelson::Status error) : error_(std::move(error)) {}

  Result<v1::VersionResponse> Version() override { return error_; }
  Result<v1::RuntimeStatus> Status() override { return error_; }
  Result<std::string> RunPodSandbox(const v1::PodSandboxConfig&, const std::string&) override {
    return error_;
  }
  keelson::Status StopPodSandbox(const std::string&) override { return error_; }
  keelson::Status RemovePodSandbox(const std::string&) override { return error_; }
  Result<v1::PodSandboxStatus> PodSandboxStatus(const std::string&) override { return error_; }
  Result<std::vector<v1::PodSandbox>> ListPodSandbox(const v1::PodSandboxFilter&) override {
    return error_;
  }
  Result<std::string> CreateContainer(const std::string&, const v1::ContainerConfig&,
                                      const v1::PodSandboxConfig&) override {
    return error_;
  }
  keelson::Status StartContainer(const std::string&) override { return error_; }
  keelson::Status StopContainer(const std::string&, std::chrono::seconds) override {
    return error_;
  }
  keelson::Status RemoveContainer(const std::string&) override { return error_; }
  Result<std::vector<v1::Container>> ListContainers(const v1::ContainerFilter&) override {
    return error_;
  }
  Result<v1::ContainerStatus> ContainerStatus(const std::string&) override { return error_; }
  keelson::Status UpdateContainerResources(const std::string&,
                                           const v1::LinuxContainerResources&) override {
    return error_;
  }
  keelson::Status ReopenContainerLog(const std::string&) override { return error_; }
  Result<ExecSyncResult> ExecSync(const std::string&, const std::vector<std::string>&,
                                  std::chrono::seconds) override {
    return error_;
  }
  Result<std::string> Exec(const v1::ExecRequest&) override { return error_; }
  Result<std::string> Attach(const v1::AttachRequest&) override { return error_; }
  Result<std::string> PortForward(const v1::PortForwardRequest&) override { return error_; }
  Result<std::vector<v1::ContainerStats>> ListContainerStats(
      const v1::ContainerStatsFilter&) override {
    return error_;
  }
  Result<std::vector<v1::Image>> ListImages(const v1::ImageFilter&) override { return error_; }
  Result<std::optional<v1::Image>> ImageStatus(const v1::ImageSpec&) override { return error_; }
  Result<std::string> PullImage(const v1::ImageSpec&, const v1::AuthConfig*,
                                const v1::PodSandboxConfig*) override {
    return error_;
  }
  keelson::Status RemoveImage(const v1::ImageSpec&) override { return error_; }
  Result<std::vector<v1::FilesystemUsage>> ImageFsInfo() override { return error_; }

 private:
  const keelson::Status error_;
};

}  // namespace

std::unique_ptr<Runtime> NewGrpcRuntime(GrpcRuntimeOptions options) {
  Result<std::string> target = ChannelTarget(options.endpoint);
  if (!target.ok()) return std::make_unique<InvalidEndpointRuntime>(target.status());
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kInitialReconnectBackoff.count());
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoff.count());
  auto channel = grpc::CreateCustomChannel(*target, grpc::InsecureChannelCredentials(), args);
  return std::make_unique<GrpcRuntime>(std::move(options), std::move(channel));
}

}  // namespace keelson::kubelet::cri
