// containerd's generated config, and ContainerdSupervisor driven with stand-in
// programs in place of containerd and ctr (small scripts that serve the
// configured socket, exit, hang or ignore SIGTERM), so the supervision logic is
// tested without root or a real containerd. containerd_integration_test.cc runs
// the real one.
#include "kubelet/containerd/containerd.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

namespace keelson::kubelet::containerd {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// The TOML's keys by "section/key" (e.g.
// `plugins."io.containerd.grpc.v1.cri".cni/bin_dir`), values as written; the
// top-level table's keys have an empty section ("/version").
std::map<std::string, std::string> ParseToml(const std::string& toml) {
  std::map<std::string, std::string> keys;
  std::stringstream lines(toml);
  std::string line, section;
  while (std::getline(lines, line)) {
    auto first = line.find_first_not_of(' ');
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first);
    if (line[0] == '[') {
      section = line.substr(1, line.rfind(']') - 1);
      continue;
    }
    auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    keys[section + "/" + line.substr(0, eq)] = line.substr(eq + 3);
  }
  return keys;
}

const std::string kCri = "plugins.\"io.containerd.grpc.v1.cri\"";

TEST(RenderContainerdConfigTest, HasWhatTheNodeNeedsInTheRightSections) {
  ContainerdOptions options;
  options.data_dir = "/var/lib/keelson";
  auto keys = ParseToml(RenderContainerdConfig(options));

  EXPECT_EQ(keys["/version"], "2");
  EXPECT_EQ(keys["/root"], "\"/var/lib/keelson/containerd/root\"");
  EXPECT_EQ(keys["/state"], "\"/var/lib/keelson/containerd/state\"");
  EXPECT_EQ(keys["grpc/address"], "\"/var/lib/keelson/containerd/containerd.sock\"");
  EXPECT_EQ(keys[kCri + "/sandbox_image"], "\"keelson.local/pause:3.10\"");
  EXPECT_EQ(keys[kCri + "/stream_server_address"], "\"127.0.0.1\"");
  EXPECT_EQ(keys[kCri + "/stream_server_port"], "\"0\"");
  EXPECT_EQ(keys[kCri + "/netns_mounts_under_state_dir"], "true");
  EXPECT_EQ(keys[kCri + ".containerd/snapshotter"], "\"overlayfs\"");
  EXPECT_EQ(keys[kCri + ".containerd/default_runtime_name"], "\"runc\"");
  EXPECT_EQ(keys[kCri + ".containerd.runtimes.runc/runtime_type"], "\"io.containerd.runc.v2\"");
  EXPECT_EQ(keys[kCri + ".containerd.runtimes.runc.options/SystemdCgroup"], "false");
  EXPECT_EQ(keys[kCri + ".containerd.runtimes.runc.options/Root"],
            "\"/var/lib/keelson/containerd/runc\"");
  EXPECT_EQ(keys[kCri + "/restrict_oom_score_adj"], "true");
  EXPECT_EQ(keys[kCri + ".cni/bin_dir"], "\"/usr/lib/cni\"");
  EXPECT_EQ(keys[kCri + ".cni/conf_dir"], "\"/var/lib/keelson/containerd/net.d\"");
  EXPECT_EQ(keys[kCri + ".registry/config_path"], "\"/var/lib/keelson/containerd/certs.d\"");
  EXPECT_EQ(keys["plugins.\"io.containerd.internal.v1.opt\"/path"],
            "\"/var/lib/keelson/containerd/opt\"");
  const std::string& disabled = keys["/disabled_plugins"];
  for (const char* p : {"aufs", "btrfs", "zfs", "devmapper"}) {
    EXPECT_NE(disabled.find(std::string("\"io.containerd.snapshotter.v1.") + p + "\""),
              std::string::npos)
        << p;
  }
  EXPECT_EQ(disabled.find("overlayfs"), std::string::npos);
}

TEST(RenderContainerdConfigTest, TakesTheOptions) {
  ContainerdOptions options;
  options.data_dir = "/d";
  options.cni_bin_dir = "/opt/cni/bin";
  options.cni_conf_dir = "/etc/cni/net.d";
  options.sandbox_image = "registry.example/pause:9";
  options.snapshotter = "native";
  options.log_level = "debug";
  auto keys = ParseToml(RenderContainerdConfig(options));
  EXPECT_EQ(keys[kCri + ".cni/bin_dir"], "\"/opt/cni/bin\"");
  EXPECT_EQ(keys[kCri + ".cni/conf_dir"], "\"/etc/cni/net.d\"");
  EXPECT_EQ(keys[kCri + "/sandbox_image"], "\"registry.example/pause:9\"");
  EXPECT_EQ(keys[kCri + ".containerd/snapshotter"], "\"native\"");
  EXPECT_EQ(keys["debug/level"], "\"debug\"");
}

TEST(RenderContainerdConfigTest, EscapesStrings) {
  ContainerdOptions options;
  options.data_dir = "/data/a \"quoted\" \\dir";
  auto keys = ParseToml(RenderContainerdConfig(options));
  EXPECT_EQ(keys["/root"], "\"/data/a \\\"quoted\\\" \\\\dir/containerd/root\"");
}

// ---------------------------------------------------------------------------------------------

// A stand-in for containerd, in Python: reads the [grpc] address from its
// --config, records its pid, prints a line to its log and then behaves as MODE
// says.
constexpr const char* kFakeContainerd = R"PY(#!/usr/bin/python3
import os, re, signal, socket, sys, time
MODE = "@MODE@"
open(os.path.join("@PIDS@", str(os.getpid())), "w").close()
config = sys.argv[sys.argv.index("--config") + 1]
address = re.search(r'^\s*address = "([^"]*)"', open(config).read(), re.M).group(1)
print("fake containerd %d starting (%s)" % (os.getpid(), MODE), flush=True)
if MODE == "exit3":
    print('level=fatal msg="failed to load plugin: bad things happened"', flush=True)
    sys.exit(3)
if MODE == "hang":
    while True:
        time.sleep(60)
if MODE == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
try:
    os.unlink(address)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX)
s.bind(address)
s.listen(64)
print("fake containerd %d serving %s" % (os.getpid(), address), flush=True)
deadline = time.time() + 0.1
if MODE == "flaky":
    s.settimeout(0.02)
while True:
    try:
        c, _ = s.accept()
        c.close()
    except socket.timeout:
        pass
    if MODE == "flaky" and time.time() > deadline:
        sys.exit(1)
)PY";

// A stand-in for ctr: records its arguments, prints what the test says, exits
// as told.
constexpr const char* kFakeCtr = R"SH(#!/bin/sh
printf '%s\n' "$*" >> "@ARGS@"
printf '@STDOUT@'
printf '@STDERR@' >&2
exit @EXIT@
)SH";

std::string Replace(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos)) {
      text.replace(pos, key.size(), value);
      pos += value.size();
    }
  }
  return text;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether `pid` is running (not gone, not a zombie).
bool Alive(pid_t pid) {
  std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  auto paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z';
}

template <typename Pred>
bool Eventually(Pred pred, milliseconds timeout = milliseconds(10000)) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/keelson-ctd-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pids_ = dir_ + "/pids";
    fs::create_directories(pids_);
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  }

  void TearDown() override {
    // Whatever stand-in is still running (a test that failed half way) is ended
    // here.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(pids_, ec)) {
      pid_t pid = std::stoi(entry.path().filename().string());
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    fs::remove_all(dir_, ec);
  }

  // Writes the stand-in containerd for `mode` and returns its path.
  std::string FakeContainerd(const std::string& mode) {
    std::string path = dir_ + "/bin-" + mode + "/containerd";
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << Replace(kFakeContainerd, {{"@MODE@", mode}, {"@PIDS@", pids_}});
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  std::string FakeCtr(const std::string& out, const std::string& err, int exit_code) {
    std::string path = dir_ + "/ctr-bin/ctr";
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << Replace(kFakeCtr, {{"@ARGS@", dir_ + "/ctr-args"},
                                              {"@STDOUT@", out},
                                              {"@STDERR@", err},
                                              {"@EXIT@", std::to_string(exit_code)}});
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  ContainerdOptions Options(const std::string& mode) {
    ContainerdOptions options;
    options.data_dir = dir_ + "/data";
    options.binary = FakeContainerd(mode);
    options.start_timeout = milliseconds(10000);
    options.stop_grace = milliseconds(5000);
    options.restart_backoff_initial = milliseconds(50);
    options.stop_on_exit = true;
    return options;
  }

  std::string dir_;
  std::string pids_;
};

TEST_F(SupervisorTest, RejectsUnusableOptions) {
  ContainerdOptions options;
  auto no_dir = ContainerdSupervisor::Start(options);
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.status().code(), StatusCode::kInvalidArgument);

  options.data_dir = dir_ + "/" + std::string(90, 'x');
  auto long_path = ContainerdSupervisor::Start(options);
  ASSERT_FALSE(long_path.ok());
  EXPECT_EQ(long_path.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(long_path.status().message().find("shorter data directory"), std::string::npos);

  options.data_dir = dir_ + "/data";
  options.binary = "keelson-no-such-containerd";
  auto missing = ContainerdSupervisor::Start(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("keelson-no-such-containerd"), std::string::npos);
  EXPECT_NE(missing.status().message().find("scripts/install-deps.sh"), std::string::npos);
}

TEST_F(SupervisorTest, StartsServesAndStops) {
  auto options = Options("serve");
  auto started = ContainerdSupervisor::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  auto& sup = *started;
  pid_t pid = sup->Pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(Alive(pid));
  EXPECT_FALSE(sup->Adopted());
  EXPECT_EQ(sup->Endpoint(), "unix://" + dir_ + "/data/containerd/containerd.sock");
  EXPECT_TRUE(sup->WaitReady(milliseconds(1000)).ok());
  EXPECT_EQ(Slurp(sup->ConfigPath()), RenderContainerdConfig(options));
  EXPECT_TRUE(fs::is_directory(dir_ + "/data/containerd/net.d"));
  EXPECT_NE(Slurp(sup->LogPath()).find("serving"), std::string::npos);
  // In a session of its own, so that it outlives the agent and its terminal.
  EXPECT_EQ(::getsid(pid), pid);

  ASSERT_TRUE(sup->Stop().ok());
  EXPECT_EQ(sup->Pid(), 0);
  EXPECT_FALSE(Alive(pid));
  EXPECT_TRUE(sup->Stop().ok());  // idempotent
  EXPECT_EQ(sup->WaitReady(milliseconds(10)).code(), StatusCode::kFailedPrecondition);
}

TEST_F(SupervisorTest, StartFailsWithTheEndOfTheLogWhenContainerdExits) {
  auto started = ContainerdSupervisor::Start(Options("exit3"));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kUnavailable);
  const std::string& message = started.status().message();
  EXPECT_NE(message.find("exited with status 3"), std::string::npos) << message;
  EXPECT_NE(message.find("bad things happened"), std::string::npos) << message;
}

TEST_F(SupervisorTest, StartTimesOutAndKillsContainerdThatNeverServes) {
  auto options = Options("hang");
  options.start_timeout = milliseconds(500);
  auto began = SteadyClock::now();
  auto started = ContainerdSupervisor::Start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(started.status().message().find("within 500 ms"), std::string::npos)
      << started.status().message();
  EXPECT_NE(started.status().message().find("starting (hang)"), std::string::npos)
      << started.status().message();
  EXPECT_GE(SteadyClock::now() - began, milliseconds(500));
  for (const auto& entry : fs::directory_iterator(pids_)) {
    EXPECT_FALSE(Alive(std::stoi(entry.path().filename().string())));
  }
}

TEST_F(SupervisorTest, RestartsContainerdAfterItIsKilled) {
  auto started = ContainerdSupervisor::Start(Options("serve"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  auto& sup = *started;
  pid_t first = sup->Pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return sup->Pid() != 0 && sup->Pid() != first; }))
      << "no restart after SIGKILL";
  EXPECT_TRUE(sup->WaitReady(milliseconds(5000)).ok());
  EXPECT_EQ(sup->Restarts(), 1);
  EXPECT_FALSE(Alive(first));
  EXPECT_TRUE(Alive(sup->Pid()));

  pid_t second = sup->Pid();
  ASSERT_EQ(::kill(second, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return sup->Restarts() == 2; }));
  EXPECT_TRUE(sup->WaitReady(milliseconds(5000)).ok());
  ASSERT_TRUE(sup->Stop().ok());
  EXPECT_EQ(sup->Restarts(), 2);
}

TEST_F(SupervisorTest, BacksOffWhenContainerdKeepsExiting) {
  // The stand-in exits 100 ms after it serves. Without backoff (50 ms between
  // attempts) it would be restarted over ten times in 2.5 s; with the delay
  // doubling from 50 ms, the delays before a sixth restart alone add up to 3.15
  // s.
  auto started = ContainerdSupervisor::Start(Options("flaky"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::this_thread::sleep_for(milliseconds(2500));
  int restarts = (*started)->Restarts();
  EXPECT_GE(restarts, 1);
  EXPECT_LE(restarts, 5);
  EXPECT_TRUE((*started)->Stop().ok());
}

TEST_F(SupervisorTest, StopEscalatesToSigkill) {
  auto options = Options("stubborn");
  options.stop_grace = milliseconds(300);
  auto started = ContainerdSupervisor::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  pid_t pid = (*started)->Pid();
  auto began = SteadyClock::now();
  ASSERT_TRUE((*started)->Stop().ok());
  EXPECT_GE(SteadyClock::now() - began, milliseconds(300));
  EXPECT_FALSE(Alive(pid));
}

TEST_F(SupervisorTest, DetachLeavesContainerdRunningAndTheNextStartAdoptsIt) {
  auto options = Options("serve");
  options.stop_on_exit = false;
  pid_t pid;
  {
    auto started = ContainerdSupervisor::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    pid = (*started)->Pid();
  }  // destroyed: detaches
  ASSERT_TRUE(Alive(pid));

  auto adopted = ContainerdSupervisor::Start(options);
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  EXPECT_TRUE((*adopted)->Adopted());
  EXPECT_EQ((*adopted)->Pid(), pid);

  // The adopted containerd is supervised too: killed, it is started again (as
  // our child).
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return (*adopted)->Restarts() == 1; }));
  EXPECT_FALSE((*adopted)->Adopted());
  EXPECT_NE((*adopted)->Pid(), pid);
  pid_t restarted = (*adopted)->Pid();
  ASSERT_TRUE((*adopted)->Stop().ok());
  EXPECT_FALSE(Alive(restarted));
  // Both were this process's children (the first one detached, then adopted):
  // both reaped.
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(restarted)));
}

TEST_F(SupervisorTest, AdoptingRestartsContainerdWhoseConfigChanged) {
  auto options = Options("serve");
  options.stop_on_exit = false;
  pid_t pid;
  {
    auto started = ContainerdSupervisor::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    pid = (*started)->Pid();
  }
  options.sandbox_image = "keelson.local/pause:other";
  options.stop_on_exit = true;
  auto again = ContainerdSupervisor::Start(options);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE((*again)->Adopted());
  EXPECT_NE((*again)->Pid(), pid);
  EXPECT_FALSE(Alive(pid));
  EXPECT_NE(Slurp((*again)->ConfigPath()).find("keelson.local/pause:other"), std::string::npos);
}

TEST_F(SupervisorTest, OneSupervisorPerDataDir) {
  auto first = ContainerdSupervisor::Start(Options("serve"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = ContainerdSupervisor::Start(Options("serve"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("another keelson agent"), std::string::npos);
}

TEST_F(SupervisorTest, RefusesASocketServedBySomethingElse) {
  // Something that is not a containerd with our config serves the socket.
  fs::create_directories(dir_ + "/data/containerd");
  std::string other_config = dir_ + "/other.toml";
  std::ofstream(other_config) << "[grpc]\n  address = \"" << dir_
                              << "/data/containerd/containerd.sock\"\n";
  std::string foreign = FakeContainerd("serve");
  ASSERT_EQ(std::system((foreign + " --config " + other_config + " >/dev/null 2>&1 &").c_str()), 0);
  ASSERT_TRUE(Eventually([&] { return fs::exists(dir_ + "/data/containerd/containerd.sock"); }));
  auto started = ContainerdSupervisor::Start(Options("serve"));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(started.status().message().find(other_config), std::string::npos)
      << started.status().message();
}

TEST_F(SupervisorTest, ImportImagesRunsCtrAndReportsItsErrors) {
  auto started = ContainerdSupervisor::Start(Options("serve"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::string archive = dir_ + "/image.tar";
  std::ofstream(archive) << "not really a tar";

  CtrOptions ctr;
  ctr.ctr_binary = FakeCtr("unpacking x...done\\n", "", 0);
  ASSERT_TRUE(ImportImages((*started)->Endpoint(), archive, ctr).ok());
  EXPECT_EQ(Slurp(dir_ + "/ctr-args"),
            "--address " + (*started)->SocketPath() +
                " --namespace k8s.io images import --snapshotter overlayfs " + archive + "\n");

  ctr.ctr_binary = FakeCtr("", "ctr: unrecognized image format\\n", 1);
  Status failed = ImportImages((*started)->Endpoint(), archive, ctr);
  EXPECT_EQ(failed.code(), StatusCode::kInternal);
  EXPECT_NE(failed.message().find("unrecognized image format"), std::string::npos)
      << failed.message();
  EXPECT_NE(failed.message().find("exit status 1"), std::string::npos) << failed.message();

  EXPECT_EQ(ImportImages((*started)->Endpoint(), dir_ + "/missing.tar", ctr).code(),
            StatusCode::kNotFound);
  ctr.ctr_binary = dir_ + "/no-ctr-here";
  EXPECT_EQ(ImportImages((*started)->Endpoint(), archive, ctr).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(SupervisorTest, CtrCallsFailFastWhenNothingServesTheSocket) {
  CtrOptions ctr;
  ctr.ctr_binary = FakeCtr("", "", 0);
  std::string archive = dir_ + "/image.tar";
  std::ofstream(archive) << "x";
  auto began = SteadyClock::now();
  Status st = ImportImages("unix://" + dir_ + "/nobody.sock", archive, ctr);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_LT(SteadyClock::now() - began, milliseconds(2000));
  EXPECT_FALSE(fs::exists(dir_ + "/ctr-args"));  // ctr was not even run
}

TEST_F(SupervisorTest, ListImageNamesSortsCtrOutput) {
  auto started = ContainerdSupervisor::Start(Options("serve"));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  CtrOptions ctr;
  ctr.ctr_binary = FakeCtr("keelson.local/pause:3.10\\nkeelson.local/busybox:1.35\\n\\n", "", 0);
  auto names = ListImageNames((*started)->Endpoint(), ctr);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(*names,
            (std::vector<std::string>{"keelson.local/busybox:1.35", "keelson.local/pause:3.10"}));
  EXPECT_NE(Slurp(dir_ + "/ctr-args").find("--namespace k8s.io images ls -q"), std::string::npos);
}

}  // namespace
}  // namespace keelson::kubelet::containerd
