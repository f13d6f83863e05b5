// NewGrpcRuntime against a real containerd (Debian's /usr/bin/containerd with
// runc), started by the test in a temp dir with its own socket, state, runc
// root and CNI config dir, so it shares nothing with a containerd the machine
// may already run. Images come from testdata/make_oci_image.py (busybox, and a
// busybox "pause" for sandboxes) through `ctr images import`. Sandboxes use the
// host network, so no CNI plugin runs.
//
// Skipped unless root with containerd, runc, ctr, python3 and a static busybox
// installed.
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kubelet/cri/runtime.h"
#include "test/util/processes.h"

namespace keelson::kubelet::cri {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;
using keelson::testing::Process;
using keelson::testing::RunCommand;
using keelson::testing::TempDir;

constexpr char kBusyboxImage[] = "keelson.local/busybox:1";
constexpr char kPauseImage[] = "keelson.local/pause:1";
// PID 1 of the sandbox: exits on SIGTERM, otherwise waits forever.
constexpr char kPauseScript[] = "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Why the containerd tests cannot run here, or "" when they can.
std::string SkipReason() {
  if (geteuid() != 0) return "needs root: containerd and runc create namespaces and mounts";
  for (const char* tool : {"/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc",
                           "/usr/bin/python3", "/bin/busybox"}) {
    if (access(tool, X_OK) != 0) return std::string(tool) + " is not installed";
  }
  return "";
}

double MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

// A containerd of the test's own. The destructor removes what containerd left
// behind even when a test failed half-way: sandboxes (through the CRI), then
// containers (runc delete), shims, and mounts under the temp dir.
class TestContainerd {
 public:
  TestContainerd() : dir_("keelson-cri") {
    std::ofstream config(dir_.path() / "config.toml");
    const std::string d = dir_.path().string();
    config << "version = 2\n"
           << "root = \"" << d << "/root\"\n"
           << "state = \"" << d << "/state\"\n"
           << "[grpc]\n  address = \"" << socket() << "\"\n"
           << "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"" << d << "/opt\"\n"
           << "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
           << "  sandbox_image = \"" << kPauseImage << "\"\n"
           << "  stream_server_port = \"0\"\n"
           // Without CAP_SYS_RESOURCE (as in some sandboxes) runc may not lower
           // oom_score_adj below containerd's own; the sandbox's -998 would fail.
           << "  restrict_oom_score_adj = true\n"
           << "  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
           << "    bin_dir = \"/usr/lib/cni\"\n"
           << "    conf_dir = \"" << d << "/net.d\"\n"
           << "  "
              "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
           << "    runtime_type = \"io.containerd.runc.v2\"\n"
           << "    "
              "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc."
              "options]\n"
           << "      Root = \"" << runc_root() << "\"\n";
    fs::create_directories(dir_.path() / "net.d");
    fs::create_directories(dir_.path() / "pods");
  }

  ~TestContainerd() { Cleanup(); }

  std::string socket() const { return (dir_.path() / "containerd.sock").string(); }
  const fs::path& dir() const { return dir_.path(); }
  std::string log() const { return ReadFile(dir_.path() / "containerd.log"); }
  // The test's own cgroup (under each hierarchy's root), removed by the
  // destructor.
  std::string cgroup_parent() const { return "/" + dir_.path().filename().string(); }

  // Starts (or restarts) containerd and waits until its CRI answers.
  Status Start() {
    KEELSON_RETURN_IF_ERROR(Launch());
    return WaitReady();
  }

  // Starts (or restarts) the containerd process, without waiting for it.
  Status Launch() {
    return process_.Start(
        {"/usr/bin/containerd", "--config", (dir_.path() / "config.toml").string()},
        dir_.path() / "containerd.out", dir_.path() / "containerd.log");
  }

  Status WaitReady() {
    auto runtime = NewGrpcRuntime({.endpoint = socket(), .call_timeout = seconds(2)});
    auto deadline = SteadyClock::now() + seconds(30);
    Status last = UnavailableError("not tried");
    while (SteadyClock::now() < deadline) {
      if (!process_.running()) return InternalError("containerd exited:\n" + log());
      auto version = runtime->Version();
      if (version.ok()) return Status::Ok();
      last = version.status();
      std::this_thread::sleep_for(milliseconds(100));
    }
    return UnavailableError("containerd did not answer in 30 s: " + last.ToString() + "\n" + log());
  }

  // SIGKILL to containerd alone: its shims and containers live on, as in a
  // runtime restart.
  void Kill() { process_.Signal(SIGKILL); }

  // Builds the busybox and pause images and imports them into the CRI's
  // namespace.
  Status ImportImages() {
    const fs::path archive = dir_.path() / "images.tar";
    std::string spec = std::string("[{\"name\": \"") + kBusyboxImage +
                       "\", \"cmd\": [\"sh\"]}, {\"name\": \"" + kPauseImage +
                       "\", \"entrypoint\": [\"/bin/sh\", \"-c\", \"" + kPauseScript + "\"]}]";
    auto made = RunCommand({"/usr/bin/python3", KEELSON_MAKE_OCI_IMAGE, archive.string(), spec});
    if (made.exit_code != 0) return InternalError("make_oci_image.py: " + made.err);
    auto imported = RunCommand({"/usr/bin/ctr", "--address", socket(), "-n", "k8s.io", "images",
                                "import", archive.string()},
                               "", seconds(60));
    if (imported.exit_code != 0) {
      return InternalError("ctr images import: " + imported.out + imported.err);
    }
    return Status::Ok();
  }

 private:
  std::string runc_root() const { return (dir_.path() / "runc").string(); }

  void Cleanup() {
    if (process_.running()) {
      auto runtime = NewGrpcRuntime({.endpoint = socket(), .call_timeout = seconds(10)});
      auto sandboxes = runtime->ListPodSandbox(v1::PodSandboxFilter());
      if (sandboxes.ok()) {
        for (const auto& sb : *sandboxes) runtime->RemovePodSandbox(sb.id()).IgnoreError();
      }
      process_.Signal(SIGTERM);
    }
    // Containers the CRI did not remove, then the shims that served them.
    const std::string ns_root = runc_root() + "/k8s.io";
    if (fs::exists(ns_root)) {
      auto listed = RunCommand({"/usr/sbin/runc", "--root", ns_root, "list", "-q"});
      std::istringstream ids(listed.out);
      for (std::string id; std::getline(ids, id);) {
        if (!id.empty()) RunCommand({"/usr/sbin/runc", "--root", ns_root, "delete", "-f", id});
      }
    }
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = ReadFile(entry.path() / "cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find("containerd-shim") != std::string::npos &&
          cmdline.find(socket()) != std::string::npos) {
        kill(std::stoi(name), SIGKILL);
      }
    }
    // Deepest first, so that nested mounts go before their parents.
    std::vector<std::string> mounts;
    std::istringstream table(ReadFile("/proc/mounts"));
    const std::string prefix = dir_.path().string() + "/";
    for (std::string line; std::getline(table, line);) {
      std::istringstream fields(line);
      std::string source, target;
      fields >> source >> target;
      if (target.rfind(prefix, 0) == 0) mounts.push_back(target);
    }
    std::sort(mounts.begin(), mounts.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& m : mounts) umount2(m.c_str(), MNT_DETACH);
    // runc removed the containers' cgroups but not their parent (rmdir fails
    // unless empty).
    std::error_code ec;
    rmdir(("/sys/fs/cgroup" + cgroup_parent()).c_str());
    for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      rmdir((hierarchy.path().string() + cgroup_parent()).c_str());
    }
  }

  TempDir dir_;  // declared first: removed after everything in it is unmounted
  Process process_;
};

// A pod on the host network, its logs under `log_dir`, its cgroups under
// `cgroup_parent`.
v1::PodSandboxConfig SandboxConfig(const std::string& name, const fs::path& log_dir,
                                   const std::string& cgroup_parent) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("default");
  config.mutable_metadata()->set_uid(name + "-uid");
  config.set_log_directory(log_dir.string());
  (*config.mutable_labels())["io.kubernetes.pod.name"] = name;
  (*config.mutable_annotations())["keelson.io/test"] = "yes";
  config.mutable_linux()->set_cgroup_parent(cgroup_parent);
  auto* namespaces =
      config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  namespaces->set_network(v1::NODE);
  namespaces->set_pid(v1::CONTAINER);
  return config;
}

v1::ContainerConfig ContainerConfig(const std::string& name, std::vector<std::string> command) {
  v1::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(kBusyboxImage);
  for (auto& arg : command) config.add_command(std::move(arg));
  config.set_log_path(name + "/0.log");
  // As the kubelet does unless the pod shares its process namespace: the
  // container's process is PID 1 of its own namespace (the proto default, POD,
  // would put it in the sandbox's).
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  (*config.mutable_labels())["io.kubernetes.container.name"] = name;
  return config;
}

class GrpcRuntimeContainerdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = SkipReason();
    if (!reason.empty()) GTEST_SKIP() << reason;
    containerd_ = std::make_unique<TestContainerd>();
    Status started = containerd_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    runtime_ = NewGrpcRuntime({.endpoint = "unix://" + containerd_->socket()});
  }

  void TearDown() override {
    runtime_.reset();
    containerd_.reset();
  }

  // Polls `fn` every 50 ms until it returns true or `timeout` passes.
  static bool Eventually(const std::function<bool()>& fn, milliseconds timeout) {
    auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (fn()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return fn();
  }

  std::unique_ptr<TestContainerd> containerd_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(GrpcRuntimeContainerdTest, VersionStatusAndImages) {
  auto version = runtime_->Version();
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->runtime_name(), "containerd");
  EXPECT_FALSE(version->runtime_version().empty());
  EXPECT_EQ(version->runtime_api_version(), "v1");
  std::printf("Version: %s\n", version->ShortDebugString().c_str());

  auto status = runtime_->Status();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  bool runtime_ready = false, network_reported = false;
  for (const auto& c : status->conditions()) {
    if (c.type() == "RuntimeReady") runtime_ready = c.status();
    if (c.type() == "NetworkReady") {
      network_reported = true;
      // No CNI config in net.d: containerd says why the network is not ready.
      EXPECT_FALSE(c.status());
      EXPECT_FALSE(c.message().empty());
      std::printf("NetworkReady: %s\n", c.ShortDebugString().c_str());
    }
  }
  EXPECT_TRUE(runtime_ready);
  EXPECT_TRUE(network_reported);

  v1::ImageSpec busybox;
  busybox.set_image(kBusyboxImage);
  auto absent = runtime_->ImageStatus(busybox);
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->has_value());

  Status imported = containerd_->ImportImages();
  ASSERT_TRUE(imported.ok()) << imported.ToString();
  std::optional<v1::Image> image;
  ASSERT_TRUE(Eventually(
      [&] {
        auto r = runtime_->ImageStatus(busybox);
        if (r.ok() && r->has_value()) image = **r;
        return image.has_value();
      },
      seconds(5)))
      << "the imported image never showed in ImageStatus";
  EXPECT_EQ(image->id().rfind("sha256:", 0), 0u) << image->id();
  EXPECT_GT(image->size(), 1000000u);  // the busybox binary
  EXPECT_NE(std::find(image->repo_tags().begin(), image->repo_tags().end(), kBusyboxImage),
            image->repo_tags().end());
  // The image id names the same image.
  v1::ImageSpec by_id;
  by_id.set_image(image->id());
  auto same = runtime_->ImageStatus(by_id);
  ASSERT_TRUE(same.ok() && same->has_value());
  EXPECT_EQ((*same)->id(), image->id());

  auto images = runtime_->ListImages(v1::ImageFilter());
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  std::vector<std::string> tags;
  for (const auto& i : *images) tags.insert(tags.end(), i.repo_tags().begin(), i.repo_tags().end());
  EXPECT_NE(std::find(tags.begin(), tags.end(), kBusyboxImage), tags.end());
  EXPECT_NE(std::find(tags.begin(), tags.end(), kPauseImage), tags.end());

  auto fs_info = runtime_->ImageFsInfo();
  ASSERT_TRUE(fs_info.ok()) << fs_info.status().ToString();
  ASSERT_FALSE(fs_info->empty());
  EXPECT_NE(fs_info->front().fs_id().mountpoint().find(containerd_->dir().string()),
            std::string::npos);

  // A registry that refuses connections: the pull fails (it does not hang) and
  // says why.
  v1::ImageSpec unreachable;
  unreachable.set_image("127.0.0.1:1/keelson/nothing:1");
  auto pulled = runtime_->PullImage(unreachable, nullptr, nullptr);
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(pulled.status().message().find("PullImage: "), std::string::npos);
  std::printf("PullImage from a closed port: %s\n", pulled.status().ToString().c_str());

  // Removing is idempotent.
  v1::ImageSpec pause;
  pause.set_image(kPauseImage);
  EXPECT_TRUE(runtime_->RemoveImage(pause).ok());
  EXPECT_TRUE(runtime_->RemoveImage(pause).ok());
  auto removed = runtime_->ImageStatus(pause);
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(removed->has_value());
}

TEST_F(GrpcRuntimeContainerdTest, PodAndContainerLifecycle) {
  Status imported = containerd_->ImportImages();
  ASSERT_TRUE(imported.ok()) << imported.ToString();

  const fs::path log_dir = containerd_->dir() / "pods" / "web";
  v1::PodSandboxConfig sandbox_config = SandboxConfig("web", log_dir, containerd_->cgroup_parent());
  auto start = SteadyClock::now();
  auto sandbox = runtime_->RunPodSandbox(sandbox_config, "");
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString() << "\n" << containerd_->log();
  std::printf("RunPodSandbox: %.0f ms\n", MillisSince(start));
  const std::string sandbox_id = *sandbox;

  auto sandbox_status = runtime_->PodSandboxStatus(sandbox_id);
  ASSERT_TRUE(sandbox_status.ok()) << sandbox_status.status().ToString();
  EXPECT_EQ(sandbox_status->id(), sandbox_id);
  EXPECT_EQ(sandbox_status->state(), v1::SANDBOX_READY);
  EXPECT_EQ(sandbox_status->metadata().name(), "web");
  EXPECT_EQ(sandbox_status->linux().namespaces().options().network(), v1::NODE);
  EXPECT_GT(sandbox_status->created_at(), 0);
  std::printf("host-network sandbox IP: \"%s\"\n", sandbox_status->network().ip().c_str());

  v1::PodSandboxFilter by_label;
  (*by_label.mutable_label_selector())["io.kubernetes.pod.name"] = "web";
  auto listed = runtime_->ListPodSandbox(by_label);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id(), sandbox_id);
  EXPECT_EQ(listed->front().annotations().at("keelson.io/test"), "yes");
  (*by_label.mutable_label_selector())["io.kubernetes.pod.name"] = "other";
  listed = runtime_->ListPodSandbox(by_label);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());

  // The same name (and attempt) again is refused while the first sandbox
  // exists.
  auto twin = runtime_->RunPodSandbox(sandbox_config, "");
  ASSERT_FALSE(twin.ok());
  std::printf("RunPodSandbox with a taken name: %s\n", twin.status().ToString().c_str());

  // Errors of CreateContainer: an unknown sandbox, an image the runtime does
  // not have.
  auto no_sandbox =
      runtime_->CreateContainer("0123456789abcdef", ContainerConfig("x", {"true"}), sandbox_config);
  ASSERT_FALSE(no_sandbox.ok());
  EXPECT_EQ(no_sandbox.status().code(), StatusCode::kNotFound) << no_sandbox.status().ToString();
  v1::ContainerConfig no_image_config = ContainerConfig("x", {"true"});
  no_image_config.mutable_image()->set_image("keelson.local/absent:1");
  auto no_image = runtime_->CreateContainer(sandbox_id, no_image_config, sandbox_config);
  ASSERT_FALSE(no_image.ok());
  std::printf("CreateContainer with a missing image: %s\n", no_image.status().ToString().c_str());

  start = SteadyClock::now();
  auto container = runtime_->CreateContainer(
      sandbox_id, ContainerConfig("main", {"sh", "-c", "echo hi; sleep 30"}), sandbox_config);
  ASSERT_TRUE(container.ok()) << container.status().ToString() << "\n" << containerd_->log();
  std::printf("CreateContainer: %.0f ms\n", MillisSince(start));
  const std::string container_id = *container;

  auto created = runtime_->ContainerStatus(container_id);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->state(), v1::CONTAINER_CREATED);
  EXPECT_EQ(created->log_path(), (log_dir / "main/0.log").string());

  start = SteadyClock::now();
  Status started = runtime_->StartContainer(container_id);
  ASSERT_TRUE(started.ok()) << started.ToString() << "\n" << containerd_->log();
  std::printf("StartContainer: %.0f ms\n", MillisSince(start));

  auto running = runtime_->ContainerStatus(container_id);
  ASSERT_TRUE(running.ok()) << running.status().ToString();
  EXPECT_EQ(running->state(), v1::CONTAINER_RUNNING);
  EXPECT_EQ(running->metadata().name(), "main");
  EXPECT_GT(running->started_at(), running->created_at() - 1);
  EXPECT_EQ(running->labels().at("io.kubernetes.container.name"), "main");
  EXPECT_FALSE(running->image_ref().empty());
  std::printf("running: image %s image_ref %s\n", running->image().ShortDebugString().c_str(),
              running->image_ref().c_str());

  v1::ContainerFilter in_sandbox;
  in_sandbox.set_pod_sandbox_id(sandbox_id);
  in_sandbox.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  auto containers = runtime_->ListContainers(in_sandbox);
  ASSERT_TRUE(containers.ok()) << containers.status().ToString();
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ(containers->front().id(), container_id);
  in_sandbox.mutable_state()->set_state(v1::CONTAINER_EXITED);
  containers = runtime_->ListContainers(in_sandbox);
  ASSERT_TRUE(containers.ok());
  EXPECT_TRUE(containers->empty());

  start = SteadyClock::now();
  auto ok = runtime_->ExecSync(container_id, {"echo", "ok"}, seconds(10));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  std::printf("ExecSync echo: %.0f ms\n", MillisSince(start));
  EXPECT_EQ(ok->stdout_data, "ok\n");
  EXPECT_EQ(ok->stderr_data, "");
  EXPECT_EQ(ok->exit_code, 0);
  auto three = runtime_->ExecSync(container_id, {"sh", "-c", "echo bad >&2; exit 3"}, seconds(0));
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  EXPECT_EQ(three->exit_code, 3);
  EXPECT_EQ(three->stderr_data, "bad\n");
  start = SteadyClock::now();
  auto slow = runtime_->ExecSync(container_id, {"sleep", "10"}, seconds(1));
  std::printf("ExecSync past its timeout: %s after %.0f ms\n",
              slow.ok() ? ("exit " + std::to_string(slow->exit_code)).c_str()
                        : slow.status().ToString().c_str(),
              MillisSince(start));
  EXPECT_LT(MillisSince(start), 8000);
  auto missing_binary = runtime_->ExecSync(container_id, {"/no/such/binary"}, seconds(5));
  std::printf("ExecSync of a missing binary: %s\n",
              missing_binary.ok() ? ("exit " + std::to_string(missing_binary->exit_code)).c_str()
                                  : missing_binary.status().ToString().c_str());

  auto stats = runtime_->ListContainerStats(v1::ContainerStatsFilter());
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->size(), 1u);

  // busybox sh as PID 1 has no SIGTERM handler, so the kernel drops the signal:
  // the stop takes the whole timeout and ends in SIGKILL.
  start = SteadyClock::now();
  Status stopped = runtime_->StopContainer(container_id, seconds(2));
  ASSERT_TRUE(stopped.ok()) << stopped.ToString();
  double stop_ms = MillisSince(start);
  std::printf("StopContainer (timeout 2 s, SIGTERM ignored): %.0f ms\n", stop_ms);
  EXPECT_GE(stop_ms, 1900);

  auto exited = runtime_->ContainerStatus(container_id);
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_EQ(exited->state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(exited->exit_code(), 137);
  EXPECT_GE(exited->finished_at(), exited->started_at());
  std::printf("after StopContainer: exit %d reason \"%s\" message \"%s\"\n", exited->exit_code(),
              exited->reason().c_str(), exited->message().c_str());
  EXPECT_TRUE(runtime_->StopContainer(container_id, seconds(2)).ok()) << "stop is idempotent";

  // CRI log format: "<RFC 3339 time with nanoseconds> <stream> <F|P> <text>".
  std::string log = ReadFile(log_dir / "main/0.log");
  std::printf("container log: %s", log.c_str());
  const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) stdout F hi\n)");
  EXPECT_TRUE(std::regex_match(log, line)) << log;

  // A container that exits by itself, with a code of its own.
  auto quitter = runtime_->CreateContainer(
      sandbox_id, ContainerConfig("quitter", {"sh", "-c", "exit 7"}), sandbox_config);
  ASSERT_TRUE(quitter.ok()) << quitter.status().ToString();
  ASSERT_TRUE(runtime_->StartContainer(*quitter).ok());
  std::optional<v1::ContainerStatus> quit;
  ASSERT_TRUE(Eventually(
      [&] {
        auto s = runtime_->ContainerStatus(*quitter);
        if (s.ok() && s->state() == v1::CONTAINER_EXITED) quit = *s;
        return quit.has_value();
      },
      seconds(10)));
  EXPECT_EQ(quit->exit_code(), 7);
  EXPECT_EQ(quit->reason(), "Error");
  // Starting it again is refused: a CRI container runs once.
  Status restart = runtime_->StartContainer(*quitter);
  EXPECT_FALSE(restart.ok());
  std::printf("StartContainer of an exited container: %s\n", restart.ToString().c_str());

  EXPECT_TRUE(runtime_->RemoveContainer(container_id).ok());
  auto gone = runtime_->ContainerStatus(container_id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().ToString();
  EXPECT_EQ(gone.status().message().rfind("ContainerStatus: ", 0), 0u);
  std::printf("ContainerStatus of a removed container: %s\n", gone.status().ToString().c_str());
  EXPECT_TRUE(runtime_->RemoveContainer(container_id).ok()) << "remove is idempotent";
  EXPECT_TRUE(runtime_->StopContainer(container_id, seconds(1)).ok());

  start = SteadyClock::now();
  Status sandbox_stopped = runtime_->StopPodSandbox(sandbox_id);
  ASSERT_TRUE(sandbox_stopped.ok()) << sandbox_stopped.ToString();
  std::printf("StopPodSandbox: %.0f ms\n", MillisSince(start));
  auto not_ready = runtime_->PodSandboxStatus(sandbox_id);
  ASSERT_TRUE(not_ready.ok()) << not_ready.status().ToString();
  EXPECT_EQ(not_ready->state(), v1::SANDBOX_NOTREADY);

  // RemovePodSandbox takes the sandbox's remaining (exited) container with it.
  EXPECT_TRUE(runtime_->RemovePodSandbox(sandbox_id).ok());
  auto sandbox_gone = runtime_->PodSandboxStatus(sandbox_id);
  ASSERT_FALSE(sandbox_gone.ok());
  EXPECT_EQ(sandbox_gone.status().code(), StatusCode::kNotFound)
      << sandbox_gone.status().ToString();
  auto quitter_gone = runtime_->ContainerStatus(*quitter);
  EXPECT_EQ(quitter_gone.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(runtime_->StopPodSandbox(sandbox_id).ok()) << "stop is idempotent";
  EXPECT_TRUE(runtime_->RemovePodSandbox(sandbox_id).ok()) << "remove is idempotent";
  auto none = runtime_->ListPodSandbox(v1::PodSandboxFilter());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// containerd killed and started again, as when it is upgraded or crashes: the
// client fails fast while it is gone and works again from its first call once
// it is back; the pod sandbox outlives the restart (its shim kept running).
TEST_F(GrpcRuntimeContainerdTest, ReconnectsAfterRuntimeRestart) {
  Status imported = containerd_->ImportImages();
  ASSERT_TRUE(imported.ok()) << imported.ToString();
  auto sandbox =
      runtime_->RunPodSandbox(SandboxConfig("survivor", containerd_->dir() / "pods" / "survivor",
                                            containerd_->cgroup_parent()),
                              "");
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();

  containerd_->Kill();
  for (int i = 0; i < 3; ++i) {
    auto start = SteadyClock::now();
    auto down = runtime_->PodSandboxStatus(*sandbox);
    ASSERT_FALSE(down.ok());
    EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().ToString();
    EXPECT_LT(MillisSince(start), 3000);
  }

  Status launched = containerd_->Launch();
  ASSERT_TRUE(launched.ok()) << launched.ToString();
  // containerd serves within some 20 ms of starting; the client must not lag
  // behind by more than a poll (gRPC left alone would finish the handshake only
  // at its 5 s backup poll).
  auto start = SteadyClock::now();
  Result<v1::PodSandboxStatus> back = UnavailableError("not called");
  EXPECT_TRUE(Eventually(
      [&] {
        back = runtime_->PodSandboxStatus(*sandbox);
        return back.ok();
      },
      seconds(3)))
      << back.status().ToString() << "\n"
      << containerd_->log();
  std::printf("client working again %.0f ms after containerd was started\n", MillisSince(start));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->state(), v1::SANDBOX_READY);
}

// Nothing listens: no socket file at all, or a socket file nobody accepts on.
TEST(GrpcRuntimeTest, UnavailableFastWhenNothingListens) {
  TempDir dir("keelson-cri-down");
  const std::string missing = (dir.path() / "missing.sock").string();
  const std::string stale = (dir.path() / "stale.sock").string();
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", stale.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);  // the file stays; connecting to it is refused

  for (const std::string& endpoint : {missing, "unix://" + stale}) {
    auto runtime = NewGrpcRuntime({.endpoint = endpoint, .call_timeout = seconds(10)});
    for (int i = 0; i < 2; ++i) {  // the first call dials; the second finds the channel failed
      auto start = SteadyClock::now();
      auto version = runtime->Version();
      ASSERT_FALSE(version.ok());
      EXPECT_EQ(version.status().code(), StatusCode::kUnavailable)
          << endpoint << ": " << version.status().ToString();
      EXPECT_EQ(version.status().message().rfind("Version: ", 0), 0u);
      EXPECT_LT(MillisSince(start), 3000) << endpoint;
    }
    auto start = SteadyClock::now();
    Status removed = runtime->RemoveContainer("abc");
    EXPECT_EQ(removed.code(), StatusCode::kUnavailable) << "not mistaken for NotFound";
    EXPECT_LT(MillisSince(start), 3000);
  }
}

TEST(GrpcRuntimeTest, RejectsEndpointsThatAreNotUnixSockets) {
  for (const char* endpoint : {"", "tcp://127.0.0.1:1234", "unix://"}) {
    auto runtime = NewGrpcRuntime({.endpoint = endpoint});
    auto version = runtime->Version();
    ASSERT_FALSE(version.ok());
    EXPECT_EQ(version.status().code(), StatusCode::kInvalidArgument) << endpoint;
    EXPECT_EQ(runtime->RemovePodSandbox("x").code(), StatusCode::kInvalidArgument) << endpoint;
  }
}

}  // namespace
}  // namespace keelson::kubelet::cri
