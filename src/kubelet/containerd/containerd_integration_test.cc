// ContainerdSupervisor against the real containerd, with the repository's own
// images (images/: the pause image and the busybox test image): start, import,
// run containers, kill containerd and see it come back with the containers
// still running, detach and adopt, stop. Skipped (with the reason) unless run
// as root with containerd, ctr and runc installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kubelet/containerd/containerd.h"

#ifndef KEELSON_PAUSE_ARCHIVE
#error "KEELSON_PAUSE_ARCHIVE must name the pause image archive (images/CMakeLists.txt)"
#endif

namespace keelson::kubelet::containerd {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

Output Sh(const std::string& command) {
  Output out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = ::fread(buf, 1, sizeof(buf), p)) > 0) out.text.append(buf, n);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Alive(pid_t pid) {
  std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  auto paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z';
}

template <typename Pred>
bool Eventually(Pred pred, milliseconds timeout = milliseconds(20000)) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

// Unmounts everything mounted under `dir`, deepest first (overlay rootfs, shm,
// netns).
void UnmountUnder(const std::string& dir) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string source, target;
    fields >> source >> target;
    if (target == dir || target.starts_with(dir + "/")) mounts.push_back(target);
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& m : mounts) {
    if (::umount2(m.c_str(), MNT_DETACH) != 0) {
      ADD_FAILURE() << "cannot unmount " << m << ": " << std::strerror(errno);
    }
  }
}

class ContainerdIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (containerd, runc, overlay mounts)";
    for (const char* tool : {"containerd", "ctr", "runc", "containerd-shim-runc-v2"}) {
      if (Sh(std::string("command -v ") + tool).exit_code != 0) {
        GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh installs it)";
      }
    }
    for (const char* archive : {KEELSON_PAUSE_ARCHIVE, KEELSON_BUSYBOX_ARCHIVE}) {
      ASSERT_TRUE(fs::exists(archive)) << archive << " is missing: build the keelson_images target";
    }
    char tmpl[] = "/tmp/keelson-ctd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    if (sup_ != nullptr) {
      // Containers a failed test left behind: their shims are found by our
      // socket.
      std::string socket = sup_->SocketPath();
      for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string cmdline = Slurp(entry.path().string() + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find("containerd-shim") != std::string::npos &&
            cmdline.find(socket) != std::string::npos) {
          ::kill(std::stoi(name), SIGKILL);
        }
      }
      EXPECT_TRUE(sup_->Stop().ok());
      sup_.reset();
    }
    UnmountUnder(dir_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
    EXPECT_FALSE(ec) << "cannot remove " << dir_ << ": " << ec.message();
  }

  ContainerdOptions Options() {
    ContainerdOptions options;
    options.data_dir = dir_;
    options.stop_on_exit = true;
    options.restart_backoff_initial = milliseconds(100);
    return options;
  }

  Output Ctr(const std::string& args) {
    return Sh(sup_->CtrBinary() + " --address " + sup_->SocketPath() + " -n k8s.io " + args);
  }

  void ImportBoth() {
    Status pause =
        ImportImages(sup_->Endpoint(), KEELSON_PAUSE_ARCHIVE, {.ctr_binary = sup_->CtrBinary()});
    ASSERT_TRUE(pause.ok()) << pause.ToString();
    Status busybox =
        ImportImages(sup_->Endpoint(), KEELSON_BUSYBOX_ARCHIVE, {.ctr_binary = sup_->CtrBinary()});
    ASSERT_TRUE(busybox.ok()) << busybox.ToString();
  }

  // The pid of a running task, or 0.
  pid_t TaskPid(const std::string& id) {
    std::stringstream lines(Ctr("task ls").text);
    std::string task, pid, status;
    std::string header;
    std::getline(lines, header);
    while (lines >> task >> pid >> status) {
      if (task == id && status == "RUNNING") return std::stoi(pid);
    }
    return 0;
  }

  std::string dir_;
  std::unique_ptr<ContainerdSupervisor> sup_;
};

TEST_F(ContainerdIntegrationTest, ConfigIsReadTheWayItIsMeant) {
  // containerd ignores keys it does not know: its own dump of the effective
  // config shows that each setting landed where containerd reads it.
  auto started = ContainerdSupervisor::Start(Options());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  sup_ = std::move(started).value();
  Output dump = Sh("containerd --config " + sup_->ConfigPath() + " config dump");
  ASSERT_EQ(dump.exit_code, 0) << dump.text;
  for (const std::string& want : {
           "root = \"" + dir_ + "/containerd/root\"",
           "address = \"" + dir_ + "/containerd/containerd.sock\"",
           std::string("sandbox_image = \"keelson.local/pause:3.10\""),
           std::string("netns_mounts_under_state_dir = true"),
           std::string("stream_server_port = \"0\""),
           "conf_dir = \"" + dir_ + "/containerd/net.d\"",
           std::string("bin_dir = \"/usr/lib/cni\""),
           std::string("SystemdCgroup = false"),
           std::string("restrict_oom_score_adj = true"),
           "Root = \"" + dir_ + "/containerd/runc\"",
       }) {
    EXPECT_NE(dump.text.find(want), std::string::npos) << want << "\n" << dump.text;
  }
  Output plugins = Ctr("plugins ls");
  ASSERT_EQ(plugins.exit_code, 0) << plugins.text;
  bool cri_ok = false;
  std::stringstream lines(plugins.text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("io.containerd.grpc.v1") != std::string::npos &&
        line.find(" cri ") != std::string::npos) {
      cri_ok = line.find(" ok") != std::string::npos;
    }
  }
  EXPECT_TRUE(cri_ok) << "the CRI plugin did not load:\n" << plugins.text;
}

TEST_F(ContainerdIntegrationTest, ImportsAndRunsTheRepositoryImages) {
  auto started = ContainerdSupervisor::Start(Options());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  sup_ = std::move(started).value();
  auto began = SteadyClock::now();
  ImportBoth();
  std::cerr << "imported both images in "
            << std::chrono::duration_cast<milliseconds>(SteadyClock::now() - began).count()
            << " ms\n";

  auto names = ListImageNames(sup_->Endpoint(), {.ctr_binary = sup_->CtrBinary()});
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  for (const char* want : {KEELSON_PAUSE_IMAGE, KEELSON_BUSYBOX_IMAGE}) {
    EXPECT_NE(std::find(names->begin(), names->end(), want), names->end()) << want;
  }
  // Importing again replaces the images and is not an error.
  Status again =
      ImportImages(sup_->Endpoint(), KEELSON_BUSYBOX_ARCHIVE, {.ctr_binary = sup_->CtrBinary()});
  EXPECT_TRUE(again.ok()) << again.ToString();

  // busybox: applets on PATH, nobody in /etc/passwd, a writable /tmp.
  Output run = Ctr(std::string("run --rm ") + KEELSON_BUSYBOX_IMAGE +
                   " bb-run sh -c 'echo hello from $(busybox | head -1 | cut -d\" \" -f2); "
                   "id -u nobody; touch /tmp/x && echo tmp-ok; wget --help >/dev/null 2>&1;"
                   " echo wget=$?'");
  EXPECT_EQ(run.exit_code, 0) << run.text;
  EXPECT_NE(run.text.find("hello from v1."), std::string::npos) << run.text;
  EXPECT_NE(run.text.find("65534"), std::string::npos) << run.text;
  EXPECT_NE(run.text.find("tmp-ok"), std::string::npos) << run.text;
  EXPECT_NE(run.text.find("wget=0"), std::string::npos) << run.text;

  // pause, as PID 1 of its container, ends with status 0 on SIGTERM (as PID 1
  // it would ignore SIGTERM without a handler) and reports its version.
  Output version = Ctr(std::string("run --rm ") + KEELSON_PAUSE_IMAGE + " pause-v /pause -v");
  EXPECT_EQ(version.exit_code, 0) << version.text;
  EXPECT_NE(version.text.find("pause.c v3.10"), std::string::npos) << version.text;
  std::string rc_file = dir_ + "/pause.rc";
  ASSERT_EQ(Sh("(" + sup_->CtrBinary() + " --address " + sup_->SocketPath() +
               " -n k8s.io run --rm " + KEELSON_PAUSE_IMAGE + " pause-1 >" + dir_ +
               "/pause.out 2>&1; echo $? >" + rc_file + ") </dev/null >/dev/null 2>&1 &")
                .exit_code,
            0);
  ASSERT_TRUE(Eventually([&] { return TaskPid("pause-1") != 0; })) << Ctr("task ls").text;
  EXPECT_EQ(Ctr("task kill -s SIGTERM pause-1").exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !Slurp(rc_file).empty(); }))
      << "pause ignored SIGTERM as PID 1";
  EXPECT_EQ(Slurp(rc_file), "0\n") << Slurp(dir_ + "/pause.out");
}

TEST_F(ContainerdIntegrationTest, ContainersOutliveAContainerdRestart) {
  auto started = ContainerdSupervisor::Start(Options());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  sup_ = std::move(started).value();
  ImportBoth();
  Output run = Ctr(std::string("run -d ") + KEELSON_BUSYBOX_IMAGE + " sleeper sleep 600");
  ASSERT_EQ(run.exit_code, 0) << run.text;
  ASSERT_TRUE(Eventually([&] { return TaskPid("sleeper") != 0; })) << Ctr("task ls").text;
  pid_t task = TaskPid("sleeper");

  pid_t first = sup_->Pid();
  auto killed_at = SteadyClock::now();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return sup_->Pid() != 0 && sup_->Pid() != first; }))
      << "containerd was not restarted; log:\n"
      << Slurp(sup_->LogPath());
  Status ready = sup_->WaitReady(milliseconds(15000));
  ASSERT_TRUE(ready.ok()) << ready.ToString();
  std::cerr << "containerd back "
            << std::chrono::duration_cast<milliseconds>(SteadyClock::now() - killed_at).count()
            << " ms after SIGKILL\n";
  EXPECT_EQ(sup_->Restarts(), 1);

  // The container ran on through the restart, and the new containerd knows it.
  EXPECT_TRUE(Alive(task));
  EXPECT_TRUE(Eventually([&] { return TaskPid("sleeper") == task; })) << Ctr("task ls").text;

  EXPECT_EQ(Ctr("task kill -s SIGKILL sleeper").exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return TaskPid("sleeper") == 0; }));
  EXPECT_TRUE(Eventually([&] { return Ctr("task rm sleeper").exit_code == 0; }));
  EXPECT_EQ(Ctr("container rm sleeper").exit_code, 0);
}

TEST_F(ContainerdIntegrationTest, DetachedContainerdIsAdoptedByTheNextSupervisor) {
  auto options = Options();
  options.stop_on_exit = false;
  auto started = ContainerdSupervisor::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  pid_t pid = (*started)->Pid();
  started.value().reset();  // the agent exits: containerd stays
  ASSERT_TRUE(Alive(pid));

  options.stop_on_exit = true;
  auto adopted = ContainerdSupervisor::Start(options);
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  sup_ = std::move(adopted).value();
  EXPECT_TRUE(sup_->Adopted());
  EXPECT_EQ(sup_->Pid(), pid);
  Output version = Ctr("version");
  EXPECT_EQ(version.exit_code, 0) << version.text;

  ASSERT_TRUE(sup_->Stop().ok());
  EXPECT_FALSE(Alive(pid));
  // Still this process's child, so the supervisor reaped it: no zombie is left.
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
}

}  // namespace
}  // namespace keelson::kubelet::containerd
