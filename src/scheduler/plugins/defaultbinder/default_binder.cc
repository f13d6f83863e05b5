#include "scheduler/plugins/defaultbinder/default_binder.h"

#include "scheduler/client.h"

namespace keelson::scheduler::defaultbinder {

PluginStatus DefaultBinder::Bind(CycleState&, const PodInfo& pod, std::string_view node) {
  SchedulerClient* client = handle_ ? handle_->client() : nullptr;
  if (!client) return PluginStatus(Code::kError, "no client to bind with");
  Status s = client->Bind(PodRef::Of(pod), node);
  if (!s.ok()) return PluginStatus(Code::kError, s.message());
  return {};
}

}  // namespace keelson::scheduler::defaultbinder
