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

#include "apiserver/http.h"
#include "common/status.h"

namespace keelson::apiserver {

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: any free port
  int threads = 2;
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

}  // namespace keelson::apiserver
