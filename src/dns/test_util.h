// Helpers of the DNS tests: queries as bytes, and answers read back.
#pragma once

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "dns/message.h"

namespace keelson::dns::testing {

struct QuerySpec {
  std::string name;  // dotted text, case as given
  uint16_t type = kTypeA;
  uint16_t id = 0x1234;
  bool edns = false;
  uint16_t udp_size = 1232;
  bool dnssec_ok = false;
};

inline std::string QueryBytes(const QuerySpec& s) {
  std::vector<uint8_t> buf(1024);
  MessageWriter w(buf.data(), buf.size());
  Header h;
  h.id = s.id;
  h.flags = kFlagRd;
  h.qdcount = 1;
  h.arcount = s.edns ? 1 : 0;
  w.WriteHeader(h);
  w.Question(WireName(s.name, /*lower=*/false).value(), s.type, kClassIn);
  if (s.edns) {
    w.U8(0);
    w.U16(kTypeOpt);
    w.U16(s.udp_size);
    w.U32(s.dnssec_ok ? 0x8000 : 0);
    w.U16(0);
  }
  return std::string(reinterpret_cast<const char*>(buf.data()), w.size());
}

inline std::string Ip(const Record& r) {
  char text[INET6_ADDRSTRLEN] = {};
  if (r.type == kTypeA && r.rdata.size() == 4)
    inet_ntop(AF_INET, r.rdata.data(), text, sizeof text);
  if (r.type == kTypeAaaa && r.rdata.size() == 16) {
    inet_ntop(AF_INET6, r.rdata.data(), text, sizeof text);
  }
  return text;
}

// "0 100 80 web.default.svc.cluster.local." for SRV; the target for CNAME/PTR/NS; the IP for
// A/AAAA; the text for TXT.
inline std::string Rdata(const Record& r) {
  const auto* p = reinterpret_cast<const uint8_t*>(r.rdata.data());
  switch (r.type) {
    case kTypeA:
    case kTypeAaaa:
      return Ip(r);
    case kTypeCname:
    case kTypePtr:
    case kTypeNs:
      return TextName(r.rdata);
    case kTypeSrv:
      return std::to_string(p[0] << 8 | p[1]) + " " + std::to_string(p[2] << 8 | p[3]) + " " +
             std::to_string(p[4] << 8 | p[5]) + " " + TextName(r.rdata.substr(6));
    case kTypeTxt:
      return r.rdata.empty() ? "" : r.rdata.substr(1);
    default:
      return r.rdata;
  }
}

inline std::vector<std::string> Rdatas(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(Rdata(r));
  return out;
}

}  // namespace keelson::dns::testing
