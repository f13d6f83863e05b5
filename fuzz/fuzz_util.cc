#include "fuzz/fuzz_util.h"

#include "api/yaml.h"

namespace keelson::fuzz {

boost::json::value* ParseBody(std::string_view text, boost::json::value* storage) {
  auto j = api::ParseJson(text);
  if (j.ok()) {
    *storage = std::move(*j);
    return storage;
  }
  auto y = api::YamlToJson(text);
  if (!y.ok()) return nullptr;
  *storage = std::move(*y);
  return storage;
}

}  // namespace keelson::fuzz
