// Field management and server-side apply, as upstream defines them:
// - every write records which manager set which fields, in metadata.managedFields (FieldsV1
//   sets: "f:<field>", "k:{<list map keys>}" for list elements, "v:<value>" for set members,
//   "." for an element as a whole);
// - an apply (PATCH application/apply-patch+yaml) merges the manager's whole intent into the
//   live object by the declared list types and keys, removes what the manager applied before
//   and no longer applies (when nobody else owns it), and refuses to change a field another
//   manager owns to a different value unless forced (409 Conflict, one cause per field).
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "api/schema.h"

namespace keelson::apiserver {

struct ApplyConflict {
  std::string manager;
  std::string field;  // ".spec.replicas"
};

struct ManagerInfo {
  std::string manager;
  std::string api_version;  // of the request, "apps/v1"
  std::string time;         // RFC 3339
};

// Applies `config` for `who` onto `live` (nullptr: the object does not exist yet). Returns the
// new object with its managedFields, or the conflicts (empty result) when some field owned by
// another manager would change and `force` is false.
boost::json::object ServerSideApply(const api::TypeDecl& type, const boost::json::object* live,
                                    const boost::json::object& config, const ManagerInfo& who,
                                    bool force, std::vector<ApplyConflict>* conflicts);

// Records a create, update or patch by `who`: the fields that differ between `old` (nullptr on
// create) and `obj` become the manager's (operation Update) and nobody else's. When the
// request set managedFields itself, they are kept as given.
void TrackUpdate(const api::TypeDecl& type, const boost::json::object* old,
                 boost::json::object* obj, const ManagerInfo& who);

// The FieldsV1 set of the fields `obj` sets (identity and server-owned metadata, and status,
// left out).
boost::json::object FieldSetOf(const api::TypeDecl& type, const boost::json::object& obj);

}  // namespace keelson::apiserver
