// Response: one answer to one query, written into a caller's buffer within the size the
// transport allows. It keeps the sections in order (answer, authority, additional), and
// truncates as RFC 2181 and 6891 say: a record of the answer or authority section that does
// not fit sets TC and ends the message there; additional records that do not fit are left
// out without TC. An EDNS query gets our OPT record, for which room is always kept.
//
// AnswerBlob is a precomputed answer section (and its additional records) for one name and
// type, built once when the zone changes: its owner names are pointers to the question at
// offset 12, so it is valid for any query of that name, whatever its case.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.h"

namespace keelson::dns {

struct AnswerBlob {
  std::string bytes;
  uint16_t answers = 0;
  uint16_t additional = 0;
  // The end (offset in `bytes`) of each record, answers first.
  std::vector<uint32_t> ends;
  // Whether every answer is a 16-byte A or 28-byte AAAA record (so they can be rotated).
  bool rotatable = false;
};

// Builds the blob of `answers` (owned by `qname`) and `additional`, as they would follow the
// question of `qname` (wire form). Records beyond 64 KiB are left out.
AnswerBlob MakeAnswerBlob(std::string_view qname, const std::vector<const Record*>& answers,
                          const std::vector<const Record*>& additional);

enum class Section { kAnswer, kAuthority, kAdditional };

class Response {
 public:
  // `buffer` must hold kMaxMessageSize bytes.
  explicit Response(uint8_t* buffer) : buf_(buffer), w_(buffer, kMaxMessageSize) {}

  // Starts the answer to `q` with `rcode`: the header (id, opcode, RD and CD copied; QR and
  // RA set; AA when `authoritative`) and the question as asked. `limit` bounds the whole
  // message (at least 512).
  void Begin(const Query& q, size_t limit, int rcode, bool authoritative);
  // An error answer to what ParseQuery could read of a query: the question when it was
  // read, an OPT record when EDNS was.
  void BeginError(const ParsedQuery& p, int rcode, size_t limit);

  void SetRcode(int rcode) { rcode_ = rcode; }
  int rcode() const { return rcode_; }
  bool truncated() const { return truncated_; }
  uint16_t answer_count() const { return counts_[0]; }

  // Appends a blob; only right after Begin(). `rotate` turns the order of rotatable A/AAAA
  // answers by that many places.
  void AppendBlob(const AnswerBlob& blob, uint32_t rotate = 0);
  // Appends a record to `section` (not before a section already written to). False when it
  // was left out. A non-negative `ttl` replaces the record's.
  bool Add(Section section, const Record& r, int64_t ttl = -1);
  // The same with the question name as owner (a pointer to offset 12).
  bool AddForQuestion(Section section, const Record& r, int64_t ttl = -1);

  // Writes the OPT record when due and the counts; the message.
  std::span<const uint8_t> Finish();

 private:
  bool Place(Section section, const Record& r, bool question_owner, int64_t ttl);

  uint8_t* buf_;
  MessageWriter w_;
  bool edns_ = false;
  bool dnssec_ok_ = false;
  int rcode_ = 0;
  bool truncated_ = false;
  bool additional_full_ = false;
  int section_ = 0;
  uint16_t counts_[3] = {0, 0, 0};
};

// The size an answer over UDP may take: 512 without EDNS, else the client's payload size
// capped at `max_udp_size`.
size_t UdpLimit(const Query& q, size_t max_udp_size);

}  // namespace keelson::dns
