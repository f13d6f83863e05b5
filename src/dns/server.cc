#include "dns/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <span>
#include <thread>

#include "common/log.h"

namespace keelson::dns {
namespace {

using Clock = std::chrono::steady_clock;
using Reply = std::function<void(std::span<const uint8_t>)>;
constexpr const char* kLog = "dns";

// What every answering thread keeps: its copy of the current zone, a rotation counter, and a
// buffer to write answers into.
struct ThreadState {
  uint64_t generation = ~uint64_t{0};
  std::shared_ptr<const Zone> zone;
  uint32_t rotate = 0;
  std::vector<uint8_t> buf = std::vector<uint8_t>(kMaxMessageSize);
  // Reused for every answer (its compression table keeps its memory).
  Response response{buf.data()};
};

enum class Handled { kRespond, kDrop, kPending };

// The transport-independent part: one query in, an answer out (now or later).
class QueryHandler {
 public:
  QueryHandler(const ServerOptions& options, const ZoneHolder* zones, Forwarder* forwarder)
      : max_udp_(options.max_udp_size), zones_(zones), forwarder_(forwarder) {
    auto z = WireName(options.cluster_domain);
    zone_name_ = z.ok() ? *z : std::string();
  }

  // Answers the message `data`. kRespond: the answer is in *out (valid until the next call
  // with `st`); kPending: `make_reply()` was taken and will be called once.
  template <typename MakeReply>
  Handled Handle(ThreadState* st, const uint8_t* data, size_t n, bool udp,
                 const MakeReply& make_reply, std::span<const uint8_t>* out) {
    ParsedQuery p = ParseQuery(data, n);
    Response& r = st->response;
    if (p.disposition == QueryDisposition::kDrop) return Handled::kDrop;
    const Query& q = p.query;
    const size_t limit = udp ? UdpLimit(q, max_udp_) : kMaxMessageSize;
    if (p.disposition == QueryDisposition::kError) {
      r.BeginError(p, p.rcode, limit);
      *out = r.Finish();
      return Handled::kRespond;
    }
    auto answer_with = [&](int rcode) {
      r.Begin(q, limit, rcode, false);
      *out = r.Finish();
      return Handled::kRespond;
    };
    if (q.qtype == kTypeOpt) return answer_with(kRcodeFormErr);
    if (q.qclass != kClassIn) return answer_with(kRcodeRefused);
    if (q.qtype == kTypeAxfr || q.qtype == kTypeIxfr) return answer_with(kRcodeRefused);
    if (q.qtype == kTypeMaila || q.qtype == kTypeMailb) return answer_with(kRcodeNotImp);

    char lower_buf[kMaxNameLength];
    std::memcpy(lower_buf, q.qname, q.qname_size);
    LowerNameInPlace(reinterpret_cast<uint8_t*>(lower_buf), q.qname_size);
    std::string_view lower(lower_buf, q.qname_size);

    uint64_t generation = zones_->generation();
    if (generation != st->generation) {
      st->zone = zones_->Get();
      st->generation = generation;
    }
    const Zone* zone = st->zone.get();
    if (zone == nullptr) {
      // Not synced with the API yet: the cluster's names are unknown, not absent.
      if (IsSubdomain(lower, zone_name_)) return answer_with(kRcodeServFail);
    } else {
      r.Begin(q, limit, kRcodeNoError, true);
      Zone::Result result = zone->Answer(q, lower, &r, st->rotate++);
      if (result.outcome == Zone::Outcome::kAnswered) {
        *out = r.Finish();
        return Handled::kRespond;
      }
      if (result.outcome == Zone::Outcome::kChase) {
        if (forwarder_ == nullptr) {
          *out = r.Finish();  // the CNAME alone
          return Handled::kRespond;
        }
        std::string target = LowerName(result.chase_target);
        forwarder_->Resolve(target, q.qtype, q.qclass, q.dnssec_ok, q.header.flags & kFlagCd,
                            [this, q, udp, cname = std::move(result.cname),
                             reply = make_reply()](std::shared_ptr<const CachedAnswer> a) {
                              Compose(q, udp, a.get(), &cname, reply);
                            });
        return Handled::kPending;
      }
    }
    if (forwarder_ == nullptr) return answer_with(kRcodeRefused);
    const bool cd = q.header.flags & kFlagCd;
    if (auto cached = forwarder_->Lookup(lower, q.qtype, q.qclass, q.dnssec_ok, cd)) {
      WriteCachedAnswer(q, limit, *cached, Clock::now(), &r);
      *out = r.Finish();
      return Handled::kRespond;
    }
    forwarder_->Resolve(
        lower, q.qtype, q.qclass, q.dnssec_ok, cd,
        [this, q, udp, reply = make_reply()](std::shared_ptr<const CachedAnswer> a) {
          Compose(q, udp, a.get(), nullptr, reply);
        });
    return Handled::kPending;
  }

 private:
  // The answer to a forwarded query (on the forwarder's thread).
  void Compose(const Query& q, bool udp, const CachedAnswer* answer, const Record* cname,
               const Reply& reply) {
    thread_local std::vector<uint8_t> buf(kMaxMessageSize);
    Response r(buf.data());
    const size_t limit = udp ? UdpLimit(q, max_udp_) : kMaxMessageSize;
    auto now = Clock::now();
    if (answer == nullptr) {
      r.Begin(q, limit, kRcodeServFail, false);
    } else if (cname == nullptr) {
      WriteCachedAnswer(q, limit, *answer, now, &r);
    } else {
      // The Service's CNAME, then what the upstream says of its target.
      auto age = std::chrono::duration_cast<std::chrono::seconds>(now - answer->stored).count();
      auto ttl = [age](const Record& rec) {
        return std::max<int64_t>(0, int64_t{rec.ttl} - std::max<int64_t>(0, age));
      };
      r.Begin(q, limit, answer->rcode, false);
      r.AddForQuestion(Section::kAnswer, *cname);
      for (const Record& rec : answer->answers) r.Add(Section::kAnswer, rec, ttl(rec));
      for (const Record& rec : answer->authority) r.Add(Section::kAuthority, rec, ttl(rec));
    }
    reply(r.Finish());
  }

  const size_t max_udp_;
  const ZoneHolder* zones_;
  Forwarder* forwarder_;
  std::string zone_name_;
};

// A socket address with its port set.
sockaddr_storage WithPort(const Upstream& a, int port, socklen_t* len) {
  sockaddr_storage s = a.addr;
  if (s.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&s)->sin_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in6*>(&s)->sin6_port = htons(static_cast<uint16_t>(port));
  }
  *len = a.len;
  return s;
}

int PortOf(const Upstream& a) {
  if (a.addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&a.addr)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.addr)->sin6_port);
}

struct Listener {
  std::vector<int> udp;
  int tcp = -1;
  int port = 0;
};

// Binds `workers` UDP sockets and a TCP listener on one port (a free one for port 0, tried
// again when the TCP port is taken).
Result<Listener> Bind(const Upstream& addr, int workers) {
  const int requested = PortOf(addr);
  std::string last_error;
  for (int attempt = 0; attempt < (requested == 0 ? 20 : 1); ++attempt) {
    Listener l;
    auto fail = [&l](const std::string& what) {
      for (int fd : l.udp) close(fd);
      if (l.tcp >= 0) close(l.tcp);
      return what + ": " + std::strerror(errno);
    };
    int port = requested;
    bool ok = true;
    for (int i = 0; i < workers && ok; ++i) {
      int fd = socket(addr.addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        last_error = fail("udp socket");
        ok = false;
        break;
      }
      l.udp.push_back(fd);
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      int rcvbuf = 1 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      // Wake up now and then to see whether to stop.
      timeval tv{0, 200000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      // Answers leave from the address the query came to (a socket on 0.0.0.0 would let the
      // kernel pick, and a query DNATed to this host — the kube-dns Service — would get its
      // answer from an address its conntrack entry does not expect).
      if (addr.addr.ss_family == AF_INET) {
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
      } else {
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
      }
      socklen_t len;
      sockaddr_storage s = WithPort(addr, port, &len);
      if (bind(fd, reinterpret_cast<sockaddr*>(&s), len) != 0) {
        last_error = fail("bind udp " + addr.text);
        ok = false;
        break;
      }
      if (port == 0) {
        sockaddr_storage bound{};
        socklen_t blen = sizeof bound;
        getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
        Upstream b;
        b.addr = bound;
        port = PortOf(b);
      }
    }
    if (!ok) {
      if (requested == 0 && errno == EADDRINUSE) continue;
      return UnavailableError("dns: " + last_error);
    }
    l.port = port;
    l.tcp = socket(addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(l.tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len;
    sockaddr_storage s = WithPort(addr, port, &len);
    if (l.tcp < 0 || bind(l.tcp, reinterpret_cast<sockaddr*>(&s), len) != 0 ||
        listen(l.tcp, 1024) != 0) {
      bool in_use = errno == EADDRINUSE;
      last_error = fail("bind tcp " + addr.text);
      if (requested == 0 && in_use) continue;
      return UnavailableError("dns: " + last_error);
    }
    return l;
  }
  return UnavailableError("dns: " + last_error);
}

// The TCP side: listeners and connections on one epoll thread.
class TcpServer {
 public:
  TcpServer(const ServerOptions& options, QueryHandler* handler)
      : options_(options), handler_(handler) {}
  ~TcpServer() { Stop(); }

  Status Start(std::vector<int> listeners) {
    listeners_ = std::move(listeners);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0) return InternalError("dns: epoll/eventfd failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeToken;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    for (size_t i = 0; i < listeners_.size(); ++i) {
      ev.data.u64 = kListenerToken + i;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, listeners_[i], &ev);
    }
    thread_ = std::thread([this] { Loop(); });
    return Status::Ok();
  }

  void Stop() {
    stop_.store(true);
    Wake();
    if (thread_.joinable()) thread_.join();
    for (auto& [id, c] : conns_) close(c.fd);
    conns_.clear();
    for (int fd : listeners_) close(fd);
    listeners_.clear();
    if (epoll_ >= 0) close(epoll_);
    if (wake_ >= 0) close(wake_);
    epoll_ = wake_ = -1;
  }

 private:
  static constexpr uint64_t kWakeToken = 0;
  static constexpr uint64_t kListenerToken = uint64_t{1} << 62;
  // Unsent answers a connection may pile up before it is deemed not to read them.
  static constexpr size_t kMaxOutput = 1 << 20;

  struct Conn {
    int fd = -1;
    std::string in;
    size_t in_off = 0;
    std::string out;
    size_t out_off = 0;
    Clock::time_point last;
    int pending = 0;
    uint32_t events = 0;
  };

  void Wake() {
    if (wake_ < 0) return;
    uint64_t one = 1;
    if (write(wake_, &one, sizeof one) < 0) {
    }
  }

  void Loop() {
    ThreadState st;
    epoll_event events[64];
    std::vector<char> buf(1 << 16);
    auto last_sweep = Clock::now();
    while (!stop_.load()) {
      int n = epoll_wait(epoll_, events, 64, 500);
      for (int i = 0; i < n; ++i) {
        uint64_t token = events[i].data.u64;
        if (token == kWakeToken) {
          uint64_t v;
          while (read(wake_, &v, sizeof v) > 0) {
          }
          TakeCompletions(&st);
        } else if (token >= kListenerToken) {
          Accept(listeners_[token - kListenerToken]);
        } else {
          auto it = conns_.find(token);
          if (it == conns_.end()) continue;
          OnEvent(token, &it->second, events[i].events, &st, &buf);
        }
      }
      auto now = Clock::now();
      if (now - last_sweep >= std::chrono::milliseconds(250)) {
        last_sweep = now;
        std::vector<uint64_t> idle;
        for (auto& [id, c] : conns_) {
          if (c.pending == 0 && now - c.last >= options_.tcp_idle_timeout) idle.push_back(id);
        }
        for (uint64_t id : idle) Close(id);
      }
    }
  }

  void Accept(int listener) {
    while (true) {
      int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      if (static_cast<int>(conns_.size()) >= options_.max_tcp_connections) {
        close(fd);  // full: refuse rather than let the backlog grow
        continue;
      }
      uint64_t id = next_id_++;
      Conn& c = conns_[id];
      c.fd = fd;
      c.last = Clock::now();
      SetEvents(id, &c, EPOLLIN, true);
    }
  }

  void SetEvents(uint64_t id, Conn* c, uint32_t events, bool add = false) {
    if (!add && c->events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
  }

  void Close(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    close(it->second.fd);
    conns_.erase(it);
  }

  void OnEvent(uint64_t id, Conn* c, uint32_t events, ThreadState* st, std::vector<char>* buf) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      Close(id);
      return;
    }
    if (events & EPOLLIN) {
      ssize_t n = recv(c->fd, buf->data(), buf->size(), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        Close(id);
        return;
      }
      if (n > 0) c->in.append(buf->data(), static_cast<size_t>(n));
      if (!Process(id, c, st)) return;
    }
    Flush(id, c);
  }

  // Answers the complete messages read so far. False when the connection was closed.
  bool Process(uint64_t id, Conn* c, ThreadState* st) {
    while (c->pending < options_.max_tcp_pending && c->in.size() - c->in_off >= 2) {
      const auto* p = reinterpret_cast<const uint8_t*>(c->in.data() + c->in_off);
      size_t len = static_cast<size_t>(p[0] << 8 | p[1]);
      if (c->in.size() - c->in_off < 2 + len) break;
      c->in_off += 2 + len;
      c->last = Clock::now();
      std::span<const uint8_t> out;
      Handled h = handler_->Handle(
          st, p + 2, len, /*udp=*/false,
          [this, id]() -> Reply {
            return [this, id](std::span<const uint8_t> answer) {
              {
                std::lock_guard lock(mu_);
                completions_.emplace_back(id, std::string(answer.begin(), answer.end()));
              }
              Wake();
            };
          },
          &out);
      if (h == Handled::kDrop) {
        Close(id);  // not a query: whoever sent it is not a DNS client
        return false;
      }
      if (h == Handled::kPending) {
        ++c->pending;
      } else {
        Append(c, out);
      }
    }
    if (c->in_off > 0) {
      c->in.erase(0, c->in_off);
      c->in_off = 0;
    }
    return true;
  }

  static void Append(Conn* c, std::span<const uint8_t> answer) {
    c->out.push_back(static_cast<char>(answer.size() >> 8));
    c->out.push_back(static_cast<char>(answer.size()));
    c->out.append(reinterpret_cast<const char*>(answer.data()), answer.size());
  }

  void Flush(uint64_t id, Conn* c) {
    while (c->out_off < c->out.size()) {
      ssize_t n = send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        Close(id);
        return;
      }
      c->out_off += static_cast<size_t>(n);
      c->last = Clock::now();
    }
    if (c->out_off == c->out.size()) {
      c->out.clear();
      c->out_off = 0;
    } else if (c->out.size() - c->out_off > kMaxOutput) {
      Close(id);
      return;
    }
    uint32_t want = 0;
    if (c->pending < options_.max_tcp_pending) want |= EPOLLIN;
    if (!c->out.empty()) want |= EPOLLOUT;
    SetEvents(id, c, want);
  }

  void TakeCompletions(ThreadState* st) {
    std::vector<std::pair<uint64_t, std::string>> done;
    {
      std::lock_guard lock(mu_);
      done.swap(completions_);
    }
    for (auto& [id, answer] : done) {
      auto it = conns_.find(id);
      if (it == conns_.end()) continue;  // closed meanwhile
      Conn* c = &it->second;
      --c->pending;
      Append(c, {reinterpret_cast<const uint8_t*>(answer.data()), answer.size()});
      // Reading may resume: answer what is already buffered.
      if (!Process(id, c, st)) continue;
      Flush(id, c);
    }
  }

  const ServerOptions options_;
  QueryHandler* handler_;
  std::vector<int> listeners_;
  int epoll_ = -1;
  int wake_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<uint64_t, std::string>> completions_;  // guarded by mu_
  // The loop thread's own.
  std::map<uint64_t, Conn> conns_;
  uint64_t next_id_ = 1;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, const ZoneHolder* zones, Forwarder* forwarder)
      : options_(std::move(options)),
        handler_(options_, zones, forwarder),
        tcp_(options_, &handler_) {}
  ~ServerImpl() override { Stop(); }

  Status Init() {
    std::vector<int> tcp_listeners;
    for (const auto& text : options_.listen) {
      auto addr = ParseListenAddress(text);
      if (!addr.ok()) return addr.status();
      auto l = Bind(*addr, options_.udp_workers);
      if (!l.ok()) {
        for (int fd : tcp_listeners) close(fd);
        return l.status();
      }
      ports_.push_back(l->port);
      tcp_listeners.push_back(l->tcp);
      udp_fds_.insert(udp_fds_.end(), l->udp.begin(), l->udp.end());
    }
    KEELSON_RETURN_IF_ERROR(tcp_.Start(std::move(tcp_listeners)));
    for (int fd : udp_fds_) workers_.emplace_back([this, fd] { UdpLoop(fd); });
    return Status::Ok();
  }

  std::vector<int> Ports() const override { return ports_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    stop_.store(true);
    for (auto& t : workers_) t.join();
    workers_.clear();
    tcp_.Stop();
    for (int fd : udp_fds_) close(fd);
    udp_fds_.clear();
  }

 private:
  // The control message that sends an answer from the address its query was sent to: the
  // destination address the query's IP_PKTINFO / IPV6_PKTINFO carried.
  struct Origin {
    alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(in6_pktinfo))];
    size_t len = 0;
  };
  static Origin OriginOf(msghdr* received) {
    Origin o;
    auto put = [&o](int level, int type, const void* data, size_t size) {
      auto* h = reinterpret_cast<cmsghdr*>(o.buf);
      h->cmsg_level = level;
      h->cmsg_type = type;
      h->cmsg_len = CMSG_LEN(size);
      std::memcpy(CMSG_DATA(h), data, size);
      o.len = CMSG_SPACE(size);
    };
    for (cmsghdr* c = CMSG_FIRSTHDR(received); c != nullptr; c = CMSG_NXTHDR(received, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo in;
        std::memcpy(&in, CMSG_DATA(c), sizeof in);
        in_pktinfo out{};
        out.ipi_spec_dst = in.ipi_addr;
        put(IPPROTO_IP, IP_PKTINFO, &out, sizeof out);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo in;
        std::memcpy(&in, CMSG_DATA(c), sizeof in);
        in6_pktinfo out{};
        out.ipi6_addr = in.ipi6_addr;
        put(IPPROTO_IPV6, IPV6_PKTINFO, &out, sizeof out);
      }
    }
    return o;
  }

  void UdpLoop(int fd) {
    constexpr int kBatch = 32;
    constexpr size_t kInSize = 4096;
    const size_t out_size = std::max<size_t>(options_.max_udp_size, kClassicUdpSize);
    ThreadState st;
    std::vector<uint8_t> in(kBatch * kInSize), out(kBatch * out_size);
    mmsghdr rmsgs[kBatch], smsgs[kBatch];
    iovec riov[kBatch], siov[kBatch];
    sockaddr_storage addrs[kBatch];
    alignas(cmsghdr) char rctl[kBatch][CMSG_SPACE(sizeof(in6_pktinfo)) + 64];
    Origin origins[kBatch];
    std::memset(rmsgs, 0, sizeof rmsgs);
    std::memset(smsgs, 0, sizeof smsgs);
    for (int i = 0; i < kBatch; ++i) {
      riov[i] = {in.data() + i * kInSize, kInSize};
      rmsgs[i].msg_hdr.msg_iov = &riov[i];
      rmsgs[i].msg_hdr.msg_iovlen = 1;
      rmsgs[i].msg_hdr.msg_name = &addrs[i];
    }
    while (!stop_.load(std::memory_order_relaxed)) {
      for (int i = 0; i < kBatch; ++i) {
        rmsgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        rmsgs[i].msg_hdr.msg_control = rctl[i];
        rmsgs[i].msg_hdr.msg_controllen = sizeof rctl[i];
      }
      int n = recvmmsg(fd, rmsgs, kBatch, MSG_WAITFORONE, nullptr);
      if (n <= 0) continue;  // the receive timeout (to look at stop_), EINTR
      int m = 0;
      for (int i = 0; i < n; ++i) {
        std::span<const uint8_t> answer;
        const sockaddr_storage* from = &addrs[i];
        const socklen_t from_len = rmsgs[i].msg_hdr.msg_namelen;
        origins[i] = OriginOf(&rmsgs[i].msg_hdr);
        const Origin* origin = &origins[i];
        Handled h = handler_.Handle(
            &st, in.data() + i * kInSize, rmsgs[i].msg_len, /*udp=*/true,
            [fd, from, from_len, origin]() -> Reply {
              sockaddr_storage to = *from;
              Origin o = *origin;
              return [fd, to, from_len, o](std::span<const uint8_t> a) mutable {
                iovec iov{const_cast<uint8_t*>(a.data()), a.size()};
                msghdr m{};
                m.msg_name = &to;
                m.msg_namelen = from_len;
                m.msg_iov = &iov;
                m.msg_iovlen = 1;
                if (o.len > 0) {
                  m.msg_control = o.buf;
                  m.msg_controllen = o.len;
                }
                sendmsg(fd, &m, 0);
              };
            },
            &answer);
        if (h != Handled::kRespond) continue;
        size_t size = std::min(answer.size(), out_size);
        std::memcpy(out.data() + m * out_size, answer.data(), size);
        siov[m] = {out.data() + m * out_size, size};
        smsgs[m].msg_hdr.msg_iov = &siov[m];
        smsgs[m].msg_hdr.msg_iovlen = 1;
        smsgs[m].msg_hdr.msg_name = &addrs[i];
        smsgs[m].msg_hdr.msg_namelen = from_len;
        smsgs[m].msg_hdr.msg_control = origins[i].len > 0 ? origins[i].buf : nullptr;
        smsgs[m].msg_hdr.msg_controllen = origins[i].len;
        ++m;
      }
      for (int sent = 0; sent < m;) {
        int k = sendmmsg(fd, smsgs + sent, m - sent, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
          ++sent;  // this destination refuses (say, EPERM, or a bad address): skip it
          continue;
        }
        sent += k;
      }
    }
  }

  const ServerOptions options_;
  QueryHandler handler_;
  TcpServer tcp_;
  std::vector<int> ports_;
  std::vector<int> udp_fds_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<Upstream> ParseListenAddress(std::string_view text) {
  if (!text.empty() && text[0] == ':') return ParseUpstream("0.0.0.0" + std::string(text));
  if (text.find(':') == std::string_view::npos) {
    return InvalidArgumentError("--listen needs ADDRESS:PORT, got '" + std::string(text) + "'");
  }
  return ParseUpstream(text);
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, const ZoneHolder* zones,
                                              Forwarder* forwarder) {
  if (options.listen.empty()) return InvalidArgumentError("dns: no listen address");
  options.udp_workers = std::clamp(options.udp_workers, 1, 64);
  options.max_udp_size = std::clamp<size_t>(options.max_udp_size, kClassicUdpSize, 4096);
  auto s = std::make_unique<ServerImpl>(std::move(options), zones, forwarder);
  KEELSON_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace keelson::dns
