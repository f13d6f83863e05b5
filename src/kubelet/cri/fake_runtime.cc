#include "kubelet/cri/fake_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace keelson::kubelet::cri {
namespace {

// Every method of Runtime, the names FailNext and Calls() use.
const std::set<std::string>& MethodNames() {
  static const std::set<std::string> kNames = {
      // RuntimeService
      "Version", "Status", "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox",
      "PodSandboxStatus", "ListPodSandbox", "CreateContainer", "StartContainer", "StopContainer",
      "RemoveContainer", "ListContainers", "ContainerStatus", "UpdateContainerResources",
      "ReopenContainerLog", "ExecSync", "Exec", "Attach", "PortForward", "ListContainerStats",
      // ImageService
      "ListImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo"};
  return kNames;
}

const char* StateName(v1::ContainerState state) {
  switch (state) {
    case v1::CONTAINER_CREATED:
      return "CONTAINER_CREATED";
    case v1::CONTAINER_RUNNING:
      return "CONTAINER_RUNNING";
    case v1::CONTAINER_EXITED:
      return "CONTAINER_EXITED";
    default:
      return "CONTAINER_UNKNOWN";
  }
}

template <typename Map>
bool LabelsMatch(const Map& labels, const Map& selector) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

Status NotFound(const char* method, const char* what, const std::string& id) {
  return NotFoundError(std::string(method) + ": " + what + " \"" + id + "\" not found");
}

}  // namespace

std::string NormalizeImageRef(const std::string& ref) {
  if (ref.rfind("sha256:", 0) == 0) return ref;
  std::string name = ref;
  std::string digest;
  if (size_t at = name.find('@'); at != std::string::npos) {
    digest = name.substr(at);
    name.resize(at);
  }
  const size_t slash = name.find('/');
  const std::string first = slash == std::string::npos ? "" : name.substr(0, slash);
  const bool has_domain = slash != std::string::npos &&
                          (first.find_first_of(".:") != std::string::npos || first == "localhost");
  if (!has_domain) {
    name = (slash == std::string::npos ? "docker.io/library/" : "docker.io/") + name;
  } else if (first == "docker.io" && name.find('/', slash + 1) == std::string::npos) {
    name.insert(slash + 1, "library/");
  }
  if (digest.empty() && name.find(':', name.rfind('/')) == std::string::npos) name += ":latest";
  return name + digest;
}

FakeRuntime::FakeRuntime(std::shared_ptr<const Clock> clock) : clock_(std::move(clock)) {}

FakeRuntime::~FakeRuntime() = default;

// --- Test controls ---

std::string FakeRuntime::AddImage(const std::string& ref, uint64_t size) {
  std::lock_guard lock(mu_);
  return AddImageLocked(ref, size);
}

std::string FakeRuntime::AddImageLocked(const std::string& ref, uint64_t size) {
  const std::string name = NormalizeImageRef(ref);
  if (std::string id = FindImage(name); !id.empty()) return id;
  v1::Image image;
  image.set_id("sha256:" + NewId());
  image.add_repo_tags(name);
  const std::string repo = name.substr(0, name.find_first_of(":@", name.rfind('/')));
  image.add_repo_digests(repo + "@sha256:" + NewId());
  image.set_size(size);
  image.mutable_spec()->set_image(image.id());
  const std::string id = image.id();
  images_[id] = std::move(image);
  return id;
}

void FakeRuntime::AddPullableImage(const std::string& ref, uint64_t size) {
  std::lock_guard lock(mu_);
  pullable_[NormalizeImageRef(ref)] = size;
}

void FakeRuntime::FailNext(const std::string& method, keelson::Status error) {
  if (MethodNames().count(method) == 0 || error.ok()) {
    // A test that names no method of Runtime, or injects success, tests
    // nothing.
    std::fprintf(stderr, "FakeRuntime::FailNext(\"%s\", %s): not a Runtime method or no error\n",
                 method.c_str(), error.ToString().c_str());
    std::abort();
  }
  std::lock_guard lock(mu_);
  faults_[method].push_back(std::move(error));
}

void FakeRuntime::SetDown(bool down) {
  std::lock_guard lock(mu_);
  down_ = down;
}

void FakeRuntime::SetNetworkReady(bool ready) {
  std::lock_guard lock(mu_);
  network_ready_ = ready;
}

keelson::Status FakeRuntime::ExitContainer(const std::string& container_id, int exit_code,
                                           const std::string& reason, const std::string& message) {
  std::lock_guard lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("ExitContainer", "container", container_id);
  if (it->second.state != v1::CONTAINER_RUNNING) {
    return FailedPreconditionError("ExitContainer: container \"" + container_id + "\" is in " +
                                   StateName(it->second.state) + " state");
  }
  Exit(it->second, exit_code, reason, message);
  return keelson::Status::Ok();
}

void FakeRuntime::SetExecResult(const std::string& container_id, ExecSyncResult result) {
  std::lock_guard lock(mu_);
  exec_results_[container_id] = std::move(result);
}

std::vector<std::string> FakeRuntime::Calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void FakeRuntime::ClearCalls() {
  std::lock_guard lock(mu_);
  calls_.clear();
}

std::vector<FakeRuntime::ExecCall> FakeRuntime::ExecCommands() const {
  std::lock_guard lock(mu_);
  return exec_calls_;
}

Result<v1::ContainerConfig> FakeRuntime::ContainerConfigOf(const std::string& container_id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("ContainerConfigOf", "container", container_id);
  return it->second.config;
}

Result<v1::PodSandboxConfig> FakeRuntime::SandboxConfigOf(const std::string& sandbox_id) const {
  std::lock_guard lock(mu_);
  auto it = sandboxes_.find(sandbox_id);
  if (it == sandboxes_.end()) return NotFound("SandboxConfigOf", "sandbox", sandbox_id);
  return it->second.config;
}

// --- Helpers ---

keelson::Status FakeRuntime::Enter(const char* method) {
  calls_.emplace_back(method);
  if (down_) {
    return UnavailableError(std::string(method) + ": the runtime is down (FakeRuntime)");
  }
  auto it = faults_.find(method);
  if (it == faults_.end() || it->second.empty()) return keelson::Status::Ok();
  keelson::Status fault = std::move(it->second.front());
  it->second.pop_front();
  return fault;
}

int64_t FakeRuntime::NowNanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch())
      .count();
}

std::string FakeRuntime::NewId() {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx",
                static_cast<unsigned long long>(ids_()), static_cast<unsigned long long>(ids_()),
                static_cast<unsigned long long>(ids_()), static_cast<unsigned long long>(ids_()));
  return buf;
}

std::string FakeRuntime::FindImage(const std::string& ref) const {
  if (images_.count(ref) > 0) return ref;
  const std::string name = NormalizeImageRef(ref);
  for (const auto& [id, image] : images_) {
    for (const auto& tag : image.repo_tags()) {
      if (tag == name) return id;
    }
    for (const auto& digest : image.repo_digests()) {
      if (digest == name) return id;
    }
  }
  return "";
}

void FakeRuntime::Exit(Container& c, int exit_code, std::string reason, std::string message) {
  c.state = v1::CONTAINER_EXITED;
  c.finished_at = NowNanos();
  c.exit_code = exit_code;
  if (reason.empty()) reason = exit_code == 0 ? "Completed" : "Error";
  c.reason = std::move(reason);
  c.message = std::move(message);
}

v1::ContainerStatus FakeRuntime::StatusOf(const std::string& id, const Container& c) const {
  v1::ContainerStatus s;
  s.set_id(id);
  *s.mutable_metadata() = c.config.metadata();
  s.set_state(c.state);
  s.set_created_at(c.created_at);
  s.set_started_at(c.started_at);
  s.set_finished_at(c.finished_at);
  s.set_exit_code(c.exit_code);
  *s.mutable_image() = c.config.image();
  s.set_image_ref(c.image_id);
  s.set_image_id(c.image_id);
  s.set_reason(c.reason);
  s.set_message(c.message);
  *s.mutable_labels() = c.config.labels();
  *s.mutable_annotations() = c.config.annotations();
  *s.mutable_mounts() = c.config.mounts();
  s.set_log_path(c.log_path);
  *s.mutable_resources()->mutable_linux() = c.resources;
  s.set_stop_signal(c.config.stop_signal());
  return s;
}

// --- RuntimeService ---

Result<v1::VersionResponse> FakeRuntime::Version() {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("Version"));
  v1::VersionResponse resp;
  resp.set_version("0.1.0");
  resp.set_runtime_name("fake");
  resp.set_runtime_version("1.0.0");
  resp.set_runtime_api_version("v1");
  return resp;
}

Result<v1::RuntimeStatus> FakeRuntime::Status() {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("Status"));
  v1::RuntimeStatus status;
  auto* runtime = status.add_conditions();
  runtime->set_type("RuntimeReady");
  runtime->set_status(true);
  auto* network = status.add_conditions();
  network->set_type("NetworkReady");
  network->set_status(network_ready_);
  if (!network_ready_) {
    network->set_reason("NetworkPluginNotReady");
    network->set_message("Network plugin returns error: cni plugin not initialized");
  }
  return status;
}

Result<std::string> FakeRuntime::RunPodSandbox(const v1::PodSandboxConfig& config,
                                               const std::string& runtime_handler) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("RunPodSandbox"));
  const auto& m = config.metadata();
  if (m.name().empty() || m.namespace_().empty() || m.uid().empty()) {
    return InvalidArgumentError("RunPodSandbox: sandbox metadata needs a name, namespace and uid");
  }
  const std::string name =
      m.name() + "_" + m.namespace_() + "_" + m.uid() + "_" + std::to_string(m.attempt());
  for (const auto& [id, sb] : sandboxes_) {
    const auto& o = sb.config.metadata();
    if (o.name() == m.name() && o.namespace_() == m.namespace_() && o.uid() == m.uid() &&
        o.attempt() == m.attempt()) {
      return InternalError("RunPodSandbox: failed to reserve sandbox name \"" + name +
                           "\": name \"" + name + "\" is reserved for \"" + id + "\"");
    }
  }
  Sandbox sb;
  sb.config = config;
  sb.runtime_handler = runtime_handler;
  sb.created_at = NowNanos();
  if (config.linux().security_context().namespace_options().network() != v1::NODE) {
    sb.ip = "10.88." + std::to_string(next_ip_ / 256) + "." + std::to_string(next_ip_ % 256);
    ++next_ip_;
  }
  std::string id = NewId();
  sandboxes_[id] = std::move(sb);
  return id;
}

keelson::Status FakeRuntime::StopPodSandbox(const std::string& sandbox_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("StopPodSandbox"));
  auto it = sandboxes_.find(sandbox_id);
  if (it == sandboxes_.end()) return keelson::Status::Ok();
  for (auto& [id, c] : containers_) {
    if (c.sandbox_id == sandbox_id && c.state == v1::CONTAINER_RUNNING) Exit(c, 137, "", "");
  }
  it->second.state = v1::SANDBOX_NOTREADY;
  return keelson::Status::Ok();
}

keelson::Status FakeRuntime::RemovePodSandbox(const std::string& sandbox_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("RemovePodSandbox"));
  if (sandboxes_.erase(sandbox_id) == 0) return keelson::Status::Ok();
  std::erase_if(containers_,
                [&](const auto& entry) { return entry.second.sandbox_id == sandbox_id; });
  return keelson::Status::Ok();
}

Result<v1::PodSandboxStatus> FakeRuntime::PodSandboxStatus(const std::string& sandbox_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("PodSandboxStatus"));
  auto it = sandboxes_.find(sandbox_id);
  if (it == sandboxes_.end()) return NotFound("PodSandboxStatus", "sandbox", sandbox_id);
  const Sandbox& sb = it->second;
  v1::PodSandboxStatus s;
  s.set_id(sandbox_id);
  *s.mutable_metadata() = sb.config.metadata();
  s.set_state(sb.state);
  s.set_created_at(sb.created_at);
  s.mutable_network()->set_ip(sb.ip);
  *s.mutable_linux()->mutable_namespaces()->mutable_options() =
      sb.config.linux().security_context().namespace_options();
  *s.mutable_labels() = sb.config.labels();
  *s.mutable_annotations() = sb.config.annotations();
  s.set_runtime_handler(sb.runtime_handler);
  return s;
}

Result<std::vector<v1::PodSandbox>> FakeRuntime::ListPodSandbox(
    const v1::PodSandboxFilter& filter) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ListPodSandbox"));
  std::vector<v1::PodSandbox> out;
  for (const auto& [id, sb] : sandboxes_) {
    if (!filter.id().empty() && filter.id() != id) continue;
    if (filter.has_state() && filter.state().state() != sb.state) continue;
    if (!LabelsMatch(sb.config.labels(), filter.label_selector())) continue;
    v1::PodSandbox& p = out.emplace_back();
    p.set_id(id);
    *p.mutable_metadata() = sb.config.metadata();
    p.set_state(sb.state);
    p.set_created_at(sb.created_at);
    *p.mutable_labels() = sb.config.labels();
    *p.mutable_annotations() = sb.config.annotations();
    p.set_runtime_handler(sb.runtime_handler);
  }
  return out;
}

Result<std::string> FakeRuntime::CreateContainer(const std::string& sandbox_id,
                                                 const v1::ContainerConfig& config,
                                                 const v1::PodSandboxConfig& sandbox_config) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("CreateContainer"));
  auto sb = sandboxes_.find(sandbox_id);
  if (sb == sandboxes_.end()) return NotFound("CreateContainer", "sandbox", sandbox_id);
  if (config.metadata().name().empty()) {
    return InvalidArgumentError("CreateContainer: container config must include metadata");
  }
  std::string image_id = FindImage(config.image().image());
  if (image_id.empty()) {
    return NotFoundError("CreateContainer: failed to resolve image \"" + config.image().image() +
                         "\": not found");
  }
  for (const auto& [id, c] : containers_) {
    if (c.sandbox_id == sandbox_id && c.config.metadata().name() == config.metadata().name() &&
        c.config.metadata().attempt() == config.metadata().attempt()) {
      const std::string name =
          config.metadata().name() + "_" + std::to_string(config.metadata().attempt());
      return InternalError("CreateContainer: failed to reserve container name \"" + name +
                           "\": name \"" + name + "\" is reserved for \"" + id + "\"");
    }
  }
  Container c;
  c.sandbox_id = sandbox_id;
  c.config = config;
  c.image_id = std::move(image_id);
  const std::string& log_dir = sandbox_config.log_directory().empty()
                                   ? sb->second.config.log_directory()
                                   : sandbox_config.log_directory();
  if (!config.log_path().empty() && !log_dir.empty()) {
    c.log_path = log_dir + "/" + config.log_path();
  }
  c.created_at = NowNanos();
  c.resources = config.linux().resources();
  std::string id = NewId();
  containers_[id] = std::move(c);
  return id;
}

keelson::Status FakeRuntime::StartContainer(const std::string& container_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("StartContainer"));
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("StartContainer", "container", container_id);
  Container& c = it->second;
  if (c.state != v1::CONTAINER_CREATED) {
    return InternalError("StartContainer: failed to set starting state for container \"" +
                         container_id + "\": container is in " + StateName(c.state) + " state");
  }
  c.state = v1::CONTAINER_RUNNING;
  c.started_at = NowNanos();
  return keelson::Status::Ok();
}

keelson::Status FakeRuntime::StopContainer(const std::string& container_id,
                                           std::chrono::seconds timeout) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("StopContainer"));
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return keelson::Status::Ok();
  if (it->second.state == v1::CONTAINER_RUNNING) {
    Exit(it->second, timeout.count() > 0 ? 143 : 137, "", "");
  }
  return keelson::Status::Ok();
}

keelson::Status FakeRuntime::RemoveContainer(const std::string& container_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("RemoveContainer"));
  containers_.erase(container_id);
  return keelson::Status::Ok();
}

Result<std::vector<v1::Container>> FakeRuntime::ListContainers(const v1::ContainerFilter& filter) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ListContainers"));
  std::vector<v1::Container> out;
  for (const auto& [id, c] : containers_) {
    if (!filter.id().empty() && filter.id() != id) continue;
    if (!filter.pod_sandbox_id().empty() && filter.pod_sandbox_id() != c.sandbox_id) continue;
    if (filter.has_state() && filter.state().state() != c.state) continue;
    if (!LabelsMatch(c.config.labels(), filter.label_selector())) continue;
    v1::Container& item = out.emplace_back();
    item.set_id(id);
    item.set_pod_sandbox_id(c.sandbox_id);
    *item.mutable_metadata() = c.config.metadata();
    *item.mutable_image() = c.config.image();
    item.set_image_ref(c.image_id);
    item.set_image_id(c.image_id);
    item.set_state(c.state);
    item.set_created_at(c.created_at);
    *item.mutable_labels() = c.config.labels();
    *item.mutable_annotations() = c.config.annotations();
  }
  return out;
}

Result<v1::ContainerStatus> FakeRuntime::ContainerStatus(const std::string& container_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ContainerStatus"));
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("ContainerStatus", "container", container_id);
  return StatusOf(container_id, it->second);
}

keelson::Status FakeRuntime::UpdateContainerResources(
    const std::string& container_id, const v1::LinuxContainerResources& resources) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("UpdateContainerResources"));
  auto it = containers_.find(container_id);
  if (it == containers_.end()) {
    return NotFound("UpdateContainerResources", "container", container_id);
  }
  it->second.resources = resources;
  return keelson::Status::Ok();
}

keelson::Status FakeRuntime::ReopenContainerLog(const std::string& container_id) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ReopenContainerLog"));
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("ReopenContainerLog", "container", container_id);
  if (it->second.state != v1::CONTAINER_RUNNING) {
    return InternalError("ReopenContainerLog: container is not running");
  }
  // containerd opens the log file again with O_CREAT|O_APPEND: a rotated file's path gets
  // a new, empty file.
  if (const std::string& path = it->second.log_path; !path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
      return InternalError("ReopenContainerLog: failed to create container loggers: open " + path +
                           ": " + std::strerror(errno));
    }
    ::close(fd);
  }
  return keelson::Status::Ok();
}

Result<ExecSyncResult> FakeRuntime::ExecSync(const std::string& container_id,
                                             const std::vector<std::string>& cmd,
                                             std::chrono::seconds /*timeout*/) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ExecSync"));
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return NotFound("ExecSync", "container", container_id);
  if (it->second.state != v1::CONTAINER_RUNNING) {
    return InternalError("ExecSync: container is in " + std::string(StateName(it->second.state)) +
                         " state");
  }
  exec_calls_.push_back({container_id, cmd});
  if (auto r = exec_results_.find(container_id); r != exec_results_.end()) return r->second;
  if (auto r = exec_results_.find("*"); r != exec_results_.end()) return r->second;
  return ExecSyncResult();
}

Result<std::string> FakeRuntime::Exec(const v1::ExecRequest& request) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("Exec"));
  if (containers_.count(request.container_id()) == 0) {
    return NotFound("Exec", "container", request.container_id());
  }
  return "http://fake-runtime.invalid/exec/" + NewId().substr(0, 8);
}

Result<std::string> FakeRuntime::Attach(const v1::AttachRequest& request) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("Attach"));
  if (containers_.count(request.container_id()) == 0) {
    return NotFound("Attach", "container", request.container_id());
  }
  return "http://fake-runtime.invalid/attach/" + NewId().substr(0, 8);
}

Result<std::string> FakeRuntime::PortForward(const v1::PortForwardRequest& request) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("PortForward"));
  if (sandboxes_.count(request.pod_sandbox_id()) == 0) {
    return NotFound("PortForward", "sandbox", request.pod_sandbox_id());
  }
  return "http://fake-runtime.invalid/portforward/" + NewId().substr(0, 8);
}

Result<std::vector<v1::ContainerStats>> FakeRuntime::ListContainerStats(
    const v1::ContainerStatsFilter& filter) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ListContainerStats"));
  std::vector<v1::ContainerStats> out;
  const int64_t now = NowNanos();
  for (const auto& [id, c] : containers_) {
    if (!filter.id().empty() && filter.id() != id) continue;
    if (!filter.pod_sandbox_id().empty() && filter.pod_sandbox_id() != c.sandbox_id) continue;
    if (!LabelsMatch(c.config.labels(), filter.label_selector())) continue;
    v1::ContainerStats& stats = out.emplace_back();
    auto* attributes = stats.mutable_attributes();
    attributes->set_id(id);
    *attributes->mutable_metadata() = c.config.metadata();
    *attributes->mutable_labels() = c.config.labels();
    *attributes->mutable_annotations() = c.config.annotations();
    stats.mutable_cpu()->set_timestamp(now);
    stats.mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(0);
    stats.mutable_memory()->set_timestamp(now);
    stats.mutable_memory()->mutable_working_set_bytes()->set_value(0);
  }
  return out;
}

// --- ImageService ---

Result<std::vector<v1::Image>> FakeRuntime::ListImages(const v1::ImageFilter& filter) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ListImages"));
  std::vector<v1::Image> out;
  const std::string& ref = filter.image().image();
  const std::string wanted = ref.empty() ? "" : FindImage(ref);
  if (!ref.empty() && wanted.empty()) return out;
  for (const auto& [id, image] : images_) {
    if (wanted.empty() || wanted == id) out.push_back(image);
  }
  return out;
}

Result<std::optional<v1::Image>> FakeRuntime::ImageStatus(const v1::ImageSpec& image) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ImageStatus"));
  std::string id = FindImage(image.image());
  if (id.empty()) return std::optional<v1::Image>();
  return std::optional<v1::Image>(images_.at(id));
}

Result<std::string> FakeRuntime::PullImage(const v1::ImageSpec& image,
                                           const v1::AuthConfig* /*auth*/,
                                           const v1::PodSandboxConfig* /*sandbox_config*/) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("PullImage"));
  if (std::string id = FindImage(image.image()); !id.empty()) return id;
  auto it = pullable_.find(NormalizeImageRef(image.image()));
  if (it == pullable_.end()) {
    return NotFoundError("PullImage: failed to pull and unpack image \"" +
                         NormalizeImageRef(image.image()) +
                         "\": failed to resolve reference: " + "not found");
  }
  return AddImageLocked(image.image(), it->second);
}

keelson::Status FakeRuntime::RemoveImage(const v1::ImageSpec& image) {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("RemoveImage"));
  if (std::string id = FindImage(image.image()); !id.empty()) images_.erase(id);
  return keelson::Status::Ok();
}

Result<std::vector<v1::FilesystemUsage>> FakeRuntime::ImageFsInfo() {
  std::lock_guard lock(mu_);
  KEELSON_RETURN_IF_ERROR(Enter("ImageFsInfo"));
  uint64_t used = 0;
  for (const auto& [id, image] : images_) used += image.size();
  v1::FilesystemUsage usage;
  usage.set_timestamp(NowNanos());
  usage.mutable_fs_id()->set_mountpoint(
      "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs");
  usage.mutable_used_bytes()->set_value(used);
  usage.mutable_inodes_used()->set_value(images_.size());
  return std::vector<v1::FilesystemUsage>{usage};
}

}  // namespace keelson::kubelet::cri
