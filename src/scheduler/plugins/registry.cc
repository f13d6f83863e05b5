#include "scheduler/plugins/registry.h"

#include "scheduler/plugins/defaultbinder/default_binder.h"
#include "scheduler/plugins/defaultpreemption/default_preemption.h"
#include "scheduler/plugins/imagelocality/image_locality.h"
#include "scheduler/plugins/interpodaffinity/inter_pod_affinity.h"
#include "scheduler/plugins/nodeaffinity/node_affinity.h"
#include "scheduler/plugins/nodename/node_name.h"
#include "scheduler/plugins/nodeports/node_ports.h"
#include "scheduler/plugins/noderesources/balanced_allocation.h"
#include "scheduler/plugins/noderesources/fit.h"
#include "scheduler/plugins/nodeunschedulable/node_unschedulable.h"
#include "scheduler/plugins/podtopologyspread/pod_topology_spread.h"
#include "scheduler/plugins/prioritysort/priority_sort.h"
#include "scheduler/plugins/schedulinggates/scheduling_gates.h"
#include "scheduler/plugins/tainttoleration/taint_toleration.h"
#include "scheduler/plugins/volumebinding/volume_binding.h"

namespace keelson::scheduler {

namespace {

using Args = boost::json::object;
using Made = Result<std::unique_ptr<Plugin>>;

// A plugin without args: any args are an error.
template <typename P>
RegistryEntry NoArgs() {
  return {[](const Args&, Handle*) -> Made { return std::unique_ptr<Plugin>(new P()); },
          nullptr};
}
template <typename P>
RegistryEntry WithHandle() {
  return {[](const Args&, Handle* h) -> Made { return std::unique_ptr<Plugin>(new P(h)); },
          nullptr};
}
// A plugin whose args are parsed by `parse` into what its constructor takes.
template <typename Parse, typename Make>
RegistryEntry WithArgs(Parse parse, Make make) {
  return {[parse, make](const Args& a, Handle* h) -> Made {
            auto args = parse(a);
            if (!args.ok()) return args.status();
            return make(std::move(*args), h);
          },
          [parse](const Args& a) -> Status { return parse(a).status(); }};
}

}  // namespace

Registry InTreeRegistry() {
  using namespace keelson::scheduler;  // NOLINT
  Registry r;
  r[std::string(prioritysort::kName)] = NoArgs<prioritysort::PrioritySort>();
  r[std::string(schedulinggates::kName)] = NoArgs<schedulinggates::SchedulingGates>();
  r[std::string(nodeunschedulable::kName)] = NoArgs<nodeunschedulable::NodeUnschedulable>();
  r[std::string(nodename::kName)] = NoArgs<nodename::NodeName>();
  r[std::string(tainttoleration::kName)] = NoArgs<tainttoleration::TaintToleration>();
  r[std::string(nodeaffinity::kName)] = WithArgs(
      nodeaffinity::ParseArgs, [](nodeaffinity::Args a, Handle*) -> Made {
        return std::unique_ptr<Plugin>(new nodeaffinity::NodeAffinity(std::move(a)));
      });
  r[std::string(nodeports::kName)] = NoArgs<nodeports::NodePorts>();
  r[std::string(noderesources::kFitName)] = WithArgs(
      noderesources::ParseFitArgs, [](noderesources::FitArgs a, Handle*) -> Made {
        return std::unique_ptr<Plugin>(new noderesources::Fit(std::move(a)));
      });
  r[std::string(noderesources::kBalancedAllocationName)] = WithArgs(
      noderesources::ParseBalancedAllocationArgs,
      [](std::vector<noderesources::ResourceSpec> a, Handle*) -> Made {
        return std::unique_ptr<Plugin>(new noderesources::BalancedAllocation(std::move(a)));
      });
  r[std::string(imagelocality::kName)] = WithHandle<imagelocality::ImageLocality>();
  r[std::string(interpodaffinity::kName)] = WithArgs(
      interpodaffinity::ParseArgs, [](interpodaffinity::Args a, Handle* h) -> Made {
        return std::unique_ptr<Plugin>(new interpodaffinity::InterPodAffinity(a, h));
      });
  r[std::string(podtopologyspread::kName)] = WithArgs(
      podtopologyspread::ParseArgs, [](podtopologyspread::Args a, Handle* h) -> Made {
        return std::unique_ptr<Plugin>(new podtopologyspread::PodTopologySpread(std::move(a), h));
      });
  r[std::string(volumebinding::kName)] = {
      [](const Args& a, Handle* h) -> Made {
        KEELSON_RETURN_IF_ERROR(volumebinding::ValidateArgs(a));
        return std::unique_ptr<Plugin>(new volumebinding::VolumeBinding(h));
      },
      volumebinding::ValidateArgs};
  r[std::string(defaultpreemption::kName)] = WithArgs(
      defaultpreemption::ParseArgs, [](defaultpreemption::Args a, Handle* h) -> Made {
        return std::unique_ptr<Plugin>(new defaultpreemption::DefaultPreemption(a, h));
      });
  r[std::string(defaultbinder::kName)] = WithHandle<defaultbinder::DefaultBinder>();
  return r;
}

}  // namespace keelson::scheduler
