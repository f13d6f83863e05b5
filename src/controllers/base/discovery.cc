#include "controllers/base/discovery.h"

#include <boost/json.hpp>

#include "api/json_limits.h"

namespace keelson::controllers {

namespace json = boost::json;

ResourceDiscovery::ResourceDiscovery(client::RestClient* client, std::chrono::nanoseconds ttl)
    : client_(client), ttl_(ttl) {}

void ResourceDiscovery::Invalidate() {
  std::lock_guard lock(mu_);
  read_at_ = {};
  cached_.clear();
}

api::ApiResult<std::vector<const api::ResourceInfo*>> ResourceDiscovery::Resources() {
  {
    std::lock_guard lock(mu_);
    if (!cached_.empty() && client_->clock()->Monotonic() - read_at_ < ttl_) return cached_;
  }
  auto fresh = Read();
  if (!fresh.ok()) return fresh;
  std::lock_guard lock(mu_);
  cached_ = *fresh;
  read_at_ = client_->clock()->Monotonic();
  return cached_;
}

api::ApiResult<api::Object> ResourceDiscovery::GetJson(const std::string& path) {
  api::HttpRequest req;
  req.method = "GET";
  req.target = path;
  req.headers.emplace_back("accept", "application/json");
  return client_->DoObject(std::move(req));
}

const api::ResourceInfo* ResourceDiscovery::Intern(api::ResourceInfo info) {
  if (const auto* known = api::ResourceRegistry::BuiltIn().Find(info.group, info.version,
                                                                info.resource)) {
    return known;
  }
  std::lock_guard lock(mu_);
  auto& slot = owned_[info.GroupVersion() + "/" + info.resource];
  if (!slot) slot = std::make_unique<api::ResourceInfo>();
  *slot = std::move(info);  // the same resource: the newest description
  return slot.get();
}

api::ApiResult<std::vector<const api::ResourceInfo*>> ResourceDiscovery::Read() {
  std::vector<std::string> group_versions = {"v1"};
  auto groups = GetJson("/apis");
  if (!groups.ok()) return groups.error();
  if (const auto* list = groups->if_contains("groups"); list && list->is_array()) {
    for (const auto& g : list->as_array()) {
      std::string gv = g.is_object() ? api::FieldText(g.as_object(), "preferredVersion.groupVersion")
                                     : "";
      if (!gv.empty()) group_versions.push_back(gv);
    }
  }
  std::vector<const api::ResourceInfo*> out;
  for (const auto& gv : group_versions) {
    auto doc = GetJson(gv == "v1" ? "/api/v1" : "/apis/" + gv);
    if (!doc.ok()) return doc.error();
    const auto slash = gv.find('/');
    const std::string group = slash == std::string::npos ? "" : gv.substr(0, slash);
    const std::string version = slash == std::string::npos ? gv : gv.substr(slash + 1);
    const auto* resources = doc->if_contains("resources");
    if (!resources || !resources->is_array()) continue;
    for (const auto& r : resources->as_array()) {
      if (!r.is_object()) continue;
      const auto& o = r.as_object();
      api::ResourceInfo info;
      info.group = group;
      info.version = version;
      info.resource = api::FieldText(o, "name");
      if (info.resource.empty() || info.resource.find('/') != std::string::npos) continue;
      info.singular = api::FieldText(o, "singularName");
      info.kind = api::FieldText(o, "kind");
      info.namespaced = api::FieldText(o, "namespaced") == "true";
      if (const auto* verbs = o.if_contains("verbs"); verbs && verbs->is_array()) {
        for (const auto& v : verbs->as_array()) {
          if (v.is_string()) info.verbs.emplace_back(v.as_string());
        }
      }
      out.push_back(Intern(std::move(info)));
    }
  }
  return out;
}

}  // namespace keelson::controllers
