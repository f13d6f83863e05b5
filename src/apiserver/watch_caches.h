// WatchCaches: the watch cache (watch_cache.h) of every stored resource of one server, each
// started on first use (or all at start-up), all stopped together.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/resources.h"
#include "apiserver/watch_cache.h"
#include "store/store.h"

namespace keelson::apiserver {

class WatchCaches {
 public:
  // `store` must outlive this. `options` apply to every cache (field paths excepted).
  WatchCaches(store::Store* store, WatchCacheOptions options);
  ~WatchCaches();

  // The cache of `r`, started now if it is not running, indexing `field_paths` for field
  // selectors and keeping an index of `indexed_field`'s values ("" for none). Null once
  // Stop() has been called.
  WatchCache* For(const api::ResourceInfo& r, const std::vector<std::string>& field_paths,
                  const std::string& indexed_field = "");
  // Each running cache's figures.
  std::map<const api::ResourceInfo*, WatchCacheStats> Stats() const;
  // Stops every cache (ending their watches). The caches stay allocated until destruction:
  // a request in flight may still hold one.
  void Stop();

 private:
  store::Store* store_;
  const WatchCacheOptions options_;
  mutable std::mutex mu_;
  std::map<const api::ResourceInfo*, std::unique_ptr<WatchCache>> caches_;  // guarded by mu_
  bool stopped_ = false;                                                    // guarded by mu_
};

}  // namespace keelson::apiserver
