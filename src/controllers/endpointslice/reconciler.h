// The EndpointSlice reconciler (upstream's staging/src/k8s.io/endpointslice/reconciler.go), as
// a pure function: from a Service, the pods its selector matches and the slices that exist,
// the slices to create, update and delete. endpointslice_controller.cc writes the plan.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <vector>

#include "api/object.h"
#include "client/indexer.h"
#include "common/status.h"

namespace keelson::controllers {

inline constexpr std::string_view kLabelServiceName = "kubernetes.io/service-name";
inline constexpr std::string_view kLabelManagedBy = "endpointslice.kubernetes.io/managed-by";

struct SlicePlan {
  std::vector<api::Object> create;  // no name yet (generateName)
  std::vector<api::Object> update;  // full objects, with their resourceVersion when read
  std::vector<api::Object> remove;
  // Pods left out for a reason worth retrying (their node is not in the cache yet).
  Status error;
};

struct ReconcileInput {
  const api::Object* service = nullptr;
  std::vector<client::ObjectPtr> pods;
  std::vector<client::ObjectPtr> slices;  // this controller's slices of the Service
  // The node of a pod by name, or null.
  std::function<client::ObjectPtr(const std::string&)> node;
  int max_endpoints_per_slice = 100;
  std::string controller_name;
};

SlicePlan PlanSlices(const ReconcileInput& in);

// The slices' labels for `service`: its own (but the reserved ones), the headless label, the
// service name and the manager; and whether the slice's non-reserved labels differ from the
// Service's.
std::pair<boost::json::object, bool> SliceLabels(const api::Object& slice,
                                                 const api::Object& service,
                                                 const std::string& controller_name);

}  // namespace keelson::controllers
