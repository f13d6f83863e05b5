// Upstream's Priority admission plugin. A pod created with spec.priorityClassName gets the
// class's value as spec.priority and its preemptionPolicy (403 Forbidden when no such class
// exists, or when the pod states a different priority or policy itself); a pod without one
// gets the global default class (the lowest-valued one should several claim it), or priority
// 0 and PreemptLowerPriority when there is none. An update keeps the priority the pod has.
// A PriorityClass may be the global default only while no other one is.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apiserver/chain.h"
#include "common/status.h"

namespace keelson::apiserver {

struct PriorityClassReader {
  // One class by name; NotFound when there is none.
  std::function<Result<boost::json::object>(const std::string& name)> get;
  // The classes marked globalDefault (usually none or one; every class will do).
  std::function<Result<std::vector<boost::json::object>>()> global_defaults;
};

std::shared_ptr<const AdmissionPlugin> PriorityAdmission(PriorityClassReader classes);

}  // namespace keelson::apiserver
