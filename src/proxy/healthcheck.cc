#include "proxy/healthcheck.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "common/log.h"

namespace keelson::proxy {
namespace {

int Listen(const std::string& address, int port, int* bound_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  if (bound_port != nullptr) *bound_port = ntohs(sa.sin_port);
  return fd;
}

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string Response(int code, const std::string& content_type, const std::string& body) {
  const char* reason = code == 200 ? "OK" : code == 404 ? "Not Found" : code == 400 ? "Bad Request"
                                                                                     : "Service Unavailable";
  return "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + content_type +
         "\r\nX-Content-Type-Options: nosniff\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::Start(std::string bind_address,
                                                          int status_port,
                                                          std::function<std::string()> metrics,
                                                          std::function<bool()> healthy) {
  std::unique_ptr<HealthServer> s(new HealthServer());
  s->bind_address_ = std::move(bind_address);
  s->metrics_ = std::move(metrics);
  s->healthy_ = std::move(healthy);
  if (status_port >= 0) {
    s->status_fd_ = Listen(s->bind_address_, status_port, &s->status_port_);
    if (s->status_fd_ < 0) {
      return UnavailableError("the proxy's health port " + s->bind_address_ + ":" +
                              std::to_string(status_port) + ": " + std::strerror(errno));
    }
  }
  if (pipe2(s->wake_, O_CLOEXEC | O_NONBLOCK) != 0) return InternalError("pipe2");
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

HealthServer::~HealthServer() { Stop(); }

void HealthServer::Stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  std::lock_guard l(mu_);
  for (auto& [port, fd] : listeners_) close(fd);
  listeners_.clear();
  if (status_fd_ >= 0) close(status_fd_);
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

void HealthServer::SetServices(std::map<int, HealthCheckService> services) {
  std::lock_guard l(mu_);
  if (stopping_) return;
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (!services.contains(it->first)) {
      close(it->second);
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [port, svc] : services) {
    if (listeners_.contains(port)) continue;
    int fd = Listen(bind_address_, port, nullptr);
    if (fd < 0) {
      LogWarning("proxy", "health check node port " + std::to_string(port) + " of " +
                              svc.namespace_name + "/" + svc.name + ": " + std::strerror(errno));
      continue;
    }
    listeners_[port] = fd;
  }
  services_ = std::move(services);
  (void)!write(wake_[1], "x", 1);
}

void HealthServer::Serve() {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<int> ports;
    fds.push_back({wake_[0], POLLIN, 0});
    ports.push_back(0);
    {
      std::lock_guard l(mu_);
      if (stopping_) return;
      if (status_fd_ >= 0) {
        fds.push_back({status_fd_, POLLIN, 0});
        ports.push_back(-1);
      }
      for (const auto& [port, fd] : listeners_) {
        fds.push_back({fd, POLLIN, 0});
        ports.push_back(port);
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) {
      char buf[64];
      while (read(wake_[0], buf, sizeof buf) > 0) {
      }
      continue;  // the set of listeners may have changed
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      int conn = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      Answer(conn, ports[i]);
      close(conn);
    }
  }
}

void HealthServer::Answer(int fd, int port) {
  // The request line is all that matters: read until the end of the headers, at most 4 KiB
  // and 2 s.
  std::string request;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (request.size() < 4096 && request.find("\r\n\r\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  auto sp1 = request.find(' ');
  auto sp2 = sp1 == std::string::npos ? sp1 : request.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    WriteAll(fd, Response(400, "text/plain", "bad request\n"));
    return;
  }
  std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  if (port == -1) {
    if (path == "/metrics") {
      WriteAll(fd, Response(200, "text/plain; version=0.0.4", metrics_()));
    } else if (path == "/healthz" || path == "/livez") {
      bool ok = healthy_();
      WriteAll(fd, Response(ok ? 200 : 503, "application/json",
                            std::string("{\"nodeHealthy\":") + (ok ? "true" : "false") + "}\n"));
    } else {
      WriteAll(fd, Response(404, "text/plain", "404 page not found\n"));
    }
    return;
  }
  HealthCheckService svc;
  {
    std::lock_guard l(mu_);
    auto it = services_.find(port);
    if (it == services_.end()) return;
    svc = it->second;
  }
  std::string body = "{\"service\":{\"namespace\":" + JsonString(svc.namespace_name) +
                     ",\"name\":" + JsonString(svc.name) +
                     "},\"localEndpoints\":" + std::to_string(svc.local_endpoints) +
                     ",\"serviceProxyHealthy\":true}\n";
  WriteAll(fd, Response(svc.local_endpoints > 0 ? 200 : 503, "application/json", body));
}

}  // namespace keelson::proxy
