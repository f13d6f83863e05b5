// Upstream's DefaultTolerationSeconds admission plugin, applied when a pod is created: a pod
// that does not tolerate the node.kubernetes.io/not-ready or node.kubernetes.io/unreachable
// NoExecute taint gets a toleration of it for 300 seconds, so that the taint eviction
// controller evicts it 5 minutes after its node fails rather than at once.
#pragma once

#include <cstdint>

#include "api/object.h"

namespace keelson::apiserver::strategies {

inline constexpr int64_t kDefaultNotReadyTolerationSeconds = 300;
inline constexpr int64_t kDefaultUnreachableTolerationSeconds = 300;

// Appends `{key: <taint>, operator: Exists, effect: NoExecute, tolerationSeconds: N}` for each
// of the two taints that no toleration of spec.tolerations covers (one whose key is that
// taint's or empty, and whose effect is NoExecute or empty).
void AddDefaultTolerationSeconds(api::Object* pod);

}  // namespace keelson::apiserver::strategies
