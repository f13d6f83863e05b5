// The storages of a server and the paths they serve: every stored resource's GenericStore,
// its subresources, and the kinds that are answered without being stored. InstallStorages()
// is the one list a reader looks at to see what serves what.
//
// Thread-safety: immutable once built.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/resources.h"
#include "apiserver/registry/hooks.h"
#include "apiserver/registry/subresources.h"

namespace keelson::apiserver {

// One path of the API (a resource, or one of its subresources) and what serves it.
struct Route {
  const api::ResourceInfo* resource = nullptr;  // the resource the URL names
  std::string subresource;                      // "" for the resource itself
  RestStorage* storage = nullptr;
  // The resource's strategy (Tables, field selectors); null for kinds that are not stored.
  const Strategy* strategy = nullptr;
  // What discovery lists for a subresource: its verbs.
  std::vector<std::string> verbs;
};

class Storages {
 public:
  Storages() = default;
  Storages(const Storages&) = delete;
  Storages& operator=(const Storages&) = delete;

  // The route of `r` (and `subresource`); null when nothing serves that path.
  const Route* Find(const api::ResourceInfo& r, std::string_view subresource) const;
  // The generic store of a stored resource; null when there is none.
  GenericStore* Store(std::string_view group, std::string_view resource) const;
  // The subresources served for `r`, in the order the registry lists them.
  std::vector<const Route*> SubresourcesOf(const api::ResourceInfo& r) const;

  void AddStore(std::unique_ptr<GenericStore> store, std::unique_ptr<WriteHooks> hooks = nullptr);
  void AddRoute(Route route, std::unique_ptr<RestStorage> owned = nullptr);

 private:
  std::vector<std::unique_ptr<RestStorage>> owned_;
  std::vector<std::unique_ptr<WriteHooks>> hooks_;
  std::map<std::pair<std::string, std::string>, GenericStore*> stores_;  // {group, resource}
  std::map<std::pair<const api::ResourceInfo*, std::string>, Route> routes_;
};

struct StorageDeps {
  const api::ResourceRegistry* registry = nullptr;
  const StrategyRegistry* strategies = nullptr;
  StoreDeps store;
  ServiceAllocator* allocator = nullptr;
  TokenIssuer tokens;
  std::shared_ptr<const Authorizer> authorizer;
};

// Every storage of the server, into `out` (which the storages refer to, so it must stay where
// it is): the one list of which storage serves which path.
void InstallStorages(const StorageDeps& deps, Storages* out);

}  // namespace keelson::apiserver
