// Hollow nodes against an in-process API server (through the client library's in-process
// transport) over an embedded store, with a fake clock for their heartbeats.
#include "simnode/hollow_nodes.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <thread>

#include "api/object.h"
#include "apiserver/apiserver.h"
#include "client/transport.h"
#include "test/util/stores.h"

namespace keelson::simnode {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class HollowNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_);
    ASSERT_NE(store_, nullptr);
    apiserver::ApiServerOptions o;
    auto api = apiserver::ApiServer::Create(store_.get(), std::move(o));
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(*api);
    ASSERT_TRUE(api_->Bootstrap().ok());
    client::RestConfig rc;
    rc.server = "in-process";
    client_ = std::make_unique<client::RestClient>(
        rc, std::shared_ptr<client::Transport>(client::NewInProcessTransport(api_.get())),
        clock_);
  }
  void TearDown() override {
    if (nodes_) nodes_->Stop();
    api_->Shutdown();
  }

  client::ResourceClient Resource(std::string_view group, std::string_view resource,
                                  std::string_view ns = "") {
    auto r = client_->Resource(group, resource);
    EXPECT_TRUE(r.ok());
    return r->Namespace(ns);
  }

  // Waits (in real time) until `pred` holds.
  bool Eventually(const std::function<bool()>& pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  void StartNodes(int count) {
    HollowNodesOptions o;
    o.count = count;
    o.node.labels = {{"topology.kubernetes.io/zone", "zone-a"}};
    o.node.taints = json::array{json::object{{"key", "dedicated"}, {"value", "sim"},
                                             {"effect", "PreferNoSchedule"}}};
    o.node.cpu = "8";
    o.clock = clock_;
    auto n = HollowNodes::Start(client_.get(), o);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    nodes_ = std::move(*n);
    ASSERT_TRUE(nodes_->WaitRegistered(20s));
  }

  testing::TempDir dir_{"keelson-simnode"};
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<apiserver::ApiServer> api_;
  std::unique_ptr<client::RestClient> client_;
  std::unique_ptr<HollowNodes> nodes_;
};

TEST_F(HollowNodesTest, NodesRegisterWithTheirCapacityLabelsTaintsAndLeases) {
  StartNodes(20);
  EXPECT_EQ(nodes_->Stats().registered, 20);
  auto node = Resource("", "nodes").Get("hollow-node-7");
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(api::GetLabels(*node).at("kubernetes.io/hostname"), "hollow-node-7");
  EXPECT_EQ(api::GetLabels(*node).at("topology.kubernetes.io/zone"), "zone-a");
  EXPECT_EQ(api::FieldText(*node, "status.capacity.cpu"), "8");
  EXPECT_EQ(api::FieldText(*node, "status.allocatable.pods"), "110");
  const auto& taint = node->at("spec").at("taints").as_array().at(0);
  EXPECT_EQ(taint.at("effect"), "PreferNoSchedule");
  bool ready = false;
  for (const auto& c : node->at("status").at("conditions").as_array()) {
    if (c.at("type") == "Ready") ready = c.at("status") == "True";
  }
  EXPECT_TRUE(ready);
  auto lease = Resource("coordination.k8s.io", "leases", "kube-node-lease").Get("hollow-node-7");
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_EQ(api::FieldText(*lease, "spec.holderIdentity"), "hollow-node-7");
  EXPECT_EQ(api::FieldText(*lease, "spec.leaseDurationSeconds"), "40");
  // A MicroTime, as upstream's kubelet writes it.
  std::string renew = api::FieldText(*lease, "spec.renewTime");
  EXPECT_EQ(renew.size(), std::string("2026-01-01T00:00:00.000000Z").size()) << renew;
  EXPECT_EQ(api::GetOwnerReferences(*lease).at(0).kind, "Node");
  auto all = Resource("", "nodes").List();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->at("items").as_array().size(), 20u);
}

TEST_F(HollowNodesTest, LeasesAreRenewedEveryIntervalUntilStopped) {
  StartNodes(3);
  auto leases = Resource("coordination.k8s.io", "leases", "kube-node-lease");
  auto first = leases.Get("hollow-node-1");
  ASSERT_TRUE(first.ok());
  std::string t0 = api::FieldText(*first, "spec.renewTime");
  // Time moves a second per poll: a renewal thread that went to sleep after an advance
  // still sees its interval pass.
  ASSERT_TRUE(Eventually([&] {
    clock_->Advance(1s);
    auto now = leases.Get("hollow-node-1");
    return now.ok() && api::FieldText(*now, "spec.renewTime") != t0 &&
           nodes_->Stats().lease_renewals >= 3u;
  }));
  // Stopped (as a killed agent): the leases are no longer renewed.
  nodes_->Stop();
  auto stopped = leases.Get("hollow-node-1");
  ASSERT_TRUE(stopped.ok());
  clock_->Advance(30s);
  std::this_thread::sleep_for(200ms);
  auto later = leases.Get("hollow-node-1");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(api::FieldText(*later, "spec.renewTime"), api::FieldText(*stopped, "spec.renewTime"));
}

TEST_F(HollowNodesTest, BoundPodsRunAndDeletedPodsGo) {
  StartNodes(2);
  auto pods = Resource("", "pods", "default");
  auto created = pods.Create(json::parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"web"},"spec":{"nodeName":"hollow-node-1",
    "containers":[{"name":"c","image":"nginx:1"}]}})").as_object());
  ASSERT_TRUE(created.ok()) << created.error().message;
  // Pods of nodes this process does not run are left alone.
  ASSERT_TRUE(pods.Create(json::parse(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"elsewhere"},"spec":{"nodeName":"real-node",
    "containers":[{"name":"c","image":"nginx:1"}]}})").as_object()).ok());
  api::Object running;
  ASSERT_TRUE(Eventually([&] {
    auto p = pods.Get("web");
    if (!p.ok() || api::FieldText(*p, "status.phase") != "Running") return false;
    running = *p;
    return true;
  }));
  EXPECT_TRUE(api::FieldText(running, "status.podIP").starts_with("10."));
  EXPECT_FALSE(api::FieldText(running, "status.hostIP").empty());
  const auto& cs = running.at("status").at("containerStatuses").as_array().at(0);
  EXPECT_EQ(cs.at("ready"), true);
  EXPECT_EQ(cs.at("image"), "nginx:1");
  bool ready = false;
  for (const auto& c : running.at("status").at("conditions").as_array()) {
    if (c.at("type") == "Ready") ready = c.at("status") == "True";
  }
  EXPECT_TRUE(ready);
  auto other = pods.Get("elsewhere");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(api::FieldText(*other, "status.phase"), "Pending");

  // A graceful delete marks the pod; its hollow node finishes it.
  auto marked = pods.Delete("web");
  ASSERT_TRUE(marked.ok()) << marked.error().message;
  EXPECT_TRUE(api::IsBeingDeleted(*marked));
  EXPECT_TRUE(Eventually([&] { return api::IsNotFound(pods.Get("web")); }));
  EXPECT_EQ(nodes_->Stats().pods_deleted, 1u);
}

TEST(NodeTemplateTest, FilesAndFlagsNameTheFieldThatIsWrong) {
  auto t = ParseNodeTemplate(R"(namePrefix: sim-
labels: {zone: a}
taints: [{key: k, value: v, effect: NoSchedule}]
capacity: {cpu: "16", memory: 64Gi, pods: 250}
)");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name_prefix, "sim-");
  EXPECT_EQ(t->cpu, "16");
  EXPECT_EQ(t->pods, "250");
  EXPECT_EQ(t->taints.size(), 1u);
  auto bad = ParseNodeTemplate("capacity: {gpus: 2}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("capacity.gpus"), std::string::npos);
  EXPECT_FALSE(ParseNodeTemplate("taints: [{key: k}]\n").ok());
  EXPECT_FALSE(ParseNodeTemplate("colour: red\n").ok());
  auto labels = ParseLabels("a=b,c=d");
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->at("c"), "d");
  EXPECT_FALSE(ParseLabels("nokey").ok());
  auto taints = ParseTaints("dedicated=gpu:NoSchedule,spot:PreferNoSchedule");
  ASSERT_TRUE(taints.ok());
  EXPECT_EQ(taints->size(), 2u);
  EXPECT_EQ((*taints)[1].at("key"), "spot");
  EXPECT_FALSE(ParseTaints("a=b:Sometimes").ok());
}

}  // namespace
}  // namespace keelson::simnode
