// PUT: the object replaced (or a subresource's part of it), answered 200.
#include "apiserver/handlers/handlers.h"

namespace keelson::apiserver {

void HandleUpdate(const RequestScope& scope, const HttpRequest& req,
                  std::shared_ptr<Exchange> ex) {
  RestStorage& storage = *scope.route->storage;
  auto obj = DecodeBody(req, storage.kind());
  if (!obj.ok()) return WriteError(*ex, obj.error());
  // The object must name the URL's (a subresource's body may leave its name out).
  std::string_view name = api::GetName(*obj);
  if (name != scope.ctx.name && (!name.empty() || scope.route->subresource.empty())) {
    return WriteError(*ex, api::NewBadRequest("the name of the object (" + std::string(name) +
                                              ") does not match the name on the URL (" +
                                              scope.ctx.name + ")"));
  }
  storage.Update(scope.ctx, std::move(*obj), [ex](api::ApiResult<api::Object> r) {
    if (!r.ok()) return WriteError(*ex, r.error());
    WriteObject(*ex, 200, *r);
  });
}

}  // namespace keelson::apiserver
