// A node failure, end to end: `keelson server` (with its controller manager and scheduler
// in-process) and two `keelson agent --simulate 3` processes; `kill -9` of one agent takes its
// nodes NotReady with the unreachable taints, and its pods are evicted within their
// tolerationSeconds plus the grace period, a Deployment's pods replaced on the other nodes;
// the other agent's nodes and pods are untouched, and the failed nodes lose their taints when
// an agent runs them again. Checked with the real kubectl.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "test/util/keelson_server.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Small values so the test runs in seconds; the pods tolerate the taints for 3 s.
constexpr auto kGrace = 5s;
constexpr auto kPeriod = 1s;
constexpr auto kToleration = 3s;

class NodeFailureTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start().ok()) << server_.log(); }

  testing::CommandResult Kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_.kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, "", 60s);
  }
  std::string Get(const std::string& what, const std::string& jsonpath) {
    return Kubectl({"get", what, "-o", "jsonpath=" + jsonpath}).out;
  }
  bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return pred();
  }

  void StartAgent(testing::Process* agent, const std::string& prefix) {
    ASSERT_TRUE(agent
                    ->Start({KEELSON_BINARY, "agent", "--simulate", "3", "--kubeconfig",
                             server_.kubeconfig(), "--node-name-prefix", prefix,
                             "--renew-interval", "500ms"},
                            dir_.path() / (prefix + "stdout"), dir_.path() / (prefix + "stderr"))
                    .ok());
  }

  // The STATUS column of `kubectl get nodes` for each node.
  std::map<std::string, std::string> NodeStatus() {
    std::map<std::string, std::string> out;
    std::istringstream lines(Kubectl({"get", "nodes", "--no-headers"}).out);
    std::string name, status, rest;
    while (lines >> name >> status && std::getline(lines, rest)) out[name] = status;
    return out;
  }

  // The web pods not being deleted, and their nodes, once Running.
  std::map<std::string, std::string> WebPods() {
    std::map<std::string, std::string> out;
    std::istringstream lines(Get(
        "pods", "{range .items[?(@.metadata.labels.app==\"web\")]}{.metadata.name} "
                "{.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{\"\\n\"}{end}"));
    for (std::string line; std::getline(lines, line);) {
      std::istringstream f(line);
      std::string name, node, phase, deleted;
      f >> name >> node >> phase >> deleted;
      if (phase == "Running" && deleted.empty()) out[name] = node;
    }
    return out;
  }

  testing::KeelsonServer server_{
      KEELSON_BINARY,
      {"--node-monitor-period", "1s", "--node-monitor-grace-period", "5s",
       // One zone of six nodes: the three that fail are tainted at once rather than one every
       // 10 s (upstream's --node-eviction-rate 0.1), which the in-process tests cover.
       "--node-eviction-rate", "10"}};
  testing::TempDir dir_{"keelson-node-failure"};
};

TEST_F(NodeFailureTest, KilledAgentsNodesAreTaintedAndTheirPodsEvicted) {
  testing::Process a, b;
  StartAgent(&a, "a-");
  StartAgent(&b, "b-");
  ASSERT_TRUE(WaitFor([&] {
    auto s = NodeStatus();
    int ready = 0;
    for (auto& [n, st] : s) ready += st == "Ready";
    return ready == 6;
  }, 30s)) << Kubectl({"get", "nodes"}).out;

  std::string manifest;
  for (const char* node : {"a-0", "a-1", "a-2", "b-0", "b-1", "b-2"}) {
    manifest += std::string("---\napiVersion: v1\nkind: Pod\nmetadata: {name: p-") + node +
                "}\nspec:\n  nodeName: " + node +
                "\n  containers: [{name: c, image: busybox}]\n  tolerations:\n"
                "  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute,"
                " tolerationSeconds: 3}\n"
                "  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute,"
                " tolerationSeconds: 3}\n";
  }
  // And a Deployment, whose pods the scheduler places on both agents' nodes.
  manifest += R"(---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx}]
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
)";
  std::string file = (dir_.path() / "pods.yaml").string();
  std::ofstream(file) << manifest;
  auto created = Kubectl({"apply", "-f", file});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_TRUE(WaitFor([&] {
    return Get("pods", "{.items[*].status.phase}") ==
           "Running Running Running Running Running Running Running Running Running Running "
           "Running Running";
  }, 30s)) << Kubectl({"get", "pods", "-o", "wide"}).out;
  auto web = WebPods();
  EXPECT_EQ(web.size(), 6u);
  // Some on the nodes about to fail, so that the replacements below are real.
  ASSERT_TRUE(std::any_of(web.begin(), web.end(),
                          [](const auto& p) { return p.second.rfind("a-", 0) == 0; }))
      << Kubectl({"get", "pods", "-o", "wide"}).out;

  // The agent of a-0, a-1 and a-2 dies.
  a.Signal(SIGKILL);
  const auto killed = Clock::now();
  ASSERT_TRUE(WaitFor([&] {
    auto s = NodeStatus();
    return s["a-0"] == "NotReady" && s["a-1"] == "NotReady" && s["a-2"] == "NotReady";
  }, 30s)) << Kubectl({"get", "nodes"}).out;
  const auto not_ready = Clock::now() - killed;
  ASSERT_TRUE(WaitFor([&] {
    for (const char* p : {"p-a-0", "p-a-1", "p-a-2"}) {
      if (Get("pod/" + std::string(p), "{.metadata.deletionTimestamp}").empty()) return false;
    }
    return true;
  }, 30s)) << Kubectl({"get", "pods"}).out << Kubectl({"describe", "node", "a-0"}).out;
  const auto evicted = Clock::now() - killed;
  // Unknown after the grace period (detected within a monitor period); the NoExecute taint a
  // monitor period later; the eviction after tolerationSeconds. 3 s of slack for a loaded
  // machine and kubectl's own time.
  EXPECT_LE(not_ready, kGrace + 2 * kPeriod + 3s)
      << std::chrono::duration_cast<std::chrono::milliseconds>(not_ready).count() << " ms";
  EXPECT_LE(evicted, kGrace + kToleration + 2 * kPeriod + 3s)
      << std::chrono::duration_cast<std::chrono::milliseconds>(evicted).count() << " ms";
  std::printf("NotReady after %lld ms, pods evicted after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(not_ready).count()),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(evicted).count()));

  // The Deployment's evicted pods are replaced on the nodes that remain.
  EXPECT_TRUE(WaitFor([&] {
    auto live = WebPods();
    if (live.size() != 6) return false;
    for (const auto& [pod, node] : live) {
      if (node.rfind("b-", 0) != 0) return false;
    }
    return Get("deployment/web", "{.status.availableReplicas}") == "6";
  }, 30s)) << Kubectl({"get", "pods", "-o", "wide"}).out;

  auto describe = Kubectl({"describe", "node", "a-1"});
  EXPECT_NE(describe.out.find("node.kubernetes.io/unreachable:NoExecute"), std::string::npos)
      << describe.out;
  EXPECT_NE(describe.out.find("node.kubernetes.io/unreachable:NoSchedule"), std::string::npos)
      << describe.out;
  EXPECT_NE(describe.out.find("Kubelet stopped posting node status."), std::string::npos);
  auto pods = Kubectl({"get", "pods", "--no-headers"}).out;
  EXPECT_NE(pods.find("Terminating"), std::string::npos) << pods;
  EXPECT_EQ(Get("pod/p-a-0", "{.status.conditions[?(@.type==\"DisruptionTarget\")].reason}"),
            "DeletionByTaintManager");
  EXPECT_EQ(Get("pod/p-a-0", "{.status.conditions[?(@.type==\"Ready\")].status}"), "False");
  // The other agent's nodes and pods are untouched.
  auto s = NodeStatus();
  for (const char* n : {"b-0", "b-1", "b-2"}) EXPECT_EQ(s[n], "Ready") << n;
  EXPECT_EQ(Get("node/b-0", "{.spec.taints}"), "");
  for (const char* p : {"p-b-0", "p-b-1", "p-b-2"}) {
    EXPECT_EQ(Get("pod/" + std::string(p), "{.status.phase}"), "Running") << p;
    EXPECT_EQ(Get("pod/" + std::string(p), "{.metadata.deletionTimestamp}"), "") << p;
  }

  // An agent runs a-0 ... a-2 again: Ready, untainted; their terminating pods finish.
  testing::Process again;
  StartAgent(&again, "a-");
  EXPECT_TRUE(WaitFor([&] {
    auto st = NodeStatus();
    return st["a-0"] == "Ready" && st["a-1"] == "Ready" && st["a-2"] == "Ready" &&
           Get("node/a-0", "{.spec.taints}").empty() &&
           Get("node/a-1", "{.spec.taints}").empty() && Get("node/a-2", "{.spec.taints}").empty();
  }, 30s)) << Kubectl({"describe", "node", "a-0"}).out;
  EXPECT_TRUE(WaitFor([&] {
    return Kubectl({"get", "pods", "--no-headers"}).out.find("p-a-") == std::string::npos;
  }, 30s)) << Kubectl({"get", "pods"}).out;
}

}  // namespace
}  // namespace keelson
