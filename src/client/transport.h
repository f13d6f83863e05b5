// Transport: how the client library's requests reach the API server. One interface, two
// implementations with the same semantics:
//
// - NewHttpTransport: HTTP/1.1 to a server address over keep-alive connections (a pool of
//   idle connections; a watch holds a connection of its own). Boost.Beast and Asio live in
//   http_transport.cc only; this header is free of them.
// - NewInProcessTransport: hands each request to an apiserver::Handler (the ApiServer) in
//   this process through an Exchange adapter: the same requests, headers, status codes,
//   bodies and chunked streams as over a socket, without one. Components that share a process
//   with the API server use it; they still go through the server's router, authentication,
//   admission and watch cache, never the store.
//
// A transport does not interpret answers: an HTTP error status is a response, not an error.
// Errors are failures to exchange at all:
//   Unavailable       the request did not reach the server (no connection could be made);
//                     sending it again is safe whatever its verb
//   Internal          the connection broke after the request was written (the server may
//                     have acted on it)
//   DeadlineExceeded  no complete answer within the timeout
//   InvalidArgument   a request or server address that cannot be used
//   Unimplemented     an https:// server (TLS connections are not implemented yet)
//
// Thread-safety: every method may be called from any number of threads at once. A transport
// must outlive the calls in progress on it; a ResponseStream keeps what it needs alive.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "common/status.h"

namespace keelson::apiserver {
class Handler;
}

namespace keelson::client {

// The body of a streamed answer (a watch), as it arrives. Owned by the caller.
//
// Thread-safety: Read() from one thread at a time; Close() from any thread, also while
// another thread is in Read().
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;  // Close()

  // The response head.
  virtual int status() const = 0;
  virtual const std::string& content_type() const = 0;
  virtual const std::vector<std::pair<std::string, std::string>>& headers() const = 0;

  // Blocks until more of the body has arrived and appends it to `out`. Returns true when
  // bytes were appended, false once the body has ended (or the stream was closed). Errors:
  // Internal when the connection broke before the end of the body.
  virtual Result<bool> Read(std::string* out) = 0;

  // Ends the exchange: a Read() in progress returns false, the server sees the client go
  // away. Idempotent.
  virtual void Close() = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends `request` (method, target = path and query, headers, body; path and query are
  // derived from target) and returns the complete answer. A streamed answer is gathered.
  virtual Result<api::HttpResponse> RoundTrip(const api::HttpRequest& request) = 0;

  // Sends `request` and returns once the response head has arrived; the body is read from
  // the stream. For watches.
  virtual Result<std::unique_ptr<ResponseStream>> OpenStream(const api::HttpRequest& request) = 0;

  // Where requests go, for messages ("http://127.0.0.1:6443", "in-process").
  virtual std::string Describe() const = 0;
};

struct HttpTransportOptions {
  // "http://host:port" (a trailing slash and a path prefix are allowed: requests are sent
  // under it). https:// gives Unimplemented until TLS lands.
  std::string server;
  // Connecting: when a connection is not established within it, Unavailable.
  std::chrono::milliseconds connect_timeout{30000};
  // The longest a request may take to be answered completely, or a stream to answer its
  // head; zero for no limit. A stream's body has none (watches end by their timeoutSeconds).
  std::chrono::milliseconds timeout{0};
  // Idle keep-alive connections kept for reuse. (One thread runs every connection's I/O;
  // decoding happens on the callers' threads.)
  size_t max_idle_connections = 32;
};

// Errors: InvalidArgument for a server address that cannot be parsed, Unimplemented for
// https://.
Result<std::unique_ptr<Transport>> NewHttpTransport(const HttpTransportOptions& options);

// `handler` (an apiserver::ApiServer) must outlive the transport and every stream it opened.
// A body over `body_limit` is answered 413 as the HTTP server answers it (its default limit is
// the same 3 MiB, kube-apiserver's).
std::unique_ptr<Transport> NewInProcessTransport(apiserver::Handler* handler,
                                                 size_t body_limit = 3 << 20);

}  // namespace keelson::client
