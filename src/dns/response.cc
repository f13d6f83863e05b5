#include "dns/response.h"

#include <algorithm>
#include <cstring>

namespace keelson::dns {
namespace {

// Our OPT record: root name, type, class, TTL, RDLENGTH.
constexpr size_t kOptSize = 11;
// The UDP payload size we advertise (DNS flag day 2020: no fragmentation).
constexpr uint16_t kOurUdpSize = 1232;

}  // namespace

AnswerBlob MakeAnswerBlob(std::string_view qname, const std::vector<const Record*>& answers,
                          const std::vector<const Record*>& additional) {
  thread_local std::vector<uint8_t> buf(kMaxMessageSize);
  MessageWriter w(buf.data(), buf.size());
  w.WriteHeader({});
  w.Question(qname, kTypeA, kClassIn);
  const size_t start = w.size();
  AnswerBlob blob;
  blob.rotatable = answers.size() > 1;
  for (const Record* r : answers) {
    auto mark = w.mark();
    if (!w.WriteRecordAt(kHeaderSize, *r)) {
      w.Rewind(mark);
      break;
    }
    if (!((r->type == kTypeA && r->rdata.size() == 4) ||
          (r->type == kTypeAaaa && r->rdata.size() == 16))) {
      blob.rotatable = false;
    }
    blob.ends.push_back(static_cast<uint32_t>(w.size() - start));
    ++blob.answers;
  }
  for (const Record* r : additional) {
    auto mark = w.mark();
    if (!w.WriteRecord(*r)) {
      w.Rewind(mark);
      break;
    }
    blob.ends.push_back(static_cast<uint32_t>(w.size() - start));
    ++blob.additional;
  }
  if (blob.additional > 0) blob.rotatable = false;
  blob.bytes.assign(reinterpret_cast<const char*>(buf.data() + start), w.size() - start);
  return blob;
}

size_t UdpLimit(const Query& q, size_t max_udp_size) {
  if (!q.edns) return kClassicUdpSize;
  size_t want = std::max<size_t>(q.udp_size, kClassicUdpSize);
  return std::max(kClassicUdpSize, std::min(want, max_udp_size));
}

void Response::Begin(const Query& q, size_t limit, int rcode, bool authoritative) {
  Header h;
  h.id = q.header.id;
  h.flags = static_cast<uint16_t>(kFlagQr | (q.header.flags & (0xF << 11)) |
                                  (authoritative ? kFlagAa : 0) | (q.header.flags & kFlagRd) |
                                  kFlagRa | (q.header.flags & kFlagCd));
  h.qdcount = 1;
  w_.SetCapacity(kMaxMessageSize);
  w_.WriteHeader(h);
  edns_ = q.edns;
  dnssec_ok_ = q.dnssec_ok;
  rcode_ = rcode;
  truncated_ = false;
  additional_full_ = false;
  section_ = 0;
  counts_[0] = counts_[1] = counts_[2] = 0;
  w_.Question(q.name(), q.qtype, q.qclass);
  w_.SetCapacity(std::min(limit, kMaxMessageSize) - (edns_ ? kOptSize : 0));
}

void Response::BeginError(const ParsedQuery& p, int rcode, size_t limit) {
  const Query& q = p.query;
  Header h;
  h.id = q.header.id;
  h.flags = static_cast<uint16_t>(kFlagQr | (q.header.flags & (0xF << 11)) |
                                  (q.header.flags & kFlagRd) | (q.header.flags & kFlagCd));
  h.qdcount = p.has_question ? 1 : 0;
  w_.SetCapacity(kMaxMessageSize);
  w_.WriteHeader(h);
  edns_ = p.has_edns;
  dnssec_ok_ = p.has_edns && q.dnssec_ok;
  rcode_ = rcode;
  truncated_ = false;
  additional_full_ = true;
  section_ = 0;
  counts_[0] = counts_[1] = counts_[2] = 0;
  if (p.has_question) w_.Question(q.name(), q.qtype, q.qclass);
  w_.SetCapacity(std::min(limit, kMaxMessageSize) - (edns_ ? kOptSize : 0));
}

void Response::AppendBlob(const AnswerBlob& blob, uint32_t rotate) {
  if (truncated_ || section_ != 0 || counts_[0] != 0) return;
  const size_t room = w_.capacity() - w_.size();
  size_t take = blob.bytes.size();
  uint16_t answers = blob.answers, additional = blob.additional;
  if (take > room) {
    // Whole records only: as many answers as fit (TC when one is left out), then additional.
    size_t n = 0;
    while (n < blob.ends.size() && blob.ends[n] <= room) ++n;
    take = n ? blob.ends[n - 1] : 0;
    if (n < blob.answers) {
      truncated_ = true;
      answers = static_cast<uint16_t>(n);
      additional = 0;
    } else {
      additional = static_cast<uint16_t>(n - blob.answers);
      additional_full_ = true;
    }
  }
  if (blob.rotatable && rotate % blob.answers != 0 && answers == blob.answers) {
    // Fixed-size records whose owners are all the question: turning them is a byte rotation.
    size_t shift = blob.ends[rotate % blob.answers - 1];
    w_.Bytes(blob.bytes.data() + shift, take - shift);
    w_.Bytes(blob.bytes.data(), shift);
  } else {
    w_.Bytes(blob.bytes.data(), take);
  }
  counts_[0] = answers;
  counts_[2] = additional;
  if (additional) section_ = 2;
}

bool Response::Place(Section section, const Record& r, bool question_owner, int64_t ttl) {
  int s = static_cast<int>(section);
  if (truncated_ || s < section_) return false;
  if (s == 2 && additional_full_) return false;
  section_ = s;
  auto mark = w_.mark();
  bool ok = question_owner ? w_.WriteRecordAt(kHeaderSize, r, ttl) : w_.WriteRecord(r, ttl);
  if (!ok) {
    w_.Rewind(mark);
    if (s == 2) {
      additional_full_ = true;
    } else {
      truncated_ = true;
    }
    return false;
  }
  ++counts_[s];
  return true;
}

bool Response::Add(Section section, const Record& r, int64_t ttl) {
  return Place(section, r, false, ttl);
}

bool Response::AddForQuestion(Section section, const Record& r, int64_t ttl) {
  return Place(section, r, true, ttl);
}

std::span<const uint8_t> Response::Finish() {
  uint16_t flags = static_cast<uint16_t>((buf_[2] << 8 | buf_[3]) & ~0x000F);
  flags |= static_cast<uint16_t>(rcode_ & 0xF);
  if (truncated_) flags |= kFlagTc;
  w_.PutU16At(2, flags);
  w_.PutU16At(6, counts_[0]);
  w_.PutU16At(8, counts_[1]);
  uint16_t arcount = counts_[2];
  if (edns_) {
    w_.SetCapacity(kMaxMessageSize);
    if (WriteOpt(&w_, kOurUdpSize, rcode_, dnssec_ok_)) ++arcount;
  }
  w_.PutU16At(10, arcount);
  return {buf_, w_.size()};
}

}  // namespace keelson::dns
