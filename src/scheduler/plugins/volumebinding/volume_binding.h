// VolumeBinding, the basics: a pod's PersistentVolumeClaims must exist and not be being
// deleted; a claim bound to a volume restricts the pod to the nodes the volume's node affinity
// allows ("node(s) had volume node affinity conflict"); an unbound claim of an Immediate
// storage class blocks the pod ("pod has unbound immediate PersistentVolumeClaims"). Binding
// unbound WaitForFirstConsumer claims (volume matching, provisioning) is not done here: such
// claims do not restrict nodes.
#pragma once

#include "scheduler/framework/interface.h"

namespace keelson::scheduler::volumebinding {

inline constexpr std::string_view kName = "VolumeBinding";
inline constexpr std::string_view kErrReasonNodeConflict = "node(s) had volume node affinity conflict";
inline constexpr std::string_view kErrReasonUnboundImmediate =
    "pod has unbound immediate PersistentVolumeClaims";
inline constexpr std::string_view kErrReasonPvNotExist = "pvc(s) bound to non-existent pv(s)";

Status ValidateArgs(const boost::json::object& args);

class VolumeBinding final : public PreFilterPlugin, public FilterPlugin, public EnqueueExtensions {
 public:
  explicit VolumeBinding(Handle* handle) : handle_(handle) {}
  std::string_view Name() const override { return kName; }
  PluginStatus PreFilter(CycleState& state, const PodInfo& pod, PreFilterResult* result) override;
  PluginStatus Filter(const CycleState& state, const PodInfo& pod,
                      const NodeInfo& node) const override;
  std::vector<ClusterEventWithHint> EventsToRegister() const override;

 private:
  Handle* handle_;
};

}  // namespace keelson::scheduler::volumebinding
