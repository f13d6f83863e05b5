// KubeSchedulerConfiguration: defaults, plugin merging and multiPoint expansion, weights and
// args, and errors that name the field.
#include "scheduler/config.h"

#include <gtest/gtest.h>

#include "scheduler/framework/framework.h"
#include "scheduler/plugins/registry.h"
#include "scheduler/testing/fakes.h"

namespace keelson::scheduler {
namespace {

Result<Configuration> Load(std::string_view text) { return LoadConfiguration(text, InTreeRegistry()); }

std::string ErrorOf(std::string_view text) {
  auto c = Load(text);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

constexpr std::string_view kHeader =
    "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";

TEST(Config, DefaultsAsUpstream) {
  auto c = Load(kHeader);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->parallelism, 16);
  EXPECT_EQ(c->percentage_of_nodes_to_score, 0);
  EXPECT_EQ(c->pod_initial_backoff_seconds, 1);
  EXPECT_EQ(c->pod_max_backoff_seconds, 10);
  ASSERT_EQ(c->profiles.size(), 1u);
  EXPECT_EQ(c->profiles[0].scheduler_name, "default-scheduler");
  testing::TestHandle h;
  auto fw = Framework::Create(c->profiles[0], InTreeRegistry(), &h);
  ASSERT_TRUE(fw.ok()) << fw.status().ToString();
  EXPECT_EQ((*fw)->PluginsAt("Filter"),
            (std::vector<std::string>{"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                                      "NodePorts", "NodeResourcesFit", "VolumeBinding", "PodTopologySpread",
                                      "InterPodAffinity"}));
  EXPECT_EQ((*fw)->PluginsAt("Score"),
            (std::vector<std::string>{"TaintToleration", "NodeAffinity", "NodeResourcesFit", "PodTopologySpread",
                                      "InterPodAffinity", "NodeResourcesBalancedAllocation", "ImageLocality"}));
  EXPECT_EQ((*fw)->PluginsAt("PreEnqueue"), (std::vector<std::string>{"SchedulingGates"}));
  EXPECT_EQ((*fw)->PluginsAt("QueueSort"), (std::vector<std::string>{"PrioritySort"}));
  EXPECT_EQ((*fw)->PluginsAt("PostFilter"), (std::vector<std::string>{"DefaultPreemption"}));
  EXPECT_EQ((*fw)->PluginsAt("Bind"), (std::vector<std::string>{"DefaultBinder"}));
}

TEST(Config, ProfilesEnableDisableAndReorderPlugins) {
  auto c = Load(std::string(kHeader) + R"(
percentageOfNodesToScore: 30
profiles:
- schedulerName: default-scheduler
  percentageOfNodesToScore: 70
  plugins:
    multiPoint:
      disabled:
      - name: ImageLocality
    filter:
      disabled:
      - name: NodePorts
    score:
      enabled:
      - name: NodeResourcesFit
        weight: 5
      disabled:
      - name: TaintToleration
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
- schedulerName: other
  plugins:
    filter:
      disabled:
      - name: '*'
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->percentage_of_nodes_to_score, 30);
  EXPECT_EQ(c->profiles[0].percentage_of_nodes_to_score, 70);
  testing::TestHandle h;
  auto fw = Framework::Create(c->profiles[0], InTreeRegistry(), &h);
  ASSERT_TRUE(fw.ok()) << fw.status().ToString();
  auto filters = (*fw)->PluginsAt("Filter");
  EXPECT_EQ(std::count(filters.begin(), filters.end(), "NodePorts"), 0);
  // NodeResourcesFit named at score comes first (an explicit override), TaintToleration and
  // ImageLocality are gone.
  EXPECT_EQ((*fw)->PluginsAt("Score"),
            (std::vector<std::string>{"NodeResourcesFit", "NodeAffinity", "PodTopologySpread", "InterPodAffinity",
                                      "NodeResourcesBalancedAllocation"}));
  auto other = Framework::Create(c->profiles[1], InTreeRegistry(), &h);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE((*other)->PluginsAt("Filter").empty());
  EXPECT_FALSE((*other)->PluginsAt("Score").empty());
}

TEST(Config, BadFilesNameTheField) {
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "percentageOfNodesToScore: 120\n"),
            "percentageOfNodesToScore: Invalid value: 120: not in valid range [0-100]");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "parallelism: 0\n"),
            "parallelism: Invalid value: 0: should be an integer value greater than zero");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 2\n"),
            "podMaxBackoffSeconds: Invalid value: 2: must be greater than or equal to PodInitialBackoffSeconds");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "profiles:\n- schedulerName: a\n  pluginz: {}\n"),
            "strict decoding error: unknown field \"profiles[0].pluginz\"");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "profiles:\n- schedulerName: a\n- schedulerName: a\n"),
            "profiles[1].schedulerName: Duplicate value: \"a\"");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "profiles:\n- plugins:\n    filter:\n      enabled:\n      - name: Foo\n"),
            "profiles[0].plugins.filter.enabled[0].name: Invalid value: \"Foo\": no plugin of that name is registered");
  EXPECT_EQ(ErrorOf(std::string(kHeader) +
                    "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args:\n      scoringStrategy:\n        type: Best\n"),
            "profiles[0].pluginConfig[0].args.scoringStrategy.type: Unsupported value: \"Best\": supported values: "
            "\"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\"");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "profiles:\n- percentageOfNodesToScore: -1\n"),
            "profiles[0].percentageOfNodesToScore: Invalid value: -1: not in valid range [0-100]");
  EXPECT_EQ(ErrorOf("apiVersion: kubescheduler.config.k8s.io/v1beta9\nkind: KubeSchedulerConfiguration\n"),
            "no kind \"KubeSchedulerConfiguration\" is registered for version \"kubescheduler.config.k8s.io/v1beta9\"");
  EXPECT_EQ(ErrorOf(std::string(kHeader) + "leaderElection:\n  leaseDuration: 5s\n  renewDeadline: 10s\n"),
            "leaderElection.leaseDuration: Invalid value: 5000: leaseDuration must be greater than renewDeadline");
  EXPECT_NE(ErrorOf("profiles: [unclosed"), "");
}

TEST(Config, LeaderElectionAndArgsAreKept) {
  auto c = Load(std::string(kHeader) + R"(
leaderElection:
  leaderElect: true
  leaseDuration: 30s
  renewDeadline: 20s
  retryPeriod: 4s
  resourceName: my-scheduler
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: InterPodAffinity
    args:
      apiVersion: kubescheduler.config.k8s.io/v1
      kind: InterPodAffinityArgs
      hardPodAffinityWeight: 5
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->leader_election.lease_duration, std::chrono::seconds(30));
  EXPECT_EQ(c->leader_election.resource_name, "my-scheduler");
  const auto& args = c->profiles[0].ArgsOf("InterPodAffinity");
  EXPECT_EQ(args.at("hardPodAffinityWeight").as_int64(), 5);
  EXPECT_FALSE(args.contains("kind"));
}

}  // namespace
}  // namespace keelson::scheduler
