#include "apiserver/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <variant>

namespace keelson::apiserver {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(use_awaitable);

// What a handler has queued for the connection coroutine to write.
struct StartPiece {
  int status;
  std::string content_type;
};
struct ChunkPiece {
  std::string data;
};
struct EndPiece {};
struct HijackPiece {
  std::function<void(HijackedConnection)> take;
};
using Piece = std::variant<HttpResponse, StartPiece, ChunkPiece, EndPiece, HijackPiece>;

// How an exchange ended for its connection.
enum class ExchangeEnd { kContinue, kClose, kHijacked };

class ExchangeImpl final : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  explicit ExchangeImpl(asio::any_io_executor ex) : executor_(ex), signal_(ex) {}

  void Respond(HttpResponse response) override { Push(Piece(std::move(response))); }
  void StartStream(int status, std::string content_type) override {
    Push(Piece(StartPiece{status, std::move(content_type)}));
  }
  bool Write(std::string data) override {
    if (closed_.load()) return false;
    backlog_ += data.size();
    Push(Piece(ChunkPiece{std::move(data)}));
    return !closed_.load();
  }
  void EndStream() override { Push(Piece(EndPiece{})); }
  void Hijack(std::function<void(HijackedConnection)> take) override {
    Push(Piece(HijackPiece{std::move(take)}));
  }
  size_t Backlog() const override { return backlog_.load(); }
  void OnClose(std::function<void()> fn) override {
    bool run_now = false;
    {
      std::lock_guard l(mu_);
      if (closed_.load()) {
        run_now = true;
      } else {
        on_close_ = std::move(fn);
      }
    }
    if (run_now && fn) fn();
  }

  // Connection side (on the connection's strand).
  // Waits until something is queued, then takes it all.
  awaitable<std::deque<Piece>> Take() {
    while (true) {
      {
        std::lock_guard l(mu_);
        if (!pieces_.empty()) {
          std::deque<Piece> out;
          out.swap(pieces_);
          co_return out;
        }
      }
      // Woken by Push() through the strand; the bounded wait is a safety net so that a
      // wake-up that raced past us costs a second, not a hung response.
      signal_.expires_after(std::chrono::seconds(1));
      co_await signal_.async_wait(kAsTuple);
    }
  }
  void Wrote(size_t n) { backlog_ -= n; }
  void Close() {
    std::function<void()> fn;
    {
      std::lock_guard l(mu_);
      if (closed_.exchange(true)) return;
      fn = std::move(on_close_);
    }
    if (fn) fn();
  }
  bool closed() const { return closed_.load(); }

 private:
  void Push(Piece p) {
    {
      std::lock_guard l(mu_);
      pieces_.push_back(std::move(p));
    }
    // Wake the connection coroutine on its own strand (see Take()).
    asio::post(executor_, [self = shared_from_this()] { self->signal_.cancel(); });
  }

  asio::any_io_executor executor_;
  asio::steady_timer signal_;  // used on the strand only
  std::mutex mu_;
  std::deque<Piece> pieces_;       // guarded by mu_
  std::function<void()> on_close_;  // guarded by mu_
  std::atomic<bool> closed_{false};
  std::atomic<size_t> backlog_{0};
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kReadBufferLimit = 1 << 20;

void ConfigureParser(http::request_parser<http::string_body>* parser,
                     const HttpServerOptions& opts) {
  parser->body_limit(opts.body_limit);
  parser->header_limit(kHeaderLimit);
}

HttpRequest ToHttpRequest(http::request<http::string_body> msg) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  auto qpos = req.target.find('?');
  req.path = PercentDecode(std::string_view(req.target).substr(0, qpos), false);
  if (qpos != std::string::npos) {
    req.query = ParseQuery(std::string_view(req.target).substr(qpos + 1));
  }
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(Trim(f.value())));
  }
  req.body = std::move(msg.body());
  return req;
}

HttpResponse StatusAnswer(int code, std::string_view reason, std::string_view message) {
  HttpResponse r;
  r.status = code;
  r.body = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
           "\"message\":\"" + std::string(message) + "\",\"reason\":\"" + std::string(reason) +
           "\",\"code\":" + std::to_string(code) + "}";
  return r;
}

// The answer to a request the parser refused, or nullopt when there is none to give (the
// client closed the connection or went quiet).
std::optional<HttpResponse> Refusal(const boost::system::error_code& ec,
                                    const HttpServerOptions& opts) {
  if (ec == http::error::body_limit) {
    return StatusAnswer(413, "RequestEntityTooLarge",
                        "the request body is too large (limit " +
                            std::to_string(opts.body_limit) + " bytes, --max-request-bytes)");
  }
  if (ec == http::error::buffer_overflow) {
    return StatusAnswer(400, "BadRequest",
                        "malformed HTTP request: a line longer than " +
                            std::to_string(kReadBufferLimit) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return StatusAnswer(431, "RequestHeaderFieldsTooLarge",
                        "the request line and headers are too large (limit " +
                            std::to_string(kHeaderLimit) + " bytes)");
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message &&
      ec != http::error::need_more && ec != http::error::need_buffer) {
    return StatusAnswer(400, "BadRequest", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpServerOptions& o, Handler* h)
      : opts_(o), handler_(h), ioc_(o.threads), acceptor_(ioc_) {}
  ~HttpServerImpl() override { Stop(); }

  Status Listen() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opts_.bind_address, ec);
    if (ec) return InvalidArgumentError("bad bind address '" + opts_.bind_address + "'");
    tcp::endpoint ep(addr, static_cast<unsigned short>(opts_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return UnavailableError("listen on " + opts_.bind_address + ":" +
                              std::to_string(opts_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    for (int i = 0; i < std::max(1, opts_.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return Status::Ok();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    {
      std::lock_guard l(mu_);
      for (auto* s : sockets_) {
        boost::system::error_code ec;
        s->socket().shutdown(tcp::socket::shutdown_both, ec);
      }
      for (auto& ex : exchanges_) {
        if (auto p = ex.lock()) p->Close();
      }
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  awaitable<void> Accept() {
    while (true) {
      auto [ec, sock] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kAsTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped_.load()) co_return;
        // Out of descriptors (or another failure that would repeat at once): wait a little
        // instead of spinning, so that connections closing free some.
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(50));
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      // One strand per connection: the session coroutine and every wake-up posted to it by
      // an Exchange run on it, one at a time.
      auto strand = sock.get_executor();
      asio::co_spawn(strand, Session(std::move(sock), strand), asio::detached);
    }
  }

  awaitable<void> Session(tcp::socket sock, asio::any_io_executor strand) {
    beast::tcp_stream stream(std::move(sock));
    {
      std::lock_guard l(mu_);
      sockets_.insert(&stream);
    }
    // What is read but not yet parsed stays within a bound: a header must fit in it whole,
    // and a chunk-size line that never ends must not grow it until the timeout.
    beast::flat_buffer buf(kReadBufferLimit);
    while (!stopped_.load()) {
      http::request_parser<http::string_body> parser;
      ConfigureParser(&parser, opts_);
      stream.expires_after(buf.size() > 0 ? opts_.header_timeout : opts_.idle_timeout);
      auto [ec, n] = co_await http::async_read(stream, buf, parser, kAsTuple);
      if (ec) {
        // A request the server refuses gets its answer before the connection closes; a
        // client that went away or timed out gets nothing.
        if (auto refusal = Refusal(ec, opts_)) {
          stream.expires_after(std::chrono::seconds(5));
          co_await WriteResponse(stream, std::move(*refusal), false);
          co_await Linger(stream);
        }
        break;
      }
      bool keep_alive = parser.get().keep_alive();
      HttpRequest req = ToHttpRequest(parser.release());

      auto ex = std::make_shared<ExchangeImpl>(strand);
      {
        std::lock_guard l(mu_);
        std::erase_if(exchanges_, [](const auto& w) { return w.expired(); });
        exchanges_.push_back(ex);
      }
      handler_->Serve(std::move(req), ex);
      stream.expires_never();
      std::function<void(HijackedConnection)> take;
      ExchangeEnd end = co_await WriteExchange(stream, *ex, keep_alive, &take);
      ex->Close();
      if (end == ExchangeEnd::kHijacked) {
        // The socket leaves the server: the taker owns it, with what was read past the request.
        HijackedConnection conn;
        auto data = buf.data();
        conn.unread.assign(static_cast<const char*>(data.data()), data.size());
        boost::system::error_code rec;
        conn.fd = stream.socket().release(rec);
        if (rec) conn.fd = -1;
        {
          std::lock_guard l(mu_);
          sockets_.erase(&stream);
        }
        take(std::move(conn));
        co_return;
      }
      if (end != ExchangeEnd::kContinue || !keep_alive) break;
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::lock_guard l(mu_);
    sockets_.erase(&stream);
  }

  // Writes what the handler answers; a hijack hands `take` back to the caller.
  awaitable<ExchangeEnd> WriteExchange(beast::tcp_stream& stream, ExchangeImpl& ex,
                                       bool keep_alive,
                                       std::function<void(HijackedConnection)>* take) {
    auto end = [](bool ok) { return ok ? ExchangeEnd::kContinue : ExchangeEnd::kClose; };
    bool streaming = false;
    while (true) {
      auto pieces = co_await ex.Take();
      for (auto& p : pieces) {
        if (auto* h = std::get_if<HijackPiece>(&p)) {
          if (streaming) {
            h->take({});
            co_return ExchangeEnd::kClose;
          }
          *take = std::move(h->take);
          co_return ExchangeEnd::kHijacked;
        }
        if (auto* r = std::get_if<HttpResponse>(&p)) {
          http::response<http::string_body> res(static_cast<http::status>(r->status), 11);
          res.set(http::field::content_type, r->content_type);
          for (const auto& [k, v] : r->headers) res.insert(k, v);
          res.keep_alive(keep_alive);
          res.body() = std::move(r->body);
          res.prepare_payload();
          auto [ec, n] = co_await http::async_write(stream, res, kAsTuple);
          co_return end(!ec);
        }
        if (auto* s = std::get_if<StartPiece>(&p)) {
          http::response<http::empty_body> res(static_cast<http::status>(s->status), 11);
          res.set(http::field::content_type, s->content_type);
          res.set(http::field::transfer_encoding, "chunked");
          res.keep_alive(keep_alive);
          http::response_serializer<http::empty_body> sr(res);
          auto [ec, n] = co_await http::async_write_header(stream, sr, kAsTuple);
          if (ec) co_return ExchangeEnd::kClose;
          streaming = true;
        } else if (auto* c = std::get_if<ChunkPiece>(&p)) {
          if (!streaming || c->data.empty()) continue;
          auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(c->data)),
                                                    kAsTuple);
          ex.Wrote(c->data.size());
          if (ec) co_return ExchangeEnd::kClose;
        } else if (std::holds_alternative<EndPiece>(p)) {
          if (!streaming) co_return ExchangeEnd::kClose;
          auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), kAsTuple);
          co_return end(!ec);
        }
      }
    }
  }

  awaitable<void> WriteResponse(beast::tcp_stream& stream, HttpResponse r, bool keep_alive) {
    http::response<http::string_body> res(static_cast<http::status>(r.status), 11);
    res.set(http::field::content_type, r.content_type);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    co_await http::async_write(stream, res, kAsTuple);
  }

  // After refusing a request whose body may still be on its way: stop sending, then read and
  // drop what the client still sends for a moment, so that closing does not reset the
  // connection (which would throw the answer away at the client) before it has read it.
  awaitable<void> Linger(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::seconds(2));
    std::vector<char> sink(64 * 1024);
    size_t left = 2 * opts_.body_limit + (1 << 20);
    while (left > 0) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), kAsTuple);
      if (rec) break;
      left -= std::min(left, n);
    }
  }

  HttpServerOptions opts_;
  Handler* handler_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::set<beast::tcp_stream*> sockets_;             // guarded by mu_
  std::vector<std::weak_ptr<ExchangeImpl>> exchanges_;  // guarded by mu_
};

}  // namespace

std::vector<ParsedRequest> ParseHttpRequests(std::string_view bytes,
                                             const HttpServerOptions& options) {
  std::vector<ParsedRequest> out;
  while (!bytes.empty()) {
    http::request_parser<http::string_body> parser;
    ConfigureParser(&parser, options);
    parser.eager(true);
    boost::system::error_code ec;
    while (!parser.is_done()) {
      size_t used = parser.put(asio::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      if (ec && ec != http::error::need_more) break;
      ec = {};
      if (used > 0 && !bytes.empty()) continue;
      // Nothing more to read: the connection ends here.
      parser.put_eof(ec);
      if (!ec && !parser.is_done()) return out;
      if (ec == http::error::partial_message) return out;
      break;
    }
    if (ec) {
      ParsedRequest refused;
      if (auto r = Refusal(ec, options)) refused.status = r->status;
      if (refused.status != 0) out.push_back(std::move(refused));
      return out;
    }
    ParsedRequest ok;
    ok.keep_alive = parser.get().keep_alive();
    ok.request = ToHttpRequest(parser.release());
    out.push_back(std::move(ok));
    if (!out.back().keep_alive) break;
  }
  return out;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler* handler) {
  auto s = std::make_unique<HttpServerImpl>(options, handler);
  KEELSON_RETURN_IF_ERROR(s->Listen());
  return std::unique_ptr<HttpServer>(std::move(s));
}

}  // namespace keelson::apiserver
