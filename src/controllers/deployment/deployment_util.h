// The rules of Deployments over their ReplicaSets, as pure functions over JSON objects
// (upstream's pkg/controller/deployment/util/deployment_util.go and the ReplicaSet sorting
// helpers of pkg/controller): revisions and their annotations, maxSurge/maxUnavailable with
// upstream's rounding, how many replicas the new ReplicaSet may have, proportions for scaling
// during a rollout, which ReplicaSet is new, conditions and progress, the pod-template-hash.
//
// ReplicaSets are the cached, immutable objects (client::ObjectPtr); a Deployment is whatever
// copy the caller works on. Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "client/indexer.h"
#include "common/clock.h"
#include "common/status.h"

namespace keelson::controllers::deployment {

using RsList = std::vector<client::ObjectPtr>;

inline constexpr std::string_view kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr std::string_view kRevisionHistoryAnnotation =
    "deployment.kubernetes.io/revision-history";
inline constexpr std::string_view kDesiredReplicasAnnotation =
    "deployment.kubernetes.io/desired-replicas";
inline constexpr std::string_view kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
inline constexpr std::string_view kRollbackToAnnotation = "deprecated.deployment.rollback.to";
inline constexpr std::string_view kLastAppliedAnnotation =
    "kubectl.kubernetes.io/last-applied-configuration";
inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";

// Event reasons of rollbacks.
inline constexpr std::string_view kRollbackRevisionNotFound = "DeploymentRollbackRevisionNotFound";
inline constexpr std::string_view kRollbackTemplateUnchanged = "DeploymentRollbackTemplateUnchanged";
inline constexpr std::string_view kRollbackDone = "DeploymentRollback";

// Condition reasons.
inline constexpr std::string_view kReplicaSetUpdatedReason = "ReplicaSetUpdated";
inline constexpr std::string_view kFailedRSCreateReason = "ReplicaSetCreateError";
inline constexpr std::string_view kNewReplicaSetReason = "NewReplicaSetCreated";
inline constexpr std::string_view kFoundNewRSReason = "FoundNewReplicaSet";
inline constexpr std::string_view kNewRSAvailableReason = "NewReplicaSetAvailable";
inline constexpr std::string_view kTimedOutReason = "ProgressDeadlineExceeded";
inline constexpr std::string_view kPausedDeployReason = "DeploymentPaused";
inline constexpr std::string_view kResumedDeployReason = "DeploymentResumed";
inline constexpr std::string_view kMinimumReplicasAvailable = "MinimumReplicasAvailable";
inline constexpr std::string_view kMinimumReplicasUnavailable = "MinimumReplicasUnavailable";

// Revisions longer than this (in characters) drop their oldest entries from revision-history.
inline constexpr size_t kMaxRevHistoryLengthInChars = 2000;

// --- Reading objects. ---

int64_t Replicas(const api::Object& obj);  // spec.replicas (1 when absent)
int64_t StatusInt(const api::Object& obj, std::string_view field);
std::string_view Annotation(const api::Object& obj, std::string_view key);
bool HasAnnotation(const api::Object& obj, std::string_view key);
bool IsRollingUpdate(const api::Object& d);
bool IsPaused(const api::Object& d);
bool HasProgressDeadline(const api::Object& d);
bool HasRevisionHistoryLimit(const api::Object& d);

// The revision annotation: 0 when absent, nullopt when not a number.
std::optional<int64_t> Revision(const api::Object& obj);
int64_t MaxRevision(const RsList& rss);
// The second highest revision (the one before the current), 0 when none.
int64_t LastRevision(const RsList& rss);

// --- Annotations. ---

// Copies the Deployment's annotations (but the revision, replica, rollback and
// last-applied ones) to `rs`, sets its revision to `new_revision` when higher (keeping the
// old one in revision-history: a rollback re-uses this ReplicaSet), and for a ReplicaSet
// about to be created (!exists) the desired/max replica annotations. True when `rs` changed.
bool SetNewReplicaSetAnnotations(const api::Object& d, api::Object* rs, int64_t new_revision,
                                 bool exists, size_t rev_history_limit_in_chars);
// Sets desired-replicas and max-replicas; true when they changed.
bool SetReplicasAnnotations(api::Object* rs, int64_t desired, int64_t max);
bool ReplicasAnnotationsNeedUpdate(const api::Object& rs, int64_t desired, int64_t max);
std::optional<int64_t> DesiredReplicasAnnotation(const api::Object& rs);
std::optional<int64_t> MaxReplicasAnnotation(const api::Object& rs);
// Sets the Deployment's revision annotation; true when it changed.
bool SetDeploymentRevision(api::Object* d, std::string_view revision);
// On rollback: the Deployment's annotations become the ReplicaSet's (but the skipped ones).
void SetDeploymentAnnotationsTo(api::Object* d, const api::Object& rs);

// --- Surge and unavailability. ---

// An IntOrString scaled against `total`: an int as it is, "N%" as N% of total rounded up or
// down. InvalidArgument for anything else.
Result<int64_t> ScaledValue(const boost::json::value* int_or_percent, int64_t total, bool round_up);
// maxSurge and maxUnavailable resolved together: both zero becomes unavailable 1.
Result<std::pair<int64_t, int64_t>> ResolveFenceposts(const boost::json::value* max_surge,
                                                      const boost::json::value* max_unavailable,
                                                      int64_t desired);
int64_t MaxSurge(const api::Object& d);        // 0 unless RollingUpdate
int64_t MaxUnavailable(const api::Object& d);  // 0 unless RollingUpdate; at most replicas

// How many replicas the new ReplicaSet should have now.
Result<int64_t> NewRSNewReplicas(const api::Object& d, const RsList& all, const api::Object& new_rs);
// The replicas to add (negative: remove) to `rs` of the `to_add` in a proportional scale.
int64_t GetProportion(const api::Object* rs, const api::Object& d, int64_t to_add, int64_t added);
// The new ReplicaSet runs all desired replicas, all available, and its desired-replicas
// annotation agrees.
bool IsSaturated(const api::Object& d, const api::Object* rs);

// --- Which ReplicaSet is which. ---

// Pod templates equal but for the pod-template-hash label (nulls, empty maps and empty lists
// equal to absent ones, as upstream's semantic equality has it).
bool EqualIgnoreHash(const boost::json::value* t1, const boost::json::value* t2);
// The oldest ReplicaSet whose template is the Deployment's, or null.
client::ObjectPtr FindNewReplicaSet(const api::Object& d, const RsList& rss);
// Every ReplicaSet but the new one.
RsList FindOldReplicaSets(const api::Object& d, const RsList& rss);
// Those with spec.replicas > 0.
RsList FilterActiveReplicaSets(const RsList& rss);
// The only active ReplicaSet, or the newest when none is active; null when several are.
client::ObjectPtr FindActiveOrLatest(const client::ObjectPtr& new_rs, RsList old_rss);
// Sums over ReplicaSets (null entries skipped).
int64_t ReplicaCount(const RsList& rss);           // spec.replicas
int64_t ActualReplicaCount(const RsList& rss);     // status.replicas
int64_t ReadyReplicaCount(const RsList& rss);      // status.readyReplicas
int64_t AvailableReplicaCount(const RsList& rss);  // status.availableReplicas

// Sorts: by creation time then name (oldest first); by size, larger first, ties newer
// (BySizeNewer) or older (BySizeOlder) first; by revision, then creation time.
void SortByCreation(RsList* rss);
void SortBySizeNewer(RsList* rss);
void SortBySizeOlder(RsList* rss);
void SortByRevision(RsList* rss);

// --- Template hash. ---

// The pod-template-hash of `pod_template` with the collision count (none when nullopt):
// FNV-32a over the template's canonical JSON (keys sorted, nulls and empty values left out)
// and the count's 8 little-endian bytes, its decimal form mapped onto upstream's
// safe-encoding alphabet.
std::string ComputeHash(const boost::json::value& pod_template, std::optional<int64_t> collision_count);

// --- Conditions and status (a DeploymentStatus object). ---

boost::json::object NewCondition(std::string_view type, std::string_view status,
                                 std::string_view reason, std::string_view message,
                                 Clock::WallTime now);
const boost::json::object* GetCondition(const boost::json::object& status, std::string_view type);
// Adds or replaces the condition of its type, unless one with the same status and reason is
// there; keeps lastTransitionTime when the status did not change.
void SetCondition(boost::json::object* status, boost::json::object condition);
void RemoveCondition(boost::json::object* status, std::string_view type);
// The status in upstream's JSON form (zero counters and empty conditions left out) for
// comparing.
boost::json::object CanonicalStatus(const boost::json::value* status);

// All desired replicas updated and available, no old ones, generation observed.
bool DeploymentComplete(const api::Object& d, const boost::json::object& new_status);
// New pods, fewer old pods, more ready or available than the Deployment's current status.
bool DeploymentProgressing(const api::Object& d, const boost::json::object& new_status);
// The Progressing condition's lastUpdateTime is older than progressDeadlineSeconds.
bool DeploymentTimedOut(const api::Object& d, const boost::json::object& new_status,
                        Clock::WallTime now);

}  // namespace keelson::controllers::deployment
