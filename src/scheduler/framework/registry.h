// Registry: plugin name -> how to make the plugin and check its args (upstream's
// runtime.Registry). The in-tree list is plugins/registry.h's InTreeRegistry(), one visible
// list; tests add their own entries to a copy.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include "common/status.h"
#include "scheduler/framework/interface.h"

namespace keelson::scheduler {

// Makes a plugin from its args (the pluginConfig entry's args; an empty object when none).
using PluginFactory =
    std::function<Result<std::unique_ptr<Plugin>>(const boost::json::object& args, Handle* h)>;
// Checks args without making the plugin. InvalidArgument whose message names the field
// relative to the args ("scoringStrategy.type: Unsupported value: ..."). Null: no args.
using ArgsValidator = std::function<Status(const boost::json::object& args)>;

struct RegistryEntry {
  PluginFactory factory;
  ArgsValidator validate;
};

using Registry = std::map<std::string, RegistryEntry, std::less<>>;

}  // namespace keelson::scheduler
