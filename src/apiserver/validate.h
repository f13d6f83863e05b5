// Validation of an object about to be stored, after decoding checks and defaulting, with
// upstream's field paths and texts: object names per kind, metadata labels, annotations and
// finalizers, the fields the schema declares required, and every served kind's own rules
// (enums, ranges, cross-field rules, fields that cannot change on update). The rules live in
// validate_*.cc by API group; docs/apiserver.md lists them.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/labels.h"
#include "api/schema.h"
#include "common/status.h"
#include "api/resources.h"

namespace keelson::apiserver {

// (field path, upstream's error body) for each problem, e.g.
// ("spec.selector", "Required value"). `old` is the stored object on an update, else null.
// `events_v1` marks an Event written through events.k8s.io/v1 (stored in its core form),
// which meets upstream's stricter rules for that API.
std::vector<std::pair<std::string, std::string>> ValidateObject(
    const api::ResourceInfo& r, const api::TypeDecl& type, const boost::json::object& obj,
    const boost::json::object* old, bool events_v1 = false);

// The problems with `name` as the name of a new object of resource `r` (a DNS-1123 label
// for namespaces, an RFC 1035 label for services, a path segment for RBAC objects and
// persistent volumes, a DNS-1123 subdomain otherwise), reported at "metadata.name".
std::vector<std::pair<std::string, std::string>> ValidateName(const api::ResourceInfo& r,
                                                              std::string_view name);

// The problems with `generate_name` as the metadata.generateName of a new object of resource
// `r`: the name rule of its kind, read as a prefix (a trailing '-' is allowed).
std::vector<std::pair<std::string, std::string>> ValidateGenerateName(
    const api::ResourceInfo& r, std::string_view generate_name);

// A write of the status subresource: `obj` is the stored object `old` with the new status.
// Checks what identifies the object (metadata) and the status rules of its kind (counts,
// conditions, quantities) with upstream's paths and texts.
std::vector<std::pair<std::string, std::string>> ValidateStatusUpdate(
    const api::ResourceInfo& r, const boost::json::object& obj, const boost::json::object& old);

// A metav1.LabelSelector object (matchLabels, matchExpressions) as a selector.
// InvalidArgument when it is not one.
Result<api::LabelSelector> SelectorOf(const boost::json::value& selector);

}  // namespace keelson::apiserver
