// Service ClusterIP and NodePort allocation over an embedded store.
#include "apiserver/service_alloc.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>

#include "test/util/stores.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

class ServiceAllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    ServiceAllocOptions o;
    o.service_cidr = "10.96.0.0/28";  // 16 addresses: 13 for Services (and the first)
    o.node_port_min = 30000;
    o.node_port_max = 30004;
    auto a = ServiceAllocator::Create(store_.get(), o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    alloc_ = std::make_unique<ServiceAllocator>(std::move(*a));
  }

  // Allocates for a new Service and commits the claims with it, as its create does.
  std::vector<AllocError> Create(const std::string& name, json::object* svc) {
    store::TxnRequest txn;
    auto errs = alloc_->AllocateForCreate(svc, "default/" + name, &txn);
    if (!errs.empty()) return errs;
    txn.success.push_back(store::RequestOp{
        store::PutRequest{"/registry/services/specs/default/" + name, json::serialize(*svc)}});
    auto res = store_->Txn(std::move(txn));
    EXPECT_TRUE(res.ok() && res->succeeded);
    return errs;
  }

  bool Claimed(const std::string& key) { return store_->Get(key).ok(); }

  testing::TempDir dir_{"keelson-alloc"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ServiceAllocator> alloc_;
};

json::object Service(const char* spec) {
  return json::object{{"metadata", json::object{{"name", "s"}, {"namespace", "default"}}},
                      {"spec", json::parse(spec)}};
}

TEST_F(ServiceAllocTest, AddressesAreDistinctInRangeUntilItIsFull) {
  EXPECT_EQ(alloc_->FirstAddress(), "10.96.0.1");
  std::set<std::string> seen;
  for (int i = 0; i < 13; ++i) {
    json::object svc = Service(R"({"ports":[{"port":80}]})");
    ASSERT_TRUE(Create("s" + std::to_string(i), &svc).empty()) << i;
    std::string ip(svc["spec"].at("clusterIP").as_string());
    EXPECT_TRUE(seen.insert(ip).second) << ip;
    EXPECT_NE(ip, "10.96.0.0");   // the network address
    EXPECT_NE(ip, "10.96.0.15");  // the broadcast address
    EXPECT_TRUE(Claimed(ServiceAllocator::IpKey(ip)));
    // The defaults a Service gets with its address.
    EXPECT_EQ(svc["spec"].at("type"), "ClusterIP");
    EXPECT_EQ(svc["spec"].at("ports").at(0).at("targetPort"), 80);
  }
  json::object full = Service(R"({"ports":[{"port":80}]})");
  auto errs = Create("full", &full);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].message, "Internal error: failed to allocate a serviceIP: range is full");
}

TEST_F(ServiceAllocTest, AskedForAddressesMustBeFreeAndInRange) {
  json::object a = Service(R"({"clusterIP":"10.96.0.7","ports":[{"port":80}]})");
  ASSERT_TRUE(Create("a", &a).empty());
  json::object taken = Service(R"({"clusterIP":"10.96.0.7","ports":[{"port":80}]})");
  auto errs = Create("b", &taken);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "spec.clusterIPs");
  EXPECT_NE(errs[0].message.find("provided IP is already allocated"), std::string::npos);
  json::object outside = Service(R"({"clusterIP":"10.0.0.1","ports":[{"port":80}]})");
  errs = Create("c", &outside);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].message.find("is not in the valid range"), std::string::npos);
  // Headless Services take no address.
  json::object headless = Service(R"({"clusterIP":"None","ports":[{"port":80}]})");
  ASSERT_TRUE(Create("h", &headless).empty());
  EXPECT_EQ(headless["spec"].at("clusterIP"), "None");
}

TEST_F(ServiceAllocTest, NodePortsAreAllocatedCheckedAndFreedWithTheType) {
  json::object np = Service(R"({"type":"NodePort","ports":[{"port":80},{"port":81,
    "nodePort":30003}]})");
  ASSERT_TRUE(Create("np", &np).empty());
  int64_t first = np["spec"].at("ports").at(0).at("nodePort").as_int64();
  EXPECT_GE(first, 30000);
  EXPECT_LE(first, 30004);
  EXPECT_TRUE(Claimed(ServiceAllocator::PortKey(30003)));
  json::object dup = Service(R"({"type":"NodePort","ports":[{"port":80,"nodePort":30003}]})");
  auto errs = Create("dup", &dup);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].message.find("provided port is already allocated"), std::string::npos);
  json::object high = Service(R"({"type":"NodePort","ports":[{"port":80,"nodePort":31000}]})");
  errs = Create("high", &high);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].message.find("not in the valid range"), std::string::npos);

  // Back to ClusterIP: the node ports go, freed in the update's transaction.
  json::object back = np;
  back["spec"].as_object()["type"] = "ClusterIP";
  store::TxnRequest txn;
  ASSERT_TRUE(alloc_->CheckUpdate(np, &back, "default/np", &txn).empty());
  EXPECT_FALSE(back["spec"].at("ports").at(0).as_object().contains("nodePort"));
  ASSERT_TRUE(store_->Txn(std::move(txn)).ok());
  EXPECT_FALSE(Claimed(ServiceAllocator::PortKey(30003)));
  // A changed ClusterIP is refused.
  json::object moved = np;
  moved["spec"].as_object()["clusterIP"] =
      np["spec"].at("clusterIP") == "10.96.0.9" ? "10.96.0.10" : "10.96.0.9";
  store::TxnRequest none;
  auto moved_errs = alloc_->CheckUpdate(np, &moved, "default/np", &none);
  ASSERT_FALSE(moved_errs.empty());
  EXPECT_EQ(moved_errs[0].field, "spec.clusterIPs[0]");
  EXPECT_NE(moved_errs[0].message.find("may not change once set"), std::string::npos);
}

TEST_F(ServiceAllocTest, PortsPickedAtRandomNeverTakeOnesTheServiceAsksFor) {
  // Four ports left to pick from, the last asked for by the same Service: whatever the draw,
  // the first port must not take it.
  for (int i = 0; i < 20; ++i) {
    json::object svc = Service(R"({"type":"NodePort","ports":[{"port":80},{"port":81,
      "nodePort":30004}]})");
    ASSERT_TRUE(Create("s" + std::to_string(i), &svc).empty()) << i;
    EXPECT_NE(svc["spec"].at("ports").at(0).at("nodePort"), 30004);
    store::TxnRequest txn;
    alloc_->Release(svc, &txn);
    ASSERT_TRUE(store_->Txn(std::move(txn)).ok());
  }
}

TEST_F(ServiceAllocTest, ReleaseAndRepairKeepClaimsAndServicesInStep) {
  json::object svc = Service(R"({"type":"NodePort","ports":[{"port":80}]})");
  ASSERT_TRUE(Create("web", &svc).empty());
  std::string ip(svc["spec"].at("clusterIP").as_string());
  int64_t port = svc["spec"].at("ports").at(0).at("nodePort").as_int64();
  // A claim lost (as after a crash of an older version) is restored; a stray one is freed.
  ASSERT_TRUE(store_->DeleteRange({ServiceAllocator::IpKey(ip), "", false}).ok());
  // The stray claim is on an address the Service did not draw (it draws at random).
  const std::string stray = ip == "10.96.0.12" ? "10.96.0.13" : "10.96.0.12";
  ASSERT_TRUE(store_->Put(ServiceAllocator::IpKey(stray), "default/gone").ok());
  ASSERT_TRUE(alloc_->Repair().ok());
  EXPECT_TRUE(Claimed(ServiceAllocator::IpKey(ip)));
  EXPECT_FALSE(Claimed(ServiceAllocator::IpKey(stray)));
  // A delete's transaction frees both claims.
  store::TxnRequest txn;
  alloc_->Release(svc, &txn);
  ASSERT_TRUE(store_->Txn(std::move(txn)).ok());
  EXPECT_FALSE(Claimed(ServiceAllocator::IpKey(ip)));
  EXPECT_FALSE(Claimed(ServiceAllocator::PortKey(port)));
}

TEST_F(ServiceAllocTest, LocalLoadBalancersGetAHealthCheckNodePort) {
  json::object lb = Service(R"({"type":"LoadBalancer","externalTrafficPolicy":"Local",
    "ports":[{"port":80}]})");
  ASSERT_TRUE(Create("lb", &lb).empty());
  const auto& spec = lb["spec"].as_object();
  ASSERT_TRUE(spec.contains("healthCheckNodePort"));
  int64_t hc = spec.at("healthCheckNodePort").as_int64();
  EXPECT_GE(hc, 30000);
  EXPECT_LE(hc, 30004);
  EXPECT_NE(hc, spec.at("ports").at(0).at("nodePort").as_int64());
  EXPECT_TRUE(Claimed(ServiceAllocator::PortKey(hc)));
  // A NodePort (or Cluster policy) Service gets none.
  json::object np = Service(R"({"type":"NodePort","externalTrafficPolicy":"Local",
    "healthCheckNodePort":30001,"ports":[{"port":80}]})");
  ASSERT_TRUE(Create("np", &np).empty());
  EXPECT_FALSE(np["spec"].as_object().contains("healthCheckNodePort"));
  // Left out of an update it is kept; switching to Cluster frees it.
  json::object same = lb;
  same["spec"].as_object().erase("healthCheckNodePort");
  store::TxnRequest keep;
  ASSERT_TRUE(alloc_->CheckUpdate(lb, &same, "default/lb", &keep).empty());
  EXPECT_EQ(same["spec"].at("healthCheckNodePort").as_int64(), hc);
  json::object cluster = lb;
  cluster["spec"].as_object()["externalTrafficPolicy"] = "Cluster";
  store::TxnRequest txn;
  ASSERT_TRUE(alloc_->CheckUpdate(lb, &cluster, "default/lb", &txn).empty());
  EXPECT_FALSE(cluster["spec"].as_object().contains("healthCheckNodePort"));
  ASSERT_TRUE(store_->Txn(std::move(txn)).ok());
  EXPECT_FALSE(Claimed(ServiceAllocator::PortKey(hc)));
}

}  // namespace
}  // namespace keelson::apiserver
