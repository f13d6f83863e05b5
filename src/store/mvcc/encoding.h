// On-disk encodings of the embedded store (see docs/store.md, "Key layout").
//
//   rev db:   Revision (16 bytes, big-endian main then sub) -> Record
//   keys db:  user key -> sorted duplicates of KeyRev (Revision + 1 tombstone byte)
//   meta db:  "format", "rev", "compact", "compact_done" -> values
//   lease db: lease id (8 bytes big-endian) -> granted TTL (8 bytes big-endian)
//   lkeys db: lease id (8 bytes big-endian) + user key -> empty
//
// Big-endian integers sort in numeric order under LMDB's default memcmp ordering.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace keelson::store::mvcc {

inline void PutBE64(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline uint64_t GetBE64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// A point in the store's history: `main` is the store revision of a transaction, `sub`
// orders the changes within it.
struct Revision {
  int64_t main = 0;
  int64_t sub = 0;

  static constexpr size_t kSize = 16;

  void Encode(char* out) const {
    PutBE64(out, static_cast<uint64_t>(main));
    PutBE64(out + 8, static_cast<uint64_t>(sub));
  }
  static Revision Decode(const char* in) {
    return {static_cast<int64_t>(GetBE64(in)), static_cast<int64_t>(GetBE64(in + 8))};
  }
  auto operator<=>(const Revision&) const = default;
};

// One duplicate in the keys db: where a version of the key lives, and whether it is a
// deletion marker.
struct KeyRev {
  Revision rev;
  bool tombstone = false;

  static constexpr size_t kSize = Revision::kSize + 1;

  void Encode(char* out) const {
    rev.Encode(out);
    out[Revision::kSize] = tombstone ? 1 : 0;
  }
  static KeyRev Decode(const char* in) {
    return {Revision::Decode(in), in[Revision::kSize] != 0};
  }
};

// How a record's value is stored (the record's flag bits 2 and 4).
enum class Codec : unsigned char {
  kNone = 0,
  kZlib = 2,  // varint length, then a zlib stream (format keelson-mvcc-2)
  kZstd = 4,  // a zstd frame (format keelson-mvcc-3)
};

// One version of a key, as stored in the rev db. mod_revision is the record's Revision.main.
// The first byte holds flags: 1 = tombstone, 2 or 4 = the value's codec (see Codec). Records
// of format keelson-mvcc-1 have no codec flag.
struct Record {
  bool tombstone = false;
  Codec codec = Codec::kNone;
  int64_t create_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
  std::string_view key;
  std::string_view value;
};

inline void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline bool ReadVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline void EncodeRecord(const Record& r, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>((r.tombstone ? 1 : 0) | static_cast<int>(r.codec)));
  AppendVarint(out, static_cast<uint64_t>(r.create_revision));
  AppendVarint(out, static_cast<uint64_t>(r.version));
  AppendVarint(out, static_cast<uint64_t>(r.lease));
  AppendVarint(out, r.key.size());
  out->append(r.key);
  out->append(r.value);
}

// The returned views point into `in`. nullopt when the bytes are not a record.
inline std::optional<Record> DecodeRecord(std::string_view in) {
  if (in.empty()) return std::nullopt;
  Record r;
  auto flags = static_cast<unsigned char>(in.front());
  if (flags > 5 || (flags & 6) == 6) return std::nullopt;
  r.tombstone = (flags & 1) != 0;
  r.codec = static_cast<Codec>(flags & 6);
  in.remove_prefix(1);
  uint64_t create = 0, version = 0, lease = 0, klen = 0;
  if (!ReadVarint(&in, &create) || !ReadVarint(&in, &version) || !ReadVarint(&in, &lease) ||
      !ReadVarint(&in, &klen) || klen > in.size()) {
    return std::nullopt;
  }
  r.create_revision = static_cast<int64_t>(create);
  r.version = static_cast<int64_t>(version);
  r.lease = static_cast<int64_t>(lease);
  r.key = in.substr(0, klen);
  r.value = in.substr(klen);
  return r;
}

}  // namespace keelson::store::mvcc
