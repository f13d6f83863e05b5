// POST: a new object (or a request answered without storing: a review, a binding, an
// eviction, a token), answered 201.
#include "apiserver/handlers/handlers.h"

namespace keelson::apiserver {

void HandleCreate(const RequestScope& scope, const HttpRequest& req,
                  std::shared_ptr<Exchange> ex) {
  RestStorage& storage = *scope.route->storage;
  auto obj = DecodeBody(req, storage.kind());
  if (!obj.ok()) return WriteError(*ex, obj.error());
  storage.Create(scope.ctx, std::move(*obj), [ex](api::ApiResult<api::Object> r) {
    if (!r.ok()) return WriteError(*ex, r.error());
    WriteObject(*ex, 201, *r);
  });
}

}  // namespace keelson::apiserver
