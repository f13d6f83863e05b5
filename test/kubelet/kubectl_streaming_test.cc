// kubectl logs, exec, attach, port-forward and cp against `keelson server` and its local node
// (the kubelet on its own containerd), with every kubectl 1.27 to 1.33 on the machine: the
// API server forwards to the kubelet's server, which reads the CRI log files or forwards the
// session to containerd's streaming server. Needs root (containerd, network namespaces);
// skipped with the reason otherwise. One server and node for the whole suite.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "test/util/processes.h"

namespace keelson {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::CommandResult;

constexpr const char* kBusybox = KEELSON_BUSYBOX_IMAGE;
constexpr const char* kBridge = "kstream0";

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(200ms);
  }
  return pred();
}

std::string SkipReason() {
  if (geteuid() != 0) return "needs root: containerd and network namespaces";
  for (const char* bin : {"containerd", "runc", "ctr", "script", "curl"}) {
    if (testing::RunCommand({"sh", "-c", std::string("command -v ") + bin}).exit_code != 0) {
      return std::string(bin) + " is not installed (scripts/install-deps.sh installs it)";
    }
  }
  if (!fs::exists("/usr/lib/cni/bridge")) return "the CNI plugins are not installed";
  for (const char* image : {KEELSON_IMAGES_DIR "/pause.tar", KEELSON_IMAGES_DIR "/busybox.tar"}) {
    if (!fs::exists(image)) return std::string(image) + " was not built";
  }
  return "";
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// What an HTTP GET of / on 127.0.0.1:`port` answers (the whole response), "" on failure.
std::string HttpGet(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET / HTTP/1.0\r\nHost: pod\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

class KubectlStreamingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = SkipReason();
    if (!skip_.empty()) return;
    dir_ = new testing::TempDir("kstream");
    server_ = new testing::Process();
    port_ = testing::FreePort();
    fs::path data = dir_->path() / "data";
    Status s = server_->Start(
        {KEELSON_BINARY, "server", "--data-dir", data.string(), "--port", std::to_string(port_),
         "--kubelet-port", "0", "--node-name", "stream-node", "--cni-bridge", kBridge,
         "--allocate-node-cidrs", "--cluster-cidr", "10.213.0.0/16"},
        dir_->path() / "server.out", dir_->path() / "server.err");
    ASSERT_TRUE(s.ok()) << s.ToString();
    kubeconfig_ = (data / "kubeconfig.yaml").string();
    ASSERT_TRUE(Eventually(
        [] {
          auto r = Kubectl(Versions()[0], {"get", "nodes", "--no-headers"});
          return r.out.find(" Ready") != std::string::npos;
        },
        90s))
        << ServerLog();
    // The pods every test uses, started together.
    Apply(R"(apiVersion: v1
kind: Pod
metadata: {name: multi}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    image: )" +
          std::string(kBusybox) + R"(
    # stdout and stderr are copied to the log apart: the pause keeps their order known.
    command: [sh, -c, 'for i in 1 2 3 4 5; do echo a$i; done; sleep 1; echo to-stderr >&2;
      sleep 3600']
  - name: b
    image: )" +
          std::string(kBusybox) + R"(
    command: [sh, -c, 'echo b1; sleep 3600']
---
apiVersion: v1
kind: Pod
metadata: {name: restarter}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: c
    image: )" +
          std::string(kBusybox) + R"(
    volumeMounts: [{name: data, mountPath: /data}]
    command: [sh, -c, 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n;
      echo attempt $n; sleep 3; exit 1']
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: )" +
          std::string(kBusybox) + R"(
    command: [sh, -c, 'mkdir -p /w1 /w2; echo hello-8080 > /w1/index.html;
      echo hello-9090 > /w2/index.html; httpd -p 8080 -h /w1; exec httpd -f -p 9090 -h /w2']
---
apiVersion: v1
kind: Pod
metadata: {name: attachee}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: )" +
          std::string(kBusybox) + R"(
    stdin: true
    command: [sh, -c, 'while true; do if read l; then echo got $l; else sleep 1; fi; done']
)");
    for (const char* pod : {"multi", "web", "attachee"}) {
      ASSERT_TRUE(WaitRunning(pod))
          << pod << ": " << Kubectl(Versions()[0], {"describe", "pod", pod}).out;
    }
  }

  static void TearDownTestSuite() {
    if (!skip_.empty()) return;
    if (server_) {
      server_->Signal(SIGTERM);
      delete server_;
      server_ = nullptr;
    }
    // The node leaves containerd and the containers running by design: take them down.
    const std::string d = dir_->path().string();
    testing::RunCommand({"sh", "-c", "pkill -9 -f 'containerd-shim-runc-v2.*" + d + "/'"});
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::error_code ec;
      auto root = fs::read_symlink(e.path() / "root", ec);
      if (!ec && root.string().rfind(d, 0) == 0) {
        ::kill(std::atoi(e.path().filename().c_str()), SIGKILL);
      }
    }
    testing::RunCommand({"sh", "-c", "pkill -f '" + d + "/data/agent/containerd/config.toml'"});
    std::this_thread::sleep_for(500ms);
    std::ifstream mounts("/proc/mounts");
    std::vector<std::string> points;
    std::string dev, point, rest;
    while (mounts >> dev >> point && std::getline(mounts, rest)) {
      if (point.rfind(d, 0) == 0) points.push_back(point);
    }
    std::sort(points.rbegin(), points.rend());
    for (const auto& p : points) umount2(p.c_str(), MNT_DETACH);
    testing::RunCommand({"ip", "link", "del", kBridge});
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static const std::vector<std::string>& Versions() {
    static const std::vector<std::string> v = testing::KubectlBinaries();
    return v;
  }

  static std::vector<std::string> Argv(const std::string& kubectl,
                                       const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kubectl, "--kubeconfig", kubeconfig_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  static CommandResult Kubectl(const std::string& kubectl, const std::vector<std::string>& args,
                               const std::string& stdin_data = "",
                               std::chrono::milliseconds timeout = 60s) {
    return testing::RunCommand(Argv(kubectl, args), stdin_data, timeout);
  }

  static void Apply(const std::string& yaml) {
    auto r = Kubectl(Versions()[0], {"apply", "-f", "-"}, yaml);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  static std::string Jsonpath(const std::string& pod, const std::string& path) {
    return Kubectl(Versions()[0], {"get", "pod", pod, "-o", "jsonpath={" + path + "}"}).out;
  }

  static bool WaitRunning(const std::string& pod, std::chrono::milliseconds timeout = 120s) {
    return Eventually([&] { return Jsonpath(pod, ".status.phase") == "Running"; }, timeout);
  }

  // The sessions the API server translated and answered 101, as its /metrics counts them
  // (apiserver_stream_translator_requests_total for exec and attach over WebSocket v5,
  // apiserver_stream_tunnel_requests_total for port-forward tunnelled in WebSocket).
  static int Translated(const std::string& family) {
    auto r = Kubectl(Versions()[0], {"get", "--raw", "/metrics"});
    std::smatch m;
    return std::regex_search(r.out, m, std::regex(family + R"(\{code="101"\} (\d+))"))
               ? std::stoi(m[1])
               : 0;
  }

  // kubectl's minor version: 1.30 and later speak WebSocket v5 for exec, attach and cp, 1.31
  // and later tunnel port-forward in WebSocket.
  static int Minor(const std::string& kubectl) {
    auto r = testing::RunCommand({kubectl, "version", "--client", "-o", "json"});
    std::smatch m;
    return std::regex_search(r.out, m, std::regex(R"("minor":\s*"(\d+))")) ? std::stoi(m[1]) : 0;
  }

  static std::string ServerLog() {
    return ReadFile(dir_->path() / "server.out") + ReadFile(dir_->path() / "server.err");
  }

  static std::string Version(const std::string& kubectl) {
    return fs::path(kubectl).filename().string();
  }

  static inline std::string skip_;
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::Process* server_ = nullptr;
  static inline int port_ = 0;
  static inline std::string kubeconfig_;
};

TEST_F(KubectlStreamingTest, Logs) {
  // Lines written a while ago: --since=2s sees none of them.
  std::this_thread::sleep_for(3s);
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    auto all = Kubectl(k, {"logs", "multi", "-c", "a"});
    EXPECT_EQ(all.exit_code, 0) << all.err;
    EXPECT_EQ(all.out, "a1\na2\na3\na4\na5\nto-stderr\n");
    auto b = Kubectl(k, {"logs", "multi", "-c", "b"});
    EXPECT_EQ(b.out, "b1\n") << b.err;
    auto tail = Kubectl(k, {"logs", "multi", "-c", "a", "--tail=2"});
    EXPECT_EQ(tail.out, "a5\nto-stderr\n") << tail.err;
    auto since = Kubectl(k, {"logs", "multi", "-c", "a", "--since=2s"});
    EXPECT_EQ(since.exit_code, 0) << since.err;
    EXPECT_EQ(since.out, "");
    auto since_hour = Kubectl(k, {"logs", "multi", "-c", "a", "--since=1h", "--tail=1"});
    EXPECT_EQ(since_hour.out, "to-stderr\n");
    auto limit = Kubectl(k, {"logs", "multi", "-c", "a", "--limit-bytes=5"});
    EXPECT_EQ(limit.out, "a1\na2");
    auto ts = Kubectl(k, {"logs", "multi", "-c", "a", "--timestamps", "--tail=1"});
    EXPECT_TRUE(std::regex_match(
        ts.out,
        std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) to-stderr\n)")))
        << ts.out << ts.err;
    // Upstream's errors.
    auto prev = Kubectl(k, {"logs", "multi", "-c", "a", "--previous"});
    EXPECT_NE(prev.exit_code, 0);
    EXPECT_NE(prev.err.find("previous terminated container \"a\" in pod \"multi\" not found"),
              std::string::npos)
        << prev.err;
    auto bad = Kubectl(k, {"logs", "multi", "-c", "nope"});
    EXPECT_NE(bad.err.find("container nope is not valid for pod multi"), std::string::npos)
        << bad.err;
  }
  auto raw = Kubectl(Versions()[0], {"get", "--raw", "/api/v1/namespaces/default/pods/multi/log"});
  EXPECT_NE(raw.exit_code, 0);
  EXPECT_NE(raw.err.find("a container name must be specified for pod multi, choose one of: [a b]"),
            std::string::npos)
      << raw.err;
  auto neg = Kubectl(Versions()[0], {"get", "--raw",
                                     "/api/v1/namespaces/default/pods/multi/log?container=a"
                                     "&tailLines=-1"});
  EXPECT_NE(neg.err.find("tailLines: Invalid value: -1: must be greater than or equal to 0"),
            std::string::npos)
      << neg.err;
  auto missing = Kubectl(Versions()[0], {"logs", "no-such-pod"});
  EXPECT_NE(missing.err.find("pods \"no-such-pod\" not found"), std::string::npos) << missing.err;
}

TEST_F(KubectlStreamingTest, LogsFollowEndsWhenTheContainerExits) {
  Apply(R"(apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  restartPolicy: Never
  containers:
  - name: t
    image: )" +
        std::string(kBusybox) + R"(
    command: [sh, -c, 'sleep 6; for i in 1 2 3; do echo tick $i; sleep 1; done']
)");
  ASSERT_TRUE(WaitRunning("ticker"));
  // Every kubectl follows at once, from before the first line until the container exits:
  // each must print every line and end by itself.
  std::vector<CommandResult> results(Versions().size());
  std::vector<std::thread> follows;
  for (size_t i = 0; i < Versions().size(); ++i) {
    follows.emplace_back([&, i] { results[i] = Kubectl(Versions()[i], {"logs", "-f", "ticker"}); });
  }
  for (auto& t : follows) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(Version(Versions()[i]));
    EXPECT_FALSE(results[i].timed_out) << "still following after the container exited";
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    EXPECT_EQ(results[i].out, "tick 1\ntick 2\ntick 3\n");
  }
}

TEST_F(KubectlStreamingTest, LogsPrevious) {
  ASSERT_TRUE(Eventually(
      [] {
        std::string n = Jsonpath("restarter", ".status.containerStatuses[0].restartCount");
        return !n.empty() && n != "0";
      },
      120s));
  std::regex attempt(R"(attempt (\d+)\n)");
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    auto prev = Kubectl(k, {"logs", "restarter", "--previous"});
    auto cur = Kubectl(k, {"logs", "restarter"});
    std::smatch pm, cm;
    ASSERT_TRUE(std::regex_match(prev.out, pm, attempt)) << prev.out << prev.err;
    ASSERT_TRUE(std::regex_match(cur.out, cm, attempt)) << cur.out << cur.err;
    EXPECT_LT(std::stoi(pm[1]), std::stoi(cm[1]));
  }
}

TEST_F(KubectlStreamingTest, Exec) {
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    const int before = Translated("apiserver_stream_translator_requests_total");
    auto out = Kubectl(k, {"exec", "multi", "-c", "a", "--", "echo", "hello world"});
    EXPECT_EQ(out.exit_code, 0) << out.err;
    EXPECT_EQ(out.out, "hello world\n");
    auto err = Kubectl(k, {"exec", "multi", "-c", "b", "--", "sh", "-c", "echo oops >&2"});
    EXPECT_EQ(err.exit_code, 0) << err.err;
    EXPECT_EQ(err.out, "");
    EXPECT_EQ(err.err, "oops\n");
    auto code = Kubectl(k, {"exec", "multi", "-c", "a", "--", "sh", "-c", "exit 3"});
    EXPECT_EQ(code.exit_code, 3) << code.err;
    EXPECT_NE(code.err.find("command terminated with exit code 3"), std::string::npos) << code.err;
    auto in = Kubectl(k, {"exec", "-i", "multi", "-c", "a", "--", "cat"}, "hello from stdin\n");
    EXPECT_EQ(in.exit_code, 0) << in.err;
    EXPECT_EQ(in.out, "hello from stdin\n");
    auto missing = Kubectl(k, {"exec", "multi", "-c", "a", "--", "/no/such/binary"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_NE(missing.err.find("no such file or directory"), std::string::npos) << missing.err;
    // 1.30+ went over WebSocket v5, translated to the node's SPDY; older ones over SPDY.
    EXPECT_EQ(Translated("apiserver_stream_translator_requests_total") - before,
              Minor(k) >= 30 ? 5 : 0);
  }
}

TEST_F(KubectlStreamingTest, ExecWithATerminal) {
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    // A pseudo-terminal of 33x111 (script(1)): the container's terminal gets its size through
    // the resize channel, and the command sees a terminal.
    std::string cmd = "stty rows 33 cols 111; " + k + " --kubeconfig " + kubeconfig_ +
                      " exec -it multi -c a -- sh -c 'sleep 1; stty size; tty; exit 4'";
    const int before = Translated("apiserver_stream_translator_requests_total");
    auto r = testing::RunCommand({"script", "-qec", cmd, "/dev/null"}, "", 60s);
    EXPECT_NE(r.out.find("33 111"), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("command terminated with exit code 4"), std::string::npos) << r.out;
    EXPECT_EQ(Translated("apiserver_stream_translator_requests_total") - before,
              Minor(k) >= 30 ? 1 : 0);
  }
}

TEST_F(KubectlStreamingTest, Attach) {
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    const std::string word = "word-" + Version(k);
    const int before = Translated("apiserver_stream_translator_requests_total");
    testing::BackgroundCommand attach(Argv(k, {"attach", "attachee"}));
    // What one attached kubectl sends reaches the container's stdin; what the container
    // writes reaches every attached kubectl.
    std::this_thread::sleep_for(2s);
    auto in = Kubectl(k, {"attach", "-i", "attachee"}, word + "\n", 20s);
    EXPECT_EQ(in.exit_code, 0) << in.out << in.err;
    EXPECT_TRUE(attach.WaitForOutput("got " + word, 10s)) << attach.Stdout() << attach.Stderr();
    attach.Stop();
    EXPECT_EQ(Translated("apiserver_stream_translator_requests_total") - before,
              Minor(k) >= 30 ? 2 : 0);
  }
}

TEST_F(KubectlStreamingTest, PortForward) {
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    const int before = Translated("apiserver_stream_tunnel_requests_total");
    int p1 = testing::FreePort(), p2 = testing::FreePort();
    testing::BackgroundCommand pf(Argv(k, {"port-forward", "pod/web", std::to_string(p1) + ":8080",
                                           std::to_string(p2) + ":9090"}));
    ASSERT_TRUE(pf.WaitForOutput("Forwarding from 127.0.0.1:" + std::to_string(p2), 30s))
        << pf.Stdout() << pf.Stderr();
    for (int i = 0; i < 3; ++i) {
      EXPECT_NE(HttpGet(p1).find("hello-8080"), std::string::npos) << pf.Stderr();
      EXPECT_NE(HttpGet(p2).find("hello-9090"), std::string::npos) << pf.Stderr();
    }
    // Connections at once, on both ports.
    std::vector<std::string> got(6);
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&, i] { got[i] = HttpGet(i % 2 ? p2 : p1); });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < 6; ++i) {
      EXPECT_NE(got[i].find(i % 2 ? "hello-9090" : "hello-8080"), std::string::npos) << i;
    }
    pf.Stop();
    // 1.31+ tunnelled its SPDY in WebSocket: one session for every port and connection.
    EXPECT_EQ(Translated("apiserver_stream_tunnel_requests_total") - before,
              Minor(k) >= 31 ? 1 : 0);
  }
}

TEST_F(KubectlStreamingTest, Copy) {
  testing::TempDir local("kstream-cp");
  std::string content;
  for (int i = 0; i < 2000; ++i) content += "line " + std::to_string(i) + "\n";
  { std::ofstream(local.path() / "up.txt") << content; }
  for (const auto& k : Versions()) {
    SCOPED_TRACE(Version(k));
    const std::string remote = "/tmp/" + Version(k) + ".txt";
    const int before = Translated("apiserver_stream_translator_requests_total");
    auto up = Kubectl(
        k, {"cp", (local.path() / "up.txt").string(), "default/multi:" + remote, "-c", "a"});
    EXPECT_EQ(up.exit_code, 0) << up.out << up.err;
    auto cat = Kubectl(k, {"exec", "multi", "-c", "a", "--", "cat", remote});
    EXPECT_EQ(cat.out, content);
    fs::path back = local.path() / ("back-" + Version(k));
    auto down = Kubectl(k, {"cp", "default/multi:" + remote, back.string(), "-c", "a"});
    EXPECT_EQ(down.exit_code, 0) << down.out << down.err;
    EXPECT_EQ(ReadFile(back), content);
    // Both ways over WebSocket v5 from 1.30 (stdin's end is v5's close signal).
    const int translated = Translated("apiserver_stream_translator_requests_total") - before;
    if (Minor(k) >= 30) {
      EXPECT_GE(translated, 3);
    } else {
      EXPECT_EQ(translated, 0);
    }
  }
}

// What is refused, and how: upstream's Status errors from the API server, and a kubelet that
// serves no one but the API server.
TEST_F(KubectlStreamingTest, Errors) {
  const std::string& k = Versions().back();
  auto no_upgrade =
      Kubectl(k, {"get", "--raw", "/api/v1/namespaces/default/pods/multi/exec?command=ls"});
  EXPECT_NE(no_upgrade.err.find("Upgrade request required"), std::string::npos) << no_upgrade.err;
  Apply(R"(apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  nodeSelector: {no-such-label: "x"}
  containers: [{name: c, image: )" +
        std::string(kBusybox) + R"(}]
)");
  auto unscheduled = Kubectl(k, {"exec", "nowhere", "--", "true"});
  EXPECT_NE(unscheduled.exit_code, 0);
  EXPECT_NE(unscheduled.err.find("pod nowhere does not have a host assigned"), std::string::npos)
      << unscheduled.err;
  auto waiting = Kubectl(k, {"logs", "nowhere"});
  EXPECT_EQ(waiting.exit_code, 0) << waiting.err;
  EXPECT_EQ(waiting.out, "");

  // The kubelet itself: no token, or a service account's token for the kubelet audience
  // (signed by the same key as the API server's), is 401.
  std::string port = Kubectl(k, {"get", "node", "stream-node", "-o",
                                 "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}"})
                         .out;
  ASSERT_FALSE(port.empty());
  const std::string url = "http://127.0.0.1:" + port + "/containerLogs/default/multi/a";
  auto anonymous =
      testing::RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url});
  EXPECT_EQ(anonymous.out, "401");
  auto token = Kubectl(k, {"create", "token", "default", "--audience", "kubelet"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  while (!token.out.empty() && token.out.back() == '\n') token.out.pop_back();
  auto sa = testing::RunCommand(
      {"curl", "-s", "-w", " %{http_code}", "-H", "Authorization: Bearer " + token.out, url});
  EXPECT_NE(sa.out.find("the token is not the API server's"), std::string::npos) << sa.out;
  EXPECT_TRUE(sa.out.ends_with(" 401")) << sa.out;
  auto health = testing::RunCommand({"curl", "-s", "http://127.0.0.1:" + port + "/healthz"});
  EXPECT_EQ(health.out, "ok");
}

}  // namespace
}  // namespace keelson
