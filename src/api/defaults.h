// Defaulting: the values upstream gives to fields a client leaves out, declared per type
// (src/api/defaults.cc) and applied wherever the type occurs (a PodSpec inside a Deployment's
// template gets the PodSpec defaults). Applied after pruning, before validation.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string_view>

#include "api/schema.h"

namespace keelson::api {

void ApplyDefaults(const TypeDecl& type, boost::json::object* obj);

// The plain default of a field (e.g. ContainerPort.protocol: "TCP"), if it has one.
std::optional<boost::json::value> DefaultOf(const TypeDecl& type, std::string_view field);

}  // namespace keelson::api
