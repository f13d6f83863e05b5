#include "apiserver/stream_translator.h"

#include <cstdio>
#include <map>

#include "apiserver/spdy.h"
#include "apiserver/websocket.h"

namespace keelson::apiserver {
namespace {

constexpr std::string_view kSuccess = R"({"metadata":{},"status":"Success"})";
constexpr uint32_t kRefusedStream = 3;  // RST_STREAM status
// Bytes held for streams the node has not answered yet (it answers at once; this is a bound
// for a node that does not).
constexpr size_t kMaxHeld = 4 << 20;

// v5.channel.k8s.io channels.
enum Channel : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kError = 3,
  kResize = 4,
  kClose = 255,
};

// What a client's control messages call for, for both translators: a pong for a ping, a
// close answered and the session over, a protocol error closing it. Returns the data
// messages.
std::vector<WsMessage> ReadClient(WsReader& reader, std::string_view bytes, TranslatorOutput* out) {
  std::vector<WsMessage> data;
  reader.Feed(bytes);
  while (!out->done) {
    auto m = reader.Next();
    if (!m) {
      if (!reader.error().empty()) {
        out->to_client += WsCloseFrame(reader.error_code(), reader.error());
        out->done = true;
      }
      break;
    }
    switch (m->opcode) {
      case WsOpcode::kPing:
        out->to_client += WsFrame(WsOpcode::kPong, m->payload);
        break;
      case WsOpcode::kPong:
        break;
      case WsOpcode::kClose:
        out->to_client += WsCloseFrame(1000);
        out->done = true;
        break;
      default:
        data.push_back(std::move(*m));
    }
  }
  return data;
}

class ExecTranslator final : public StreamTranslator {
 public:
  explicit ExecTranslator(ExecStreams s) {
    uint32_t next = 1;
    auto add = [&](Channel ch, const char* type) {
      Stream& st = streams_[ch];
      st.id = next;
      st.type = type;
      next += 2;
    };
    add(kError, "error");
    if (s.stdin_stream) add(kStdin, "stdin");
    if (s.stdout_stream) add(kStdout, "stdout");
    if (s.stderr_stream && !s.tty) add(kStderr, "stderr");
    if (s.tty) add(kResize, "resize");
    for (auto& [ch, st] : streams_) by_id_[st.id] = ch;
  }

  std::string ClientProtocol() const override { return std::string(kExecV5Protocol); }
  std::vector<std::string> BackendProtocols() const override { return {"v4.channel.k8s.io"}; }

  std::string Start(std::string_view protocol, std::string* refusal) override {
    if (protocol != "v4.channel.k8s.io") {
      *refusal = "the node's runtime agreed to " +
                 (protocol.empty() ? std::string("no protocol") : std::string(protocol)) +
                 " where v4.channel.k8s.io was asked for";
      return "";
    }
    // In the order of their ids: a peer refuses a stream whose id is below one it has seen.
    std::string out;
    for (const auto& [id, ch] : by_id_) {
      out += spdy_.SynStream(id, {{"streamtype", streams_[ch].type}});
    }
    return out;
  }

  void FromClient(std::string_view bytes, TranslatorOutput* out) override {
    if (finished_) return;
    auto messages = ReadClient(reader_, bytes, out);
    finished_ = out->done;
    for (auto& m : messages) {
      if (finished_) break;
      if (m.payload.empty()) continue;
      const auto ch = static_cast<uint8_t>(m.payload[0]);
      std::string_view data = std::string_view(m.payload).substr(1);
      if (ch == kClose) {
        // v5: close the stream the next byte names; only stdin is the client's to close.
        if (!data.empty() && static_cast<uint8_t>(data[0]) == kStdin) Send(kStdin, "", true, out);
      } else if (ch == kStdin || ch == kResize) {
        if (!data.empty()) Send(static_cast<Channel>(ch), data, false, out);
      }
    }
  }

  void FromBackend(std::string_view bytes, TranslatorOutput* out) override {
    if (finished_) return;
    spdy_.Feed(bytes);
    while (auto f = spdy_.Next()) {
      auto it = by_id_.find(f->stream_id);
      Stream* st = it == by_id_.end() ? nullptr : &streams_[it->second];
      switch (f->type) {
        case SpdyType::kSynReply:
          if (st && !st->replied) {
            st->replied = true;
            held_ -= st->pending.size();
            out->to_backend += st->pending;
            st->pending.clear();
          }
          if (st && (f->flags & kSpdyFlagFin)) st->finished = true;
          break;
        case SpdyType::kData:
          if (!st) break;
          if (it->second == kError) {
            error_ += f->data;
          } else if (!f->data.empty() && (it->second == kStdout || it->second == kStderr)) {
            std::string payload(1, static_cast<char>(it->second));
            payload += f->data;
            out->to_client += WsFrame(WsOpcode::kBinary, payload);
          }
          if (f->flags & kSpdyFlagFin) st->finished = true;
          break;
        case SpdyType::kHeaders:
          if (st && (f->flags & kSpdyFlagFin)) st->finished = true;
          break;
        case SpdyType::kRstStream:
          if (st) st->finished = st->replied = true;
          break;
        case SpdyType::kPing:
          // The node's own pings have even ids; odd ones answer ours.
          if (f->stream_id % 2 == 0) out->to_backend += SpdyCodec::Ping(f->stream_id);
          break;
        case SpdyType::kSynStream:
          out->to_backend += SpdyCodec::RstStream(f->stream_id, kRefusedStream);
          break;
        default:
          break;  // GOAWAY (the end follows), SETTINGS, WINDOW_UPDATE
      }
    }
    if (!spdy_.error().empty()) {
      return Finish(
          R"({"metadata":{},"status":"Failure","message":"error reading from the node: )" +
              spdy_.error() + R"(","reason":"InternalError","code":500})",
          out);
    }
    for (const auto& [ch, st] : streams_) {
      if ((ch == kError || ch == kStdout || ch == kStderr) && !st.finished) return;
    }
    Finish(error_.empty() ? std::string(kSuccess) : error_, out);
  }

  void BackendEnded(TranslatorOutput* out) override {
    Finish(error_.empty() ? std::string(kSuccess) : error_, out);
  }

  void Tick(TranslatorOutput* out) override {
    if (finished_) return;
    out->to_backend += SpdyCodec::Ping(next_ping_);
    next_ping_ += 2;
  }

 private:
  struct Stream {
    uint32_t id = 0;
    std::string type;
    bool replied = false;
    bool finished = false;  // the backend's side
    bool closed = false;    // ours (stdin after the client's close signal)
    std::string pending;    // frames held until the backend replies to the stream
  };

  void Send(Channel ch, std::string_view data, bool fin, TranslatorOutput* out) {
    auto it = streams_.find(ch);
    if (it == streams_.end() || it->second.closed) return;
    Stream& st = it->second;
    std::string frame = SpdyCodec::Data(st.id, data, fin ? kSpdyFlagFin : 0);
    st.closed = fin;
    if (st.replied) {
      out->to_backend += frame;
      return;
    }
    // The runtime drops data on a stream it has not answered yet: held until it does.
    held_ += frame.size();
    st.pending += frame;
    if (held_ > kMaxHeld) {
      Finish(R"({"metadata":{},"status":"Failure","message":"the node did not open the )" +
                 st.type + R"( stream","reason":"InternalError","code":500})",
             out);
    }
  }

  void Finish(const std::string& status, TranslatorOutput* out) {
    if (finished_) return;
    finished_ = true;
    std::string payload(1, static_cast<char>(kError));
    payload += status;
    out->to_client += WsFrame(WsOpcode::kBinary, payload);
    out->to_client += WsCloseFrame(1000);
    out->done = true;
  }

  WsReader reader_;
  SpdyCodec spdy_;
  std::map<Channel, Stream> streams_;
  std::map<uint32_t, Channel> by_id_;
  std::string error_;
  size_t held_ = 0;         // bytes in the streams' `pending`
  uint32_t next_ping_ = 1;  // ours are odd
  bool finished_ = false;
};

class PortForwardTunnel final : public StreamTranslator {
 public:
  std::string ClientProtocol() const override { return std::string(kPortForwardTunnelProtocol); }
  std::vector<std::string> BackendProtocols() const override { return {"portforward.k8s.io"}; }

  std::string Start(std::string_view protocol, std::string* refusal) override {
    if (protocol != "portforward.k8s.io") {
      *refusal = "the node's runtime did not agree to portforward.k8s.io";
    }
    return "";
  }

  void FromClient(std::string_view bytes, TranslatorOutput* out) override {
    if (done_) return;
    for (auto& m : ReadClient(reader_, bytes, out)) {
      if (m.opcode != WsOpcode::kBinary) {  // the tunnel carries bytes only
        out->to_client += WsCloseFrame(1003, "the tunnel takes binary messages only");
        out->done = true;
        break;
      }
      out->to_backend += m.payload;
    }
    done_ = out->done;
  }

  void FromBackend(std::string_view bytes, TranslatorOutput* out) override {
    if (!done_ && !bytes.empty()) out->to_client += WsFrame(WsOpcode::kBinary, bytes);
  }

  void BackendEnded(TranslatorOutput* out) override {
    if (done_) return;
    done_ = true;
    out->to_client += WsCloseFrame(1000);
    out->done = true;
  }

 private:
  WsReader reader_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> NewExecTranslator(ExecStreams streams) {
  return std::make_unique<ExecTranslator>(streams);
}

std::unique_ptr<StreamTranslator> NewPortForwardTunnel() {
  return std::make_unique<PortForwardTunnel>();
}

}  // namespace keelson::apiserver
