// The HTTP transport on Boost.Beast and Asio coroutines: the only file of the client library
// that includes them.
//
// One I/O thread runs every connection. A request takes an idle keep-alive connection from
// the pool (or connects), writes, reads the answer and gives the connection back; the calling
// thread waits for the result. A connection the server closed while idle is noticed before
// use (it reads as ready) and dropped; a request whose reused connection fails before any
// byte of the answer came back is sent once more on a new connection (the server closes only
// idle connections, so it cannot have acted on it). A stream reads its body into a buffer the
// caller drains, pausing the socket while more than kStreamBufferLimit bytes wait.
#include <poll.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "client/transport.h"

namespace keelson::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(use_awaitable);
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kStreamBufferLimit = 16 << 20;
constexpr std::chrono::seconds kIdleLifetime{90};  // below the server's 120 s idle timeout

struct ServerAddress {
  std::string host;  // without brackets
  std::string port;
  std::string prefix;  // "" or "/path" without a trailing slash
  std::string host_header;
};

Result<ServerAddress> ParseServer(std::string_view s) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  if (s.starts_with(kHttps)) {
    return Status(StatusCode::kUnimplemented,
                  "TLS connections are not implemented yet (server " + std::string(s) + ")");
  }
  if (!s.starts_with(kHttp)) {
    return InvalidArgumentError("server address must start with http://: '" + std::string(s) +
                                "'");
  }
  std::string_view rest = s.substr(kHttp.size());
  ServerAddress a;
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) a.prefix = std::string(rest.substr(slash));
  while (!a.prefix.empty() && a.prefix.back() == '/') a.prefix.pop_back();
  if (hostport.empty()) return InvalidArgumentError("no host in server address '" + std::string(s) + "'");
  a.host_header = std::string(hostport);
  if (hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError("bad IPv6 address in '" + std::string(s) + "'");
    }
    a.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (after.starts_with(":")) a.port = std::string(after.substr(1));
  } else {
    size_t colon = hostport.rfind(':');
    a.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) a.port = std::string(hostport.substr(colon + 1));
  }
  if (a.port.empty()) a.port = "80";
  for (char c : a.port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return InvalidArgumentError("bad port in server address '" + std::string(s) + "'");
    }
  }
  return a;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Connection {
  explicit Connection(asio::io_context& ioc) : stream(ioc) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
};

// Whether an idle connection can be used: the peer has not closed it and sent nothing.
bool LooksUsable(Connection& c) {
  if (!c.stream.socket().is_open()) return false;
  if (std::chrono::steady_clock::now() - c.idle_since > kIdleLifetime) return false;
  pollfd p{c.stream.socket().native_handle(), POLLIN | POLLRDHUP, 0};
  int n = ::poll(&p, 1, 0);
  return n == 0;
}

// What a stream's reader and its connection coroutine share.
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  std::string data;          // guarded by mu: body bytes not yet read
  bool ended = false;        // guarded by mu
  Status error;              // guarded by mu: why the body ended early
  bool closed = false;       // guarded by mu: the reader closed the stream
  // I/O thread only.
  Connection* conn = nullptr;
  std::unique_ptr<asio::steady_timer> resume;  // wakes a coroutine paused by a full buffer
  bool paused = false;
  // Response head; written before the stream is handed out.
  int status = 0;
  std::string content_type;
  Headers headers;
};

class HttpCore {
 public:
  HttpCore(HttpTransportOptions options, ServerAddress address)
      : options_(std::move(options)), address_(std::move(address)),
        work_(asio::make_work_guard(ioc_)) {
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~HttpCore() {
    work_.reset();
    ioc_.stop();
    thread_.join();
    idle_.clear();
  }

  asio::io_context& ioc() { return ioc_; }
  const HttpTransportOptions& options() const { return options_; }
  const ServerAddress& address() const { return address_; }

  // I/O thread only.
  std::unique_ptr<Connection> TakeIdle() {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (LooksUsable(*c)) return c;
    }
    return nullptr;
  }
  void GiveBack(std::unique_ptr<Connection> c) {
    if (idle_.size() >= options_.max_idle_connections) return;
    c->idle_since = std::chrono::steady_clock::now();
    c->stream.expires_never();
    idle_.push_back(std::move(c));
  }

  awaitable<Result<std::unique_ptr<Connection>>> Connect() {
    tcp::resolver resolver(ioc_);
    auto [ec, results] = co_await resolver.async_resolve(address_.host, address_.port, kAsTuple);
    if (ec) {
      co_return UnavailableError("resolve " + address_.host + ": " + ec.message());
    }
    auto c = std::make_unique<Connection>(ioc_);
    c->stream.expires_after(options_.connect_timeout);
    auto [cec, ep] = co_await c->stream.async_connect(results, kAsTuple);
    if (cec) {
      co_return UnavailableError("connect to " + address_.host_header + ": " +
                                 (cec == beast::error::timeout ? std::string("timed out")
                                                               : cec.message()));
    }
    boost::system::error_code ignored;
    c->stream.socket().set_option(tcp::no_delay(true), ignored);
    c->stream.expires_never();
    co_return c;
  }

  http::request<http::string_body> BuildRequest(const api::HttpRequest& r) const {
    http::request<http::string_body> req;
    http::verb v = http::string_to_verb(r.method);
    if (v == http::verb::unknown) {
      req.method_string(r.method);
    } else {
      req.method(v);
    }
    req.target(address_.prefix + r.target);
    req.version(11);
    req.set(http::field::host, address_.host_header);
    for (const auto& [k, v2] : r.headers) req.insert(k, v2);
    req.keep_alive(true);
    req.body() = r.body;
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
      req.prepare_payload();
    }
    return req;
  }

  void ArmTimeout(Connection& c) {
    if (options_.timeout.count() > 0) {
      c.stream.expires_after(options_.timeout);
    } else {
      c.stream.expires_never();
    }
  }

  Status IoError(const boost::system::error_code& ec, std::string_view what) const {
    if (ec == beast::error::timeout) {
      return Status(StatusCode::kDeadlineExceeded,
                    std::string(what) + " " + address_.host_header + ": timed out");
    }
    return InternalError(std::string(what) + " " + address_.host_header + ": " + ec.message());
  }

  // One request and its complete answer.
  awaitable<void> DoRoundTrip(api::HttpRequest r,
                              std::shared_ptr<std::promise<Result<api::HttpResponse>>> done) {
    auto req = BuildRequest(r);
    for (int attempt = 0;; ++attempt) {
      auto conn = attempt == 0 ? TakeIdle() : nullptr;
      bool reused = conn != nullptr;
      if (!conn) {
        auto c = co_await Connect();
        if (!c.ok()) {
          done->set_value(c.status());
          co_return;
        }
        conn = std::move(*c);
      }
      ArmTimeout(*conn);
      auto [wec, wn] = co_await http::async_write(conn->stream, req, kAsTuple);
      if (wec && reused) continue;
      // Even when the write failed, the server may have answered before it closed (a 413 for
      // a body over its limit): read what it sent.
      http::response_parser<http::string_body> parser;
      parser.body_limit(boost::none);
      parser.header_limit(64 * 1024);
      auto [rec, rn] = co_await http::async_read(conn->stream, conn->buffer, parser, kAsTuple);
      if (wec && (rec || !parser.is_done())) {
        done->set_value(IoError(wec, "write to"));
        co_return;
      }
      if (rec) {
        if (reused && !parser.got_some() && rec != beast::error::timeout) continue;
        done->set_value(IoError(rec, "read from"));
        co_return;
      }
      auto& msg = parser.get();
      api::HttpResponse resp;
      resp.status = static_cast<int>(msg.result_int());
      resp.content_type = std::string(msg[http::field::content_type]);
      for (const auto& f : msg) {
        resp.headers.emplace_back(Lower(f.name_string()), std::string(f.value()));
      }
      bool keep = msg.keep_alive() && !parser.need_eof();
      resp.body = std::move(msg.body());
      if (keep) GiveBack(std::move(conn));
      done->set_value(std::move(resp));
      co_return;
    }
  }

  // A streamed answer: the head through `done`, the body into `state`.
  awaitable<void> DoStream(
      api::HttpRequest r, std::shared_ptr<StreamState> state,
      std::shared_ptr<std::promise<Status>> done) {
    auto req = BuildRequest(r);
    std::unique_ptr<Connection> conn;
    std::optional<http::response_parser<http::buffer_body>> head;
    for (int attempt = 0;; ++attempt) {
      conn = attempt == 0 ? TakeIdle() : nullptr;
      bool reused = conn != nullptr;
      if (!conn) {
        auto c = co_await Connect();
        if (!c.ok()) {
          done->set_value(c.status());
          co_return;
        }
        conn = std::move(*c);
      }
      ArmTimeout(*conn);
      auto [wec, wn] = co_await http::async_write(conn->stream, req, kAsTuple);
      if (wec) {
        if (reused) continue;
        done->set_value(IoError(wec, "write to"));
        co_return;
      }
      head.emplace();
      head->body_limit(boost::none);
      head->header_limit(64 * 1024);
      auto [hec, hn] = co_await http::async_read_header(conn->stream, conn->buffer, *head, kAsTuple);
      if (hec) {
        if (reused && !head->got_some() && hec != beast::error::timeout) continue;
        done->set_value(IoError(hec, "read from"));
        co_return;
      }
      break;
    }
    auto& parser = *head;
    {
      auto& msg = parser.get();
      state->status = static_cast<int>(msg.result_int());
      state->content_type = std::string(msg[http::field::content_type]);
      for (const auto& f : msg) {
        state->headers.emplace_back(Lower(f.name_string()), std::string(f.value()));
      }
    }
    state->conn = conn.get();
    state->resume = std::make_unique<asio::steady_timer>(ioc_);
    done->set_value(Status::Ok());

    Status end;
    char buf[64 * 1024];
    while (!parser.is_done()) {
      {
        std::unique_lock l(state->mu);
        if (state->closed) break;
        if (state->data.size() > kStreamBufferLimit) {
          state->paused = true;
          l.unlock();
          state->resume->expires_after(std::chrono::seconds(1));
          co_await state->resume->async_wait(kAsTuple);
          state->paused = false;
          continue;
        }
      }
      parser.get().body().data = buf;
      parser.get().body().size = sizeof buf;
      conn->stream.expires_never();
      auto [ec, n] = co_await http::async_read_some(conn->stream, conn->buffer, parser, kAsTuple);
      size_t got = sizeof buf - parser.get().body().size;
      if (got > 0) {
        std::lock_guard l(state->mu);
        state->data.append(buf, got);
        state->cv.notify_all();
      }
      if (ec == http::error::need_buffer) continue;
      if (ec) {
        end = IoError(ec, "read from");
        break;
      }
    }
    state->conn = nullptr;
    bool clean = parser.is_done() && end.ok();
    {
      std::lock_guard l(state->mu);
      if (!state->closed && !clean) state->error = end.ok() ? InternalError("stream ended") : end;
      state->ended = true;
      state->cv.notify_all();
    }
    if (clean && parser.keep_alive() && !parser.need_eof()) GiveBack(std::move(conn));
  }

 private:
  asio::io_context ioc_;  // first: destroyed last, after every connection
  HttpTransportOptions options_;
  ServerAddress address_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::unique_ptr<Connection>> idle_;  // I/O thread only
  std::thread thread_;
};

class HttpStream final : public ResponseStream {
 public:
  HttpStream(std::shared_ptr<HttpCore> core, std::shared_ptr<StreamState> state)
      : core_(std::move(core)), state_(std::move(state)) {}
  ~HttpStream() override { Close(); }

  int status() const override { return state_->status; }
  const std::string& content_type() const override { return state_->content_type; }
  const Headers& headers() const override { return state_->headers; }

  Result<bool> Read(std::string* out) override {
    std::unique_lock l(state_->mu);
    state_->cv.wait(l, [&] { return !state_->data.empty() || state_->ended || state_->closed; });
    if (state_->closed) return false;
    if (!state_->data.empty()) {
      bool was_full = state_->data.size() > kStreamBufferLimit;
      out->append(state_->data);
      state_->data.clear();
      if (was_full) {
        asio::post(core_->ioc(), [s = state_] {
          if (s->paused && s->resume) s->resume->cancel();
        });
      }
      return true;
    }
    if (!state_->error.ok()) return state_->error;
    return false;
  }

  void Close() override {
    {
      std::lock_guard l(state_->mu);
      if (state_->closed) return;
      state_->closed = true;
      state_->cv.notify_all();
    }
    asio::post(core_->ioc(), [s = state_] {
      if (s->paused && s->resume) s->resume->cancel();
      if (s->conn != nullptr) {
        boost::system::error_code ec;
        s->conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        s->conn->stream.socket().close(ec);
      }
    });
  }

 private:
  std::shared_ptr<HttpCore> core_;
  std::shared_ptr<StreamState> state_;
};

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(std::shared_ptr<HttpCore> core) : core_(std::move(core)) {}

  Result<api::HttpResponse> RoundTrip(const api::HttpRequest& request) override {
    auto done = std::make_shared<std::promise<Result<api::HttpResponse>>>();
    auto f = done->get_future();
    asio::co_spawn(core_->ioc(), core_->DoRoundTrip(request, done), asio::detached);
    return f.get();
  }

  Result<std::unique_ptr<ResponseStream>> OpenStream(const api::HttpRequest& request) override {
    auto state = std::make_shared<StreamState>();
    auto done = std::make_shared<std::promise<Status>>();
    auto f = done->get_future();
    asio::co_spawn(core_->ioc(), core_->DoStream(request, state, done), asio::detached);
    Status st = f.get();
    if (!st.ok()) return st;
    return std::unique_ptr<ResponseStream>(std::make_unique<HttpStream>(core_, std::move(state)));
  }

  std::string Describe() const override { return core_->options().server; }

 private:
  std::shared_ptr<HttpCore> core_;
};

}  // namespace

Result<std::unique_ptr<Transport>> NewHttpTransport(const HttpTransportOptions& options) {
  auto address = ParseServer(options.server);
  if (!address.ok()) return address.status();
  auto core = std::make_shared<HttpCore>(options, std::move(*address));
  return std::unique_ptr<Transport>(std::make_unique<HttpTransport>(std::move(core)));
}

}  // namespace keelson::client
