#include "kubelet/cri/fake_runtime.h"

#include <thread>

#include "gtest/gtest.h"

namespace keelson::kubelet::cri {
namespace {

using std::chrono::seconds;

constexpr int64_t kNanosPerSecond = 1'000'000'000;

v1::PodSandboxConfig Sandbox(const std::string& name, bool host_network = false) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("default");
  config.mutable_metadata()->set_uid(name + "-uid");
  config.set_log_directory("/var/log/pods/" + name);
  (*config.mutable_labels())["app"] = name;
  if (host_network) {
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
        v1::NODE);
  }
  return config;
}

v1::ContainerConfig Container(const std::string& name, const std::string& image = "busybox") {
  v1::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(image);
  config.set_log_path(name + "/0.log");
  (*config.mutable_labels())["container"] = name;
  return config;
}

class FakeRuntimeTest : public ::testing::Test {
 protected:
  FakeRuntimeTest() : clock_(std::make_shared<FakeClock>()), runtime_(clock_) {
    runtime_.AddImage("busybox");
  }

  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch())
        .count();
  }

  // A running container "name" in a new sandbox "name"; returns {sandbox,
  // container}.
  std::pair<std::string, std::string> RunningContainer(const std::string& name) {
    auto sb = runtime_.RunPodSandbox(Sandbox(name), "");
    EXPECT_TRUE(sb.ok()) << sb.status().ToString();
    auto c = runtime_.CreateContainer(*sb, Container(name), Sandbox(name));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_TRUE(runtime_.StartContainer(*c).ok());
    return {*sb, *c};
  }

  std::shared_ptr<FakeClock> clock_;
  FakeRuntime runtime_;
};

TEST_F(FakeRuntimeTest, ContainerLifecycleWithTimestamps) {
  const int64_t t0 = Now();
  auto sb = runtime_.RunPodSandbox(Sandbox("web"), "runc");
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  EXPECT_EQ(sb->size(), 64u);
  auto sb_status = runtime_.PodSandboxStatus(*sb);
  ASSERT_TRUE(sb_status.ok());
  EXPECT_EQ(sb_status->state(), v1::SANDBOX_READY);
  EXPECT_EQ(sb_status->created_at(), t0);
  EXPECT_EQ(sb_status->network().ip(), "10.88.0.2");
  EXPECT_EQ(sb_status->runtime_handler(), "runc");

  clock_->Advance(seconds(1));
  auto c = runtime_.CreateContainer(*sb, Container("main"), Sandbox("web"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto created = runtime_.ContainerStatus(*c);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->state(), v1::CONTAINER_CREATED);
  EXPECT_EQ(created->created_at(), t0 + kNanosPerSecond);
  EXPECT_EQ(created->started_at(), 0);
  EXPECT_EQ(created->log_path(), "/var/log/pods/web/main/0.log");
  EXPECT_EQ(created->image_ref().rfind("sha256:", 0), 0u);

  clock_->Advance(seconds(1));
  ASSERT_TRUE(runtime_.StartContainer(*c).ok());
  clock_->Advance(seconds(5));
  ASSERT_TRUE(runtime_.ExitContainer(*c, 137, "OOMKilled").ok());
  auto exited = runtime_.ContainerStatus(*c);
  ASSERT_TRUE(exited.ok());
  EXPECT_EQ(exited->state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(exited->started_at(), t0 + 2 * kNanosPerSecond);
  EXPECT_EQ(exited->finished_at(), t0 + 7 * kNanosPerSecond);
  EXPECT_EQ(exited->exit_code(), 137);
  EXPECT_EQ(exited->reason(), "OOMKilled");
  EXPECT_EQ(runtime_.ExitContainer(*c, 0).code(), StatusCode::kFailedPrecondition);

  // A CRI container runs once.
  Status again = runtime_.StartContainer(*c);
  EXPECT_EQ(again.code(), StatusCode::kInternal);
  EXPECT_NE(again.message().find("CONTAINER_EXITED"), std::string::npos) << again.ToString();

  EXPECT_TRUE(runtime_.RemoveContainer(*c).ok());
  EXPECT_EQ(runtime_.ContainerStatus(*c).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(runtime_.RemoveContainer(*c).ok());
  EXPECT_TRUE(runtime_.StopContainer(*c, seconds(1)).ok());
}

TEST_F(FakeRuntimeTest, ExitReasonsDefaultAsContainerdReportsThem) {
  auto [sb, ok] = RunningContainer("ok");
  ASSERT_TRUE(runtime_.ExitContainer(ok, 0).ok());
  EXPECT_EQ(runtime_.ContainerStatus(ok)->reason(), "Completed");
  auto [sb2, failed] = RunningContainer("failed");
  ASSERT_TRUE(runtime_.ExitContainer(failed, 2).ok());
  EXPECT_EQ(runtime_.ContainerStatus(failed)->reason(), "Error");
}

TEST_F(FakeRuntimeTest, CreateContainerErrors) {
  auto sb = runtime_.RunPodSandbox(Sandbox("web"), "");
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ(runtime_.CreateContainer("nope", Container("a"), Sandbox("web")).status().code(),
            StatusCode::kNotFound);
  auto no_image = runtime_.CreateContainer(*sb, Container("a", "nginx:1.25"), Sandbox("web"));
  EXPECT_EQ(no_image.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_image.status().message().find("nginx:1.25"), std::string::npos);
  ASSERT_TRUE(runtime_.CreateContainer(*sb, Container("a"), Sandbox("web")).ok());
  EXPECT_EQ(runtime_.CreateContainer(*sb, Container("a"), Sandbox("web")).status().code(),
            StatusCode::kInternal);
  v1::ContainerConfig retry = Container("a");
  retry.mutable_metadata()->set_attempt(1);
  EXPECT_TRUE(runtime_.CreateContainer(*sb, retry, Sandbox("web")).ok());

  EXPECT_EQ(runtime_.RunPodSandbox(Sandbox("web"), "").status().code(), StatusCode::kInternal);
}

TEST_F(FakeRuntimeTest, StopsAndRemovesAsContainerd) {
  auto [sb, c] = RunningContainer("web");
  auto created = runtime_.CreateContainer(sb, Container("sidecar"), Sandbox("web"));
  ASSERT_TRUE(created.ok());

  // StopContainer with a grace period: the process honoured SIGTERM.
  auto [sb2, graceful] = RunningContainer("graceful");
  ASSERT_TRUE(runtime_.StopContainer(graceful, seconds(30)).ok());
  EXPECT_EQ(runtime_.ContainerStatus(graceful)->exit_code(), 143);

  ASSERT_TRUE(runtime_.StopPodSandbox(sb).ok());
  EXPECT_EQ(runtime_.PodSandboxStatus(sb)->state(), v1::SANDBOX_NOTREADY);
  auto killed = runtime_.ContainerStatus(c);
  EXPECT_EQ(killed->state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(killed->exit_code(), 137);
  EXPECT_EQ(runtime_.ContainerStatus(*created)->state(), v1::CONTAINER_CREATED);

  ASSERT_TRUE(runtime_.RemovePodSandbox(sb).ok());
  EXPECT_EQ(runtime_.PodSandboxStatus(sb).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_.ContainerStatus(c).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_.ContainerStatus(*created).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(runtime_.StopPodSandbox(sb).ok());
  EXPECT_TRUE(runtime_.RemovePodSandbox(sb).ok());
  // The name is free again once the sandbox is gone.
  EXPECT_TRUE(runtime_.RunPodSandbox(Sandbox("web"), "").ok());
}

TEST_F(FakeRuntimeTest, ListsHonourFilters) {
  auto [web, web_c] = RunningContainer("web");
  auto [db, db_c] = RunningContainer("db");
  ASSERT_TRUE(runtime_.StopPodSandbox(db).ok());

  v1::PodSandboxFilter by_label;
  (*by_label.mutable_label_selector())["app"] = "web";
  auto sandboxes = runtime_.ListPodSandbox(by_label);
  ASSERT_TRUE(sandboxes.ok());
  ASSERT_EQ(sandboxes->size(), 1u);
  EXPECT_EQ(sandboxes->front().id(), web);
  v1::PodSandboxFilter not_ready;
  not_ready.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
  sandboxes = runtime_.ListPodSandbox(not_ready);
  ASSERT_EQ(sandboxes->size(), 1u);
  EXPECT_EQ(sandboxes->front().id(), db);
  v1::PodSandboxFilter by_id;
  by_id.set_id(db);
  EXPECT_EQ(runtime_.ListPodSandbox(by_id)->size(), 1u);
  EXPECT_EQ(runtime_.ListPodSandbox(v1::PodSandboxFilter())->size(), 2u);

  v1::ContainerFilter running;
  running.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  auto containers = runtime_.ListContainers(running);
  ASSERT_TRUE(containers.ok());
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ(containers->front().id(), web_c);
  EXPECT_EQ(containers->front().pod_sandbox_id(), web);
  v1::ContainerFilter in_db;
  in_db.set_pod_sandbox_id(db);
  containers = runtime_.ListContainers(in_db);
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ(containers->front().id(), db_c);
  EXPECT_EQ(containers->front().state(), v1::CONTAINER_EXITED);
  v1::ContainerFilter by_label_and_state;
  (*by_label_and_state.mutable_label_selector())["container"] = "db";
  by_label_and_state.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  EXPECT_TRUE(runtime_.ListContainers(by_label_and_state)->empty());

  v1::ContainerStatsFilter stats_in_web;
  stats_in_web.set_pod_sandbox_id(web);
  auto stats = runtime_.ListContainerStats(stats_in_web);
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ(stats->front().attributes().id(), web_c);
}

TEST_F(FakeRuntimeTest, HostNetworkSandboxHasNoIp) {
  auto sb = runtime_.RunPodSandbox(Sandbox("host", /*host_network=*/true), "");
  ASSERT_TRUE(sb.ok());
  auto status = runtime_.PodSandboxStatus(*sb);
  EXPECT_EQ(status->network().ip(), "");
  EXPECT_EQ(status->linux().namespaces().options().network(), v1::NODE);
}

TEST_F(FakeRuntimeTest, FailNextFailsOneCallAndChangesNothing) {
  auto sb = runtime_.RunPodSandbox(Sandbox("web"), "");
  auto c = runtime_.CreateContainer(*sb, Container("main"), Sandbox("web"));
  ASSERT_TRUE(c.ok());
  runtime_.ClearCalls();

  runtime_.FailNext("StartContainer", UnavailableError("StartContainer: injected"));
  runtime_.FailNext("StartContainer", Status(StatusCode::kDeadlineExceeded, "slow"));
  Status first = runtime_.StartContainer(*c);
  EXPECT_EQ(first.code(), StatusCode::kUnavailable);
  EXPECT_EQ(first.message(), "StartContainer: injected");
  EXPECT_EQ(runtime_.StartContainer(*c).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(runtime_.ContainerStatus(*c)->state(), v1::CONTAINER_CREATED);
  EXPECT_TRUE(runtime_.StartContainer(*c).ok());
  EXPECT_EQ(runtime_.ContainerStatus(*c)->state(), v1::CONTAINER_RUNNING);

  std::vector<std::string> expected = {"StartContainer", "StartContainer", "ContainerStatus",
                                       "StartContainer", "ContainerStatus"};
  EXPECT_EQ(runtime_.Calls(), expected);
}

TEST_F(FakeRuntimeTest, DownRuntimeFailsEveryCallWithUnavailable) {
  auto [sb, c] = RunningContainer("web");
  runtime_.FailNext("ContainerStatus", InternalError("queued"));
  runtime_.SetDown(true);
  EXPECT_EQ(runtime_.Version().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(runtime_.ContainerStatus(c).status().code(), StatusCode::kUnavailable);
  // Not mistaken for "already gone".
  EXPECT_EQ(runtime_.RemoveContainer(c).code(), StatusCode::kUnavailable);
  EXPECT_EQ(runtime_.ImageStatus(v1::ImageSpec()).status().code(), StatusCode::kUnavailable);
  runtime_.SetDown(false);
  EXPECT_EQ(runtime_.ContainerStatus(c).status().code(), StatusCode::kInternal);
  EXPECT_EQ(runtime_.ContainerStatus(c)->state(), v1::CONTAINER_RUNNING);
}

TEST_F(FakeRuntimeTest, ExecSyncResults) {
  auto [sb, c] = RunningContainer("web");
  auto plain = runtime_.ExecSync(c, {"true"}, seconds(1));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->exit_code, 0);
  runtime_.SetExecResult("*", {.stdout_data = "any\n", .stderr_data = "", .exit_code = 1});
  runtime_.SetExecResult(c, {.stdout_data = "ok\n", .stderr_data = "", .exit_code = 0});
  auto mine = runtime_.ExecSync(c, {"cat", "/tmp/healthy"}, seconds(1));
  EXPECT_EQ(mine->stdout_data, "ok\n");
  auto [sb2, other] = RunningContainer("other");
  EXPECT_EQ(runtime_.ExecSync(other, {"x"}, seconds(0))->exit_code, 1);

  auto calls = runtime_.ExecCommands();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1].container_id, c);
  EXPECT_EQ(calls[1].cmd, (std::vector<std::string>{"cat", "/tmp/healthy"}));

  ASSERT_TRUE(runtime_.ExitContainer(c, 0).ok());
  EXPECT_EQ(runtime_.ExecSync(c, {"true"}, seconds(1)).status().code(), StatusCode::kInternal);
  EXPECT_EQ(runtime_.ExecSync("nope", {"true"}, seconds(1)).status().code(), StatusCode::kNotFound);
}

TEST_F(FakeRuntimeTest, ImagesPullAndRemove) {
  v1::ImageSpec busybox;
  busybox.set_image("docker.io/library/busybox:latest");
  auto present = runtime_.ImageStatus(busybox);
  ASSERT_TRUE(present.ok() && present->has_value());
  v1::ImageSpec by_id;
  by_id.set_image((*present)->id());
  EXPECT_TRUE(runtime_.ImageStatus(by_id)->has_value());

  v1::ImageSpec nginx;
  nginx.set_image("nginx:1.25");
  EXPECT_FALSE(runtime_.ImageStatus(nginx)->has_value());
  EXPECT_EQ(runtime_.PullImage(nginx, nullptr, nullptr).status().code(), StatusCode::kNotFound);
  runtime_.AddPullableImage("docker.io/library/nginx:1.25", 5000);
  auto pulled = runtime_.PullImage(nginx, nullptr, nullptr);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  auto status = runtime_.ImageStatus(nginx);
  ASSERT_TRUE(status->has_value());
  EXPECT_EQ((*status)->id(), *pulled);
  EXPECT_EQ((*status)->size(), 5000u);
  EXPECT_EQ(runtime_.ListImages(v1::ImageFilter())->size(), 2u);
  EXPECT_EQ(runtime_.ImageFsInfo()->front().used_bytes().value(), 5000u + (1u << 20));

  EXPECT_TRUE(runtime_.RemoveImage(nginx).ok());
  EXPECT_TRUE(runtime_.RemoveImage(nginx).ok());
  EXPECT_FALSE(runtime_.ImageStatus(nginx)->has_value());
}

TEST(NormalizeImageRefTest, AsContainerdNamesImages) {
  EXPECT_EQ(NormalizeImageRef("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(NormalizeImageRef("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(NormalizeImageRef("bitnami/redis"), "docker.io/bitnami/redis:latest");
  EXPECT_EQ(NormalizeImageRef("docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(NormalizeImageRef("registry.k8s.io/pause:3.9"), "registry.k8s.io/pause:3.9");
  EXPECT_EQ(NormalizeImageRef("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(NormalizeImageRef("busybox@sha256:abc"), "docker.io/library/busybox@sha256:abc");
  EXPECT_EQ(NormalizeImageRef("sha256:abc"), "sha256:abc");
}

TEST_F(FakeRuntimeTest, ConcurrentCallsKeepStateConsistent) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string name = "p" + std::to_string(t) + "-" + std::to_string(i);
        auto sb = runtime_.RunPodSandbox(Sandbox(name), "");
        if (!sb.ok()) continue;
        auto c = runtime_.CreateContainer(*sb, Container("main"), Sandbox(name));
        if (c.ok()) runtime_.StartContainer(*c).IgnoreError();
        if (i % 2 == 0) runtime_.RemovePodSandbox(*sb).IgnoreError();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(runtime_.ListPodSandbox(v1::PodSandboxFilter())->size(), 100u);
  v1::ContainerFilter running;
  running.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  EXPECT_EQ(runtime_.ListContainers(running)->size(), 100u);
  EXPECT_EQ(runtime_.Calls().size(), 4u * 50u * 3u + 4u * 25u + 2u);
}

}  // namespace
}  // namespace keelson::kubelet::cri
