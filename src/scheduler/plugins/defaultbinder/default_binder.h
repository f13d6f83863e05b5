// DefaultBinder (Bind): binds the pod through the API (pods/binding), by the client.
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::defaultbinder {

inline constexpr std::string_view kName = "DefaultBinder";

class DefaultBinder final : public BindPlugin {
 public:
  explicit DefaultBinder(Handle* handle) : handle_(handle) {}
  std::string_view Name() const override { return kName; }
  PluginStatus Bind(CycleState& state, const PodInfo& pod, std::string_view node) override;

 private:
  Handle* handle_;
};

}  // namespace keelson::scheduler::defaultbinder
