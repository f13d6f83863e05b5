#include "controllers/base/controller_ref_manager.h"

#include <boost/json/serialize.hpp>

#include "api/errors.h"
#include "controllers/base/workload_util.h"

namespace keelson::controllers {

namespace json = boost::json;

ControllerRefManager::ControllerRefManager(const api::Object& owner, api::LabelSelector selector,
                                           std::string api_version, std::string kind,
                                           client::ResourceClient objects,
                                           std::function<Status()> can_adopt)
    : owner_(owner), selector_(std::move(selector)), api_version_(std::move(api_version)),
      kind_(std::move(kind)), owner_uid_(api::GetUid(owner)),
      owner_deleting_(api::IsBeingDeleted(owner)), objects_(std::move(objects)),
      can_adopt_(std::move(can_adopt)) {}

std::vector<client::ObjectPtr> ControllerRefManager::Claim(
    const std::vector<client::ObjectPtr>& candidates,
    const std::function<bool(const api::Object&)>& filter, Status* errors) {
  std::vector<client::ObjectPtr> claimed;
  claimed.reserve(candidates.size());
  std::string messages;
  auto record = [&](const Status& st) {
    if (st.ok()) return;
    if (!messages.empty()) messages += ", ";
    messages += st.message();
  };
  auto match = [&](const api::Object& obj) {
    return SelectorMatches(selector_, obj) && (!filter || filter(obj));
  };
  for (const client::ObjectPtr& obj : candidates) {
    std::string_view controller = ControllerUidOf(*obj);
    if (!controller.empty()) {
      if (controller != owner_uid_) continue;  // someone else's
      if (match(*obj)) {
        // Ours and still selected: no action, also while the owner is being deleted.
        claimed.push_back(obj);
        continue;
      }
      if (owner_deleting_) continue;
      record(Release(*obj));
      continue;
    }
    // An orphan.
    if (owner_deleting_ || !match(*obj) || api::IsBeingDeleted(*obj)) continue;
    Status st = Adopt(*obj);
    if (st.ok()) {
      claimed.push_back(obj);
    } else if (st.code() != StatusCode::kNotFound) {
      record(st);
    }
  }
  if (errors != nullptr) {
    *errors = messages.empty() ? Status::Ok() : Status(StatusCode::kInternal, messages);
  }
  return claimed;
}

Status ControllerRefManager::CanAdopt() {
  if (!can_adopt_result_) can_adopt_result_ = can_adopt_ ? can_adopt_() : Status::Ok();
  return *can_adopt_result_;
}

Status ControllerRefManager::Adopt(const api::Object& obj) {
  if (Status st = CanAdopt(); !st.ok()) {
    return Status(st.code() == StatusCode::kNotFound ? StatusCode::kInternal : st.code(),
                  "can't adopt " + objects_.resource().kind + " " + std::string(api::GetNamespace(obj)) +
                      "/" + std::string(api::GetName(obj)) + " (" +
                      std::string(api::GetUid(obj)) + "): " + st.message());
  }
  // The server refuses the patch if another controller reference exists meanwhile.
  json::object ref{{"apiVersion", api_version_}, {"kind", kind_},
                   {"name", api::GetName(owner_)}, {"uid", owner_uid_},
                   {"controller", true}, {"blockOwnerDeletion", true}};
  json::object patch{{"metadata", json::object{{"ownerReferences", json::array{std::move(ref)}},
                                               {"uid", api::GetUid(obj)}}}};
  auto r = objects_.Patch(api::GetName(obj), client::PatchType::kStrategicMerge,
                          json::serialize(patch));
  if (r.ok()) return Status::Ok();
  return r.error().ToStatus();
}

Status ControllerRefManager::Release(const api::Object& obj) {
  json::object patch{
      {"metadata", json::object{{"ownerReferences",
                                 json::array{json::object{{"$patch", "delete"}, {"uid", owner_uid_}}}},
                                {"uid", api::GetUid(obj)}}}};
  auto r = objects_.Patch(api::GetName(obj), client::PatchType::kStrategicMerge,
                          json::serialize(patch));
  if (r.ok()) return Status::Ok();
  // Gone, or re-created / already released: nothing left to release.
  if (api::IsNotFound(r.error()) || api::IsInvalid(r.error())) return Status::Ok();
  return r.error().ToStatus();
}

std::function<Status()> ControllerRefManager::RecheckDeletionTimestamp(
    client::ResourceClient owners, std::string name, std::string uid) {
  return [owners = std::move(owners), name = std::move(name), uid = std::move(uid)]() -> Status {
    auto fresh = owners.Get(name);
    if (!fresh.ok()) {
      return Status(StatusCode::kInternal,
                    "can't recheck DeletionTimestamp: " + fresh.error().message);
    }
    if (api::GetUid(*fresh) != uid) {
      return Status(StatusCode::kInternal,
                    "can't recheck DeletionTimestamp: original " + owners.resource().kind + " " +
                        owners.ns() + "/" + name + " is gone: got uid " +
                        std::string(api::GetUid(*fresh)) + ", wanted " + uid);
    }
    if (api::IsBeingDeleted(*fresh)) {
      return Status(StatusCode::kInternal, owners.ns() + "/" + name + " has just been deleted at " +
                                               std::string(api::GetDeletionTimestamp(*fresh)));
    }
    return Status::Ok();
  };
}

}  // namespace keelson::controllers
