// StreamProxy: forwards a request to another HTTP server and its answer back through an
// Exchange, for the streaming subresources: the API server forwards pods/log, exec, attach
// and portforward to the node's kubelet, and the kubelet forwards exec, attach and
// port-forward sessions to the container runtime's streaming server.
//
//   - Forward(): a plain request (GET containerLogs); a 200 answer is streamed chunk by
//     chunk as it arrives (`logs -f`), any other answer is relayed whole (up to 1 MiB).
//   - ForwardUpgrade(): an upgrade request (SPDY/3.1 or WebSocket); the backend's 101 is
//     written to the client's connection, taken over through Exchange::Hijack, and from then
//     on bytes are copied both ways, a half-close on one side passed on to the other, until
//     both sides are done. A backend that refuses the upgrade has its answer relayed.
//
//   - ForwardTranslated(): a WebSocket upgrade whose protocol the backend does not speak; the
//     backend is asked for SPDY/3.1 (POST, with the translator's X-Stream-Protocol-Version)
//     and, once it agrees, the client gets its WebSocket 101 and the session is carried
//     through the translator (stream_translator.h).
//
// A backend that cannot be reached is answered 503 ServiceUnavailable (a Status whose message
// names the backend and the cause); one that does not answer within the options' timeouts is
// answered 504.
//
// This header is free of Boost; stream_proxy.cc owns an io_context and its threads.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "apiserver/http.h"

namespace keelson::apiserver {

class StreamTranslator;

struct ProxyTarget {
  std::string host;  // an address or a name
  int port = 0;
  std::string target;  // the path and query sent to the backend
  // Sent besides what is forwarded from the request (Authorization, ...).
  std::vector<std::pair<std::string, std::string>> headers;
};

struct StreamProxyOptions {
  int threads = 2;
  std::chrono::seconds connect_timeout{10};
  // How long the backend may take to send its answer's status line and headers.
  std::chrono::seconds response_timeout{60};
};

class StreamProxy {
 public:
  static std::unique_ptr<StreamProxy> Create(StreamProxyOptions options = {});
  virtual ~StreamProxy() = default;

  // GET `target`; the request's method is not forwarded (the answer is what a GET gives).
  virtual void Forward(ProxyTarget target, std::shared_ptr<Exchange> ex) = 0;
  // Forwards `req` (its method, and the upgrade headers: Connection, Upgrade,
  // X-Stream-Protocol-Version, Sec-WebSocket-*) to `target`.
  virtual void ForwardUpgrade(ProxyTarget target, const HttpRequest& req,
                              std::shared_ptr<Exchange> ex) = 0;
  // The client's Sec-WebSocket-Key is answered; `req` is the client's request.
  virtual void ForwardTranslated(ProxyTarget target, const HttpRequest& req,
                                 std::shared_ptr<Exchange> ex,
                                 std::shared_ptr<StreamTranslator> translator) = 0;
  // Sessions open now (upgraded connections being copied, and streams being forwarded).
  virtual int OpenSessions() const = 0;
  // Closes every session and joins the threads.
  virtual void Stop() = 0;
};

// A Kubernetes Status answer (kind Status, apiVersion v1) with `code`, `reason` and `message`.
HttpResponse StatusResponse(int code, std::string_view reason, std::string_view message);

// Whether `req` asks for a protocol upgrade (Connection: Upgrade and an Upgrade header).
bool IsUpgradeRequest(const HttpRequest& req);
// Whether `req` asks for a WebSocket upgrade.
bool IsWebSocketRequest(const HttpRequest& req);
// The values of every header line named `lowercase_name`, each split at commas and trimmed:
// what a client offers in X-Stream-Protocol-Version or Sec-WebSocket-Protocol.
std::vector<std::string> HeaderValues(const HttpRequest& req, std::string_view lowercase_name);

}  // namespace keelson::apiserver
