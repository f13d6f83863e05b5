#include "dns/message.h"

#include <gtest/gtest.h>

#include "dns/response.h"
#include "dns/test_util.h"

namespace keelson::dns {
namespace {

using testing::QueryBytes;

ParsedQuery Parse(const std::string& bytes) {
  return ParseQuery(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(DnsNames, WireAndTextForms) {
  EXPECT_EQ(WireName("Web.Default.svc").value(), std::string("\3web\7default\3svc", 16) + '\0');
  EXPECT_EQ(WireName("Web.", false).value(), std::string("\3Web") + '\0');
  EXPECT_EQ(WireName(".").value(), std::string(1, '\0'));
  EXPECT_EQ(TextName(WireName("a.b.example").value()), "a.b.example.");
  EXPECT_EQ(TextName(std::string(1, '\0')), ".");
  EXPECT_EQ(TextName(std::string("\3a.b\1\x01", 7) + '\0'), "a\\.b.\\001.");
  EXPECT_FALSE(WireName("a..b").ok());
  EXPECT_FALSE(WireName(std::string(64, 'a')).ok());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'x') + ".";
  EXPECT_FALSE(WireName(long_name).ok());
  EXPECT_TRUE(IsSubdomain(WireName("A.Cluster.Local").value(), WireName("cluster.local").value()));
  EXPECT_TRUE(IsSubdomain(WireName("cluster.local").value(), WireName("cluster.local").value()));
  EXPECT_FALSE(IsSubdomain(WireName("xcluster.local").value(), WireName("cluster.local").value()));
  EXPECT_FALSE(IsSubdomain(WireName("local").value(), WireName("cluster.local").value()));
  EXPECT_EQ(LabelCount(WireName("a.b.c").value()), 3);
}

TEST(DnsParseQuery, ReadsQuestionAndEdns) {
  auto p = Parse(QueryBytes({.name = "Web.Default.svc.cluster.local",
                             .type = kTypeSrv,
                             .edns = true,
                             .udp_size = 4096,
                             .dnssec_ok = true}));
  ASSERT_EQ(p.disposition, QueryDisposition::kAnswer);
  EXPECT_EQ(p.query.header.id, 0x1234);
  EXPECT_EQ(TextName(p.query.name()), "Web.Default.svc.cluster.local.");
  EXPECT_EQ(p.query.qtype, kTypeSrv);
  EXPECT_TRUE(p.query.edns);
  EXPECT_EQ(p.query.udp_size, 4096);
  EXPECT_TRUE(p.query.dnssec_ok);
  // A payload size below 512 counts as 512.
  EXPECT_EQ(Parse(QueryBytes({.name = "a", .edns = true, .udp_size = 100})).query.udp_size, 512);
  EXPECT_EQ(Parse(QueryBytes({.name = "a"})).query.udp_size, 512);
}

TEST(DnsParseQuery, RefusesWhatIsNotAQuery) {
  std::string q = QueryBytes({.name = "example.com"});
  // Too short to answer, or a response: dropped.
  EXPECT_EQ(Parse("").disposition, QueryDisposition::kDrop);
  EXPECT_EQ(Parse(q.substr(0, 11)).disposition, QueryDisposition::kDrop);
  std::string response = q;
  response[2] |= 0x80;
  EXPECT_EQ(Parse(response).disposition, QueryDisposition::kDrop);
  // A header alone: FORMERR (no question).
  auto header_only = Parse(q.substr(0, 12));
  EXPECT_EQ(header_only.disposition, QueryDisposition::kError);
  EXPECT_EQ(header_only.rcode, kRcodeFormErr);
  // The question cut short.
  EXPECT_EQ(Parse(q.substr(0, q.size() - 1)).rcode, kRcodeFormErr);
  // Other opcodes (NOTIFY, UPDATE): NOTIMP.
  std::string update = q;
  update[2] = static_cast<char>(5 << 3);
  EXPECT_EQ(Parse(update).rcode, kRcodeNotImp);
  // QDCOUNT 0 and 2.
  std::string two = q;
  two[5] = 2;
  EXPECT_EQ(Parse(two).rcode, kRcodeFormErr);
  std::string zero = q;
  zero[5] = 0;
  EXPECT_EQ(Parse(zero).rcode, kRcodeFormErr);
  // An EDNS version we do not speak: BADVERS, with the question read.
  std::string v1 = QueryBytes({.name = "example.com", .edns = true});
  v1[v1.size() - 5] = 1;  // the version byte of the OPT TTL
  auto bad = Parse(v1);
  EXPECT_EQ(bad.rcode, kRcodeBadVers);
  EXPECT_TRUE(bad.has_question);
  EXPECT_TRUE(bad.has_edns);
}

TEST(DnsParseQuery, HostileNames) {
  std::string header("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  auto with_name = [&](const std::string& name) {
    return Parse(header + name + std::string("\x00\x01\x00\x01", 4));
  };
  // A pointer to itself, forward, into nowhere: FORMERR, no loop.
  EXPECT_EQ(with_name(std::string("\xC0\x0C", 2)).rcode, kRcodeFormErr);
  EXPECT_EQ(with_name(std::string("\x01"
                                  "a\xC0\x0C",
                                  4))
                .rcode,
            kRcodeFormErr);
  EXPECT_EQ(with_name(std::string("\xC0\x20", 2)).rcode, kRcodeFormErr);
  EXPECT_EQ(with_name(std::string("\xFF\xFF", 2)).rcode, kRcodeFormErr);
  // Reserved label types and a label running past the end.
  EXPECT_EQ(with_name(std::string("\x41"
                                  "a",
                                  2) +
                      '\0')
                .rcode,
            kRcodeFormErr);
  EXPECT_EQ(with_name(std::string("\x3F"
                                  "abc",
                                  4))
                .rcode,
            kRcodeFormErr);
  // A name over 255 bytes.
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += '\x3F' + std::string(63, 'a');
  EXPECT_EQ(with_name(long_name + '\0').rcode, kRcodeFormErr);
  // Two OPT records, and an OPT not owned by the root.
  std::string q = QueryBytes({.name = "a", .edns = true});
  std::string opt = q.substr(q.size() - 11);
  std::string two_opts = q + opt;
  two_opts[11] = 2;
  EXPECT_EQ(Parse(two_opts).rcode, kRcodeFormErr);
  std::string named_opt = q.substr(0, q.size() - 11) +
                          std::string(
                              "\x01"
                              "a",
                              2) +
                          opt;
  EXPECT_EQ(Parse(named_opt).rcode, kRcodeFormErr);
  // An additional count larger than what follows.
  std::string lying = QueryBytes({.name = "a"});
  lying[11] = 9;
  EXPECT_EQ(Parse(lying).rcode, kRcodeFormErr);
}

TEST(DnsReadName, FollowsBackwardPointers) {
  // "example.com" at 12, then "www" + pointer to it.
  std::string msg(12, '\0');
  msg += std::string("\7example\3com", 12) + '\0';
  msg += std::string("\3www\xC0\x0C", 6);
  size_t offset = 25;
  std::string name;
  ASSERT_TRUE(
      ReadName(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), &offset, &name).ok());
  EXPECT_EQ(TextName(name), "www.example.com.");
  EXPECT_EQ(offset, msg.size());
}

TEST(DnsWriter, CompressesAndReadsBack) {
  std::vector<uint8_t> buf(kMaxMessageSize);
  MessageWriter w(buf.data(), buf.size());
  Header h;
  h.id = 7;
  h.flags = kFlagQr;
  h.qdcount = 1;
  h.ancount = 3;
  w.WriteHeader(h);
  std::string q = WireName("_HTTP._tcp.Web.default.svc.cluster.local", false).value();
  ASSERT_TRUE(w.Question(q, kTypeSrv, kClassIn));
  std::string target = WireName("web.default.svc.cluster.local").value();
  ASSERT_TRUE(w.WriteRecordAt(12, {"", kTypeSrv, kClassIn, 5, RdataSrv(0, 100, 80, target)}));
  ASSERT_TRUE(w.WriteRecord({target, kTypeA, kClassIn, 5, std::string("\x0a\x2b\x00\x0a", 4)}));
  ASSERT_TRUE(w.WriteRecord({WireName("x.svc.cluster.local").value(), kTypeCname, kClassIn, 5,
                             WireName("db.default.svc.cluster.local").value()}));
  auto m = ParseMessage(buf.data(), w.size());
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->answers.size(), 3u);
  EXPECT_EQ(testing::Rdata(m->answers[0]), "0 100 80 web.default.svc.cluster.local.");
  EXPECT_EQ(TextName(m->answers[0].name), "_HTTP._tcp.Web.default.svc.cluster.local.");
  // The SRV target is written in full (RFC 2782) but later names point into it.
  // (with the case of the question, whose labels it points to).
  EXPECT_EQ(TextName(m->answers[1].name), "Web.default.svc.cluster.local.");
  EXPECT_EQ(testing::Ip(m->answers[1]), "10.43.0.10");
  EXPECT_EQ(testing::Rdata(m->answers[2]), "db.default.svc.cluster.local.");
  // Far smaller than the names spelt out.
  EXPECT_EQ(w.size(), 142u);  // 213 uncompressed
}

TEST(DnsWriter, OverflowRewinds) {
  uint8_t buf[40];
  MessageWriter w(buf, sizeof buf);
  w.WriteHeader({});
  auto mark = w.mark();
  EXPECT_FALSE(w.Name(WireName("a-rather-long-name.example.com").value()));
  EXPECT_TRUE(w.overflow());
  w.Rewind(mark);
  EXPECT_FALSE(w.overflow());
  EXPECT_EQ(w.size(), 12u);
  EXPECT_TRUE(w.Name(WireName("short.example").value()));
}

TEST(DnsResponse, ErrorAnswersEchoWhatWasRead) {
  std::vector<uint8_t> buf(kMaxMessageSize);
  Response r(buf.data());
  std::string v1 = QueryBytes({.name = "example.com", .edns = true});
  v1[v1.size() - 5] = 1;
  auto p = Parse(v1);
  r.BeginError(p, p.rcode, 512);
  auto out = r.Finish();
  auto m = ParseMessage(out.data(), out.size());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_TRUE(m->header.flags & kFlagQr);
  EXPECT_EQ(m->header.rcode(), 0);  // BADVERS is 16: its upper bits are in the OPT record
  EXPECT_TRUE(m->edns);
  EXPECT_EQ(out[out.size() - 6], 1);  // the OPT's extended rcode
  EXPECT_EQ(TextName(m->qname), "example.com.");
}

}  // namespace
}  // namespace keelson::dns
