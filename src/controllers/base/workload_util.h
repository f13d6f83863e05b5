// What the workload controllers (ReplicaSet, ReplicationController, Deployment) read from
// objects held as JSON, without copying them: numbers and nested values by path, label
// selectors, the controller reference's uid, status conditions, creation times; and the
// informer indexes they share (objects by their controller's uid, orphans by namespace).
//
// Pure functions over immutable objects; thread-compatible.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "api/labels.h"
#include "api/object.h"
#include "client/informer.h"
#include "common/clock.h"
#include "common/status.h"

namespace keelson::controllers {

// The value at `path` (object keys), or null.
const boost::json::value* ValueAt(const api::Object& obj,
                                  std::initializer_list<std::string_view> path);
// The object at `path`, or null when absent or not an object.
const api::Object* ObjectAt(const api::Object& obj, std::initializer_list<std::string_view> path);
// An integer (int64, uint64 or a whole double), or nullopt.
std::optional<int64_t> AsInt(const boost::json::value* v);
// The integer at `path`, or `fallback` when absent or not a number.
int64_t IntAt(const api::Object& obj, std::initializer_list<std::string_view> path,
              int64_t fallback = 0);
// The string at `path`, or "" when absent or not a string.
std::string_view StringAt(const api::Object& obj, std::initializer_list<std::string_view> path);
// The boolean at `path`, or false.
bool BoolAt(const api::Object& obj, std::initializer_list<std::string_view> path);

// spec.replicas, defaulting to 1 as the API does for the workload kinds.
int64_t SpecReplicas(const api::Object& obj);

// A metav1.LabelSelector (matchLabels, matchExpressions) as a selector: Nothing() for a null
// or absent selector, Everything for an empty one (upstream's LabelSelectorAsSelector).
// InvalidArgument when it cannot be one.
Result<api::LabelSelector> SelectorFromStructured(const boost::json::value* selector);
// A map selector (a ReplicationController's spec.selector) as upstream converts it to a
// ReplicaSet's: Nothing() when absent, matchLabels otherwise (the API defaults an empty one
// to the template's labels and refuses an empty result).
api::LabelSelector SelectorFromMap(const boost::json::value* selector);

// Whether `selector` matches obj's metadata.labels, read in place (api::LabelSelector's
// semantics without building a label map).
bool SelectorMatches(const api::LabelSelector& selector, const api::Object& obj);

// The uid of the owner reference marked controller, or "" (no allocation).
std::string_view ControllerUidOf(const api::Object& obj);
// The controller reference's kind and name ("" when none).
std::string_view ControllerKindOf(const api::Object& obj);
std::string_view ControllerNameOf(const api::Object& obj);
// The controller reference as JSON (null when none), for change detection.
boost::json::value ControllerRefJson(const api::Object& obj);
// Whether the two objects have the same metadata.labels (absent and empty alike).
bool SameLabels(const api::Object& a, const api::Object& b);
// A work queue key ("namespace/name", or "name") split in two.
std::pair<std::string_view, std::string_view> SplitKey(std::string_view key);

// Informer indexes the workload controllers share (registered on first use; a second
// registration of the same name is fine).
inline constexpr std::string_view kControllerUidIndex = "controller-uid";
inline constexpr std::string_view kOrphanNamespaceIndex = "orphan-namespace";
// Objects by their controller's uid.
client::IndexFunc ControllerUidIndexFunc();
// Objects without a controller reference, by namespace: what a controller may adopt.
client::IndexFunc OrphanNamespaceIndexFunc();
// Adds both indexes to `informer` (AlreadyExists is fine: they are shared).
void AddWorkloadIndexes(client::SharedInformer* informer);

// The objects controlled by the owner with uid `owner_uid` and the orphans of namespace `ns`:
// every object a controller's claim can change (upstream lists the whole namespace and
// filters; the indexes make it proportional to the owner's objects).
std::vector<client::ObjectPtr> ClaimCandidates(const client::Indexer& indexer,
                                               std::string_view ns, std::string_view owner_uid);
// The objects controlled by the owner with uid `owner_uid`.
std::vector<client::ObjectPtr> ControlledBy(const client::Indexer& indexer,
                                            std::string_view owner_uid);

// The status condition of `type` in `obj`'s status.conditions, or null.
const api::Object* StatusCondition(const api::Object& obj, std::string_view type);

// metadata.creationTimestamp parsed (nullopt when absent or unparsable).
std::optional<Clock::WallTime> CreationTime(const api::Object& obj);
// Orders objects by creation time, then name (upstream's *ByCreationTimestamp).
bool CreatedBefore(const api::Object& a, const api::Object& b);

// A timestamp as the API writes it (RFC 3339, whole seconds, UTC).
std::string Timestamp(Clock::WallTime t);

}  // namespace keelson::controllers
