// ControllerRefManager: adoption and orphaning by selector and controller references
// (upstream's BaseControllerRefManager, PodControllerRefManager and
// ReplicaSetControllerRefManager, pkg/controller/controller_ref_manager.go).
//
// Claim() walks the objects a controller might own and, for each:
//   - controlled by another owner: ignored;
//   - controlled by this owner and matched by its selector (and filter): claimed;
//   - controlled by this owner but no longer matched: released (a strategic merge patch
//     deleting the owner reference, guarded by the object's uid), unless the owner is being
//     deleted;
//   - an orphan that matches, not being deleted, while the owner is not being deleted: adopted
//     (a patch adding the controller reference, guarded by the object's uid) and claimed.
// Before the first adoption of a pass, `can_adopt` runs once (upstream's
// RecheckDeletionTimestamp: a live read of the owner, which must still exist with the same
// uid and not be being deleted); if it fails, every adoption of the pass fails with it.
// Objects gone meanwhile (NotFound) are skipped; a release the server refuses as Invalid
// (the reference is already gone, or the object was re-created) counts as done.
//
// One manager serves one sync pass of one owner. Thread-compatible.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/labels.h"
#include "api/object.h"
#include "client/indexer.h"
#include "client/rest_client.h"
#include "common/status.h"

namespace keelson::controllers {

class ControllerRefManager {
 public:
  // `owner` is the controller (as cached); `api_version` and `kind` name its kind in the
  // references written; `objects` is the controlled resource in the owner's namespace.
  ControllerRefManager(const api::Object& owner, api::LabelSelector selector,
                       std::string api_version, std::string kind, client::ResourceClient objects,
                       std::function<Status()> can_adopt);

  // The objects of `candidates` the owner owns after the claim. `filter` (optional) must
  // also hold for an object to be claimed. Failed adoptions and releases are reported in
  // `errors` (their messages joined), the rest of the claim still done.
  std::vector<client::ObjectPtr> Claim(const std::vector<client::ObjectPtr>& candidates,
                                       const std::function<bool(const api::Object&)>& filter,
                                       Status* errors);

  // A can_adopt check: reads the owner through `owners` (its resource, in its namespace) and
  // refuses when it is gone, was re-created (another uid) or is being deleted.
  static std::function<Status()> RecheckDeletionTimestamp(client::ResourceClient owners,
                                                          std::string name, std::string uid);

 private:
  Status Adopt(const api::Object& obj);
  Status Release(const api::Object& obj);
  Status CanAdopt();

  const api::Object& owner_;
  const api::LabelSelector selector_;
  const std::string api_version_;
  const std::string kind_;
  const std::string owner_uid_;
  const bool owner_deleting_;
  client::ResourceClient objects_;
  std::function<Status()> can_adopt_;
  std::optional<Status> can_adopt_result_;
};

}  // namespace keelson::controllers
