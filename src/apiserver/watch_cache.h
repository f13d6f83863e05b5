// WatchCache: one resource's objects and recent changes in memory, fed by one store watch on
// the resource's storage prefix, so that LIST and WATCH are served without reading the store.
//
// What it holds:
//   - the current objects, each a CachedObject: the JSON a client is sent (resourceVersion
//     included) plus a small index of its labels and the field-selector fields, in one
//     immutable allocation shared by the map, the event ring and every list or watch writing
//     it out;
//   - a ring of the most recent changes (bounded by count), so that a watch can resume from
//     any revision the ring still covers and a paged list can read an older revision by
//     undoing the changes made since;
//   - `revision()`: every change up to it has been applied. Advanced by events and by the
//     store's progress notifications, so it moves even while the resource is idle.
//
// The feed: a thread per cache lists the prefix (in pages, at one revision), then watches it
// from the next revision. A watch that breaks is resumed from the next revision; one whose
// history was compacted (or that reports events out of order) makes the cache list again, and
// then every watcher is closed (its client lists and watches anew).
//
// Watchers: each has a WatchSink (the HTTP stream). The feed thread hands events to every
// watcher in revision order; a sink only queues bytes, so no watcher can hold up the feed or
// another watcher, and a watcher whose queued bytes pass `max_watcher_backlog` is closed.
//
// Thread-safety: every public method may be called from any thread. Callbacks passed to
// WhenFresh run on the feed thread or on the calling thread and must not block.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/fields.h"
#include "api/object.h"
#include "api/validation.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace keelson::apiserver {

using api::FieldText;

class CachedObject;
// Shared ownership of a CachedObject (an intrusive count: one allocation per object).
using ObjectPtr = boost::intrusive_ptr<const CachedObject>;

// One object as the cache holds it. Immutable once built; share it, never change it.
// One allocation: this header, then the JSON, the key, and a small index (labels and the
// field-selector values), so a cached object costs little more than its JSON.
class CachedObject {
 public:
  // From a stored value (JSON without metadata.resourceVersion) written at `revision`, with
  // the values of `field_paths` indexed. InvalidArgument when the value is not a JSON object.
  static Result<ObjectPtr> Build(std::string_view key, std::string_view value, int64_t revision,
                                 const std::vector<std::string>& field_paths);

  // The same object with metadata.resourceVersion set to `revision` (a deletion's revision).
  ObjectPtr WithRevision(int64_t revision, const std::vector<std::string>& field_paths) const;

  std::string_view key() const { return {data() + json_size_, key_size_}; }
  // The object as a client sees it, metadata.resourceVersion included.
  std::string_view json() const { return {data(), json_size_}; }
  int64_t revision() const { return revision_; }
  // metadata.labels (string values).
  api::Labels Labels() const;
  // The indexed field values by path; `field_paths` must be the list given to Build.
  api::Fields Fields(const std::vector<std::string>& field_paths) const;
  // The value of the `i`th of the field paths given to Build ("" past the end).
  std::string_view FieldAt(size_t i) const;
  // Bytes this object takes.
  size_t MemoryBytes() const { return sizeof(*this) + size_; }

  CachedObject(const CachedObject&) = delete;
  CachedObject& operator=(const CachedObject&) = delete;

 private:
  friend class CachedObjectBuilder;
  CachedObject(uint32_t size, uint32_t json_size, uint32_t key_size, int64_t revision)
      : size_(size), json_size_(json_size), key_size_(key_size), revision_(revision) {}
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }
  // The index that follows the key: label count, then label keys and values, then the field
  // values in field_paths order, each with a varint length.
  const char* index() const { return data() + json_size_ + key_size_; }
  const char* end() const { return data() + size_; }

  friend void intrusive_ptr_add_ref(const CachedObject* o) {
    o->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  friend void intrusive_ptr_release(const CachedObject* o) {
    if (o->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Destroy(o);
  }
  static void Destroy(const CachedObject* o);

  mutable std::atomic<uint32_t> refs_{0};
  uint32_t size_;  // bytes of data after the header
  uint32_t json_size_;
  uint32_t key_size_;
  int64_t revision_;
};

// Which objects a list or a watch wants (label and field selectors). Null accepts everything.
// Called from cache threads; must be thread-safe and cheap.
using ObjectFilter = std::function<bool(const CachedObject&)>;

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  const CachedObject* object = nullptr;  // null for a bookmark
  int64_t revision = 0;                  // a bookmark's resourceVersion
  bool initial_events_end = false;       // the bookmark that ends sendInitialEvents
};

// Where one watch's events go (the HTTP stream). Used by one thread at a time.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Encodes `e` into the sink's buffer; returns the bytes buffered so far.
  virtual size_t Add(const WatchEvent& e) = 0;
  // Sends what Add buffered. False once the client has gone.
  virtual bool Flush() = 0;
  // Bytes sent and not yet taken by the client.
  virtual size_t Backlog() const = 0;
  // Ends the stream. No call follows.
  virtual void End() = 0;
};

struct WatchCacheOptions {
  // Field-selector paths to index for every object (metadata.name, metadata.namespace and
  // the kind's field labels).
  std::vector<std::string> field_paths;
  // One of field_paths whose values the cache keeps an index of (pods: spec.nodeName), so
  // that a list or watch asking for one value (a kubelet's pods) reads and is offered only
  // the objects with that value, not every object of the resource. "" for none.
  std::string indexed_field;
  // Changes kept for resuming watches and reading older revisions.
  size_t ring_capacity = 10000;
  // A watcher whose unsent bytes pass this is closed.
  size_t max_watcher_backlog = 16 << 20;
  // How often watchers that asked for bookmarks get one.
  std::chrono::milliseconds bookmark_interval{1000};
  // How often the store is asked for a progress notification while nothing happens (and at
  // most how often while a reader waits for the cache to catch up).
  std::chrono::milliseconds progress_interval{1000};
  // Objects read per store range while listing.
  int64_t list_page = 1000;
  // Where intervals and deadlines are read (bookmarks, progress requests, WhenFresh and watch
  // deadlines); the system's steady clock when null.
  std::shared_ptr<const Clock> clock;
  // Runs a watch's initial events (which may wait on a slow client) off the caller's thread.
  // Unset: a thread of its own per watch start.
  std::function<void(std::function<void()>)> post;
};

struct WatchCacheStats {
  bool ready = false;
  int64_t revision = 0;
  size_t objects = 0;
  size_t watchers = 0;
  uint64_t events_received = 0;
  uint64_t events_dispatched = 0;  // events written to watchers
  uint64_t initializations = 0;    // lists of the whole prefix (1 + relists)
  uint64_t terminated_watchers = 0;  // closed for falling behind
};

// A list's answer: the objects, in key order, at `revision`.
struct CacheListResult {
  int64_t revision = 0;
  std::vector<ObjectPtr> items;
  bool more = false;  // more matching objects follow the last item
  // How many, when the list has no filter (upstream's remainingItemCount).
  std::optional<int64_t> remaining;
};

struct CacheListRequest {
  std::string prefix;    // the collection, or one namespace of it
  std::string after;     // only keys greater than this ("" from the start)
  int64_t limit = 0;     // 0: every matching object
  int64_t revision = 0;  // 0: the cache's current state; else exactly this revision
  ObjectFilter filter;
  // The value the indexed field must have, when `filter` requires one: the list reads only
  // those objects (the filter still applies).
  std::optional<std::string> index_value;
};

struct CacheWatchRequest {
  std::string prefix;
  ObjectFilter filter;
  // Send the state at the start as ADDED events first (watch from "" or "0", or
  // sendInitialEvents). Otherwise replay the changes after `resource_version`.
  bool initial_events = false;
  int64_t resource_version = 0;
  bool bookmarks = false;
  // After the initial events, a bookmark annotated k8s.io/initial-events-end.
  bool initial_events_end = false;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // The value the indexed field must have, when `filter` requires one: the watch is offered
  // only changes of objects that have (or had) that value (the filter still applies).
  std::optional<std::string> index_value;
};

// A running watch; Stop() when the client goes away.
class CacheWatch {
 public:
  virtual ~CacheWatch() = default;
  virtual void Stop() = 0;
};

class WatchCache {
 public:
  // Starts the feed at once. `store` must outlive the cache.
  static std::unique_ptr<WatchCache> Start(store::Store* store, std::string prefix,
                                           WatchCacheOptions options);
  virtual ~WatchCache() = default;

  // Runs `done` once the cache has listed the store and is at least at `min_revision`
  // (0: ready), with the cache's revision; or with DeadlineExceeded at `deadline`
  // (Unavailable when not ready yet). Runs on the caller's thread when already there.
  virtual void WhenFresh(int64_t min_revision, std::chrono::steady_clock::time_point deadline,
                         std::function<void(Result<int64_t>)> done) = 0;

  // The objects of `req`. FailedPrecondition when the cache is not ready or cannot serve
  // the revision asked for (older than its ring, or newer than its state).
  virtual Result<CacheListResult> List(const CacheListRequest& req) = 0;

  // The object at `key` in the cache's current state; null when there is none. FailedPrecondition
  // when the cache is not ready. (The cache may lag the store by the time a change takes to
  // arrive: callers that need the latest state read the store.)
  virtual Result<ObjectPtr> Get(std::string_view key) = 0;

  // Starts a watch writing to `sink`. Errors: Gone with upstream's "too old resource version:
  // N (M)" when changes after N are no longer held; Unavailable when not ready.
  virtual Result<std::shared_ptr<CacheWatch>> Watch(CacheWatchRequest req,
                                                    std::shared_ptr<WatchSink> sink) = 0;

  virtual WatchCacheStats Stats() const = 0;
  virtual const std::vector<std::string>& field_paths() const = 0;

  // Stops the feed and ends every watch.
  virtual void Stop() = 0;
};

}  // namespace keelson::apiserver
