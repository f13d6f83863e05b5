// Real objects for the fuzz targets to patch and apply onto (a Deployment, a Pod, a Service,
// a ConfigMap, as the tests create them).
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace keelson::fuzz {

struct Object {
  std::string api_version;
  std::string kind;
  boost::json::value value;
};

const std::vector<Object>& Objects();

}  // namespace keelson::fuzz
