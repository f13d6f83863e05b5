// The CIDR bitmap, and the node IPAM controller in a controller manager against an in-process
// API server.
#include "controllers/nodeipam/node_ipam_controller.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>

#include "controllers/controller_manager.h"
#include "controllers/nodeipam/cidr_set.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using testing::Eventually;

IpNet Cidr(std::string_view text) {
  auto c = ParseCidr(text);
  EXPECT_TRUE(c.ok()) << text;
  return c.ok() ? *c : IpNet();
}

TEST(CidrSetTest, ParsesCidrsAsGoDoes) {
  EXPECT_EQ(Cidr("10.244.1.7/16").String(), "10.244.0.0/16");
  EXPECT_EQ(Cidr("10.244.1.7/08").String(), "10.0.0.0/8");
  EXPECT_EQ(Cidr("fd00:10:244:0:0:0:0:1/56").String(), "fd00:10:244::/56");
  for (const char* bad : {"10.244.0.0", "10.244.0.0/33", "10.244.0.0/-1", "banana/8",
                          "10.244.0.0/", "fd00::/129"}) {
    auto c = ParseCidr(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().message(), std::string("invalid CIDR address: ") + bad);
  }
}

TEST(CidrSetTest, AllocatesRoundRobinSkippingWhatIsOccupied) {
  auto set = CidrSet::New(Cidr("10.244.0.0/16"), 24);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->max_blocks(), 256u);
  EXPECT_EQ(set->AllocateNext()->String(), "10.244.0.0/24");
  ASSERT_TRUE(set->Occupy(Cidr("10.244.1.0/24")).ok());
  ASSERT_TRUE(set->Occupy(Cidr("10.244.4.0/22")).ok());  // four blocks at once
  EXPECT_EQ(set->allocated(), 6u);
  EXPECT_EQ(set->AllocateNext()->String(), "10.244.2.0/24");
  EXPECT_EQ(set->AllocateNext()->String(), "10.244.3.0/24");
  EXPECT_EQ(set->AllocateNext()->String(), "10.244.8.0/24");
  ASSERT_TRUE(set->Release(Cidr("10.244.5.0/24")).ok());
  EXPECT_EQ(set->allocated(), 8u);
  EXPECT_FALSE(set->Occupy(Cidr("10.245.0.0/24")).ok());
  EXPECT_FALSE(set->Occupy(Cidr("fd00::/64")).ok());
}

TEST(CidrSetTest, Ipv6Blocks) {
  auto set = CidrSet::New(Cidr("fd00:10:244::/56"), 64);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->AllocateNext()->String(), "fd00:10:244::/64");
  EXPECT_EQ(set->AllocateNext()->String(), "fd00:10:244:1::/64");
  EXPECT_FALSE(CidrSet::New(Cidr("fd00::/48"), 65).ok());  // 2^17 blocks: upstream's limit
}

TEST(CidrSetTest, ExhaustionAndRelease) {
  auto set = CidrSet::New(Cidr("10.0.0.0/30"), 31);
  ASSERT_TRUE(set.ok());
  auto a = set->AllocateNext();
  auto b = set->AllocateNext();
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = set->AllocateNext();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(c.status().message(),
            "CIDR allocation failed; there are no remaining CIDRs left to allocate in the "
            "accepted range");
  ASSERT_TRUE(set->Release(*a).ok());
  EXPECT_EQ(set->AllocateNext()->String(), a->String());
  EXPECT_FALSE(CidrSet::New(Cidr("10.0.0.0/16"), 15).ok());
}

class NodeIpamTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  void StartManager(std::string cluster_cidr, int v4_mask = 24, int v6_mask = 64) {
    if (manager_) manager_->Stop();
    ControllerManagerOptions o;
    o.controllers = {"nodeipam"};
    o.leader_elect = false;
    o.controller.allocate_node_cidrs = true;
    o.controller.cluster_cidr = std::move(cluster_cidr);
    o.controller.node_cidr_mask_size_ipv4 = v4_mask;
    o.controller.node_cidr_mask_size_ipv6 = v6_mask;
    auto m = ControllerManager::Create(api_.client(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    manager_->Start();
    ASSERT_TRUE(manager_->WaitRunning(true, 10s));
  }

  void CreateNode(const std::string& name) {
    api_.Create("", "nodes", "", R"({"metadata":{"name":")" + name + R"("}})");
  }

  std::vector<std::string> PodCidrs(const std::string& node) {
    std::vector<std::string> out;
    auto n = api_.Get("", "nodes", "", node);
    if (!n) return out;
    const auto* spec = n->if_contains("spec");
    const auto* list = spec ? spec->as_object().if_contains("podCIDRs") : nullptr;
    if (!list) return out;
    for (const auto& c : list->as_array()) out.emplace_back(c.as_string());
    EXPECT_EQ(spec->as_object().at("podCIDR"), json::value(out.front()));
    return out;
  }

  bool HasEvent(const std::string& node, const std::string& reason) {
    auto list = api_.Resource("events.k8s.io", "events", "default").List();
    if (!list.ok()) return false;
    for (const auto& e : list->at("items").as_array()) {
      const auto& o = e.as_object();
      if (api::FieldText(o, "reason") == reason && api::FieldText(o, "regarding.name") == node &&
          api::FieldText(o, "note") == "Node " + node + " status is now: " + reason) {
        return true;
      }
    }
    return false;
  }

  testing::InProcessApi api_;
  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(NodeIpamTest, EveryNodeGetsItsOwnBlockOfTheClusterCidr) {
  CreateNode("before");
  StartManager("10.244.0.0/16");
  for (const char* n : {"n1", "n2", "n3"}) CreateNode(n);
  std::set<std::string> seen;
  for (const char* n : {"before", "n1", "n2", "n3"}) {
    ASSERT_TRUE(Eventually([&] { return !PodCidrs(n).empty(); })) << n;
    auto cidrs = PodCidrs(n);
    ASSERT_EQ(cidrs.size(), 1u);
    EXPECT_EQ(cidrs[0].rfind("10.244.", 0), 0u) << cidrs[0];
    EXPECT_EQ(cidrs[0].substr(cidrs[0].size() - 3), "/24");
    EXPECT_TRUE(seen.insert(cidrs[0]).second) << "given twice: " << cidrs[0];
  }
}

TEST_F(NodeIpamTest, DualStackNodesGetOneBlockOfEachFamily) {
  StartManager("10.244.0.0/16,fd00:10:244::/56", 24, 64);
  CreateNode("n1");
  CreateNode("n2");
  ASSERT_TRUE(Eventually([&] { return PodCidrs("n1").size() == 2 && PodCidrs("n2").size() == 2; }));
  auto a = PodCidrs("n1"), b = PodCidrs("n2");
  EXPECT_NE(a[0], b[0]);
  EXPECT_NE(a[1], b[1]);
  EXPECT_EQ(a[0].find(':'), std::string::npos);
  EXPECT_EQ(a[1].rfind("fd00:10:244:", 0), 0u) << a[1];
  EXPECT_EQ(a[1].substr(a[1].size() - 3), "/64");
}

TEST_F(NodeIpamTest, FullRangeIsAnEventAndADeletedNodesBlockIsReused) {
  StartManager("10.0.0.0/30", 31);  // two blocks
  CreateNode("n1");
  CreateNode("n2");
  ASSERT_TRUE(Eventually([&] { return !PodCidrs("n1").empty() && !PodCidrs("n2").empty(); }));
  CreateNode("n3");
  EXPECT_TRUE(Eventually([&] { return HasEvent("n3", "CIDRNotAvailable"); }));
  EXPECT_TRUE(PodCidrs("n3").empty());
  const std::string freed = PodCidrs("n1")[0];
  ASSERT_TRUE(api_.Resource("", "nodes").Delete("n1").ok());
  // n3 is retried with the queue's backoff and gets the block n1 held.
  ASSERT_TRUE(Eventually([&] { return !PodCidrs("n3").empty(); }, 20s));
  EXPECT_EQ(PodCidrs("n3")[0], freed);
}

TEST_F(NodeIpamTest, ARestartedControllerKeepsWhatTheNodesHold) {
  StartManager("10.0.0.0/29", 31);  // four blocks
  CreateNode("n1");
  CreateNode("n2");
  ASSERT_TRUE(Eventually([&] { return !PodCidrs("n1").empty() && !PodCidrs("n2").empty(); }));
  const std::string c1 = PodCidrs("n1")[0], c2 = PodCidrs("n2")[0];
  manager_->Stop();
  manager_.reset();
  StartManager("10.0.0.0/29", 31);
  CreateNode("n3");
  CreateNode("n4");
  ASSERT_TRUE(Eventually([&] { return !PodCidrs("n3").empty() && !PodCidrs("n4").empty(); }));
  std::set<std::string> all = {c1, c2, PodCidrs("n3")[0], PodCidrs("n4")[0]};
  EXPECT_EQ(all.size(), 4u);
  EXPECT_EQ(PodCidrs("n1")[0], c1);
}

TEST_F(NodeIpamTest, BadSettingsAreFactoryErrors) {
  client::SharedInformerFactory informers(api_.client());
  auto make = [&](bool allocate, std::string cidr, int v4 = 24, int v6 = 64) {
    ControllerOptions o;
    o.allocate_node_cidrs = allocate;
    o.cluster_cidr = std::move(cidr);
    o.node_cidr_mask_size_ipv4 = v4;
    o.node_cidr_mask_size_ipv6 = v6;
    ControllerContext ctx(api_.client(), &informers, RealClock(), o);
    return NewNodeIpamController(ctx);
  };
  auto error = [&](Result<std::unique_ptr<Controller>> r) {
    return r.ok() ? std::string("(no error)") : r.status().message();
  };
  auto off = make(false, "");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);  // not started, as upstream
  EXPECT_NE(error(make(true, "")).find("--cluster-cidr is required"), std::string::npos);
  EXPECT_NE(error(make(true, "10.244.0.0/33")).find("invalid CIDR address: 10.244.0.0/33"),
            std::string::npos);
  EXPECT_NE(error(make(true, "10.0.0.0/16,10.1.0.0/16")).find("one IPv4 and one IPv6"),
            std::string::npos);
  EXPECT_NE(error(make(true, "10.0.0.0/16", 8)).find("--node-cidr-mask-size-ipv4 (8)"),
            std::string::npos);
  EXPECT_NE(error(make(true, "fd00::/48", 24, 80)).find("too big"), std::string::npos);
  auto good = make(true, "10.244.0.0/16, fd00::/56");
  EXPECT_TRUE(good.ok() && *good != nullptr) << error(std::move(good));
}

}  // namespace
}  // namespace keelson::controllers
