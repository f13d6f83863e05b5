// The Service proxy on real nftables: `keelson proxy` against `keelson server`, programming a
// network namespace the test builds as a node — a bridge with three "pods" (namespaces
// running busybox httpd, each answering its own name), a client pod on the same bridge, and
// an outside host on a link of its own. Services and EndpointSlices are created with kubectl;
// traffic is real (curl). Needs root (network namespaces, nftables); skipped otherwise.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "test/util/control_plane.h"
#include "test/util/keelson_server.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Eventually;

const std::string kSuffix = std::to_string(getpid() % 100000);
const std::string kNode = "kpn" + kSuffix;     // the node's namespace
const std::string kClient = "kpc" + kSuffix;   // a pod on the node's bridge
const std::string kOutside = "kpo" + kSuffix;  // a host outside the cluster
const std::string kTable = "keelson-proxy-test";
const std::vector<std::string> kPods = {"kpa" + kSuffix, "kpb" + kSuffix, "kpd" + kSuffix};
const std::vector<std::string> kPodIps = {"10.244.0.11", "10.244.0.12", "10.244.0.13"};
constexpr const char* kNodeIp = "192.168.77.1";

testing::CommandResult Sh(const std::string& script, std::chrono::milliseconds timeout = 30s) {
  return testing::RunCommand({"sh", "-c", script}, "", timeout);
}

std::string Ns(const std::string& ns, const std::string& cmd) {
  return "ip netns exec " + ns + " " + cmd;
}

class ProxyNetnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) {
      skip_ = "needs root: the test builds network namespaces and programs nftables";
      return;
    }
    for (const char* bin : {"nft", "ip", "curl", "busybox", "conntrack"}) {
      if (Sh(std::string("command -v ") + bin).exit_code != 0) {
        skip_ = std::string(bin) + " is not installed (scripts/install-deps.sh installs it)";
        return;
      }
    }
    dir_ = new testing::TempDir("keelson-proxy-test");
    std::string setup = "set -e\n";
    setup += "ip netns add " + kNode + "\nip netns add " + kClient + "\nip netns add " + kOutside +
             "\n";
    setup += Ns(kNode, "ip link set lo up\n");
    setup += Ns(kNode, "ip link add br0 type bridge\n");
    setup += Ns(kNode, "ip addr add 10.244.0.1/24 dev br0\n");
    setup += Ns(kNode, "ip link set br0 up\n");
    auto attach = [&](const std::string& ns, const std::string& host_if, const std::string& ip) {
      std::string s = "ip -n " + kNode + " link add " + host_if + " type veth peer name eth0 netns " +
                      ns + "\n";
      s += Ns(kNode, "ip link set " + host_if + " master br0 up\n");
      // As the CNI bridge plugin's hairpinMode does for the kubelet's pods: a pod's own
      // packets may come back to it through its Service.
      s += Ns(kNode, "ip link set " + host_if + " type bridge_slave hairpin on\n");
      s += Ns(ns, "ip link set lo up\n");
      s += Ns(ns, "ip addr add " + ip + "/24 dev eth0\n");
      s += Ns(ns, "ip link set eth0 up\n");
      s += Ns(ns, "ip route add default via 10.244.0.1\n");
      return s;
    };
    for (size_t i = 0; i < kPods.size(); ++i) {
      setup += "ip netns add " + kPods[i] + "\n";
      setup += attach(kPods[i], "vp" + std::to_string(i), kPodIps[i]);
    }
    setup += attach(kClient, "vc", "10.244.0.20");
    // The outside host: 192.168.77.2, one link to the node; the node's default route.
    setup += "ip -n " + kNode + " link add vo type veth peer name eth0 netns " + kOutside + "\n";
    setup += Ns(kNode, "ip addr add " + std::string(kNodeIp) + "/24 dev vo\n");
    setup += Ns(kNode, "ip link set vo up\n");
    setup += Ns(kNode, "ip route add default via 192.168.77.2\n");
    setup += Ns(kOutside, "ip link set lo up\n");
    setup += Ns(kOutside, "ip addr add 192.168.77.2/24 dev eth0\n");
    setup += Ns(kOutside, "ip link set eth0 up\n");
    auto r = Sh(setup);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Each pod serves its name on 8080.
    for (size_t i = 0; i < kPods.size(); ++i) {
      fs::path www = dir_->path() / kPods[i];
      fs::create_directories(www);
      std::ofstream(www / "index.html") << "pod-" << i << "\n";
      pods_.push_back(new testing::BackgroundCommand(
          {"ip", "netns", "exec", kPods[i], "busybox", "httpd", "-f", "-p", "8080", "-h",
           www.string()}));
    }
    server_ = new testing::KeelsonServer(KEELSON_BINARY);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    StartProxy({});
  }

  static void StartProxy(std::vector<std::string> extra) {
    proxy_log_ = dir_->path() / "proxy.log";
    proxy_ = new testing::Process();
    std::vector<std::string> argv = {KEELSON_BINARY, "proxy", "--kubeconfig", server_->kubeconfig(),
                                     "--netns", kNode, "--hostname-override", "node-a",
                                     "--cluster-cidr", "10.244.0.0/16", "--service-cidr",
                                     "10.43.0.0/16", "--nft-table", kTable,
                                     "--healthz-bind-address", "127.0.0.1:0", "--sync-period",
                                     "3s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Status s = proxy_->Start(argv, proxy_log_, proxy_log_);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(Eventually([] { return TableExists(); }, 20s)) << ProxyLog();
  }

  static void TearDownTestSuite() {
    delete proxy_;
    proxy_ = nullptr;
    for (auto* p : pods_) delete p;
    pods_.clear();
    delete server_;
    server_ = nullptr;
    std::string down;
    for (const auto& ns : kPods) down += "ip netns del " + ns + " 2>/dev/null; ";
    for (const auto& ns : {kNode, kClient, kOutside}) down += "ip netns del " + ns + " 2>/dev/null; ";
    if (!skip_.empty()) return;
    Sh(down);
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static std::string ProxyLog() {
    std::ifstream in(proxy_log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static bool TableExists() {
    return Sh(Ns(kNode, "nft list tables ip")).out.find("table ip " + kTable) != std::string::npos;
  }

  static testing::CommandResult Kubectl(std::vector<std::string> args, const std::string& in = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_->kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, in, 60s);
  }
  static void Apply(const std::string& yaml) {
    auto r = Kubectl({"apply", "-f", "-"}, yaml);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // A selector-less Service on `ip` and its EndpointSlice with the pods `pods` (indexes into
  // kPods) on target port 8080. `extra_spec` goes into the Service's spec.
  static void Service(const std::string& name, const std::string& ip, std::vector<int> pods,
                      const std::string& extra_spec = "", const std::string& node_of_pod1 = "node-a") {
    std::string yaml = "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
                       "\nspec:\n  clusterIP: " + ip + "\n" + extra_spec +
                       "  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n";
    yaml += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + name +
            "-1\n  labels:\n    kubernetes.io/service-name: " + name +
            "\n    endpointslice.kubernetes.io/managed-by: proxy-test\naddressType: IPv4\n"
            "ports:\n- name: http\n  port: 8080\n  protocol: TCP\n";
    yaml += pods.empty() ? "endpoints: []\n" : "endpoints:\n";
    for (int p : pods) {
      yaml += "- addresses: [\"" + kPodIps[p] + "\"]\n  conditions: {ready: true}\n  nodeName: " +
              (p == 1 ? node_of_pod1 : std::string("node-a")) + "\n";
    }
    Apply(yaml);
  }

  // curl from `ns`: the body, or "exit N" when curl fails (7: refused, 28: timed out).
  static std::string Get(const std::string& ns, const std::string& url, int timeout_s = 3) {
    auto r = Sh(Ns(ns, "curl -s -m " + std::to_string(timeout_s) + " " + url),
                std::chrono::seconds(timeout_s + 5));
    if (r.exit_code != 0) return "exit " + std::to_string(r.exit_code);
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  static std::set<std::string> Spread(const std::string& ns, const std::string& url, int n) {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) seen.insert(Get(ns, url));
    return seen;
  }

  static inline std::string skip_;
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::KeelsonServer* server_ = nullptr;
  static inline testing::Process* proxy_ = nullptr;
  static inline fs::path proxy_log_;
  static inline std::vector<testing::BackgroundCommand*> pods_;
};

TEST_F(ProxyNetnsTest, ClusterIpReachesEveryReadyEndpointFromPodsAndTheNode) {
  Service("web", "10.43.100.10", {0, 1, 2});
  ASSERT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.10/").starts_with("pod-"); },
                         10s))
      << ProxyLog();
  EXPECT_EQ(Spread(kClient, "http://10.43.100.10/", 40),
            (std::set<std::string>{"pod-0", "pod-1", "pod-2"}));
  // From the node itself (masqueraded: its source is not in the pod network).
  EXPECT_TRUE(Get(kNode, "http://10.43.100.10/").starts_with("pod-"));
  // A port the Service does not have: rejected at once, not sent to the default route.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(kClient, "http://10.43.100.10:81/"), "exit 7");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  // Scaled down: the endpoint is gone from the rules within a second.
  Service("web", "10.43.100.10", {0, 1});
  auto changed = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually(
      [] {
        // The Service's chains are in one of the shard tables.
        auto rules = Sh(Ns(kNode, "nft list ruleset")).out;
        return rules.find("dnat to 10.244.0.13") == std::string::npos;
      },
      5s));
  EXPECT_LT(std::chrono::steady_clock::now() - changed, 1s);
  EXPECT_EQ(Spread(kClient, "http://10.43.100.10/", 20), (std::set<std::string>{"pod-0", "pod-1"}));
  Kubectl({"delete", "service", "web"});
  Kubectl({"delete", "endpointslice", "web-1"});
}

TEST_F(ProxyNetnsTest, ServiceWithoutEndpointsIsRefusedAtOnce) {
  Service("empty", "10.43.100.11", {});
  ASSERT_TRUE(Eventually(
      [] {
        return Sh(Ns(kNode, "nft list map ip " + kTable + " no-endpoint-services"))
                   .out.find("10.43.100.11") != std::string::npos;
      },
      10s))
      << ProxyLog();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Get(kClient, "http://10.43.100.11/", 5), "exit 7");
  EXPECT_EQ(Get(kNode, "http://10.43.100.11/", 5), "exit 7");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // Endpoints arrive: it answers.
  Service("empty", "10.43.100.11", {2});
  EXPECT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.11/") == "pod-2"; }, 10s));
  Kubectl({"delete", "service", "empty"});
}

TEST_F(ProxyNetnsTest, NodePortFromOutsideAndFromLocalhost) {
  Service("np", "10.43.100.12", {0, 1}, "  type: NodePort\n");
  // kubectl apply merges; give the node port explicitly through a patch.
  auto r = Kubectl({"patch", "service", "np", "--type=json", "-p",
                    R"([{"op":"replace","path":"/spec/ports/0/nodePort","value":30581}])"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(Eventually(
      [] { return Get(kOutside, std::string("http://") + kNodeIp + ":30581/").starts_with("pod-"); },
      10s))
      << ProxyLog();
  EXPECT_EQ(Spread(kOutside, std::string("http://") + kNodeIp + ":30581/", 30),
            (std::set<std::string>{"pod-0", "pod-1"}));
  EXPECT_TRUE(Get(kNode, "http://127.0.0.1:30581/").starts_with("pod-"));
  EXPECT_TRUE(Get(kClient, "http://10.244.0.1:30581/").starts_with("pod-"));
  // Without endpoints the node port refuses.
  Service("np", "10.43.100.12", {}, "  type: NodePort\n");
  EXPECT_TRUE(Eventually(
      [] { return Get(kOutside, std::string("http://") + kNodeIp + ":30581/") == "exit 7"; }, 10s));
  Kubectl({"delete", "service", "np"});
}

TEST_F(ProxyNetnsTest, SessionAffinityAndHairpin) {
  Service("sticky", "10.43.100.13", {0, 1, 2}, "  sessionAffinity: ClientIP\n");
  ASSERT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.13/").starts_with("pod-"); },
                         10s))
      << ProxyLog();
  auto seen = Spread(kClient, "http://10.43.100.13/", 15);
  EXPECT_EQ(seen.size(), 1u) << *seen.begin();
  // A pod reaching itself through its Service (hairpin).
  Service("self", "10.43.100.14", {0});
  EXPECT_TRUE(Eventually([] { return Get(kPods[0], "http://10.43.100.14/") == "pod-0"; }, 10s));
  Kubectl({"delete", "service", "sticky", "self"});
}

TEST_F(ProxyNetnsTest, ExternalTrafficPolicyLocalAndItsHealthCheck) {
  // pod-0 on this node (node-a), pod-1 on node-b.
  Service("local", "10.43.100.15", {0, 1},
          "  type: LoadBalancer\n  externalTrafficPolicy: Local\n", "node-b");
  ASSERT_EQ(Kubectl({"patch", "service", "local", "--type=json", "-p",
                     R"([{"op":"replace","path":"/spec/ports/0/nodePort","value":30582}])"})
                .exit_code,
            0);
  std::string hc = Kubectl({"get", "service", "local", "-o", "jsonpath={.spec.healthCheckNodePort}"}).out;
  ASSERT_FALSE(hc.empty());
  ASSERT_TRUE(Eventually(
      [] { return Get(kOutside, std::string("http://") + kNodeIp + ":30582/") == "pod-0"; }, 10s))
      << ProxyLog();
  EXPECT_EQ(Spread(kOutside, std::string("http://") + kNodeIp + ":30582/", 15),
            std::set<std::string>{"pod-0"});
  // Cluster traffic still spreads over both.
  EXPECT_EQ(Spread(kClient, "http://10.43.100.15/", 30), (std::set<std::string>{"pod-0", "pod-1"}));
  // The health check node port (served by the proxy in its own namespace).
  auto r = Sh("curl -s -w ' %{http_code}' http://127.0.0.1:" + hc + "/");
  EXPECT_NE(r.out.find("\"localEndpoints\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 200"), std::string::npos) << r.out;
  // No local endpoint left: 503, and outside traffic is dropped (not refused).
  Service("local", "10.43.100.15", {1}, "  type: LoadBalancer\n  externalTrafficPolicy: Local\n",
          "node-b");
  EXPECT_TRUE(Eventually(
      [&] { return Sh("curl -s -w ' %{http_code}' http://127.0.0.1:" + hc + "/").out.find(" 503") !=
                   std::string::npos; },
      10s));
  EXPECT_EQ(Get(kOutside, std::string("http://") + kNodeIp + ":30582/", 2), "exit 28");
  Kubectl({"delete", "service", "local"});
}

TEST_F(ProxyNetnsTest, DriftIsRepaired) {
  Service("drift", "10.43.100.16", {2});
  ASSERT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.16/") == "pod-2"; }, 10s));
  // The proxy's count of full syncs, from its /metrics.
  auto full_syncs = [] {
    std::string log = ProxyLog();
    auto at = log.find("health on port ");
    if (at == std::string::npos) return -1;
    int port = std::atoi(log.c_str() + at + 15);
    auto r = Sh("curl -s http://127.0.0.1:" + std::to_string(port) + "/metrics");
    const std::string key = "keelson_proxy_syncs_total{kind=\"full\"} ";
    auto m = r.out.find(key);
    return m == std::string::npos ? -1 : std::atoi(r.out.c_str() + m + key.size());
  };
  const int before = full_syncs();
  ASSERT_GE(before, 1);
  // Someone flushes the tables: the next full sync (--sync-period 3s) rewrites them.
  ASSERT_EQ(Sh(Ns(kNode, "sh -c 'for t in $(nft list tables ip | cut -d\" \" -f3 | grep ^" +
                             kTable + "); do nft flush table ip $t; done'"))
                .exit_code,
            0);
  std::string rules = Sh(Ns(kNode, "nft list ruleset")).out;
  if (full_syncs() == before) {
    // Listed before any repair: the flush took the rules.
    EXPECT_EQ(rules.find("dnat to"), std::string::npos);
  }
  EXPECT_TRUE(Eventually([&] { return full_syncs() > before; }, 15s)) << ProxyLog();
  EXPECT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.16/", 2) == "pod-2"; }, 15s))
      << ProxyLog();
  // Someone deletes it: recreated.
  ASSERT_EQ(Sh(Ns(kNode, "nft delete table ip " + kTable)).exit_code, 0);
  EXPECT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.16/", 2) == "pod-2"; }, 15s))
      << ProxyLog();
  Kubectl({"delete", "service", "drift"});
}

TEST_F(ProxyNetnsTest, BadServicesAreRefusedAndTheRulesStayConsistent) {
  auto r = Kubectl({"apply", "-f", "-"},
                   "apiVersion: v1\nkind: Service\nmetadata:\n  name: noports\nspec:\n"
                   "  clusterIP: 10.43.100.17\n  ports: []\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("spec.ports"), std::string::npos) << r.err;
  r = Kubectl({"apply", "-f", "-"},
              "apiVersion: v1\nkind: Service\nmetadata:\n  name: clash\nspec:\n"
              "  ports:\n  - name: a\n    port: 80\n  - name: a\n    port: 81\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("spec.ports[1].name"), std::string::npos) << r.err;
  // The proxy is still serving.
  Service("after", "10.43.100.18", {1});
  EXPECT_TRUE(Eventually([] { return Get(kClient, "http://10.43.100.18/") == "pod-1"; }, 10s));
  Kubectl({"delete", "service", "after"});
}

TEST_F(ProxyNetnsTest, UdpFlowsToAnEndpointThatGoesAreCleared) {
  auto udp = [](std::vector<int> pods) {
    std::string yaml =
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: udp\nspec:\n  clusterIP: 10.43.100.19\n"
        "  ports:\n  - name: dns\n    port: 53\n    protocol: UDP\n    targetPort: 5353\n"
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: udp-1\n"
        "  labels:\n    kubernetes.io/service-name: udp\n"
        "    endpointslice.kubernetes.io/managed-by: proxy-test\naddressType: IPv4\n"
        "ports:\n- name: dns\n  port: 5353\n  protocol: UDP\nendpoints:\n";
    for (int p : pods) {
      yaml += "- addresses: [\"" + kPodIps[p] + "\"]\n  conditions: {ready: true}\n";
    }
    Apply(yaml);
  };
  udp({0, 1});
  ASSERT_TRUE(Eventually(
      [] {
        return Sh(Ns(kNode, "nft list ruleset")).out.find("udp dnat to 10.244.0.12:5353") !=
               std::string::npos;
      },
      10s));
  // Datagrams from many source ports: flows DNATed to both pods (nobody answers: the flows
  // stay in conntrack for 30 s, unreplied).
  auto flows_to = [](const std::string& ip) {
    auto r = Sh(Ns(kNode, "conntrack -L -p udp --orig-dst 10.43.100.19 2>/dev/null"));
    size_t n = 0;
    for (size_t p = r.out.find("src=" + ip + " "); p != std::string::npos;
         p = r.out.find("src=" + ip + " ", p + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_EQ(Sh(Ns(kClient, "bash -c 'for i in $(seq 24); do echo x > /dev/udp/10.43.100.19/53; "
                           "done'"))
                .exit_code,
            0);
  ASSERT_GT(flows_to("10.244.0.12"), 0u);
  ASSERT_GT(flows_to("10.244.0.11"), 0u);
  // pod-1 goes: its flows are deleted (else the client would keep sending to it), pod-0's stay.
  udp({0});
  EXPECT_TRUE(Eventually([&] { return flows_to("10.244.0.12") == 0; }, 10s)) << ProxyLog();
  EXPECT_GT(flows_to("10.244.0.11"), 0u);
  Kubectl({"delete", "service", "udp"});
  Kubectl({"delete", "endpointslice", "udp-1"});
}

// Last (gtest runs tests in order within a suite): stops the proxy.
TEST_F(ProxyNetnsTest, ZShutdownRemovesTheTableUnlessToldToKeepIt) {
  EXPECT_EQ(proxy_->Signal(SIGTERM), 0) << ProxyLog();
  EXPECT_FALSE(TableExists());
  EXPECT_EQ(Sh(Ns(kNode, "nft list tables")).out.find(kTable), std::string::npos);  // shards too
  delete proxy_;
  StartProxy({"--keep-rules"});
  EXPECT_EQ(proxy_->Signal(SIGTERM), 0);
  EXPECT_TRUE(TableExists());
  auto r = testing::RunCommand(
      {KEELSON_BINARY, "proxy", "--cleanup", "--netns", kNode, "--nft-table", kTable});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(TableExists());
  EXPECT_EQ(Sh(Ns(kNode, "nft list tables")).out.find(kTable), std::string::npos);
}

}  // namespace
}  // namespace keelson
