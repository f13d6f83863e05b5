// PATCH: JSON merge, JSON and strategic merge patches, and server-side apply
// (application/apply-patch+yaml: 201 when it creates the object).
#include <boost/json.hpp>

#include "api/json_limits.h"
#include "api/yaml.h"
#include "apiserver/handlers/handlers.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

void HandleApply(const RequestScope& scope, const HttpRequest& req,
                 std::shared_ptr<Exchange> ex) {
  // The body is YAML (JSON being YAML too); JSON is read directly.
  json::value body;
  if (auto parsed = api::ParseJson(req.body); parsed.ok()) {
    body = std::move(*parsed);
  } else {
    auto y = api::YamlToJson(req.body);
    if (!y.ok()) return WriteError(*ex, api::NewBadRequest(y.status().message()));
    body = std::move(*y);
  }
  if (!body.is_object()) {
    return WriteError(*ex, api::NewBadRequest("the apply configuration must be an object"));
  }
  scope.route->storage->Apply(scope.ctx, std::move(body.as_object()), req.QueryBool("force"),
                              [ex](api::ApiResult<api::Object> r, bool created) {
                                if (!r.ok()) return WriteError(*ex, r.error());
                                WriteObject(*ex, created ? 201 : 200, *r);
                              });
}

// A JSON patch must be a list of operations; anything else is upstream's 400 decoding error
// (a patch that fails to apply is a 422, from the storage).
std::optional<api::ApiError> PatchDecodeError(PatchType type, std::string_view body) {
  if (type != PatchType::kJson) return std::nullopt;
  auto parsed = api::ParseJson(body);
  if (!parsed.ok()) return api::NewBadRequest("error decoding patch: " + parsed.status().message());
  const json::value& ops = *parsed;
  const char* kind = ops.is_object()   ? "object"
                     : ops.is_string() ? "string"
                     : ops.is_bool()   ? "bool"
                     : ops.is_number() ? "number"
                                       : nullptr;
  if (kind == nullptr) return std::nullopt;
  return api::NewBadRequest(std::string("error decoding patch: json: cannot unmarshal ") + kind +
                            " into Go value of type []handlers.jsonPatchOp");
}

}  // namespace

void HandlePatch(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex) {
  std::string_view ct = req.Header("content-type");
  if (ct.substr(0, ct.find(';')) == "application/apply-patch+yaml") {
    return HandleApply(scope, req, std::move(ex));
  }
  auto type = PatchTypeOf(ct);
  if (!type.ok()) return WriteError(*ex, api::NewUnsupportedMediaType(type.status().message()));
  if (auto err = PatchDecodeError(*type, req.body)) return WriteError(*ex, *err);
  scope.route->storage->Patch(scope.ctx, *type, req.body, [ex](api::ApiResult<api::Object> r) {
    if (!r.ok()) return WriteError(*ex, r.error());
    WriteObject(*ex, 200, *r);
  });
}

}  // namespace keelson::apiserver
