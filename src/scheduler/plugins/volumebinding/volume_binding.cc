#include "scheduler/plugins/volumebinding/volume_binding.h"

#include <boost/json.hpp>

namespace keelson::scheduler::volumebinding {

Status ValidateArgs(const boost::json::object& args) {
  for (const auto& [k, v] : args) {
    if (k == "bindTimeoutSeconds") {
      if (!v.is_int64() || v.as_int64() < 0) {
        return InvalidArgumentError("bindTimeoutSeconds: Invalid value: " +
                                    boost::json::serialize(v) + ": invalid BindTimeoutSeconds, should not be a negative value");
      }
    } else if (k != "shape") {
      return InvalidArgumentError(std::string(k) + ": unknown field");
    }
  }
  return Status::Ok();
}

namespace {

struct State final : StateData {
  std::vector<std::shared_ptr<const PvView>> bound_volumes;
  std::unique_ptr<StateData> Clone() const override { return std::make_unique<State>(*this); }
};

}  // namespace

PluginStatus VolumeBinding::PreFilter(CycleState& state, const PodInfo& pod, PreFilterResult*) {
  if (pod.pvc_names.empty()) return PluginStatus::Skip();
  const Listers& listers = handle_->listers();
  auto s = std::make_unique<State>();
  bool unbound_immediate = false;
  for (const auto& name : pod.pvc_names) {
    auto pvc = listers.Pvc(pod.namespace_, name);
    if (!pvc) {
      return PluginStatus(Code::kUnschedulableAndUnresolvable,
                          "persistentvolumeclaim \"" + name + "\" not found");
    }
    if (pvc->deleting) {
      return PluginStatus(Code::kUnschedulableAndUnresolvable,
                          "persistentvolumeclaim \"" + name + "\" is being deleted");
    }
    if (!pvc->volume_name.empty()) {
      auto pv = listers.Pv(pvc->volume_name);
      if (!pv) {
        return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kErrReasonPvNotExist));
      }
      s->bound_volumes.push_back(std::move(pv));
      continue;
    }
    auto sc = pvc->storage_class.empty() ? nullptr : listers.StorageClass(pvc->storage_class);
    if (!sc || !sc->wait_for_first_consumer) unbound_immediate = true;
  }
  if (unbound_immediate) {
    return PluginStatus(Code::kUnschedulableAndUnresolvable, std::string(kErrReasonUnboundImmediate));
  }
  state.Write(this, std::move(s));
  return {};
}

PluginStatus VolumeBinding::Filter(const CycleState& state, const PodInfo&,
                                   const NodeInfo& node) const {
  const auto* s = state.Read<State>(this);
  if (!s) return {};
  for (const auto& pv : s->bound_volumes) {
    if (pv->node_affinity && !pv->node_affinity->Matches(*node.node)) {
      static const PluginStatus kConflict(Code::kUnschedulableAndUnresolvable,
                                          std::string(kErrReasonNodeConflict));
      return kConflict;
    }
  }
  return {};
}

std::vector<ClusterEventWithHint> VolumeBinding::EventsToRegister() const {
  return {
      {{EventResource::kPersistentVolumeClaim, kAdd | kUpdateOther, "PvcChange"}, nullptr},
      {{EventResource::kPersistentVolume, kAdd | kUpdateOther, "PvChange"}, nullptr},
      {{EventResource::kStorageClass, kAdd | kUpdateOther, "StorageClassChange"}, nullptr},
      {{EventResource::kNode, kAdd | kUpdateNodeLabel, "NodeChange"}, nullptr},
  };
}

}  // namespace keelson::scheduler::volumebinding
