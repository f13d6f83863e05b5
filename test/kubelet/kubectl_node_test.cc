// The single-node cluster of README's main command, end to end: `keelson server` with its local
// node (the kubelet on containerd, runc and the CNI plugins) driven by real kubectl. Needs root;
// skipped with the reason otherwise.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "test/util/control_plane.h"
#include "test/util/keelson_server.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Eventually;

constexpr const char* kBusybox = KEELSON_BUSYBOX_IMAGE;

class KubectlNodeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) {
      skip_ = "needs root: the local node runs containerd and network namespaces";
      return;
    }
    for (const char* bin : {"containerd", "runc"}) {
      if (testing::RunCommand({"sh", "-c", std::string("command -v ") + bin}).exit_code != 0) {
        skip_ = std::string(bin) + " is not installed (scripts/install-deps.sh installs it)";
        return;
      }
    }
    server_ = new testing::KeelsonServer(KEELSON_BINARY, {}, /*local_node=*/true);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(Eventually(
        [] {
          auto r = Kubectl({"get", "nodes", "--no-headers"});
          return r.out.find(" Ready ") != std::string::npos;
        },
        60s))
        << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static testing::CommandResult Kubectl(std::vector<std::string> args, const std::string& in = "",
                                        const std::string& binary = "kubectl") {
    std::vector<std::string> argv = {binary, "--kubeconfig", server_->kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, in, 90s);
  }
  static void Apply(const std::string& yaml) {
    auto r = Kubectl({"apply", "-f", "-"}, yaml);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // The STATUS column of `kubectl get pod NAME`.
  static std::string StatusColumn(const std::string& pod, const std::string& binary = "kubectl") {
    auto r = Kubectl({"get", "pod", pod, "--no-headers"}, "", binary);
    std::istringstream words(r.out);
    std::string name, ready, status;
    words >> name >> ready >> status;
    return status;
  }
  static bool WaitStatus(const std::string& pod, const std::vector<std::string>& want,
                         std::chrono::milliseconds timeout, std::string* last) {
    return Eventually(
        [&] {
          *last = StatusColumn(pod);
          return std::find(want.begin(), want.end(), *last) != want.end();
        },
        timeout);
  }
  static std::string Jsonpath(const std::string& what, const std::string& path) {
    return Kubectl({"get", what, "-o", "jsonpath=" + path}).out;
  }

  static inline std::string skip_;
  static inline testing::KeelsonServer* server_ = nullptr;
};

std::string Pod(const std::string& name, const std::string& spec) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n" + spec;
}

TEST_F(KubectlNodeTest, DeploymentRunsRealContainersAndSurvivesServerRestarts) {
  auto r = Kubectl({"create", "deployment", "web", std::string("--image=") + kBusybox,
                    "--replicas=2", "--", "sh", "-c",
                    "mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 8080 -h /www"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"rollout", "status", "deployment/web", "--timeout=90s"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << server_->log();
  std::string ids = Jsonpath("pods", "{.items[*].status.containerStatuses[0].containerID}");
  std::string ips = Jsonpath("pods", "{.items[*].status.podIP}");
  ASSERT_FALSE(ids.empty());
  // Each pod answers on its IP with its own name.
  std::istringstream each(ips);
  std::string ip;
  int answered = 0;
  while (each >> ip) {
    auto c = testing::RunCommand({"curl", "-s", "-m", "5", "http://" + ip + ":8080/"});
    EXPECT_NE(c.out.find("web-"), std::string::npos) << ip << ": " << c.err;
    ++answered;
  }
  EXPECT_EQ(answered, 2);

  // A restart of the server (and its node) leaves the containers running: same ids, no restarts.
  EXPECT_EQ(server_->Stop(), 0);
  ASSERT_TRUE(server_->Start().ok()) << server_->log();
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(Jsonpath("pods", "{.items[*].status.containerStatuses[0].containerID}"), ids);
  EXPECT_EQ(Jsonpath("pods", "{.items[*].status.containerStatuses[0].restartCount}"), "0 0");
  // And after kill -9.
  server_->Kill();
  ASSERT_TRUE(server_->Start().ok()) << server_->log();
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(Jsonpath("pods", "{.items[*].status.containerStatuses[0].containerID}"), ids);
  std::string ready = Jsonpath("deployment/web", "{.status.readyReplicas}");
  EXPECT_EQ(ready, "2");
  Kubectl({"delete", "deployment", "web", "--wait=false"});
}

TEST_F(KubectlNodeTest, GetPodsShowsUpstreamStatusStrings) {
  std::string b = kBusybox;
  Apply(Pod("st-completed", "  restartPolicy: Never\n  containers:\n  - name: c\n    image: " + b +
                                "\n    command: [\"true\"]\n"));
  Apply(Pod("st-error", "  restartPolicy: Never\n  containers:\n  - name: c\n    image: " + b +
                            "\n    command: [\"sh\", \"-c\", \"exit 1\"]\n"));
  Apply(Pod("st-crash", "  containers:\n  - name: c\n    image: " + b +
                            "\n    command: [\"sh\", \"-c\", \"exit 1\"]\n"));
  Apply(Pod("st-pull", "  containers:\n  - name: c\n    image: keelson.invalid/none:1\n"));
  Apply(Pod("st-init", "  initContainers:\n  - name: i\n    image: " + b +
                           "\n    command: [\"sleep\", \"3600\"]\n  containers:\n  - name: c\n"
                           "    image: " +
                           b + "\n    command: [\"sleep\", \"3600\"]\n"));
  Apply(Pod("st-creating", "  containers:\n  - name: c\n    image: " + b +
                               "\n    command: [\"sleep\", \"3600\"]\n    volumeMounts:\n"
                               "    - {name: v, mountPath: /v}\n  volumes:\n"
                               "  - {name: v, configMap: {name: not-there}}\n"));
  Apply(Pod("st-oom", "  restartPolicy: Never\n  containers:\n  - name: c\n    image: " + b +
                          "\n    command: [\"sh\", \"-c\", \"a=xxxxxxxx; while true; do "
                          "a=$a$a; done\"]\n    resources:\n      limits: {memory: 20Mi}\n"));
  Apply(Pod("st-term",
            "  terminationGracePeriodSeconds: 30\n  containers:\n  - name: c\n"
            "    image: " +
                b + "\n    command: [\"sh\", \"-c\", \"trap '' TERM; sleep 3600\"]\n"));
  std::string last;
  EXPECT_TRUE(WaitStatus("st-completed", {"Completed"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-error", {"Error"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-crash", {"CrashLoopBackOff"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-pull", {"ErrImagePull", "ImagePullBackOff"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-init", {"Init:0/1"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-creating", {"ContainerCreating"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-oom", {"OOMKilled"}, 60s, &last)) << last;
  EXPECT_TRUE(WaitStatus("st-term", {"Running"}, 60s, &last)) << last;
  Kubectl({"delete", "pod", "st-term", "--wait=false"});
  EXPECT_TRUE(WaitStatus("st-term", {"Terminating"}, 20s, &last)) << last;
  // Every supported kubectl prints the same.
  for (const auto& kubectl : testing::KubectlBinaries()) {
    EXPECT_EQ(StatusColumn("st-oom", kubectl), "OOMKilled") << kubectl;
    EXPECT_EQ(StatusColumn("st-init", kubectl), "Init:0/1") << kubectl;
  }
  Kubectl({"delete", "pod", "--all", "--grace-period=1", "--wait=false"});
}

}  // namespace
}  // namespace keelson
