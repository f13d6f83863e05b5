// `keelson dns` as a process against `keelson server --disable-agent`, asked by Debian's `dig`
// (bind9-dnsutils), with dnsmasq (dnsmasq-base) as the upstream resolver for other names:
// every record type of the Kubernetes DNS specification over UDP and TCP, changes reaching
// DNS, truncation and the retry over TCP, EDNS, forwarding and its cache, and malformed input
// sent from raw sockets. Skipped when dig or dnsmasq is missing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "test/util/keelson_server.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

using namespace std::chrono_literals;

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

bool HaveProgram(const std::string& name) {
  return testing::RunCommand({"sh", "-c", "command -v " + name}).exit_code == 0;
}

// The lines of `text`, sorted.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

using Strings = std::vector<std::string>;

class DnsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!HaveProgram("dig") || !HaveProgram("dnsmasq")) return;
    server_ = new testing::KeelsonServer(KEELSON_BINARY);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.message();
    dir_ = new testing::TempDir("keelson-dns");
    // The upstream: dnsmasq with a hosts file and nothing else.
    std::ofstream(dir_->path() / "hosts") << "192.0.2.10 www.upstream.test\n"
                                             "192.0.2.11 other.upstream.test\n";
    upstream_port_ = testing::FreePort();
    upstream_ = new testing::Process();
    StartUpstream();
    dns_ = new testing::Process();
    ASSERT_TRUE(dns_->Start({KEELSON_BINARY, "dns", "--kubeconfig", server_->kubeconfig(),
                             "--listen", "127.0.0.1:0", "--upstream",
                             "127.0.0.1:" + std::to_string(upstream_port_), "--ttl", "5"},
                            dir_->path() / "dns.out", dir_->path() / "dns.err")
                    .ok());
    std::regex serving("serving cluster.local on port ([0-9]+)");
    ASSERT_TRUE(Eventually([&] {
      std::smatch m;
      std::string out = ReadFile(dir_->path() / "dns.out");
      if (!std::regex_search(out, m, serving)) return false;
      port_ = std::stoi(m[1]);
      return true;
    })) << ReadFile(dir_->path() / "dns.err");
  }
  static void StartUpstream() {
    ASSERT_TRUE(upstream_
                    ->Start({"dnsmasq", "--no-daemon", "-C", "/dev/null",
                             "--pid-file=", "--port=" + std::to_string(upstream_port_),
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                             "--no-hosts", "--addn-hosts=" + (dir_->path() / "hosts").string(),
                             "--local=/upstream.test/", "--local-ttl=60"},
                            dir_->path() / "dnsmasq.out", dir_->path() / "dnsmasq.err")
                    .ok());
    // Up when it answers.
    ASSERT_TRUE(Eventually([] {
      return testing::RunCommand({"dig", "@127.0.0.1", "-p", std::to_string(upstream_port_),
                                  "+short", "+time=1", "+tries=1", "www.upstream.test"})
                 .out == "192.0.2.10\n";
    })) << ReadFile(dir_->path() / "dnsmasq.err");
  }
  static void TearDownTestSuite() {
    if (dns_) {
      int code = dns_->Signal(SIGTERM);
      EXPECT_EQ(code, 0) << "keelson dns did not stop cleanly on SIGTERM";
    }
    delete dns_;
    delete upstream_;
    delete dir_;
    delete server_;
    dns_ = nullptr;
    upstream_ = nullptr;
    dir_ = nullptr;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "needs dig (bind9-dnsutils) and dnsmasq";
  }

  static testing::CommandResult Kubectl(std::vector<std::string> args,
                                        const std::string& stdin_data = "") {
    std::vector<std::string> argv = {"kubectl", "--kubeconfig", server_->kubeconfig()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, stdin_data, 60s);
  }
  static void Apply(const std::string& yaml) {
    auto r = Kubectl({"apply", "-f", "-"}, yaml);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // dig against keelson dns with `args`; its whole output.
  static testing::CommandResult Dig(std::vector<std::string> args) {
    std::vector<std::string> argv = {"dig",     "@127.0.0.1", "-p", std::to_string(port_),
                                     "+time=5", "+tries=1"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, "", 30s);
  }
  static std::string Short(std::vector<std::string> args) {
    args.push_back("+short");
    return Dig(args).out;
  }
  // The status of the answer ("NOERROR", "NXDOMAIN", ...).
  static std::string Rcode(std::vector<std::string> args) {
    std::smatch m;
    std::string out = Dig(args).out;
    static const std::regex status("status: ([A-Z]+)");
    return std::regex_search(out, m, status) ? m[1].str() : "no answer: " + out;
  }
  static int Count(const std::string& out, const std::string& section) {
    std::smatch m;
    std::regex re(section + ": ([0-9]+)");
    return std::regex_search(out, m, re) ? std::stoi(m[1]) : -1;
  }
  std::string ClusterIp(const std::string& svc) {
    return Kubectl({"get", "service", svc, "-o", "jsonpath={.spec.clusterIP}"}).out;
  }

  static testing::KeelsonServer* server_;
  static testing::TempDir* dir_;
  static testing::Process* upstream_;
  static testing::Process* dns_;
  static int upstream_port_;
  static int port_;
};

testing::KeelsonServer* DnsE2eTest::server_ = nullptr;
testing::TempDir* DnsE2eTest::dir_ = nullptr;
testing::Process* DnsE2eTest::upstream_ = nullptr;
testing::Process* DnsE2eTest::dns_ = nullptr;
int DnsE2eTest::upstream_port_ = 0;
int DnsE2eTest::port_ = 0;

TEST_F(DnsE2eTest, ClusterIpServiceRecordsOverUdpAndTcp) {
  Apply(R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: default}
spec:
  ports: [{port: 9090}]
)");
  std::string ip = ClusterIp("web");
  ASSERT_FALSE(ip.empty());
  ASSERT_TRUE(Eventually([&] { return Short({"web.default.svc.cluster.local"}) == ip + "\n"; }))
      << Dig({"web.default.svc.cluster.local"}).out;
  EXPECT_EQ(Short({"+tcp", "web.default.svc.cluster.local", "A"}), ip + "\n");
  // Any case in, the question's case out, authoritative, TTL 5.
  auto full = Dig({"+noall", "+answer", "+comments", "WEB.Default.SVC.cluster.local"});
  EXPECT_TRUE(std::regex_search(
      full.out,
      std::regex("\nWEB\\.Default\\.SVC\\.cluster\\.local\\.\\s+5\\s+IN\\s+A\\s+" + ip + "\n")))
      << full.out;
  EXPECT_NE(full.out.find("flags: qr aa rd ra"), std::string::npos) << full.out;
  // SRV for the named port only, with the address as additional record.
  auto srv = Dig({"_http._tcp.web.default.svc.cluster.local", "SRV"});
  EXPECT_NE(srv.out.find("IN SRV 0 100 80 web.default.svc.cluster.local."), std::string::npos)
      << srv.out;
  EXPECT_TRUE(std::regex_search(
      srv.out,
      std::regex(
          ";; ADDITIONAL SECTION:\nweb\\.default\\.svc\\.cluster\\.local\\.\\s+5\\s+IN\\s+A\\s+" +
          ip + "\n")))
      << srv.out;
  EXPECT_EQ(Short({"+tcp", "_dns._udp.web.default.svc.cluster.local", "SRV"}),
            "0 100 53 web.default.svc.cluster.local.\n");
  EXPECT_EQ(Rcode({"_dns._tcp.web.default.svc.cluster.local", "SRV"}), "NXDOMAIN");
  // An unnamed port has no SRV record (nor anything below the Service's name).
  ASSERT_FALSE(ClusterIp("plain").empty());
  EXPECT_EQ(Rcode({"_tcp.plain.default.svc.cluster.local", "SRV"}), "NXDOMAIN");
  // PTR.
  EXPECT_EQ(Short({"-x", ip}), "web.default.svc.cluster.local.\n");
  // NODATA: the name exists, not with this type.
  auto nodata = Dig({"web.default.svc.cluster.local", "AAAA"});
  EXPECT_EQ(Rcode({"web.default.svc.cluster.local", "AAAA"}), "NOERROR");
  EXPECT_EQ(Count(nodata.out, "ANSWER"), 0) << nodata.out;
  EXPECT_NE(nodata.out.find("cluster.local.\t\t5\tIN\tSOA\tns.dns.cluster.local. "
                            "hostmaster.cluster.local."),
            std::string::npos)
      << nodata.out;
  EXPECT_EQ(Rcode({"default.svc.cluster.local"}), "NOERROR");
  // NXDOMAIN, as for the second search-path try of a pod.
  EXPECT_EQ(Rcode({"nothing.default.svc.cluster.local"}), "NXDOMAIN");
  EXPECT_EQ(Rcode({"web.default.svc.cluster.local.default.svc.cluster.local"}), "NXDOMAIN");
  EXPECT_EQ(Rcode({"web.nosuchns.svc.cluster.local"}), "NXDOMAIN");
  // The schema version, the SOA, pod records.
  EXPECT_EQ(Short({"dns-version.cluster.local", "TXT"}), "\"1.1.0\"\n");
  EXPECT_NE(Short({"cluster.local", "SOA"}).find("ns.dns.cluster.local. hostmaster.cluster.local."),
            std::string::npos);
  EXPECT_EQ(Short({"10-42-0-9.default.pod.cluster.local"}), "10.42.0.9\n");
  // The API server's own Service.
  EXPECT_EQ(Short({"kubernetes.default.svc.cluster.local"}), ClusterIp("kubernetes") + "\n");
}

TEST_F(DnsE2eTest, HeadlessServiceFromEndpointSlices) {
  Apply(R"(apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: default
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: ["10.42.0.5"]
  hostname: db-0
  conditions: {ready: true}
- addresses: ["10.42.0.6"]
  conditions: {ready: true}
- addresses: ["10.42.0.7"]
  hostname: db-2
  conditions: {ready: false}
)");
  ASSERT_TRUE(Eventually([&] {
    return Lines(Short({"db.default.svc.cluster.local"})) == Strings{"10.42.0.5", "10.42.0.6"};
  })) << Dig({"db.default.svc.cluster.local"}).out;
  EXPECT_EQ(Short({"+tcp", "db-0.db.default.svc.cluster.local"}), "10.42.0.5\n");
  EXPECT_EQ(Short({"10-42-0-6.db.default.svc.cluster.local"}), "10.42.0.6\n");
  EXPECT_EQ(Rcode({"db-2.db.default.svc.cluster.local"}), "NXDOMAIN");  // not ready
  EXPECT_EQ(Lines(Short({"_pg._tcp.db.default.svc.cluster.local", "SRV"})),
            (Strings{"0 50 5432 10-42-0-6.db.default.svc.cluster.local.",
                     "0 50 5432 db-0.db.default.svc.cluster.local."}));
  EXPECT_EQ(Short({"-x", "10.42.0.5"}), "db-0.db.default.svc.cluster.local.\n");

  // The endpoint becomes ready: DNS follows.
  Apply(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: default
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: ["10.42.0.7"]
  hostname: db-2
  conditions: {ready: true}
)");
  EXPECT_TRUE(Eventually([&] { return Short({"db.default.svc.cluster.local"}) == "10.42.0.7\n"; }))
      << Dig({"db.default.svc.cluster.local"}).out;
  EXPECT_EQ(Short({"db-2.db.default.svc.cluster.local"}), "10.42.0.7\n");
  // No ready endpoint at all: NXDOMAIN (the spec).
  ASSERT_EQ(Kubectl({"delete", "endpointslice", "db-1"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Rcode({"db.default.svc.cluster.local"}) == "NXDOMAIN"; }));
}

TEST_F(DnsE2eTest, ServiceChangesReachDns) {
  ASSERT_EQ(Kubectl({"create", "service", "clusterip", "moving", "--tcp=80:80"}).exit_code, 0);
  std::string ip = ClusterIp("moving");
  ASSERT_TRUE(Eventually([&] { return Short({"moving.default.svc.cluster.local"}) == ip + "\n"; }));
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Kubectl({"delete", "service", "moving"}).exit_code, 0);
  EXPECT_TRUE(
      Eventually([&] { return Rcode({"moving.default.svc.cluster.local"}) == "NXDOMAIN"; }, 5s));
  std::printf("deletion reached DNS within %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count()));
  // A new namespace exists at once (NODATA, not NXDOMAIN).
  ASSERT_EQ(Kubectl({"create", "namespace", "fresh"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Rcode({"fresh.svc.cluster.local"}) == "NOERROR"; }));
}

TEST_F(DnsE2eTest, ExternalNameAndForwarding) {
  Apply(R"(apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: www.upstream.test}
)");
  ASSERT_TRUE(Eventually([&] {
    return Short({"ext.default.svc.cluster.local"}) == "www.upstream.test.\n192.0.2.10\n";
  })) << Dig({"ext.default.svc.cluster.local"}).out;
  EXPECT_EQ(Short({"ext.default.svc.cluster.local", "CNAME"}), "www.upstream.test.\n");
  // Other names: the upstream's answers, not authoritative, cached.
  auto fwd = Dig({"+noall", "+answer", "+comments", "www.upstream.test"});
  std::smatch ttl;
  ASSERT_TRUE(std::regex_search(fwd.out, ttl,
                                std::regex("www.upstream.test.\t([0-9]+)\tIN\tA\t"
                                           "192.0.2.10")))
      << fwd.out;
  EXPECT_LE(std::stoi(ttl[1]), 60);  // dnsmasq's --local-ttl, counting down in our cache
  EXPECT_EQ(fwd.out.find(" aa"), std::string::npos) << fwd.out;
  EXPECT_EQ(Short({"+tcp", "other.upstream.test"}), "192.0.2.11\n");
  EXPECT_EQ(Rcode({"nosuch.upstream.test"}), "NXDOMAIN");
  // The upstream goes away: answers fail fast with SERVFAIL, never hang.
  upstream_->Signal(SIGTERM);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Rcode({"+time=10", "gone.upstream.test"}), "SERVFAIL");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
  // ... while the cluster's names still answer, and cached ones too.
  EXPECT_EQ(Rcode({"kubernetes.default.svc.cluster.local"}), "NOERROR");
  EXPECT_EQ(Short({"www.upstream.test"}), "192.0.2.10\n");
  StartUpstream();
  EXPECT_EQ(Short({"www.upstream.test"}), "192.0.2.10\n");
}

TEST_F(DnsE2eTest, TruncationAndEdns) {
  std::string yaml = R"(apiVersion: v1
kind: Service
metadata: {name: many, namespace: default}
spec:
  clusterIP: None
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: many-1
  namespace: default
  labels: {kubernetes.io/service-name: many}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints:
)";
  for (int i = 1; i <= 100; ++i) {
    yaml += "- addresses: [\"10.44.0." + std::to_string(i) + "\"]\n";
  }
  Apply(yaml);
  ASSERT_TRUE(Eventually([&] {
    return Lines(Short({"+tcp", "many.default.svc.cluster.local"})).size() == 100;
  }));
  // Plain UDP: 512 bytes, TC set (dig told not to retry).
  auto udp = Dig({"+ignore", "+noedns", "many.default.svc.cluster.local"});
  EXPECT_NE(udp.out.find("flags: qr aa tc rd ra"), std::string::npos) << udp.out;
  EXPECT_LT(Count(udp.out, "ANSWER"), 100);
  EXPECT_GT(Count(udp.out, "ANSWER"), 10);
  // dig's default: sees TC, asks again over TCP, gets all 100.
  auto retried = Dig({"+noedns", "many.default.svc.cluster.local"});
  EXPECT_NE(retried.out.find("Truncated, retrying in TCP mode"), std::string::npos) << retried.out;
  EXPECT_EQ(Count(retried.out, "ANSWER"), 100) << retried.out;
  // EDNS: our OPT (payload 1232) in the answer, more records fit, still truncated.
  auto edns = Dig({"+ignore", "+edns=0", "+bufsize=4096", "many.default.svc.cluster.local"});
  EXPECT_NE(edns.out.find("EDNS: version: 0, flags:; udp: 1232"), std::string::npos) << edns.out;
  EXPECT_GT(Count(edns.out, "ANSWER"), Count(udp.out, "ANSWER"));
  EXPECT_NE(edns.out.find(" tc "), std::string::npos) << edns.out;
  // A small answer over EDNS: no TC; an EDNS version we do not speak: BADVERS.
  auto small = Dig({"+edns=0", "kubernetes.default.svc.cluster.local"});
  EXPECT_EQ(small.out.find(" tc "), std::string::npos);
  EXPECT_NE(small.out.find("udp: 1232"), std::string::npos) << small.out;
  EXPECT_EQ(Rcode({"+edns=1", "+noednsnegotiation", "kubernetes.default.svc.cluster.local"}),
            "BADVERS");
}

// Raw bytes to the server's UDP and TCP ports.
void SendUdp(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  close(fd);
}

int ConnectTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return fd;
}

TEST_F(DnsE2eTest, MalformedQueriesHurtNothing) {
  std::string header("\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  std::vector<std::string> bad = {
      "",
      std::string(5, '\x01'),
      header,                                               // no question
      header + std::string("\xC0\x0C\x00\x01\x00\x01", 6),  // a pointer to itself
      header + std::string("\x01"
                           "a\xC0\x0D\x00\x01\x00\x01",
                           8),  // a pointer forward
      header + std::string("\x3F"
                           "abc",
                           4),  // a label past the end
      header + std::string("\x80"
                           "x\x00\x00\x01\x00\x01",
                           7),  // a reserved label type
      std::string("\xab\xcd\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00", 12) +
          std::string("\x01"
                      "a\x00\x00\x01\x00\x01",
                      7),  // a response
      std::string("\xab\xcd\x28\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) +
          std::string("\x01"
                      "a\x00\x00\x01\x00\x01",
                      7),  // UPDATE
      std::string("\xab\xcd\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff", 12),
  };
  for (int round = 0; round < 200; ++round) {
    for (const auto& b : bad) SendUdp(port_, b);
  }
  // A flood of random bytes.
  std::string junk;
  for (int i = 0; i < 2000; ++i) {
    junk.assign(static_cast<size_t>(i % 700), static_cast<char>(i * 37));
    SendUdp(port_, junk);
  }
  // TCP: a length that never comes, zero-length and short messages, many connections.
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) {
    int fd = ConnectTcp(port_);
    std::string msg = i % 2 ? std::string("\xff\xff", 2) + std::string(100, 'x')
                            : std::string(
                                  "\x00\x00\x00\x03"
                                  "abc",
                                  7);
    send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
  // Answers where answers are due: FORMERR and NOTIMP.
  EXPECT_EQ(Rcode({"+qid=1", "kubernetes.default.svc.cluster.local"}), "NOERROR");
  auto reply = [&](const std::string& bytes) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{fd, POLLIN, 0};
    std::string out;
    if (poll(&p, 1, 3000) == 1) {
      char buf[512];
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) out.assign(buf, static_cast<size_t>(n));
    }
    close(fd);
    return out;
  };
  std::string formerr = reply(bad[3]);
  ASSERT_GE(formerr.size(), 12u);
  EXPECT_EQ(formerr[3] & 0xF, 1);  // FORMERR
  std::string notimp = reply(bad[8]);
  ASSERT_GE(notimp.size(), 12u);
  EXPECT_EQ(notimp[3] & 0xF, 4);  // NOTIMP
  EXPECT_EQ(reply(bad[7]), "");   // a response is never answered
  // Still serving, still the same process.
  EXPECT_TRUE(dns_->running());
  EXPECT_EQ(Short({"kubernetes.default.svc.cluster.local"}), ClusterIp("kubernetes") + "\n");
  EXPECT_EQ(Short({"+tcp", "kubernetes.default.svc.cluster.local"}),
            ClusterIp("kubernetes") + "\n");
}

}  // namespace
}  // namespace keelson
