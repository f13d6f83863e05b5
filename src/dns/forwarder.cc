#include "dns/forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/log.h"

namespace keelson::dns {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kLog = "dns-forwarder";
constexpr uint16_t kUpstreamUdpSize = 1232;

struct Pending {
  std::string key;
  std::string qname;  // lowercase wire
  uint16_t qtype = 0, qclass = 0;
  bool dnssec_ok = false, cd = false;
  std::vector<Forwarder::Callback> waiters;
  std::string query;  // the wire query (id patched per attempt)
  uint16_t id = 0;
  int fd = -1;
  uint64_t token = 0;  // names `fd` in epoll events (fd numbers are reused)
  bool tcp = false;
  bool tcp_connected = false;
  std::string tcp_out;
  size_t tcp_sent = 0;
  std::string tcp_in;
  size_t upstream = 0;
  int attempts = 0;
  Clock::time_point attempt_deadline;
  Clock::time_point deadline;
};

class ForwarderImpl final : public Forwarder {
 public:
  explicit ForwarderImpl(ForwarderOptions o)
      : options_(std::move(o)), cache_(options_.cache_entries), rng_(std::random_device{}()) {}

  ~ForwarderImpl() override { Stop(); }

  Status Init() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0) return InternalError("dns forwarder: epoll/eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  std::shared_ptr<const CachedAnswer> Lookup(std::string_view lower_qname, uint16_t qtype,
                                             uint16_t qclass, bool dnssec_ok, bool cd) override {
    return cache_.Get(ResponseCache::Key(lower_qname, qtype, qclass, dnssec_ok, cd), Clock::now());
  }

  void Resolve(std::string_view lower_qname, uint16_t qtype, uint16_t qclass, bool dnssec_ok,
               bool cd, Callback done) override {
    {
      std::lock_guard lock(mu_);
      if (!stopping_ && submitted_.size() < options_.max_pending) {
        submitted_.push_back(
            {std::string(lower_qname), qtype, qclass, dnssec_ok, cd, std::move(done)});
        uint64_t one = 1;
        if (write(wake_, &one, sizeof one) < 0) {
        }
        return;
      }
    }
    done(nullptr);
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (wake_ >= 0) {
      uint64_t one = 1;
      if (write(wake_, &one, sizeof one) < 0) {
      }
    }
    if (thread_.joinable()) thread_.join();
    if (epoll_ >= 0) close(epoll_);
    if (wake_ >= 0) close(wake_);
    epoll_ = wake_ = -1;
  }

  size_t cached_entries() const override { return cache_.size(); }

 private:
  struct Submission {
    std::string qname;
    uint16_t qtype, qclass;
    bool dnssec_ok, cd;
    Callback done;
  };

  void Loop() {
    epoll_event events[64];
    std::vector<uint8_t> buf(kMaxMessageSize + 2);
    while (true) {
      int n = epoll_wait(epoll_, events, 64, 100);
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
      }
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == 0) {
          uint64_t v;
          while (read(wake_, &v, sizeof v) > 0) {
          }
          TakeSubmissions();
          continue;
        }
        auto it = by_token_.find(events[i].data.u64);
        if (it == by_token_.end()) continue;
        Pending* p = it->second;
        if (p->tcp) {
          OnTcp(p, events[i].events, &buf);
        } else {
          OnUdp(p, &buf);
        }
      }
      CheckTimeouts();
    }
    // Fail whatever is left, so no caller waits forever.
    std::vector<Submission> left;
    {
      std::lock_guard lock(mu_);
      left.swap(submitted_);
    }
    for (auto& s : left) s.done(nullptr);
    std::vector<std::string> keys;
    for (auto& [key, p] : by_key_) keys.push_back(key);
    for (auto& key : keys) Finish(by_key_[key].get(), nullptr);
  }

  void TakeSubmissions() {
    std::vector<Submission> subs;
    {
      std::lock_guard lock(mu_);
      subs.swap(submitted_);
    }
    for (auto& s : subs) {
      std::string key = ResponseCache::Key(s.qname, s.qtype, s.qclass, s.dnssec_ok, s.cd);
      if (auto cached = cache_.Get(key, Clock::now())) {
        s.done(std::move(cached));
        continue;
      }
      auto it = by_key_.find(key);
      if (it != by_key_.end()) {
        it->second->waiters.push_back(std::move(s.done));
        continue;
      }
      if (by_key_.size() >= options_.max_pending) {
        s.done(nullptr);
        continue;
      }
      auto p = std::make_unique<Pending>();
      p->key = key;
      p->qname = std::move(s.qname);
      p->qtype = s.qtype;
      p->qclass = s.qclass;
      p->dnssec_ok = s.dnssec_ok;
      p->cd = s.cd;
      p->waiters.push_back(std::move(s.done));
      p->deadline = Clock::now() + options_.timeout;
      p->upstream = next_upstream_++ % options_.upstreams.size();
      BuildQuery(p.get());
      Pending* raw = p.get();
      by_key_.emplace(key, std::move(p));
      StartAttempt(raw);
    }
  }

  void BuildQuery(Pending* p) {
    uint8_t buf[512];
    MessageWriter w(buf, sizeof buf);
    Header h;
    h.flags = static_cast<uint16_t>(kFlagRd | (p->cd ? kFlagCd : 0));
    h.qdcount = 1;
    h.arcount = 1;
    w.WriteHeader(h);
    w.Question(p->qname, p->qtype, p->qclass);
    WriteOpt(&w, kUpstreamUdpSize, 0, p->dnssec_ok);
    p->query.assign(reinterpret_cast<const char*>(buf), w.size());
  }

  void CloseSocket(Pending* p) {
    if (p->fd >= 0) {
      by_token_.erase(p->token);
      epoll_ctl(epoll_, EPOLL_CTL_DEL, p->fd, nullptr);
      close(p->fd);
      p->fd = -1;
    }
  }

  void Watch(Pending* p, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    if (by_token_.count(p->token) && by_token_[p->token] == p) {
      ev.data.u64 = p->token;
      epoll_ctl(epoll_, EPOLL_CTL_MOD, p->fd, &ev);
      return;
    }
    p->token = ++next_token_;
    ev.data.u64 = p->token;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, p->fd, &ev);
    by_token_[p->token] = p;
  }

  void StartAttempt(Pending* p) {
    CloseSocket(p);
    p->tcp = false;
    p->attempts++;
    p->id = static_cast<uint16_t>(rng_());
    p->query[0] = static_cast<char>(p->id >> 8);
    p->query[1] = static_cast<char>(p->id);
    p->attempt_deadline = std::min(Clock::now() + options_.attempt_timeout, p->deadline);
    const Upstream& u = options_.upstreams[p->upstream];
    p->fd = socket(u.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0 || connect(p->fd, reinterpret_cast<const sockaddr*>(&u.addr), u.len) != 0 ||
        send(p->fd, p->query.data(), p->query.size(), 0) < 0) {
      if (p->fd >= 0) close(p->fd);
      p->fd = -1;
      // Let the timeout check move on (not recursion: an unreachable upstream list could
      // otherwise spin).
      p->attempt_deadline = Clock::now();
      return;
    }
    Watch(p, EPOLLIN);
  }

  void StartTcp(Pending* p) {
    CloseSocket(p);
    p->tcp = true;
    p->tcp_connected = false;
    p->tcp_sent = 0;
    p->tcp_in.clear();
    p->tcp_out.clear();
    p->tcp_out.push_back(static_cast<char>(p->query.size() >> 8));
    p->tcp_out.push_back(static_cast<char>(p->query.size()));
    p->tcp_out += p->query;
    p->attempt_deadline = std::min(Clock::now() + options_.attempt_timeout, p->deadline);
    const Upstream& u = options_.upstreams[p->upstream];
    p->fd = socket(u.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
      p->attempt_deadline = Clock::now();
      return;
    }
    int rc = connect(p->fd, reinterpret_cast<const sockaddr*>(&u.addr), u.len);
    if (rc != 0 && errno != EINPROGRESS) {
      close(p->fd);
      p->fd = -1;
      p->attempt_deadline = Clock::now();
      return;
    }
    Watch(p, EPOLLOUT | EPOLLIN);
  }

  // The next attempt (the next upstream), or failure when none is left.
  void Retry(Pending* p) {
    CloseSocket(p);
    const int max_attempts = std::max<int>(2, 2 * static_cast<int>(options_.upstreams.size()));
    if (p->attempts >= max_attempts || Clock::now() >= p->deadline) {
      Finish(p, nullptr);
      return;
    }
    p->upstream = (p->upstream + 1) % options_.upstreams.size();
    StartAttempt(p);
  }

  // Handles an upstream's message; returns whether `p` is done with (finished or retried).
  bool OnMessage(Pending* p, const uint8_t* data, size_t n) {
    auto m = ParseMessage(data, n);
    if (!m.ok() || m->header.id != p->id || !(m->header.flags & kFlagQr) ||
        m->header.qdcount != 1 || m->qtype != p->qtype || m->qclass != p->qclass ||
        LowerName(m->qname) != p->qname) {
      // Not the answer to our question (or garbage): keep waiting for the real one. A TCP
      // stream carries only our answer, so there it is a failure.
      if (p->tcp) {
        Retry(p);
        return true;
      }
      return false;
    }
    if ((m->header.flags & kFlagTc) && !p->tcp) {
      StartTcp(p);
      return true;
    }
    switch (m->header.rcode()) {
      case kRcodeNoError:
      case kRcodeNxDomain:
      case kRcodeServFail:
        break;
      default:
        // FORMERR, NOTIMP, REFUSED say something about us and that upstream: try another.
        Retry(p);
        return true;
    }
    auto answer = ToCachedAnswer(*m, Clock::now(), options_.cache_limits);
    cache_.Put(p->key, answer);
    Finish(p, std::move(answer));
    return true;
  }

  void OnUdp(Pending* p, std::vector<uint8_t>* buf) {
    while (true) {
      ssize_t n = recv(p->fd, buf->data(), buf->size(), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        Retry(p);  // ECONNREFUSED: nobody listens there
        return;
      }
      if (OnMessage(p, buf->data(), static_cast<size_t>(n))) return;
    }
  }

  void OnTcp(Pending* p, uint32_t events, std::vector<uint8_t>* buf) {
    if (!p->tcp_connected) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
        Retry(p);
        return;
      }
      if (!(events & EPOLLOUT)) return;
      p->tcp_connected = true;
    }
    while (p->tcp_sent < p->tcp_out.size()) {
      ssize_t n = send(p->fd, p->tcp_out.data() + p->tcp_sent, p->tcp_out.size() - p->tcp_sent,
                       MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) return;
        Retry(p);
        return;
      }
      p->tcp_sent += static_cast<size_t>(n);
      if (p->tcp_sent == p->tcp_out.size()) Watch(p, EPOLLIN);
    }
    while (true) {
      ssize_t n = recv(p->fd, buf->data(), buf->size(), 0);
      if (n < 0) {
        if (errno == EAGAIN) return;
        Retry(p);
        return;
      }
      if (n == 0) {
        Retry(p);
        return;
      }
      p->tcp_in.append(reinterpret_cast<const char*>(buf->data()), static_cast<size_t>(n));
      if (p->tcp_in.size() >= 2) {
        size_t want = static_cast<uint8_t>(p->tcp_in[0]) << 8 | static_cast<uint8_t>(p->tcp_in[1]);
        if (p->tcp_in.size() >= 2 + want) {
          OnMessage(p, reinterpret_cast<const uint8_t*>(p->tcp_in.data() + 2), want);
          return;
        }
      }
    }
  }

  void CheckTimeouts() {
    auto now = Clock::now();
    std::vector<Pending*> due;
    for (auto& [key, p] : by_key_) {
      if (now >= p->attempt_deadline) due.push_back(p.get());
    }
    for (Pending* p : due) Retry(p);
  }

  void Finish(Pending* p, std::shared_ptr<const CachedAnswer> answer) {
    CloseSocket(p);
    auto waiters = std::move(p->waiters);
    std::string key = p->key;
    if (!answer && Clock::now() - last_warning_ > std::chrono::seconds(10)) {
      last_warning_ = Clock::now();
      LogWarning(kLog, "no upstream answered " + TextName(p->qname) +
                           " in time (answering "
                           "SERVFAIL; further failures are not logged for 10s)");
    }
    by_key_.erase(key);  // destroys p
    for (auto& w : waiters) w(answer);
  }

  const ForwarderOptions options_;
  ResponseCache cache_;
  int epoll_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Submission> submitted_;  // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  // The I/O thread's own.
  std::unordered_map<std::string, std::unique_ptr<Pending>> by_key_;
  std::unordered_map<uint64_t, Pending*> by_token_;
  uint64_t next_token_ = 0;
  Clock::time_point last_warning_{};
  std::mt19937 rng_;
  size_t next_upstream_ = 0;
};

}  // namespace

Result<Upstream> ParseUpstream(std::string_view text) {
  std::string host(text);
  int port = 53;
  if (!host.empty() && host[0] == '[') {
    size_t close_bracket = host.find(']');
    if (close_bracket == std::string::npos) return InvalidArgumentError("bad address: " + host);
    std::string rest = host.substr(close_bracket + 1);
    host = host.substr(1, close_bracket - 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return InvalidArgumentError("bad address: " + std::string(text));
      auto [p, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), port);
      if (ec != std::errc() || p != rest.data() + rest.size()) {
        return InvalidArgumentError("bad port in " + std::string(text));
      }
    }
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    size_t colon = host.find(':');
    std::string p = host.substr(colon + 1);
    host = host.substr(0, colon);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size()) {
      return InvalidArgumentError("bad port in " + std::string(text));
    }
  }
  if (port < 0 || port > 65535) return InvalidArgumentError("bad port in " + std::string(text));
  // A zone index (fe80::1%eth0) is dropped: link-local resolvers are not supported.
  if (size_t pct = host.find('%'); pct != std::string::npos) host.resize(pct);
  Upstream u;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&u.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&u.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    u.len = sizeof(sockaddr_in);
    u.text = host + ":" + std::to_string(port);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    u.len = sizeof(sockaddr_in6);
    u.text = "[" + host + "]:" + std::to_string(port);
  } else {
    return InvalidArgumentError("not an IP address: " + std::string(text));
  }
  return u;
}

Result<std::vector<std::string>> ReadResolvConf(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot read " + path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value)) continue;
    if (key == "nameserver") out.push_back(value);
  }
  return out;
}

Result<std::unique_ptr<Forwarder>> Forwarder::Start(ForwarderOptions options) {
  if (options.upstreams.empty()) return InvalidArgumentError("dns forwarder: no upstreams");
  auto f = std::make_unique<ForwarderImpl>(std::move(options));
  KEELSON_RETURN_IF_ERROR(f->Init());
  return std::unique_ptr<Forwarder>(std::move(f));
}

}  // namespace keelson::dns
