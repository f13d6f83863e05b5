// DELETE of one object (answered with it, as deleted or marked) and of a collection
// (answered with the list of what went).
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

#include "api/json_limits.h"
#include "api/protobuf.h"
#include "api/validation.h"
#include "apiserver/handlers/handlers.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

// The DeleteOptions of the body (JSON or protobuf; may be empty).
api::ApiResult<api::Object> DeleteBody(const HttpRequest& req) {
  if (req.body.empty()) return api::Object();
  std::string_view ct = req.Header("content-type");
  if (ct.substr(0, ct.find(';')) == api::kProtobufContentType) {
    auto decoded = api::DecodeKubernetesProtobuf(req.body);
    if (!decoded.ok()) {
      return api::NewBadRequest("the body of a delete must be DeleteOptions: " +
                                decoded.status().message());
    }
    return std::move(*decoded);
  }
  auto v = api::ParseJson(req.body);
  if (!v.ok() || !v->is_object()) {
    return api::NewBadRequest("the body of a delete must be DeleteOptions");
  }
  return std::move(v->as_object());
}

// The dry-run values of the body and the query; a cause when one is not "All".
std::optional<api::FieldCause> UnsupportedDryRun(const HttpRequest& req, const api::Object& body) {
  std::vector<std::string> values;
  if (const auto* d = body.if_contains("dryRun"); d && d->is_array()) {
    for (const auto& v : d->as_array()) {
      values.push_back(v.is_string() ? std::string(v.as_string()) : json::serialize(v));
    }
  }
  for (const auto& [k, v] : req.query) {
    if (k == "dryRun") values.push_back(v);
  }
  if (std::all_of(values.begin(), values.end(), [](const auto& d) { return d == "All"; })) {
    return std::nullopt;
  }
  std::string list;
  for (const auto& d : values) list += (list.empty() ? "" : ", ") + api::GoQuote(d);
  return api::FieldCause("dryRun",
                         "Unsupported value: []string{" + list + "}: supported values: \"All\"");
}

// Upstream's checks of DeleteOptions: a known propagation policy, not together with
// orphanDependents, and dry runs of "All" only. Then the options the storage takes.
api::ApiResult<DeleteOptions> ReadDeleteOptions(const HttpRequest& req, const api::Object& body) {
  std::optional<std::string> policy;
  if (const auto* p = body.if_contains("propagationPolicy"); p && p->is_string()) {
    policy = std::string(p->as_string());
  }
  if (req.HasQuery("propagationPolicy")) policy = std::string(req.Query("propagationPolicy"));
  const bool orphan =
      (body.contains("orphanDependents") && !body.at("orphanDependents").is_null()) ||
      req.HasQuery("orphanDependents");
  api::FieldCauses causes;
  if (policy && orphan) {
    causes.emplace_back("propagationPolicy",
                        "Invalid value: " + api::GoQuote(*policy) +
                            ": orphanDependents and deletionPropagation cannot be both set");
  }
  if (policy && *policy != "Foreground" && *policy != "Background" && *policy != "Orphan") {
    causes.emplace_back("propagationPolicy",
                        "Unsupported value: " + api::GoQuote(*policy) +
                            ": supported values: \"Foreground\", \"Background\", \"Orphan\", "
                            "\"nil\"");
  }
  if (auto cause = UnsupportedDryRun(req, body)) causes.push_back(std::move(*cause));
  if (!causes.empty()) {
    static const api::ResourceInfo kDeleteOptions = [] {
      api::ResourceInfo r;
      r.group = "meta.k8s.io";
      r.version = "v1";
      r.kind = "DeleteOptions";
      return r;
    }();
    return api::NewInvalid(kDeleteOptions, "", causes);
  }
  DeleteOptions opts;
  if (policy) {
    opts.propagation = *policy == "Orphan"       ? DeleteOptions::Propagation::kOrphan
                       : *policy == "Foreground" ? DeleteOptions::Propagation::kForeground
                                                 : DeleteOptions::Propagation::kBackground;
  }
  if (const auto* o = body.if_contains("orphanDependents"); o && o->is_bool()) {
    opts.orphan_dependents = o->as_bool();
  }
  if (req.HasQuery("orphanDependents")) {
    opts.orphan_dependents = req.QueryBool("orphanDependents");
  }
  if (const auto* g = body.if_contains("gracePeriodSeconds"); g && g->is_int64()) {
    opts.grace_period_seconds = g->as_int64();
  }
  if (auto q = req.Query("gracePeriodSeconds"); !q.empty()) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(q.data(), q.data() + q.size(), v);
    if (ec != std::errc() || end != q.data() + q.size()) {
      return api::NewBadRequest("invalid gracePeriodSeconds: " + std::string(q));
    }
    opts.grace_period_seconds = v;
  }
  opts.precondition_uid = api::FieldText(body, "preconditions.uid");
  opts.precondition_resource_version = api::FieldText(body, "preconditions.resourceVersion");
  return opts;
}

// The options of a delete and whether it is a dry run (the body may ask for one too).
std::optional<std::pair<DeleteOptions, bool>> Options(const HttpRequest& req, Exchange& ex) {
  auto body = DeleteBody(req);
  if (!body.ok()) {
    WriteError(ex, body.error());
    return std::nullopt;
  }
  auto opts = ReadDeleteOptions(req, *body);
  if (!opts.ok()) {
    WriteError(ex, opts.error());
    return std::nullopt;
  }
  bool dry_run = req.Query("dryRun") == "All";
  if (const auto* d = body->if_contains("dryRun"); d && d->is_array()) {
    for (const auto& v : d->as_array()) dry_run = dry_run || v == "All";
  }
  return std::make_pair(std::move(*opts), dry_run);
}

}  // namespace

void HandleDelete(const RequestScope& scope, const HttpRequest& req,
                  std::shared_ptr<Exchange> ex) {
  auto opts = Options(req, *ex);
  if (!opts) return;
  RequestContext ctx = scope.ctx;
  ctx.dry_run = ctx.dry_run || opts->second;
  scope.route->storage->Delete(ctx, opts->first, [ex](api::ApiResult<api::Object> r) {
    if (!r.ok()) return WriteError(*ex, r.error());
    WriteObject(*ex, 200, *r);
  });
}

void HandleDeleteCollection(const RequestScope& scope, const HttpRequest& req,
                            std::shared_ptr<Exchange> ex) {
  const api::ResourceInfo& r = *scope.route->resource;
  if (std::find(r.verbs.begin(), r.verbs.end(), "deletecollection") == r.verbs.end()) {
    return WriteError(*ex, api::NewMethodNotAllowed());
  }
  auto sel = ParseSelection(req, *scope.route);
  if (!sel.ok()) return WriteError(*ex, sel.error());
  auto opts = Options(req, *ex);
  if (!opts) return;
  RequestContext ctx = scope.ctx;
  ctx.dry_run = ctx.dry_run || opts->second;
  scope.route->storage->DeleteCollection(
      ctx, opts->first, *sel, [ex, r = &r](api::ApiResult<DeletedObjects> d) {
        if (!d.ok()) return WriteError(*ex, d.error());
        json::array items;
        for (auto& o : d->items) items.push_back(std::move(o));
        WriteObject(*ex, 200,
                    json::object{{"kind", r->kind + "List"},
                                 {"apiVersion", r->GroupVersion()},
                                 {"metadata", json::object{{"resourceVersion",
                                                            std::to_string(d->revision)}}},
                                 {"items", std::move(items)}});
      });
}

}  // namespace keelson::apiserver
