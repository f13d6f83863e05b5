#include "dns/message.h"

#include <cstdio>
#include <cstring>

namespace keelson::dns {
namespace {

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

uint8_t Lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

Status Malformed(const char* what) { return InvalidArgumentError(std::string("dns: ") + what); }

// ReadName into a fixed buffer of kMaxNameLength bytes (no allocation on the query path).
Status ReadNameInto(const uint8_t* data, size_t size, size_t* offset, uint8_t* out,
                    size_t* out_size) {
  size_t n = 0;
  size_t pos = *offset;
  // A pointer must point before the first byte of the labels being read, so every jump goes
  // strictly backwards and no pointer chain can loop.
  size_t limit = pos;
  bool jumped = false;
  while (true) {
    if (pos >= size) return Malformed("name beyond the message");
    uint8_t len = data[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= size) return Malformed("compression pointer beyond the message");
      size_t target = static_cast<size_t>(len & 0x3F) << 8 | data[pos + 1];
      if (target >= limit) return Malformed("compression pointer not pointing backwards");
      if (!jumped) *offset = pos + 2;
      jumped = true;
      limit = target;
      pos = target;
      continue;
    }
    if (len & 0xC0) return Malformed("reserved label type");
    if (n + 1 + len > kMaxNameLength) return Malformed("name longer than 255 bytes");
    if (len == 0) {
      out[n++] = 0;
      *out_size = n;
      if (!jumped) *offset = pos + 1;
      return Status::Ok();
    }
    if (pos + 1 + len > size) return Malformed("label beyond the message");
    std::memcpy(out + n, data + pos, 1 + len);
    n += 1 + len;
    pos += 1 + len;
  }
}

Header ReadHeader(const uint8_t* d) {
  return {Get16(d), Get16(d + 2), Get16(d + 4), Get16(d + 6), Get16(d + 8), Get16(d + 10)};
}

// The length of the uncompressed wire name at the start of `s`, or 0 if it is not one.
size_t WireLength(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t len = static_cast<uint8_t>(s[i]);
    if (len == 0) return i + 1;
    if (len > kMaxLabelLength) return 0;
    i += 1 + len;
  }
  return 0;
}

// Reads the RDATA of a record at [*offset, *offset + rdlength) into `r`, expanding names.
Status ReadRdata(const uint8_t* data, size_t size, size_t offset, uint16_t rdlength, Record* r) {
  const size_t end = offset + rdlength;
  if (end > size) return Malformed("record data beyond the message");
  auto name_at = [&](size_t* pos) -> Status {
    std::string name;
    KEELSON_RETURN_IF_ERROR(ReadName(data, end, pos, &name));
    r->rdata += name;
    return Status::Ok();
  };
  auto fixed = [&](size_t* pos, size_t n) -> Status {
    if (*pos + n > end) return Malformed("record data too short");
    r->rdata.append(reinterpret_cast<const char*>(data + *pos), n);
    *pos += n;
    return Status::Ok();
  };
  size_t pos = offset;
  r->rdata.clear();
  switch (r->type) {
    case kTypeNs:
    case kTypeCname:
    case kTypePtr:
    case kTypeDname:
      KEELSON_RETURN_IF_ERROR(name_at(&pos));
      break;
    case kTypeSoa:
      KEELSON_RETURN_IF_ERROR(name_at(&pos));
      KEELSON_RETURN_IF_ERROR(name_at(&pos));
      KEELSON_RETURN_IF_ERROR(fixed(&pos, 20));
      break;
    case kTypeMx:
      KEELSON_RETURN_IF_ERROR(fixed(&pos, 2));
      KEELSON_RETURN_IF_ERROR(name_at(&pos));
      break;
    case kTypeSrv:
      KEELSON_RETURN_IF_ERROR(fixed(&pos, 6));
      KEELSON_RETURN_IF_ERROR(name_at(&pos));
      break;
    default:
      KEELSON_RETURN_IF_ERROR(fixed(&pos, rdlength));
      break;
  }
  if (pos != end) return Malformed("record data of the wrong length");
  return Status::Ok();
}

// Reads one record at *offset.
Status ReadRecord(const uint8_t* data, size_t size, size_t* offset, Record* r) {
  KEELSON_RETURN_IF_ERROR(ReadName(data, size, offset, &r->name));
  if (*offset + 10 > size) return Malformed("record header beyond the message");
  const uint8_t* p = data + *offset;
  r->type = Get16(p);
  r->rclass = Get16(p + 2);
  r->ttl = Get32(p + 4);
  uint16_t rdlength = Get16(p + 8);
  *offset += 10;
  KEELSON_RETURN_IF_ERROR(ReadRdata(data, size, *offset, rdlength, r));
  *offset += rdlength;
  return Status::Ok();
}

// Skips one record at *offset (for a query's answer and authority sections); when it is an
// OPT record reports it in `opt` (its class, TTL and RDATA bounds).
struct OptFields {
  bool present = false;
  bool root_owner = false;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;
  uint16_t rdlength = 0;
};

Status SkipRecord(const uint8_t* data, size_t size, size_t* offset, OptFields* opt) {
  size_t start = *offset;
  uint8_t name[kMaxNameLength];
  size_t name_size = 0;
  KEELSON_RETURN_IF_ERROR(ReadNameInto(data, size, offset, name, &name_size));
  if (*offset + 10 > size) return Malformed("record header beyond the message");
  const uint8_t* p = data + *offset;
  uint16_t type = Get16(p);
  uint16_t rdlength = Get16(p + 8);
  if (*offset + 10 + rdlength > size) return Malformed("record data beyond the message");
  if (type == kTypeOpt) {
    opt->present = true;
    opt->root_owner = *offset == start + 1 && name_size == 1;
    opt->rclass = Get16(p + 2);
    opt->ttl = Get32(p + 4);
    opt->rdata = *offset + 10;
    opt->rdlength = rdlength;
  }
  *offset += 10 + rdlength;
  return Status::Ok();
}

}  // namespace

Status ReadName(const uint8_t* data, size_t size, size_t* offset, std::string* out) {
  uint8_t buf[kMaxNameLength];
  size_t n = 0;
  KEELSON_RETURN_IF_ERROR(ReadNameInto(data, size, offset, buf, &n));
  out->assign(reinterpret_cast<const char*>(buf), n);
  return Status::Ok();
}

ParsedQuery ParseQuery(const uint8_t* data, size_t size) {
  ParsedQuery r;
  if (size < kHeaderSize) return r;  // kDrop: not even an id to answer to
  Query& q = r.query;
  q.header = ReadHeader(data);
  if (q.header.flags & kFlagQr) return r;
  auto error = [&r](int rcode) {
    r.disposition = QueryDisposition::kError;
    r.rcode = rcode;
    return r;
  };
  if (q.header.opcode() != 0) return error(kRcodeNotImp);
  if (q.header.qdcount != 1) return error(kRcodeFormErr);
  size_t offset = kHeaderSize;
  size_t name_size = 0;
  if (!ReadNameInto(data, size, &offset, q.qname, &name_size).ok()) return error(kRcodeFormErr);
  if (offset + 4 > size) return error(kRcodeFormErr);
  q.qname_size = static_cast<uint8_t>(name_size);
  q.qtype = Get16(data + offset);
  q.qclass = Get16(data + offset + 2);
  offset += 4;
  r.has_question = true;
  const uint32_t others = uint32_t{q.header.ancount} + q.header.nscount + q.header.arcount;
  OptFields opt;
  for (uint32_t i = 0; i < others; ++i) {
    OptFields seen;
    if (!SkipRecord(data, size, &offset, &seen).ok()) return error(kRcodeFormErr);
    if (!seen.present) continue;
    // An OPT record belongs in the additional section, once, owned by the root.
    if (i < uint32_t{q.header.ancount} + q.header.nscount || opt.present || !seen.root_owner) {
      return error(kRcodeFormErr);
    }
    opt = seen;
  }
  if (opt.present) {
    // The options must be well-formed (code, length, data); none changes our answer.
    size_t pos = opt.rdata, end = opt.rdata + opt.rdlength;
    while (pos < end) {
      if (pos + 4 > end) return error(kRcodeFormErr);
      size_t len = Get16(data + pos + 2);
      if (pos + 4 + len > end) return error(kRcodeFormErr);
      pos += 4 + len;
    }
    q.edns = true;
    q.udp_size = opt.rclass < kClassicUdpSize ? kClassicUdpSize : opt.rclass;
    q.edns_version = static_cast<uint8_t>(opt.ttl >> 16);
    q.dnssec_ok = (opt.ttl & 0x8000) != 0;
    r.has_edns = true;
    if (q.edns_version != 0) return error(kRcodeBadVers);
  }
  r.disposition = QueryDisposition::kAnswer;
  return r;
}

Result<Message> ParseMessage(const uint8_t* data, size_t size) {
  if (size < kHeaderSize) return Malformed("message shorter than its header");
  Message m;
  m.header = ReadHeader(data);
  if (m.header.qdcount > 1) return Malformed("more than one question");
  size_t offset = kHeaderSize;
  if (m.header.qdcount == 1) {
    KEELSON_RETURN_IF_ERROR(ReadName(data, size, &offset, &m.qname));
    if (offset + 4 > size) return Malformed("question beyond the message");
    m.qtype = Get16(data + offset);
    m.qclass = Get16(data + offset + 2);
    offset += 4;
  }
  auto section = [&](uint16_t count, std::vector<Record>* out, bool additional) -> Status {
    // Each record takes at least 11 bytes: a count beyond what is left is a lie.
    if (count > (size - offset) / 11 + 1) return Malformed("record count beyond the message");
    out->reserve(count);
    for (uint16_t i = 0; i < count; ++i) {
      Record rec;
      KEELSON_RETURN_IF_ERROR(ReadRecord(data, size, &offset, &rec));
      if (rec.type == kTypeOpt) {
        if (!additional || m.edns) return Malformed("misplaced OPT record");
        m.edns = true;
        continue;
      }
      out->push_back(std::move(rec));
    }
    return Status::Ok();
  };
  KEELSON_RETURN_IF_ERROR(section(m.header.ancount, &m.answers, false));
  KEELSON_RETURN_IF_ERROR(section(m.header.nscount, &m.authority, false));
  KEELSON_RETURN_IF_ERROR(section(m.header.arcount, &m.additional, true));
  return m;
}

Result<std::string> WireName(std::string_view text, bool lower) {
  std::string out;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  while (!text.empty()) {
    size_t dot = text.find('.');
    std::string_view label = text.substr(0, dot);
    if (label.empty())
      return InvalidArgumentError("dns: empty label in '" + std::string(text) + "'");
    if (label.size() > kMaxLabelLength) return InvalidArgumentError("dns: label over 63 bytes");
    out.push_back(static_cast<char>(label.size()));
    for (char c : label) out.push_back(lower ? static_cast<char>(Lower(c)) : c);
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  }
  out.push_back('\0');
  if (out.size() > kMaxNameLength) return InvalidArgumentError("dns: name over 255 bytes");
  return out;
}

std::string TextName(std::string_view wire) {
  std::string out;
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    size_t len = static_cast<uint8_t>(wire[i]);
    for (size_t j = i + 1; j <= i + len && j < wire.size(); ++j) {
      unsigned char c = static_cast<unsigned char>(wire[j]);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '*') {
        out.push_back(static_cast<char>(c));
      } else {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", c);
        out += esc;
      }
    }
    out.push_back('.');
    i += 1 + len;
  }
  return out.empty() ? "." : out;
}

std::string LowerName(std::string_view wire) {
  std::string out(wire);
  LowerNameInPlace(reinterpret_cast<uint8_t*>(out.data()), out.size());
  return out;
}

void LowerNameInPlace(uint8_t* wire, size_t size) {
  // Length bytes are at most 63, below 'A': lowering them changes nothing.
  for (size_t i = 0; i < size; ++i) wire[i] = Lower(wire[i]);
}

bool IsSubdomain(std::string_view name, std::string_view suffix) {
  if (suffix.size() > name.size()) return false;
  size_t i = 0;
  while (i < name.size()) {
    if (name.size() - i == suffix.size()) {
      for (size_t j = 0; j < suffix.size(); ++j) {
        if (Lower(static_cast<uint8_t>(name[i + j])) != Lower(static_cast<uint8_t>(suffix[j]))) {
          return false;
        }
      }
      return true;
    }
    if (name[i] == 0) return false;
    i += 1 + static_cast<uint8_t>(name[i]);
  }
  return false;
}

int LabelCount(std::string_view wire) {
  int n = 0;
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    ++n;
    i += 1 + static_cast<uint8_t>(wire[i]);
  }
  return n;
}

void MessageWriter::Rewind(Mark m) {
  size_ = m.size;
  names_.resize(m.names);
  overflow_ = false;
}

bool MessageWriter::Bytes(const void* p, size_t n) {
  if (overflow_ || cap_ - size_ < n) {
    overflow_ = true;
    return false;
  }
  std::memcpy(buf_ + size_, p, n);
  size_ += n;
  return true;
}

bool MessageWriter::U8(uint8_t v) { return Bytes(&v, 1); }
bool MessageWriter::U16(uint16_t v) {
  uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return Bytes(b, 2);
}
bool MessageWriter::U32(uint32_t v) {
  uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                  static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return Bytes(b, 4);
}

void MessageWriter::PutU16At(size_t offset, uint16_t v) {
  buf_[offset] = static_cast<uint8_t>(v >> 8);
  buf_[offset + 1] = static_cast<uint8_t>(v);
}

void MessageWriter::WriteHeader(const Header& h) {
  size_ = 0;
  names_.clear();
  overflow_ = false;
  U16(h.id);
  U16(h.flags);
  U16(h.qdcount);
  U16(h.ancount);
  U16(h.nscount);
  U16(h.arcount);
}

bool MessageWriter::NameEquals(size_t offset, std::string_view wire) const {
  size_t p = offset, i = 0;
  for (int guard = 0; guard < 256; ++guard) {
    uint8_t len = buf_[p];
    if ((len & 0xC0) == 0xC0) {
      p = static_cast<size_t>(len & 0x3F) << 8 | buf_[p + 1];
      continue;
    }
    if (i >= wire.size() || len != static_cast<uint8_t>(wire[i])) return false;
    if (len == 0) return true;
    for (size_t j = 1; j <= len; ++j) {
      if (Lower(buf_[p + j]) != Lower(static_cast<uint8_t>(wire[i + j]))) return false;
    }
    p += 1 + len;
    i += 1 + len;
  }
  return false;
}

int MessageWriter::FindName(std::string_view wire) const {
  for (uint16_t off : names_) {
    if (NameEquals(off, wire)) return off;
  }
  return -1;
}

void MessageWriter::RememberName(size_t offset) {
  size_t p = offset;
  while (p < size_ && p < 0x4000) {
    uint8_t len = buf_[p];
    if (len == 0 || (len & 0xC0) == 0xC0) return;
    names_.push_back(static_cast<uint16_t>(p));
    p += 1 + len;
  }
}

bool MessageWriter::Name(std::string_view wire, bool compress) {
  // The labels written here are remembered only once the name is whole: a pointer into the
  // name being written would make it contain itself.
  uint16_t starts[128];
  int n = 0;
  size_t i = 0;
  bool ok = true;
  bool pointer = false;
  while (i < wire.size() && wire[i] != 0) {
    if (compress) {
      int off = FindName(wire.substr(i));
      if (off >= 0) {
        ok = U16(static_cast<uint16_t>(0xC000 | off));
        pointer = true;
        break;
      }
    }
    size_t len = static_cast<uint8_t>(wire[i]);
    size_t at = size_;
    if (!Bytes(wire.data() + i, 1 + len)) return false;
    if (compress && at < 0x4000 && n < 128) starts[n++] = static_cast<uint16_t>(at);
    i += 1 + len;
  }
  if (!pointer) ok = U8(0);
  if (!ok) return false;
  names_.insert(names_.end(), starts, starts + n);
  return true;
}

bool MessageWriter::Question(std::string_view qname, uint16_t qtype, uint16_t qclass) {
  return Name(qname, true) && U16(qtype) && U16(qclass);
}

bool MessageWriter::Rdata(const Record& r) {
  std::string_view rd = r.rdata;
  switch (r.type) {
    case kTypeNs:
    case kTypeCname:
    case kTypePtr:
    case kTypeDname:
      if (WireLength(rd) == rd.size()) return Name(rd, true);
      break;
    case kTypeSoa: {
      size_t a = WireLength(rd);
      size_t b = a ? WireLength(rd.substr(a)) : 0;
      if (a && b && a + b + 20 == rd.size()) {
        return Name(rd.substr(0, a), true) && Name(rd.substr(a, b), true) &&
               Bytes(rd.data() + a + b, 20);
      }
      break;
    }
    case kTypeMx:
      if (rd.size() > 2 && WireLength(rd.substr(2)) == rd.size() - 2) {
        return Bytes(rd.data(), 2) && Name(rd.substr(2), true);
      }
      break;
    case kTypeSrv:
      if (rd.size() > 6 && WireLength(rd.substr(6)) == rd.size() - 6) {
        size_t at = size_ + 6;
        if (!Bytes(rd.data(), rd.size())) return false;
        RememberName(at);
        return true;
      }
      break;
    default:
      break;
  }
  return Bytes(rd.data(), rd.size());
}

bool MessageWriter::WriteRecord(const Record& r, int64_t ttl) {
  if (!Name(r.name, true) || !U16(r.type) || !U16(r.rclass) ||
      !U32(ttl < 0 ? r.ttl : static_cast<uint32_t>(ttl))) {
    return false;
  }
  size_t len_at = size_;
  if (!U16(0) || !Rdata(r)) return false;
  PutU16At(len_at, static_cast<uint16_t>(size_ - len_at - 2));
  return true;
}

bool MessageWriter::WriteRecordAt(uint16_t owner_offset, const Record& r, int64_t ttl) {
  if (!U16(static_cast<uint16_t>(0xC000 | owner_offset)) || !U16(r.type) || !U16(r.rclass) ||
      !U32(ttl < 0 ? r.ttl : static_cast<uint32_t>(ttl))) {
    return false;
  }
  size_t len_at = size_;
  if (!U16(0) || !Rdata(r)) return false;
  PutU16At(len_at, static_cast<uint16_t>(size_ - len_at - 2));
  return true;
}

bool WriteOpt(MessageWriter* w, uint16_t udp_size, int rcode, bool dnssec_ok) {
  uint32_t ttl = static_cast<uint32_t>((rcode >> 4) & 0xFF) << 24 | (dnssec_ok ? 0x8000u : 0u);
  return w->U8(0) && w->U16(kTypeOpt) && w->U16(udp_size) && w->U32(ttl) && w->U16(0);
}

std::string RdataA(const uint8_t ip[4]) {
  return std::string(reinterpret_cast<const char*>(ip), 4);
}
std::string RdataAaaa(const uint8_t ip[16]) {
  return std::string(reinterpret_cast<const char*>(ip), 16);
}

std::string RdataSrv(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target) {
  std::string out;
  for (uint16_t v : {priority, weight, port}) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
  }
  out += target;
  return out;
}

std::string RdataTxt(std::string_view text) {
  std::string out;
  // Character strings of at most 255 bytes each.
  do {
    size_t n = text.size() > 255 ? 255 : text.size();
    out.push_back(static_cast<char>(n));
    out.append(text.substr(0, n));
    text.remove_prefix(n);
  } while (!text.empty());
  return out;
}

std::string RdataSoa(std::string_view mname, std::string_view rname, uint32_t serial,
                     uint32_t refresh, uint32_t retry, uint32_t expire, uint32_t minimum) {
  std::string out(mname);
  out += rname;
  for (uint32_t v : {serial, refresh, retry, expire, minimum}) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(v >> s));
  }
  return out;
}

}  // namespace keelson::dns
