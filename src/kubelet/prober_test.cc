#include "kubelet/prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <thread>

namespace keelson::kubelet {
namespace {

using namespace std::chrono_literals;

// A server on 127.0.0.1 that answers each connection once: over TLS with a self-signed
// certificate, or in plain text; `/fail` is answered 500, `/slow` never, anything else 200.
// Remembers the last request's head.
class TestServer {
 public:
  explicit TestServer(bool tls) : tls_(tls) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    if (tls_) SetUpTls();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    if (ctx_) SSL_CTX_free(ctx_);
  }
  int port() const { return port_; }
  std::string last_request() {
    std::lock_guard l(mu_);
    return last_;
  }
  int requests() {
    std::lock_guard l(mu_);
    return requests_;
  }

 private:
  void SetUpTls() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("probe-test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert);
    SSL_CTX_use_PrivateKey(ctx_, key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }

  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      SSL* ssl = nullptr;
      if (tls_) {
        ssl = SSL_new(ctx_);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) != 1) {
          SSL_free(ssl);
          ::close(c);
          continue;
        }
      }
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        int n =
            ssl ? SSL_read(ssl, buf, sizeof buf) : static_cast<int>(::recv(c, buf, sizeof buf, 0));
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard l(mu_);
        last_ = req;
      }
      {
        std::lock_guard l(mu_);
        ++requests_;
      }
      if (req.find("GET /slow ") != 0) {
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        auto redirect = [&](const std::string& to) {
          resp = "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nlocation:  " + to + "\r\n\r\n";
        };
        if (req.find("GET /fail ") == 0) {
          resp = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        } else if (req.find("GET /to-ok ") == 0) {
          redirect("/healthz");
        } else if (req.find("GET /to-fail ") == 0) {
          redirect("http://127.0.0.1:" + std::to_string(port_) + "/fail");
        } else if (req.find("GET /dir/to-relative ") == 0) {
          redirect("fail");
        } else if (req.find("GET /away ") == 0) {
          redirect("http://elsewhere.invalid/fail");
        } else if (req.find("GET /loop ") == 0) {
          redirect("/loop");
        }
        if (ssl) {
          SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
        } else {
          ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        }
      } else {
        std::this_thread::sleep_for(2500ms);
      }
      if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
      }
      ::close(c);
    }
  }

  bool tls_;
  int fd_ = -1;
  int port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string last_;
  int requests_ = 0;
  std::thread thread_;
};

HandlerResult Get(int port, const std::string& path, bool https, std::chrono::seconds timeout = 2s,
                  boost::json::array headers = {}) {
  boost::json::object get{{"port", port}, {"path", path}};
  if (https) get["scheme"] = "HTTPS";
  if (!headers.empty()) get["httpHeaders"] = std::move(headers);
  boost::json::object handler{{"httpGet", std::move(get)}};
  return RunHandler(nullptr, handler, "", "127.0.0.1", {}, timeout);
}

TEST(Prober, HttpsProbesSkipVerificationAsUpstream) {
  TestServer tls(true);
  auto ok = Get(tls.port(), "/healthz", true);
  EXPECT_TRUE(ok.success) << ok.message;
  EXPECT_EQ(tls.last_request().rfind("GET /healthz HTTP/1.1\r\n", 0), 0u) << tls.last_request();
  auto bad = Get(tls.port(), "/fail", true);
  EXPECT_FALSE(bad.success);
  EXPECT_EQ(bad.message, "HTTP probe failed with statuscode: 500");
  auto slow = Get(tls.port(), "/slow", true, 1s);
  EXPECT_FALSE(slow.success);
  EXPECT_NE(slow.message.find("Client.Timeout exceeded"), std::string::npos) << slow.message;
  EXPECT_NE(slow.message.find("https://127.0.0.1:"), std::string::npos) << slow.message;
  // Plain HTTP to a TLS server is no answer it understands.
  auto plain = Get(tls.port(), "/healthz", false);
  EXPECT_FALSE(plain.success) << plain.message;
}

TEST(Prober, HttpsToAPlainServerFailsTheHandshake) {
  TestServer plain(false);
  auto r = Get(plain.port(), "/", true);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("Get \"https://127.0.0.1:" + std::to_string(plain.port()) + "/\": "),
            std::string::npos)
      << r.message;
  auto http = Get(plain.port(), "/", false);
  EXPECT_TRUE(http.success) << http.message;
}

TEST(Prober, RedirectsToTheSameHostAreFollowedOthersAreNot) {
  TestServer plain(false);
  auto ok = Get(plain.port(), "/to-ok", false);
  EXPECT_TRUE(ok.success) << ok.message;
  EXPECT_EQ(plain.last_request().rfind("GET /healthz ", 0), 0u) << plain.last_request();
  auto fail = Get(plain.port(), "/to-fail", false);
  EXPECT_FALSE(fail.success);
  EXPECT_EQ(fail.message, "HTTP probe failed with statuscode: 500");
  auto relative = Get(plain.port(), "/dir/to-relative", false);  // "fail" from /dir/: /dir/fail
  EXPECT_TRUE(relative.success) << relative.message;
  EXPECT_EQ(plain.last_request().rfind("GET /dir/fail ", 0), 0u) << plain.last_request();
  // Another host: not followed, and the redirect itself is a success (upstream's warning).
  const int before = plain.requests();
  auto away = Get(plain.port(), "/away", false);
  EXPECT_TRUE(away.success) << away.message;
  EXPECT_EQ(plain.requests(), before + 1);
  auto loop = Get(plain.port(), "/loop", false);
  EXPECT_FALSE(loop.success);
  EXPECT_NE(loop.message.find("stopped after 10 redirects"), std::string::npos) << loop.message;
}

TEST(Prober, AHostHeaderReplacesTheDefault) {
  TestServer plain(false);
  auto r = Get(plain.port(), "/x", false, 2s,
               boost::json::array{boost::json::object{{"name", "Host"}, {"value", "example.com"}},
                                  boost::json::object{{"name", "X-Probe"}, {"value", "1"}}});
  EXPECT_TRUE(r.success) << r.message;
  const std::string req = plain.last_request();
  EXPECT_NE(req.find("\r\nHost: example.com\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("Host: 127.0.0.1"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nX-Probe: 1\r\n"), std::string::npos) << req;
}

}  // namespace
}  // namespace keelson::kubelet
