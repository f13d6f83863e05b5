// The streaming translators (src/apiserver/stream_translator.h) and the WebSocket and SPDY
// framing under them: bytes from a client (WebSocket frames) and from a node (SPDY frames),
// in pieces of any size. Invariants: nothing crashes, hangs or reads out of bounds; what goes
// to the client is a sequence of whole, unmasked, final frames; a session that is over stays
// over; the WebSocket reader never yields a message over its limit.
#include <cstring>
#include <string>
#include <string_view>

#include "apiserver/stream_translator.h"
#include "apiserver/websocket.h"
#include "fuzz/fuzz_util.h"

using namespace keelson;
using namespace keelson::apiserver;

namespace {

// Checks `bytes` is whole server frames.
void CheckServerFrames(std::string_view bytes) {
  while (!bytes.empty()) {
    fuzz::Check(bytes.size() >= 2, "a truncated frame header to the client");
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    fuzz::Check((p[0] & 0x80) != 0 && (p[0] & 0x70) == 0, "a frame without FIN, or with RSV");
    fuzz::Check((p[1] & 0x80) == 0, "a masked frame to the client");
    uint64_t len = p[1] & 0x7F;
    size_t at = 2;
    if (len == 126) {
      fuzz::Check(bytes.size() >= 4, "a truncated length");
      len = (uint64_t{p[2]} << 8) | p[3];
      at = 4;
    } else if (len == 127) {
      fuzz::Check(bytes.size() >= 10, "a truncated length");
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      at = 10;
    }
    fuzz::Check(bytes.size() - at >= len, "a truncated frame to the client");
    bytes.remove_prefix(at + len);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  {
    WsReader reader(4096);
    reader.Feed(rest);
    while (auto m = reader.Next()) {
      fuzz::Check(m->payload.size() <= 4096, "a message over the reader's limit");
    }
  }

  auto t = (mode & 1) ? NewPortForwardTunnel()
                      : NewExecTranslator({.stdin_stream = (mode & 2) != 0,
                                           .stdout_stream = (mode & 4) != 0,
                                           .stderr_stream = (mode & 8) != 0,
                                           .tty = (mode & 16) != 0});
  std::string refusal;
  t->Start((mode & 1) ? "portforward.k8s.io" : "v4.channel.k8s.io", &refusal);
  fuzz::Check(refusal.empty(), "the protocol asked for was refused", refusal);
  // Pieces: a length byte, then that many bytes, to the client side or the node side by the
  // top bit of the length byte.
  bool done = false;
  while (!rest.empty()) {
    const uint8_t n = static_cast<uint8_t>(rest[0]);
    rest.remove_prefix(1);
    std::string_view piece = rest.substr(0, n & 0x7F);
    rest.remove_prefix(piece.size());
    TranslatorOutput out;
    (n & 0x80) ? t->FromBackend(piece, &out) : t->FromClient(piece, &out);
    CheckServerFrames(out.to_client);
    if (done) {
      fuzz::Check(out.to_client.empty() && out.to_backend.empty() && !out.done,
                  "a session spoke after its end");
    }
    done = done || out.done;
  }
  TranslatorOutput end;
  t->BackendEnded(&end);
  CheckServerFrames(end.to_client);
  if (done) fuzz::Check(end.to_client.empty() && !end.done, "a session ended twice");
  return 0;
}
