// Decoding checks of a request body against its kind's declaration, as upstream's decoder
// applies them: fields the declaration does not have are dropped (and reported, so that the
// caller can refuse or warn per fieldValidation), null values are dropped, and a value of the
// wrong JSON type is an error. Integral floats become integers.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "api/schema.h"

namespace keelson::api {

struct PruneReport {
  // Paths of the dropped fields, e.g. "spec.template.spec.containers[0].foo".
  std::vector<std::string> unknown;
  // The first type error, e.g. "json: cannot unmarshal string into Go struct field
  // DeploymentSpec.spec.replicas of type int32"; empty when none.
  std::string type_error;
};

// Checks and prunes `obj` (an object of `type`) in place.
PruneReport Prune(const TypeDecl& type, boost::json::object* obj);

}  // namespace keelson::api
