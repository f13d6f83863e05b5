#include "dns/cache.h"

#include <algorithm>

namespace keelson::dns {
namespace {

uint32_t SoaMinimum(const Record& soa) {
  const std::string& rd = soa.rdata;
  if (rd.size() < 4) return 0;
  const auto* p = reinterpret_cast<const uint8_t*>(rd.data() + rd.size() - 4);
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

}  // namespace

std::shared_ptr<const CachedAnswer> ToCachedAnswer(const Message& m, SteadyTime now,
                                                   const CacheLimits& limits) {
  auto a = std::make_shared<CachedAnswer>();
  a->rcode = m.header.rcode();
  a->answers = m.answers;
  a->authority = m.authority;
  a->additional = m.additional;
  a->stored = now;
  if (a->rcode == kRcodeNoError && !a->answers.empty()) {
    uint32_t ttl = limits.max_ttl;
    for (const Record& r : a->answers) ttl = std::min(ttl, r.ttl);
    a->lifetime = ttl;
  } else if (a->rcode == kRcodeNoError || a->rcode == kRcodeNxDomain) {
    for (const Record& r : a->authority) {
      if (r.type == kTypeSoa) {
        a->lifetime = std::min({r.ttl, SoaMinimum(r), limits.max_negative_ttl});
        break;
      }
    }
  }
  return a;
}

void WriteCachedAnswer(const Query& q, size_t limit, const CachedAnswer& answer, SteadyTime now,
                       Response* response) {
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - answer.stored).count();
  auto ttl = [age](const Record& r) -> int64_t {
    return age <= 0 ? r.ttl : std::max<int64_t>(0, int64_t{r.ttl} - age);
  };
  response->Begin(q, limit, answer.rcode, false);
  for (const Record& r : answer.answers) response->Add(Section::kAnswer, r, ttl(r));
  for (const Record& r : answer.authority) response->Add(Section::kAuthority, r, ttl(r));
  for (const Record& r : answer.additional) response->Add(Section::kAdditional, r, ttl(r));
}

ResponseCache::ResponseCache(size_t capacity)
    : per_shard_(capacity == 0 ? 0 : std::max<size_t>(1, capacity / kShards)) {}

std::string ResponseCache::Key(std::string_view lower_qname, uint16_t qtype, uint16_t qclass,
                               bool dnssec_ok, bool checking_disabled) {
  std::string key(lower_qname);
  key.push_back(static_cast<char>(qtype >> 8));
  key.push_back(static_cast<char>(qtype));
  key.push_back(static_cast<char>(qclass >> 8));
  key.push_back(static_cast<char>(qclass));
  key.push_back(static_cast<char>((dnssec_ok ? 1 : 0) | (checking_disabled ? 2 : 0)));
  return key;
}

ResponseCache::Shard& ResponseCache::ShardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

std::shared_ptr<const CachedAnswer> ResponseCache::Get(std::string_view key, SteadyTime now) {
  if (per_shard_ == 0) return nullptr;
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return nullptr;
  auto entry = it->second;
  const auto& answer = entry->second;
  if (now >= answer->stored + std::chrono::seconds(answer->lifetime)) {
    s.index.erase(it);
    s.lru.erase(entry);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, entry);
  return answer;
}

void ResponseCache::Put(std::string key, std::shared_ptr<const CachedAnswer> answer) {
  if (per_shard_ == 0 || answer == nullptr || answer->lifetime == 0) return;
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    it->second->second = std::move(answer);
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return;
  }
  s.lru.emplace_front(std::move(key), std::move(answer));
  s.index.emplace(s.lru.front().first, s.lru.begin());
  while (s.lru.size() > per_shard_) {
    s.index.erase(s.lru.back().first);
    s.lru.pop_back();
  }
}

size_t ResponseCache::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.lru.size();
  }
  return n;
}

}  // namespace keelson::dns
