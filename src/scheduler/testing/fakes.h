// Test and benchmark helpers: builders of pod and node objects, a Handle over a fixed
// snapshot, and a SchedulerClient that records what the scheduler asked for (and can apply
// bindings back as pod updates, as the API server and an informer would).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "scheduler/client.h"
#include "scheduler/framework/interface.h"
#include "scheduler/framework/parallelize.h"
#include "scheduler/framework/snapshot.h"

namespace keelson::scheduler::testing {

namespace json = boost::json;

// The object at `v`, made one if it is not (emplace_object would clear an existing one).
inline json::object& AsObject(json::value& v) {
  if (!v.is_object()) v = json::object();
  return v.as_object();
}

class PodBuilder {
 public:
  explicit PodBuilder(std::string name, std::string ns = "default") {
    static std::atomic<int> next{0};
    obj_["apiVersion"] = "v1";
    obj_["kind"] = "Pod";
    obj_["metadata"] = json::object{{"name", name},
                                    {"namespace", ns},
                                    {"uid", "uid-" + name + "-" + std::to_string(next++)}};
    obj_["spec"] = json::object{{"containers", json::array{json::object{{"name", "c"}, {"image", "pause"}}}}};
  }
  PodBuilder& Uid(std::string uid) { Meta()["uid"] = uid; return *this; }
  PodBuilder& Label(std::string k, std::string v) {
    AsObject(Meta()["labels"])[k] = v;
    return *this;
  }
  PodBuilder& Labels(std::initializer_list<std::pair<std::string, std::string>> ls) {
    for (auto& [k, v] : ls) Label(k, v);
    return *this;
  }
  // Requests of the first container ("" leaves a resource out).
  PodBuilder& Req(std::string cpu, std::string mem = "") {
    json::object r;
    if (!cpu.empty()) r["cpu"] = cpu;
    if (!mem.empty()) r["memory"] = mem;
    Container0()["resources"] = json::object{{"requests", r}};
    return *this;
  }
  PodBuilder& ReqResource(std::string name, std::string value) {
    auto& res = AsObject(Container0()["resources"]);
    AsObject(res["requests"])[name] = value;
    return *this;
  }
  PodBuilder& Image(std::string image) { Container0()["image"] = image; return *this; }
  PodBuilder& AddContainer(std::string name, std::string image, std::string cpu = "",
                           std::string mem = "") {
    json::object c{{"name", name}, {"image", image}};
    json::object r;
    if (!cpu.empty()) r["cpu"] = cpu;
    if (!mem.empty()) r["memory"] = mem;
    if (!r.empty()) c["resources"] = json::object{{"requests", r}};
    Spec()["containers"].as_array().push_back(c);
    return *this;
  }
  PodBuilder& InitContainer(std::string cpu, std::string mem, bool sidecar = false) {
    json::object r;
    if (!cpu.empty()) r["cpu"] = cpu;
    if (!mem.empty()) r["memory"] = mem;
    json::object c{{"name", "init"}, {"image", "init"}, {"resources", json::object{{"requests", r}}}};
    if (sidecar) c["restartPolicy"] = "Always";
    auto& a = Spec()["initContainers"];
    if (!a.is_array()) a = json::array();
    a.as_array().push_back(c);
    return *this;
  }
  PodBuilder& Overhead(std::string cpu, std::string mem) {
    Spec()["overhead"] = json::object{{"cpu", cpu}, {"memory", mem}};
    return *this;
  }
  PodBuilder& HostPort(int port, std::string protocol = "TCP", std::string ip = "") {
    json::object p{{"containerPort", port}, {"hostPort", port}, {"protocol", protocol}};
    if (!ip.empty()) p["hostIP"] = ip;
    auto& ports = Container0()["ports"];
    if (!ports.is_array()) ports = json::array();
    ports.as_array().push_back(p);
    return *this;
  }
  PodBuilder& Priority(int p) { Spec()["priority"] = p; return *this; }
  PodBuilder& PreemptNever() { Spec()["preemptionPolicy"] = "Never"; return *this; }
  PodBuilder& PriorityClassName(std::string n) { Spec()["priorityClassName"] = n; return *this; }
  PodBuilder& Node(std::string node) { Spec()["nodeName"] = node; return *this; }
  PodBuilder& SchedulerName(std::string n) { Spec()["schedulerName"] = n; return *this; }
  PodBuilder& NodeSelector(std::string k, std::string v) {
    AsObject(Spec()["nodeSelector"])[k] = v;
    return *this;
  }
  PodBuilder& Toleration(std::string key, std::string op, std::string value, std::string effect) {
    json::object t{{"key", key}, {"operator", op}};
    if (!value.empty()) t["value"] = value;
    if (!effect.empty()) t["effect"] = effect;
    auto& a = Spec()["tolerations"];
    if (!a.is_array()) a = json::array();
    a.as_array().push_back(t);
    return *this;
  }
  PodBuilder& Gate(std::string name) {
    auto& a = Spec()["schedulingGates"];
    if (!a.is_array()) a = json::array();
    a.as_array().push_back(json::object{{"name", name}});
    return *this;
  }
  // spec.affinity, as JSON text.
  PodBuilder& Affinity(std::string_view json_text) {
    Spec()["affinity"] = json::parse(json_text);
    return *this;
  }
  PodBuilder& Spread(std::string_view json_text) {
    Spec()["topologySpreadConstraints"] = json::parse(json_text);
    return *this;
  }
  PodBuilder& Pvc(std::string claim) {
    auto& a = Spec()["volumes"];
    if (!a.is_array()) a = json::array();
    a.as_array().push_back(json::object{{"name", claim}, {"persistentVolumeClaim", json::object{{"claimName", claim}}}});
    return *this;
  }
  PodBuilder& StartTime(std::string t) { Status()["startTime"] = t; return *this; }
  PodBuilder& NominatedNode(std::string n) { Status()["nominatedNodeName"] = n; return *this; }
  PodBuilder& Terminating() { Meta()["deletionTimestamp"] = "2026-01-01T00:00:00Z"; return *this; }

  ObjectPtr Obj() const { return std::make_shared<const api::Object>(obj_); }
  PodInfoPtr Info() const { return MakePodInfo(Obj()); }

 private:
  json::object& Meta() { return obj_["metadata"].as_object(); }
  json::object& Spec() { return obj_["spec"].as_object(); }
  json::object& Status() { return AsObject(obj_["status"]); }
  json::object& Container0() { return Spec()["containers"].as_array()[0].as_object(); }
  json::object obj_;
};

class NodeBuilder {
 public:
  explicit NodeBuilder(std::string name) {
    obj_["apiVersion"] = "v1";
    obj_["kind"] = "Node";
    obj_["metadata"] = json::object{{"name", name}, {"uid", "node-uid-" + name},
                                    {"labels", json::object{{"kubernetes.io/hostname", name}}}};
    obj_["spec"] = json::object();
    obj_["status"] = json::object{
        {"allocatable", json::object{{"cpu", "4"}, {"memory", "32Gi"}, {"pods", "110"}}}};
  }
  NodeBuilder& Capacity(std::string cpu, std::string mem, std::string pods = "110") {
    obj_["status"].as_object()["allocatable"] =
        json::object{{"cpu", cpu}, {"memory", mem}, {"pods", pods}};
    return *this;
  }
  NodeBuilder& Allocatable(std::string name, std::string value) {
    obj_["status"].as_object()["allocatable"].as_object()[name] = value;
    return *this;
  }
  NodeBuilder& Label(std::string k, std::string v) {
    obj_["metadata"].as_object()["labels"].as_object()[k] = v;
    return *this;
  }
  NodeBuilder& Taint(std::string key, std::string value, std::string effect) {
    auto& a = obj_["spec"].as_object()["taints"];
    if (!a.is_array()) a = json::array();
    json::object t{{"key", key}, {"effect", effect}};
    if (!value.empty()) t["value"] = value;
    a.as_array().push_back(t);
    return *this;
  }
  NodeBuilder& Unschedulable() { obj_["spec"].as_object()["unschedulable"] = true; return *this; }
  NodeBuilder& Image(std::string name, int64_t size) {
    auto& a = obj_["status"].as_object()["images"];
    if (!a.is_array()) a = json::array();
    a.as_array().push_back(json::object{{"names", json::array{name}}, {"sizeBytes", size}});
    return *this;
  }
  ObjectPtr Obj() const { return std::make_shared<const api::Object>(obj_); }
  NodeViewPtr View() const { return MakeNodeView(Obj()); }

 private:
  json::object obj_;
};

inline NodeInfoPtr MakeNodeInfo(NodeViewPtr node, const std::vector<PodInfoPtr>& pods = {}) {
  auto ni = std::make_shared<NodeInfo>();
  ni->node = std::move(node);
  for (const auto& p : pods) ni->AddPod(p->node_name.empty() ? WithNodeName(*p, ni->node->name) : p);
  return ni;
}

// A Handle over a fixed snapshot and listers, for plugin unit tests.
class TestHandle final : public Handle {
 public:
  TestHandle() : par_(1) {}
  void SetNodes(std::vector<NodeInfoPtr> nodes) { snap_ = Snapshot::FromNodeInfos(std::move(nodes)); }
  Listers& mutable_listers() { return listers_; }
  void SetFramework(Framework* f) { fw_ = f; }
  void SetClient(SchedulerClient* c) { client_ = c; }
  std::vector<std::function<void()>>& posted() { return posted_; }

  const Snapshot& snapshot() const override { return snap_; }
  const Listers& listers() const override { return listers_; }
  Parallelizer& parallelizer() override { return par_; }
  const Clock& clock() const override { return *RealClock(); }
  SchedulerClient* client() override { return client_; }
  std::vector<PodInfoPtr> NominatedPodsForNode(std::string_view) const override { return {}; }
  void ClearNomination(const PodInfo&) override {}
  Framework* framework() override { return fw_; }
  bool RejectWaitingPod(std::string_view, std::string_view, std::string_view) override {
    return false;
  }
  std::string_view scheduler_name() const override { return "default-scheduler"; }
  void PostApiCall(std::function<void()> call) override { posted_.push_back(std::move(call)); }

 private:
  Snapshot snap_;
  Listers listers_;
  Parallelizer par_;
  Framework* fw_ = nullptr;
  SchedulerClient* client_ = nullptr;
  std::vector<std::function<void()>> posted_;
};

// Records every call. `on_bind` (optional) runs after a successful Bind: tests feed the bound
// pod back to the scheduler as the informer would.
class FakeClient final : public SchedulerClient {
 public:
  struct Binding {
    PodRef pod;
    std::string node;
  };
  Status Bind(const PodRef& pod, std::string_view node) override {
    Status s = bind_error;
    {
      std::lock_guard<std::mutex> l(mu);
      if (s.ok()) bindings.push_back({pod, std::string(node)});
    }
    if (s.ok() && on_bind) on_bind(pod, node);
    return s;
  }
  Status PatchPodStatus(const PodRef& pod, const PodStatusPatch& patch) override {
    std::lock_guard<std::mutex> l(mu);
    patches.emplace_back(pod, patch);
    return Status::Ok();
  }
  Status DeletePod(const PodRef& pod) override {
    {
      std::lock_guard<std::mutex> l(mu);
      deletions.push_back(pod);
    }
    if (on_delete) on_delete(pod);
    return Status::Ok();
  }
  void RecordEvent(Event e) override {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(std::move(e));
  }

  std::vector<Event> EventsWithReason(std::string_view reason) {
    std::lock_guard<std::mutex> l(mu);
    std::vector<Event> out;
    for (const auto& e : events) {
      if (e.reason == reason) out.push_back(e);
    }
    return out;
  }

  std::mutex mu;
  std::vector<Binding> bindings;
  std::vector<std::pair<PodRef, PodStatusPatch>> patches;
  std::vector<PodRef> deletions;
  std::vector<Event> events;
  Status bind_error;
  std::function<void(const PodRef&, std::string_view)> on_bind;
  std::function<void(const PodRef&)> on_delete;
};

}  // namespace keelson::scheduler::testing
