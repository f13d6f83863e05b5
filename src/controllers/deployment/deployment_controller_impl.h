// The Deployment controller's class, shared by its translation units (as upstream splits
// deployment_controller.go, sync.go, rolling.go, recreate.go, progress.go and rollback.go):
// deployment_controller.cc (handlers, the sync entry, claiming), sync.cc (new ReplicaSet,
// scaling, cleanup, status), rollout.cc (rolling, recreate, progress, rollback).
//
// The Deployment a sync works on is its own copy (`api::Object& d`); ReplicaSets are the
// informer's immutable objects, replaced in the sync's lists by what the API answers after a
// write. Thread-safety: handlers run on the informers' threads and only enqueue; a key is
// synced by one worker at a time.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "client/event_recorder.h"
#include "client/indexer.h"
#include "client/informer.h"
#include "client/rest_client.h"
#include "controllers/controller.h"
#include "controllers/deployment/deployment_util.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers::deployment {

// A create refused because the namespace is terminating: every later create fails too, so the
// sync ends without an error (upstream forgets the key).
inline constexpr std::string_view kNamespaceTerminatingMessage = "namespace is terminating";
Status NamespaceTerminatingStatus();
bool IsNamespaceTerminatingStatus(const Status& st);

// The deprecated.deployment.rollback.to revision, when the annotation is a number.
std::optional<int64_t> RollbackTo(const api::Object& d);

class DeploymentController final : public Controller {
 public:
  DeploymentController(ControllerContext& ctx, client::SharedInformer* deployments,
                       client::SharedInformer* replica_sets, client::SharedInformer* pods,
                       client::ResourceClient d_client, client::ResourceClient rs_client);

  void Start() override { queue_.Start(workers_); }
  void Stop() override { queue_.Stop(); }

 private:
  // --- Handlers (deployment_controller.cc). ---
  void ReplicaSetAdded(const api::Object& rs);
  void ReplicaSetUpdated(const api::Object& old, const api::Object& cur);
  void ReplicaSetDeleted(const api::Object& rs);
  void PodDeleted(const api::Object& pod);
  client::ObjectPtr ResolveControllerRef(const api::Object& obj) const;
  std::vector<client::ObjectPtr> DeploymentsSelecting(const api::Object& rs) const;
  void Enqueue(const api::Object& d) { queue_.Enqueue(d); }

  // --- The sync (deployment_controller.cc). ---
  Status Sync(const std::string& key);
  Status SyncDeployment(const std::string& key);
  Result<RsList> ReplicaSetsForDeployment(const api::Object& d);
  // How many pods (of any phase) the ReplicaSets of `rss` control.
  size_t PodsOf(const RsList& rss) const;

  // --- sync.go (sync.cc). ---
  Status SyncStatusOnly(api::Object& d, const RsList& rs_list);
  Status SyncScaleOrPaused(api::Object& d, const RsList& rs_list);
  Status CheckPausedConditions(api::Object& d);
  struct AllReplicaSets {
    client::ObjectPtr new_rs;  // null when none yet
    RsList old_rss;
  };
  Result<AllReplicaSets> GetAllReplicaSetsAndSyncRevision(api::Object& d, const RsList& rs_list,
                                                          bool create_if_not_existed);
  Result<client::ObjectPtr> GetNewReplicaSet(api::Object& d, const RsList& rs_list,
                                             const RsList& old_rss, bool create_if_not_existed);
  Status Scale(api::Object& d, const client::ObjectPtr& new_rs, RsList old_rss);
  struct ScaleResult {
    bool scaled = false;
    client::ObjectPtr rs;
  };
  Result<ScaleResult> ScaleReplicaSetAndRecordEvent(const client::ObjectPtr& rs, int64_t new_scale,
                                                    const api::Object& d);
  Result<ScaleResult> ScaleReplicaSet(const client::ObjectPtr& rs, int64_t new_scale,
                                      const api::Object& d, std::string_view operation);
  Status CleanupDeployment(const RsList& old_rss, const api::Object& d);
  Status SyncDeploymentStatus(const RsList& all_rss, const client::ObjectPtr& new_rs, api::Object& d);
  boost::json::object CalculateStatus(const RsList& all_rss, const client::ObjectPtr& new_rs,
                                      const api::Object& d) const;
  Result<bool> IsScalingEvent(api::Object& d, const RsList& rs_list);
  // PUT .../status of `d` (its status as set), then the revision annotation when the server
  // did not take it with the status; `d` takes the new resourceVersion.
  Status WriteStatus(api::Object& d);

  // --- rolling.go, recreate.go, progress.go, rollback.go (rollout.cc). ---
  Status RolloutRolling(api::Object& d, const RsList& rs_list);
  Result<bool> ReconcileNewReplicaSet(const RsList& all_rss, const client::ObjectPtr& new_rs,
                                      const api::Object& d);
  Result<bool> ReconcileOldReplicaSets(const RsList& all_rss, RsList old_rss,
                                       const client::ObjectPtr& new_rs, const api::Object& d);
  Result<std::pair<RsList, int64_t>> CleanupUnhealthyReplicas(RsList old_rss, const api::Object& d,
                                                              int64_t max_cleanup);
  Result<int64_t> ScaleDownOldReplicaSetsForRollingUpdate(const RsList& all_rss, RsList old_rss,
                                                          const api::Object& d);
  Status RolloutRecreate(api::Object& d, const RsList& rs_list);
  bool OldPodsRunning(const client::ObjectPtr& new_rs, const RsList& old_rss,
                      const RsList& rs_list) const;
  Status SyncRolloutStatus(const RsList& all_rss, const client::ObjectPtr& new_rs, api::Object& d);
  void RequeueStuckDeployment(const api::Object& d, const boost::json::object& new_status);
  Status Rollback(api::Object& d, const RsList& rs_list);
  Status UpdateDeploymentAndClearRollbackTo(api::Object& d);

  // Records an event about `d` (related to a ReplicaSet it scaled, when given).
  void Event(const api::Object& d, std::string_view type, std::string_view reason,
             std::string_view note, const api::Object* related = nullptr);

  const std::shared_ptr<const Clock> clock_;
  const client::Indexer& deployments_;
  const client::Indexer& replica_sets_;
  const client::Indexer& pods_;
  const client::ResourceClient d_client_;
  const client::ResourceClient rs_client_;
  client::EventRecorder* const recorder_;
  const int workers_;
  QueueWorker queue_;  // last: its workers use everything above
};

}  // namespace keelson::controllers::deployment
