// The in-tree plugins: one visible list of name -> factory (and args check), as upstream's
// plugins/registry.go. Adding a plugin means adding its folder and one line in registry.cc.
#pragma once

#include "scheduler/framework/registry.h"

namespace keelson::scheduler {

Registry InTreeRegistry();

}  // namespace keelson::scheduler
