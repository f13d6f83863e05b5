// The DNS wire format (RFC 1035, EDNS0 of RFC 6891): reading queries and responses from bytes
// anyone can send, and writing responses with name compression into a bounded buffer.
//
// Names travel as wire-format bytes (length-prefixed labels ending in the zero label,
// uncompressed, at most 255 bytes) held in std::string or fixed arrays; WireName/TextName
// convert to and from the dotted text form. Lookups compare names case-insensitively and keep
// the case a client asked with.
//
// Reading never trusts the input: every length is checked against what is left, compression
// pointers must point strictly backwards (so loops cannot exist), names over 255 bytes and
// labels of the reserved kinds (0x40, 0x80) are refused. What cannot be read is an error
// value, never an exception or a crash.
//
// Thread-compatible: the functions are pure; a MessageWriter belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keelson::dns {

// Record types and classes we name.
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeNs = 2;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypePtr = 12;
constexpr uint16_t kTypeMx = 15;
constexpr uint16_t kTypeTxt = 16;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeSrv = 33;
constexpr uint16_t kTypeDname = 39;
constexpr uint16_t kTypeOpt = 41;
constexpr uint16_t kTypeIxfr = 251;
constexpr uint16_t kTypeAxfr = 252;
constexpr uint16_t kTypeMailb = 253;
constexpr uint16_t kTypeMaila = 254;
constexpr uint16_t kTypeAny = 255;
constexpr uint16_t kClassIn = 1;

// Response codes (values above 15 travel partly in the OPT record).
constexpr int kRcodeNoError = 0;
constexpr int kRcodeFormErr = 1;
constexpr int kRcodeServFail = 2;
constexpr int kRcodeNxDomain = 3;
constexpr int kRcodeNotImp = 4;
constexpr int kRcodeRefused = 5;
constexpr int kRcodeBadVers = 16;

// Header flag bits.
constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagAa = 0x0400;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kFlagRd = 0x0100;
constexpr uint16_t kFlagRa = 0x0080;
constexpr uint16_t kFlagAd = 0x0020;
constexpr uint16_t kFlagCd = 0x0010;

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxLabelLength = 63;
// The size every client accepts over UDP without EDNS.
constexpr size_t kClassicUdpSize = 512;
// The largest message (TCP's two-byte length).
constexpr size_t kMaxMessageSize = 65535;

struct Header {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;

  int opcode() const { return (flags >> 11) & 0xF; }
  int rcode() const { return flags & 0xF; }
};

// A query as a server reads it.
struct Query {
  Header header;
  // The question name in wire form as the client wrote it (case kept), uncompressed.
  uint8_t qname[kMaxNameLength];
  uint8_t qname_size = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  // EDNS0: whether an OPT record came, the UDP payload size it advertises (at least 512),
  // its version and DO bit.
  bool edns = false;
  uint16_t udp_size = kClassicUdpSize;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;

  std::string_view name() const {
    return std::string_view(reinterpret_cast<const char*>(qname), qname_size);
  }
};

// What a server does with bytes that came in as a query.
enum class QueryDisposition {
  kAnswer,  // a well-formed query: answer it
  kError,   // answer with `rcode` only (FORMERR, NOTIMP, BADVERS), echoing what could be read
  kDrop,    // send nothing: too short to answer, or a response (QR set), which must never be
            // answered (that is how two servers ping-pong forever)
};

struct ParsedQuery {
  QueryDisposition disposition = QueryDisposition::kDrop;
  int rcode = kRcodeNoError;  // for kError
  // Whether `query`'s question (name, type, class) was read, so an error answer echoes it.
  bool has_question = false;
  // Whether `query`'s EDNS fields were read (an error answer then carries an OPT record).
  bool has_edns = false;
  Query query;
};

// Reads a query: the header, exactly one question, the answer and authority sections skipped
// (well-formed), the additional section searched for one OPT record. FORMERR for a
// QDCOUNT other than 1, a malformed name or record, more than one OPT or an OPT not at the
// root; NOTIMP for an opcode other than QUERY; BADVERS for an EDNS version other than 0.
ParsedQuery ParseQuery(const uint8_t* data, size_t size);

// One resource record with its RDATA made self-contained: names inside the RDATA of the
// types RFC 3597 allows to be compressed (NS, CNAME, SOA, PTR, MX, DNAME) and of SRV are
// stored uncompressed, so the record can be written into another message.
struct Record {
  std::string name;  // wire form
  uint16_t type = 0;
  uint16_t rclass = kClassIn;
  uint32_t ttl = 0;
  std::string rdata;
};

// A whole message (a response from an upstream server).
struct Message {
  Header header;
  std::string qname;  // wire form; empty when qdcount is 0
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  // without the OPT record
  bool edns = false;
};

// Reads a message with at most one question. InvalidArgument for anything malformed.
Result<Message> ParseMessage(const uint8_t* data, size_t size);

// Reads the (possibly compressed) name at *offset into `out` (wire form, at most 255 bytes)
// and advances *offset past it. InvalidArgument when malformed.
Status ReadName(const uint8_t* data, size_t size, size_t* offset, std::string* out);

// "web.default.svc.cluster.local" (a trailing dot is allowed; "" and "." are the root) in
// wire form, lowercased when `lower`. InvalidArgument for empty labels, labels over 63 bytes
// or names over 255.
Result<std::string> WireName(std::string_view text, bool lower = true);
// The dotted form of a wire name, with a trailing dot ("." for the root); bytes outside
// [-_a-zA-Z0-9*] are escaped as \DDD, dots inside labels as "\.".
std::string TextName(std::string_view wire);
// The wire name lowercased (ASCII).
std::string LowerName(std::string_view wire);
void LowerNameInPlace(uint8_t* wire, size_t size);
// Whether `name` is `suffix` or below it (both wire form, case-insensitive, label-aligned).
bool IsSubdomain(std::string_view name, std::string_view suffix);
// The number of labels of a wire name (the root has 0).
int LabelCount(std::string_view wire);

// Writes a message into a caller's buffer of fixed capacity. Every write reports whether it
// fit; after a failed write the writer is in overflow until Rewind() to a mark taken before.
// Names are compressed against every name written with compression on (the question and
// owner names, and the RDATA names of the types that allow it).
class MessageWriter {
 public:
  MessageWriter(uint8_t* buffer, size_t capacity) : buf_(buffer), cap_(capacity) {}

  size_t size() const { return size_; }
  bool overflow() const { return overflow_; }
  const uint8_t* data() const { return buf_; }
  // Lowers the capacity (to leave room for an OPT record, say); never below size().
  void SetCapacity(size_t capacity) { cap_ = capacity < size_ ? size_ : capacity; }
  size_t capacity() const { return cap_; }

  struct Mark {
    size_t size;
    size_t names;
  };
  Mark mark() const { return {size_, names_.size()}; }
  void Rewind(Mark m);

  bool U8(uint8_t v);
  bool U16(uint16_t v);
  bool U32(uint32_t v);
  bool Bytes(const void* p, size_t n);
  // A wire name; compressed (and remembered for later names) when `compress`.
  bool Name(std::string_view wire, bool compress = true);
  void PutU16At(size_t offset, uint16_t v);

  void WriteHeader(const Header& h);
  // The question: the name as given (remembered for compression), type and class.
  bool Question(std::string_view qname, uint16_t qtype, uint16_t qclass);
  // A whole record; the RDATA names of NS, CNAME, PTR, DNAME, SOA and MX are compressed, SRV
  // targets written in full (RFC 2782) but remembered.
  // A negative `ttl` keeps the record's own.
  bool WriteRecord(const Record& r, int64_t ttl = -1);
  // A record whose owner is the name at message offset `owner_offset` (a pointer).
  bool WriteRecordAt(uint16_t owner_offset, const Record& r, int64_t ttl = -1);
  // Marks a name that starts at `offset` (already in the buffer) for compression.
  void RememberName(size_t offset);

 private:
  bool Rdata(const Record& r);
  // The offset of a remembered name equal to `wire` (case-insensitive), or -1.
  int FindName(std::string_view wire) const;
  bool NameEquals(size_t offset, std::string_view wire) const;

  uint8_t* buf_;
  size_t cap_;
  size_t size_ = 0;
  bool overflow_ = false;
  std::vector<uint16_t> names_;  // offsets of remembered (suffixes of) names, < 0x4000
};

// The OPT record a server answers EDNS queries with: its UDP payload size, the extended
// rcode's upper bits, the DO bit echoed.
bool WriteOpt(MessageWriter* w, uint16_t udp_size, int rcode, bool dnssec_ok);

// Builders of RDATA.
std::string RdataA(const uint8_t ip[4]);
std::string RdataAaaa(const uint8_t ip[16]);
std::string RdataSrv(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target);
std::string RdataTxt(std::string_view text);
std::string RdataSoa(std::string_view mname, std::string_view rname, uint32_t serial,
                     uint32_t refresh, uint32_t retry, uint32_t expire, uint32_t minimum);

}  // namespace keelson::dns
