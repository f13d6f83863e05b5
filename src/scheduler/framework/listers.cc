#include "scheduler/framework/listers.h"

#include <boost/json.hpp>

namespace keelson::scheduler {

namespace json = boost::json;

namespace {

std::string MakeKey(std::string_view ns, std::string_view name) {
  std::string k(ns);
  k += '/';
  k += name;
  return k;
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

std::string_view Str(const json::object* o, std::string_view key) {
  if (!o) return {};
  const auto* v = o->if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

template <typename M, typename V>
void Put(M& map, std::string key, std::shared_ptr<const V> v) {
  if (v) {
    map.insert_or_assign(std::move(key), std::move(v));
  } else {
    map.erase(key);
  }
}

template <typename M>
auto Find(const M& map, std::string_view key) -> typename M::mapped_type {
  auto it = map.find(key);
  return it == map.end() ? nullptr : it->second;
}

}  // namespace

void Listers::SetPvc(std::string_view ns, std::string_view name, const api::Object* obj) {
  std::shared_ptr<const PvcView> v;
  if (obj) {
    auto p = std::make_shared<PvcView>();
    p->namespace_ = ns;
    p->name = name;
    p->uid = api::GetUid(*obj);
    p->volume_name = Str(Obj(*obj, "spec"), "volumeName");
    p->storage_class = Str(Obj(*obj, "spec"), "storageClassName");
    p->phase = Str(Obj(*obj, "status"), "phase");
    p->deleting = api::IsBeingDeleted(*obj);
    v = std::move(p);
  }
  std::unique_lock l(mu_);
  Put(pvcs_, MakeKey(ns, name), v);
}

void Listers::SetPv(std::string_view name, const api::Object* obj) {
  std::shared_ptr<const PvView> v;
  if (obj) {
    auto p = std::make_shared<PvView>();
    p->name = name;
    const json::object* spec = Obj(*obj, "spec");
    if (spec) {
      if (const auto* na = Obj(*spec, "nodeAffinity")) {
        if (const auto* req = Obj(*na, "required")) {
          // The node selector of a volume uses the pod's node affinity form; a throwaway pod
          // view reads it.
          json::object pod{{"metadata", json::object{{"name", "pv"}}},
                           {"spec", json::object{{"affinity", json::object{{"nodeAffinity",
                               json::object{{"requiredDuringSchedulingIgnoredDuringExecution", *req}}}}}}}};
          auto info = MakePodInfo(std::make_shared<const api::Object>(std::move(pod)));
          p->node_affinity = info->required_node_affinity;
        }
      }
      if (const auto* cr = Obj(*spec, "claimRef")) {
        p->claim_namespace = Str(cr, "namespace");
        p->claim_name = Str(cr, "name");
      }
    }
    v = std::move(p);
  }
  std::unique_lock l(mu_);
  Put(pvs_, std::string(name), v);
}

void Listers::SetStorageClass(std::string_view name, const api::Object* obj) {
  std::shared_ptr<const StorageClassView> v;
  if (obj) {
    auto p = std::make_shared<StorageClassView>();
    p->name = name;
    p->wait_for_first_consumer = Str(obj, "volumeBindingMode") == "WaitForFirstConsumer";
    v = std::move(p);
  }
  std::unique_lock l(mu_);
  Put(storage_classes_, std::string(name), v);
}

void Listers::SetPdb(std::string_view ns, std::string_view name, const api::Object* obj) {
  std::shared_ptr<const PdbView> v;
  if (obj) {
    auto p = std::make_shared<PdbView>();
    p->namespace_ = ns;
    p->name = name;
    const json::object* spec = Obj(*obj, "spec");
    auto sel = LabelSelectorFromJson(spec ? spec->if_contains("selector") : nullptr, true);
    p->selector = sel.ok() ? std::move(*sel) : api::LabelSelector::Nothing();
    if (const json::object* status = Obj(*obj, "status")) {
      if (const auto* da = status->if_contains("disruptionsAllowed"); da && da->is_int64()) {
        p->disruptions_allowed = static_cast<int32_t>(da->as_int64());
      }
      if (const auto* dp = Obj(*status, "disruptedPods")) {
        for (const auto& [k, _] : *dp) p->disrupted_pods.emplace_back(k);
      }
    }
    v = std::move(p);
  }
  std::unique_lock l(mu_);
  Put(pdbs_, MakeKey(ns, name), v);
}

void Listers::SetNamespace(std::string_view name, const api::Object* obj) {
  std::shared_ptr<const Labels> v;
  if (obj) v = std::make_shared<const Labels>(api::GetLabels(*obj));
  std::unique_lock l(mu_);
  Put(namespaces_, std::string(name), v);
}

void Listers::SetPriorityClass(std::string_view name, const api::Object* obj) {
  std::shared_ptr<const PriorityClassView> v;
  if (obj) {
    auto p = std::make_shared<PriorityClassView>();
    p->name = name;
    if (const auto* val = obj->if_contains("value"); val && val->is_int64()) {
      p->value = static_cast<int32_t>(val->as_int64());
    }
    if (const auto* g = obj->if_contains("globalDefault"); g && g->is_bool()) {
      p->global_default = g->as_bool();
    }
    p->preempt_never = Str(obj, "preemptionPolicy") == "Never";
    v = std::move(p);
  }
  std::unique_lock l(mu_);
  Put(priority_classes_, std::string(name), v);
}

void Listers::SetWorkload(WorkloadKind kind, std::string_view ns, std::string_view name,
                          const api::Object* obj) {
  std::shared_ptr<const WorkloadSelectorView> v;
  if (obj) {
    auto p = std::make_shared<WorkloadSelectorView>();
    p->namespace_ = ns;
    const json::object* spec = Obj(*obj, "spec");
    const json::value* sel = spec ? spec->if_contains("selector") : nullptr;
    if (kind == WorkloadKind::kService || kind == WorkloadKind::kReplicationController) {
      p->match_labels = StringMapFromJson(sel);
    } else {
      auto s = LabelSelectorFromJson(sel, true);
      if (s.ok()) p->selector = std::move(*s);
      if (sel && sel->is_object()) {
        p->match_labels = StringMapFromJson(sel->as_object().if_contains("matchLabels"));
      }
    }
    v = std::move(p);
  }
  std::unique_lock l(mu_);
  Put(workloads_[static_cast<int>(kind)], MakeKey(ns, name), v);
}

std::shared_ptr<const PvcView> Listers::Pvc(std::string_view ns, std::string_view name) const {
  std::shared_lock l(mu_);
  return Find(pvcs_, MakeKey(ns, name));
}

std::shared_ptr<const PvView> Listers::Pv(std::string_view name) const {
  std::shared_lock l(mu_);
  return Find(pvs_, name);
}

std::shared_ptr<const StorageClassView> Listers::StorageClass(std::string_view name) const {
  std::shared_lock l(mu_);
  return Find(storage_classes_, name);
}

std::vector<std::shared_ptr<const PdbView>> Listers::Pdbs() const {
  std::shared_lock l(mu_);
  std::vector<std::shared_ptr<const PdbView>> out;
  out.reserve(pdbs_.size());
  for (const auto& [_, v] : pdbs_) out.push_back(v);
  return out;
}

std::shared_ptr<const Labels> Listers::NamespaceLabels(std::string_view name) const {
  std::shared_lock l(mu_);
  return Find(namespaces_, name);
}

std::vector<std::string> Listers::NamespacesMatching(const api::LabelSelector& selector) const {
  std::shared_lock l(mu_);
  std::vector<std::string> out;
  for (const auto& [name, labels] : namespaces_) {
    if (selector.Matches(*labels)) out.push_back(name);
  }
  return out;
}

std::shared_ptr<const PriorityClassView> Listers::PriorityClass(std::string_view name) const {
  std::shared_lock l(mu_);
  return Find(priority_classes_, name);
}

std::shared_ptr<const PriorityClassView> Listers::GlobalDefaultPriorityClass() const {
  std::shared_lock l(mu_);
  std::shared_ptr<const PriorityClassView> best;
  for (const auto& [_, pc] : priority_classes_) {
    if (pc->global_default && (!best || pc->value < best->value)) best = pc;
  }
  return best;
}

bool Listers::HasWorkloads() const {
  std::shared_lock l(mu_);
  for (const auto& w : workloads_) {
    if (!w.empty()) return true;
  }
  return false;
}

api::LabelSelector Listers::DefaultSelector(const PodInfo& pod) const {
  Labels merged;
  std::vector<api::MatchExpression> exprs;
  std::shared_lock l(mu_);
  std::string prefix = pod.namespace_ + "/";
  for (int kind = 0; kind < 4; ++kind) {
    const auto& map = workloads_[kind];
    for (auto it = map.lower_bound(prefix); it != map.end() && it->first.starts_with(prefix); ++it) {
      const auto& w = *it->second;
      bool selects;
      if (w.selector) {
        selects = !w.selector->Empty() && w.selector->Matches(pod.labels);
      } else {
        selects = !w.match_labels.empty() &&
                  api::LabelSelector::FromMatch(w.match_labels, {}).value().Matches(pod.labels);
      }
      if (!selects) continue;
      for (const auto& [k, v] : w.match_labels) merged[k] = v;
      if (w.selector) {
        for (const auto& r : w.selector->Requirements()) {
          if (w.match_labels.count(r.key())) continue;
          api::MatchExpression e;
          e.key = r.key();
          switch (r.op()) {
            case api::SelectorOperator::kIn: e.op = "In"; break;
            case api::SelectorOperator::kNotIn: e.op = "NotIn"; break;
            case api::SelectorOperator::kExists: e.op = "Exists"; break;
            case api::SelectorOperator::kDoesNotExist: e.op = "DoesNotExist"; break;
            default: continue;
          }
          e.values = r.values();
          exprs.push_back(std::move(e));
        }
      }
    }
  }
  if (merged.empty() && exprs.empty()) return api::LabelSelector();
  auto sel = api::LabelSelector::FromMatch(merged, exprs);
  return sel.ok() ? std::move(*sel) : api::LabelSelector::Nothing();
}

}  // namespace keelson::scheduler
