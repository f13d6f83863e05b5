#include "apiserver/nonresource.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "api/errors.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

HttpResponse NotFound() {
  HttpResponse r;
  r.status = 404;
  r.body = api::NewNotFoundPath().ToJsonString();
  return r;
}

std::string Name(const api::ResourceInfo& r) {
  return r.group.empty() ? r.resource : r.resource + "." + r.group;
}

}  // namespace

HttpResponse VersionResponse(const VersionInfo& v) {
  HttpResponse r;
  r.body = json::serialize(json::object{{"major", v.major},
                                        {"minor", v.minor},
                                        {"gitVersion", v.git_version},
                                        {"gitCommit", ""},
                                        {"gitTreeState", "clean"},
                                        {"buildDate", ""},
                                        {"goVersion", ""},
                                        {"compiler", "g++"},
                                        {"platform", "linux/amd64"}});
  return r;
}

HttpResponse HealthResponse(const HttpRequest& req, const std::vector<std::string>& parts,
                            const std::vector<HealthCheck>& checks) {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  std::string which;
  for (size_t i = 1; i < parts.size(); ++i) which += (i > 1 ? "/" : "") + parts[i];
  if (!which.empty()) {
    for (const auto& c : checks) {
      if (c.name != which) continue;
      Status st = c.run();
      r.status = st.ok() ? 200 : 500;
      r.body = st.ok() ? "ok" : "internal server error: " + st.message();
      return r;
    }
    r.status = 404;
    r.body = "404 page not found\n";
    return r;
  }
  std::vector<std::string> excluded;
  for (const auto& [k, v] : req.query) {
    if (k == "exclude") excluded.push_back(v);
  }
  bool ok = true;
  std::string out;
  for (const auto& c : checks) {
    if (std::find(excluded.begin(), excluded.end(), c.name) != excluded.end()) {
      out += "[+]" + c.name + " excluded: ok\n";
      continue;
    }
    Status st = c.run();
    ok = ok && st.ok();
    out += st.ok() ? "[+]" + c.name + " ok\n" : "[-]" + c.name + " failed: reason withheld\n";
  }
  if (ok) {
    r.body = req.HasQuery("verbose") ? out + parts[0] + " check passed\n" : "ok";
  } else {
    r.status = 500;
    r.body = out + parts[0] + " check failed\n";
  }
  return r;
}

HttpResponse MetricsResponse(const RequestMetrics& metrics, const WatchCaches& caches,
                             const api::ResourceRegistry& registry, store::Store* store) {
  std::string out = metrics.Text();
  out +=
      "# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last "
      "check split by kind. In case of a fetching error, the value will be -1.\n"
      "# TYPE apiserver_storage_objects gauge\n";
  // Resources with a watch cache are counted there; the others in the store.
  const auto cached = caches.Stats();
  for (const auto& r : registry.all()) {
    if (!r.stored) continue;
    std::string count = "-1";
    if (auto it = cached.find(&r); it != cached.end() && it->second.ready) {
      count = std::to_string(it->second.objects);
    } else {
      store::RangeRequest rr;
      rr.key = r.StoragePrefix();
      rr.range_end = store::PrefixEnd(rr.key);
      rr.count_only = true;
      if (auto res = store->Range(rr); res.ok()) count = std::to_string(res->count);
    }
    out += "apiserver_storage_objects{resource=\"" + Name(r) + "\"} " + count + "\n";
  }
  struct CacheMetric {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::string(const WatchCacheStats&)> value;
  };
  const CacheMetric kCacheMetrics[] = {
      {"apiserver_watch_cache_resource_version", "gauge",
       "Current resource version of watch cache broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.revision); }},
      {"apiserver_watch_cache_events_received_total", "counter",
       "Counter of events received in watch cache broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.events_received); }},
      {"apiserver_watch_cache_events_dispatched_total", "counter",
       "Counter of events dispatched in watch cache broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.events_dispatched); }},
      {"apiserver_watch_cache_initializations_total", "counter",
       "Counter of watch cache initializations broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.initializations); }},
      {"apiserver_terminated_watchers_total", "counter",
       "Counter of watchers closed due to unresponsiveness broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.terminated_watchers); }},
      {"apiserver_registered_watchers", "gauge",
       "Number of currently registered watchers for a given resources",
       [](const WatchCacheStats& s) { return std::to_string(s.watchers); }},
  };
  for (const auto& m : kCacheMetrics) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " +
           m.type + "\n";
    for (const auto& [r, st] : cached) {
      out += std::string(m.name) + "{resource=\"" + Name(*r) + "\"} " + m.value(st) + "\n";
    }
  }
  HttpResponse resp;
  resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
  resp.body = std::move(out);
  return resp;
}

HttpResponse OpenIdResponse(const std::string& path, const TokenSigner& signer,
                            const std::string& issuer, const std::string& external_url) {
  HttpResponse resp;
  resp.headers.emplace_back("Cache-Control", "public, max-age=3600");
  if (path == "/openid/v1/jwks") {
    resp.content_type = "application/jwk-set+json";
    resp.body = json::serialize(json::object{{"keys", json::array{signer.PublicJwk()}}});
    return resp;
  }
  resp.body = json::serialize(json::object{
      {"issuer", issuer},
      {"jwks_uri", external_url + "/openid/v1/jwks"},
      {"response_types_supported", json::array{"id_token"}},
      {"subject_types_supported", json::array{"public"}},
      {"id_token_signing_alg_values_supported", json::array{"RS256"}}});
  return resp;
}

HttpResponse OpenApiResponse(const HttpRequest& req, const std::vector<std::string>& parts,
                             const OpenApi& openapi) {
  HttpResponse r;
  if (parts.size() == 2 && parts[1] == "v2") {
    if (req.Header("accept").find("protobuf") != std::string_view::npos) {
      r.content_type = std::string(kOpenApiV2ProtobufType);
      r.body = openapi.V2Protobuf();
    } else {
      r.body = openapi.V2Json();
    }
    return r;
  }
  if (parts.size() == 2 && parts[1] == "v3") {
    r.body = openapi.V3Index();
    return r;
  }
  if (parts.size() > 2 && parts[1] == "v3") {
    std::string path;
    for (size_t i = 2; i < parts.size(); ++i) path += (i > 2 ? "/" : "") + parts[i];
    if (const std::string* doc = openapi.V3(path)) {
      r.body = *doc;
      return r;
    }
  }
  return NotFound();
}

}  // namespace keelson::apiserver
