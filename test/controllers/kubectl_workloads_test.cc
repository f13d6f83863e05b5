// kubectl's workload commands (create deployment, scale, set image, rollout status, history,
// undo, pause, resume, restart) against a real `keelson server` — its controller manager
// running the ReplicaSet and Deployment controllers — with hollow nodes from
// `keelson agent --simulate`, for every kubectl 1.27 to 1.33 on the machine. What kubectl
// prints is compared with what upstream's kubectl prints against a Kubernetes cluster.
// The server's own scheduler places the pods on the hollow nodes.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "test/util/keelson_server.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 60s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.push_back(line);
  }
  return out;
}

class KubectlWorkloadsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok()) << server_.log();
    ASSERT_TRUE(agent_
                    .Start({KEELSON_BINARY, "agent", "--simulate", "3", "--kubeconfig",
                            server_.kubeconfig(), "--pod-start-delay", "100ms"},
                           dir_.path() / "agent.out", dir_.path() / "agent.err")
                    .ok());
    ASSERT_TRUE(Eventually([&] {
      auto r = Kubectl({"get", "nodes", "--no-headers"});
      return std::count(r.out.begin(), r.out.end(), '\n') == 3 &&
             r.out.find("NotReady") == std::string::npos;
    })) << Kubectl({"get", "nodes"}).out;
  }

  void TearDown() override {
    agent_.Signal(SIGTERM);
  }

  testing::CommandResult Kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {GetParam(), "--kubeconfig", server_.kubeconfig(),
                                     "--cache-dir", (server_.dir() / "cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, "", 120s);
  }

  // `kubectl rollout status` until it succeeds; every line it printed is one of upstream's.
  void RolloutStatus(const std::string& name) {
    auto r = Kubectl({"rollout", "status", "deployment/" + name, "--timeout=90s"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    std::regex waiting(
        "Waiting for deployment \"" + name +
        "\" rollout to finish: (\\d+ out of \\d+ new replicas have been updated|"
        "\\d+ old replicas are pending termination|\\d+ of \\d+ updated replicas are available)"
        "\\.\\.\\.|Waiting for deployment spec update to be observed\\.\\.\\.");
    auto lines = Lines(r.out);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back(), "deployment \"" + name + "\" successfully rolled out");
    for (size_t i = 0; i + 1 < lines.size(); ++i) {
      EXPECT_TRUE(std::regex_match(lines[i], waiting)) << lines[i];
    }
  }

  std::string Jsonpath(const std::string& what, const std::string& path) {
    auto r = Kubectl({"get", what, "-o", "jsonpath=" + path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  std::set<std::string> ReplicaSetNames(const std::string& app) {
    std::set<std::string> out;
    std::istringstream in(Jsonpath("rs", "{range .items[?(@.metadata.labels.app==\"" + app +
                                             "\")]}{.metadata.name}{\"\\n\"}{end}"));
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) out.insert(l);
    }
    return out;
  }

  testing::KeelsonServer server_{KEELSON_BINARY};
  testing::TempDir dir_{"keelson-workloads-e2e"};
  testing::Process agent_;
};

TEST_P(KubectlWorkloadsTest, DeploymentLifecycle) {
  auto r = Kubectl({"create", "deployment", "web", "--image=nginx:1.25", "--replicas=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web created\n");
  RolloutStatus("web");
  r = Kubectl({"get", "deployment", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_TRUE(std::regex_match(lines[0], std::regex("NAME\\s+READY\\s+UP-TO-DATE\\s+AVAILABLE\\s+AGE")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex("web\\s+3/3\\s+3\\s+3\\s+\\d+s"))) << lines[1];
  auto first_rs = ReplicaSetNames("web");
  ASSERT_EQ(first_rs.size(), 1u);
  std::string revision = Jsonpath("deployment/web", "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}");
  EXPECT_EQ(revision, "1");

  // Scale.
  r = Kubectl({"scale", "deployment", "web", "--replicas=5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web scaled\n");
  RolloutStatus("web");
  EXPECT_TRUE(Eventually([&] { return Jsonpath("deployment/web", "{.status.readyReplicas}") == "5"; }));
  EXPECT_EQ(ReplicaSetNames("web"), first_rs);

  // A new image: a second ReplicaSet, revision 2, with a change-cause.
  r = Kubectl({"set", "image", "deployment/web", "nginx=nginx:1.26"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web image updated\n");
  RolloutStatus("web");
  r = Kubectl({"annotate", "deployment", "web", "kubernetes.io/change-cause=image 1.26"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(ReplicaSetNames("web").size(), 2u);
  ASSERT_TRUE(Eventually([&] {
    auto h = Kubectl({"rollout", "history", "deployment/web"});
    return Lines(h.out) == std::vector<std::string>{"deployment.apps/web", "REVISION  CHANGE-CAUSE",
                                                     "1         <none>", "2         image 1.26", ""};
  })) << Kubectl({"rollout", "history", "deployment/web"}).out;
  r = Kubectl({"rollout", "history", "deployment/web", "--revision=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deployment.apps/web with revision #2"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Image:\\s+nginx:1\\.26"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("pod-template-hash=\\w+"))) << r.out;

  // Undo: back to revision 1's template, in the same ReplicaSet, now revision 3.
  r = Kubectl({"rollout", "undo", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web rolled back\n");
  RolloutStatus("web");
  EXPECT_EQ(Jsonpath("deployment/web", "{.spec.template.spec.containers[0].image}"), "nginx:1.25");
  EXPECT_EQ(ReplicaSetNames("web").size(), 2u);
  EXPECT_EQ(Jsonpath("rs/" + *first_rs.begin(),
                     "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}"),
            "3");
  ASSERT_TRUE(Eventually([&] {
    auto h = Lines(Kubectl({"rollout", "history", "deployment/web"}).out);
    return h.size() == 5 && h[2].starts_with("2 ") && h[3].starts_with("3 ");
  })) << Kubectl({"rollout", "history", "deployment/web"}).out;

  // Pause: template changes wait; resume rolls them out.
  r = Kubectl({"rollout", "pause", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web paused\n");
  r = Kubectl({"set", "image", "deployment/web", "nginx=nginx:1.27"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(ReplicaSetNames("web").size(), 2u) << "rolled out while paused";
  EXPECT_EQ(Jsonpath("deployment/web", "{.status.conditions[?(@.type==\"Progressing\")].reason}"),
            "DeploymentPaused");
  r = Kubectl({"rollout", "resume", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web resumed\n");
  RolloutStatus("web");
  EXPECT_EQ(ReplicaSetNames("web").size(), 3u);

  // Restart: a template annotation, so a new ReplicaSet with the same image.
  r = Kubectl({"rollout", "restart", "deployment/web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "deployment.apps/web restarted\n");
  RolloutStatus("web");
  EXPECT_EQ(ReplicaSetNames("web").size(), 4u);
  EXPECT_FALSE(Jsonpath("deployment/web",
                        "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
                   .empty());
  EXPECT_TRUE(Eventually([&] {
    return Jsonpath("deployment/web", "{.status.availableReplicas}") == "5" &&
           Jsonpath("deployment/web", "{.status.updatedReplicas}") == "5";
  }));
  r = Kubectl({"get", "pods", "-l", "app=web", "--no-headers"});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5) << r.out;
  EXPECT_EQ(r.out.find("Pending"), std::string::npos) << r.out;
}

TEST_P(KubectlWorkloadsTest, ReplicaSetsAndReplicationControllersScale) {
  std::string rc =
      "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: legacy}\nspec:\n  replicas: 2\n"
      "  selector: {app: legacy}\n  template:\n    metadata: {labels: {app: legacy}}\n"
      "    spec: {containers: [{name: c, image: nginx}]}\n";
  auto r = testing::RunCommand({GetParam(), "--kubeconfig", server_.kubeconfig(), "apply", "-f", "-"}, rc);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "replicationcontroller/legacy created\n");
  EXPECT_TRUE(Eventually([&] {
    auto g = Lines(Kubectl({"get", "rc", "legacy", "--no-headers"}).out);
    return !g.empty() && std::regex_match(g[0], std::regex("legacy\\s+2\\s+2\\s+2\\s+\\d+s"));
  })) << Kubectl({"get", "rc", "legacy"}).out;
  r = Kubectl({"scale", "rc", "legacy", "--replicas=4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "replicationcontroller/legacy scaled\n");
  EXPECT_TRUE(Eventually([&] {
    auto g = Lines(Kubectl({"get", "rc", "legacy", "--no-headers"}).out);
    return !g.empty() && std::regex_match(g[0], std::regex("legacy\\s+4\\s+4\\s+4\\s+\\d+s"));
  })) << Kubectl({"get", "rc", "legacy"}).out;
  r = Kubectl({"describe", "rc", "legacy"});
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Pods Status:\\s+4 Running / 0 Waiting / 0 Succeeded / 0 Failed")))
      << r.out;
  EXPECT_NE(r.out.find("SuccessfulCreate"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Kubectl, KubectlWorkloadsTest, ::testing::ValuesIn(testing::KubectlBinaries()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = fs::path(info.param).filename().string();
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace keelson
