// Helpers for the plugins' unit tests: run a plugin's points against nodes as the framework
// would.
#pragma once

#include <gtest/gtest.h>

#include "scheduler/testing/fakes.h"

namespace keelson::scheduler::plugintest {

using testing::MakeNodeInfo;
using testing::NodeBuilder;
using testing::PodBuilder;
using testing::TestHandle;

// PreFilter (if any), then Filter on `node`. Skip at PreFilter means Filter is not run.
template <typename P>
PluginStatus RunFilter(P& plugin, const PodInfo& pod, const NodeInfo& node) {
  CycleState state;
  if constexpr (std::is_base_of_v<PreFilterPlugin, P>) {
    PreFilterResult r;
    PluginStatus s = plugin.PreFilter(state, pod, &r);
    if (s.IsSkip()) return {};
    if (!s.IsSuccess()) return s;
  }
  return plugin.Filter(state, pod, node);
}

// PreScore (if any), Score on every node, NormalizeScore: the final scores by node.
template <typename P>
std::vector<int64_t> RunScore(P& plugin, const PodInfo& pod, const std::vector<NodeInfoPtr>& nodes) {
  CycleState state;
  if constexpr (std::is_base_of_v<PreScorePlugin, P>) {
    PluginStatus s = plugin.PreScore(state, pod, nodes);
    if (s.IsSkip()) return std::vector<int64_t>(nodes.size(), 0);
    EXPECT_TRUE(s.IsSuccess()) << s.Message();
  }
  std::vector<NodeScore> scores;
  for (const auto& n : nodes) scores.push_back({n->Name(), plugin.Score(state, pod, *n)});
  if (plugin.HasNormalize()) plugin.NormalizeScore(state, pod, scores);
  std::vector<int64_t> out;
  for (const auto& s : scores) out.push_back(s.score);
  return out;
}

inline ObjectPtr ParseObject(std::string_view json_text) {
  return std::make_shared<const api::Object>(boost::json::parse(json_text).as_object());
}

}  // namespace keelson::scheduler::plugintest
