// `keelson agent --simulate N` as a process against a real `keelson server`, through kubectl:
// nodes Ready with their leases renewed; a SIGKILL stops every heartbeat; bad flags and files
// are refused naming what is wrong.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "test/util/keelson_server.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start().ok()) << server_.log(); }

  testing::CommandResult Kubectl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_.kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, "", 60s);
  }
  std::string RenewTime(const std::string& node) {
    return Kubectl(
               {"get", "lease", "-n", "kube-node-lease", node, "-o", "jsonpath={.spec.renewTime}"})
        .out;
  }
  // Waits until `pred` holds (up to 20 s).
  bool Eventually(const std::function<bool()>& pred) {
    for (int i = 0; i < 100; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  testing::KeelsonServer server_{KEELSON_BINARY};
  testing::TempDir dir_{"keelson-agent"};
};

TEST_F(AgentTest, HollowNodesHeartbeatUntilKilled) {
  testing::Process agent;
  ASSERT_TRUE(
      agent
          .Start({KEELSON_BINARY, "agent", "--simulate", "5", "--kubeconfig", server_.kubeconfig(),
                  "--renew-interval", "300ms", "--node-labels", "topology.kubernetes.io/zone=z1",
                  "--node-taints", "dedicated=sim:NoSchedule"},
                 dir_.path() / "stdout", dir_.path() / "stderr")
          .ok());
  ASSERT_TRUE(Eventually([&] {
    auto r = Kubectl({"get", "nodes", "--no-headers"});
    return r.out.find("hollow-node-4   Ready") != std::string::npos;
  })) << Kubectl({"get", "nodes"}).out;
  auto labels = Kubectl({"get", "node", "hollow-node-2", "-o",
                         "jsonpath={.metadata.labels.topology\\.kubernetes\\.io/zone} "
                         "{.spec.taints[0].key}"});
  EXPECT_EQ(labels.out, "z1 dedicated");
  std::string t0 = RenewTime("hollow-node-3");
  ASSERT_FALSE(t0.empty());
  EXPECT_TRUE(Eventually([&] { return RenewTime("hollow-node-3") != t0; }));
  // kill -9: no process left to renew anything.
  agent.Signal(SIGKILL);
  std::string last = RenewTime("hollow-node-3");
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(RenewTime("hollow-node-3"), last);
  EXPECT_EQ(Kubectl({"get", "nodes", "--no-headers"}).out.find("hollow-node-5"), std::string::npos);
}

TEST_F(AgentTest, BadFlagsAndFilesAreRefusedNamingTheProblem) {
  // Without --simulate the agent is a real node, whose flags are checked before anything runs.
  auto real = testing::RunCommand(
      {KEELSON_BINARY, "agent", "--kubeconfig", server_.kubeconfig(), "--max-pods", "0"});
  EXPECT_EQ(real.exit_code, 2);
  EXPECT_NE(real.err.find("--max-pods"), std::string::npos) << real.err;
  auto zero = testing::RunCommand({KEELSON_BINARY, "agent", "--simulate", "0"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.err.find("--simulate"), std::string::npos) << zero.err;
  std::string file = (dir_.path() / "node.yaml").string();
  std::ofstream(file) << "capacity: {gpus: 2}\n";
  auto bad = testing::RunCommand({KEELSON_BINARY, "agent", "--simulate", "1", "--node-config", file,
                                  "--kubeconfig", server_.kubeconfig()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("capacity.gpus"), std::string::npos) << bad.err;
  auto taint = testing::RunCommand(
      {KEELSON_BINARY, "agent", "--simulate", "1", "--node-taints", "a=b:Sometimes"});
  EXPECT_EQ(taint.exit_code, 2);
  EXPECT_NE(taint.err.find("--node-taints"), std::string::npos) << taint.err;
  auto help = testing::RunCommand({KEELSON_BINARY, "agent", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--simulate", "--kubeconfig", "--node-labels", "--node-taints",
                           "--node-config", "--pod-start-delay", "--cpu", "--memory", "--pods",
                           "--container-runtime-endpoint", "--pod-manifest-path"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace keelson
