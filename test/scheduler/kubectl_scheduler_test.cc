// The scheduler end to end: `keelson server` (its scheduler and controller manager in-process)
// or `keelson scheduler` processes, hollow nodes from `keelson agent --simulate`, and the real
// kubectl. Pods are placed by resources, node selectors, taints, topology spread and pod
// anti-affinity; unschedulable pods carry upstream's FailedScheduling text and PodScheduled
// condition and are retried when a node changes; a high-priority pod preempts; profiles from
// a KubeSchedulerConfiguration file; two scheduler processes under leader election.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "test/util/keelson_server.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 30s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

class SchedulerE2eTest : public ::testing::Test {
 protected:
  explicit SchedulerE2eTest(std::vector<std::string> server_flags = {})
      : server_(KEELSON_BINARY, std::move(server_flags)) {}

  void SetUp() override { ASSERT_TRUE(server_.Start().ok()) << server_.log(); }

  testing::CommandResult Kubectl(std::vector<std::string> args, const std::string& in = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_.kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, in, 60s);
  }
  void Apply(const std::string& yaml) {
    auto r = Kubectl({"apply", "-f", "-"}, yaml);
    ASSERT_EQ(r.exit_code, 0) << r.err << yaml;
  }
  std::string Get(const std::string& what, const std::string& jsonpath) {
    return Kubectl({"get", what, "-o", "jsonpath=" + jsonpath}).out;
  }
  std::string NodeOf(const std::string& pod) { return Get("pod/" + pod, "{.spec.nodeName}"); }

  // Starts `keelson agent --simulate n` with more flags; waits for its nodes to be Ready.
  void StartAgent(testing::Process* agent, const std::string& prefix, int n,
                  std::vector<std::string> flags) {
    std::vector<std::string> argv = {KEELSON_BINARY, "agent", "--simulate", std::to_string(n),
                                     "--kubeconfig", server_.kubeconfig(),
                                     "--node-name-prefix", prefix};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ASSERT_TRUE(agent->Start(argv, dir_.path() / (prefix + "out"), dir_.path() / (prefix + "err"))
                    .ok());
    ASSERT_TRUE(Eventually([&] {
      int ready = 0;
      auto words = Words(Kubectl({"get", "nodes", "--no-headers"}).out);
      for (size_t i = 0; i + 1 < words.size(); ++i) {
        ready += words[i].rfind(prefix, 0) == 0 && words[i + 1] == "Ready";
      }
      return ready == n;
    })) << Kubectl({"get", "nodes"}).out;
  }

  // The FailedScheduling messages of a pod's events.
  std::string FailedScheduling(const std::string& pod) {
    return Kubectl({"get", "events", "--field-selector",
                    "reason=FailedScheduling,involvedObject.name=" + pod, "-o",
                    "jsonpath={.items[*].message}"})
        .out;
  }

  testing::KeelsonServer server_;
  testing::TempDir dir_{"keelson-scheduler-e2e"};
};

// Two zones of three nodes each with 4 CPUs; zone b's nodes are tainted dedicated=gpu.
class PlacementTest : public SchedulerE2eTest {
 protected:
  void SetUp() override {
    SchedulerE2eTest::SetUp();
    StartAgent(&a_, "a-", 3, {"--cpu", "4", "--node-labels", "topology.kubernetes.io/zone=a"});
    StartAgent(&b_, "b-", 3,
               {"--cpu", "4", "--node-labels", "topology.kubernetes.io/zone=b", "--node-taints",
                "dedicated=gpu:NoSchedule"});
  }
  testing::Process a_, b_;
};

TEST_F(PlacementTest, SpreadTaintsSelectorsResourcesAndAntiAffinity) {
  // Spread evenly over the zones; tolerating the taint, so both zones are open.
  Apply(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 6
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: spread}}}
      containers: [{name: c, image: nginx}]
)");
  ASSERT_TRUE(Eventually([&] {
    auto nodes = Words(Get("pods", "{.items[?(@.metadata.labels.app==\"spread\")].spec.nodeName}"));
    return nodes.size() == 6;
  })) << Kubectl({"get", "pods", "-o", "wide"}).out;
  std::map<char, int> per_zone;
  for (const auto& n : Words(Get("pods", "{.items[?(@.metadata.labels.app==\"spread\")].spec.nodeName}"))) {
    per_zone[n[0]]++;
  }
  EXPECT_EQ(per_zone['a'], 3);
  EXPECT_EQ(per_zone['b'], 3);

  // No toleration: only zone a. A Scheduled event as upstream's.
  ASSERT_EQ(Kubectl({"run", "plain", "--image=nginx"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] { return !NodeOf("plain").empty(); }));
  EXPECT_EQ(NodeOf("plain")[0], 'a') << NodeOf("plain");
  auto scheduled = Kubectl({"get", "events", "--field-selector",
                            "reason=Scheduled,involvedObject.name=plain", "-o",
                            "jsonpath={.items[0].message} {.items[0].reportingComponent}"});
  EXPECT_EQ(scheduled.out, "Successfully assigned default/plain to " + NodeOf("plain") +
                               " default-scheduler");

  // More CPU than any node has: Pending, upstream's message and condition.
  Apply(R"(apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "5"}}}]
)");
  ASSERT_TRUE(Eventually([&] { return !FailedScheduling("huge").empty(); }));
  std::string msg = FailedScheduling("huge");
  EXPECT_NE(msg.find("0/6 nodes are available: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 Insufficient cpu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 node(s) had untolerated taint {dedicated: gpu}"), std::string::npos) << msg;
  EXPECT_EQ(Get("pod/huge", "{.status.conditions[?(@.type==\"PodScheduled\")].status}"), "False");
  EXPECT_EQ(Get("pod/huge", "{.status.conditions[?(@.type==\"PodScheduled\")].reason}"),
            "Unschedulable");
  EXPECT_EQ(NodeOf("huge"), "");

  // A node selector nothing matches, until a node is labelled: the node update requeues it.
  Apply(R"(apiVersion: v1
kind: Pod
metadata: {name: picky}
spec:
  nodeSelector: {disk: ssd}
  containers: [{name: c, image: nginx}]
)");
  ASSERT_TRUE(Eventually([&] { return !FailedScheduling("picky").empty(); }));
  EXPECT_NE(FailedScheduling("picky").find("node(s) didn't match Pod's node affinity/selector"),
            std::string::npos)
      << FailedScheduling("picky");
  ASSERT_EQ(Kubectl({"label", "node", "a-1", "disk=ssd"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return NodeOf("picky") == "a-1"; }, 15s))
      << Kubectl({"describe", "pod", "picky"}).out;

  // One per node by required anti-affinity, in zone a: the fourth has nowhere to go.
  Apply(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: solo}
spec:
  replicas: 4
  selector: {matchLabels: {app: solo}}
  template:
    metadata: {labels: {app: solo}}
    spec:
      nodeSelector: {topology.kubernetes.io/zone: a}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: solo}}}
      containers: [{name: c, image: nginx}]
)");
  ASSERT_TRUE(Eventually([&] {
    return Words(Get("pods", "{.items[?(@.metadata.labels.app==\"solo\")].spec.nodeName}")).size() == 3 &&
           Kubectl({"get", "events", "--field-selector", "reason=FailedScheduling"})
                   .out.find("didn't match pod anti-affinity rules") != std::string::npos;
  })) << Kubectl({"get", "pods", "-o", "wide"}).out << Kubectl({"get", "events"}).out;
  auto solo = Words(Get("pods", "{.items[?(@.metadata.labels.app==\"solo\")].spec.nodeName}"));
  EXPECT_EQ(std::set<std::string>(solo.begin(), solo.end()),
            (std::set<std::string>{"a-0", "a-1", "a-2"}));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Words(Get("pods", "{.items[?(@.metadata.labels.app==\"solo\")].spec.nodeName}")).size(),
            3u);
}

class PreemptionTest : public SchedulerE2eTest {};

TEST_F(PreemptionTest, AHighPriorityPodPreemptsALowerOne) {
  testing::Process agent;
  StartAgent(&agent, "n-", 2, {"--pods", "2"});
  Apply(R"(apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 10
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
)");
  std::string fill;
  for (int i = 0; i < 4; ++i) {
    fill += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: low-" + std::to_string(i) +
            "}\nspec:\n  priorityClassName: low\n  containers: [{name: c, image: nginx}]\n";
  }
  Apply(fill);
  ASSERT_TRUE(Eventually([&] {
    return Get("pods", "{.items[*].status.phase}") == "Running Running Running Running";
  })) << Kubectl({"get", "pods", "-o", "wide"}).out;
  EXPECT_EQ(Get("pod/low-0", "{.spec.priority}"), "10");

  Apply(R"(apiVersion: v1
kind: Pod
metadata: {name: urgent}
spec:
  priorityClassName: high
  containers: [{name: c, image: nginx}]
)");
  ASSERT_TRUE(Eventually([&] { return !NodeOf("urgent").empty(); }))
      << Kubectl({"get", "pods", "-o", "wide"}).out << Kubectl({"get", "events"}).out;
  // One low pod made room, on the node the urgent pod went to; the event says so.
  auto preempted = Kubectl({"get", "events", "--field-selector", "reason=Preempted", "-o",
                            "jsonpath={.items[*].involvedObject.name}|{.items[*].message}"})
                       .out;
  auto bar = preempted.find('|');
  ASSERT_NE(bar, std::string::npos) << preempted;
  auto victims = Words(preempted.substr(0, bar));
  ASSERT_EQ(victims.size(), 1u) << preempted;
  EXPECT_NE(preempted.find("Preempted by pod " + Get("pod/urgent", "{.metadata.uid}") +
                           " on node " + NodeOf("urgent")),
            std::string::npos)
      << preempted;
  EXPECT_TRUE(Eventually([&] {
    return Kubectl({"get", "pod", victims[0]}).err.find("NotFound") != std::string::npos;
  })) << Kubectl({"get", "pods", "-o", "wide"}).out;
  EXPECT_EQ(Words(Get("pods", "{.items[*].metadata.name}")).size(), 4u);
}

// A configuration file with two profiles: pods pick one by schedulerName; a pod naming a
// scheduler nobody runs is left alone.
class ProfilesTest : public SchedulerE2eTest {
 protected:
  ProfilesTest() : SchedulerE2eTest({"--scheduler-config", ConfigFile()}) {}
  static std::string ConfigFile() {
    static testing::TempDir* dir = new testing::TempDir("keelson-scheduler-config");
    std::string path = (dir->path() / "config.yaml").string();
    std::ofstream(path) << R"(apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 1}]
)";
    return path;
  }
};

TEST_F(ProfilesTest, PodsChooseAProfileBySchedulerName) {
  testing::Process agent;
  StartAgent(&agent, "n-", 3, {"--cpu", "8"});
  // MostAllocated packs: every pod on one node.
  std::string pods;
  for (int i = 0; i < 4; ++i) {
    pods += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: packed-" + std::to_string(i) +
            "}\nspec:\n  schedulerName: bin-packer\n  containers: [{name: c, image: nginx,"
            " resources: {requests: {cpu: 500m}}}]\n";
  }
  pods += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: nobody}\nspec:\n"
          "  schedulerName: nobody\n  containers: [{name: c, image: nginx}]\n";
  Apply(pods);
  ASSERT_TRUE(Eventually([&] {
    for (int i = 0; i < 4; ++i) {
      if (NodeOf("packed-" + std::to_string(i)).empty()) return false;
    }
    return true;
  })) << Kubectl({"get", "pods", "-o", "wide"}).out;
  std::set<std::string> nodes;
  for (int i = 0; i < 4; ++i) nodes.insert(NodeOf("packed-" + std::to_string(i)));
  EXPECT_EQ(nodes.size(), 1u) << Kubectl({"get", "pods", "-o", "wide"}).out;
  EXPECT_EQ(Kubectl({"get", "events", "--field-selector",
                     "reason=Scheduled,involvedObject.name=packed-0", "-o",
                     "jsonpath={.items[0].reportingComponent}"})
                .out,
            "bin-packer");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(NodeOf("nobody"), "");
  EXPECT_EQ(Kubectl({"get", "events", "--field-selector", "involvedObject.name=nobody", "-o",
                     "name"})
                .out,
            "");
}

TEST(SchedulerCommandTest, ABadConfigurationFileNamesTheField) {
  testing::TempDir dir("keelson-scheduler-bad");
  std::string path = (dir.path() / "bad.yaml").string();
  std::ofstream(path) << "apiVersion: kubescheduler.config.k8s.io/v1\n"
                         "kind: KubeSchedulerConfiguration\n"
                         "profiles:\n- schedulerName: x\n  plugins:\n    filter:\n"
                         "      enabled:\n      - name: Foo\n";
  auto r = testing::RunCommand({KEELSON_BINARY, "scheduler", "--config", path, "--kubeconfig",
                                "/nonexistent"},
                               "", 20s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("profiles[0].plugins.filter.enabled[0].name: Invalid value: \"Foo\""),
            std::string::npos)
      << r.err;
  auto s = testing::RunCommand({KEELSON_BINARY, "server", "--data-dir", dir.path().string(),
                                "--port", "0", "--disable-agent", "--scheduler-config", path},
                               "", 20s);
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("profiles[0].plugins.filter.enabled[0].name"), std::string::npos) << s.err;
}

// `keelson server --disable-scheduler` and two `keelson scheduler` processes: one leads; when
// it is killed the other takes the Lease and schedules.
class LeaderElectionTest : public SchedulerE2eTest {
 protected:
  LeaderElectionTest() : SchedulerE2eTest({"--disable-scheduler"}) {}
  // `qps`: the scheduler's client-side limit (0: none), to slow it down enough to be killed
  // mid-run.
  void StartScheduler(testing::Process* p, const std::string& name, int qps = 0) {
    ASSERT_TRUE(p->Start({KEELSON_BINARY, "scheduler", "--kubeconfig", server_.kubeconfig(),
                          "--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline",
                          "2s", "--leader-elect-retry-period", "500ms", "--kube-api-qps",
                          std::to_string(qps), "--kube-api-burst", "20"},
                         dir_.path() / (name + ".out"), dir_.path() / (name + ".err"))
                    .ok());
  }
  std::string Log(const std::string& name) {
    std::ifstream in(dir_.path() / (name + ".err"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST_F(LeaderElectionTest, TheOtherSchedulerTakesOverWhenTheLeaderDies) {
  testing::Process agent;
  StartAgent(&agent, "n-", 2, {});
  ASSERT_EQ(Kubectl({"run", "first", "--image=nginx"}).exit_code, 0);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(NodeOf("first"), "") << "the server's scheduler is disabled";

  testing::Process one, two;
  StartScheduler(&one, "one");
  StartScheduler(&two, "two");
  ASSERT_TRUE(Eventually([&] { return !NodeOf("first").empty(); }))
      << Log("one") << Log("two");
  auto lease_holder = [&] {
    return Kubectl({"get", "lease", "kube-scheduler", "-n", "kube-system", "-o",
                    "jsonpath={.spec.holderIdentity}"})
        .out;
  };
  std::string holder = lease_holder();
  ASSERT_FALSE(holder.empty());
  bool one_leads = Log("one").find("leading as " + holder) != std::string::npos;
  bool two_leads = Log("two").find("leading as " + holder) != std::string::npos;
  ASSERT_NE(one_leads, two_leads) << Log("one") << Log("two");

  (one_leads ? one : two).Signal(SIGKILL);
  ASSERT_EQ(Kubectl({"run", "second", "--image=nginx"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return !NodeOf("second").empty(); }, 20s))
      << Log("one") << Log("two");
  EXPECT_NE(lease_holder(), holder);
}

// The leader killed while it works through a Deployment's pods: the other takes over within
// the lease period and schedules the rest; every pod is bound once (one Scheduled event at
// most, the binding being refused for a pod that has a node).
TEST_F(LeaderElectionTest, KillingTheLeaderMidRunBindsEveryPodOnce) {
  testing::Process agent;
  StartAgent(&agent, "n-", 4, {"--pods", "1000", "--cpu", "1000"});
  testing::Process one, two;
  // About 300 bindings and events a second: 1,500 pods take several seconds.
  StartScheduler(&one, "one", 300);
  StartScheduler(&two, "two", 300);
  std::string holder;
  ASSERT_TRUE(Eventually([&] {
    holder = Kubectl({"get", "lease", "kube-scheduler", "-n", "kube-system", "-o",
                      "jsonpath={.spec.holderIdentity}"})
                 .out;
    return !holder.empty() && (Log("one").find("leading as " + holder) != std::string::npos ||
                               Log("two").find("leading as " + holder) != std::string::npos);
  })) << Log("one") << Log("two");
  bool one_leads = Log("one").find("leading as " + holder) != std::string::npos;

  constexpr int kPods = 1500;
  ASSERT_EQ(Kubectl({"create", "deployment", "many", "--image=nginx",
                     "--replicas=" + std::to_string(kPods)})
                .exit_code,
            0);
  auto bound = [&] {
    return Words(Get("pods", "{.items[?(@.metadata.labels.app==\"many\")].spec.nodeName}"))
        .size();
  };
  ASSERT_TRUE(Eventually([&] { return bound() >= 200; }, 60s));
  (one_leads ? one : two).Signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  size_t at_kill = bound();
  ASSERT_LT(at_kill, static_cast<size_t>(kPods)) << "too late to kill the leader mid-run";
  ASSERT_TRUE(Eventually([&] { return bound() > at_kill; }, 30s)) << Log("one") << Log("two");
  auto resumed = std::chrono::steady_clock::now() - killed;
  // A 3 s lease, 500 ms retries; slack for kubectl on a loaded machine.
  EXPECT_LE(resumed, 8s) << std::chrono::duration_cast<std::chrono::milliseconds>(resumed).count()
                         << " ms";
  ASSERT_TRUE(Eventually([&] { return bound() == static_cast<size_t>(kPods); }, 90s))
      << bound() << " bound\n" << Log("one") << Log("two");

  std::map<std::string, int> scheduled;
  for (const auto& pod : Words(Kubectl({"get", "events", "--field-selector", "reason=Scheduled",
                                        "-o", "jsonpath={.items[*].involvedObject.name}"})
                                   .out)) {
    scheduled[pod]++;
  }
  int twice = 0;
  for (const auto& [pod, n] : scheduled) twice += n > 1;
  EXPECT_EQ(twice, 0);
  // Events are best effort (a recorder behind its client's rate limit drops some, as
  // upstream's does), but enough of them are there to check.
  EXPECT_GT(scheduled.size(), 100u);
}

}  // namespace
}  // namespace keelson
