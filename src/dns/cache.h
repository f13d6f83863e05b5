// ResponseCache: answers of upstream servers, kept for as long as their TTLs say (RFC 1035,
// and RFC 2308 for NXDOMAIN and NODATA: the SOA's TTL capped by its minimum), bounded in
// entries with least-recently-used eviction. The key is the question (lowercased name, type,
// class) and the DO and CD bits, since they change what an upstream sends.
//
// Thread-safe: the entries are spread over shards, each with its own mutex, so lookups of
// different names rarely wait for one another. Entries are immutable and shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/message.h"
#include "dns/response.h"

namespace keelson::dns {

using SteadyTime = std::chrono::steady_clock::time_point;

// An upstream's answer, as it is replayed to clients.
struct CachedAnswer {
  int rcode = kRcodeNoError;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;
  SteadyTime stored;
  uint32_t lifetime = 0;  // seconds it stays cached (0: not cached)
};

struct CacheLimits {
  uint32_t max_ttl = 3600;           // positive answers
  uint32_t max_negative_ttl = 1800;  // NXDOMAIN and NODATA
};

// The cached form of an upstream's response `m`: its lifetime is the smallest TTL of its
// answers (positive), the negative TTL of its SOA (NXDOMAIN, NODATA), capped by `limits`;
// 0 for what must not be cached (other rcodes, a negative answer without SOA).
std::shared_ptr<const CachedAnswer> ToCachedAnswer(const Message& m, SteadyTime now,
                                                   const CacheLimits& limits);

// Writes `answer` as the reply to `q` (started fresh with Begin()), its TTLs lowered by the
// time it has been cached.
void WriteCachedAnswer(const Query& q, size_t limit, const CachedAnswer& answer, SteadyTime now,
                       Response* response);

class ResponseCache {
 public:
  // At most `capacity` entries (0: nothing is cached).
  explicit ResponseCache(size_t capacity);

  static std::string Key(std::string_view lower_qname, uint16_t qtype, uint16_t qclass,
                         bool dnssec_ok, bool checking_disabled);

  // The live entry of `key`, or null (an expired entry is dropped).
  std::shared_ptr<const CachedAnswer> Get(std::string_view key, SteadyTime now);
  // Stores `answer` (when its lifetime is positive), evicting the least recently used entry
  // of its shard when full.
  void Put(std::string key, std::shared_ptr<const CachedAnswer> answer);
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::mutex mu;
    // guarded by mu: most recently used first; the map points into it.
    std::list<std::pair<std::string, std::shared_ptr<const CachedAnswer>>> lru;
    std::unordered_map<std::string_view, decltype(lru)::iterator> index;
  };
  Shard& ShardOf(std::string_view key);

  const size_t per_shard_;
  Shard shards_[kShards];
};

}  // namespace keelson::dns
