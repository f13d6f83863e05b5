// GET of one object: as JSON, or as a Table row when the client asks for one.
#include <boost/json.hpp>

#include "apiserver/handlers/handlers.h"
#include "apiserver/table.h"

namespace keelson::apiserver {

void HandleGet(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex) {
  auto obj = scope.route->storage->Get(scope.ctx);
  if (!obj.ok()) return WriteError(*ex, obj.error());
  if (WantsTable(req.Header("accept")) && scope.route->strategy != nullptr) {
    return WriteObject(*ex, 200,
                       ToTable(scope.route->strategy->Printer(), boost::json::array{*obj}, "", "",
                               req.Query("includeObject"), scope.clock->Now()));
  }
  WriteObject(*ex, 200, *obj);
}

}  // namespace keelson::apiserver
