// Validation of an object about to be stored, after decoding checks and defaulting, with
// upstream's field paths and texts. What every kind meets is here; each kind's own rules
// (enums, ranges, cross-field rules, fields that cannot change on update) are called by its
// strategy (strategies/*.cc) from validate_kinds.h, and live in validate_*.cc by API group;
// docs/apiserver.md lists them.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "api/labels.h"
#include "api/schema.h"
#include "common/status.h"
#include "api/resources.h"

namespace keelson::apiserver {

// (field path, upstream's error body) for each problem, e.g. ("spec.selector", "Required
// value").
using Causes = api::FieldCauses;

// What every object meets whatever its kind (upstream's ValidateObjectMeta and the schema's
// required fields): labels, annotations and finalizers, ownerReferences, the fields the schema
// declares required, and, on an update (`old` set), an unchanged name, namespace and uid. Each
// kind's own rules are its strategy's (strategy.h).
Causes ValidateObjectMeta(const api::TypeDecl& type, const boost::json::object& obj,
                          const boost::json::object* old);

// What a write of the status subresource meets whatever the kind: name, namespace and uid
// unchanged. The kind's status rules are its strategy's ValidateStatusUpdate.
Causes ValidateStatusMeta(const boost::json::object& obj, const boost::json::object& old);

// `errors` (a name rule's messages for `value`) as causes at `field`
// ("metadata.name: Invalid value: \"x\": ...").
Causes NameCauses(std::string_view field, std::string_view value,
                  const std::vector<std::string>& errors);

// A metav1.LabelSelector object (matchLabels, matchExpressions) as a selector.
// InvalidArgument when it is not one.
Result<api::LabelSelector> SelectorOf(const boost::json::value& selector);

}  // namespace keelson::apiserver
