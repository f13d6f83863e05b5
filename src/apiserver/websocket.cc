#include "apiserver/websocket.h"

#include <openssl/sha.h>

#include "common/base64.h"

namespace keelson::apiserver {

std::string WebSocketAccept(std::string_view key) {
  // RFC 6455 section 4.2.2: SHA-1 of the key and the protocol's GUID, in base64.
  std::string input(key);
  input += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string WsFrame(WsOpcode opcode, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(opcode)));
  const uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  out.append(payload);
  return out;
}

std::string WsCloseFrame(uint16_t code, std::string_view reason) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code));
  payload.append(reason.substr(0, 123));
  return WsFrame(WsOpcode::kClose, payload);
}

std::optional<WsMessage> WsReader::Fail(std::string why, uint16_t code) {
  if (error_.empty()) {
    error_ = std::move(why);
    error_code_ = code;
  }
  return std::nullopt;
}

std::optional<WsMessage> WsReader::Next() {
  while (error_.empty()) {
    const size_t avail = buf_.size() - pos_;
    if (avail < 2) break;
    const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
    const bool fin = (p[0] & 0x80) != 0;
    if ((p[0] & 0x70) != 0) return Fail("reserved bits set in a frame");
    const uint8_t op = p[0] & 0x0F;
    const bool masked = (p[1] & 0x80) != 0;
    if (!masked) return Fail("a client's frame is not masked");
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
      if (len >> 63) return Fail("a frame length with its top bit set");
    }
    const bool control = (op & 0x8) != 0;
    if (control) {
      if (op != 0x8 && op != 0x9 && op != 0xA) return Fail("unknown control opcode");
      if (!fin || len > 125) return Fail("a control frame fragmented or over 125 bytes");
    } else if (op != 0x0 && op != 0x1 && op != 0x2) {
      return Fail("unknown data opcode");
    }
    const size_t so_far = control ? 0 : partial_.size();
    if (len > max_message_ || so_far + len > max_message_) {
      return Fail("a message over " + std::to_string(max_message_) + " bytes", 1009);
    }
    if (avail < header + 4 + len) break;
    const uint8_t* mask = p + header;
    std::string payload(reinterpret_cast<const char*>(mask + 4), static_cast<size_t>(len));
    for (size_t i = 0; i < payload.size(); ++i)
      payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    pos_ += header + 4 + len;
    if (pos_ > 64 * 1024 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    if (control) return WsMessage{static_cast<WsOpcode>(op), std::move(payload)};
    if (op == 0x0) {
      if (!partial_opcode_) return Fail("a continuation frame without a message to continue");
      partial_ += payload;
    } else {
      if (partial_opcode_) return Fail("a new message before the last one's final fragment");
      partial_opcode_ = static_cast<WsOpcode>(op);
      partial_ = std::move(payload);
    }
    if (fin) {
      WsMessage m{*partial_opcode_, std::move(partial_)};
      partial_opcode_.reset();
      partial_.clear();
      return m;
    }
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::nullopt;
}

}  // namespace keelson::apiserver
