#include "apiserver/stream_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "apiserver/http_server.h"

namespace keelson::apiserver {
namespace {

int Listen(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 8);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void Send(int fd, std::string_view s) { ::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

// Reads until `until` has been seen (or the peer closes); returns everything read.
std::string ReadUntil(int fd, std::string_view until) {
  std::string out;
  char buf[4096];
  while (out.find(until) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string ReadAll(int fd) { return ReadUntil(fd, std::string_view("\xff\xfe\xfd", 3)); }

// A backend that answers the first request on each connection with `answer`, then (after a
// 101) echoes what it reads in upper case until the client half-closes, then says "bye".
class Backend {
 public:
  explicit Backend(std::string answer) : answer_(std::move(answer)) {
    fd_ = Listen(&port_);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string head = ReadUntil(c, "\r\n\r\n");
        {
          std::lock_guard l(mu_);
          requests_ += head;
        }
        Send(c, answer_);
        if (answer_.starts_with("HTTP/1.1 101")) {
          char buf[4096];
          ssize_t n;
          while ((n = ::recv(c, buf, sizeof buf, 0)) > 0) {
            for (ssize_t i = 0; i < n; ++i) buf[i] = static_cast<char>(std::toupper(buf[i]));
            Send(c, std::string_view(buf, static_cast<size_t>(n)));
          }
          Send(c, "bye");
        }
        ::close(c);
      }
    });
  }
  ~Backend() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string requests() const {
    std::lock_guard l(mu_);
    return requests_;
  }

 private:
  std::string answer_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::string requests_;  // guarded by mu_
};

// Forwards every request to the backend at `port` as an upgrade.
class ForwardingHandler final : public Handler {
 public:
  ForwardingHandler(StreamProxy* proxy, int port) : proxy_(proxy), port_(port) {}
  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override {
    ProxyTarget t;
    t.host = "127.0.0.1";
    t.port = port_;
    t.target = "/backend" + req.target;
    t.headers.emplace_back("Authorization", "Bearer x");
    if (req.path == "/logs") return proxy_->Forward(std::move(t), std::move(ex));
    proxy_->ForwardUpgrade(std::move(t), req, std::move(ex));
  }

 private:
  StreamProxy* proxy_;
  int port_;
};

constexpr std::string_view kUpgrade =
    "POST /exec?command=ls HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
    "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
    "X-Stream-Protocol-Version: v3.channel.k8s.io\r\nContent-Length: 0\r\n\r\n";

TEST(StreamProxy, SplicesAnUpgradedConnectionBothWays) {
  Backend backend(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "
      "SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\nhello");
  auto proxy = StreamProxy::Create();
  ForwardingHandler handler(proxy.get(), backend.port());
  auto server = HttpServer::Start({}, &handler);
  ASSERT_TRUE(server.ok());
  int c = Connect((*server)->port());
  // Bytes sent right behind the request go through too.
  Send(c, std::string(kUpgrade) + "early ");
  std::string got = ReadUntil(c, "hello");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 101 Switching Protocols\r\n")) << got;
  EXPECT_NE(got.find("X-Stream-Protocol-Version: v4.channel.k8s.io"), std::string::npos);
  Send(c, "ping");
  if (got.find("PING") == std::string::npos) got += ReadUntil(c, "PING");
  EXPECT_NE(got.find("\r\n\r\nhelloEARLY PING"), std::string::npos) << got;
  // A half-close reaches the backend, whose last words and close come back.
  ::shutdown(c, SHUT_WR);
  EXPECT_EQ(ReadAll(c), "bye");
  ::close(c);
  (*server)->Stop();
  proxy->Stop();
  std::string req = backend.requests();
  EXPECT_TRUE(req.starts_with("POST /backend/exec?command=ls HTTP/1.1\r\n")) << req;
  // Header names go in lower case (they are case-insensitive).
  EXPECT_NE(req.find("x-stream-protocol-version: v4.channel.k8s.io\r\n"), std::string::npos);
  EXPECT_NE(req.find("x-stream-protocol-version: v3.channel.k8s.io\r\n"), std::string::npos);
  EXPECT_NE(req.find("Authorization: Bearer x\r\n"), std::string::npos);
}

TEST(StreamProxy, RelaysARefusalAsAStatus) {
  Backend backend(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
      "\r\nnot allowed\n");
  auto proxy = StreamProxy::Create();
  ForwardingHandler handler(proxy.get(), backend.port());
  auto server = HttpServer::Start({}, &handler);
  ASSERT_TRUE(server.ok());
  int c = Connect((*server)->port());
  Send(c, kUpgrade);
  std::string got = ReadUntil(c, "}");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 403")) << got;
  EXPECT_NE(got.find(R"("message":"not allowed","reason":"Forbidden","code":403)"),
            std::string::npos)
      << got;
  ::close(c);
}

TEST(StreamProxy, AnUnreachableBackendIs503) {
  int port = 0;
  int fd = Listen(&port);
  ::close(fd);  // nothing listens there now
  auto proxy = StreamProxy::Create();
  ForwardingHandler handler(proxy.get(), port);
  auto server = HttpServer::Start({}, &handler);
  ASSERT_TRUE(server.ok());
  for (std::string_view req :
       {kUpgrade, std::string_view("GET /logs HTTP/1.1\r\nHost: x\r\n\r\n")}) {
    int c = Connect((*server)->port());
    Send(c, req);
    std::string got = ReadUntil(c, "}");
    EXPECT_TRUE(got.starts_with("HTTP/1.1 503")) << got;
    EXPECT_NE(got.find("error dialing backend"), std::string::npos) << got;
    ::close(c);
  }
}

TEST(StreamProxy, StreamsAPlainAnswerAsItArrives) {
  Backend backend(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
      "\r\n6\r\nline1\n\r\n6\r\nline2\n\r\n0\r\n\r\n");
  auto proxy = StreamProxy::Create();
  ForwardingHandler handler(proxy.get(), backend.port());
  auto server = HttpServer::Start({}, &handler);
  ASSERT_TRUE(server.ok());
  int c = Connect((*server)->port());
  Send(c, "GET /logs HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = ReadUntil(c, "0\r\n\r\n");
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200")) << got;
  EXPECT_NE(got.find("line1\n"), std::string::npos) << got;
  EXPECT_NE(got.find("line2\n"), std::string::npos) << got;
  ::close(c);
  EXPECT_TRUE(backend.requests().starts_with("GET /backend/logs HTTP/1.1\r\n"));
}

TEST(StreamProxy, HeaderHelpers) {
  HttpRequest r;
  r.headers = {{"connection", "keep-alive, Upgrade"},
               {"upgrade", "websocket"},
               {"sec-websocket-protocol", "v5.channel.k8s.io, v4.channel.k8s.io"},
               {"sec-websocket-protocol", "channel.k8s.io"}};
  EXPECT_TRUE(IsUpgradeRequest(r));
  EXPECT_TRUE(IsWebSocketRequest(r));
  EXPECT_EQ(HeaderValues(r, "sec-websocket-protocol"),
            (std::vector<std::string>{"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io"}));
  r.headers[0].second = "keep-alive";
  EXPECT_FALSE(IsUpgradeRequest(r));
}

}  // namespace
}  // namespace keelson::apiserver
