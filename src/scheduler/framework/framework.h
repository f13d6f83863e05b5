// Framework: one profile's plugins, sorted per extension point, and the functions that run
// them (upstream's frameworkImpl). Created once per profile from its merged plugin sets:
// multiPoint plugins are expanded to every point they implement, unless disabled there or
// configured there explicitly (which then decides their order), as upstream does.
//
// Thread-safety: after Create, the Run* functions follow the threading of interface.h: the
// Filter and Score runners may be called concurrently for different nodes; the others from
// one thread per pod.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler/config.h"
#include "scheduler/framework/interface.h"
#include "scheduler/framework/registry.h"

namespace keelson::scheduler {

class Framework {
 public:
  // InvalidArgument when a plugin is unknown, registered twice at a point, or enabled at a
  // point it does not implement; the factory's error when a plugin cannot be made.
  static Result<std::unique_ptr<Framework>> Create(const Profile& profile,
                                                   const Registry& registry, Handle* handle);

  const std::string& SchedulerName() const { return scheduler_name_; }
  std::optional<int32_t> PercentageOfNodesToScore() const { return percentage_; }
  Handle* handle() const { return handle_; }

  // Success when every PreEnqueue plugin allows the pod; otherwise the first refusal, with
  // its plugin set.
  PluginStatus RunPreEnqueuePlugins(const PodInfo& pod) const;
  const QueueSortPlugin* QueueSort() const { return queue_sort_; }
  // The events each plugin registered, with the plugin's name.
  std::vector<std::pair<std::string, ClusterEventWithHint>> EventsToRegister() const;

  // Runs PreFilter; narrows the nodes into `result` (the intersection of the plugins'
  // results). A rejection carries the plugin's name.
  // `narrowed_by` (optional) receives the plugins that narrowed the nodes.
  PluginStatus RunPreFilterPlugins(CycleState& state, const PodInfo& pod, PreFilterResult* result,
                                   std::vector<std::string>* narrowed_by = nullptr);
  PluginStatus RunPreFilterExtensionAddPod(CycleState& state, const PodInfo& pod,
                                           const PodInfoPtr& to_add, const NodeInfo& node);
  PluginStatus RunPreFilterExtensionRemovePod(CycleState& state, const PodInfo& pod,
                                              const PodInfoPtr& to_remove, const NodeInfo& node);
  // The first failing Filter's status (with its plugin), or Success.
  PluginStatus RunFilterPlugins(const CycleState& state, const PodInfo& pod,
                                const NodeInfo& node) const;
  // Filters with the pods nominated to the node at equal or higher priority counted as if
  // they ran there, then (if that passes) without them (upstream's two passes).
  PluginStatus RunFilterPluginsWithNominatedPods(const CycleState& state, const PodInfo& pod,
                                                 const NodeInfo& node);
  bool HasFilterPlugins() const { return !filter_.empty(); }
  bool HasPostFilterPlugins() const { return !post_filter_.empty(); }
  bool HasScorePlugins() const { return !score_.empty(); }

  PluginStatus RunPostFilterPlugins(CycleState& state, const PodInfo& pod,
                                    const NodeToStatus& statuses, PostFilterResult* result);
  PluginStatus RunPreScorePlugins(CycleState& state, const PodInfo& pod,
                                  const std::vector<NodeInfoPtr>& nodes);
  // Each node's total: the plugins' normalised scores times their weights. In `nodes` order.
  std::vector<int64_t> RunScorePlugins(const CycleState& state, const PodInfo& pod,
                                       const std::vector<NodeInfoPtr>& nodes);

  PluginStatus RunReservePluginsReserve(CycleState& state, const PodInfo& pod,
                                        std::string_view node);
  void RunReservePluginsUnreserve(CycleState& state, const PodInfo& pod, std::string_view node);
  // Success, or Wait with the shortest timeout of the waiting plugins and their names, or a
  // rejection.
  PluginStatus RunPermitPlugins(CycleState& state, const PodInfo& pod, std::string_view node,
                                std::chrono::milliseconds* timeout,
                                std::vector<std::string>* waiting_plugins);
  PluginStatus RunPreBindPlugins(CycleState& state, const PodInfo& pod, std::string_view node);
  PluginStatus RunBindPlugins(CycleState& state, const PodInfo& pod, std::string_view node);
  void RunPostBindPlugins(CycleState& state, const PodInfo& pod, std::string_view node);

  // The plugin names at each point, for logs and tests ("Filter" -> [...]).
  std::vector<std::string> PluginsAt(std::string_view point) const;
  const Plugin* PluginByName(std::string_view name) const;

 private:
  Framework() = default;

  std::string scheduler_name_;
  std::optional<int32_t> percentage_;
  Handle* handle_ = nullptr;
  std::vector<std::unique_ptr<Plugin>> owned_;
  std::vector<PreEnqueuePlugin*> pre_enqueue_;
  const QueueSortPlugin* queue_sort_ = nullptr;
  std::vector<PreFilterPlugin*> pre_filter_;
  std::vector<FilterPlugin*> filter_;
  std::vector<const FilterPlugin*> all_filters_;
  std::vector<PostFilterPlugin*> post_filter_;
  std::vector<PreScorePlugin*> pre_score_;
  std::vector<ScorePlugin*> score_;
  std::vector<int64_t> score_weights_;
  std::vector<ReservePlugin*> reserve_;
  std::vector<PermitPlugin*> permit_;
  std::vector<PreBindPlugin*> pre_bind_;
  std::vector<BindPlugin*> bind_;
  std::vector<PostBindPlugin*> post_bind_;
  std::vector<EnqueueExtensions*> enqueue_extensions_;
};

}  // namespace keelson::scheduler
