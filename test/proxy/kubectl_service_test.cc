// Services on README's single-node cluster, end to end: `keelson server` with its local node
// (the kubelet on containerd, the Service proxy on the host's nftables, the cluster DNS),
// driven by real kubectl. A Deployment exposed as a Service is reached from a pod by IP and
// by name, from the host through its NodePort; DNS answers are checked with Debian's dig and
// the pod's nslookup. Needs root; skipped with the reason otherwise.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "test/util/control_plane.h"
#include "test/util/keelson_server.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

constexpr const char* kBusybox = KEELSON_BUSYBOX_IMAGE;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

class KubectlServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) {
      skip_ = "needs root: the local node runs containerd, network namespaces and nftables";
      return;
    }
    for (const char* bin : {"containerd", "runc", "nft", "dig", "curl"}) {
      if (testing::RunCommand({"sh", "-c", std::string("command -v ") + bin}).exit_code != 0) {
        skip_ = std::string(bin) + " is not installed (scripts/install-deps.sh installs it)";
        return;
      }
    }
    server_ = new testing::KeelsonServer(KEELSON_BINARY, {}, /*local_node=*/true);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_TRUE(Eventually(
        [] { return Kubectl({"get", "nodes", "--no-headers"}).out.find(" Ready ") != std::string::npos; },
        60s))
        << server_->log();
    auto r = Kubectl({"create", "deployment", "web", std::string("--image=") + kBusybox,
                      "--replicas=2", "--", "sh", "-c",
                      "mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 8080 -h /www"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Kubectl({"expose", "deployment", "web", "--port=80", "--target-port=8080", "--name=web",
                 "--type=NodePort"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Kubectl({"run", "client", std::string("--image=") + kBusybox, "--", "sleep", "3600"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Kubectl({"rollout", "status", "deployment/web", "--timeout=120s"});
    ASSERT_EQ(r.exit_code, 0) << r.err << server_->log();
    r = Kubectl({"wait", "--for=condition=Ready", "pod/client", "--timeout=120s"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    cluster_ip_ = Trim(Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"}).out);
    node_port_ = Trim(Kubectl({"get", "service", "web", "-o",
                               "jsonpath={.spec.ports[0].nodePort}"}).out);
    node_ip_ = Trim(Kubectl({"get", "node", "-o",
                             "jsonpath={.items[0].status.addresses[?(@.type==\"InternalIP\")].address}"})
                        .out);
    ASSERT_FALSE(cluster_ip_.empty());
    ASSERT_FALSE(node_port_.empty());
    ASSERT_FALSE(node_ip_.empty());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static testing::CommandResult Kubectl(std::vector<std::string> args, const std::string& in = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_->kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, in, 120s);
  }
  // From the client pod: the page at `url`, or "exit N". (busybox's `wget -T` crashes; the
  // timeout applet bounds it instead.)
  static std::string FromPod(const std::string& url) {
    auto r = Kubectl({"exec", "client", "--", "timeout", "5", "wget", "-q", "-O-", url});
    if (r.exit_code != 0) return "exit " + std::to_string(r.exit_code) + ": " + Trim(r.err);
    return Trim(r.out);
  }
  static std::set<std::string> WebPods() {
    std::set<std::string> names;
    std::istringstream in(
        Kubectl({"get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"}).out);
    for (std::string n; in >> n;) names.insert(n);
    return names;
  }
  static std::string Dig(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"dig", "+short", "+time=2", "+tries=2", "@10.43.0.10"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Trim(testing::RunCommand(argv, "", 20s).out);
  }

  static inline std::string skip_;
  static inline testing::KeelsonServer* server_ = nullptr;
  static inline std::string cluster_ip_, node_port_, node_ip_;
};

TEST_F(KubectlServiceTest, PodsReachTheServiceByIpAndByEveryName) {
  auto pods = WebPods();
  ASSERT_EQ(pods.size(), 2u);
  std::set<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        seen.insert(FromPod("http://" + cluster_ip_ + "/"));
        return seen == pods;
      },
      60s))
      << "seen: " << *seen.begin() << " ...\n"
      << server_->log();
  for (const char* name : {"web", "web.default", "web.default.svc", "web.default.svc.cluster.local"}) {
    std::string page = FromPod(std::string("http://") + name + "/");
    EXPECT_TRUE(pods.contains(page)) << name << ": " << page;
  }
  // The Service variables the kubelet gave the pod (created after the Service).
  auto env = Kubectl({"exec", "client", "--", "env"}).out;
  EXPECT_NE(env.find("WEB_SERVICE_HOST=" + cluster_ip_ + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("WEB_PORT=tcp://" + cluster_ip_ + ":80\n"), std::string::npos) << env;
  EXPECT_NE(env.find("KUBERNETES_SERVICE_HOST=10.43.0.1\n"), std::string::npos) << env;
  // The pod's resolver, as the kubelet set it up.
  auto r = Kubectl({"exec", "client", "--", "nslookup", "web.default.svc.cluster.local"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(cluster_ip_), std::string::npos) << r.out;
  // Names outside the cluster are forwarded (the node's resolvers may be unreachable from
  // here, so only the cluster's answer is checked): an unknown cluster name is NXDOMAIN.
  r = Kubectl({"exec", "client", "--", "nslookup", "nothere.default.svc.cluster.local"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("NXDOMAIN"), std::string::npos) << r.out << r.err;
}

TEST_F(KubectlServiceTest, NodePortFromTheHost) {
  auto pods = WebPods();
  std::set<std::string> seen;
  ASSERT_TRUE(Eventually(
      [&] {
        seen.insert(Trim(testing::RunCommand({"curl", "-s", "-m", "3",
                                              "http://" + node_ip_ + ":" + node_port_ + "/"})
                             .out));
        return seen == pods;
      },
      30s));
  auto r = testing::RunCommand({"curl", "-s", "-m", "3", "http://127.0.0.1:" + node_port_ + "/"});
  EXPECT_TRUE(pods.contains(Trim(r.out))) << r.out << r.err;
}

TEST_F(KubectlServiceTest, DnsAnswersAsTheSpecificationSays) {
  // From the host through the kube-dns Service (the host reaches ClusterIPs through the
  // proxy's rules too).
  EXPECT_EQ(Dig({"web.default.svc.cluster.local"}), cluster_ip_);
  EXPECT_EQ(Dig({"kubernetes.default.svc.cluster.local"}), "10.43.0.1");
  EXPECT_EQ(Dig({"_https._tcp.kubernetes.default.svc.cluster.local", "SRV"}),
            "0 100 443 kubernetes.default.svc.cluster.local.");
  // Reverse lookups of ClusterIPs.
  EXPECT_EQ(Dig({"-x", cluster_ip_}), "web.default.svc.cluster.local.");
  // Over TCP too.
  EXPECT_EQ(Dig({"+tcp", "web.default.svc.cluster.local"}), cluster_ip_);
  // A headless Service: one record per ready pod.
  auto r = Kubectl({"apply", "-f", "-"},
                   "apiVersion: v1\nkind: Service\nmetadata:\n  name: web-headless\nspec:\n"
                   "  clusterIP: None\n  selector:\n    app: web\n  ports:\n  - name: http\n"
                   "    port: 8080\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> pod_ips;
  std::istringstream ips(
      Kubectl({"get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].status.podIP}"}).out);
  for (std::string ip; ips >> ip;) pod_ips.insert(ip);
  EXPECT_TRUE(Eventually(
      [&] {
        std::set<std::string> got;
        std::istringstream in(Dig({"web-headless.default.svc.cluster.local"}));
        for (std::string ip; in >> ip;) got.insert(ip);
        return got == pod_ips;
      },
      15s));
  // ExternalName: a CNAME.
  r = Kubectl({"create", "service", "externalname", "ext", "--external-name=example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Eventually(
      [] { return Dig({"ext.default.svc.cluster.local", "CNAME"}) == "example.com."; }, 15s));
  Kubectl({"delete", "service", "web-headless", "ext"});
}

TEST_F(KubectlServiceTest, SessionAffinitySticks) {
  auto r = Kubectl({"patch", "service", "web", "-p", R"({"spec":{"sessionAffinity":"ClientIP"}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::this_thread::sleep_for(1s);
  std::set<std::string> seen;
  for (int i = 0; i < 10; ++i) seen.insert(FromPod("http://" + cluster_ip_ + "/"));
  EXPECT_EQ(seen.size(), 1u);
  r = Kubectl({"patch", "service", "web", "-p", R"({"spec":{"sessionAffinity":"None"}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Last: it scales the Deployment.
TEST_F(KubectlServiceTest, ZScalingDownLeavesTheRulesWithinASecondAndZeroRefuses) {
  auto before = WebPods();
  ASSERT_EQ(before.size(), 2u);
  auto ready_ips = [] {
    return Trim(Kubectl({"get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
                         "jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}"})
                    .out);
  };
  const std::string all_ips = ready_ips();
  ASSERT_EQ(std::count(all_ips.begin(), all_ips.end(), ' '), 1) << all_ips;
  auto r = Kubectl({"scale", "deployment", "web", "--replicas=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The endpoint that goes: from the moment the slice stops listing it as ready to the moment
  // the proxy's rules stop naming it.
  std::string gone_ip;
  auto slice_changed = std::chrono::steady_clock::time_point();
  auto rules_changed = std::chrono::steady_clock::time_point();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline &&
         rules_changed == std::chrono::steady_clock::time_point()) {
    auto ready = ready_ips();
    auto table = testing::RunCommand({"nft", "list", "ruleset"}).out;
    auto now = std::chrono::steady_clock::now();
    if (gone_ip.empty()) {
      std::istringstream in(all_ips);
      for (std::string ip; in >> ip;) {
        if (ready.find(ip) == std::string::npos) gone_ip = ip;
      }
      if (!gone_ip.empty()) slice_changed = now;
    }
    if (!gone_ip.empty()) {
      // The Service chain's DNAT rules (the hairpin set keeps every endpoint IP of any Service).
      auto dnat = table.find("dnat to");
      bool named = false;
      for (size_t p = dnat; p != std::string::npos; p = table.find("dnat to", p + 1)) {
        auto eol = table.find('\n', p);
        if (table.substr(p, eol - p).find(gone_ip + " ") != std::string::npos ||
            table.substr(p, eol - p).find(gone_ip + ":") != std::string::npos) {
          named = true;
        }
      }
      if (!named) rules_changed = now;
    }
  }
  ASSERT_FALSE(gone_ip.empty());
  ASSERT_NE(rules_changed, std::chrono::steady_clock::time_point());
  // kubectl's round trips make the slice's moment late, not early: this bounds the proxy.
  EXPECT_LT(rules_changed - slice_changed, 1s);

  // No endpoints at all: refused at once.
  r = Kubectl({"scale", "deployment", "web", "--replicas=0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(Eventually(
      [] {
        return testing::RunCommand({"nft", "list", "map", "ip", "keelson-proxy", "no-endpoint-services"})
                   .out.find(cluster_ip_) != std::string::npos;
      },
      60s));
  auto start = std::chrono::steady_clock::now();
  auto c = testing::RunCommand({"curl", "-s", "-m", "5", "http://" + cluster_ip_ + "/"});
  EXPECT_EQ(c.exit_code, 7);  // connection refused
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace keelson
