#include "apiserver/watch_caches.h"

namespace keelson::apiserver {

WatchCaches::WatchCaches(store::Store* store, WatchCacheOptions options)
    : store_(store), options_(std::move(options)) {}

WatchCaches::~WatchCaches() { Stop(); }

WatchCache* WatchCaches::For(const api::ResourceInfo& r,
                             const std::vector<std::string>& field_paths,
                             const std::string& indexed_field) {
  std::lock_guard l(mu_);
  if (stopped_) return nullptr;
  auto& c = caches_[&r];
  if (!c) {
    WatchCacheOptions o = options_;
    o.field_paths = field_paths;
    o.indexed_field = indexed_field;
    c = WatchCache::Start(store_, r.StoragePrefix(), std::move(o));
  }
  return c.get();
}

std::map<const api::ResourceInfo*, WatchCacheStats> WatchCaches::Stats() const {
  std::map<const api::ResourceInfo*, WatchCacheStats> out;
  std::lock_guard l(mu_);
  for (const auto& [r, c] : caches_) out[r] = c->Stats();
  return out;
}

void WatchCaches::Stop() {
  std::vector<WatchCache*> caches;
  {
    std::lock_guard l(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [r, c] : caches_) caches.push_back(c.get());
  }
  for (auto* c : caches) c->Stop();  // ends every watch
}

}  // namespace keelson::apiserver
