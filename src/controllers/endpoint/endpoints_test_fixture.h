// A test fixture for the Endpoints and EndpointSlice controllers: an in-process API server, a
// controller manager running the controllers under test, and the objects they read (nodes,
// pods with their IPs and readiness as a kubelet reports them, Services).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "controllers/controller_manager.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {

class EndpointsFixture : public ::testing::Test {
 protected:
  void TearDown() override {
    if (manager_) manager_->Stop();
  }

  void StartManager(std::vector<std::string> controllers, int max_endpoints_per_slice = 100) {
    ControllerManagerOptions o;
    o.controllers = std::move(controllers);
    o.leader_elect = false;
    o.controller.max_endpoints_per_slice = max_endpoints_per_slice;
    auto m = ControllerManager::Create(api_.client(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    manager_->Start();
    ASSERT_TRUE(manager_->WaitRunning(true, std::chrono::seconds(10)));
  }

  void CreateNode(const std::string& name, const std::string& zone) {
    api_.Create("", "nodes", "",
                R"({"metadata":{"name":")" + name +
                    R"(","labels":{"topology.kubernetes.io/zone":")" + zone + R"("}}})");
  }

  struct PodSpec {
    std::string name;
    std::string app = "web";
    std::string node = "n1";
    std::string ip;
    bool ready = true;
    boost::json::array ports;  // the container's ports
    std::string hostname, subdomain;
    bool hold = false;         // a finalizer keeps it while it terminates
  };

  void CreatePod(const PodSpec& p) {
    namespace json = boost::json;
    json::object container{{"name", "c"}, {"image", "busybox"}};
    if (!p.ports.empty()) container["ports"] = p.ports;
    json::object spec{{"nodeName", p.node}, {"containers", json::array{container}}};
    if (!p.hostname.empty()) spec["hostname"] = p.hostname;
    if (!p.subdomain.empty()) spec["subdomain"] = p.subdomain;
    json::object meta{{"name", p.name}, {"namespace", "default"},
                      {"labels", json::object{{"app", p.app}}}};
    if (p.hold) meta["finalizers"] = json::array{"keelson.test/hold"};
    auto pods = api_.Resource("", "pods", "default");
    auto made = pods.Create(json::object{{"metadata", meta}, {"spec", spec}});
    ASSERT_TRUE(made.ok()) << p.name << ": " << made.error().message;
    json::object status{{"phase", "Running"}};
    if (!p.ip.empty()) {
      status["podIP"] = p.ip;
      status["podIPs"] = json::array{json::object{{"ip", p.ip}}};
    }
    status["conditions"] = json::array{ReadyCondition(p.ready)};
    auto r = pods.Patch(p.name, client::PatchType::kMerge,
                        json::serialize(json::object{{"status", status}}), {}, "status");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  static boost::json::object ReadyCondition(bool ready) {
    return {{"type", "Ready"},
            {"status", ready ? "True" : "False"},
            {"lastTransitionTime", api::FormatTime(std::chrono::system_clock::now())}};
  }

  void SetReady(const std::string& pod, bool ready) {
    boost::json::object patch{
        {"status", boost::json::object{{"conditions", boost::json::array{ReadyCondition(ready)}}}}};
    auto r = api_.Resource("", "pods", "default")
                 .Patch(pod, client::PatchType::kStrategicMerge, boost::json::serialize(patch),
                        {}, "status");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // Lets a terminating pod go: its finalizer removed, then deleted at once as its kubelet
  // does once the containers stopped (a graceful deletion keeps the pod until then).
  void Release(const std::string& pod) {
    auto pods = api_.Resource("", "pods", "default");
    (void)pods.Patch(pod, client::PatchType::kMerge, R"({"metadata":{"finalizers":null}})");
    client::DeleteOptions now;
    now.grace_period_seconds = 0;
    (void)pods.Delete(pod, now);
  }

  // A Service selecting app=`app` (no selector when `app` is empty) with `spec_extra` merged
  // into its spec (ports, publishNotReadyAddresses, clusterIP...).
  void CreateService(const std::string& name, const std::string& app,
                     const std::string& spec_extra =
                         R"("ports":[{"name":"http","port":80,"targetPort":"http"}])") {
    std::string selector = app.empty() ? "" : R"("selector":{"app":")" + app + R"("},)";
    api_.Create("", "services", "default",
                R"({"metadata":{"name":")" + name + R"(","labels":{"team":"t1"}},"spec":{)" +
                    selector + spec_extra + "}}");
  }

  std::optional<api::Object> Endpoints(const std::string& name) {
    return api_.Get("", "endpoints", "default", name);
  }

  std::vector<api::Object> Slices(const std::string& service) {
    client::ListOptions o;
    o.label_selector = "kubernetes.io/service-name=" + service;
    auto list = api_.Resource("discovery.k8s.io", "endpointslices", "default").List(o);
    std::vector<api::Object> out;
    if (!list.ok()) return out;
    for (const auto& s : list->at("items").as_array()) out.push_back(s.as_object());
    return out;
  }

  testing::InProcessApi api_;
  std::unique_ptr<ControllerManager> manager_;
};

}  // namespace keelson::controllers
