// watch_latency: watch delivery latency through the API server's HTTP API.
//
// Opens --watchers watches (?watch=true) on the configmaps of one namespace, each on its own
// keep-alive connection, then creates --rate configmaps per second for --seconds; each carries
// its send time (ns since the epoch) in data.t. Every watcher timestamps every ADDED event it
// reads; the latency is receive time minus send time. Prints one line:
//   watchers=1000 creates=500 delivered=500000 expected=500000 p50_ms=.. p99_ms=.. max_ms=..
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) {
      std::perror("write");
      std::exit(1);
    }
    off += static_cast<size_t>(n);
  }
}

// Reads one HTTP response on a keep-alive connection (Content-Length bodies only).
std::string ReadResponse(int fd) {
  std::string buf;
  char tmp[4096];
  while (true) {
    auto hdr_end = buf.find("\r\n\r\n");
    if (hdr_end != std::string::npos) {
      auto cl = buf.find("Content-Length: ");
      if (cl == std::string::npos) cl = buf.find("content-length: ");
      size_t len = cl == std::string::npos ? 0 : std::stoul(buf.substr(cl + 16));
      if (buf.size() >= hdr_end + 4 + len) return buf.substr(0, hdr_end + 4 + len);
    }
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) {
      std::fprintf(stderr, "watch_latency: connection closed\n");
      std::exit(1);
    }
    buf.append(tmp, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, watchers = 1000, rate = 100;
  double seconds = 5;
  std::string ns = "default";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto eq = a.find('=');
    std::string k = a.substr(0, eq), v = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (k == "--port") port = std::stoi(v);
    else if (k == "--watchers") watchers = std::stoi(v);
    else if (k == "--rate") rate = std::stoi(v);
    else if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--namespace") ns = v;
    else {
      std::fprintf(stderr, "usage: watch_latency --port=N [--watchers=N] [--rate=N] [--seconds=S]\n");
      return 2;
    }
  }
  if (port == 0) {
    std::fprintf(stderr, "watch_latency: --port is required\n");
    return 2;
  }
  // The current revision, so that every watch starts after it.
  int api = Connect(port);
  SendAll(api, "GET /api/v1/namespaces/" + ns + "/configmaps?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string list = ReadResponse(api);
  auto rvp = list.find("\"resourceVersion\":\"");
  std::string rv = list.substr(rvp + 19, list.find('"', rvp + 19) - rvp - 19);

  int ep = epoll_create1(0);
  std::vector<int> fds;
  for (int i = 0; i < watchers; ++i) {
    int fd = Connect(port);
    SendAll(fd, "GET /api/v1/namespaces/" + ns + "/configmaps?watch=true&resourceVersion=" + rv +
                    " HTTP/1.1\r\nHost: x\r\n\r\n");
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  std::atomic<bool> writing{true};
  std::atomic<int64_t> creates{0};
  std::thread writer([&] {
    auto start = std::chrono::steady_clock::now();
    auto interval = std::chrono::nanoseconds(1000000000LL / std::max(1, rate));
    auto next = start;
    for (int i = 0; std::chrono::steady_clock::now() - start < std::chrono::duration<double>(seconds); ++i) {
      std::string body = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"lat-" +
                         std::to_string(NowNs()) + "-" + std::to_string(i) + "\"},\"data\":{\"t\":\"" +
                         std::to_string(NowNs()) + "\"}}";
      SendAll(api, "POST /api/v1/namespaces/" + ns + "/configmaps HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
      std::string resp = ReadResponse(api);
      if (resp.compare(0, 12, "HTTP/1.1 201") != 0) {
        std::fprintf(stderr, "watch_latency: create failed: %s\n", resp.substr(0, 200).c_str());
        std::exit(1);
      }
      ++creates;
      next += interval;
      std::this_thread::sleep_until(next);
    }
    writing = false;
  });

  std::vector<std::string> bufs(static_cast<size_t>(watchers));
  std::vector<double> lat;
  lat.reserve(static_cast<size_t>(watchers) * static_cast<size_t>(rate * seconds + 10));
  std::vector<epoll_event> evs(256);
  char tmp[65536];
  auto drain_deadline = std::chrono::steady_clock::time_point::max();
  while (true) {
    if (!writing && drain_deadline == std::chrono::steady_clock::time_point::max()) {
      drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    }
    if (!writing && (lat.size() >= static_cast<size_t>(creates.load()) * fds.size() ||
                     std::chrono::steady_clock::now() > drain_deadline)) {
      break;
    }
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int i = 0; i < n; ++i) {
      uint32_t w = evs[i].data.u32;
      ssize_t got = read(fds[w], tmp, sizeof tmp);
      if (got <= 0) continue;
      int64_t now = NowNs();
      std::string& b = bufs[w];
      b.append(tmp, static_cast<size_t>(got));
      // Scan complete markers; chunk framing is ignored, the marker is unique enough.
      size_t pos = 0;
      while (true) {
        auto m = b.find("\"t\":\"", pos);
        if (m == std::string::npos) break;
        auto end = b.find('"', m + 5);
        if (end == std::string::npos) break;
        int64_t sent = std::stoll(b.substr(m + 5, end - m - 5));
        lat.push_back(static_cast<double>(now - sent) / 1e6);
        pos = end + 1;
      }
      b.erase(0, pos);
    }
  }
  writer.join();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  size_t expected = static_cast<size_t>(creates.load()) * fds.size();
  std::printf("watchers=%d creates=%lld delivered=%zu expected=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
              watchers, static_cast<long long>(creates.load()), lat.size(), expected, pct(0.5),
              pct(0.99), lat.empty() ? 0.0 : lat.back());
  return lat.size() == expected ? 0 : 1;
}
