#include "scheduler/framework/events.h"

#include <algorithm>

namespace keelson::scheduler {

namespace {

bool SameTaints(const std::vector<Taint>& a, const std::vector<Taint>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value || a[i].effect != b[i].effect) {
      return false;
    }
  }
  return true;
}

bool SameTolerations(const std::vector<Toleration>& a, const std::vector<Toleration>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value || a[i].effect != b[i].effect ||
        a[i].op_exists != b[i].op_exists) {
      return false;
    }
  }
  return true;
}

const boost::json::value* At(const api::Object& o, std::string_view a, std::string_view b) {
  const auto* x = o.if_contains(a);
  if (!x || !x->is_object()) return nullptr;
  return x->as_object().if_contains(b);
}

}  // namespace

uint32_t NodeUpdateActions(const NodeView& o, const NodeView& n) {
  uint32_t a = 0;
  if (!(o.allocatable == n.allocatable)) a |= kUpdateNodeAllocatable;
  if (o.labels != n.labels) a |= kUpdateNodeLabel;
  if (!SameTaints(o.taints, n.taints) || o.unschedulable != n.unschedulable) a |= kUpdateNodeTaint;
  if (o.object && n.object) {
    const auto* oc = At(*o.object, "status", "conditions");
    const auto* nc = At(*n.object, "status", "conditions");
    // Conditions change their heartbeat times all the time; only type/status pairs count.
    auto pairs = [](const boost::json::value* c) {
      std::vector<std::pair<std::string, std::string>> out;
      if (!c || !c->is_array()) return out;
      for (const auto& e : c->as_array()) {
        if (!e.is_object()) continue;
        const auto* t = e.as_object().if_contains("type");
        const auto* s = e.as_object().if_contains("status");
        out.emplace_back(t && t->is_string() ? std::string(t->as_string()) : "",
                         s && s->is_string() ? std::string(s->as_string()) : "");
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    if (pairs(oc) != pairs(nc)) a |= kUpdateNodeCondition;
    if (api::GetAnnotations(*o.object) != api::GetAnnotations(*n.object)) a |= kUpdateNodeAnnotation;
  }
  if (o.images.size() != n.images.size()) a |= kUpdateOther;
  return a;
}

uint32_t PodUpdateActions(const PodInfo& o, const PodInfo& n) {
  uint32_t a = 0;
  if (o.labels != n.labels) a |= kUpdatePodLabel;
  const Resources& ro = o.requests;
  const Resources& rn = n.requests;
  if (rn.milli_cpu < ro.milli_cpu || rn.memory < ro.memory ||
      rn.ephemeral_storage < ro.ephemeral_storage) {
    a |= kUpdatePodScaleDown;
  }
  if (!SameTolerations(o.tolerations, n.tolerations)) a |= kUpdatePodToleration;
  if (!o.scheduling_gates.empty() && n.scheduling_gates.empty()) {
    a |= kUpdatePodSchedulingGatesEliminated;
  }
  if (a == 0) a = kUpdateOther;
  return a;
}

}  // namespace keelson::scheduler
