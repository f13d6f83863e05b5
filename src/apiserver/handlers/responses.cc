// What every verb handler shares: errors, object answers, body decoding, selectors.
#include <boost/json.hpp>

#include <set>

#include "api/json_limits.h"
#include "api/protobuf.h"
#include "api/yaml.h"
#include "apiserver/handlers/handlers.h"

namespace keelson::apiserver {

namespace json = boost::json;

void WriteError(Exchange& ex, const api::ApiError& e) {
  HttpResponse r;
  r.status = e.code;
  r.body = e.ToJsonString();
  if (auto after = e.RetryAfterSeconds(); after && e.code == 429) {
    r.headers.emplace_back("Retry-After", std::to_string(*after));
  }
  ex.Respond(std::move(r));
}

json::value ParseCached(const CachedObject& o) {
  boost::system::error_code ec;
  json::value v = json::parse(o.json(), ec, {}, api::JsonParseOptions());
  return ec ? json::value() : std::move(v);
}

void WriteObject(Exchange& ex, int code, const api::Object& obj) {
  HttpResponse r;
  r.status = code;
  r.body = json::serialize(obj);
  ex.Respond(std::move(r));
}

namespace {

api::ApiResult<api::Object> ParseBody(const HttpRequest& req) {
  std::string_view ct = req.Header("content-type");
  ct = ct.substr(0, ct.find(';'));
  if (ct == api::kProtobufContentType) {
    auto decoded = api::DecodeKubernetesProtobuf(req.body);
    if (!decoded.ok()) return api::NewBadRequest(decoded.status().message());
    return std::move(*decoded);
  }
  if (!ct.empty() && ct != "application/json" && ct != "application/yaml" && ct != "*/*") {
    return api::NewUnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/vnd.kubernetes.protobuf");
  }
  if (ct == "application/yaml") {
    auto v = api::YamlToJson(req.body);
    if (!v.ok()) return api::NewBadRequest(v.status().message());
    if (!v->is_object()) return api::NewBadRequest("the request body must be an object");
    return std::move(v->as_object());
  }
  auto v = api::ParseJson(req.body);
  if (!v.ok()) {
    return api::NewBadRequest("json: cannot parse the request body: " +
                              v.status().message().substr(std::string_view("json: ").size()));
  }
  if (!v->is_object()) return api::NewBadRequest("the request body must be a JSON object");
  return std::move(v->as_object());
}

bool Unset(const json::value* v) {
  return v == nullptr || v->is_null() || (v->is_string() && v->as_string().empty());
}

// As upstream's decoder: a body that leaves apiVersion or kind out (the client libraries'
// typed objects often do) is taken as the kind the URL names.
void DefaultTypeMeta(const api::ResourceInfo& kind, api::Object* obj) {
  if (!Unset(obj->if_contains("kind")) && !Unset(obj->if_contains("apiVersion"))) return;
  api::Object typed;
  typed["kind"] = Unset(obj->if_contains("kind")) ? json::value(kind.kind) : obj->at("kind");
  typed["apiVersion"] = Unset(obj->if_contains("apiVersion")) ? json::value(kind.GroupVersion())
                                                              : obj->at("apiVersion");
  for (auto& [k, v] : *obj) {
    if (k != "kind" && k != "apiVersion") typed[k] = std::move(v);
  }
  *obj = std::move(typed);
}

}  // namespace

api::ApiResult<api::Object> DecodeBody(const HttpRequest& req, const api::ResourceInfo& kind) {
  auto parsed = ParseBody(req);
  if (!parsed.ok()) return parsed;
  api::Object obj = std::move(*parsed);
  DefaultTypeMeta(kind, &obj);
  const auto& k = obj.at("kind");
  const auto& av = obj.at("apiVersion");
  if (!k.is_string()) {
    return api::NewBadRequest("Object 'Kind' is missing in '" + req.body.substr(0, 200) + "'");
  }
  if (k.as_string() != kind.kind) {
    return api::NewBadRequest("the kind in the data (" + std::string(k.as_string()) +
                              ") does not match the expected kind (" + kind.kind + ")");
  }
  if (!av.is_string() || av.as_string() != kind.GroupVersion()) {
    std::string got = av.is_string() ? std::string(av.as_string()) : std::string();
    return api::NewBadRequest("the API version in the data (" + got +
                              ") does not match the expected API version (" +
                              kind.GroupVersion() + ")");
  }
  auto& meta = obj["metadata"];
  if (meta.is_null()) meta = json::object();
  if (!meta.is_object()) return api::NewBadRequest("metadata must be an object");
  return obj;
}

api::ApiResult<Selection> ParseSelection(const HttpRequest& req, const Route& route) {
  auto ls = api::LabelSelector::Parse(req.Query("labelSelector"));
  if (!ls.ok()) return api::NewBadRequest(ls.status().message());
  auto fs = api::FieldSelector::Parse(req.Query("fieldSelector"));
  if (!fs.ok()) return api::NewBadRequest(fs.status().message());
  Selection sel;
  if (route.strategy != nullptr) sel.field_paths = route.strategy->SelectableFields();
  const bool extra = route.strategy != nullptr && !route.strategy->FieldLabels().empty();
  Status st = extra ? fs->CheckSupported({sel.field_paths.begin(), sel.field_paths.end()},
                                         route.resource->resource)
                    : fs->CheckDefaultSupported();
  if (!st.ok()) return api::NewBadRequest(st.message());
  sel.labels = std::move(*ls);
  sel.fields = std::move(*fs);
  return sel;
}

}  // namespace keelson::apiserver
