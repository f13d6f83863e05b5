// PATCH bodies applied to a JSON object: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
// and strategic merge patch.
//
// Strategic merge patch follows each list's declared merge key and strategy (api/schema.h),
// with its directives ($patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList).
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "api/schema.h"
#include "common/status.h"

namespace keelson::apiserver {

enum class PatchType { kMerge, kJson, kStrategic };

// The budgets of a patch, as upstream's: a JSON patch has at most 10,000 operations, and its
// copy operations may add at most 3 MiB to the document between them (each copy can double
// it); merge and strategic merge patches are nested at most 100 levels (api/json_limits.h,
// which also bounds the patch text). Strategic merge patch merges lists through an index of
// their merge keys, so its time is linear in the sizes of the patch and the object.
inline constexpr size_t kJsonPatchMaxOperations = 10000;
inline constexpr size_t kJsonPatchMaxCopyBytes = 3 << 20;
inline constexpr size_t kPatchMaxDepth = 100;

// The patch type of a Content-Type, or InvalidArgument (415 for the caller) when unknown.
Result<PatchType> PatchTypeOf(std::string_view content_type);

// Applies `patch` (the request body) to `target` (an object of `schema`'s type; null: no list
// semantics known, lists are replaced) in place. Errors: InvalidArgument with a message for
// the client (malformed patch, failed test operation, missing path, a list element without
// its merge key, nesting beyond kPatchMaxDepth); ResourceExhausted for a JSON patch over its
// budgets (upstream answers those 413).
Status ApplyPatch(PatchType type, std::string_view patch, const api::TypeDecl* schema,
                  boost::json::value* target);

}  // namespace keelson::apiserver
