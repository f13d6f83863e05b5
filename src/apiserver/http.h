// The HTTP surface the API server's handlers see: the request/response values of api/http.h
// and an Exchange to answer through, so that no handler includes Boost.Beast or Asio.
//
// Thread-safety: an Exchange may be used from any thread; the server serialises its writes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http.h"

namespace keelson::apiserver {

using api::HttpRequest;
using api::HttpResponse;

// A connection handed over by the server after a protocol upgrade (exec, attach,
// port-forward): its socket, and the bytes the server had read past the request.
struct HijackedConnection {
  int fd = -1;  // -1: the exchange could not hand its connection over
  std::string unread;
};

// One request's answer: either one Respond(), or StartStream() followed by any number of
// Write()s and one EndStream() (sent with chunked transfer encoding).
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void Respond(HttpResponse response) = 0;
  virtual void StartStream(int status, std::string content_type) = 0;
  // Queues `data` as one chunk. Returns false once the client has gone away.
  virtual bool Write(std::string data) = 0;
  virtual void EndStream() = 0;
  // Bytes queued and not yet written to the socket: lets a producer notice a slow client.
  virtual size_t Backlog() const = 0;
  // Called once, from any thread, when the client goes away or the server stops while the
  // exchange is still open (a watch uses it to stop).
  virtual void OnClose(std::function<void()> fn) = 0;
  // Takes the connection over, instead of answering: the server stops reading and writing it
  // and calls `take` once (on a server thread; it must not block), which owns the socket from
  // then on and speaks the upgraded protocol, the 101 answer included. An exchange that has
  // no connection to give (in-process, or one that already answered) calls `take` with fd -1.
  virtual void Hijack(std::function<void(HijackedConnection)> take) { take({}); }
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on a server thread; must not block for long (hand slow work to other threads
  // and answer through `ex` later).
  virtual void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) = 0;
};

using api::ParseQuery;
using api::PercentDecode;

}  // namespace keelson::apiserver
