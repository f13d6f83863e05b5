// Patches applied as PATCH requests apply them: JSON merge patch, JSON patch and strategic
// merge patch onto real objects. The first byte picks the object and the patch type, the
// rest is the patch. Invariants: nothing crashes, leaks or hangs (the budgets of
// apiserver/patch.h bound time and size); a patched object reads back as JSON.
#include <boost/json.hpp>

#include "api/schema.h"
#include "apiserver/patch.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/objects.h"

namespace json = boost::json;
using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& objects = fuzz::Objects();
  size_t pick = data[0] % (objects.size() * 3);
  const fuzz::Object& target = objects[pick / 3];
  auto type = static_cast<apiserver::PatchType>(pick % 3);
  std::string_view patch(reinterpret_cast<const char*>(data + 1), size - 1);
  json::value doc = target.value;
  const api::TypeDecl* schema = api::Schema::BuiltIn().KindOf(target.api_version, target.kind);
  Status st = apiserver::ApplyPatch(type, patch, schema, &doc);
  if (!st.ok()) return 0;
  fuzz::CheckReadable(doc, "a patched object does not read back");
  return 0;
}
