// JSON and YAML bodies decoded into objects as the API server decodes them: parse, find the
// kind, prune unknown fields and check types, default. Invariants: nothing crashes, leaks or
// hangs; what is accepted serializes to JSON that parses again within the limits, and
// decoding that JSON again (prune, default) changes nothing.
#include <boost/json.hpp>

#include "api/defaults.h"
#include "api/prune.h"
#include "api/schema.h"
#include "fuzz/fuzz_util.h"

namespace json = boost::json;
using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json::value storage;
  json::value* doc = fuzz::ParseBody(text, &storage);
  if (doc == nullptr || !doc->is_object()) return 0;
  json::object& obj = doc->as_object();
  const auto* av = obj.if_contains("apiVersion");
  const auto* kind = obj.if_contains("kind");
  const api::TypeDecl* type = nullptr;
  if (av && av->is_string() && kind && kind->is_string()) {
    type = api::Schema::BuiltIn().KindOf(av->as_string(), kind->as_string());
  }
  if (type == nullptr) type = api::Schema::BuiltIn().KindOf("v1", "ConfigMap");
  api::PruneReport report = api::Prune(*type, &obj);
  if (!report.type_error.empty()) return 0;
  api::ApplyDefaults(*type, &obj);
  std::string first = fuzz::CheckReadable(obj, "a decoded object does not read back");

  json::object again = api::ParseJson(first)->as_object();
  api::PruneReport second = api::Prune(*type, &again);
  fuzz::Check(second.type_error.empty(), "a decoded object has a type error the second time",
              second.type_error + "\n" + first);
  fuzz::Check(second.unknown.empty(), "a decoded object has unknown fields the second time",
              first);
  api::ApplyDefaults(*type, &again);
  fuzz::Check(json::serialize(again) == first, "decoding is not stable",
              first + "\n" + json::serialize(again));
  return 0;
}
