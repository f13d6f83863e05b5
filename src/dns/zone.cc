#include "dns/zone.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace keelson::dns {

struct Zone::Entry {
  // The precomputed answer of each type present (kTypeAny: every record).
  std::vector<std::pair<uint16_t, AnswerBlob>> blobs;
  // The records, owned by this name (lowercase).
  std::vector<Record> records;
  // An ExternalName's CNAME (in `records`), or null.
  const Record* cname = nullptr;
};

namespace {

// SOA timers (CoreDNS's): refresh, retry, expire.
constexpr uint32_t kSoaRefresh = 7200;
constexpr uint32_t kSoaRetry = 1800;
constexpr uint32_t kSoaExpire = 86400;
// The TTL of dns-version.<zone> (as the spec's example and CoreDNS).
constexpr uint32_t kVersionTtl = 28800;
// How many CNAMEs are followed inside the zone.
constexpr int kMaxChain = 8;

const std::string kInAddrArpa = "\7in-addr\4arpa";
const std::string kIp6Arpa = "\3ip6\4arpa";

// `label` (lowercased) in front of the wire name `base`; "" when it cannot be a label there.
std::string Prepend(std::string_view label, std::string_view base) {
  if (label.empty() || label.size() > kMaxLabelLength || base.empty() ||
      label.size() + 1 + base.size() > kMaxNameLength) {
    return "";
  }
  std::string out;
  out.reserve(1 + label.size() + base.size());
  out.push_back(static_cast<char>(label.size()));
  for (char c : label) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
  out += base;
  return out;
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// The address in `ip` as A or AAAA RDATA; type 0 when it is not one.
std::pair<uint16_t, std::string> AddressRdata(std::string_view ip) {
  std::string text(ip);
  uint8_t buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return {kTypeA, RdataA(buf)};
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return {kTypeAaaa, RdataAaaa(buf)};
  return {0, ""};
}

// CoreDNS's name of an endpoint without a hostname: its address with dashes.
std::string DashedAddress(std::string_view ip) {
  std::string out(ip);
  if (out.find('.') != std::string::npos) {
    std::replace(out.begin(), out.end(), '.', '-');
    return out;
  }
  std::replace(out.begin(), out.end(), ':', '-');
  if (!out.empty() && out.back() == '-') out.push_back('0');
  return out;
}

// The wire name's labels.
std::vector<std::string_view> Labels(std::string_view wire) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    size_t len = static_cast<uint8_t>(wire[i]);
    out.push_back(wire.substr(i + 1, len));
    i += 1 + len;
  }
  return out;
}

// The name one label up (the wire name without its first label); "" for the root.
std::string_view Parent(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return {};
  return wire.substr(1 + static_cast<uint8_t>(wire[0]));
}

class Builder {
 public:
  explicit Builder(uint32_t ttl) : ttl_(ttl) {}

  void Add(const std::string& name, uint16_t type, std::string rdata, uint32_t ttl = 0) {
    if (name.empty()) return;
    auto& records = names_[name];
    for (const Record& r : records) {
      if (r.type == type && r.rdata == rdata) return;
    }
    records.push_back({name, type, kClassIn, ttl ? ttl : ttl_, std::move(rdata)});
  }
  void Exists(const std::string& name) {
    if (!name.empty()) names_[name];
  }
  bool Has(const std::string& name) const { return names_.count(name) > 0; }
  std::unordered_map<std::string, std::vector<Record>>& names() { return names_; }

 private:
  uint32_t ttl_;
  std::unordered_map<std::string, std::vector<Record>> names_;
};

}  // namespace

std::string ReverseName(std::string_view ip) {
  std::string text(ip);
  uint8_t buf[16];
  std::string out;
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    for (int i = 3; i >= 0; --i) {
      std::string n = std::to_string(buf[i]);
      out.push_back(static_cast<char>(n.size()));
      out += n;
    }
    return out + kInAddrArpa + '\0';
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    static const char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out += '\1';
      out += kHex[buf[i] & 0xF];
      out += '\1';
      out += kHex[buf[i] >> 4];
    }
    return out + kIp6Arpa + '\0';
  }
  return "";
}

std::shared_ptr<const Zone> Zone::Build(const ZoneOptions& options,
                                        const std::vector<ServiceInfo>& services,
                                        const std::vector<std::string>& namespaces,
                                        uint32_t serial) {
  std::shared_ptr<Zone> zone(new Zone());
  zone->options_ = options;
  auto wire = WireName(options.domain);
  zone->zone_ = wire.ok() ? *wire : std::string("\7cluster\5local", 14) + '\0';
  const std::string& z = zone->zone_;
  zone->zone_labels_ = LabelCount(z);
  const uint32_t ttl = options.ttl;

  const std::string ns_dns = Prepend("ns", Prepend("dns", z));
  const std::string soa_rdata =
      RdataSoa(ns_dns, Prepend("hostmaster", z), serial, kSoaRefresh, kSoaRetry, kSoaExpire, ttl);
  zone->soa_ = {z, kTypeSoa, kClassIn, ttl, soa_rdata};
  zone->soa_in_addr_ = {kInAddrArpa + '\0', kTypeSoa, kClassIn, ttl, soa_rdata};
  zone->soa_ip6_ = {kIp6Arpa + '\0', kTypeSoa, kClassIn, ttl, soa_rdata};

  Builder b(ttl);
  b.Add(z, kTypeSoa, soa_rdata);
  b.Add(z, kTypeNs, ns_dns);
  b.Exists(ns_dns);
  b.Add(Prepend("dns-version", z), kTypeTxt, RdataTxt(kSchemaVersion), kVersionTtl);
  const std::string svc_zone = Prepend("svc", z);
  const std::string pod_zone = Prepend("pod", z);
  b.Exists(svc_zone);
  b.Exists(pod_zone);
  for (const std::string& ns : namespaces) {
    b.Exists(Prepend(ns, svc_zone));
    b.Exists(Prepend(ns, pod_zone));
  }

  // Reverse names of cluster IPs: they point at their Service only (as CoreDNS, which looks
  // at endpoints only when no Service has the address).
  std::set<std::string> service_reverse;
  std::map<std::string, int> srv_counts;
  auto srv = [&](const std::string& owner, int32_t port, const std::string& target) {
    if (owner.empty() || target.empty() || port < 0 || port > 65535) return;
    b.Add(owner, kTypeSrv, RdataSrv(0, 0, static_cast<uint16_t>(port), target));
  };
  auto port_owner = [&](const PortInfo& p, const std::string& base) -> std::string {
    if (p.name.empty() || p.protocol.empty()) return "";
    return Prepend("_" + p.name, Prepend("_" + Lowercase(p.protocol), base));
  };

  std::vector<const ServiceInfo*> ordered;
  for (const auto& s : services) ordered.push_back(&s);
  std::sort(ordered.begin(), ordered.end(), [](const ServiceInfo* a, const ServiceInfo* c) {
    return std::tie(a->ns, a->name) < std::tie(c->ns, c->name);
  });
  for (const ServiceInfo* s : ordered) {
    const std::string base = Prepend(s->name, Prepend(s->ns, svc_zone));
    if (base.empty()) continue;
    switch (s->kind) {
      case ServiceInfo::Kind::kClusterIp: {
        bool any = false;
        for (const auto& ip : s->cluster_ips) {
          auto [type, rdata] = AddressRdata(ip);
          if (!type) continue;
          any = true;
          b.Add(base, type, rdata);
          if (s->ns == "kube-system" && s->name == "kube-dns") b.Add(ns_dns, type, rdata);
          std::string rev = ReverseName(ip);
          b.Add(rev, kTypePtr, base);
          service_reverse.insert(rev);
        }
        if (!any) break;
        for (const auto& p : s->ports) srv(port_owner(p, base), p.port, base);
        break;
      }
      case ServiceInfo::Kind::kHeadless:
        for (const auto& ep : s->endpoints) {
          if (!ep.ready && !s->publish_not_ready) continue;
          for (const auto& ip : ep.addresses) {
            auto [type, rdata] = AddressRdata(ip);
            if (!type) continue;
            std::string host = Prepend(ep.hostname.empty() ? DashedAddress(ip) : ep.hostname, base);
            if (host.empty()) continue;
            b.Add(base, type, rdata);
            b.Add(host, type, rdata);
            for (const auto& p : ep.ports) srv(port_owner(p, base), p.port, host);
          }
        }
        break;
      case ServiceInfo::Kind::kExternalName: {
        std::string target = s->external_name;
        if (AddressRdata(target).first) break;  // an address is no name to alias (CoreDNS)
        auto t = WireName(target, /*lower=*/false);
        if (!t.ok() || t->size() <= 1) break;
        b.Add(base, kTypeCname, *t);
        break;
      }
    }
  }
  // Endpoint PTRs after every Service's, so that a cluster IP keeps its one name.
  for (const ServiceInfo* s : ordered) {
    if (s->kind != ServiceInfo::Kind::kHeadless) continue;
    const std::string base = Prepend(s->name, Prepend(s->ns, svc_zone));
    if (base.empty()) continue;
    for (const auto& ep : s->endpoints) {
      if (!ep.ready && !s->publish_not_ready) continue;
      for (const auto& ip : ep.addresses) {
        std::string rev = ReverseName(ip);
        std::string host = Prepend(ep.hostname.empty() ? DashedAddress(ip) : ep.hostname, base);
        if (rev.empty() || host.empty() || service_reverse.count(rev)) continue;
        b.Add(rev, kTypePtr, host);
      }
    }
  }

  auto& names = b.names();
  // SRV weights: shared evenly by the records of a name (CoreDNS's), priorities all 0.
  for (auto& [name, records] : names) {
    int n = 0;
    for (const Record& r : records) n += r.type == kTypeSrv;
    if (!n) continue;
    uint16_t weight = static_cast<uint16_t>(std::max(1, 100 / n));
    for (Record& r : records) {
      if (r.type != kTypeSrv) continue;
      r.rdata[2] = static_cast<char>(weight >> 8);
      r.rdata[3] = static_cast<char>(weight);
    }
  }
  // Every name in the zone makes its ancestors exist (empty non-terminals).
  std::vector<std::string> ancestors;
  for (const auto& [name, records] : names) {
    if (!IsSubdomain(name, z)) continue;
    for (std::string_view p = Parent(name); p.size() > z.size(); p = Parent(p)) {
      ancestors.emplace_back(p);
    }
  }
  for (auto& a : ancestors) b.Exists(a);

  auto addresses_of = [&](std::string_view target, std::vector<const Record*>* out) {
    auto it = names.find(std::string(target));
    if (it == names.end()) return;
    for (const Record& r : it->second) {
      if (r.type == kTypeA || r.type == kTypeAaaa) out->push_back(&r);
    }
  };
  // First every name's blobs (which read other names' records for the additional section),
  // then the records move into their entries.
  zone->names_.reserve(names.size());
  for (auto& [name, records] : names) {
    auto entry = std::make_unique<Entry>();
    std::vector<uint16_t> types;
    for (const Record& r : records) {
      if (std::find(types.begin(), types.end(), r.type) == types.end()) types.push_back(r.type);
    }
    for (uint16_t type : types) {
      std::vector<const Record*> answers, additional;
      for (const Record& r : records) {
        if (r.type == type) answers.push_back(&r);
      }
      if (type == kTypeSrv || type == kTypeNs) {
        std::set<std::string_view> seen;
        for (const Record* r : answers) {
          std::string_view target =
              type == kTypeSrv ? std::string_view(r->rdata).substr(6) : std::string_view(r->rdata);
          if (seen.insert(target).second) addresses_of(target, &additional);
        }
      }
      entry->blobs.emplace_back(type, MakeAnswerBlob(name, answers, additional));
    }
    if (types.size() > 1) {
      std::vector<const Record*> all;
      for (const Record& r : records) all.push_back(&r);
      entry->blobs.emplace_back(kTypeAny, MakeAnswerBlob(name, all, {}));
    }
    zone->names_.emplace(name, std::move(entry));
  }
  for (auto& [name, records] : names) {
    Entry* entry = zone->names_.find(name)->second.get();
    entry->records = std::move(records);
    for (const Record& r : entry->records) {
      if (r.type == kTypeCname) entry->cname = &r;
    }
  }
  return zone;
}

const Zone::Entry* Zone::Find(std::string_view lower_name) const {
  auto it = names_.find(lower_name);
  return it == names_.end() ? nullptr : it->second.get();
}

void Zone::Negative(std::string_view lower_qname, Response* response, int rcode) const {
  response->SetRcode(rcode);
  const Record* soa = &soa_;
  if (!InZone(lower_qname)) {
    soa = IsSubdomain(lower_qname, soa_in_addr_.name) ? &soa_in_addr_ : &soa_ip6_;
  }
  response->Add(Section::kAuthority, *soa);
}

Zone::Result Zone::Answer(const Query& q, std::string_view lower_qname, Response* response,
                          uint32_t rotate) const {
  const Entry* e = Find(lower_qname);
  if (e == nullptr) {
    if (!InZone(lower_qname)) return {};
    if (!AnswerPod(q, lower_qname, response)) Negative(lower_qname, response, kRcodeNxDomain);
    return {Outcome::kAnswered, {}, {}};
  }
  if (e->cname != nullptr && q.qtype != kTypeCname) {
    response->AddForQuestion(Section::kAnswer, *e->cname);
    Result r{Outcome::kAnswered, {}, *e->cname};
    if (q.qtype == kTypeAny) return r;
    Result next = Follow(e->cname->rdata, q.qtype, response, 1);
    next.cname = std::move(r.cname);
    return next;
  }
  for (const auto& [type, blob] : e->blobs) {
    if (type == q.qtype || (q.qtype == kTypeAny && (type == kTypeAny || e->blobs.size() == 1))) {
      response->AppendBlob(blob, rotate);
      return {Outcome::kAnswered, {}, {}};
    }
  }
  Negative(lower_qname, response, kRcodeNoError);
  return {Outcome::kAnswered, {}, {}};
}

Zone::Result Zone::Follow(std::string_view name, uint16_t qtype, Response* response,
                          int depth) const {
  std::string lower = LowerName(name);
  if (!InZone(lower)) return {Outcome::kChase, std::string(name), {}};
  const Entry* e = Find(lower);
  if (e == nullptr || depth > kMaxChain) {
    Negative(lower, response, e == nullptr ? kRcodeNxDomain : kRcodeServFail);
    return {Outcome::kAnswered, {}, {}};
  }
  if (e->cname != nullptr && qtype != kTypeCname) {
    response->Add(Section::kAnswer, *e->cname);
    return Follow(e->cname->rdata, qtype, response, depth + 1);
  }
  bool any = false;
  for (const Record& r : e->records) {
    if (r.type == qtype) {
      response->Add(Section::kAnswer, r);
      any = true;
    }
  }
  if (!any) Negative(lower, response, kRcodeNoError);
  return {Outcome::kAnswered, {}, {}};
}

bool Zone::AnswerPod(const Query& q, std::string_view lower_qname, Response* response) const {
  // <address with dashes>.<ns>.pod.<zone>, for a namespace that exists.
  if (LabelCount(lower_qname) != zone_labels_ + 3) return false;
  auto labels = Labels(lower_qname);
  if (labels[2] != "pod") return false;
  std::string_view ns_pod = Parent(lower_qname);
  if (Find(ns_pod) == nullptr) return false;
  std::string ip(labels[0]);
  uint8_t buf[16];
  Record r;
  r.rclass = kClassIn;
  r.ttl = options_.ttl;
  std::string v4 = ip;
  std::replace(v4.begin(), v4.end(), '-', '.');
  std::string v6 = ip;
  std::replace(v6.begin(), v6.end(), '-', ':');
  if (ip.find('.') == std::string::npos && inet_pton(AF_INET, v4.c_str(), buf) == 1) {
    r.type = kTypeA;
    r.rdata = RdataA(buf);
  } else if (ip.find(':') == std::string::npos && inet_pton(AF_INET6, v6.c_str(), buf) == 1) {
    r.type = kTypeAaaa;
    r.rdata = RdataAaaa(buf);
  } else {
    return false;
  }
  if (q.qtype == r.type || q.qtype == kTypeAny) {
    response->AddForQuestion(Section::kAnswer, r);
  } else {
    Negative(lower_qname, response, kRcodeNoError);
  }
  return true;
}

}  // namespace keelson::dns
