// The query parameters of a LIST or WATCH (upstream's metav1.ListOptions) and their checks:
// resourceVersion, resourceVersionMatch, limit, continue, sendInitialEvents,
// allowWatchBookmarks and timeoutSeconds, and which read each combination asks for.
//
// Pure functions of the request; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/validation.h"
#include "apiserver/http.h"
#include "common/status.h"

namespace keelson::apiserver {

struct ListOptions {
  bool watch = false;
  std::string resource_version;  // as sent ("" when absent)
  int64_t revision = 0;          // resource_version as a number (0 for "" and "0")
  std::string match;             // resourceVersionMatch: "", "Exact" or "NotOlderThan"
  int64_t limit = 0;
  std::string continue_token;
  std::optional<bool> send_initial_events;
  bool allow_bookmarks = false;
  std::optional<int64_t> timeout_seconds;
};

// Reads the parameters. InvalidArgument (answered as 400 BadRequest) for values that are not
// what they should be (a resourceVersion, limit or timeoutSeconds that is not a number).
Result<ListOptions> ParseListOptions(const HttpRequest& req);

// Upstream's ValidateListOptions (list) and its watch counterpart: the combinations of
// resourceVersion, resourceVersionMatch, continue and sendInitialEvents that are refused.
// Upstream answers these as 422 Invalid against kind ListOptions of group meta.k8s.io.
std::vector<api::FieldError> ValidateListOptions(const ListOptions& o);

// Which state a LIST reads (upstream's semantics for resourceVersion and match).
enum class ListRead {
  kConsistent,    // resourceVersion "": the latest state (a quorum read)
  kAny,           // "0": any state the server has
  kNotOlderThan,  // N with NotOlderThan, or N without a match and without a limit
  kExact,         // N with Exact, or N without a match but with a limit (legacy)
};
ListRead ListReadOf(const ListOptions& o);

// A continue token: the revision of the list's snapshot and the last key returned.
struct ContinueToken {
  int64_t revision = 0;
  std::string last_key;
};
std::string EncodeContinue(int64_t revision, std::string_view last_key);
// InvalidArgument "continue key is not valid" for anything else.
Result<ContinueToken> DecodeContinue(std::string_view token);

}  // namespace keelson::apiserver
