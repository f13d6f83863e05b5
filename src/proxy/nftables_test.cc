#include "proxy/nftables.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace keelson::proxy {
namespace {

ServicePort Port(std::string name = "web", std::string ip = "10.43.0.20", int port = 80) {
  ServicePort p;
  p.namespace_name = "shop";
  p.service_name = std::move(name);
  p.port_name = "http";
  p.cluster_ip = std::move(ip);
  p.port = port;
  return p;
}

Endpoint Ep(std::string ip, int port = 8080, std::string node = "n1") {
  return Endpoint{std::move(ip), port, true, true, false, std::move(node)};
}

CategorizedEndpoints Cluster(std::vector<Endpoint> eps) {
  CategorizedEndpoints c;
  c.cluster = std::move(eps);
  c.any_ready_or_serving = !c.cluster.empty();
  return c;
}

RulesetConfig Config() {
  RulesetConfig c;
  c.shards = 1;  // every Service's chains in keelson-proxy-0
  c.cluster_cidrs = {"10.42.0.0/16"};
  c.service_cidr = "10.43.0.0/16";
  return c;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(RenderServiceTest, ClusterIpSpreadsOverEveryEndpointAndMasqueradesOffClusterSources) {
  auto p = Port();
  auto r = RenderService({p}, {Cluster({Ep("10.42.0.5"), Ep("10.42.0.6", 9090)})}, Config());
  std::string chain = ServiceChainName(p);
  EXPECT_TRUE(chain.starts_with("service-"));
  EXPECT_TRUE(chain.ends_with("-shop/web/tcp/http")) << chain;
  ASSERT_TRUE(r.chains.contains(chain));
  EXPECT_EQ(r.chains.at(chain),
            (std::vector<std::string>{
                "numgen random mod 2 0 meta l4proto tcp dnat to 10.42.0.5:8080",
                "meta l4proto tcp dnat to 10.42.0.6:9090"}));
  EXPECT_EQ(r.elements.at("service-ips").at("10.43.0.20 . tcp . 80"), "goto " + chain);
  EXPECT_TRUE(r.elements.at("cluster-ips").contains("10.43.0.20"));
  EXPECT_TRUE(r.elements.at("hairpin-endpoints").contains("10.42.0.5 . 10.42.0.5"));
  EXPECT_TRUE(r.elements.at("hairpin-endpoints").contains("10.42.0.6 . 10.42.0.6"));
  EXPECT_FALSE(r.elements.contains("no-endpoint-services"));
}

TEST(RenderServiceTest, OneEndpointIsAPlainDnat) {
  auto p = Port();
  p.protocol = Protocol::kUdp;
  auto r = RenderService({p}, {Cluster({Ep("10.42.0.5", 53)})}, Config());
  EXPECT_EQ(r.chains.at(ServiceChainName(p)).back(), "meta l4proto udp dnat to 10.42.0.5:53");
}

TEST(RenderServiceTest, NoEndpointsRejects) {
  auto p = Port();
  p.node_port = 30080;
  p.external_ips = {"192.0.2.1"};
  auto r = RenderService({p}, {Cluster({})}, Config());
  EXPECT_TRUE(r.chains.empty());
  EXPECT_EQ(r.elements.at("no-endpoint-services").at("10.43.0.20 . tcp . 80"), "goto reject-chain");
  EXPECT_EQ(r.elements.at("no-endpoint-services").at("192.0.2.1 . tcp . 80"), "goto reject-chain");
  EXPECT_EQ(r.elements.at("no-endpoint-nodeports").at("tcp . 30080"), "goto reject-chain");
  EXPECT_FALSE(r.elements.contains("service-ips"));
  EXPECT_TRUE(r.elements.at("cluster-ips").contains("10.43.0.20"));
}

TEST(RenderServiceTest, NodePortAndExternalIpsGoThroughTheExternalChain) {
  auto p = Port();
  p.node_port = 30080;
  p.external_ips = {"192.0.2.1"};
  p.load_balancer_ips = {"198.51.100.2"};
  auto r = RenderService({p}, {Cluster({Ep("10.42.0.5")})}, Config());
  std::string ext = ExternalChainName(p);
  EXPECT_EQ(r.chains.at(ext), (std::vector<std::string>{"meta mark set meta mark | 0x4000",
                                                         "goto " + ServiceChainName(p)}));
  EXPECT_EQ(r.elements.at("service-nodeports").at("tcp . 30080"), "goto " + ext);
  EXPECT_EQ(r.elements.at("service-ips").at("192.0.2.1 . tcp . 80"), "goto " + ext);
  EXPECT_EQ(r.elements.at("service-ips").at("198.51.100.2 . tcp . 80"), "goto " + ext);
}

TEST(RenderServiceTest, ExternalTrafficPolicyLocal) {
  auto p = Port();
  p.node_port = 30080;
  p.external_local = true;
  CategorizedEndpoints c = Cluster({Ep("10.42.0.5"), Ep("10.42.1.5", 8080, "n2")});
  c.local = {Ep("10.42.0.5")};
  auto r = RenderService({p}, {c}, Config());
  std::string ext = ExternalChainName(p), svc = ServiceChainName(p);
  EXPECT_EQ(r.chains.at(ext),
            (std::vector<std::string>{"ip saddr 10.42.0.0/16 goto " + svc,
                                      "fib saddr type local meta mark set meta mark | 0x4000",
                                      "fib saddr type local goto " + svc,
                                      "meta l4proto tcp dnat to 10.42.0.5:8080"}));
  // No local endpoint: dropped (another node has them), not rejected.
  c.local.clear();
  r = RenderService({p}, {c}, Config());
  EXPECT_FALSE(r.chains.contains(ext));
  EXPECT_EQ(r.elements.at("no-endpoint-nodeports").at("tcp . 30080"), "drop");
}

TEST(RenderServiceTest, InternalTrafficPolicyLocalWithoutLocalEndpointsDrops) {
  auto p = Port();
  p.internal_local = true;
  CategorizedEndpoints c;
  c.any_ready_or_serving = true;  // elsewhere
  auto r = RenderService({p}, {c}, Config());
  EXPECT_EQ(r.elements.at("no-endpoint-services").at("10.43.0.20 . tcp . 80"), "drop");
}

TEST(RenderServiceTest, SessionAffinityKeepsAChainAndASetPerEndpoint) {
  auto p = Port();
  p.session_affinity = true;
  p.affinity_timeout_seconds = 600;
  auto r = RenderService({p}, {Cluster({Ep("10.42.0.5"), Ep("10.42.0.6")})}, Config());
  ASSERT_EQ(r.affinity_sets.size(), 2u);
  for (const auto& [set, timeout] : r.affinity_sets) {
    EXPECT_EQ(timeout, 600);
    EXPECT_TRUE(set.starts_with("affinity-")) << set;
  }
  const auto& rules = r.chains.at(ServiceChainName(p));
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_TRUE(rules[0].starts_with("ip saddr @affinity-")) << rules[0];
  EXPECT_TRUE(rules[2].starts_with("numgen random mod 2 0 goto endpoint-")) << rules[2];
  EXPECT_TRUE(rules[3].starts_with("goto endpoint-")) << rules[3];
  int endpoint_chains = 0;
  for (const auto& [name, body] : r.chains) {
    if (!name.starts_with("endpoint-")) continue;
    ++endpoint_chains;
    ASSERT_EQ(body.size(), 1u);
    EXPECT_TRUE(body[0].starts_with("update @affinity-")) << body[0];
    EXPECT_TRUE(Contains(body[0], "dnat to 10.42.0.")) << body[0];
  }
  EXPECT_EQ(endpoint_chains, 2);
}

TEST(RenderServiceTest, SeveralClusterCidrsUseTheNamedSet) {
  RulesetConfig c = Config();
  c.cluster_cidrs = {"10.42.0.0/16", "10.50.0.0/16"};
  NftablesTable t(c);
  std::string s = t.Transaction(true, true);
  EXPECT_TRUE(Contains(s, "add element ip keelson-proxy cluster-cidrs { 10.42.0.0/16, 10.50.0.0/16 }"));
  EXPECT_TRUE(Contains(s, "add rule ip keelson-proxy nat-prerouting ip daddr @cluster-ips ip saddr != "
                          "@cluster-cidrs jump mark-for-masquerade"));
}

TEST(RenderServiceTest, ClusterIpMasqueradeIsOneRuleForAllServices) {
  auto p = Port();
  // Per Service: only the DNAT.
  auto r = RenderService({p}, {Cluster({Ep("10.42.0.5")})}, Config());
  EXPECT_EQ(r.chains.at(ServiceChainName(p)),
            std::vector<std::string>{"meta l4proto tcp dnat to 10.42.0.5:8080"});
  EXPECT_TRUE(Contains(NftablesTable(Config()).Transaction(true, true),
                       "add rule ip keelson-proxy nat-prerouting ip daddr @cluster-ips ip saddr != "
                       "10.42.0.0/16 jump mark-for-masquerade"));
  RulesetConfig all;
  all.masquerade_all = true;
  EXPECT_TRUE(Contains(NftablesTable(all).Transaction(true, true),
                       "add rule ip keelson-proxy nat-output ip daddr @cluster-ips jump "
                       "mark-for-masquerade"));
  RulesetConfig none;
  EXPECT_FALSE(Contains(NftablesTable(none).Transaction(true, true), "ip daddr @cluster-ips jump"));
}

TEST(NftablesTableTest, FullTransactionHasTheBaseAndEveryService) {
  NftablesTable t(Config());
  auto p = Port();
  t.SetService("shop/web", RenderService({p}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  std::string s = t.Transaction(true, true);
  EXPECT_TRUE(s.starts_with("add table ip keelson-proxy\ndelete table ip keelson-proxy\n"));
  EXPECT_TRUE(Contains(s, "add rule ip keelson-proxy cluster-ips-check ip daddr 10.43.0.0/16 drop"));
  EXPECT_TRUE(Contains(s, "add element ip keelson-proxy-0 service-ips { 10.43.0.20 . tcp . 80 : goto " +
                              ServiceChainName(p) + " }"));
  EXPECT_TRUE(Contains(s, "flush map ip keelson-proxy-0 service-ips"));
  EXPECT_TRUE(Contains(s, "add rule ip keelson-proxy-0 " + ServiceChainName(p) +
                              " meta l4proto tcp dnat to 10.42.0.5:8080"));
  // The shard's hooks lead to its services; the main table's mark ClusterIP traffic first.
  EXPECT_TRUE(Contains(s, "add chain ip keelson-proxy-0 nat-prerouting { type nat hook prerouting "
                          "priority dstnat; policy accept; }"));
  EXPECT_TRUE(Contains(s, "add chain ip keelson-proxy nat-prerouting { type nat hook prerouting "
                          "priority -101; policy accept; }"));
}

TEST(NftablesTableTest, PartialTransactionsTouchOnlyWhatChanged) {
  NftablesTable t(Config());
  auto web = Port("web", "10.43.0.20");
  auto db = Port("db", "10.43.0.21");
  t.SetService("shop/web", RenderService({web}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  t.SetService("shop/db", RenderService({db}, {Cluster({Ep("10.42.0.9")})}, t.config()));
  (void)t.Transaction(true, true);
  t.Committed(true);
  EXPECT_FALSE(t.HasChanges());
  EXPECT_EQ(t.Transaction(false), "");

  // The same rules again: nothing to do.
  t.SetService("shop/web", RenderService({web}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  EXPECT_FALSE(t.HasChanges());

  // web gains an endpoint: its chain is rewritten and one hairpin element added; db untouched.
  t.SetService("shop/web",
               RenderService({web}, {Cluster({Ep("10.42.0.5"), Ep("10.42.0.6")})}, t.config()));
  std::string s = t.Transaction(false);
  EXPECT_EQ(s,
            "add chain ip keelson-proxy-0 " + ServiceChainName(web) + "\n" +
            "flush chain ip keelson-proxy-0 " + ServiceChainName(web) + "\n" +
            "add rule ip keelson-proxy-0 " + ServiceChainName(web) +
            " numgen random mod 2 0 meta l4proto tcp dnat to 10.42.0.5:8080\n" +
            "add rule ip keelson-proxy-0 " + ServiceChainName(web) +
            " meta l4proto tcp dnat to 10.42.0.6:8080\n" +
            "add element ip keelson-proxy hairpin-endpoints { 10.42.0.6 . 10.42.0.6 }\n");
  t.Committed(false);

  // web loses every endpoint: the chain goes after its map element, and a reject comes in.
  t.SetService("shop/web", RenderService({web}, {Cluster({})}, t.config()));
  s = t.Transaction(false);
  auto pos = [&](const std::string& text) {
    auto p = s.find(text);
    EXPECT_NE(p, std::string::npos) << text << "\nin:\n" << s;
    return p;
  };
  auto del_elem = pos("delete element ip keelson-proxy-0 service-ips { 10.43.0.20 . tcp . 80 }");
  auto add_reject = pos("add element ip keelson-proxy no-endpoint-services { 10.43.0.20 . tcp . "
                        "80 : goto reject-chain }");
  auto del_chain = pos("delete chain ip keelson-proxy-0 " + ServiceChainName(web));
  EXPECT_LT(del_elem, del_chain);
  EXPECT_LT(add_reject, del_chain);
  EXPECT_FALSE(Contains(s, "db"));
  t.Committed(false);

  // db removed entirely.
  t.SetService("shop/db", std::nullopt);
  s = t.Transaction(false);
  EXPECT_TRUE(Contains(s, "delete element ip keelson-proxy cluster-ips { 10.43.0.21 }"));
  EXPECT_TRUE(Contains(s, "delete chain ip keelson-proxy-0 " + ServiceChainName(db)));
  t.Committed(false);
  EXPECT_EQ(t.ServiceCount(), 1u);
}

TEST(NftablesTableTest, SharedElementsStayWhileAnyServiceWantsThem) {
  NftablesTable t(Config());
  auto a = Port("a", "10.43.0.30");
  auto b = Port("b", "10.43.0.31");
  // Both Services select the same pod: one hairpin element for both.
  t.SetService("shop/a", RenderService({a}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  t.SetService("shop/b", RenderService({b}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  (void)t.Transaction(true, true);
  t.Committed(true);
  t.SetService("shop/a", std::nullopt);
  std::string s = t.Transaction(false);
  EXPECT_FALSE(Contains(s, "hairpin-endpoints")) << s;
  t.Committed(false);
  t.SetService("shop/b", std::nullopt);
  s = t.Transaction(false);
  // Left for the next full sync (which refills the set from what is wanted).
  EXPECT_FALSE(Contains(s, "hairpin-endpoints")) << s;
  t.Committed(false);
  EXPECT_FALSE(Contains(t.Transaction(true, false), "10.42.0.5 . 10.42.0.5"));
}

TEST(NftablesTableTest, ConflictingExternalIpGoesToOneServiceUntilItLeaves) {
  NftablesTable t(Config());
  auto a = Port("a", "10.43.0.30");
  auto b = Port("b", "10.43.0.31");
  a.external_ips = b.external_ips = {"192.0.2.9"};
  t.SetService("shop/a", RenderService({a}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  t.SetService("shop/b", RenderService({b}, {Cluster({Ep("10.42.0.6")})}, t.config()));
  std::string s = t.Transaction(true, true);
  EXPECT_TRUE(Contains(s, "192.0.2.9 . tcp . 80 : goto " + ExternalChainName(a)));
  EXPECT_FALSE(Contains(s, "192.0.2.9 . tcp . 80 : goto " + ExternalChainName(b)));
  t.Committed(true);
  t.SetService("shop/a", std::nullopt);
  s = t.Transaction(false);
  EXPECT_TRUE(Contains(s, "delete element ip keelson-proxy-0 service-ips { 10.43.0.30 . tcp . 80, "
                          "192.0.2.9 . tcp . 80 }"))
      << s;
  EXPECT_TRUE(Contains(s, "192.0.2.9 . tcp . 80 : goto " + ExternalChainName(b))) << s;
}

TEST(NftablesTableTest, ServicesAreSpreadOverShardTables) {
  RulesetConfig c = Config();
  c.shards = 4;
  NftablesTable t(c);
  std::set<int> used;
  for (int i = 0; i < 40; ++i) {
    std::string name = "s" + std::to_string(i);
    auto p = Port(name, "10.43.1." + std::to_string(i + 1));
    t.SetService("shop/" + name, RenderService({p}, {Cluster({Ep("10.42.0.5")})}, c));
    used.insert(ShardOf(c, "shop/" + name));
  }
  EXPECT_EQ(used.size(), 4u);
  std::string s = t.Transaction(true, true);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(Contains(s, "add chain ip keelson-proxy-" + std::to_string(i) +
                            " services\n"));
  }
  t.Committed(true);
  // A Service's chain and its service-ips element are in its own shard.
  auto p = Port("s7", "10.43.1.8");
  t.SetService("shop/s7", RenderService({p}, {Cluster({Ep("10.42.0.9")})}, c));
  s = t.Transaction(false);
  std::string shard = ShardTable(c, ShardOf(c, "shop/s7"));
  EXPECT_TRUE(Contains(s, "flush chain ip " + shard + " " + ServiceChainName(p))) << s;
  EXPECT_EQ(AllTables(c).size(), 5u);
}

TEST(NftablesTableTest, FullResyncDeletesChainsNobodyWants) {
  NftablesTable t(Config());
  auto a = Port("a", "10.43.0.30");
  t.SetService("shop/a", RenderService({a}, {Cluster({Ep("10.42.0.5")})}, t.config()));
  (void)t.Transaction(true, true);
  t.Committed(true);
  t.SetService("shop/a", std::nullopt);
  std::string s = t.Transaction(true, false);
  EXPECT_FALSE(Contains(s, "delete table"));
  EXPECT_TRUE(Contains(s, "delete chain ip keelson-proxy-0 " + ServiceChainName(a)));
  t.Committed(true);
  s = t.Transaction(true, false);
  EXPECT_FALSE(Contains(s, "delete chain"));
}

}  // namespace
}  // namespace keelson::proxy
