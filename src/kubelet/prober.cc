#include "kubelet/prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/json.hpp>

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

HandlerResult HttpGet(const json::object& h, const std::string& default_host,
                      const std::map<std::string, int>& ports, std::chrono::seconds timeout) {
  auto port = Port(h, ports);
  if (!port) return {false, "httpGet: no port"};
  if (Str(&h, "scheme") == "HTTPS") return {false, "httpGet: HTTPS probes are not supported"};
  std::string host = Str(&h, "host");
  if (host.empty()) host = default_host;
  std::string path = Str(&h, "path");
  if (path.empty() || path.front() != '/') path = "/" + path;
  std::string error;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd =
      Connect(host, *port, std::chrono::duration_cast<std::chrono::milliseconds>(timeout), &error);
  if (fd < 0)
    return {false, "Get \"http://" + host + ":" + std::to_string(*port) + path + "\": " + error};
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(*port) +
                    "\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n";
  if (const auto* hdrs = h.if_contains("httpHeaders"); hdrs && hdrs->is_array()) {
    for (const auto& hv : hdrs->as_array()) {
      if (hv.is_object()) {
        req += Str(&hv.as_object(), "name") + ": " + Str(&hv.as_object(), "value") + "\r\n";
      }
    }
  }
  req += "\r\n";
  std::string resp;
  size_t sent = 0;
  while (sent < req.size()) {
    pollfd p{fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  // The status line is all a probe needs.
  while (resp.find("\r\n") == std::string::npos && resp.size() < 4096) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
      ::close(fd);
      return {false, "Get \"http://" + host + ":" + std::to_string(*port) + path +
                         "\": context deadline exceeded (Client.Timeout exceeded while awaiting "
                         "headers)"};
    }
    char buf[1024];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  int code = 0;
  if (resp.rfind("HTTP/", 0) == 0) {
    auto sp = resp.find(' ');
    if (sp != std::string::npos) code = std::atoi(resp.c_str() + sp + 1);
  }
  if (code >= 200 && code < 400) return {true, ""};
  if (code == 0)
    return {false, "Get \"http://" + host + ":" + std::to_string(*port) + path + "\": EOF"};
  return {false, "HTTP probe failed with statuscode: " + std::to_string(code)};
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
