// The server's sockets and threads with a real forwarder against a fake upstream on loopback.
#include "dns/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "dns/test_util.h"

namespace keelson::dns {
namespace {

using namespace std::chrono_literals;

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A fake upstream on loopback (UDP and TCP on one port):
//   a.example       A 192.0.2.1, TTL 60
//   big.example     truncated over UDP, 100 A records over TCP
//   missing.example NXDOMAIN with a SOA (negative TTL 30)
//   slow.example    never answered
//   refused.example REFUSED
class FakeUpstream {
 public:
  FakeUpstream() {
    udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Loopback(0);
    EXPECT_EQ(bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    listen(tcp_, 16);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    close(udp_);
    close(tcp_);
  }
  int port() const { return port_; }
  int queries() const { return queries_.load(); }

 private:
  std::string Answer(const uint8_t* q, size_t n, bool tcp) {
    auto m = ParseMessage(q, n);
    if (!m.ok()) return "";
    ++queries_;
    std::string name = TextName(LowerName(m->qname));
    if (name == "slow.example.") return "";
    std::vector<uint8_t> buf(kMaxMessageSize);
    MessageWriter w(buf.data(), buf.size());
    Header h;
    h.id = m->header.id;
    h.flags = kFlagQr | kFlagRd | kFlagRa;
    h.qdcount = 1;
    std::vector<Record> answers, authority;
    const std::string soa_owner = WireName("example").value();
    if (name == "a.example." && m->qtype == kTypeA) {
      answers.push_back({m->qname, kTypeA, kClassIn, 60, std::string("\xc0\x00\x02\x01", 4)});
    } else if (name == "big.example.") {
      if (!tcp) {
        h.flags |= kFlagTc;
      } else {
        for (int i = 1; i <= 100; ++i) {
          answers.push_back({m->qname, kTypeA, kClassIn, 60,
                             std::string("\xc6\x33\x64", 3) + static_cast<char>(i)});
        }
      }
    } else if (name == "refused.example.") {
      h.flags |= kRcodeRefused;
    } else {
      h.flags |= kRcodeNxDomain;
      authority.push_back({soa_owner, kTypeSoa, kClassIn, 300,
                           RdataSoa(WireName("ns.example").value(),
                                    WireName("admin.example").value(), 1, 2, 3, 4, 30)});
    }
    h.ancount = static_cast<uint16_t>(answers.size());
    h.nscount = static_cast<uint16_t>(authority.size());
    w.WriteHeader(h);
    w.Question(m->qname, m->qtype, m->qclass);
    for (const auto& r : answers) w.WriteRecord(r);
    for (const auto& r : authority) w.WriteRecord(r);
    return std::string(reinterpret_cast<const char*>(buf.data()), w.size());
  }

  void Loop() {
    std::vector<uint8_t> buf(kMaxMessageSize + 2);
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        sockaddr_storage from;
        socklen_t len = sizeof from;
        ssize_t n =
            recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) {
          std::string a = Answer(buf.data(), static_cast<size_t>(n), false);
          if (!a.empty()) {
            sendto(udp_, a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
          }
        }
      }
      if (fds[1].revents & POLLIN) {
        int c = accept(tcp_, nullptr, nullptr);
        if (c < 0) continue;
        uint8_t lenbuf[2];
        if (recv(c, lenbuf, 2, MSG_WAITALL) == 2) {
          size_t len = lenbuf[0] << 8 | lenbuf[1];
          if (recv(c, buf.data(), len, MSG_WAITALL) == static_cast<ssize_t>(len)) {
            std::string a = Answer(buf.data(), len, true);
            std::string framed;
            framed.push_back(static_cast<char>(a.size() >> 8));
            framed.push_back(static_cast<char>(a.size()));
            framed += a;
            send(c, framed.data(), framed.size(), MSG_NOSIGNAL);
          }
        }
        close(c);
      }
    }
  }

  int udp_ = -1, tcp_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// Sends `query` over UDP and waits up to `timeout` for an answer ("" when none).
std::string AskUdp(int port, const std::string& query, std::chrono::milliseconds timeout = 6s) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(port);
  sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  std::string out;
  if (poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
    std::vector<char> buf(65536);
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n > 0) out.assign(buf.data(), static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

int ConnectTcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{6, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string Framed(const std::string& m) {
  return std::string{static_cast<char>(m.size() >> 8), static_cast<char>(m.size())} + m;
}

// Reads one length-prefixed answer ("" on close or timeout).
std::string ReadFramed(int fd) {
  uint8_t len[2];
  if (recv(fd, len, 2, MSG_WAITALL) != 2) return "";
  std::string out(static_cast<size_t>(len[0] << 8 | len[1]), '\0');
  if (recv(fd, out.data(), out.size(), MSG_WAITALL) != static_cast<ssize_t>(out.size())) return "";
  return out;
}

Message Parsed(const std::string& bytes) {
  auto m = ParseMessage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.status().message());
  return m.ok() ? *m : Message{};
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(bool with_zone = true, ServerOptions options = {}) {
    ForwarderOptions fo;
    fo.upstreams.push_back(ParseUpstream("127.0.0.1:" + std::to_string(upstream_.port())).value());
    fo.attempt_timeout = 500ms;
    fo.timeout = 1500ms;
    forwarder_ = Forwarder::Start(fo).value();
    if (with_zone) SetZone(3);
    options.listen = {"127.0.0.1:0"};
    server_ = Server::Start(options, &zones_, forwarder_.get()).value();
    port_ = server_->Ports()[0];
    ASSERT_GT(port_, 0);
  }
  void SetZone(int headless_endpoints) {
    ServiceInfo web;
    web.ns = "default";
    web.name = "web";
    web.cluster_ips = {"10.43.0.10"};
    web.ports = {{"http", "TCP", 80}};
    ServiceInfo many;
    many.ns = "default";
    many.name = "many";
    many.kind = ServiceInfo::Kind::kHeadless;
    for (int i = 0; i < headless_endpoints; ++i) {
      many.endpoints.push_back({{"10.42.0." + std::to_string(i + 1)}, "", true, {}});
    }
    ServiceInfo ext;
    ext.ns = "default";
    ext.name = "ext";
    ext.kind = ServiceInfo::Kind::kExternalName;
    ext.external_name = "a.example";
    zones_.Set(Zone::Build({}, {web, many, ext}, {"default"}, 1));
  }
  void TearDown() override {
    if (forwarder_) forwarder_->Stop();
    if (server_) server_->Stop();
  }

  FakeUpstream upstream_;
  ZoneHolder zones_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

TEST_F(ServerTest, AnswersTheClusterZoneOverUdpAndTcp) {
  Start();
  Message udp =
      Parsed(AskUdp(port_, testing::QueryBytes({.name = "web.default.svc.cluster.local"})));
  ASSERT_EQ(udp.answers.size(), 1u);
  EXPECT_EQ(testing::Ip(udp.answers[0]), "10.43.0.10");
  EXPECT_TRUE(udp.header.flags & kFlagAa);
  int fd = ConnectTcp(port_);
  ASSERT_GE(fd, 0);
  // Several queries in one write, answered in turn on one connection.
  std::string both =
      Framed(testing::QueryBytes({.name = "web.default.svc.cluster.local", .id = 1})) +
      Framed(testing::QueryBytes({.name = "nope.default.svc.cluster.local", .id = 2}));
  send(fd, both.data(), both.size(), 0);
  Message first = Parsed(ReadFramed(fd));
  Message second = Parsed(ReadFramed(fd));
  EXPECT_EQ(first.header.id, 1);
  EXPECT_EQ(first.answers.size(), 1u);
  EXPECT_EQ(second.header.id, 2);
  EXPECT_EQ(second.header.rcode(), kRcodeNxDomain);
  close(fd);
}

TEST_F(ServerTest, NoZoneYetIsServfailForClusterNames) {
  Start(/*with_zone=*/false);
  Message m = Parsed(AskUdp(port_, testing::QueryBytes({.name = "web.default.svc.cluster.local"})));
  EXPECT_EQ(m.header.rcode(), kRcodeServFail);
  SetZone(1);
  m = Parsed(AskUdp(port_, testing::QueryBytes({.name = "web.default.svc.cluster.local"})));
  EXPECT_EQ(m.header.rcode(), kRcodeNoError);
  EXPECT_EQ(m.answers.size(), 1u);
}

TEST_F(ServerTest, TruncatesOverUdpAndAnswersInFullOverTcp) {
  Start();
  SetZone(100);
  std::string q = testing::QueryBytes({.name = "many.default.svc.cluster.local"});
  Message udp = Parsed(AskUdp(port_, q));
  EXPECT_TRUE(udp.header.flags & kFlagTc);
  EXPECT_LT(udp.answers.size(), 100u);
  // EDNS raises the limit (to our maximum, 1232), still short of 100 records.
  std::string big = AskUdp(
      port_, testing::QueryBytes(
                 {.name = "many.default.svc.cluster.local", .edns = true, .udp_size = 4096}));
  EXPECT_LE(big.size(), 1232u);
  EXPECT_GT(big.size(), 512u);
  EXPECT_TRUE(Parsed(big).edns);
  int fd = ConnectTcp(port_);
  std::string framed = Framed(q);
  send(fd, framed.data(), framed.size(), 0);
  Message tcp = Parsed(ReadFramed(fd));
  EXPECT_FALSE(tcp.header.flags & kFlagTc);
  EXPECT_EQ(tcp.answers.size(), 100u);
  close(fd);
}

TEST_F(ServerTest, ForwardsCachesAndRetriesTruncatedAnswersOverTcp) {
  Start();
  Message a = Parsed(AskUdp(port_, testing::QueryBytes({.name = "A.example", .id = 9})));
  EXPECT_EQ(a.header.id, 9);
  EXPECT_FALSE(a.header.flags & kFlagAa);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(testing::Ip(a.answers[0]), "192.0.2.1");
  EXPECT_EQ(TextName(a.answers[0].name), "A.example.");
  int asked = upstream_.queries();
  Message again = Parsed(AskUdp(port_, testing::QueryBytes({.name = "a.EXAMPLE"})));
  ASSERT_EQ(again.answers.size(), 1u);
  EXPECT_EQ(upstream_.queries(), asked);  // from the cache
  // Negative answers are cached too.
  Message nx = Parsed(AskUdp(port_, testing::QueryBytes({.name = "missing.example"})));
  EXPECT_EQ(nx.header.rcode(), kRcodeNxDomain);
  asked = upstream_.queries();
  Parsed(AskUdp(port_, testing::QueryBytes({.name = "missing.example"})));
  EXPECT_EQ(upstream_.queries(), asked);
  // The upstream truncates over UDP: asked again over TCP; a TCP client gets it whole.
  int fd = ConnectTcp(port_);
  std::string framed = Framed(testing::QueryBytes({.name = "big.example"}));
  send(fd, framed.data(), framed.size(), 0);
  Message big = Parsed(ReadFramed(fd));
  EXPECT_EQ(big.answers.size(), 100u);
  close(fd);
  // ExternalName to a name outside the zone: the CNAME, then the upstream's answer.
  Message ext =
      Parsed(AskUdp(port_, testing::QueryBytes({.name = "ext.default.svc.cluster.local"})));
  ASSERT_EQ(ext.answers.size(), 2u);
  EXPECT_EQ(ext.answers[0].type, kTypeCname);
  EXPECT_EQ(testing::Ip(ext.answers[1]), "192.0.2.1");
}

TEST_F(ServerTest, UpstreamFailuresAreServfailNotHangs) {
  Start();
  auto start = std::chrono::steady_clock::now();
  Message slow = Parsed(AskUdp(port_, testing::QueryBytes({.name = "slow.example"})));
  EXPECT_EQ(slow.header.rcode(), kRcodeServFail);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  Message refused = Parsed(AskUdp(port_, testing::QueryBytes({.name = "refused.example"})));
  EXPECT_EQ(refused.header.rcode(), kRcodeServFail);
}

TEST_F(ServerTest, HostileInputHurtsNothing) {
  Start();
  std::mt19937 rng(7);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(port_);
  std::string q = testing::QueryBytes({.name = "web.default.svc.cluster.local"});
  for (int i = 0; i < 3000; ++i) {
    std::string junk = q;
    if (i % 3 == 0) junk.resize(rng() % (q.size() + 1));
    for (int k = 0; k < 4 && !junk.empty(); ++k)
      junk[rng() % junk.size()] = static_cast<char>(rng());
    if (i % 5 == 0) junk = std::string(rng() % 600, static_cast<char>(rng()));
    sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  close(fd);
  // A compression loop gets FORMERR.
  std::string loop = q.substr(0, 12) + std::string("\xC0\x0C\x00\x01\x00\x01", 6);
  EXPECT_EQ(Parsed(AskUdp(port_, loop)).header.rcode(), kRcodeFormErr);
  // TCP: a huge length that never comes, then garbage: the server closes and carries on.
  int t = ConnectTcp(port_);
  std::string huge = "\xFF\xFF" + std::string(1000, 'x');
  send(t, huge.data(), huge.size(), MSG_NOSIGNAL);
  close(t);
  t = ConnectTcp(port_);
  std::string tiny = std::string("\x00\x03", 2) + "abc";
  send(t, tiny.data(), tiny.size(), MSG_NOSIGNAL);
  EXPECT_EQ(ReadFramed(t), "");  // closed
  close(t);
  Message ok = Parsed(AskUdp(port_, q));
  EXPECT_EQ(ok.answers.size(), 1u);
}

TEST_F(ServerTest, TcpConnectionsAreBoundedAndTimeOut) {
  ServerOptions o;
  o.max_tcp_connections = 3;
  o.tcp_idle_timeout = 300ms;
  Start(true, o);
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) fds.push_back(ConnectTcp(port_));
  std::this_thread::sleep_for(50ms);
  int extra = ConnectTcp(port_);
  char c;
  EXPECT_EQ(recv(extra, &c, 1, 0), 0);  // closed at once
  close(extra);
  // Idle ones are closed after the timeout.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(recv(fds[0], &c, 1, 0), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  for (int fd : fds) close(fd);
  // Room again.
  int fd = ConnectTcp(port_);
  std::string framed = Framed(testing::QueryBytes({.name = "web.default.svc.cluster.local"}));
  send(fd, framed.data(), framed.size(), 0);
  EXPECT_EQ(Parsed(ReadFramed(fd)).answers.size(), 1u);
  close(fd);
}

TEST(ServerListen, ParsesAddresses) {
  EXPECT_TRUE(ParseListenAddress("0.0.0.0:53").ok());
  EXPECT_TRUE(ParseListenAddress("[::1]:5353").ok());
  EXPECT_TRUE(ParseListenAddress(":53").ok());
  EXPECT_FALSE(ParseListenAddress("localhost:53").ok());
  EXPECT_FALSE(ParseListenAddress("10.0.0.1").ok());
  EXPECT_FALSE(ParseListenAddress("10.0.0.1:99999").ok());
  EXPECT_EQ(ParseUpstream("10.0.0.2").value().text, "10.0.0.2:53");
  EXPECT_EQ(ParseUpstream("[fd00::1]:54").value().text, "[fd00::1]:54");
}

}  // namespace
}  // namespace keelson::dns
