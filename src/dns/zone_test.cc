#include "dns/zone.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "dns/test_util.h"

namespace keelson::dns {
namespace {

using testing::Rdatas;

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
using Strings = std::vector<std::string>;

ServiceInfo ClusterIp(std::string ns, std::string name, std::vector<std::string> ips,
                      std::vector<PortInfo> ports = {}) {
  ServiceInfo s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.cluster_ips = std::move(ips);
  s.ports = std::move(ports);
  return s;
}

ServiceInfo Headless(std::string ns, std::string name, std::vector<EndpointInfo> endpoints) {
  ServiceInfo s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.kind = ServiceInfo::Kind::kHeadless;
  s.endpoints = std::move(endpoints);
  return s;
}

ServiceInfo External(std::string ns, std::string name, std::string target) {
  ServiceInfo s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  s.kind = ServiceInfo::Kind::kExternalName;
  s.external_name = std::move(target);
  return s;
}

struct Answer {
  Zone::Outcome outcome;
  Message m;
  std::string chase;
  std::string raw;
};

class ZoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<PortInfo> pg = {{"pg", "TCP", 5432}};
    std::vector<ServiceInfo> services = {
        ClusterIp("default", "web", {"10.43.0.10"}, {{"http", "TCP", 80}, {"", "TCP", 8080}}),
        ClusterIp("default", "dual", {"10.43.0.11", "fd00::11"}, {{"dns", "UDP", 53}}),
        ClusterIp("kube-system", "kube-dns", {"10.43.0.53"}),
        Headless("default", "db",
                 {{{"10.42.0.5"}, "db-0", true, pg},
                  {{"10.42.0.6"}, "", true, pg},
                  {{"10.42.0.7"}, "db-2", false, pg},
                  {{"fd00::42:8"}, "", true, pg}}),
        Headless("default", "empty", {}),
        External("default", "ext", "www.Example.com"),
        External("default", "alias", "web.default.svc.cluster.local"),
        External("default", "numeric", "192.0.2.1"),
    };
    zone_ = Zone::Build({"cluster.local", 5}, services, {"default", "kube-system", "quiet"}, 42);
  }

  Answer Ask(const std::string& name, uint16_t type, size_t limit = kMaxMessageSize,
             uint32_t rotate = 0) {
    std::string bytes = testing::QueryBytes({.name = name, .type = type});
    ParsedQuery p = ParseQuery(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    EXPECT_EQ(p.disposition, QueryDisposition::kAnswer);
    std::vector<uint8_t> buf(kMaxMessageSize);
    Response r(buf.data());
    r.Begin(p.query, limit, kRcodeNoError, true);
    std::string lower = LowerName(p.query.name());
    Zone::Result result = zone_->Answer(p.query, lower, &r, rotate);
    auto out = r.Finish();
    Answer a;
    a.outcome = result.outcome;
    a.chase = result.chase_target;
    a.raw.assign(reinterpret_cast<const char*>(out.data()), out.size());
    auto m = ParseMessage(out.data(), out.size());
    EXPECT_TRUE(m.ok()) << name;
    if (m.ok()) a.m = std::move(*m);
    return a;
  }

  // NODATA: NOERROR, no answer, the SOA of `apex` in the authority section.
  void ExpectNoData(const std::string& name, uint16_t type, const char* apex = "cluster.local.") {
    Answer a = Ask(name, type);
    EXPECT_EQ(a.outcome, Zone::Outcome::kAnswered) << name;
    EXPECT_EQ(a.m.header.rcode(), kRcodeNoError) << name;
    EXPECT_TRUE(a.m.answers.empty()) << name;
    ASSERT_EQ(a.m.authority.size(), 1u) << name;
    EXPECT_EQ(a.m.authority[0].type, kTypeSoa);
    EXPECT_EQ(TextName(a.m.authority[0].name), apex);
  }
  void ExpectNxDomain(const std::string& name, uint16_t type = kTypeA) {
    Answer a = Ask(name, type);
    EXPECT_EQ(a.outcome, Zone::Outcome::kAnswered) << name;
    EXPECT_EQ(a.m.header.rcode(), kRcodeNxDomain) << name;
    EXPECT_TRUE(a.m.answers.empty()) << name;
    ASSERT_EQ(a.m.authority.size(), 1u) << name;
    EXPECT_EQ(a.m.authority[0].type, kTypeSoa);
  }

  std::shared_ptr<const Zone> zone_;
};

TEST_F(ZoneTest, ClusterIpService) {
  Answer a = Ask("web.default.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.m.header.rcode(), kRcodeNoError);
  EXPECT_TRUE(a.m.header.flags & kFlagAa);
  ASSERT_EQ(a.m.answers.size(), 1u);
  EXPECT_EQ(testing::Ip(a.m.answers[0]), "10.43.0.10");
  EXPECT_EQ(a.m.answers[0].ttl, 5u);
  // Matching ignores case; the answer keeps the question's.
  Answer mixed = Ask("WeB.DeFault.SVC.cluster.LOCAL", kTypeA);
  ASSERT_EQ(mixed.m.answers.size(), 1u);
  EXPECT_EQ(TextName(mixed.m.answers[0].name), "WeB.DeFault.SVC.cluster.LOCAL.");
  EXPECT_EQ(TextName(mixed.m.qname), "WeB.DeFault.SVC.cluster.LOCAL.");
  // No IPv6 address: NODATA.
  ExpectNoData("web.default.svc.cluster.local", kTypeAaaa);
  ExpectNoData("web.default.svc.cluster.local", kTypeTxt);
  ExpectNoData("web.default.svc.cluster.local", kTypeMx);
  // Dual stack.
  EXPECT_EQ(Rdatas(Ask("dual.default.svc.cluster.local", kTypeAaaa).m.answers),
            (Strings{"fd00::11"}));
  EXPECT_EQ(Rdatas(Ask("dual.default.svc.cluster.local", kTypeA).m.answers),
            (Strings{"10.43.0.11"}));
  EXPECT_EQ(Ask("dual.default.svc.cluster.local", kTypeAny).m.answers.size(), 2u);
}

TEST_F(ZoneTest, SrvForNamedPortsWithAddressesAsAdditional) {
  Answer a = Ask("_http._tcp.web.default.svc.cluster.local", kTypeSrv);
  EXPECT_EQ(Rdatas(a.m.answers), (Strings{"0 100 80 web.default.svc.cluster.local."}));
  EXPECT_EQ(Rdatas(a.m.additional), (Strings{"10.43.0.10"}));
  EXPECT_EQ(TextName(a.m.additional[0].name), "web.default.svc.cluster.local.");
  EXPECT_EQ(Sorted(Rdatas(Ask("_dns._udp.dual.default.svc.cluster.local", kTypeSrv).m.additional)),
            Sorted(Strings{"10.43.0.11", "fd00::11"}));
  // Unnamed ports have none; the wrong protocol is no name.
  ExpectNxDomain("_8080._tcp.web.default.svc.cluster.local", kTypeSrv);
  ExpectNxDomain("_http._udp.web.default.svc.cluster.local", kTypeSrv);
  // _tcp.<svc> exists (an empty non-terminal) as the names below it do.
  ExpectNoData("_tcp.web.default.svc.cluster.local", kTypeSrv);
  ExpectNoData("_http._tcp.web.default.svc.cluster.local", kTypeA);
}

TEST_F(ZoneTest, HeadlessServiceReadyEndpoints) {
  EXPECT_EQ(Sorted(Rdatas(Ask("db.default.svc.cluster.local", kTypeA).m.answers)),
            Sorted(Strings{"10.42.0.5", "10.42.0.6"}));
  EXPECT_EQ(Rdatas(Ask("db.default.svc.cluster.local", kTypeAaaa).m.answers),
            (Strings{"fd00::42:8"}));
  EXPECT_EQ(Rdatas(Ask("db-0.db.default.svc.cluster.local", kTypeA).m.answers),
            (Strings{"10.42.0.5"}));
  EXPECT_EQ(Rdatas(Ask("10-42-0-6.db.default.svc.cluster.local", kTypeA).m.answers),
            (Strings{"10.42.0.6"}));
  EXPECT_EQ(Rdatas(Ask("fd00--42-8.db.default.svc.cluster.local", kTypeAaaa).m.answers),
            (Strings{"fd00::42:8"}));
  // Not ready: no records at all.
  ExpectNxDomain("db-2.db.default.svc.cluster.local");
  // One SRV per ready endpoint, to its hostname, weights shared.
  Answer srv = Ask("_pg._tcp.db.default.svc.cluster.local", kTypeSrv);
  EXPECT_EQ(Sorted(Rdatas(srv.m.answers)),
            Sorted(Strings{"0 33 5432 db-0.db.default.svc.cluster.local.",
                           "0 33 5432 10-42-0-6.db.default.svc.cluster.local.",
                           "0 33 5432 fd00--42-8.db.default.svc.cluster.local."}));
  EXPECT_EQ(Sorted(Rdatas(srv.m.additional)),
            Sorted(Strings{"10.42.0.5", "10.42.0.6", "fd00::42:8"}));
  // No ready endpoint: NXDOMAIN, as the spec says.
  ExpectNxDomain("empty.default.svc.cluster.local");
}

TEST_F(ZoneTest, PtrForClusterIpsAndHeadlessEndpoints) {
  EXPECT_EQ(Rdatas(Ask("10.0.43.10.in-addr.arpa", kTypePtr).m.answers),
            (Strings{"web.default.svc.cluster.local."}));
  EXPECT_EQ(Rdatas(Ask("5.0.42.10.IN-ADDR.ARPA", kTypePtr).m.answers),
            (Strings{"db-0.db.default.svc.cluster.local."}));
  EXPECT_EQ(Rdatas(Ask("6.0.42.10.in-addr.arpa", kTypePtr).m.answers),
            (Strings{"10-42-0-6.db.default.svc.cluster.local."}));
  std::string v6 = TextName(ReverseName("fd00::11"));
  EXPECT_EQ(v6, "1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.");
  EXPECT_EQ(Rdatas(Ask(v6, kTypePtr).m.answers), (Strings{"dual.default.svc.cluster.local."}));
  // A known reverse name asked for another type: NODATA under the reverse zone's SOA.
  ExpectNoData("10.0.43.10.in-addr.arpa", kTypeA, "in-addr.arpa.");
  // Addresses the cluster does not know, and the not-ready endpoint's: not ours.
  EXPECT_EQ(Ask("7.0.42.10.in-addr.arpa", kTypePtr).outcome, Zone::Outcome::kNotOurs);
  EXPECT_EQ(Ask("8.8.8.8.in-addr.arpa", kTypePtr).outcome, Zone::Outcome::kNotOurs);
  EXPECT_EQ(Ask("43.10.in-addr.arpa", kTypePtr).outcome, Zone::Outcome::kNotOurs);
}

TEST_F(ZoneTest, ExternalNameIsACname) {
  Answer a = Ask("ext.default.svc.cluster.local", kTypeA);
  EXPECT_EQ(a.outcome, Zone::Outcome::kChase);
  EXPECT_EQ(TextName(a.chase), "www.Example.com.");
  ASSERT_EQ(a.m.answers.size(), 1u);
  EXPECT_EQ(a.m.answers[0].type, kTypeCname);
  EXPECT_EQ(testing::Rdata(a.m.answers[0]), "www.Example.com.");
  Answer cname = Ask("ext.default.svc.cluster.local", kTypeCname);
  EXPECT_EQ(cname.outcome, Zone::Outcome::kAnswered);
  EXPECT_EQ(cname.m.answers.size(), 1u);
  // A target inside the zone is followed here.
  Answer alias = Ask("alias.default.svc.cluster.local", kTypeA);
  EXPECT_EQ(alias.outcome, Zone::Outcome::kAnswered);
  EXPECT_EQ(Rdatas(alias.m.answers), (Strings{"web.default.svc.cluster.local.", "10.43.0.10"}));
  // An address as external name is no CNAME (CoreDNS).
  ExpectNxDomain("numeric.default.svc.cluster.local");
  // ExternalName Services have no SRV records.
  ExpectNxDomain("_http._tcp.ext.default.svc.cluster.local", kTypeSrv);
}

TEST_F(ZoneTest, ZoneApexVersionAndEmptyNonTerminals) {
  Answer soa = Ask("cluster.local", kTypeSoa);
  ASSERT_EQ(soa.m.answers.size(), 1u);
  EXPECT_EQ(soa.m.answers[0].type, kTypeSoa);
  Answer ns = Ask("cluster.local", kTypeNs);
  EXPECT_EQ(Rdatas(ns.m.answers), (Strings{"ns.dns.cluster.local."}));
  EXPECT_EQ(Rdatas(ns.m.additional), (Strings{"10.43.0.53"}));
  Answer txt = Ask("dns-version.cluster.local", kTypeTxt);
  EXPECT_EQ(Rdatas(txt.m.answers), (Strings{"1.1.0"}));
  EXPECT_EQ(txt.m.answers[0].ttl, 28800u);
  ExpectNoData("dns-version.cluster.local", kTypeA);
  ExpectNoData("cluster.local", kTypeA);
  ExpectNoData("svc.cluster.local", kTypeA);
  ExpectNoData("default.svc.cluster.local", kTypeA);
  ExpectNoData("quiet.svc.cluster.local", kTypeA);  // a namespace without Services
  ExpectNoData("pod.cluster.local", kTypeA);
  ExpectNxDomain("nosuchns.svc.cluster.local");
  ExpectNxDomain("nosuch.default.svc.cluster.local");
  ExpectNxDomain("x.y.web.default.svc.cluster.local");
  ExpectNxDomain("whatever.cluster.local");
  // The search path kubelet writes: a name with the search suffix appended twice.
  ExpectNxDomain("web.default.svc.cluster.local.default.svc.cluster.local");
  ExpectNxDomain("example.com.default.svc.cluster.local", kTypeAaaa);
}

TEST_F(ZoneTest, PodRecords) {
  EXPECT_EQ(Rdatas(Ask("10-42-1-7.default.pod.cluster.local", kTypeA).m.answers),
            (Strings{"10.42.1.7"}));
  EXPECT_EQ(Rdatas(Ask("fd00--7.quiet.pod.cluster.local", kTypeAaaa).m.answers),
            (Strings{"fd00::7"}));
  ExpectNoData("10-42-1-7.default.pod.cluster.local", kTypeAaaa);
  ExpectNxDomain("10-42-1-7.nosuchns.pod.cluster.local");
  ExpectNxDomain("10-42-1-999.default.pod.cluster.local");
  ExpectNxDomain("web.default.pod.cluster.local");
}

TEST_F(ZoneTest, NotOurs) {
  EXPECT_EQ(Ask("example.com", kTypeA).outcome, Zone::Outcome::kNotOurs);
  EXPECT_EQ(Ask("local", kTypeA).outcome, Zone::Outcome::kNotOurs);
  EXPECT_EQ(Ask("xcluster.local", kTypeA).outcome, Zone::Outcome::kNotOurs);
}

TEST(ZoneBig, TruncatesWholeRecordsAndRotates) {
  std::vector<EndpointInfo> eps;
  for (int i = 0; i < 200; ++i) {
    eps.push_back({{"10.42." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)},
                   "",
                   true,
                   {{"http", "TCP", 8080}}});
  }
  ServiceInfo s;
  s.ns = "default";
  s.name = "many";
  s.kind = ServiceInfo::Kind::kHeadless;
  s.endpoints = eps;
  auto zone = Zone::Build({}, {s}, {"default"}, 1);
  auto ask = [&](size_t limit, uint32_t rotate, uint16_t type) {
    std::string bytes =
        testing::QueryBytes({.name = "many.default.svc.cluster.local", .type = type});
    ParsedQuery p = ParseQuery(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    std::vector<uint8_t> buf(kMaxMessageSize);
    Response r(buf.data());
    r.Begin(p.query, limit, kRcodeNoError, true);
    zone->Answer(p.query, LowerName(p.query.name()), &r, rotate);
    auto out = r.Finish();
    EXPECT_LE(out.size(), limit);
    auto m = ParseMessage(out.data(), out.size());
    EXPECT_TRUE(m.ok());
    return *m;
  };
  Message small = ask(512, 0, kTypeA);
  EXPECT_TRUE(small.header.flags & kFlagTc);
  EXPECT_GT(small.answers.size(), 20u);
  EXPECT_LT(small.answers.size(), 200u);
  Message full = ask(kMaxMessageSize, 0, kTypeA);
  EXPECT_FALSE(full.header.flags & kFlagTc);
  EXPECT_EQ(full.answers.size(), 200u);
  Message turned = ask(kMaxMessageSize, 3, kTypeA);
  ASSERT_EQ(turned.answers.size(), 200u);
  EXPECT_EQ(turned.answers[0].rdata, full.answers[3].rdata);
  EXPECT_EQ(turned.answers[197].rdata, full.answers[0].rdata);
  std::set<std::string> all;
  for (const auto& r : turned.answers) all.insert(r.rdata);
  EXPECT_EQ(all.size(), 200u);
  // SRV: the additional records go first, then answers, with TC.
  Message srv = ask(1232, 0, kTypeSrv);
  (void)srv;
  std::string srv_bytes =
      testing::QueryBytes({.name = "_http._tcp.many.default.svc.cluster.local", .type = kTypeSrv});
  ParsedQuery p = ParseQuery(reinterpret_cast<const uint8_t*>(srv_bytes.data()), srv_bytes.size());
  std::vector<uint8_t> buf(kMaxMessageSize);
  Response r(buf.data());
  r.Begin(p.query, 1232, kRcodeNoError, true);
  zone->Answer(p.query, LowerName(p.query.name()), &r, 0);
  auto out = r.Finish();
  auto m = ParseMessage(out.data(), out.size());
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->header.flags & kFlagTc);
  EXPECT_TRUE(m->additional.empty());
  EXPECT_GT(m->answers.size(), 5u);
}

}  // namespace
}  // namespace keelson::dns

namespace keelson::dns {
namespace {

// The whole zone is rebuilt on every change: it must stay cheap at 10,000 Services (with a
// headless tenth of them, 5 endpoints each). Prints the time; fails only when absurd.
TEST(ZoneBig, BuildsTenThousandServices) {
  std::vector<ServiceInfo> services;
  for (int i = 0; i < 10000; ++i) {
    ServiceInfo s;
    s.ns = "ns" + std::to_string(i % 50);
    s.name = "svc-" + std::to_string(i);
    s.ports = {{"http", "TCP", 80}, {"metrics", "TCP", 9090}};
    if (i % 10 == 0) {
      s.kind = ServiceInfo::Kind::kHeadless;
      for (int e = 0; e < 5; ++e) {
        s.endpoints.push_back({{"10.42." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                                std::to_string(e)},
                               "",
                               true,
                               s.ports});
      }
    } else {
      s.cluster_ips = {"10.43." + std::to_string(i / 250) + "." + std::to_string(i % 250)};
    }
    services.push_back(std::move(s));
  }
  std::vector<std::string> namespaces;
  for (int i = 0; i < 50; ++i) namespaces.push_back("ns" + std::to_string(i));
  auto start = std::chrono::steady_clock::now();
  auto zone = Zone::Build({}, services, namespaces, 1);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  std::printf("built %zu names of 10000 Services in %lld ms\n", zone->name_count(),
              static_cast<long long>(ms));
  EXPECT_GT(zone->name_count(), 40000u);
  EXPECT_LT(ms, 5000);
}

}  // namespace
}  // namespace keelson::dns
