// The cluster DNS's wire codec (src/dns): bytes as a query from anyone, and as a response from
// an upstream. Invariants: nothing crashes, hangs or reads out of bounds; whatever the server
// answers to a query (from a small cluster zone, or an error answer) is a well-formed message
// within the size limit that echoes the question; a response that parses, written again
// (compressed, with our writer) and read back, has the same records; a cached answer replays
// as a well-formed message.
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dns/cache.h"
#include "dns/message.h"
#include "dns/response.h"
#include "dns/zone.h"
#include "fuzz/fuzz_util.h"

using namespace keelson;
using namespace keelson::dns;

namespace {

const Zone& TheZone() {
  static const std::shared_ptr<const Zone> zone = [] {
    ServiceInfo web;
    web.ns = "default";
    web.name = "web";
    web.cluster_ips = {"10.43.0.10", "fd00::10"};
    web.ports = {{"http", "TCP", 80}};
    ServiceInfo db;
    db.ns = "default";
    db.name = "db";
    db.kind = ServiceInfo::Kind::kHeadless;
    for (int i = 0; i < 40; ++i) {
      db.endpoints.push_back({{"10.42.0." + std::to_string(i + 1)},
                              i % 2 ? "" : "db-" + std::to_string(i),
                              true,
                              {{"pg", "TCP", 5432}}});
    }
    ServiceInfo ext;
    ext.ns = "default";
    ext.name = "ext";
    ext.kind = ServiceInfo::Kind::kExternalName;
    ext.external_name = "web.default.svc.cluster.local";
    return Zone::Build({}, {web, db, ext}, {"default", "kube-system"}, 1);
  }();
  return *zone;
}

std::string Lower(const std::string& s) { return LowerName(s); }

void CheckAnswer(std::span<const uint8_t> out, size_t limit, const ParsedQuery& p) {
  fuzz::Check(out.size() <= limit, "answer over the size limit");
  auto m = ParseMessage(out.data(), out.size());
  fuzz::Check(m.ok(), "our answer does not parse", m.ok() ? "" : m.status().message());
  fuzz::Check(m->header.id == p.query.header.id, "answer with another id");
  fuzz::Check((m->header.flags & kFlagQr) != 0, "answer without QR");
  if (p.has_question) {
    fuzz::Check(m->qname == std::string(p.query.name()), "answer with another question name");
    fuzz::Check(m->qtype == p.query.qtype, "answer with another question type");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> buf(kMaxMessageSize);
  // As a query.
  ParsedQuery p = ParseQuery(data, size);
  if (p.disposition != QueryDisposition::kDrop) {
    Response r(buf.data());
    size_t limit = p.disposition == QueryDisposition::kAnswer ? UdpLimit(p.query, 1232) : 512;
    if (p.disposition == QueryDisposition::kError) {
      r.BeginError(p, p.rcode, limit);
    } else {
      r.Begin(p.query, limit, kRcodeNoError, true);
      TheZone().Answer(p.query, LowerName(p.query.name()), &r, static_cast<uint32_t>(size));
    }
    CheckAnswer(r.Finish(), limit, p);
  }
  // As an upstream's response.
  auto m = ParseMessage(data, size);
  if (!m.ok()) return 0;
  MessageWriter w(buf.data(), buf.size());
  Header h = m->header;
  h.ancount = static_cast<uint16_t>(m->answers.size());
  h.nscount = static_cast<uint16_t>(m->authority.size());
  h.arcount = static_cast<uint16_t>(m->additional.size());
  h.qdcount = m->qname.empty() ? 0 : 1;
  w.WriteHeader(h);
  bool fits = m->qname.empty() || w.Question(m->qname, m->qtype, m->qclass);
  for (const auto* section : {&m->answers, &m->authority, &m->additional}) {
    for (const Record& r : *section) fits = fits && w.WriteRecord(r);
  }
  if (fits) {
    auto again = ParseMessage(buf.data(), w.size());
    fuzz::Check(again.ok(), "a message written again does not parse",
                again.ok() ? "" : again.status().message());
    auto same = [](const std::vector<Record>& a, const std::vector<Record>& b) {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (Lower(a[i].name) != Lower(b[i].name) || a[i].type != b[i].type ||
            a[i].ttl != b[i].ttl || a[i].rclass != b[i].rclass) {
          return false;
        }
        // Names inside RDATA may come back in another case (compression is case-blind).
        if (Lower(a[i].rdata) != Lower(b[i].rdata)) return false;
      }
      return true;
    };
    fuzz::Check(same(m->answers, again->answers) && same(m->authority, again->authority) &&
                    same(m->additional, again->additional),
                "records changed when written again");
  }
  // Replayed from the cache as the answer to a query of the same question.
  if (!m->qname.empty()) {
    auto cached = ToCachedAnswer(*m, SteadyTime{}, {});
    ParsedQuery q;
    q.disposition = QueryDisposition::kAnswer;
    q.has_question = true;
    q.query.header.id = 1;
    std::memcpy(q.query.qname, m->qname.data(), m->qname.size());
    q.query.qname_size = static_cast<uint8_t>(m->qname.size());
    q.query.qtype = m->qtype;
    q.query.qclass = m->qclass;
    Response r(buf.data());
    WriteCachedAnswer(q.query, 512, *cached, SteadyTime{}, &r);
    CheckAnswer(r.Finish(), 512, q);
  }
  return 0;
}
