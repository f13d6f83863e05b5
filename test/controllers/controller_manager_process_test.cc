// The controller manager as processes, through the real kubectl: namespace deletion and
// cascading deletes with the manager inside `keelson server`, and two `keelson
// controller-manager` processes under leader election.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "test/util/keelson_server.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;

// Polls `pred` every 100 ms for up to `timeout`.
bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ControllerProcessTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> flags = {}) {
    server_ = std::make_unique<testing::KeelsonServer>(KEELSON_BINARY, std::move(flags));
    ASSERT_TRUE(server_->Start().ok()) << server_->log();
  }
  testing::CommandResult Kubectl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_->kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, stdin_data, 60s);
  }
  std::string Get(std::vector<std::string> args) {
    args.insert(args.begin(), "get");
    return Kubectl(args).out;
  }

  std::unique_ptr<testing::KeelsonServer> server_;
  testing::TempDir dir_{"keelson-controllers"};
};

TEST_F(ControllerProcessTest, DeletedNamespaceShowsTerminatingIsEmptiedThenGoes) {
  StartServer();
  ASSERT_EQ(Kubectl({"create", "namespace", "team"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "configmap", "plain", "-n", "team"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "deployment", "web", "--image=nginx", "-n", "team"}).exit_code, 0);
  // Something holds the namespace: a config map with a finalizer.
  ASSERT_EQ(Kubectl({"apply", "-f", "-"},
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: team, "
                    "finalizers: [example.com/hold]}\n")
                .exit_code,
            0);
  // The controller gives every namespace its default ServiceAccount.
  ASSERT_TRUE(Eventually([&] { return Get({"serviceaccount", "default", "-n", "team", "-o", "name"}) ==
                                      "serviceaccount/default\n"; }));

  auto del = Kubectl({"delete", "namespace", "team", "--wait=false"});
  EXPECT_EQ(del.out, "namespace \"team\" deleted\n") << del.err;
  ASSERT_TRUE(Eventually([&] {
    return Get({"namespace", "team", "--no-headers"}).find("Terminating") != std::string::npos &&
           Get({"configmap", "plain", "-n", "team", "-o", "name"}).empty();
  })) << Get({"namespace", "team"});
  EXPECT_TRUE(Get({"deployment", "-n", "team", "-o", "name"}).empty());
  // kubectl describe shows why it waits.
  ASSERT_TRUE(Eventually([&] {
    return Kubectl({"describe", "namespace", "team"}).out.find(
               "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
               "resource instances") != std::string::npos;
  })) << Kubectl({"describe", "namespace", "team"}).out;
  // New content is refused meanwhile.
  auto refused = Kubectl({"create", "configmap", "late", "-n", "team"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("because it is being terminated"), std::string::npos) << refused.err;

  ASSERT_EQ(Kubectl({"patch", "configmap", "held", "-n", "team", "--type=merge", "-p",
                     R"({"metadata":{"finalizers":null}})"})
                .exit_code,
            0);
  EXPECT_TRUE(Eventually([&] {
    return Kubectl({"get", "namespace", "team"}).err ==
           "Error from server (NotFound): namespaces \"team\" not found\n";
  }, 90s));

  // kubectl delete waits for the namespace to go by default.
  ASSERT_EQ(Kubectl({"create", "namespace", "quick"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "configmap", "c", "-n", "quick"}).exit_code, 0);
  auto waited = Kubectl({"delete", "namespace", "quick", "--timeout=30s"});
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(Kubectl({"get", "namespace", "quick"}).exit_code, 0);
}

TEST_F(ControllerProcessTest, CascadeModesAsUpstream) {
  StartServer();
  ASSERT_EQ(Kubectl({"create", "configmap", "owner"}).exit_code, 0);
  std::string uid = Get({"configmap", "owner", "-o", "jsonpath={.metadata.uid}"});
  ASSERT_FALSE(uid.empty());
  auto dependent = [&](const std::string& name, const std::string& owner,
                       const std::string& owner_uid, bool held) {
    std::string yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name +
                       "\n  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: " + owner +
                       ", uid: " + owner_uid + ", blockOwnerDeletion: true}]\n" +
                       (held ? "  finalizers: [example.com/hold]\n" : "");
    ASSERT_EQ(Kubectl({"apply", "-f", "-"}, yaml).exit_code, 0);
  };
  dependent("dep-held", "owner", uid, true);
  dependent("dep-free", "owner", uid, false);

  // Foreground: the owner shows its finalizer until its dependents are gone.
  auto fg = Kubectl({"delete", "configmap", "owner", "--cascade=foreground", "--wait=false"});
  EXPECT_EQ(fg.out, "configmap \"owner\" deleted\n") << fg.err;
  ASSERT_TRUE(Eventually([&] {
    return Get({"configmap", "owner", "-o", "jsonpath={.metadata.finalizers}"}) ==
               "[\"foregroundDeletion\"]" &&
           Get({"configmap", "dep-free", "-o", "name"}).empty();
  })) << Get({"configmaps"});
  EXPECT_FALSE(Get({"configmap", "dep-held", "-o", "jsonpath={.metadata.deletionTimestamp}"}).empty());
  ASSERT_EQ(Kubectl({"patch", "configmap", "dep-held", "--type=merge", "-p",
                     R"({"metadata":{"finalizers":null}})"})
                .exit_code,
            0);
  EXPECT_TRUE(Eventually([&] { return Get({"configmaps", "-o", "name"}).find("owner") ==
                                      std::string::npos; }));

  // Orphan: the owner goes, its dependents stay without the reference.
  ASSERT_EQ(Kubectl({"create", "configmap", "parent"}).exit_code, 0);
  std::string parent_uid = Get({"configmap", "parent", "-o", "jsonpath={.metadata.uid}"});
  dependent("child", "parent", parent_uid, false);
  auto orphan = Kubectl({"delete", "configmap", "parent", "--cascade=orphan"});
  EXPECT_EQ(orphan.exit_code, 0) << orphan.err;
  EXPECT_NE(Kubectl({"get", "configmap", "parent"}).exit_code, 0);
  EXPECT_EQ(Get({"configmap", "child", "-o", "jsonpath={.metadata.ownerReferences}"}), "");

  // Background (kubectl's default): the owner goes at once, its dependents after it.
  ASSERT_EQ(Kubectl({"create", "configmap", "boss"}).exit_code, 0);
  dependent("worker", "boss", Get({"configmap", "boss", "-o", "jsonpath={.metadata.uid}"}), false);
  EXPECT_EQ(Kubectl({"delete", "configmap", "boss"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Get({"configmap", "worker", "-o", "name"}).empty(); }));
}

// `keelson controller-manager` processes against a server that runs none.
class Manager {
 public:
  // `qps`: the manager's client-side limit (0: none).
  Manager(const std::string& kubeconfig, const std::filesystem::path& dir, const std::string& tag,
          int qps = 0)
      : out_(dir / (tag + ".out")), err_(dir / (tag + ".err")) {
    Status s = process_.Start({KEELSON_BINARY, "controller-manager", "--kubeconfig", kubeconfig,
                                "--leader-elect-lease-duration", "3s",
                                "--leader-elect-renew-deadline", "2s",
                                "--leader-elect-retry-period", "500ms", "--kube-api-qps",
                                std::to_string(qps), "--kube-api-burst", "20"},
                               out_, err_);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  // Its identity, from its first log line.
  std::string Identity() {
    std::string log;
    Eventually([&] {
      log = ReadFile(err_);
      return log.find("standing for election as ") != std::string::npos;
    });
    auto at = log.find("standing for election as ");
    if (at == std::string::npos) return "";
    at += std::string("standing for election as ").size();
    return log.substr(at, log.find('\n', at) - at);
  }
  std::string Log() { return ReadFile(err_); }
  testing::Process& process() { return process_; }

 private:
  std::filesystem::path out_, err_;
  testing::Process process_;
};

TEST_F(ControllerProcessTest, TwoManagersOneLeaderAndTheOtherTakesOverWhenItDies) {
  StartServer({"--disable-controller-manager"});
  // Without a manager, nothing makes service accounts.
  ASSERT_EQ(Kubectl({"create", "namespace", "before"}).exit_code, 0);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(Get({"serviceaccounts", "-n", "before", "-o", "name"}).empty());

  Manager a(server_->kubeconfig(), dir_.path(), "a");
  std::string id_a = a.Identity();
  ASSERT_FALSE(id_a.empty()) << a.Log();
  auto holder = [&] {
    return Get({"lease", "kube-controller-manager", "-n", "kube-system", "-o",
                "jsonpath={.spec.holderIdentity}"});
  };
  ASSERT_TRUE(Eventually([&] { return holder() == id_a; })) << holder() << a.Log();
  ASSERT_TRUE(Eventually([&] { return !Get({"serviceaccount", "default", "-n", "before", "-o",
                                            "name"}).empty(); }));

  Manager b(server_->kubeconfig(), dir_.path(), "b");
  std::string id_b = b.Identity();
  ASSERT_FALSE(id_b.empty());
  std::this_thread::sleep_for(4s);  // longer than the lease: b only stands by
  EXPECT_EQ(holder(), id_a);
  EXPECT_EQ(b.Log().find("starting controllers"), std::string::npos) << b.Log();

  // The leader dies without releasing the lease: b takes over once it expires, and acts.
  a.process().Signal(SIGKILL);
  ASSERT_TRUE(Eventually([&] { return holder() == id_b; }, 30s)) << holder() << b.Log();
  ASSERT_EQ(Kubectl({"create", "namespace", "after"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return !Get({"serviceaccount", "default", "-n", "after", "-o",
                                           "name"}).empty(); }))
      << b.Log();
  // A graceful stop releases the lease at once.
  EXPECT_EQ(b.process().Signal(SIGTERM), 0);
  EXPECT_TRUE(Eventually([&] { return holder().empty(); }, 5s)) << holder();
}

// kill -9 of the manager while a Deployment's pods are being created, and again mid-rollout:
// the next manager picks up from what the API holds (no expectations survive), without
// duplicate pods or ReplicaSets.
TEST_F(ControllerProcessTest, AManagerKilledMidRolloutIsResumedWithoutDuplicates) {
  StartServer({"--disable-controller-manager"});
  testing::Process agent;
  ASSERT_TRUE(agent
                  .Start({KEELSON_BINARY, "agent", "--simulate", "3", "--kubeconfig",
                          server_->kubeconfig(), "--pods", "1000", "--cpu", "1000"},
                         dir_.path() / "agent.out", dir_.path() / "agent.err")
                  .ok());
  constexpr int kReplicas = 1200;
  auto count = [&](const std::string& what) {
    std::istringstream in(Get({what, "-l", "app=web", "-o", "name"}));
    int n = 0;
    for (std::string line; std::getline(in, line);) n += !line.empty();
    return n;
  };
  auto live_pods = [&] {
    std::istringstream in(Get({"pods", "-l", "app=web", "-o",
                               "jsonpath={range .items[*]}{.metadata.deletionTimestamp}|{end}"}));
    int n = 0;
    for (std::string f; std::getline(in, f, '|');) n += f.empty();
    return n;
  };
  auto complete = [&](const std::string& image) {
    auto s = Get({"deployment", "web", "-o",
                  "jsonpath={.status.updatedReplicas} {.status.availableReplicas} "
                  "{.status.replicas} {.spec.template.spec.containers[0].image}"});
    std::string n = std::to_string(kReplicas);
    return s == n + " " + n + " " + n + " " + image;
  };
  // Slowed to about 150 writes a second, so that it can be killed part-way.
  auto a = std::make_unique<Manager>(server_->kubeconfig(), dir_.path(), "a", 150);
  ASSERT_EQ(Kubectl({"create", "deployment", "web", "--image=nginx:1",
                     "--replicas=" + std::to_string(kReplicas)})
                .exit_code,
            0);
  ASSERT_TRUE(Eventually([&] { return count("pods") >= 100; }, 60s)) << a->Log();
  a->process().Signal(SIGKILL);
  int at_kill = count("pods");
  EXPECT_LT(at_kill, kReplicas) << "too late to kill the manager mid-creation";

  auto b = std::make_unique<Manager>(server_->kubeconfig(), dir_.path(), "b", 150);
  ASSERT_TRUE(Eventually([&] { return complete("nginx:1"); }, 90s))
      << Get({"deployment", "web", "-o", "yaml"}) << b->Log();
  EXPECT_EQ(count("pods"), kReplicas);
  EXPECT_EQ(count("replicasets"), 1);

  // Mid-rollout.
  ASSERT_EQ(Kubectl({"set", "image", "deployment/web", "nginx=nginx:2"}).exit_code, 0);
  ASSERT_TRUE(Eventually([&] {
    return Get({"pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}"})
               .find("nginx:2") != std::string::npos;
  }, 60s));
  b->process().Signal(SIGKILL);
  auto c = std::make_unique<Manager>(server_->kubeconfig(), dir_.path(), "c", 150);
  ASSERT_TRUE(Eventually([&] { return complete("nginx:2"); }, 120s))
      << Get({"deployment", "web", "-o", "yaml"}) << c->Log();
  EXPECT_TRUE(Eventually([&] { return live_pods() == kReplicas; }, 30s)) << live_pods();
  EXPECT_EQ(count("replicasets"), 2);  // the old one scaled to 0, kept for rollback
  std::istringstream reps(Get({"rs", "-l", "app=web", "-o", "jsonpath={.items[*].spec.replicas}"}));
  std::multiset<int> replicas;
  for (int r; reps >> r;) replicas.insert(r);
  EXPECT_EQ(replicas, (std::multiset<int>{0, kReplicas}));
}

TEST_F(ControllerProcessTest, BadFlagsAreRefused) {
  auto r = testing::RunCommand({KEELSON_BINARY, "controller-manager", "--controllers=*,-nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("\"nosuch\" is not in the list of known controllers"), std::string::npos)
      << r.err;
  auto d = testing::RunCommand({KEELSON_BINARY, "controller-manager", "--node-monitor-grace-period",
                                "soon"});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_NE(d.err.find("--node-monitor-grace-period"), std::string::npos) << d.err;
}

}  // namespace
}  // namespace keelson
