// HttpServer: HTTP/1.1 with keep-alive and chunked streaming, on Boost.Beast and Asio
// coroutines. This header is free of Boost; only http_server.cc includes it.
//
// Each connection is one coroutine on its own strand: read a request (header timeout, body
// limit), hand it to the Handler, write what the handler answers through the Exchange, and go
// on with the next request on the same connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/http.h"
#include "common/status.h"

namespace keelson::apiserver {

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: any free port
  int threads = 2;
  // A larger body is answered 413 RequestEntityTooLarge (whether sent with Content-Length or
  // chunked) and the connection closed once the answer is written (--max-request-bytes).
  size_t body_limit = 3 << 20;  // 3 MiB, as kube-apiserver
  std::chrono::seconds header_timeout{60};
  std::chrono::seconds idle_timeout{120};
};

class HttpServer {
 public:
  // Binds and starts serving `handler` (which must outlive the server). Errors: Unavailable
  // when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler* handler);
  virtual ~HttpServer() = default;
  virtual int port() const = 0;
  // Stops accepting, closes open streams and connections, and joins the threads.
  virtual void Stop() = 0;
};

// One request as the server's parser reads it off a connection, or its refusal.
struct ParsedRequest {
  int status = 0;  // 0: parsed; else what the connection answers before closing: 400
                   // (malformed), 413 (body over the limit), 431 (headers over 64 KiB)
  HttpRequest request;
  bool keep_alive = false;
};

// Reads `bytes` as a connection would, with the same parser settings: each complete request
// in turn (the next one only while the previous keeps the connection alive), then a refusal
// if the parser refused the rest. Bytes that end in the middle of a request yield nothing
// more (the connection would wait for the rest). For tests and fuzzing.
std::vector<ParsedRequest> ParseHttpRequests(std::string_view bytes,
                                             const HttpServerOptions& options);

}  // namespace keelson::apiserver
