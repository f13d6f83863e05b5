#include "apiserver/stream_proxy.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "apiserver/stream_translator.h"
#include "apiserver/websocket.h"

namespace keelson::apiserver {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

constexpr size_t kMaxErrorBody = 1 << 20;
// Bytes a streamed answer may have queued toward a slow client before reading pauses.
constexpr size_t kMaxBacklog = 4 << 20;

std::string JsonString(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

std::string_view ReasonOf(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "";
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A backend's answer as the client gets it: JSON (a Status) as it is, anything else (the
// plain text errors of a runtime's streaming server) as the message of a Status.
HttpResponse Relayed(int code, std::string_view content_type, std::string body) {
  if (Lower(content_type).starts_with("application/json")) {
    HttpResponse r;
    r.status = code;
    r.body = std::move(body);
    return r;
  }
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return StatusResponse(code, ReasonOf(code), body);
}

// One forwarded request: the backend connection, and the client's once it is handed over.
// Used on its strand only.
struct Session {
  explicit Session(asio::any_io_executor ex) : strand(ex), backend(ex), client(ex) {}
  void Close() {
    boost::system::error_code ec;
    backend.socket().close(ec);
    client.close(ec);
  }
  asio::any_io_executor strand;
  beast::tcp_stream backend;
  tcp::socket client;
  beast::flat_buffer buf;  // what was read from the backend and not yet used
};

// A translated session's queues (stream_translator.h): what is to be written to either side,
// one writer per side at a time. Used on the session's strand only.
struct Translation {
  explicit Translation(std::shared_ptr<StreamTranslator> t) : tr(std::move(t)) {}
  std::shared_ptr<StreamTranslator> tr;
  std::deque<std::string> queue[2];  // 0: to the client, 1: to the backend
  bool writing[2] = {false, false};
  size_t backlog[2] = {0, 0};  // bytes queued and not yet written, per side
  bool done = false;
};

std::string HostHeader(const ProxyTarget& t) {
  std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  return host + ":" + std::to_string(t.port);
}

class StreamProxyImpl final : public StreamProxy {
 public:
  explicit StreamProxyImpl(StreamProxyOptions o)
      : opts_(o), ioc_(std::max(1, o.threads)), work_(asio::make_work_guard(ioc_)) {
    for (int i = 0; i < std::max(1, o.threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~StreamProxyImpl() override { Stop(); }

  void Forward(ProxyTarget target, std::shared_ptr<Exchange> ex) override {
    auto s = NewSession();
    asio::co_spawn(s->strand, RunForward(s, std::move(target), std::move(ex)), Ignore);
  }

  void ForwardUpgrade(ProxyTarget target, const HttpRequest& req,
                      std::shared_ptr<Exchange> ex) override {
    auto s = NewSession();
    asio::co_spawn(s->strand, RunUpgrade(s, std::move(target), req, std::move(ex)), Ignore);
  }

  void ForwardTranslated(ProxyTarget target, const HttpRequest& req, std::shared_ptr<Exchange> ex,
                         std::shared_ptr<StreamTranslator> translator) override {
    auto s = NewSession();
    asio::co_spawn(s->strand,
                   RunTranslated(s, std::move(target), req, std::move(ex), std::move(translator)),
                   Ignore);
  }

  int OpenSessions() const override {
    std::lock_guard l(mu_);
    int n = 0;
    for (const auto& w : sessions_) n += w.expired() ? 0 : 1;
    return n;
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // No thread runs the sessions any more: close them here; their coroutines go with the
    // io_context.
    std::lock_guard l(mu_);
    for (auto& w : sessions_) {
      if (auto s = w.lock()) s->Close();
    }
    sessions_.clear();
  }

 private:
  static void Ignore(std::exception_ptr) {}

  std::shared_ptr<Session> NewSession() {
    auto s = std::make_shared<Session>(asio::make_strand(ioc_));
    std::lock_guard l(mu_);
    std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(s);
    return s;
  }

  // Connects to the backend and sends the request's header; an error is the answer the
  // client gets.
  awaitable<std::optional<HttpResponse>> Open(Session& s, const ProxyTarget& t,
                                              http::request<http::empty_body> req) {
    tcp::resolver resolver(s.strand);
    auto [rec, results] = co_await resolver.async_resolve(t.host, std::to_string(t.port), kAsTuple);
    std::string where = HostHeader(t);
    if (rec) {
      co_return StatusResponse(503, "ServiceUnavailable",
                               "error dialing backend: " + where + ": " + rec.message());
    }
    s.backend.expires_after(opts_.connect_timeout);
    auto [cec, ep] = co_await s.backend.async_connect(results, kAsTuple);
    if (cec) {
      co_return StatusResponse(503, "ServiceUnavailable",
                               "error dialing backend: dial tcp " + where + ": " + cec.message());
    }
    req.set(http::field::host, where);
    for (const auto& [k, v] : t.headers) req.insert(k, v);
    req.prepare_payload();
    s.backend.expires_after(opts_.response_timeout);
    auto [wec, n] = co_await http::async_write(s.backend, req, kAsTuple);
    if (wec) {
      co_return StatusResponse(503, "ServiceUnavailable",
                               "error sending to backend " + where + ": " + wec.message());
    }
    co_return std::nullopt;
  }

  static HttpResponse ReadError(const ProxyTarget& t, const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) {
      return StatusResponse(504, "Timeout",
                            "the backend " + HostHeader(t) + " did not answer in time");
    }
    return StatusResponse(503, "ServiceUnavailable",
                          "error reading from backend " + HostHeader(t) + ": " + ec.message());
  }

  // Reads the rest of a refusal (or error) whose header `p` has read, and relays it.
  awaitable<HttpResponse> ReadWhole(Session& s, const ProxyTarget& t,
                                    http::response_parser<http::string_body>& p) {
    auto [ec, n] = co_await http::async_read(s.backend, s.buf, p, kAsTuple);
    if (ec && !p.is_header_done()) co_return ReadError(t, ec);
    auto& msg = p.get();
    co_return Relayed(msg.result_int(), msg[http::field::content_type], std::move(msg.body()));
  }

  awaitable<void> RunForward(std::shared_ptr<Session> s, ProxyTarget t,
                             std::shared_ptr<Exchange> ex) {
    http::request<http::empty_body> req(http::verb::get, t.target, 11);
    req.set(http::field::accept, "*/*");
    if (auto err = co_await Open(*s, t, std::move(req))) {
      ex->Respond(std::move(*err));
      co_return;
    }
    http::response_parser<http::buffer_body> p;
    p.body_limit(boost::none);
    auto [ec, n] = co_await http::async_read_header(s->backend, s->buf, p, kAsTuple);
    if (ec) {
      ex->Respond(ReadError(t, ec));
      co_return;
    }
    if (p.get().result_int() != 200) {
      http::response_parser<http::string_body> whole(std::move(p));
      whole.body_limit(kMaxErrorBody);
      ex->Respond(co_await ReadWhole(*s, t, whole));
      co_return;
    }
    std::string content_type(p.get()[http::field::content_type]);
    ex->StartStream(200, content_type.empty() ? "text/plain" : content_type);
    std::weak_ptr<Session> weak = s;
    ex->OnClose([weak] {
      if (auto live = weak.lock()) asio::post(live->strand, [live] { live->Close(); });
    });
    s->backend.expires_never();
    std::vector<char> chunk(32 * 1024);
    asio::steady_timer pause(s->strand);
    while (!p.is_done()) {
      p.get().body().data = chunk.data();
      p.get().body().size = chunk.size();
      auto [rec, rn] = co_await http::async_read_some(s->backend, s->buf, p, kAsTuple);
      if (rec == http::error::need_buffer) rec = {};
      size_t got = chunk.size() - p.get().body().size;
      if (got > 0 && !ex->Write(std::string(chunk.data(), got))) break;
      if (rec) break;
      while (ex->Backlog() > kMaxBacklog && s->backend.socket().is_open()) {
        pause.expires_after(std::chrono::milliseconds(20));
        co_await pause.async_wait(kAsTuple);
      }
    }
    ex->EndStream();
    s->Close();
  }

  // Sends an upgrade request and reads the backend's answer into `p`: true for its 101 (the
  // backend's connection is then the session's), else the client has been answered.
  awaitable<bool> OpenUpgrade(Session& s, const ProxyTarget& t, http::request<http::empty_body> req,
                              Exchange& ex, http::response_parser<http::string_body>& p) {
    if (auto err = co_await Open(s, t, std::move(req))) {
      ex.Respond(std::move(*err));
      co_return false;
    }
    p.body_limit(kMaxErrorBody);
    auto [ec, n] = co_await http::async_read_header(s.backend, s.buf, p, kAsTuple);
    if (ec) {
      ex.Respond(ReadError(t, ec));
      co_return false;
    }
    if (p.get().result_int() != 101) {
      ex.Respond(co_await ReadWhole(s, t, p));
      co_return false;
    }
    s.backend.expires_never();
    co_return true;
  }

  awaitable<void> RunUpgrade(std::shared_ptr<Session> s, ProxyTarget t, HttpRequest in,
                             std::shared_ptr<Exchange> ex) {
    http::request<http::empty_body> req(http::string_to_verb(in.method), t.target, 11);
    if (req.method() == http::verb::unknown) req.method(http::verb::get);
    for (const auto& [k, v] : in.headers) {
      if (k == "connection" || k == "upgrade" || k == "x-stream-protocol-version" ||
          k.starts_with("sec-websocket-")) {
        req.insert(k, v);
      }
    }
    http::response_parser<http::string_body> p;
    if (!co_await OpenUpgrade(*s, t, std::move(req), *ex, p)) co_return;
    // The 101 as the backend sent it, then whatever it sent after.
    std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
    for (const auto& f : p.get()) {
      head += std::string(f.name_string()) + ": " + std::string(f.value()) + "\r\n";
    }
    head += "\r\n";
    auto data = s->buf.data();
    head.append(static_cast<const char*>(data.data()), data.size());
    s->buf.consume(data.size());
    ex->Hijack(Taker(s, ex, std::move(head)));
  }

  awaitable<void> RunTranslated(std::shared_ptr<Session> s, ProxyTarget t, HttpRequest in,
                                std::shared_ptr<Exchange> ex,
                                std::shared_ptr<StreamTranslator> tr) {
    http::request<http::empty_body> req(http::verb::post, t.target, 11);
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "SPDY/3.1");
    for (const auto& p : tr->BackendProtocols()) req.insert("X-Stream-Protocol-Version", p);
    http::response_parser<http::string_body> p;
    if (!co_await OpenUpgrade(*s, t, std::move(req), *ex, p)) co_return;
    std::string refusal;
    std::string start = tr->Start(p.get()["X-Stream-Protocol-Version"], &refusal);
    if (!refusal.empty()) {
      s->Close();
      ex->Respond(StatusResponse(400, "BadRequest", "unable to upgrade connection: " + refusal));
      co_return;
    }
    std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        WebSocketAccept(in.Header("sec-websocket-key")) +
        "\r\nSec-WebSocket-Protocol: " + tr->ClientProtocol() + "\r\n\r\n";
    auto data = s->buf.data();
    std::string early(static_cast<const char*>(data.data()), data.size());
    s->buf.consume(data.size());
    auto x = std::make_shared<Translation>(std::move(tr));
    ex->Hijack(TranslationTaker(s, ex, x, std::move(head), std::move(start), std::move(early)));
  }

  static std::function<void(HijackedConnection)> TranslationTaker(
      std::shared_ptr<Session> s, std::shared_ptr<Exchange> ex, std::shared_ptr<Translation> x,
      std::string head, std::string start, std::string early) {
    return [s, ex, x, head = std::move(head), start = std::move(start),
            early = std::move(early)](HijackedConnection c) mutable {
      if (c.fd < 0) {
        ex->Respond(StatusResponse(400, "BadRequest", "this connection cannot be upgraded"));
        asio::post(s->strand, [s] { s->Close(); });
        return;
      }
      asio::post(s->strand, [s, x, c = std::move(c), head = std::move(head),
                             start = std::move(start), early = std::move(early)]() mutable {
        if (!AssignClient(*s, c.fd)) return;
        Queue(s, x, 0, std::move(head));
        Queue(s, x, 1, std::move(start));
        TranslatorOutput out;
        if (!early.empty()) x->tr->FromBackend(early, &out);
        if (!c.unread.empty() && !out.done) x->tr->FromClient(c.unread, &out);
        Apply(s, x, std::move(out));
        asio::co_spawn(s->strand, TranslateFrom(s, x, 0), Ignore);
        asio::co_spawn(s->strand, TranslateFrom(s, x, 1), Ignore);
        asio::co_spawn(s->strand, Tick(s, x), Ignore);
      });
    };
  }

  static bool AssignClient(Session& s, int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    bool v6 =
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET6;
    boost::system::error_code ec;
    s.client.assign(v6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      s.Close();
      return false;
    }
    return true;
  }

  static tcp::socket& Side(Session& s, int side) {
    return side == 0 ? s.client : s.backend.socket();
  }

  // Queues `data` for one side (0: the client, 1: the backend) and starts its writer.
  static void Queue(const std::shared_ptr<Session>& s, const std::shared_ptr<Translation>& x,
                    int side, std::string data) {
    if (data.empty()) return;
    x->backlog[side] += data.size();
    x->queue[side].push_back(std::move(data));
    if (!x->writing[side]) {
      x->writing[side] = true;
      asio::co_spawn(s->strand, Drain(s, x, side), Ignore);
    }
  }

  static awaitable<void> Drain(std::shared_ptr<Session> s, std::shared_ptr<Translation> x,
                               int side) {
    auto& q = x->queue[side];
    while (!q.empty()) {
      std::string d = std::move(q.front());
      q.pop_front();
      auto [ec, n] = co_await asio::async_write(Side(*s, side), asio::buffer(d), kAsTuple);
      x->backlog[side] -= d.size();
      if (ec) {
        q.clear();
        x->backlog[side] = 0;
        if (side == 0) {
          s->Close();
        } else {
          // The backend is gone: the client still gets the session's end (its Status).
          boost::system::error_code cec;
          s->backend.socket().close(cec);
          if (!x->done) {
            TranslatorOutput out;
            x->tr->BackendEnded(&out);
            Apply(s, x, std::move(out));
          }
        }
        break;
      }
    }
    x->writing[side] = false;
    if (side == 0 && x->done) EndClient(s);
  }

  // The session is over: once the client has had everything (its close frame last), its
  // sending side is shut; the connection is closed when it closes its own, or after 10 s.
  static void EndClient(const std::shared_ptr<Session>& s) {
    boost::system::error_code ec;
    s->client.shutdown(tcp::socket::shutdown_send, ec);
    auto timer = std::make_shared<asio::steady_timer>(s->strand, std::chrono::seconds(10));
    timer->async_wait([s, timer](boost::system::error_code) { s->Close(); });
  }

  static void Apply(const std::shared_ptr<Session>& s, const std::shared_ptr<Translation>& x,
                    TranslatorOutput out) {
    if (x->done) return;
    Queue(s, x, 0, std::move(out.to_client));
    Queue(s, x, 1, std::move(out.to_backend));
    if (out.done) {
      x->done = true;
      boost::system::error_code ec;
      s->backend.socket().close(ec);
      if (!x->writing[0]) EndClient(s);
    }
  }

  // Every 5 s while the session lasts, what the translator sends to keep it alive.
  static awaitable<void> Tick(std::shared_ptr<Session> s, std::shared_ptr<Translation> x) {
    asio::steady_timer timer(s->strand);
    while (!x->done && s->client.is_open()) {
      timer.expires_after(std::chrono::seconds(5));
      co_await timer.async_wait(kAsTuple);
      if (x->done) break;
      TranslatorOutput out;
      x->tr->Tick(&out);
      Apply(s, x, std::move(out));
    }
  }

  // Reads one side (0: the client, 1: the backend) into the translator until it ends.
  static awaitable<void> TranslateFrom(std::shared_ptr<Session> s, std::shared_ptr<Translation> x,
                                       int side) {
    std::vector<char> buf(64 * 1024);
    asio::steady_timer pause(s->strand);
    while (true) {
      auto [ec, n] = co_await Side(*s, side).async_read_some(asio::buffer(buf), kAsTuple);
      if (n > 0 && !x->done) {
        TranslatorOutput out;
        std::string_view bytes(buf.data(), n);
        side == 0 ? x->tr->FromClient(bytes, &out) : x->tr->FromBackend(bytes, &out);
        Apply(s, x, std::move(out));
      }
      if (ec) break;
      // A slow reader on either side: stop reading what would queue more for it (a client's
      // pings are answered toward the client, so its reading pauses for both).
      while (!x->done && Side(*s, side).is_open() &&
             (x->backlog[0] > kMaxBacklog || (side == 0 && x->backlog[1] > kMaxBacklog))) {
        pause.expires_after(std::chrono::milliseconds(20));
        co_await pause.async_wait(kAsTuple);
      }
    }
    if (side == 0) {
      s->Close();
    } else if (!x->done) {
      TranslatorOutput out;
      x->tr->BackendEnded(&out);
      Apply(s, x, std::move(out));
    }
  }

  // What takes the client's connection over once the backend agreed to the upgrade (a plain
  // function, so that no lambda inside the coroutine captures its parameters).
  static std::function<void(HijackedConnection)> Taker(std::shared_ptr<Session> s,
                                                       std::shared_ptr<Exchange> ex,
                                                       std::string head) {
    return [s, ex, head = std::move(head)](HijackedConnection c) mutable {
      if (c.fd < 0) {
        ex->Respond(StatusResponse(400, "BadRequest", "this connection cannot be upgraded"));
        asio::post(s->strand, [s] { s->Close(); });
        return;
      }
      asio::co_spawn(s->strand, Splice(s, std::move(c), std::move(head)), Ignore);
    };
  }

  static awaitable<void> Splice(std::shared_ptr<Session> s, HijackedConnection c,
                                std::string to_client) {
    if (!AssignClient(*s, c.fd)) co_return;
    auto [wec, wn] = co_await asio::async_write(s->client, asio::buffer(to_client), kAsTuple);
    if (!wec && !c.unread.empty()) {
      std::tie(wec, wn) =
          co_await asio::async_write(s->backend.socket(), asio::buffer(c.unread), kAsTuple);
    }
    if (wec) {
      s->Close();
      co_return;
    }
    asio::co_spawn(s->strand, Copy(s, &s->client, &s->backend.socket()), Ignore);
    asio::co_spawn(s->strand, Copy(s, &s->backend.socket(), &s->client), Ignore);
  }

  // Copies `from` to `to` until `from` ends (then half-closes `to`) or either fails (then
  // closes both).
  static awaitable<void> Copy(std::shared_ptr<Session> s, tcp::socket* from, tcp::socket* to) {
    std::vector<char> buf(64 * 1024);
    while (true) {
      auto [ec, n] = co_await from->async_read_some(asio::buffer(buf), kAsTuple);
      if (n > 0) {
        auto [wec, wn] = co_await asio::async_write(*to, asio::buffer(buf.data(), n), kAsTuple);
        if (wec) break;
      }
      if (ec == asio::error::eof) {
        boost::system::error_code sec;
        to->shutdown(tcp::socket::shutdown_send, sec);
        co_return;
      }
      if (ec) break;
    }
    s->Close();
  }

  StreamProxyOptions opts_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Session>> sessions_;  // guarded by mu_
};

}  // namespace

HttpResponse StatusResponse(int code, std::string_view reason, std::string_view message) {
  HttpResponse r;
  r.status = code;
  r.body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)" +
           JsonString(message) + ",\"reason\":" + JsonString(reason) +
           ",\"code\":" + std::to_string(code) + "}";
  return r;
}

std::vector<std::string> HeaderValues(const HttpRequest& req, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : req.headers) {
    if (k != name) continue;
    std::string_view rest = v;
    while (true) {
      auto comma = rest.find(',');
      auto item = Trim(rest.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

bool IsUpgradeRequest(const HttpRequest& req) {
  bool connection_upgrade = false;
  for (const auto& v : HeaderValues(req, "connection")) {
    connection_upgrade = connection_upgrade || Lower(v) == "upgrade";
  }
  return connection_upgrade && !req.Header("upgrade").empty();
}

bool IsWebSocketRequest(const HttpRequest& req) {
  return IsUpgradeRequest(req) && Lower(req.Header("upgrade")) == "websocket";
}

std::unique_ptr<StreamProxy> StreamProxy::Create(StreamProxyOptions options) {
  return std::make_unique<StreamProxyImpl>(options);
}

}  // namespace keelson::apiserver
