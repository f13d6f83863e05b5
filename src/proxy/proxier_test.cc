// The proxier against an in-process API server, with a fake packet filter and conntrack:
// what it asks the kernel to do when Services and slices change, when a transaction fails,
// and what its health check node ports answer.
#include <gtest/gtest.h>

#include <mutex>

#include <boost/json.hpp>

#include "proxy/proxy.h"
#include "test/util/control_plane.h"

namespace keelson::proxy {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

class FakeFilter : public PacketFilter {
 public:
  Status Apply(const std::string& script) override {
    std::lock_guard l(mu);
    scripts.push_back(script);
    if (fail_next > 0) {
      --fail_next;
      return UnavailableError("injected");
    }
    exists = true;
    if (script.find("delete table") != std::string::npos &&
        script.find("add chain") == std::string::npos) {
      exists = false;  // --cleanup
    }
    return Status::Ok();
  }
  Result<bool> MapExists(const std::string&, const std::string&) override {
    std::lock_guard l(mu);
    return exists;
  }
  Result<std::string> ListTable(const std::string&) override { return std::string(); }

  std::vector<std::string> Scripts() {
    std::lock_guard l(mu);
    return scripts;
  }
  std::mutex mu;
  std::vector<std::string> scripts;
  int fail_next = 0;
  bool exists = false;
};

class FakeConntrack : public Conntrack {
 public:
  Status ClearDestination(const std::string& protocol, const std::string& ip,
                          const std::string& endpoint_ip) override {
    std::lock_guard l(mu);
    calls.push_back("dst " + protocol + " " + ip + " " + endpoint_ip);
    return Status::Ok();
  }
  Status ClearNodePort(const std::string& protocol, int port,
                       const std::string& endpoint_ip) override {
    std::lock_guard l(mu);
    calls.push_back("nodeport " + protocol + " " + std::to_string(port) + " " + endpoint_ip);
    return Status::Ok();
  }
  bool Has(const std::string& call) {
    std::lock_guard l(mu);
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
  std::mutex mu;
  std::vector<std::string> calls;
};

class ProxierTest : public ::testing::Test {
 protected:
  void Start() {
    ProxyOptions o;
    o.node_name = "n1";
    o.ruleset.cluster_cidrs = {"10.42.0.0/16"};
    o.filter = &filter_;
    o.conntrack = &conntrack_;
    o.healthz_bind_address = "127.0.0.1";
    o.healthz_port = 0;
    o.set_sysctls = false;
    o.table_check_period = 100ms;
    client_ = api_.NewClient(nullptr, "keelson-proxy");
    auto p = Proxy::Start(client_.get(), o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    proxy_ = std::move(*p);
    ASSERT_TRUE(proxy_->WaitForFirstSync(10s));
  }
  void TearDown() override {
    if (proxy_) proxy_->Stop();
  }
  void Slice(const std::string& name, const std::string& endpoints) {
    auto rc = api_.Resource("discovery.k8s.io", "endpointslices", "default");
    std::string manifest =
        R"({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":")" +
        name + R"(-1","labels":{"kubernetes.io/service-name":")" + name +
        R"("}},"addressType":"IPv4","endpoints":)" + endpoints +
        R"(,"ports":[{"name":"dns","port":5353,"protocol":"UDP"}]})";
    auto cur = rc.Get(name + "-1");
    if (!cur.ok()) {
      api_.Create("discovery.k8s.io", "endpointslices", "default", manifest);
      return;
    }
    // Changed in place, as the EndpointSlice controller does.
    api::Object next = boost::json::parse(manifest).as_object();
    api::SetNamespace(&next, "default");
    api::SetResourceVersion(&next, api::GetResourceVersion(*cur));
    ASSERT_TRUE(rc.Update(next).ok());
  }
  bool ScriptsContain(const std::string& text) {
    for (const auto& s : filter_.Scripts()) {
      if (s.find(text) != std::string::npos) return true;
    }
    return false;
  }

  testing::InProcessApi api_;
  std::unique_ptr<client::RestClient> client_;
  FakeFilter filter_;
  FakeConntrack conntrack_;
  std::unique_ptr<Proxy> proxy_;
};

TEST_F(ProxierTest, FirstSyncRecreatesTheTableThenChangesArePartial) {
  Start();
  auto scripts = filter_.Scripts();
  ASSERT_FALSE(scripts.empty());
  EXPECT_TRUE(scripts[0].starts_with("add table ip keelson-proxy\ndelete table ip keelson-proxy\n"))
      << scripts[0].substr(0, 200);
  api_.Create("", "services", "default",
              R"({"metadata":{"name":"dns"},"spec":{"clusterIP":"10.43.0.53",
                 "ports":[{"name":"dns","port":53,"protocol":"UDP","targetPort":5353}]}})");
  ASSERT_TRUE(Eventually([&] { return ScriptsContain("10.43.0.53 . udp . 53 : goto reject-chain"); }));
  Slice("dns", R"([{"addresses":["10.42.0.7"]},{"addresses":["10.42.0.8"]}])");
  ASSERT_TRUE(Eventually([&] { return ScriptsContain("numgen random mod 2 0 meta l4proto udp dnat to 10.42.0.7:5353"); }));
  // The partial transaction names only this Service's pieces, never the base chains.
  EXPECT_FALSE(filter_.Scripts().back().find("nat-prerouting") != std::string::npos);
  // The Service got its first endpoints: the flows rejected meanwhile are cleared.
  EXPECT_TRUE(Eventually([&] { return conntrack_.Has("dst udp 10.43.0.53 "); }));
  // An endpoint goes: its UDP flows are cleared.
  Slice("dns", R"([{"addresses":["10.42.0.8"]}])");
  EXPECT_TRUE(Eventually([&] { return conntrack_.Has("dst udp 10.43.0.53 10.42.0.7"); }));
  EXPECT_FALSE(conntrack_.Has("dst udp 10.43.0.53 10.42.0.8"));
  EXPECT_GE(proxy_->Stats().syncs, 3);
}

TEST_F(ProxierTest, AFailedTransactionIsFollowedByARebuild) {
  Start();
  filter_.fail_next = 1;
  api_.Create("", "services", "default",
              R"({"metadata":{"name":"web"},"spec":{"clusterIP":"10.43.0.80",
                 "ports":[{"port":80}]}})");
  ASSERT_TRUE(Eventually([&] { return proxy_->Stats().failed_syncs == 1; }));
  // The next one recreates the whole table, with the Service in it.
  ASSERT_TRUE(Eventually(
      [&] {
        auto s = filter_.Scripts().back();
        return s.find("delete table ip keelson-proxy") != std::string::npos &&
               s.find("10.43.0.80 . tcp . 80") != std::string::npos;
      },
      5s));
  EXPECT_EQ(proxy_->Stats().full_syncs, 2);
}

TEST_F(ProxierTest, AMissingTableIsRebuilt) {
  Start();
  int64_t full = proxy_->Stats().full_syncs;
  {
    std::lock_guard l(filter_.mu);
    filter_.exists = false;  // someone deleted it
  }
  EXPECT_TRUE(Eventually([&] { return proxy_->Stats().full_syncs > full; }, 5s));
}

TEST_F(ProxierTest, StopRemovesTheTable) {
  Start();
  proxy_->Stop();
  std::string last = filter_.Scripts().back();
  EXPECT_TRUE(last.starts_with("add table ip keelson-proxy\ndelete table ip keelson-proxy\n"));
  EXPECT_NE(last.find("delete table ip keelson-proxy-15\n"), std::string::npos) << last;
}

}  // namespace
}  // namespace keelson::proxy
