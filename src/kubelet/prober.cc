#include "kubelet/prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "api/json_fields.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;
using api::fields::Obj;
using api::fields::Str;

int64_t Int(const json::object* o, std::string_view key, int64_t def) {
  return api::fields::Int(o, key).value_or(def);
}
using namespace std::chrono_literals;

// The port of a probe: a number, or the name of one of the container's ports.
std::optional<int> Port(const json::object& h, const std::map<std::string, int>& ports) {
  const auto* v = h.if_contains("port");
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<int>(v->as_int64());
  if (v->is_string()) {
    std::string s(v->as_string());
    if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit)) return std::stoi(s);
    auto it = ports.find(s);
    if (it != ports.end()) return it->second;
  }
  return std::nullopt;
}

// A connected TCP socket to host:port within `timeout`, or -1 with `error` set.
int Connect(const std::string& host, int port, std::chrono::milliseconds timeout,
            std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    *error = "dial tcp " + host + ":" + std::to_string(port) + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    } else if (rc == 0) {
      errno = ETIMEDOUT;
      rc = -1;
    }
  }
  if (rc != 0) {
    *error = "dial tcp " + host + ":" + std::to_string(port) + ": connect: " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// A probe's connection to the container: plain, or TLS without verifying the server's
// certificate (as upstream's prober does). Every wait ends at the deadline.
class ProbeConn {
 public:
  ProbeConn(int fd, std::chrono::steady_clock::time_point deadline)
      : fd_(fd), deadline_(deadline) {}
  ~ProbeConn() {
    ERR_clear_error();  // nothing of this connection's errors is left for the thread's next
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    ::close(fd_);
  }
  ProbeConn(const ProbeConn&) = delete;
  ProbeConn& operator=(const ProbeConn&) = delete;

  // The TLS handshake, with `server_name` as SNI; false with `error` set on failure.
  bool StartTls(const std::string& server_name, std::string* error) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = ctx_ ? SSL_new(ctx_) : nullptr;
    if (!ssl_) {
      *error = "tls: cannot set up a client";
      return false;
    }
    SSL_set_verify(ssl_, SSL_VERIFY_NONE, nullptr);
    // A server that closes without close_notify ends the stream, as it does for Go's client.
    SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    in_addr a4;
    in6_addr a6;
    if (inet_pton(AF_INET, server_name.c_str(), &a4) != 1 &&
        inet_pton(AF_INET6, server_name.c_str(), &a6) != 1) {
      SSL_set_tlsext_host_name(ssl_, server_name.c_str());
    }
    SSL_set_fd(ssl_, fd_);
    while (true) {
      ERR_clear_error();  // SSL_get_error reads the thread's queue: it must start empty
      int rc = SSL_connect(ssl_);
      if (rc == 1) return true;
      if (!Wait(SSL_get_error(ssl_, rc))) {
        unsigned long e = ERR_get_error();
        *error = timed_out_ ? "net/http: TLS handshake timeout"
                            : std::string("remote error: tls: ") +
                                  (e ? ERR_reason_error_string(e) : "handshake failure");
        return false;
      }
    }
  }

  bool Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl_) {
        ERR_clear_error();
        int rc = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (rc <= 0) {
          if (!Wait(SSL_get_error(ssl_, rc))) return false;
          continue;
        }
        n = rc;
      } else {
        if (!Poll(POLLOUT)) return false;
        n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Some bytes; 0 at the end of the stream or on an error, -1 at the deadline.
  ssize_t Read(char* buf, size_t size) {
    while (true) {
      if (ssl_) {
        ERR_clear_error();
        int rc = SSL_read(ssl_, buf, static_cast<int>(size));
        if (rc > 0) return rc;
        if (!Wait(SSL_get_error(ssl_, rc))) return timed_out_ ? -1 : 0;
      } else {
        if (!Poll(POLLIN)) return timed_out_ ? -1 : 0;
        ssize_t n = ::recv(fd_, buf, size, 0);
        return n < 0 ? 0 : n;
      }
    }
  }

 private:
  // Waits for what an SSL call asked for; false if it failed for good or time ran out.
  bool Wait(int ssl_error) {
    if (ssl_error == SSL_ERROR_WANT_READ) return Poll(POLLIN);
    if (ssl_error == SSL_ERROR_WANT_WRITE) return Poll(POLLOUT);
    return false;
  }
  bool Poll(short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    pollfd p{fd_, events, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
      timed_out_ = true;
      return false;
    }
    return true;
  }

  int fd_;
  std::chrono::steady_clock::time_point deadline_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool timed_out_ = false;
};

// Where a probe's GET goes.
struct ProbeTarget {
  bool https = false;
  std::string host;
  int port = 0;
  std::string path;  // with its query

  std::string HostPort() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
           std::to_string(port);
  }
  std::string Url() const {
    return std::string(https ? "https://" : "http://") + HostPort() + path;
  }
};

// One GET's answer: its status and Location, or why there is none.
struct ProbeAnswer {
  int code = 0;
  std::string location;
  std::string error;  // set when there is no answer
};

ProbeAnswer GetOnce(const ProbeTarget& t, const std::string& host_header,
                    const std::string& headers, std::chrono::steady_clock::time_point deadline) {
  std::string error;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  int fd = Connect(t.host, t.port, std::max(left, std::chrono::milliseconds(1)), &error);
  if (fd < 0) return {0, "", "Get \"" + t.Url() + "\": " + error};
  ProbeConn conn(fd, deadline);
  if (t.https && !conn.StartTls(t.host, &error))
    return {0, "", "Get \"" + t.Url() + "\": " + error};
  std::string req =
      "GET " + t.path + " HTTP/1.1\r\nHost: " + (host_header.empty() ? t.HostPort() : host_header) +
      "\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n" + headers + "\r\n";
  std::string resp;
  if (conn.Write(req)) {
    // The status line and the headers (for a redirect's Location) are all a probe needs.
    while (resp.find("\r\n\r\n") == std::string::npos && resp.size() < 16384) {
      char buf[2048];
      ssize_t n = conn.Read(buf, sizeof(buf));
      if (n < 0) {
        return {0, "",
                "Get \"" + t.Url() +
                    "\": context deadline exceeded (Client.Timeout exceeded while awaiting "
                    "headers)"};
      }
      if (n == 0) break;
      resp.append(buf, static_cast<size_t>(n));
    }
  }
  ProbeAnswer a;
  if (resp.rfind("HTTP/", 0) == 0) {
    auto sp = resp.find(' ');
    if (sp != std::string::npos) a.code = std::atoi(resp.c_str() + sp + 1);
  }
  if (a.code == 0) return {0, "", "Get \"" + t.Url() + "\": EOF"};
  for (size_t at = resp.find("\r\n"); at != std::string::npos;) {
    size_t end = resp.find("\r\n", at + 2);
    if (end == std::string::npos || end == at + 2) break;
    std::string line = resp.substr(at + 2, end - at - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "location") {
        size_t v = line.find_first_not_of(" \t", colon + 1);
        a.location = v == std::string::npos ? "" : line.substr(v);
        while (!a.location.empty() && (a.location.back() == ' ' || a.location.back() == '\t')) {
          a.location.pop_back();
        }
      }
    }
    at = end;
  }
  return a;
}

// Where `location` leads from `from`: an absolute http(s) URL, a path from the root, or a path
// relative to the current one. False when it cannot be read.
bool Redirect(const ProbeTarget& from, const std::string& location, ProbeTarget* to) {
  *to = from;
  std::string rest = location;
  if (rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0) {
    to->https = rest[4] == 's';
    rest = rest.substr(to->https ? 8 : 7);
    size_t slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    rest = slash == std::string::npos ? "/" : rest.substr(slash);
    if (auto at = authority.rfind('@'); at != std::string::npos)
      authority = authority.substr(at + 1);
    std::string port;
    if (!authority.empty() && authority.front() == '[') {
      auto close = authority.find(']');
      if (close == std::string::npos) return false;
      to->host = authority.substr(1, close - 1);
      if (close + 1 < authority.size() && authority[close + 1] == ':')
        port = authority.substr(close + 2);
    } else {
      auto colon = authority.find(':');
      to->host = authority.substr(0, colon);
      if (colon != std::string::npos) port = authority.substr(colon + 1);
    }
    if (to->host.empty()) return false;
    to->port = port.empty() ? (to->https ? 443 : 80) : std::atoi(port.c_str());
    if (to->port <= 0 || to->port > 65535) return false;
    to->path = rest;
  } else if (!rest.empty() && rest.front() == '/') {
    to->path = rest;
  } else {
    std::string base = from.path.substr(0, from.path.find('?'));
    to->path = base.substr(0, base.rfind('/') + 1) + rest;
  }
  return true;
}

// As upstream's prober: redirects to the same host are followed (at most 10), one to another
// host is not and counts as a success (upstream's "Probe terminated redirects" warning); a
// status in [200, 400) succeeds.
HandlerResult HttpGet(const json::object& h, const std::string& default_host,
                      const std::map<std::string, int>& ports, std::chrono::seconds timeout) {
  auto port = Port(h, ports);
  if (!port) return {false, "httpGet: no port"};
  ProbeTarget t;
  t.https = Str(&h, "scheme") == "HTTPS";
  t.host = Str(&h, "host");
  if (t.host.empty()) t.host = default_host;
  t.port = *port;
  t.path = Str(&h, "path");
  if (t.path.empty() || t.path.front() != '/') t.path = "/" + t.path;
  // A Host among the probe's headers replaces the default one, as upstream's.
  std::string host_header;
  std::string headers;
  if (const auto* hdrs = h.if_contains("httpHeaders"); hdrs && hdrs->is_array()) {
    for (const auto& hv : hdrs->as_array()) {
      if (!hv.is_object()) continue;
      std::string name = Str(&hv.as_object(), "name");
      std::string value = Str(&hv.as_object(), "value");
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "host") {
        host_header = value;
      } else {
        headers += name + ": " + value + "\r\n";
      }
    }
  }
  const std::string first_host = t.host;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int redirects = 0;; ++redirects) {
    ProbeAnswer a = GetOnce(t, host_header, headers, deadline);
    if (!a.error.empty()) return {false, a.error};
    const bool redirect =
        a.code == 301 || a.code == 302 || a.code == 303 || a.code == 307 || a.code == 308;
    ProbeTarget next;
    if (!redirect || a.location.empty() || !Redirect(t, a.location, &next) ||
        next.host != first_host) {
      if (a.code >= 200 && a.code < 400) return {true, ""};
      return {false, "HTTP probe failed with statuscode: " + std::to_string(a.code)};
    }
    if (redirects >= 10) return {false, "Get \"" + next.Url() + "\": stopped after 10 redirects"};
    t = std::move(next);
    host_header.clear();  // a redirect is asked of the host it names
  }
}

HandlerResult TcpSocket(const json::object& h, const std::string& default_host,
                        const std::map<std::string, int>& ports, std::chrono::seconds timeout) {
  auto port = Port(h, ports);
  if (!port) return {false, "tcpSocket: no port"};
  std::string host = Str(&h, "host");
  if (host.empty()) host = default_host;
  std::string error;
  int fd =
      Connect(host, *port, std::chrono::duration_cast<std::chrono::milliseconds>(timeout), &error);
  if (fd < 0) return {false, error};
  ::close(fd);
  return {true, ""};
}

// grpc.health.v1.Health/Check: the request is HealthCheckRequest{service = 1}, the answer
// HealthCheckResponse{status = 1}, SERVING being 1.
HandlerResult Grpc(const json::object& h, const std::string& host, std::chrono::seconds timeout) {
  int port = static_cast<int>(Int(&h, "port", 0));
  std::string service = Str(&h, "service");
  std::string target = host + ":" + std::to_string(port);
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));  // services are short names
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) {
                   std::lock_guard l(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_all();
                 });
  {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return done; });
  }
  if (!status.ok()) {
    return {false, "timeout: failed to connect service \"" + target + "\" within " +
                       std::to_string(timeout.count()) + "s: " + status.error_message()};
  }
  std::vector<grpc::Slice> slices;
  (void)out.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  int serving = 0;
  if (bytes.size() >= 2 && bytes[0] == 0x08) serving = static_cast<unsigned char>(bytes[1]);
  if (serving == 1) return {true, ""};
  return {false, "service unhealthy (responded with \"" +
                     std::string(serving == 2 ? "NOT_SERVING" : "UNKNOWN") + "\")"};
}

}  // namespace

HandlerResult RunHandler(cri::Runtime* runtime, const json::object& handler,
                         const std::string& container_id, const std::string& host,
                         const std::map<std::string, int>& ports, std::chrono::seconds timeout) {
  if (const auto* e = Obj(handler, "exec")) {
    std::vector<std::string> cmd;
    if (const auto* c = e->if_contains("command"); c && c->is_array()) {
      for (const auto& a : c->as_array()) {
        if (a.is_string()) cmd.emplace_back(a.as_string());
      }
    }
    if (cmd.empty()) return {false, "exec: no command"};
    auto r = runtime->ExecSync(container_id, cmd, timeout);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kDeadlineExceeded) {
        return {false, "command timed out: \"" + cmd.front() + "\" timed out after " +
                           std::to_string(timeout.count()) + "s"};
      }
      return {false, r.status().message()};
    }
    if (r->exit_code == 0) return {true, ""};
    std::string out = r->stdout_data + r->stderr_data;
    return {false, out.empty() ? "command exited with " + std::to_string(r->exit_code) : out};
  }
  if (const auto* g = Obj(handler, "httpGet")) return HttpGet(*g, host, ports, timeout);
  if (const auto* t = Obj(handler, "tcpSocket")) return TcpSocket(*t, host, ports, timeout);
  if (const auto* g = Obj(handler, "grpc")) return Grpc(*g, host, timeout);
  if (const auto* s = Obj(handler, "sleep")) {
    std::this_thread::sleep_for(std::chrono::seconds(Int(s, "seconds", 0)));
    return {true, ""};
  }
  return {false, "no handler (exec, httpGet, tcpSocket, grpc)"};
}

ProbeManager::ProbeManager(cri::Runtime* runtime, std::shared_ptr<const Clock> clock,
                           OnChange on_change)
    : runtime_(runtime), clock_(std::move(clock)), on_change_(std::move(on_change)) {
  // A few threads, so that one slow probe (an exec up to its timeout) does not hold the rest.
  for (int i = 0; i < 4; ++i) threads_.emplace_back([this] { Loop(); });
}

ProbeManager::~ProbeManager() { Stop(); }

void ProbeManager::Stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ProbeManager::Ensure(const std::string& pod_key, const std::string& pod_uid,
                          const json::object& container, const std::string& container_id,
                          const std::string& host, Clock::MonoTime started) {
  const std::string name = Str(&container, "name");
  std::map<std::string, int> ports;
  if (const auto* ps = container.if_contains("ports"); ps && ps->is_array()) {
    for (const auto& p : ps->as_array()) {
      if (!p.is_object()) continue;
      std::string pn = Str(&p.as_object(), "name");
      if (!pn.empty()) ports[pn] = static_cast<int>(Int(&p.as_object(), "containerPort", 0));
    }
  }
  std::lock_guard l(mu_);
  for (auto [field, type] : {std::pair{"livenessProbe", ProbeType::kLiveness},
                             std::pair{"readinessProbe", ProbeType::kReadiness},
                             std::pair{"startupProbe", ProbeType::kStartup}}) {
    const std::string key = pod_uid + "/" + name + "/" + std::to_string(static_cast<int>(type));
    const json::object* probe = Obj(container, field);
    auto it = workers_.find(key);
    if (probe == nullptr) {
      if (it != workers_.end() && !it->second.running) workers_.erase(it);
      continue;
    }
    if (it != workers_.end() && it->second.container_id == container_id) continue;
    Worker w;
    w.pod_key = pod_key;
    w.container = name;
    w.container_id = container_id;
    w.host = host;
    w.type = type;
    w.probe = *probe;
    w.ports = ports;
    w.next = started + std::chrono::seconds(Int(probe, "initialDelaySeconds", 0));
    // Liveness and startup are presumed good, readiness bad, until probed.
    w.result = type == ProbeType::kLiveness;
    workers_[key] = std::move(w);
  }
  cv_.notify_all();
}

void ProbeManager::Retain(const std::string& pod_uid, const std::vector<std::string>& keep) {
  std::lock_guard l(mu_);
  std::erase_if(workers_, [&](const auto& kv) {
    return kv.first.rfind(pod_uid + "/", 0) == 0 && !kv.second.running &&
           std::find(keep.begin(), keep.end(), kv.second.container_id) == keep.end();
  });
}

std::optional<bool> ProbeManager::Result(const std::string& pod_uid, const std::string& container,
                                         ProbeType type) const {
  std::lock_guard l(mu_);
  auto it = workers_.find(pod_uid + "/" + container + "/" + std::to_string(static_cast<int>(type)));
  if (it == workers_.end()) return std::nullopt;
  return it->second.result;
}

void ProbeManager::Loop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    auto now = clock_->Monotonic();
    std::string due;
    auto next = now + 1s;
    for (auto& [key, w] : workers_) {
      if (w.running) continue;
      // Liveness and readiness wait for the startup probe.
      if (w.type != ProbeType::kStartup) {
        auto startup = workers_.find(key.substr(0, key.rfind('/')) + "/" +
                                     std::to_string(static_cast<int>(ProbeType::kStartup)));
        if (startup != workers_.end() && !startup->second.result) continue;
      }
      if (w.next <= now) {
        due = key;
        break;
      }
      next = std::min(next, w.next);
    }
    if (due.empty()) {
      clock_->WaitUntil(cv_, l, next);
      continue;
    }
    workers_[due].running = true;
    l.unlock();
    RunOne(due);
    l.lock();
  }
}

void ProbeManager::RunOne(const std::string& key) {
  Worker w;
  {
    std::lock_guard l(mu_);
    w = workers_[key];
  }
  auto timeout = std::chrono::seconds(std::max<int64_t>(1, Int(&w.probe, "timeoutSeconds", 1)));
  HandlerResult r = RunHandler(runtime_, w.probe, w.container_id, w.host, w.ports, timeout);
  const int success_threshold =
      static_cast<int>(std::max<int64_t>(1, Int(&w.probe, "successThreshold", 1)));
  const int failure_threshold =
      static_cast<int>(std::max<int64_t>(1, Int(&w.probe, "failureThreshold", 3)));
  const auto period =
      std::chrono::seconds(std::max<int64_t>(1, Int(&w.probe, "periodSeconds", 10)));
  bool changed = false, result = false, report = false;
  {
    std::lock_guard l(mu_);
    auto it = workers_.find(key);
    if (it == workers_.end() || it->second.container_id != w.container_id) return;
    Worker& cur = it->second;
    cur.running = false;
    cur.next = clock_->Monotonic() + period;
    if (r.success) {
      cur.failures = 0;
      if (++cur.successes >= success_threshold && !cur.result) {
        cur.result = true;
        changed = true;
      }
    } else {
      cur.successes = 0;
      if (++cur.failures >= failure_threshold) {
        if (cur.result || cur.type == ProbeType::kLiveness) changed = true;
        cur.result = false;
        if (cur.type == ProbeType::kLiveness) cur.failures = 0;  // the container restarts
      }
      report = true;
    }
    result = cur.result;
  }
  cv_.notify_all();
  if (changed || report) {
    on_change_(w.pod_key, w.container, w.container_id, w.type, changed, result, r.message);
  }
}

}  // namespace keelson::kubelet
