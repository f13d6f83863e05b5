#include "dns/cache.h"

#include <gtest/gtest.h>

#include "dns/test_util.h"

namespace keelson::dns {
namespace {

using namespace std::chrono_literals;

Record A(const std::string& name, uint32_t ttl, const char* ip = "\xc0\x00\x02\x01") {
  return {WireName(name).value(), kTypeA, kClassIn, ttl, std::string(ip, 4)};
}

Record Soa(uint32_t ttl, uint32_t minimum) {
  return {WireName("example.com").value(), kTypeSoa, kClassIn, ttl,
          RdataSoa(WireName("ns.example.com").value(), WireName("admin.example.com").value(), 1, 2,
                   3, 4, minimum)};
}

Message Reply(int rcode, std::vector<Record> answers, std::vector<Record> authority = {}) {
  Message m;
  m.header.flags = static_cast<uint16_t>(kFlagQr | rcode);
  m.answers = std::move(answers);
  m.authority = std::move(authority);
  return m;
}

TEST(DnsCache, LifetimesFromTtls) {
  auto now = SteadyTime{} + 100s;
  CacheLimits limits{.max_ttl = 3600, .max_negative_ttl = 1800};
  EXPECT_EQ(
      ToCachedAnswer(Reply(0, {A("a.example", 300), A("a.example", 60)}), now, limits)->lifetime,
      60u);
  EXPECT_EQ(ToCachedAnswer(Reply(0, {A("a.example", 999999)}), now, limits)->lifetime, 3600u);
  // Negative answers: the SOA's TTL, capped by its minimum (RFC 2308).
  EXPECT_EQ(ToCachedAnswer(Reply(kRcodeNxDomain, {}, {Soa(900, 30)}), now, limits)->lifetime, 30u);
  EXPECT_EQ(ToCachedAnswer(Reply(0, {}, {Soa(20, 300)}), now, limits)->lifetime, 20u);
  // Without a SOA, and failures: not cached.
  EXPECT_EQ(ToCachedAnswer(Reply(kRcodeNxDomain, {}), now, limits)->lifetime, 0u);
  EXPECT_EQ(ToCachedAnswer(Reply(kRcodeServFail, {}, {Soa(20, 300)}), now, limits)->lifetime, 0u);
}

TEST(DnsCache, ExpiresAndEvicts) {
  ResponseCache cache(16);  // one entry per shard
  auto now = SteadyTime{} + 100s;
  CacheLimits limits;
  std::string key =
      ResponseCache::Key(WireName("a.example").value(), kTypeA, kClassIn, false, false);
  cache.Put(key, ToCachedAnswer(Reply(0, {A("a.example", 10)}), now, limits));
  ASSERT_NE(cache.Get(key, now + 9s), nullptr);
  EXPECT_EQ(cache.Get(key, now + 10s), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  // Bounded: many names never hold more than the capacity.
  for (int i = 0; i < 1000; ++i) {
    std::string k = ResponseCache::Key(WireName("n" + std::to_string(i) + ".example").value(),
                                       kTypeA, kClassIn, false, false);
    cache.Put(k, ToCachedAnswer(Reply(0, {A("x.example", 100)}), now, limits));
  }
  EXPECT_LE(cache.size(), 16u);
  // The DO bit is part of the key.
  EXPECT_NE(key, ResponseCache::Key(WireName("a.example").value(), kTypeA, kClassIn, true, false));
  // Nothing is cached with capacity 0.
  ResponseCache none(0);
  none.Put(key, ToCachedAnswer(Reply(0, {A("a.example", 10)}), now, limits));
  EXPECT_EQ(none.Get(key, now), nullptr);
}

TEST(DnsCache, ReplayLowersTtlsAndKeepsTheQuestionsCase) {
  auto stored = SteadyTime{} + 100s;
  auto answer = ToCachedAnswer(Reply(0, {A("a.example", 60)}), stored, {});
  std::string bytes = testing::QueryBytes({.name = "A.Example", .id = 77});
  ParsedQuery p = ParseQuery(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<uint8_t> buf(kMaxMessageSize);
  Response r(buf.data());
  WriteCachedAnswer(p.query, 512, *answer, stored + 25s, &r);
  auto out = r.Finish();
  auto m = ParseMessage(out.data(), out.size());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.id, 77);
  EXPECT_FALSE(m->header.flags & kFlagAa);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].ttl, 35u);
  EXPECT_EQ(TextName(m->answers[0].name), "A.Example.");
}

}  // namespace
}  // namespace keelson::dns
