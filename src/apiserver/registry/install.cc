#include "apiserver/registry/install.h"

#include <algorithm>

namespace keelson::apiserver {

const Route* Storages::Find(const api::ResourceInfo& r, std::string_view subresource) const {
  auto it = routes_.find({&r, std::string(subresource)});
  return it == routes_.end() ? nullptr : &it->second;
}

GenericStore* Storages::Store(std::string_view group, std::string_view resource) const {
  auto it = stores_.find({std::string(group), std::string(resource)});
  return it == stores_.end() ? nullptr : it->second;
}

std::vector<const Route*> Storages::SubresourcesOf(const api::ResourceInfo& r) const {
  std::vector<const Route*> out;
  for (const auto& sub : r.subresources) {
    if (const Route* route = Find(r, sub)) out.push_back(route);
  }
  return out;
}

void Storages::AddStore(std::unique_ptr<GenericStore> store, std::unique_ptr<WriteHooks> hooks) {
  const api::ResourceInfo& r = store->kind();
  stores_[{r.group, r.resource}] = store.get();
  Route route{&r, "", store.get(), &store->strategy(), {}};
  AddRoute(std::move(route), std::move(store));
  if (hooks) hooks_.push_back(std::move(hooks));
}

void Storages::AddRoute(Route route, std::unique_ptr<RestStorage> owned) {
  routes_[{route.resource, route.subresource}] = std::move(route);
  if (owned) owned_.push_back(std::move(owned));
}

void InstallStorages(const StorageDeps& deps, Storages* storages) {
  const api::ResourceRegistry& registry = *deps.registry;
  Storages& out = *storages;
  // Every stored resource: a generic store with its kind's strategy. Services and namespaces
  // carry write hooks. events.k8s.io/v1 Events are the core Events in another form.
  for (const auto& r : registry.all()) {
    const Strategy* s = r.stored ? deps.strategies->Find(r) : nullptr;
    if (s == nullptr) continue;
    if (r.group == "events.k8s.io") {
      auto core = std::make_unique<GenericStore>(s->resource(), *s, deps.store);
      auto storage = NewEventsV1Storage(r, std::move(core));
      Route route{&r, "", storage.get(), s, {}};
      out.AddRoute(std::move(route), std::move(storage));
      continue;
    }
    std::unique_ptr<WriteHooks> hooks;
    if (r.group.empty() && r.resource == "services") hooks = NewServiceHooks(deps.allocator);
    if (r.group.empty() && r.resource == "namespaces") {
      hooks = NewNamespaceHooks(registry, deps.store.store, deps.allocator);
    }
    auto store = std::make_unique<GenericStore>(r, *s, deps.store, hooks.get());
    out.AddStore(std::move(store), std::move(hooks));
  }
  auto lookup = [storages](std::string_view group, std::string_view resource) {
    return storages->Store(group, resource);
  };
  // Subresources, over the stores of their resources.
  const std::vector<std::string> kReadWrite = {"get", "patch", "update"};
  for (const auto& r : registry.all()) {
    GenericStore* main = out.Store(r.group, r.resource);
    if (main == nullptr) continue;
    auto has = [&r](const char* sub) {
      return std::find(r.subresources.begin(), r.subresources.end(), sub) != r.subresources.end();
    };
    auto add = [&out, &r](const char* sub, std::unique_ptr<RestStorage> s,
                          std::vector<std::string> verbs) {
      Route route{&r, sub, s.get(), out.Find(r, "")->strategy, std::move(verbs)};
      out.AddRoute(std::move(route), std::move(s));
    };
    if (has("status")) add("status", NewStatusStorage(*main), kReadWrite);
    if (has("scale")) add("scale", NewScaleStorage(*main), kReadWrite);
    if (r.group.empty() && r.resource == "pods") {
      add("binding", NewBindingStorage(*main), {"create"});
      add("eviction", NewEvictionStorage(*main, lookup), {"create"});
    }
    if (r.group.empty() && r.resource == "serviceaccounts") {
      add("token", NewTokenStorage(*main, lookup, deps.tokens), {"create"});
    }
    if (r.group.empty() && r.resource == "namespaces") {
      add("finalize", NewFinalizeStorage(*main), {"update"});
    }
  }
  // The reviews: answered at once, never stored.
  if (const auto* r = registry.Find("authorization.k8s.io", "v1", "selfsubjectaccessreviews")) {
    auto storage = NewAccessReviewStorage(*r, deps.authorizer);
    Route route{r, "", storage.get(), nullptr, {}};
    out.AddRoute(std::move(route), std::move(storage));
  }
  if (const auto* r = registry.Find("authentication.k8s.io", "v1", "selfsubjectreviews")) {
    auto storage = NewSelfSubjectReviewStorage(*r);
    Route route{r, "", storage.get(), nullptr, {}};
    out.AddRoute(std::move(route), std::move(storage));
  }
}

}  // namespace keelson::apiserver
