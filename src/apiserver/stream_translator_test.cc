#include "apiserver/stream_translator.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <set>

#include "apiserver/spdy.h"
#include "apiserver/websocket.h"

namespace keelson::apiserver {
namespace {

// A frame as a client sends it: masked.
std::string ClientFrame(WsOpcode op, std::string_view payload, bool fin = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(op)));
  const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size()));
  }
  for (uint8_t m : mask) out.push_back(static_cast<char>(m));
  for (size_t i = 0; i < payload.size(); ++i) {
    out.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  }
  return out;
}

std::string Channel(uint8_t ch, std::string_view data) {
  std::string out(1, static_cast<char>(ch));
  out += data;
  return out;
}

// The frames a server wrote (unmasked), as (opcode, payload).
std::vector<std::pair<int, std::string>> ServerFrames(std::string_view bytes) {
  std::vector<std::pair<int, std::string>> out;
  while (bytes.size() >= 2) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    EXPECT_TRUE(p[0] & 0x80) << "a server frame without FIN";
    EXPECT_FALSE(p[1] & 0x80) << "a server frame masked";
    uint64_t len = p[1] & 0x7F;
    size_t at = 2;
    if (len == 126) {
      len = (uint64_t{p[2]} << 8) | p[3];
      at = 4;
    } else if (len == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      at = 10;
    }
    if (bytes.size() < at + len) {
      ADD_FAILURE() << "a truncated frame";
      break;
    }
    out.emplace_back(p[0] & 0x0F, std::string(bytes.substr(at, len)));
    bytes.remove_prefix(at + len);
  }
  EXPECT_TRUE(bytes.empty());
  return out;
}

TEST(WebSocket, AcceptIsTheRfcsExample) {
  EXPECT_EQ(WebSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocket, ReaderJoinsFragmentsAroundControlFrames) {
  WsReader r;
  std::string big(70000, 'x');
  r.Feed(ClientFrame(WsOpcode::kBinary, "ab", false));
  r.Feed(ClientFrame(WsOpcode::kPing, "p"));
  std::string rest = ClientFrame(WsOpcode::kContinuation, "cd");
  r.Feed(rest.substr(0, 3));  // a frame arrives in pieces
  auto ping = r.Next();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->opcode, WsOpcode::kPing);
  EXPECT_EQ(ping->payload, "p");
  EXPECT_FALSE(r.Next());
  r.Feed(rest.substr(3));
  auto m = r.Next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->opcode, WsOpcode::kBinary);
  EXPECT_EQ(m->payload, "abcd");
  EXPECT_TRUE(r.error().empty());
}

TEST(WebSocket, ReaderRefusesWhatTheProtocolForbids) {
  {
    WsReader r;
    r.Feed(WsFrame(WsOpcode::kBinary, "unmasked"));
    EXPECT_FALSE(r.Next());
    EXPECT_EQ(r.error(), "a client's frame is not masked");
    EXPECT_EQ(r.error_code(), 1002);
  }
  {
    WsReader r;
    r.Feed(ClientFrame(WsOpcode::kContinuation, "x"));
    EXPECT_FALSE(r.Next());
    EXPECT_NE(r.error().find("continuation"), std::string::npos);
  }
  {
    WsReader r(100);
    r.Feed(ClientFrame(WsOpcode::kBinary, std::string(60, 'a'), false));
    r.Feed(ClientFrame(WsOpcode::kContinuation, std::string(60, 'a')));
    EXPECT_FALSE(r.Next());
    EXPECT_EQ(r.error_code(), 1009);
  }
  {
    WsReader r;
    r.Feed(ClientFrame(WsOpcode::kPing, "x", false));
    EXPECT_FALSE(r.Next());
    EXPECT_NE(r.error().find("control frame"), std::string::npos);
  }
}

TEST(Spdy, DictionaryIsTheProtocols) {
  const auto& d = SpdyDictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size())),
            0xe3c6a7c2u);
}

TEST(Spdy, HeaderBlocksShareOneCompressionContext) {
  SpdyCodec client, server;
  server.Feed(client.SynStream(1, {{"streamtype", "error"}}));
  server.Feed(client.SynStream(3, {{"streamtype", "stdout"}, {"Port", "80"}}));
  server.Feed(SpdyCodec::Data(3, "hello", kSpdyFlagFin));
  auto a = server.Next();
  ASSERT_TRUE(a) << server.error();
  EXPECT_EQ(a->type, SpdyType::kSynStream);
  EXPECT_EQ(a->stream_id, 1u);
  EXPECT_EQ(a->headers, (SpdyHeaders{{"streamtype", "error"}}));
  auto b = server.Next();
  ASSERT_TRUE(b) << server.error();
  EXPECT_EQ(b->stream_id, 3u);
  EXPECT_EQ(b->headers, (SpdyHeaders{{"streamtype", "stdout"}, {"port", "80"}}));
  auto c = server.Next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type, SpdyType::kData);
  EXPECT_EQ(c->data, "hello");
  EXPECT_EQ(c->flags, kSpdyFlagFin);
  EXPECT_FALSE(server.Next());
  EXPECT_TRUE(server.error().empty());
}

TEST(Spdy, GarbageIsAnError) {
  SpdyCodec c;
  // A SYN_REPLY for stream 1 whose header block is not zlib data.
  const std::string bad("\x80\x03\x00\x02\x00\x00\x00\x08\x00\x00\x00\x01garb", 16);
  c.Feed(bad);
  EXPECT_FALSE(c.Next());
  EXPECT_FALSE(c.error().empty());
}

// The kubelet's side of an exec session, for the translator to talk to.
struct FakeRuntime {
  SpdyCodec codec;
  std::map<std::string, uint32_t> streams;  // by streamtype
  uint32_t last_id = 0;
  std::map<uint32_t, std::string> received;
  std::set<uint32_t> closed;

  void Read(std::string_view bytes) {
    codec.Feed(bytes);
    while (auto f = codec.Next()) {
      if (f->type == SpdyType::kSynStream) {
        ASSERT_EQ(f->headers.size(), 1u);
        EXPECT_EQ(f->headers[0].first, "streamtype");
        streams[f->headers[0].second] = f->stream_id;
        EXPECT_GT(f->stream_id, last_id) << "streams are opened in the order of their ids";
        last_id = f->stream_id;
      } else if (f->type == SpdyType::kData) {
        received[f->stream_id] += f->data;
        if (f->flags & kSpdyFlagFin) closed.insert(f->stream_id);
      }
    }
    ASSERT_TRUE(codec.error().empty()) << codec.error();
  }
  std::string ReplyAll() {
    std::string out;
    for (const auto& [type, id] : streams) out += codec.SynReply(id, {});
    return out;
  }
};

TEST(ExecTranslator, CarriesAnExecWithStdinToItsExitStatus) {
  auto t = NewExecTranslator({.stdin_stream = true, .stdout_stream = true, .stderr_stream = true});
  EXPECT_EQ(t->ClientProtocol(), "v5.channel.k8s.io");
  EXPECT_EQ(t->BackendProtocols(), std::vector<std::string>{"v4.channel.k8s.io"});
  std::string refusal;
  FakeRuntime rt;
  rt.Read(t->Start("v4.channel.k8s.io", &refusal));
  EXPECT_EQ(refusal, "");
  ASSERT_EQ(rt.streams.size(), 4u);
  EXPECT_EQ(rt.streams["error"], 1u);
  EXPECT_TRUE(rt.streams.count("stdin") && rt.streams.count("stdout") &&
              rt.streams.count("stderr"));

  // Stdin sent before the runtime answered its stream is held back, then sent in order.
  TranslatorOutput out;
  t->FromClient(ClientFrame(WsOpcode::kBinary, Channel(0, "hello ")), &out);
  EXPECT_EQ(out.to_backend, "");
  t->FromBackend(rt.ReplyAll(), &out);
  t->FromClient(ClientFrame(WsOpcode::kBinary, Channel(0, "world")) +
                    ClientFrame(WsOpcode::kBinary, std::string("\xff\x00", 2)),
                &out);
  rt.Read(out.to_backend);
  EXPECT_EQ(rt.received[rt.streams["stdin"]], "hello world");
  EXPECT_TRUE(rt.closed.count(rt.streams["stdin"])) << "v5's close signal half-closes stdin";
  EXPECT_FALSE(out.done);

  // Output, then the exit status: the client gets the status last, and the close.
  TranslatorOutput back;
  const std::string status =
      R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code",)"
      R"("reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})";
  t->FromBackend(SpdyCodec::Data(rt.streams["stdout"], "out") +
                     SpdyCodec::Data(rt.streams["stderr"], "err", kSpdyFlagFin) +
                     SpdyCodec::Data(rt.streams["error"], status, kSpdyFlagFin),
                 &back);
  EXPECT_FALSE(back.done) << "stdout has not ended";
  t->FromBackend(SpdyCodec::Data(rt.streams["stdout"], "put", kSpdyFlagFin), &back);
  EXPECT_TRUE(back.done);
  auto frames = ServerFrames(back.to_client);
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[0], std::make_pair(2, Channel(1, "out")));
  EXPECT_EQ(frames[1], std::make_pair(2, Channel(2, "err")));
  EXPECT_EQ(frames[2], std::make_pair(2, Channel(1, "put")));
  EXPECT_EQ(frames[3], std::make_pair(2, Channel(3, status)));
  EXPECT_EQ(frames[4], std::make_pair(8, std::string("\x03\xe8", 2)));
}

TEST(ExecTranslator, ATerminalHasAResizeStreamAndNoStderr) {
  auto t = NewExecTranslator(
      {.stdin_stream = true, .stdout_stream = true, .stderr_stream = true, .tty = true});
  std::string refusal;
  FakeRuntime rt;
  rt.Read(t->Start("v4.channel.k8s.io", &refusal));
  EXPECT_EQ(rt.streams.size(), 4u);
  EXPECT_TRUE(rt.streams.count("resize"));
  EXPECT_FALSE(rt.streams.count("stderr"));
  TranslatorOutput out;
  t->FromBackend(rt.ReplyAll(), &out);
  t->FromClient(ClientFrame(WsOpcode::kBinary, Channel(4, R"({"Width":80,"Height":24})")), &out);
  rt.Read(out.to_backend);
  EXPECT_EQ(rt.received[rt.streams["resize"]], R"({"Width":80,"Height":24})");
  // The runtime goes away without a status: success, as upstream's clients read it.
  TranslatorOutput end;
  t->BackendEnded(&end);
  EXPECT_TRUE(end.done);
  auto frames = ServerFrames(end.to_client);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].second, Channel(3, R"({"metadata":{},"status":"Success"})"));
}

TEST(ExecTranslator, AnswersPingsAndCloses) {
  auto t = NewExecTranslator({.stdout_stream = true});
  std::string refusal;
  EXPECT_EQ(t->Start("v3.channel.k8s.io", &refusal), "");
  EXPECT_NE(refusal.find("v3.channel.k8s.io"), std::string::npos);
  refusal.clear();
  t->Start("v4.channel.k8s.io", &refusal);
  TranslatorOutput out;
  t->FromClient(ClientFrame(WsOpcode::kPing, "hb"), &out);
  t->FromBackend(SpdyCodec::Ping(2), &out);
  EXPECT_EQ(ServerFrames(out.to_client), (std::vector<std::pair<int, std::string>>{{0xA, "hb"}}));
  SpdyCodec rt;
  rt.Feed(out.to_backend);
  auto ping = rt.Next();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->type, SpdyType::kPing);
  EXPECT_EQ(ping->stream_id, 2u);
  EXPECT_FALSE(out.done);
  // An odd id answers one of ours: not echoed. Ours go out on every tick, odd.
  TranslatorOutput reply, tick;
  t->FromBackend(SpdyCodec::Ping(1), &reply);
  EXPECT_EQ(reply.to_backend, "");
  t->Tick(&tick);
  t->Tick(&tick);
  rt.Feed(tick.to_backend);
  auto p1 = rt.Next(), p2 = rt.Next();
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->type, SpdyType::kPing);
  EXPECT_EQ(p1->stream_id % 2, 1u);
  EXPECT_NE(p1->stream_id, p2->stream_id);
  TranslatorOutput closed;
  t->FromClient(ClientFrame(WsOpcode::kClose, std::string("\x03\xe8", 2)), &closed);
  EXPECT_TRUE(closed.done);
  TranslatorOutput after;  // a session over stays over
  t->FromClient(ClientFrame(WsOpcode::kPing, "late"), &after);
  t->FromBackend(SpdyCodec::Ping(4), &after);
  t->BackendEnded(&after);
  EXPECT_EQ(after.to_client, "");
  EXPECT_EQ(after.to_backend, "");
  EXPECT_FALSE(after.done);
  TranslatorOutput bad;
  auto t2 = NewExecTranslator({.stdout_stream = true});
  t2->FromClient(WsFrame(WsOpcode::kBinary, "x"), &bad);
  EXPECT_TRUE(bad.done);
  auto frames = ServerFrames(bad.to_client);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].first, 8);
  EXPECT_EQ(frames[0].second.substr(0, 2), std::string("\x03\xea", 2));  // 1002
}

TEST(ExecTranslator, StdinHeldForAStreamNeverAnsweredIsBounded) {
  auto t = NewExecTranslator({.stdin_stream = true, .stdout_stream = true});
  std::string refusal;
  t->Start("v4.channel.k8s.io", &refusal);
  TranslatorOutput out;
  const std::string chunk = Channel(0, std::string(60000, 'x'));
  for (int i = 0; i < 100 && !out.done; ++i)
    t->FromClient(ClientFrame(WsOpcode::kBinary, chunk), &out);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.to_backend, "");
  auto frames = ServerFrames(out.to_client);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_NE(frames[frames.size() - 2].second.find("did not open the stdin stream"),
            std::string::npos);
}

TEST(PortForwardTunnel, CarriesBytesBothWays) {
  auto t = NewPortForwardTunnel();
  EXPECT_EQ(t->ClientProtocol(), "SPDY/3.1+portforward.k8s.io");
  std::string refusal;
  EXPECT_EQ(t->Start("portforward.k8s.io", &refusal), "");
  EXPECT_EQ(refusal, "");
  TranslatorOutput out;
  t->FromClient(ClientFrame(WsOpcode::kBinary, "spdy-bytes-1") +
                    ClientFrame(WsOpcode::kBinary, "spdy-bytes-2"),
                &out);
  EXPECT_EQ(out.to_backend, "spdy-bytes-1spdy-bytes-2");
  t->FromBackend("reply", &out);
  EXPECT_EQ(ServerFrames(out.to_client), (std::vector<std::pair<int, std::string>>{{2, "reply"}}));
  TranslatorOutput end;
  t->BackendEnded(&end);
  EXPECT_TRUE(end.done);
  auto t2 = NewPortForwardTunnel();
  t2->Start("", &refusal);
  EXPECT_FALSE(refusal.empty());
  // Text is not what the tunnel carries: closed with 1003.
  auto t3 = NewPortForwardTunnel();
  TranslatorOutput text;
  t3->FromClient(ClientFrame(WsOpcode::kText, "hello"), &text);
  EXPECT_TRUE(text.done);
  EXPECT_EQ(text.to_backend, "");
  auto frames = ServerFrames(text.to_client);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].second.substr(0, 2), std::string("\x03\xeb", 2));
}

}  // namespace
}  // namespace keelson::apiserver
