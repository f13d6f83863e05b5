// The scheduler's configuration: a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1)
// file with upstream's fields, defaults and checks — profiles by schedulerName, plugins
// enabled and disabled per extension point (and multiPoint), score weights, plugin args,
// percentageOfNodesToScore (0: upstream's adaptive default), the pod backoff bounds and
// leader election.
//
// LoadConfiguration reads YAML or JSON, rejects unknown fields (as upstream's strict decoding),
// merges each profile's plugins into upstream's default set and validates everything, the
// plugins' args included (through the registry). Errors are InvalidArgument naming the field,
// in upstream's form: `profiles[0].percentageOfNodesToScore: Invalid value: 120: not in valid
// range [0-100]`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/status.h"
#include "scheduler/framework/registry.h"

namespace keelson::scheduler {

struct PluginRef {
  std::string name;
  int32_t weight = 0;  // score plugins; 0 means the default (1, or the default set's weight)
};

struct PluginSet {
  std::vector<PluginRef> enabled;
  std::vector<std::string> disabled;  // "*" disables every default plugin of the point
};

struct Plugins {
  PluginSet pre_enqueue, queue_sort, pre_filter, filter, post_filter, pre_score, score, reserve,
      permit, pre_bind, bind, post_bind, multi_point;
};

struct PluginConfig {
  std::string name;
  boost::json::object args;
};

struct Profile {
  std::string scheduler_name = "default-scheduler";
  std::optional<int32_t> percentage_of_nodes_to_score;
  Plugins plugins;  // after LoadConfiguration: merged with the default set
  std::vector<PluginConfig> plugin_config;

  // The args of `plugin` (an empty object when not configured).
  const boost::json::object& ArgsOf(std::string_view plugin) const;
};

struct LeaderElectionConfig {
  bool leader_elect = true;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  std::string resource_lock = "leases";
  std::string resource_name = "kube-scheduler";
  std::string resource_namespace = "kube-system";
};

struct Configuration {
  int32_t parallelism = 16;
  int32_t percentage_of_nodes_to_score = 0;
  int64_t pod_initial_backoff_seconds = 1;
  int64_t pod_max_backoff_seconds = 10;
  std::vector<Profile> profiles;
  LeaderElectionConfig leader_election;
};

// Upstream's default plugin set (v1): the multiPoint list with its weights.
PluginSet DefaultMultiPointPlugins();

// One default-scheduler profile with the default plugins.
Configuration DefaultConfiguration();

// Reads, defaults and validates a configuration file's text against `registry`.
Result<Configuration> LoadConfiguration(std::string_view text, const Registry& registry);

}  // namespace keelson::scheduler
