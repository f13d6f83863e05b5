// Validation of an object about to be stored, after decoding checks and defaulting, with
// upstream's field paths and texts: metadata labels and annotations, the fields the schema
// declares required, and per-kind rules (a workload's selector must match its template's
// labels and cannot change; a pod's containers need images and unique names; enums).
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <utility>
#include <vector>

#include "api/labels.h"
#include "api/schema.h"
#include "common/status.h"
#include "apiserver/resources.h"

namespace keelson::apiserver {

// (field path, upstream's error body) for each problem, e.g.
// ("spec.selector", "Required value"). `old` is the stored object on an update, else null.
std::vector<std::pair<std::string, std::string>> ValidateObject(
    const ResourceInfo& r, const api::TypeDecl& type, const boost::json::object& obj,
    const boost::json::object* old);

// A metav1.LabelSelector object (matchLabels, matchExpressions) as a selector.
// InvalidArgument when it is not one.
Result<api::LabelSelector> SelectorOf(const boost::json::value& selector);

}  // namespace keelson::apiserver
