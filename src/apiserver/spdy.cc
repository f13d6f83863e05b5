#include "apiserver/spdy.h"

#include <zlib.h>

#include <array>

namespace keelson::apiserver {
namespace {

constexpr uint16_t kVersion = 3;
// A header block bigger than this, compressed or not, is refused (a peer's mistake or worse).
constexpr size_t kMaxHeaderBlock = 1 << 20;
// A frame's payload may be up to 2^24 - 1 bytes.
constexpr size_t kMaxFramePayload = (1 << 24) - 1;

void Put32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint32_t Get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::string ControlHeader(SpdyType type, uint8_t flags, size_t length) {
  std::string out;
  out.push_back(static_cast<char>(0x80 | (kVersion >> 8)));
  out.push_back(static_cast<char>(kVersion & 0xFF));
  out.push_back(static_cast<char>(static_cast<uint16_t>(type) >> 8));
  out.push_back(static_cast<char>(static_cast<uint16_t>(type) & 0xFF));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  return out;
}

}  // namespace

const std::string& SpdyDictionary() {
  // Length-prefixed words, then a run of text (the protocol's definition, 1,423 bytes).
  static const std::string dict = [] {
    static constexpr std::array<std::string_view, 65> kWords = {
        "options",
        "head",
        "post",
        "put",
        "delete",
        "trace",
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "accept-ranges",
        "age",
        "allow",
        "authorization",
        "cache-control",
        "connection",
        "content-base",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "date",
        "etag",
        "expect",
        "expires",
        "from",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "pragma",
        "proxy-authenticate",
        "proxy-authorization",
        "range",
        "referer",
        "retry-after",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "vary",
        "via",
        "warning",
        "www-authenticate",
        "method",
        "get",
        "status",
        "200 OK",
        "version",
        "HTTP/1.1",
        "url",
        "public",
        "set-cookie",
        "keep-alive",
        "origin",
    };
    std::string d;
    for (auto w : kWords) {
      Put32(&d, static_cast<uint32_t>(w.size()));
      d.append(w);
    }
    d +=
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504"
        "505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
        "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 "
        "Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, "
        "Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/"
        "xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,"
        "sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
    return d;
  }();
  return dict;
}

struct SpdyCodec::Zlib {
  z_stream deflate{};
  z_stream inflate{};
  bool deflate_ok = false;
  bool inflate_ok = false;
  ~Zlib() {
    if (deflate_ok) deflateEnd(&deflate);
    if (inflate_ok) inflateEnd(&inflate);
  }
};

SpdyCodec::SpdyCodec() : z_(std::make_unique<Zlib>()) {
  const auto& dict = SpdyDictionary();
  z_->deflate_ok = deflateInit(&z_->deflate, Z_DEFAULT_COMPRESSION) == Z_OK &&
                   deflateSetDictionary(&z_->deflate, reinterpret_cast<const Bytef*>(dict.data()),
                                        static_cast<uInt>(dict.size())) == Z_OK;
  z_->inflate_ok = inflateInit(&z_->inflate) == Z_OK;
}

SpdyCodec::~SpdyCodec() = default;

std::string SpdyCodec::HeaderBlock(const SpdyHeaders& headers) {
  std::string plain;
  Put32(&plain, static_cast<uint32_t>(headers.size()));
  for (const auto& [k, v] : headers) {
    Put32(&plain, static_cast<uint32_t>(k.size()));
    plain += k;
    Put32(&plain, static_cast<uint32_t>(v.size()));
    plain += v;
  }
  std::string out;
  if (!z_->deflate_ok) return out;
  z_->deflate.next_in = reinterpret_cast<Bytef*>(plain.data());
  z_->deflate.avail_in = static_cast<uInt>(plain.size());
  char chunk[4096];
  do {
    z_->deflate.next_out = reinterpret_cast<Bytef*>(chunk);
    z_->deflate.avail_out = sizeof chunk;
    deflate(&z_->deflate, Z_SYNC_FLUSH);
    out.append(chunk, sizeof chunk - z_->deflate.avail_out);
  } while (z_->deflate.avail_out == 0);
  return out;
}

bool SpdyCodec::ParseHeaderBlock(std::string_view compressed, SpdyHeaders* out) {
  if (!z_->inflate_ok) return false;
  std::string plain;
  z_->inflate.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z_->inflate.avail_in = static_cast<uInt>(compressed.size());
  char chunk[4096];
  while (true) {
    z_->inflate.next_out = reinterpret_cast<Bytef*>(chunk);
    z_->inflate.avail_out = sizeof chunk;
    int rc = inflate(&z_->inflate, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const auto& dict = SpdyDictionary();
      if (inflateSetDictionary(&z_->inflate, reinterpret_cast<const Bytef*>(dict.data()),
                               static_cast<uInt>(dict.size())) != Z_OK) {
        return false;
      }
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    plain.append(chunk, sizeof chunk - z_->inflate.avail_out);
    if (plain.size() > kMaxHeaderBlock) return false;
    if (rc == Z_BUF_ERROR || (z_->inflate.avail_in == 0 && z_->inflate.avail_out != 0)) break;
  }
  auto* p = reinterpret_cast<const uint8_t*>(plain.data());
  size_t n = plain.size(), at = 0;
  auto take = [&](std::string* s) {
    if (n - at < 4) return false;
    uint32_t len = Get32(p + at);
    at += 4;
    if (n - at < len) return false;
    if (s) s->assign(plain, at, len);
    at += len;
    return true;
  };
  if (n < 4) return false;
  uint32_t count = Get32(p);
  at = 4;
  if (count > n / 8) return false;
  for (uint32_t i = 0; i < count; ++i) {
    std::string k, v;
    if (!take(&k) || !take(&v)) return false;
    for (auto& c : k) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    // Several values of one name are separated by NUL bytes.
    size_t start = 0;
    while (true) {
      size_t nul = v.find('\0', start);
      out->emplace_back(k, v.substr(start, nul == std::string::npos ? nul : nul - start));
      if (nul == std::string::npos) break;
      start = nul + 1;
    }
  }
  return at == n;
}

std::string SpdyCodec::SynStream(uint32_t stream_id, const SpdyHeaders& headers, uint8_t flags) {
  std::string block = HeaderBlock(headers);
  std::string out = ControlHeader(SpdyType::kSynStream, flags, 10 + block.size());
  Put32(&out, stream_id & 0x7FFFFFFF);
  Put32(&out, 0);    // associated-to stream
  out.push_back(0);  // priority (3 bits) and unused
  out.push_back(0);  // slot
  return out + block;
}

std::string SpdyCodec::SynReply(uint32_t stream_id, const SpdyHeaders& headers, uint8_t flags) {
  std::string block = HeaderBlock(headers);
  std::string out = ControlHeader(SpdyType::kSynReply, flags, 4 + block.size());
  Put32(&out, stream_id & 0x7FFFFFFF);
  return out + block;
}

std::string SpdyCodec::Data(uint32_t stream_id, std::string_view data, uint8_t flags) {
  std::string out;
  while (true) {
    const size_t n = std::min(data.size(), kMaxFramePayload);
    const bool last = n == data.size();
    Put32(&out, stream_id & 0x7FFFFFFF);
    out.push_back(static_cast<char>(last ? flags : 0));
    out.push_back(static_cast<char>(n >> 16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
    out.append(data.substr(0, n));
    data.remove_prefix(n);
    if (last) return out;
  }
}

std::string SpdyCodec::RstStream(uint32_t stream_id, uint32_t status) {
  std::string out = ControlHeader(SpdyType::kRstStream, 0, 8);
  Put32(&out, stream_id & 0x7FFFFFFF);
  Put32(&out, status);
  return out;
}

std::string SpdyCodec::Ping(uint32_t id) {
  std::string out = ControlHeader(SpdyType::kPing, 0, 4);
  Put32(&out, id);
  return out;
}

std::string SpdyCodec::GoAway(uint32_t last_good_stream_id, uint32_t status) {
  std::string out = ControlHeader(SpdyType::kGoAway, 0, 8);
  Put32(&out, last_good_stream_id & 0x7FFFFFFF);
  Put32(&out, status);
  return out;
}

std::optional<SpdyFrame> SpdyCodec::Fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return std::nullopt;
}

std::optional<SpdyFrame> SpdyCodec::Next() {
  while (error_.empty()) {
    const size_t avail = buf_.size() - pos_;
    if (avail < 8) break;
    const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
    const size_t len = (size_t{p[5]} << 16) | (size_t{p[6]} << 8) | p[7];
    if (avail < 8 + len) break;
    const uint8_t* body = p + 8;
    SpdyFrame f;
    f.flags = p[4];
    pos_ += 8 + len;
    if ((p[0] & 0x80) == 0) {
      f.type = SpdyType::kData;
      f.stream_id = Get32(p) & 0x7FFFFFFF;
      f.data.assign(reinterpret_cast<const char*>(body), len);
      return f;
    }
    const uint16_t version = static_cast<uint16_t>(((p[0] & 0x7F) << 8) | p[1]);
    if (version != kVersion) return Fail("a frame of SPDY version " + std::to_string(version));
    const uint16_t type = static_cast<uint16_t>((p[2] << 8) | p[3]);
    f.type = static_cast<SpdyType>(type);
    auto need = [&](size_t n) { return len >= n; };
    switch (f.type) {
      case SpdyType::kSynStream:
      case SpdyType::kSynReply:
      case SpdyType::kHeaders: {
        // The stream id, then (SYN_STREAM only) the associated stream, priority and slot.
        const size_t head = f.type == SpdyType::kSynStream ? 10 : 4;
        if (!need(head)) return Fail("a short SYN_STREAM, SYN_REPLY or HEADERS");
        f.stream_id = Get32(body) & 0x7FFFFFFF;
        if (!ParseHeaderBlock(
                std::string_view(reinterpret_cast<const char*>(body + head), len - head),
                &f.headers)) {
          return Fail("a header block that does not decompress");
        }
        return f;
      }
      case SpdyType::kRstStream:
      case SpdyType::kGoAway:
        if (!need(8)) return Fail("a short RST_STREAM or GOAWAY");
        f.stream_id = Get32(body) & 0x7FFFFFFF;
        f.status = Get32(body + 4);
        return f;
      case SpdyType::kPing:
        if (!need(4)) return Fail("a short PING");
        f.stream_id = Get32(body);
        return f;
      case SpdyType::kWindowUpdate:
        if (!need(8)) return Fail("a short WINDOW_UPDATE");
        f.stream_id = Get32(body) & 0x7FFFFFFF;
        f.status = Get32(body + 4) & 0x7FFFFFFF;  // the delta
        return f;
      case SpdyType::kSettings:
        return f;
      default:
        continue;  // unknown control frames are ignored, as the protocol says
    }
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::nullopt;
}

}  // namespace keelson::apiserver
