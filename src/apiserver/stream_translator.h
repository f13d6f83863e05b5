// Stream translators: the API server speaks a newer streaming protocol with its client than
// the node can, and translates, as upstream's API server does (StreamTranslator for exec and
// attach, the port-forward tunnel):
//
//   - Exec/attach: the client speaks WebSocket with v5.channel.k8s.io (kubectl 1.30+); the
//     kubelet (that is, the runtime's streaming server) is asked for SPDY/3.1 with
//     v4.channel.k8s.io. Channels map to SPDY streams: 0 stdin, 1 stdout, 2 stderr, 3 error
//     (the exit Status), 4 resize; v5's close signal (channel 255, stream 0) half-closes the
//     stdin stream. When stdout, stderr and the error stream have ended, the Status goes to
//     the client on channel 3 and the WebSocket is closed (1000). SPDY PINGs go to the node
//     every tick, so that an idle session (`exec -it` waiting for input) is not taken for a
//     dead one; stdin held for a stream the node has not answered yet is bounded.
//   - Port-forward: the client speaks SPDY/3.1 tunnelled in WebSocket binary messages
//     (subprotocol SPDY/3.1+portforward.k8s.io, kubectl 1.31+); the kubelet is asked for
//     SPDY/3.1 with portforward.k8s.io, and the SPDY bytes are carried through unchanged.
//
// A translator is a state machine: bytes from either side in, bytes for either side out; the
// caller owns the sockets (stream_proxy.h). Free of Boost. Not thread-safe; one per session.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keelson::apiserver {

struct TranslatorOutput {
  std::string to_client;
  std::string to_backend;
  bool done = false;  // the session is over: write what is here, then close both sides
};

class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  // The WebSocket subprotocol agreed with the client.
  virtual std::string ClientProtocol() const = 0;
  // The values of X-Stream-Protocol-Version offered to the backend (Upgrade: SPDY/3.1).
  virtual std::vector<std::string> BackendProtocols() const = 0;
  // The bytes to send the backend once it agreed to the upgrade with `protocol` (its
  // X-Stream-Protocol-Version); an error message in `*refusal` if that cannot be spoken.
  virtual std::string Start(std::string_view protocol, std::string* refusal) = 0;
  virtual void FromClient(std::string_view bytes, TranslatorOutput* out) = 0;
  virtual void FromBackend(std::string_view bytes, TranslatorOutput* out) = 0;
  // The backend's connection ended (EOF or error).
  virtual void BackendEnded(TranslatorOutput* out) = 0;
  // Called every few seconds while the session lasts: what keeps an idle session alive.
  virtual void Tick(TranslatorOutput* out) { (void)out; }
};

struct ExecStreams {
  bool stdin_stream = false;
  bool stdout_stream = false;
  bool stderr_stream = false;  // not with a tty: its output is all on stdout
  bool tty = false;
};

// The subprotocols a client may offer for each translator.
inline constexpr std::string_view kExecV5Protocol = "v5.channel.k8s.io";
inline constexpr std::string_view kPortForwardTunnelProtocol = "SPDY/3.1+portforward.k8s.io";

std::unique_ptr<StreamTranslator> NewExecTranslator(ExecStreams streams);
std::unique_ptr<StreamTranslator> NewPortForwardTunnel();

}  // namespace keelson::apiserver
