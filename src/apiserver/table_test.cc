// The Table printers, against the cells upstream's printers (kube-apiserver v1.33) produce.
#include "apiserver/table.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));

// The cells of the one row `printer` makes of `object`.
json::array Row(const TablePrinterPtr& printer, const char* object) {
  json::object t = ToTable(*printer, json::array{json::parse(object)}, "7", "", "", kNow);
  return t.at("rows").as_array().at(0).at("cells").as_array();
}

std::vector<std::string> Columns(const TablePrinterPtr& printer) {
  json::object t = ToTable(*printer, json::array(), "", "", "", kNow);
  std::vector<std::string> out;
  for (const auto& c : t.at("columnDefinitions").as_array()) {
    out.emplace_back(c.at("name").as_string());
  }
  return out;
}

TEST(TableTest, PodsShowTheirDerivedStatusAndRestarts) {
  EXPECT_EQ(Columns(printers::Pod()),
            (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node",
                                      "Nominated Node", "Readiness Gates"}));
  auto row = Row(printers::Pod(), R"({"metadata":{"name":"p",
    "creationTimestamp":"2025-12-31T23:00:00Z"},
    "spec":{"nodeName":"n1","containers":[{"name":"a"},{"name":"b"}]},
    "status":{"phase":"Running","podIP":"10.42.0.5","containerStatuses":[
      {"name":"a","ready":true,"restartCount":0,"state":{"running":{}}},
      {"name":"b","ready":false,"restartCount":4,
       "state":{"waiting":{"reason":"CrashLoopBackOff"}},
       "lastState":{"terminated":{"finishedAt":"2025-12-31T23:58:00Z"}}}]}})");
  EXPECT_EQ(row[0], "p");
  EXPECT_EQ(row[1], "1/2");
  EXPECT_EQ(row[2], "CrashLoopBackOff");
  EXPECT_EQ(row[3], "4 (2m ago)");
  EXPECT_EQ(row[4], "60m");
  EXPECT_EQ(row[5], "10.42.0.5");
  EXPECT_EQ(row[6], "n1");
  // A pod being deleted is Terminating; an init container running shows Init:0/1.
  EXPECT_EQ(Row(printers::Pod(), R"({"metadata":{"name":"p",
    "deletionTimestamp":"2026-01-01T00:00:00Z"},"spec":{"containers":[{"name":"a"}]},
    "status":{"phase":"Running"}})")[2],
            "Terminating");
  EXPECT_EQ(Row(printers::Pod(), R"({"metadata":{"name":"p"},
    "spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"a"}]},
    "status":{"phase":"Pending","initContainerStatuses":[{"name":"i","ready":false,
      "restartCount":0,"state":{"running":{}}}]}})")[2],
            "Init:0/1");
}

TEST(TableTest, DeploymentsShowReadyUpToDateAndAvailable) {
  auto row = Row(printers::Deployment(), R"({"metadata":{"name":"web",
    "creationTimestamp":"2025-12-31T00:00:00Z"},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
      "template":{"spec":{"containers":[{"name":"n","image":"nginx:1"}]}}},
    "status":{"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}})");
  EXPECT_EQ(row[0], "web");
  EXPECT_EQ(row[1], "2/3");
  EXPECT_EQ(row[2], 3);
  EXPECT_EQ(row[3], 2);
  EXPECT_EQ(row[4], "24h");
  EXPECT_EQ(row[5], "n");
  EXPECT_EQ(row[6], "nginx:1");
  EXPECT_EQ(row[7], "app=web");
}

TEST(TableTest, NodesAndServices) {
  auto node = Row(printers::Node(), R"({"metadata":{"name":"n1",
    "labels":{"node-role.kubernetes.io/control-plane":""}},"spec":{"unschedulable":true},
    "status":{"conditions":[{"type":"Ready","status":"True"}],
      "nodeInfo":{"kubeletVersion":"v1.33.0"}}})");
  EXPECT_EQ(node[1], "Ready,SchedulingDisabled");
  EXPECT_EQ(node[2], "control-plane");
  auto svc = Row(printers::Service(), R"({"metadata":{"name":"s"},
    "spec":{"type":"NodePort","clusterIP":"10.43.0.9",
      "ports":[{"port":80,"nodePort":30080,"protocol":"TCP"}]}})");
  EXPECT_EQ(svc[1], "NodePort");
  EXPECT_EQ(svc[2], "10.43.0.9");
  EXPECT_EQ(svc[3], "<none>");
  EXPECT_EQ(svc[4], "80:30080/TCP");
}

TEST(TableTest, KindsWithoutAPrinterOfTheirOwnShowNameAndCreation) {
  EXPECT_EQ(Columns(printers::Default()), (std::vector<std::string>{"Name", "Created At"}));
  auto row = Row(printers::Default(),
                 R"({"metadata":{"name":"r","creationTimestamp":"2025-12-31T23:59:59Z"}})");
  EXPECT_EQ(row[1], "2025-12-31T23:59:59Z");
}

TEST(TableTest, RowsCarryMetadataOrWholeObjects) {
  json::value pod = json::parse(R"({"kind":"Pod","metadata":{"name":"p"},"spec":{}})");
  json::object meta = ToTable(*printers::Pod(), json::array{pod}, "", "", "", kNow);
  EXPECT_EQ(meta.at("rows").as_array()[0].at("object").at("kind"), "PartialObjectMetadata");
  json::object whole = ToTable(*printers::Pod(), json::array{pod}, "", "", "Object", kNow);
  EXPECT_EQ(whole.at("rows").as_array()[0].at("object").at("kind"), "Pod");
  json::object none = ToTable(*printers::Pod(), json::array{pod}, "", "", "None", kNow);
  EXPECT_FALSE(none.at("rows").as_array()[0].as_object().contains("object"));
}

TEST(TableTest, DurationsAreHumanAsKubectlPrintsThem) {
  EXPECT_EQ(HumanDuration(45s), "45s");
  EXPECT_EQ(HumanDuration(330s), "5m30s");
  EXPECT_EQ(HumanDuration(3h), "3h");
  EXPECT_EQ(HumanDuration(52h), "2d4h");
  EXPECT_EQ(HumanDuration(std::chrono::hours(24 * 365 * 3 + 24 * 20)), "3y20d");
}

}  // namespace
}  // namespace keelson::apiserver
