#include "apiserver/discovery.h"

#include <boost/json.hpp>

#include <algorithm>

#include "api/errors.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::string(s));
  return a;
}

// verbs, shortNames and categories, shared by both discovery forms.
void AddVerbsAndNames(const api::ResourceInfo& r, json::object* e) {
  (*e)["verbs"] = Strings(r.verbs);
  if (!r.short_names.empty()) (*e)["shortNames"] = Strings(r.short_names);
  if (!r.categories.empty()) (*e)["categories"] = Strings(r.categories);
}

HttpResponse JsonResponse(const json::object& o) {
  HttpResponse r;
  r.body = json::serialize(o);
  return r;
}

HttpResponse NotFound() {
  HttpResponse r;
  r.status = 404;
  r.body = api::NewNotFoundPath().ToJsonString();
  return r;
}

json::object GroupVersionEntry(const std::string& group) {
  return json::object{{"groupVersion", group + "/v1"}, {"version", "v1"}};
}

}  // namespace

HttpResponse Discovery::Serve(const HttpRequest& req,
                              const std::vector<std::string>& parts) const {
  const bool core = parts[0] == "api";
  if (parts.size() == 1) {
    // Aggregated discovery when the client offers it (v2 first, then v2beta1).
    std::string_view accept = req.Header("accept");
    if (accept.find("as=APIGroupDiscoveryList") != std::string_view::npos) {
      if (accept.find("v=v2;") != std::string_view::npos ||
          accept.find("v=v2,") != std::string_view::npos ||
          (accept.find("v=v2") != std::string_view::npos &&
           accept.find("v=v2beta1") == std::string_view::npos)) {
        return Aggregated(core, "v2");
      }
      if (accept.find("v=v2beta1") != std::string_view::npos) return Aggregated(core, "v2beta1");
    }
    return Legacy(req, core);
  }
  if (!core && parts.size() == 2) return Group(parts[1]);
  return core ? ResourceList("", parts[1]) : ResourceList(parts[1], parts[2]);
}

HttpResponse Discovery::Legacy(const HttpRequest& req, bool core) const {
  json::object o;
  if (core) {
    o["kind"] = "APIVersions";
    o["versions"] = json::array{"v1"};
    o["serverAddressByClientCIDRs"] = json::array{json::object{
        {"clientCIDR", "0.0.0.0/0"}, {"serverAddress", std::string(req.Header("host"))}}};
    return JsonResponse(o);
  }
  o["kind"] = "APIGroupList";
  o["apiVersion"] = "v1";
  json::array gs;
  for (const auto& g : registry_.Groups()) {
    json::object gv = GroupVersionEntry(g);
    gs.push_back(json::object{
        {"name", g}, {"versions", json::array{gv}}, {"preferredVersion", gv}});
  }
  o["groups"] = std::move(gs);
  return JsonResponse(o);
}

HttpResponse Discovery::Group(const std::string& group) const {
  auto groups = registry_.Groups();
  if (std::find(groups.begin(), groups.end(), group) == groups.end()) return NotFound();
  json::object gv = GroupVersionEntry(group);
  return JsonResponse(json::object{{"kind", "APIGroup"},
                                   {"apiVersion", "v1"},
                                   {"name", group},
                                   {"versions", json::array{gv}},
                                   {"preferredVersion", gv}});
}

HttpResponse Discovery::ResourceList(const std::string& group, const std::string& version) const {
  json::array resources;
  for (const auto& r : registry_.all()) {
    if (r.group != group || r.version != version) continue;
    json::object e{{"name", r.resource},
                   {"singularName", r.singular},
                   {"namespaced", r.namespaced},
                   {"kind", r.kind}};
    AddVerbsAndNames(r, &e);
    resources.push_back(std::move(e));
    for (const Route* sub : storages_.SubresourcesOf(r)) {
      const api::ResourceInfo& k = sub->storage->kind();
      json::object s{{"name", r.resource + "/" + sub->subresource},
                     {"singularName", ""},
                     {"namespaced", r.namespaced},
                     {"kind", k.kind},
                     {"verbs", Strings(sub->verbs)}};
      if (k.group != r.group || k.version != r.version) {
        s["group"] = k.group;
        s["version"] = k.version;
      }
      resources.push_back(std::move(s));
    }
  }
  if (resources.empty()) return NotFound();
  return JsonResponse(json::object{{"kind", "APIResourceList"},
                                   {"apiVersion", "v1"},
                                   {"groupVersion", group.empty() ? version : group + "/" + version},
                                   {"resources", std::move(resources)}});
}

HttpResponse Discovery::Aggregated(bool core, const std::string& version) const {
  json::array items;
  std::vector<std::string> groups = core ? std::vector<std::string>{""} : registry_.Groups();
  for (const auto& g : groups) {
    json::object meta;
    if (!core) {
      meta["name"] = g;
      meta["creationTimestamp"] = nullptr;
    }
    json::array resources;
    for (const auto& r : registry_.all()) {
      if (r.group != g) continue;
      json::object e{{"resource", r.resource},
                     {"responseKind", json::object{{"group", r.group},
                                                   {"version", r.version},
                                                   {"kind", r.kind}}},
                     {"scope", r.namespaced ? "Namespaced" : "Cluster"},
                     {"singularResource", r.singular}};
      AddVerbsAndNames(r, &e);
      json::array subs;
      for (const Route* sub : storages_.SubresourcesOf(r)) {
        const api::ResourceInfo& k = sub->storage->kind();
        subs.push_back(json::object{
            {"subresource", sub->subresource},
            {"responseKind",
             json::object{{"group", k.group}, {"version", k.version}, {"kind", k.kind}}},
            {"verbs", Strings(sub->verbs)}});
      }
      if (!subs.empty()) e["subresources"] = std::move(subs);
      resources.push_back(std::move(e));
    }
    items.push_back(json::object{
        {"metadata", std::move(meta)},
        {"versions", json::array{json::object{{"version", "v1"},
                                              {"resources", std::move(resources)},
                                              {"freshness", "Current"}}}}});
  }
  HttpResponse r;
  r.content_type = "application/json;g=apidiscovery.k8s.io;v=" + version +
                   ";as=APIGroupDiscoveryList";
  r.body = json::serialize(json::object{{"kind", "APIGroupDiscoveryList"},
                                        {"apiVersion", "apidiscovery.k8s.io/" + version},
                                        {"metadata", json::object()},
                                        {"items", std::move(items)}});
  return r;
}

}  // namespace keelson::apiserver
