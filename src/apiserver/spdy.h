// SPDY/3.1 framing, the client's side: what the API server needs to speak the streaming
// protocols (exec, attach: v4.channel.k8s.io) to a kubelet over SPDY/3.1 while its own
// client speaks WebSocket (stream_translator.h).
//
// Frames (all integers big-endian):
//   control: 1 | version 3 (15 bits) | type (16) | flags (8) | length (24) | payload
//   data:    0 | stream id (31)               | flags (8) | length (24) | data
// Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are a count and length-prefixed names and
// values (32-bit each), compressed with zlib using the protocol's fixed dictionary, one
// compression context per direction for the whole connection.
//
// Flow control: the peers Kubernetes uses neither send WINDOW_UPDATE nor honour it, so
// windows are not enforced here; WINDOW_UPDATE and SETTINGS frames are read and ignored.
//
// Free of Boost and of sockets. Not thread-safe; one per connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keelson::apiserver {

using SpdyHeaders = std::vector<std::pair<std::string, std::string>>;

enum class SpdyType : uint16_t {
  kData = 0,  // not a control frame
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr uint8_t kSpdyFlagFin = 0x01;

struct SpdyFrame {
  SpdyType type = SpdyType::kData;
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // data, SYN_*, RST_STREAM, HEADERS, WINDOW_UPDATE; PING's id
  uint32_t status = 0;     // RST_STREAM's and GOAWAY's status
  std::string data;        // a data frame's bytes
  SpdyHeaders headers;     // SYN_STREAM, SYN_REPLY, HEADERS (names lower case)
};

// The zlib dictionary header blocks are compressed with (SPDY/3, section 2.6.10.1).
const std::string& SpdyDictionary();

class SpdyCodec {
 public:
  SpdyCodec();
  ~SpdyCodec();
  SpdyCodec(const SpdyCodec&) = delete;
  SpdyCodec& operator=(const SpdyCodec&) = delete;

  // Frames to send.
  std::string SynStream(uint32_t stream_id, const SpdyHeaders& headers, uint8_t flags = 0);
  std::string SynReply(uint32_t stream_id, const SpdyHeaders& headers, uint8_t flags = 0);
  static std::string Data(uint32_t stream_id, std::string_view data, uint8_t flags = 0);
  static std::string RstStream(uint32_t stream_id, uint32_t status);
  static std::string Ping(uint32_t id);
  static std::string GoAway(uint32_t last_good_stream_id, uint32_t status = 0);

  // Frames received.
  void Feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole frame; nullopt when more bytes are needed or on error (error() says what;
  // the connection is unusable after one).
  std::optional<SpdyFrame> Next();
  const std::string& error() const { return error_; }

 private:
  struct Zlib;
  std::string HeaderBlock(const SpdyHeaders& headers);
  bool ParseHeaderBlock(std::string_view compressed, SpdyHeaders* out);
  std::optional<SpdyFrame> Fail(std::string why);

  std::unique_ptr<Zlib> z_;
  std::string buf_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace keelson::apiserver
