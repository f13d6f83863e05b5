#include "scheduler/app/api_client.h"

#include <boost/json.hpp>

#include "api/errors.h"
#include "api/object.h"
#include "api/resources.h"
#include "client/time_format.h"

namespace keelson::scheduler {

namespace json = boost::json;

namespace {

const api::ResourceInfo& Pods() {
  return *api::ResourceRegistry::BuiltIn().Find("", "v1", "pods");
}

client::ObjectReference Reference(const ObjectReference& r) {
  client::ObjectReference out;
  out.api_version = r.api_version;
  out.kind = r.kind;
  out.namespace_name = r.namespace_;
  out.name = r.name;
  out.uid = r.uid;
  return out;
}

}  // namespace

ApiSchedulerClient::ApiSchedulerClient(client::RestClient* client)
    : client_(client), pods_(client->Resource(Pods())) {}

ApiSchedulerClient::~ApiSchedulerClient() { Shutdown(); }

Status ApiSchedulerClient::Bind(const PodRef& pod, std::string_view node) {
  api::Object binding{
      {"apiVersion", "v1"},
      {"kind", "Binding"},
      {"metadata",
       json::object{{"name", pod.name}, {"namespace", pod.namespace_}, {"uid", pod.uid}}},
      {"target", json::object{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
  auto r = pods_.Namespace(pod.namespace_).CreateSubresource(pod.name, "binding", binding);
  return r.ok() ? Status::Ok() : r.error().ToStatus();
}

Status ApiSchedulerClient::PatchPodStatus(const PodRef& pod, const PodStatusPatch& patch) {
  json::object status;
  if (patch.condition) {
    const auto& c = *patch.condition;
    status["conditions"] = json::array{json::object{
        {"type", c.type},
        {"status", c.status},
        {"reason", c.reason},
        {"message", c.message},
        {"lastProbeTime", nullptr},
        {"lastTransitionTime", api::FormatTime(client_->clock()->Now())}}};
  }
  if (patch.nominated_node_name) {
    status["nominatedNodeName"] = patch.nominated_node_name->empty()
                                      ? json::value(nullptr)
                                      : json::value(*patch.nominated_node_name);
  }
  json::object body{{"metadata", json::object{{"uid", pod.uid}}}, {"status", std::move(status)}};
  auto r = pods_.Namespace(pod.namespace_).Patch(pod.name, client::PatchType::kStrategicMerge,
                                                 json::serialize(body), {}, "status");
  if (r.ok() || api::IsNotFound(r)) return Status::Ok();
  return r.error().ToStatus();
}

Status ApiSchedulerClient::DeletePod(const PodRef& pod) {
  client::DeleteOptions opts;
  opts.precondition_uid = pod.uid;
  auto r = pods_.Namespace(pod.namespace_).Delete(pod.name, opts);
  // Gone already, or another pod of that name now: the victim is not there.
  if (r.ok() || api::IsNotFound(r) || api::IsConflict(r)) return Status::Ok();
  return r.error().ToStatus();
}

void ApiSchedulerClient::RecordEvent(Event event) {
  client::EventRecorder* recorder = nullptr;
  {
    std::lock_guard lock(mu_);
    auto& slot = recorders_[event.reporting_controller];
    if (!slot) {
      client::EventRecorderOptions o;
      o.reporting_controller = event.reporting_controller;
      o.clock = client_->clock();
      slot = std::make_unique<client::EventRecorder>(client_, std::move(o));
    }
    recorder = slot.get();
  }
  client::ObjectReference regarding = Reference(event.regarding);
  std::optional<client::ObjectReference> related;
  if (event.related) related = Reference(*event.related);
  recorder->Event(regarding, related ? &*related : nullptr, event.type, event.reason,
                  event.action, event.message);
}

void ApiSchedulerClient::FlushEvents() {
  std::lock_guard lock(mu_);
  for (auto& [name, r] : recorders_) r->Flush();
}

void ApiSchedulerClient::Shutdown() {
  std::lock_guard lock(mu_);
  for (auto& [name, r] : recorders_) r->Shutdown();
}

}  // namespace keelson::scheduler
