// The server's side of the WebSocket protocol (RFC 6455), for the streaming subresources the
// API server speaks itself (stream_translator.h): the handshake answer, and frames read from
// a client and written to it.
//
// Free of Boost and of sockets: bytes in, messages out. Not thread-safe; one per connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keelson::apiserver {

// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key.
std::string WebSocketAccept(std::string_view key);

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// One frame as a server sends it: FIN set, unmasked.
std::string WsFrame(WsOpcode opcode, std::string_view payload);
// A close frame with a status code (1000: normal closure) and a reason.
std::string WsCloseFrame(uint16_t code, std::string_view reason = {});

struct WsMessage {
  WsOpcode opcode = WsOpcode::kBinary;  // kText, kBinary, kClose, kPing or kPong
  std::string payload;                  // a data message's fragments joined
};

// Reads what a client sends: masked frames, data messages possibly fragmented, control frames
// (which may come between fragments). A protocol violation (an unmasked frame, reserved bits,
// an unknown opcode, a fragmented or oversized control frame, a continuation without a start,
// a message over the limit) is an error, after which the connection must be closed (with
// code 1002, or 1009 for the size).
class WsReader {
 public:
  explicit WsReader(size_t max_message = 16 << 20) : max_message_(max_message) {}

  void Feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole message, or nullopt when more bytes are needed or on error (see error()).
  std::optional<WsMessage> Next();
  const std::string& error() const { return error_; }
  // The close code the error calls for.
  uint16_t error_code() const { return error_code_; }

 private:
  std::optional<WsMessage> Fail(std::string why, uint16_t code = 1002);

  size_t max_message_;
  std::string buf_;
  size_t pos_ = 0;
  std::optional<WsOpcode> partial_opcode_;  // a data message whose final fragment is to come
  std::string partial_;
  std::string error_;
  uint16_t error_code_ = 0;
};

}  // namespace keelson::apiserver
