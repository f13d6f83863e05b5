#include "scheduler/framework/framework.h"

#include <algorithm>
#include <map>
#include <set>

#include "scheduler/framework/parallelize.h"

namespace keelson::scheduler {

namespace {

// An ordered set of names.
struct OrderedSet {
  std::vector<std::string> list;
  bool Has(std::string_view n) const {
    return std::find(list.begin(), list.end(), n) != list.end();
  }
  void Insert(std::string_view n) {
    if (!Has(n)) list.emplace_back(n);
  }
  void Delete(std::string_view n) {
    auto it = std::find(list.begin(), list.end(), n);
    if (it != list.end()) list.erase(it);
  }
};

template <typename T>
Status Expand(std::string_view point, const PluginSet& specific, const PluginSet& multi,
              const std::map<std::string, Plugin*, std::less<>>& plugins, std::vector<T*>* out,
              std::vector<std::string>* names) {
  OrderedSet enabled;
  for (const auto& e : specific.enabled) {
    auto it = plugins.find(e.name);
    if (it == plugins.end() || dynamic_cast<T*>(it->second) == nullptr) {
      return InvalidArgumentError("plugin \"" + e.name + "\" does not extend " +
                                  std::string(point) + " plugin");
    }
    if (enabled.Has(e.name)) {
      return InvalidArgumentError("plugin \"" + e.name + "\" already registered as \"" +
                                  std::string(point) + "\"");
    }
    enabled.Insert(e.name);
  }
  std::set<std::string, std::less<>> disabled(specific.disabled.begin(), specific.disabled.end());
  OrderedSet multi_enabled, overrides;
  if (!disabled.count("*")) {
    for (const auto& e : multi.enabled) {
      auto it = plugins.find(e.name);
      if (it == plugins.end()) {
        return InvalidArgumentError(std::string(point) + " plugin \"" + e.name +
                                    "\" does not exist");
      }
      if (dynamic_cast<T*>(it->second) == nullptr) continue;
      if (disabled.count(e.name)) continue;
      if (enabled.Has(e.name)) {
        overrides.Insert(e.name);
        continue;
      }
      if (multi_enabled.Has(e.name)) {
        return InvalidArgumentError("plugin \"" + e.name + "\" already registered as \"" +
                                    std::string(point) + "\"");
      }
      multi_enabled.Insert(e.name);
    }
  }
  std::vector<std::string> order;
  for (const auto& n : std::vector<std::string>(enabled.list)) {
    if (overrides.Has(n)) {
      order.push_back(n);
      enabled.Delete(n);
    }
  }
  for (const auto& n : multi_enabled.list) order.push_back(n);
  for (const auto& n : enabled.list) order.push_back(n);
  for (const auto& n : order) {
    out->push_back(dynamic_cast<T*>(plugins.at(n)));
    names->push_back(n);
  }
  return Status::Ok();
}

}  // namespace

void DefaultNormalizeScore(int64_t max_priority, bool reverse, std::vector<NodeScore>& scores) {
  int64_t max_count = 0;
  for (const auto& s : scores) max_count = std::max(max_count, s.score);
  if (max_count == 0) {
    if (reverse) {
      for (auto& s : scores) s.score = max_priority;
    }
    return;
  }
  for (auto& s : scores) {
    int64_t score = max_priority * s.score / max_count;
    if (reverse) score = max_priority - score;
    s.score = score;
  }
}

const PluginStatus* NodeToStatus::Get(std::string_view node) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->first == node) return &it->second;
  }
  return nullptr;
}

Result<std::unique_ptr<Framework>> Framework::Create(const Profile& profile,
                                                     const Registry& registry, Handle* handle) {
  std::unique_ptr<Framework> f(new Framework());
  f->scheduler_name_ = profile.scheduler_name;
  f->percentage_ = profile.percentage_of_nodes_to_score;
  f->handle_ = handle;

  // Every plugin named at any point is made once.
  const Plugins& p = profile.plugins;
  const PluginSet* sets[] = {&p.pre_enqueue, &p.queue_sort, &p.pre_filter, &p.filter,
                             &p.post_filter, &p.pre_score,  &p.score,      &p.reserve,
                             &p.permit,      &p.pre_bind,   &p.bind,       &p.post_bind,
                             &p.multi_point};
  std::map<std::string, Plugin*, std::less<>> plugins;
  for (const PluginSet* set : sets) {
    for (const auto& e : set->enabled) {
      if (plugins.count(e.name)) continue;
      auto it = registry.find(e.name);
      if (it == registry.end()) {
        return InvalidArgumentError("plugin \"" + e.name + "\" does not exist");
      }
      auto made = it->second.factory(profile.ArgsOf(e.name), handle);
      if (!made.ok()) {
        return InvalidArgumentError("initializing plugin \"" + e.name +
                                    "\": " + made.status().message());
      }
      plugins[e.name] = made->get();
      f->owned_.push_back(std::move(*made));
    }
  }
  for (const auto& pc : profile.plugin_config) {
    if (!plugins.count(pc.name)) continue;  // args of a plugin not enabled are ignored
  }

  std::vector<std::string> names;
  std::vector<QueueSortPlugin*> queue_sort;
  KEELSON_RETURN_IF_ERROR(Expand("PreEnqueue", p.pre_enqueue, p.multi_point, plugins, &f->pre_enqueue_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("QueueSort", p.queue_sort, p.multi_point, plugins, &queue_sort, &names));
  KEELSON_RETURN_IF_ERROR(Expand("PreFilter", p.pre_filter, p.multi_point, plugins, &f->pre_filter_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("Filter", p.filter, p.multi_point, plugins, &f->filter_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("PostFilter", p.post_filter, p.multi_point, plugins, &f->post_filter_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("PreScore", p.pre_score, p.multi_point, plugins, &f->pre_score_, &names));
  names.clear();
  KEELSON_RETURN_IF_ERROR(Expand("Score", p.score, p.multi_point, plugins, &f->score_, &names));
  for (const auto& n : names) {
    int64_t w = 0;
    for (const auto& e : p.multi_point.enabled) {
      if (e.name == n) w = e.weight;
    }
    for (const auto& e : p.score.enabled) {
      if (e.name == n) w = e.weight;
    }
    f->score_weights_.push_back(w == 0 ? 1 : w);
  }
  KEELSON_RETURN_IF_ERROR(Expand("Reserve", p.reserve, p.multi_point, plugins, &f->reserve_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("Permit", p.permit, p.multi_point, plugins, &f->permit_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("PreBind", p.pre_bind, p.multi_point, plugins, &f->pre_bind_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("Bind", p.bind, p.multi_point, plugins, &f->bind_, &names));
  KEELSON_RETURN_IF_ERROR(Expand("PostBind", p.post_bind, p.multi_point, plugins, &f->post_bind_, &names));
  if (queue_sort.size() != 1) {
    return InvalidArgumentError("one queue sort plugin required for profile with scheduler name \"" +
                                profile.scheduler_name + "\"");
  }
  if (f->bind_.empty()) {
    return InvalidArgumentError("at least one bind plugin is needed for profile with scheduler name \"" +
                                profile.scheduler_name + "\"");
  }
  f->queue_sort_ = queue_sort[0];
  f->all_filters_.assign(f->filter_.begin(), f->filter_.end());
  for (const auto& plugin : f->owned_) {
    if (auto* ee = dynamic_cast<EnqueueExtensions*>(plugin.get())) {
      f->enqueue_extensions_.push_back(ee);
    }
  }
  return f;
}

std::vector<std::pair<std::string, ClusterEventWithHint>> Framework::EventsToRegister() const {
  std::vector<std::pair<std::string, ClusterEventWithHint>> out;
  for (const auto* ee : enqueue_extensions_) {
    for (auto& e : ee->EventsToRegister()) out.emplace_back(std::string(ee->Name()), std::move(e));
  }
  return out;
}

std::vector<std::string> Framework::PluginsAt(std::string_view point) const {
  std::vector<std::string> out;
  auto add = [&](const auto& v) {
    for (const auto* p : v) out.emplace_back(p->Name());
  };
  if (point == "PreEnqueue") add(pre_enqueue_);
  if (point == "QueueSort" && queue_sort_) out.emplace_back(queue_sort_->Name());
  if (point == "PreFilter") add(pre_filter_);
  if (point == "Filter") add(filter_);
  if (point == "PostFilter") add(post_filter_);
  if (point == "PreScore") add(pre_score_);
  if (point == "Score") add(score_);
  if (point == "Reserve") add(reserve_);
  if (point == "Permit") add(permit_);
  if (point == "PreBind") add(pre_bind_);
  if (point == "Bind") add(bind_);
  if (point == "PostBind") add(post_bind_);
  return out;
}

const Plugin* Framework::PluginByName(std::string_view name) const {
  for (const auto& p : owned_) {
    if (p->Name() == name) return p.get();
  }
  return nullptr;
}

PluginStatus Framework::RunPreEnqueuePlugins(const PodInfo& pod) const {
  for (auto* p : pre_enqueue_) {
    PluginStatus s = p->PreEnqueue(pod);
    if (!s.IsSuccess()) {
      s.SetPlugin(p->Name());
      return s;
    }
  }
  return {};
}

PluginStatus Framework::RunPreFilterPlugins(CycleState& state, const PodInfo& pod,
                                            PreFilterResult* result,
                                            std::vector<std::string>* narrowed_by_out) {
  result->reset();
  std::vector<std::string> narrowed_by;
  for (auto* p : pre_filter_) {
    PreFilterResult r;
    PluginStatus s = p->PreFilter(state, pod, &r);
    if (s.IsSkip()) {
      state.SetSkipFilter(static_cast<const Plugin*>(p));
      continue;
    }
    if (!s.IsSuccess()) {
      s.SetPlugin(p->Name());
      return s;
    }
    if (r) {
      narrowed_by.emplace_back(p->Name());
      if (!*result) {
        *result = std::move(r);
      } else {
        std::set<std::string, std::less<>> both;
        for (const auto& n : **result) {
          if (r->count(n)) both.insert(n);
        }
        **result = std::move(both);
      }
      if ((*result)->empty()) {
        std::string list;
        for (const auto& n : narrowed_by) list += (list.empty() ? "" : " ") + n;
        PluginStatus st(Code::kUnschedulableAndUnresolvable,
                        "node(s) didn't satisfy plugin(s) [" + list + "] simultaneously");
        if (narrowed_by.size() == 1) {
          st = PluginStatus(Code::kUnschedulableAndUnresolvable,
                            "node(s) didn't satisfy plugin " + narrowed_by[0]);
        }
        st.SetPlugin(narrowed_by.back());
        return st;
      }
    }
  }
  if (narrowed_by_out) *narrowed_by_out = std::move(narrowed_by);
  std::vector<const FilterPlugin*> filters;
  for (const auto* f : filter_) {
    if (!state.SkipFilter(static_cast<const Plugin*>(f))) filters.push_back(f);
  }
  state.SetFilters(std::move(filters));
  return {};
}

PluginStatus Framework::RunPreFilterExtensionAddPod(CycleState& state, const PodInfo& pod,
                                                    const PodInfoPtr& to_add,
                                                    const NodeInfo& node) {
  for (auto* p : pre_filter_) {
    if (!p->HasExtensions() || state.SkipFilter(static_cast<const Plugin*>(p))) continue;
    PluginStatus s = p->AddPod(state, pod, to_add, node);
    if (!s.IsSuccess()) return std::move(s).WithPlugin(p->Name());
  }
  return {};
}

PluginStatus Framework::RunPreFilterExtensionRemovePod(CycleState& state, const PodInfo& pod,
                                                       const PodInfoPtr& to_remove,
                                                       const NodeInfo& node) {
  for (auto* p : pre_filter_) {
    if (!p->HasExtensions() || state.SkipFilter(static_cast<const Plugin*>(p))) continue;
    PluginStatus s = p->RemovePod(state, pod, to_remove, node);
    if (!s.IsSuccess()) return std::move(s).WithPlugin(p->Name());
  }
  return {};
}

PluginStatus Framework::RunFilterPlugins(const CycleState& state, const PodInfo& pod,
                                         const NodeInfo& node) const {
  const std::vector<const FilterPlugin*>* active = state.Filters();
  const std::vector<const FilterPlugin*>& list = active ? *active : all_filters_;
  for (const auto* p : list) {
    if (!active && state.SkipFilter(static_cast<const Plugin*>(p))) continue;
    PluginStatus s = p->Filter(state, pod, node);
    if (!s.IsSuccess()) {
      if (!s.IsRejected()) s = PluginStatus(Code::kError, "running \"" + std::string(p->Name()) +
                                                             "\" filter plugin: " + s.Message());
      s.SetPlugin(p->Name());
      return s;
    }
  }
  return {};
}

PluginStatus Framework::RunFilterPluginsWithNominatedPods(const CycleState& state,
                                                          const PodInfo& pod,
                                                          const NodeInfo& node) {
  std::vector<PodInfoPtr> nominated;
  if (handle_ && node.node && state.NominatedPodsPossible()) {
    for (auto& np : handle_->NominatedPodsForNode(node.node->name)) {
      if (np->priority >= pod.priority && np->uid != pod.uid) nominated.push_back(std::move(np));
    }
  }
  if (nominated.empty()) return RunFilterPlugins(state, pod, node);
  NodeInfo with = node;
  CycleState state_with = state.Clone();
  for (const auto& np : nominated) {
    with.AddPod(np);
    PluginStatus s = RunPreFilterExtensionAddPod(state_with, pod, np, with);
    if (!s.IsSuccess()) return s;
  }
  PluginStatus s = RunFilterPlugins(state_with, pod, with);
  if (!s.IsSuccess()) return s;
  return RunFilterPlugins(state, pod, node);
}

PluginStatus Framework::RunPostFilterPlugins(CycleState& state, const PodInfo& pod,
                                             const NodeToStatus& statuses,
                                             PostFilterResult* result) {
  std::vector<std::string> reasons;
  PluginStatus last(Code::kUnschedulable);
  for (auto* p : post_filter_) {
    PostFilterResult r;
    PluginStatus s = p->PostFilter(state, pod, statuses, &r);
    if (s.IsSuccess()) {
      *result = std::move(r);
      return std::move(s).WithPlugin(p->Name());
    }
    if (r.nominated_node_name) *result = r;
    if (!s.IsRejected()) return std::move(s).WithPlugin(p->Name());
    for (const auto& m : s.reasons()) reasons.push_back(m);
    last = std::move(s).WithPlugin(p->Name());
  }
  if (reasons.empty()) return last;
  PluginStatus out(Code::kUnschedulable, std::move(reasons));
  out.SetPlugin(last.plugin());
  return out;
}

PluginStatus Framework::RunPreScorePlugins(CycleState& state, const PodInfo& pod,
                                           const std::vector<NodeInfoPtr>& nodes) {
  for (auto* p : pre_score_) {
    PluginStatus s = p->PreScore(state, pod, nodes);
    if (s.IsSkip()) {
      state.SetSkipScore(static_cast<const Plugin*>(p));
      continue;
    }
    if (!s.IsSuccess()) return std::move(s).WithPlugin(p->Name());
  }
  return {};
}

std::vector<int64_t> Framework::RunScorePlugins(const CycleState& state, const PodInfo& pod,
                                                const std::vector<NodeInfoPtr>& nodes) {
  std::vector<size_t> active;
  for (size_t i = 0; i < score_.size(); ++i) {
    if (!state.SkipScore(static_cast<const Plugin*>(score_[i]))) active.push_back(i);
  }
  const size_t n = nodes.size();
  std::vector<int64_t> totals(n, 0);
  if (active.empty()) return totals;
  // scores[k][i]: plugin active[k] on node i.
  std::vector<std::vector<NodeScore>> scores(active.size(), std::vector<NodeScore>(n));
  auto score_node = [&](int i) {
    if (static_cast<size_t>(i) + 4 < n) PrefetchNodeInfo(nodes[i + 4].get());
    if (static_cast<size_t>(i) + 2 < n) PrefetchNodeView(nodes[i + 2].get());
    const NodeInfo& ni = *nodes[i];
    for (size_t k = 0; k < active.size(); ++k) {
      scores[k][i] = NodeScore{ni.Name(), score_[active[k]]->Score(state, pod, ni)};
    }
  };
  if (handle_ && n >= 32) {
    handle_->parallelizer().Until(static_cast<int>(n), score_node);
  } else {
    for (size_t i = 0; i < n; ++i) score_node(static_cast<int>(i));
  }
  for (size_t k = 0; k < active.size(); ++k) {
    const ScorePlugin* p = score_[active[k]];
    if (p->HasNormalize()) p->NormalizeScore(state, pod, scores[k]);
    int64_t w = score_weights_[active[k]];
    for (size_t i = 0; i < n; ++i) totals[i] += scores[k][i].score * w;
  }
  return totals;
}

PluginStatus Framework::RunReservePluginsReserve(CycleState& state, const PodInfo& pod,
                                                 std::string_view node) {
  for (auto* p : reserve_) {
    PluginStatus s = p->Reserve(state, pod, node);
    if (!s.IsSuccess()) return std::move(s).WithPlugin(p->Name());
  }
  return {};
}

void Framework::RunReservePluginsUnreserve(CycleState& state, const PodInfo& pod,
                                           std::string_view node) {
  // In the reverse order of Reserve, as upstream.
  for (auto it = reserve_.rbegin(); it != reserve_.rend(); ++it) (*it)->Unreserve(state, pod, node);
}

PluginStatus Framework::RunPermitPlugins(CycleState& state, const PodInfo& pod,
                                         std::string_view node, std::chrono::milliseconds* timeout,
                                         std::vector<std::string>* waiting_plugins) {
  bool wait = false;
  std::chrono::milliseconds min_timeout = std::chrono::milliseconds::max();
  for (auto* p : permit_) {
    std::chrono::milliseconds t{0};
    PluginStatus s = p->Permit(state, pod, node, &t);
    if (s.IsWait()) {
      wait = true;
      min_timeout = std::min(min_timeout, std::min(t, std::chrono::milliseconds(15 * 60 * 1000)));
      waiting_plugins->emplace_back(p->Name());
      continue;
    }
    if (!s.IsSuccess()) {
      if (s.IsRejected()) return std::move(s).WithPlugin(p->Name());
      return PluginStatus(Code::kError, "running Permit plugin \"" + std::string(p->Name()) +
                                            "\": " + s.Message())
          .WithPlugin(p->Name());
    }
  }
  if (wait) {
    *timeout = min_timeout;
    return PluginStatus(Code::kWait);
  }
  return {};
}

PluginStatus Framework::RunPreBindPlugins(CycleState& state, const PodInfo& pod,
                                          std::string_view node) {
  for (auto* p : pre_bind_) {
    PluginStatus s = p->PreBind(state, pod, node);
    if (s.IsSkip()) continue;
    if (!s.IsSuccess()) return std::move(s).WithPlugin(p->Name());
  }
  return {};
}

PluginStatus Framework::RunBindPlugins(CycleState& state, const PodInfo& pod,
                                       std::string_view node) {
  PluginStatus last(Code::kSkip);
  for (auto* p : bind_) {
    PluginStatus s = p->Bind(state, pod, node);
    if (s.IsSkip()) continue;
    return std::move(s).WithPlugin(p->Name());
  }
  return last;
}

void Framework::RunPostBindPlugins(CycleState& state, const PodInfo& pod, std::string_view node) {
  for (auto* p : post_bind_) p->PostBind(state, pod, node);
}

}  // namespace keelson::scheduler
