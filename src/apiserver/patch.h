// PATCH bodies applied to a JSON object: JSON merge patch (RFC 7386), JSON patch (RFC 6902)
// and strategic merge patch.
//
// Strategic merge patch needs each list's merge key and strategy, which come with the schema
// declarations of the kinds (not there yet). Until then it is applied as a merge patch to maps
// and scalars, with the `$patch: delete` and `$retainKeys` directives refused, and a patch
// that sets a list is refused with a clear error rather than replacing the list the way a
// merge patch would.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "common/status.h"

namespace keelson::apiserver {

enum class PatchType { kMerge, kJson, kStrategic };

// The patch type of a Content-Type, or InvalidArgument (415 for the caller) when unknown.
Result<PatchType> PatchTypeOf(std::string_view content_type);

// Applies `patch` (the request body) to `target` in place. Errors: InvalidArgument with a
// message for the client (malformed patch, failed test operation, missing path, unsupported
// strategic list patch).
Status ApplyPatch(PatchType type, std::string_view patch, boost::json::value* target);

}  // namespace keelson::apiserver
