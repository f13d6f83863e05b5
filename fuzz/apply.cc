// Server-side apply: a configuration (JSON or YAML, the rest of the input) applied by one
// manager onto a real object or onto nothing (the first byte picks which, and whether to
// force), then pruned and defaulted as the API server does. Invariants: nothing crashes, leaks
// or hangs; an applied object reads back as JSON; applying the same configuration again by
// the same manager conflicts with nothing and changes nothing.
#include <boost/json.hpp>

#include "api/defaults.h"
#include "api/prune.h"
#include "api/schema.h"
#include "apiserver/apply.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/objects.h"

namespace json = boost::json;
using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& objects = fuzz::Objects();
  size_t pick = data[0] % (objects.size() * 4);
  const fuzz::Object& target = objects[pick / 4];
  bool has_live = (pick % 2) == 0;
  bool force = (pick % 4) >= 2;
  json::value storage;
  json::value* config =
      fuzz::ParseBody(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), &storage);
  if (config == nullptr || !config->is_object()) return 0;
  const api::TypeDecl* type = api::Schema::BuiltIn().KindOf(target.api_version, target.kind);
  apiserver::ManagerInfo who{"fuzz", target.api_version, "2024-01-02T03:04:05Z"};
  std::vector<apiserver::ApplyConflict> conflicts;
  const json::object* live = has_live ? &target.value.as_object() : nullptr;
  json::object obj =
      apiserver::ServerSideApply(*type, live, config->as_object(), who, force, &conflicts);
  if (!conflicts.empty()) return 0;
  if (!api::Prune(*type, &obj).type_error.empty()) return 0;
  api::ApplyDefaults(*type, &obj);
  std::string first = fuzz::CheckReadable(obj, "an applied object does not read back");
  std::vector<apiserver::ApplyConflict> again_conflicts;
  json::object again =
      apiserver::ServerSideApply(*type, &obj, config->as_object(), who, false, &again_conflicts);
  fuzz::Check(again_conflicts.empty(), "re-applying the same configuration conflicts", first);
  api::Prune(*type, &again);
  api::ApplyDefaults(*type, &again);
  fuzz::Check(again == obj, "re-applying the same configuration changes the object",
              first + "\n" + json::serialize(again));
  return 0;
}
