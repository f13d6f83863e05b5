#include "kubelet/log_rotation.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kubelet/cri/fake_runtime.h"

namespace keelson::kubelet {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::runtime::v1;
using namespace std::chrono_literals;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Append(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << data;
}

// What a gzip file holds, read back through zlib; "<not gzip>" when it is not one.
std::string Gunzip(const fs::path& p) {
  gzFile gz = gzopen(p.c_str(), "rb");
  if (gz == nullptr) return "<no file>";
  if (gzdirect(gz)) {
    gzclose(gz);
    return "<not gzip>";
  }
  std::string out;
  char buf[4096];
  int n;
  while ((n = gzread(gz, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(gz);
  return out;
}

// The file names in `dir`, sorted.
std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class LogRotationTest : public ::testing::Test {
 protected:
  LogRotationTest()
      : dir_(fs::temp_directory_path() /
             ("keelson-logrot-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        clock_(std::make_shared<FakeClock>()),
        runtime_(clock_) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    runtime_.AddImage("busybox");
  }
  ~LogRotationTest() override { fs::remove_all(dir_); }

  // A container of the pod `pod` (uid `pod`-uid) whose log is
  // <dir>/pods/default_<pod>_<uid>/c/0.log; started unless `start` is false. Returns its id; log_
  // is its log path.
  std::string Container(const std::string& pod, bool start = true) {
    v1::PodSandboxConfig sb;
    sb.mutable_metadata()->set_name(pod);
    sb.mutable_metadata()->set_namespace_("default");
    sb.mutable_metadata()->set_uid(pod + "-uid");
    sb.set_log_directory((dir_ / "pods" / ("default_" + pod + "_" + pod + "-uid")).string());
    fs::create_directories(fs::path(sb.log_directory()) / "c");
    auto sandbox = runtime_.RunPodSandbox(sb, "");
    EXPECT_TRUE(sandbox.ok()) << sandbox.status().ToString();
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name("c");
    c.mutable_image()->set_image("busybox");
    c.set_log_path("c/0.log");
    auto id = runtime_.CreateContainer(*sandbox, c, sb);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (start) {
      EXPECT_TRUE(runtime_.StartContainer(*id).ok());
    }
    log_ = fs::path(sb.log_directory()) / "c/0.log";
    return *id;
  }

  std::unique_ptr<ContainerLogManager> Manager(int64_t max_size, int max_files, int workers = 1) {
    ContainerLogPolicy p;
    p.max_size_bytes = max_size;
    p.max_files = max_files;
    p.workers = workers;
    auto m = ContainerLogManager::Start(&runtime_, p, clock_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(*m) : nullptr;
  }

  int Reopens() const {
    auto calls = runtime_.Calls();
    return static_cast<int>(std::count(calls.begin(), calls.end(), "ReopenContainerLog"));
  }

  fs::path dir_;
  std::shared_ptr<FakeClock> clock_;
  cri::FakeRuntime runtime_;
  fs::path log_;
};

TEST_F(LogRotationTest, PolicyIsValidatedWithUpstreamsWords) {
  ContainerLogPolicy p;
  EXPECT_TRUE(ValidateContainerLogPolicy(p).ok());
  p.max_files = 1;
  auto s = ContainerLogManager::Start(&runtime_, p, clock_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "invalid configuration: containerLogMaxFiles (--container-log-max-files) 1 must be "
            "greater than 1");
  p.max_files = 2;
  p.max_size_bytes = 0;
  EXPECT_FALSE(ValidateContainerLogPolicy(p).ok());
  p.max_size_bytes = 1;
  p.workers = 0;
  EXPECT_FALSE(ValidateContainerLogPolicy(p).ok());
}

TEST_F(LogRotationTest, AFileBelowMaxSizeIsLeftAlone) {
  std::string id = Container("small");
  Append(log_, std::string(99, 'x'));
  auto m = Manager(100, 3);
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  EXPECT_EQ(Names(log_.parent_path()), std::vector<std::string>{"0.log"});
  EXPECT_EQ(Reopens(), 0);
}

TEST_F(LogRotationTest, AFileAtMaxSizeIsRenamedWithItsTimeAndReopened) {
  // Upstream's name: the local time as YYYYMMDD-HHMMSS (the fake clock starts at
  // 2026-01-01T00:00:00Z).
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  std::string id = Container("web");
  Append(log_, std::string(100, 'a'));
  auto m = Manager(100, 3);
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  const std::string rotated = "0.log.20260101-000000";
  EXPECT_EQ(Names(log_.parent_path()), (std::vector<std::string>{"0.log", rotated}));
  EXPECT_EQ(ReadAll(log_.parent_path() / rotated), std::string(100, 'a'));
  EXPECT_EQ(fs::file_size(log_), 0u);  // the runtime's new file
  EXPECT_EQ(Reopens(), 1);
}

// Each rotation keeps the newest rotated file as it is and gzips the older ones; with
// max_files 3 there are never more than three files.
TEST_F(LogRotationTest, OlderRotatedFilesAreGzippedAndTheOldestRemoved) {
  std::string id = Container("web");
  auto m = Manager(100, 3);
  std::vector<std::string> stamps;
  for (int round = 0; round < 5; ++round) {
    Append(log_, std::string(150, static_cast<char>('a' + round)));
    stamps.push_back(RotationTimestamp(clock_->Now()));
    ASSERT_TRUE(m->RotateContainerLog(id).ok()) << round;
    auto names = Names(log_.parent_path());
    EXPECT_LE(names.size(), 3u) << round;
    clock_->Advance(1min);
  }
  auto names = Names(log_.parent_path());
  EXPECT_EQ(names, (std::vector<std::string>{"0.log", "0.log." + stamps[3] + ".gz",
                                             "0.log." + stamps[4]}));
  EXPECT_EQ(Gunzip(log_.parent_path() / names[1]), std::string(150, 'd'));
  EXPECT_EQ(ReadAll(log_.parent_path() / names[2]), std::string(150, 'e'));
}

TEST_F(LogRotationTest, MaxFilesFiveKeepsThreeRotatedFiles) {
  std::string id = Container("web");
  auto m = Manager(5, 5);
  for (int round = 0; round < 8; ++round) {
    Append(log_, "line " + std::to_string(round) + "\n");
    ASSERT_TRUE(m->RotateContainerLog(id).ok()) << round;
    clock_->Advance(1s);
  }
  auto names = Names(log_.parent_path());
  ASSERT_EQ(names.size(), 5u);
  EXPECT_EQ(names[0], "0.log");
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(names[i].ends_with(".gz")) << names[i];
  EXPECT_FALSE(names[4].ends_with(".gz"));
  EXPECT_EQ(Gunzip(log_.parent_path() / names[1]), "line 4\n");
  EXPECT_EQ(ReadAll(log_.parent_path() / names[4]), "line 7\n");
}

TEST_F(LogRotationTest, AFailedReopenRenamesTheFileBack) {
  std::string id = Container("web");
  Append(log_, std::string(200, 'z'));
  auto m = Manager(100, 3);
  runtime_.FailNext("ReopenContainerLog", InternalError("ReopenContainerLog: boom"));
  Status s = m->RotateContainerLog(id);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(Names(log_.parent_path()), std::vector<std::string>{"0.log"});
  EXPECT_EQ(ReadAll(log_), std::string(200, 'z'));
  // The next round rotates it.
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  EXPECT_EQ(Names(log_.parent_path()).size(), 2u);
}

TEST_F(LogRotationTest, LeftoversOfAnInterruptedRotationAreRemoved) {
  std::string id = Container("web");
  const fs::path d = log_.parent_path();
  Append(d / "0.log.20250101-000000.gz", "old");           // compressed: kept
  Append(d / "0.log.20250101-000100", "half compressed");  // its .gz exists: goes
  Append(d / "0.log.20250101-000100.gz", "x");
  Append(d / "0.log.20250101-000200.tmp", "partial");  // a temporary file: goes
  Append(d / "10.log", "another attempt");             // not this log's
  Append(log_, std::string(100, 'n'));
  auto m = Manager(100, 4);
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  EXPECT_EQ(Names(d), (std::vector<std::string>{
                          "0.log", "0.log.20250101-000000.gz", "0.log.20250101-000100.gz",
                          "0.log." + RotationTimestamp(clock_->Now()), "10.log"}));
}

TEST_F(LogRotationTest, AMissingLiveFileIsReopened) {
  std::string id = Container("web");
  ASSERT_FALSE(fs::exists(log_));
  auto m = Manager(100, 3);
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  EXPECT_TRUE(fs::exists(log_));
  EXPECT_EQ(Reopens(), 1);
}

TEST_F(LogRotationTest, TwoRotationsInOneSecondDoNotOverwrite) {
  std::string id = Container("web");
  auto m = Manager(10, 5);
  Append(log_, "first rotation\n");
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  Append(log_, "second one, same second\n");
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  const fs::path rotated = log_.string() + "." + RotationTimestamp(clock_->Now());
  EXPECT_EQ(ReadAll(rotated), "first rotation\n");
  EXPECT_EQ(ReadAll(log_), "second one, same second\n");
  clock_->Advance(1s);
  ASSERT_TRUE(m->RotateContainerLog(id).ok());
  EXPECT_EQ(Gunzip(rotated.string() + ".gz"), "first rotation\n");
}

TEST_F(LogRotationTest, CleanRemovesTheLiveAndRotatedFiles) {
  std::string id = Container("web");
  auto m = Manager(10, 5);
  for (int i = 0; i < 3; ++i) {
    Append(log_, "some output line\n");
    ASSERT_TRUE(m->RotateContainerLog(id).ok());
    clock_->Advance(1s);
  }
  ASSERT_EQ(Names(log_.parent_path()).size(), 4u);
  Append(log_.parent_path() / "1.log", "the next attempt's");
  ASSERT_TRUE(m->Clean(id).ok());
  EXPECT_EQ(Names(log_.parent_path()), std::vector<std::string>{"1.log"});
  EXPECT_EQ(m->Clean("no-such-container").code(), StatusCode::kNotFound);
}

// RotateLogs queues the running containers for the workers; an exited container's file is
// not rotated (it gets no new output).
TEST_F(LogRotationTest, WorkersRotateRunningContainersOnly) {
  std::string running = Container("running");
  fs::path running_log = log_;
  Append(running_log, std::string(500, 'r'));
  std::string exited = Container("exited");
  fs::path exited_log = log_;
  Append(exited_log, std::string(500, 'e'));
  ASSERT_TRUE(runtime_.ExitContainer(exited, 0).ok());
  std::string created = Container("created", /*start=*/false);
  auto m = Manager(100, 3, /*workers=*/2);
  ASSERT_TRUE(m->RotateLogs().ok());
  for (int i = 0; i < 500 && m->Checked() < 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(m->Checked(), 1u);
  EXPECT_EQ(Names(running_log.parent_path()).size(), 2u);
  EXPECT_EQ(Names(exited_log.parent_path()), std::vector<std::string>{"0.log"});
  runtime_.SetDown(true);
  EXPECT_EQ(m->RotateLogs().code(), StatusCode::kUnavailable);
  m->Stop();
}

TEST_F(LogRotationTest, PodLogDirectoriesOfGonePodsAreRemoved) {
  const fs::path pods = dir_ / "pods";
  fs::create_directories(pods / "default_web_u-1/c");
  Append(pods / "default_web_u-1/c/0.log", "x");
  Append(pods / "default_web_u-1/c/0.log.20250101-000000.gz", "x");
  fs::create_directories(pods / "kube-system_dns_u-2/c");
  fs::create_directories(pods / "default_gone_u-3/c");
  Append(pods / "default_gone_u-3/c/0.log.20250101-000000.gz", "x");
  EXPECT_EQ(PodUidOfLogDirectory("default_web_u-1"), "u-1");
  int removed = RemovePodLogDirectories(
      pods.string(), [](const std::string& uid) { return uid == "u-1" || uid == "u-2"; });
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(Names(pods), (std::vector<std::string>{"default_web_u-1", "kube-system_dns_u-2"}));
  EXPECT_EQ(Names(pods / "default_web_u-1/c").size(), 2u);
}

}  // namespace
}  // namespace keelson::kubelet
