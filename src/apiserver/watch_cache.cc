#include "apiserver/watch_cache.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "api/json_limits.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

void PutVarint(std::string& s, size_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}

size_t TakeVarint(const char*& p) {
  size_t v = 0;
  for (int shift = 0;; shift += 7) {
    auto b = static_cast<uint8_t>(*p++);
    v |= static_cast<size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
}

void PutString(std::string& s, std::string_view v) {
  PutVarint(s, v.size());
  s.append(v);
}

// Reads a length-prefixed string at `p` and moves `p` past it.
std::string_view TakeString(const char*& p) {
  size_t n = TakeVarint(p);
  std::string_view out(p, n);
  p += n;
  return out;
}


}  // namespace

class CachedObjectBuilder {
 public:
  // The header and `data` (JSON, key, index) in one allocation.
  static ObjectPtr Make(std::string_view data, size_t json_size, size_t key_size,
                        int64_t revision) {
    void* mem = ::operator new(sizeof(CachedObject) + data.size());
    auto* o = new (mem) CachedObject(static_cast<uint32_t>(data.size()),
                                     static_cast<uint32_t>(json_size),
                                     static_cast<uint32_t>(key_size), revision);
    std::memcpy(o->data(), data.data(), data.size());
    return ObjectPtr(o);
  }
};

void CachedObject::Destroy(const CachedObject* o) {
  o->~CachedObject();
  ::operator delete(const_cast<CachedObject*>(o));
}

namespace {

// Sets metadata.resourceVersion in `v` (an object) and lays out a CachedObject.
ObjectPtr Encode(std::string_view key, json::value& v, int64_t revision,
                 const std::vector<std::string>& field_paths, size_t size_hint) {
  auto& obj = v.as_object();
  auto& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object(obj.storage());
  char rv[24];
  auto [end, ec] = std::to_chars(rv, rv + sizeof rv, revision);
  (void)ec;
  meta.as_object()["resourceVersion"] = json::string_view(rv, static_cast<size_t>(end - rv));

  thread_local std::string data;  // scratch, reused
  data.clear();
  data.reserve(size_hint + 64 + key.size() + 16 * (field_paths.size() + 4));
  json::serializer sr;
  sr.reset(&v);
  char buf[4096];
  while (!sr.done()) data.append(sr.read(buf, sizeof buf));
  size_t json_size = data.size();
  data.append(key);
  size_t count = 0;
  const json::object* labels = nullptr;
  if (auto* l = meta.as_object().if_contains("labels"); l && l->is_object()) {
    labels = &l->as_object();
    for (const auto& [k, val] : *labels) count += val.is_string() ? 1 : 0;
  }
  PutVarint(data, count);
  if (labels != nullptr) {
    for (const auto& [k, val] : *labels) {
      if (!val.is_string()) continue;
      PutString(data, k);
      PutString(data, val.as_string());
    }
  }
  for (const auto& p : field_paths) PutString(data, FieldText(obj, p));
  return CachedObjectBuilder::Make(data, json_size, key.size(), revision);
}

Result<ObjectPtr> ParseAndEncode(std::string_view key, std::string_view text, int64_t revision,
                                 const std::vector<std::string>& field_paths) {
  // Most objects fit the stack buffer, so parsing allocates nothing on the heap.
  unsigned char buf[16384];
  json::monotonic_resource mr(buf, sizeof buf);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, &mr, api::JsonParseOptions());
  if (ec || !v.is_object()) {
    return InvalidArgumentError("stored object at " + std::string(key) + " is not JSON");
  }
  return Encode(key, v, revision, field_paths, text.size());
}

bool HasPrefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// One change, as the ring keeps it.
struct Change {
  bool deleted = false;
  int64_t revision = 0;
  ObjectPtr object;  // put: the new object; delete: the last state, at the delete's revision
  ObjectPtr prev;    // the state before (null for a creation)
};

using FieldPaths = std::shared_ptr<const std::vector<std::string>>;

// What one watcher sees of a change, given its prefix and filter (upstream's rules: an object
// that starts matching is ADDED, one that stops matching is DELETED with its previous content
// at the change's revision). `prev_at_rev` caches that last object per change.
bool Render(const Change& c, std::string_view prefix, const ObjectFilter& filter,
            const FieldPaths& paths, ObjectPtr* prev_at_rev, WatchSink& sink) {
  if (!HasPrefix(c.object->key(), prefix)) return false;
  auto pass = [&](const CachedObject& o) { return !filter || filter(o); };
  WatchEvent ev;
  if (c.deleted) {
    if (!pass(*c.object)) return false;
    ev.type = WatchEventType::kDeleted;
    ev.object = c.object.get();
  } else {
    bool now = pass(*c.object);
    bool before = c.prev != nullptr && (!filter || pass(*c.prev));
    if (now) {
      ev.type = before ? WatchEventType::kModified : WatchEventType::kAdded;
      ev.object = c.object.get();
    } else if (before) {
      if (*prev_at_rev == nullptr) *prev_at_rev = c.prev->WithRevision(c.revision, *paths);
      ev.type = WatchEventType::kDeleted;
      ev.object = prev_at_rev->get();
    } else {
      return false;
    }
  }
  sink.Add(ev);
  return true;
}

class WatchCacheImpl;

// One watch. Until `live`, its initial events are being written by its initializer and the
// changes that arrive meanwhile wait in `pending`; after, the feed thread writes changes
// directly. The sink is used by the initializer before `live` and under mu_ after.
class Watcher final : public CacheWatch {
 public:
  Watcher(CacheWatchRequest req, std::shared_ptr<WatchSink> sink, int64_t start, bool live,
          FieldPaths paths, size_t max_backlog, std::chrono::milliseconds bookmark_interval,
          Steady::time_point now)
      : req_(std::move(req)), sink_(std::move(sink)), start_(start), paths_(std::move(paths)),
        max_backlog_(max_backlog), bookmark_interval_(bookmark_interval), live_(live),
        next_bookmark_(now + bookmark_interval) {}

  void Stop() override {
    std::lock_guard l(mu_);
    CloseLocked();
  }

  bool closed() {
    std::lock_guard l(mu_);
    return closed_;
  }

  // Feed thread: the changes of one batch. Returns how many events were written; sets
  // *overflowed when the watcher was closed for falling behind.
  // `only`, when set, lists the changes (by index) that may concern this watcher.
  size_t Deliver(const std::vector<Change>& changes, std::vector<ObjectPtr>& memo,
                 bool* overflowed, const std::vector<size_t>* only = nullptr) {
    std::lock_guard l(mu_);
    if (closed_) return 0;
    const size_t count = only ? only->size() : changes.size();
    auto index = [&](size_t k) { return only ? (*only)[k] : k; };
    if (!live_) {
      for (size_t k = 0; k < count; ++k) {
        const Change& c = changes[index(k)];
        if (c.revision <= start_) continue;
        pending_.push_back(c);
        pending_bytes_ += c.object->json().size();
      }
      if (pending_bytes_ > max_backlog_) {
        *overflowed = true;
        CloseLocked();
      }
      return 0;
    }
    size_t n = 0;
    for (size_t k = 0; k < count; ++k) {
      size_t i = index(k);
      if (changes[i].revision <= start_) continue;
      n += Render(changes[i], req_.prefix, req_.filter, paths_, &memo[i], *sink_) ? 1 : 0;
    }
    if (n > 0) FlushLocked(overflowed);
    return n;
  }

  // The indexed field's value this watcher is for, if it names one.
  const std::optional<std::string>& index_value() const { return req_.index_value; }

  // Feed thread: a bookmark at `revision` when one is due; ends the watch at its deadline.
  // Returns true when the watcher was closed for falling behind.
  bool Tick(Steady::time_point now, int64_t revision) {
    std::lock_guard l(mu_);
    if (closed_) return false;
    if (now >= req_.deadline) {
      CloseLocked();
      return false;
    }
    if (!live_ || !req_.bookmarks || now < next_bookmark_ || revision < start_) return false;
    next_bookmark_ = now + bookmark_interval_;
    WatchEvent ev;
    ev.type = WatchEventType::kBookmark;
    ev.revision = revision;
    sink_->Add(ev);
    bool overflowed = false;
    FlushLocked(&overflowed);
    return overflowed;
  }

  // The initializer: writes the initial objects or the replayed changes, then the changes
  // that arrived meanwhile, and goes live.
  void Initialize(std::vector<ObjectPtr> objects, std::vector<Change> replay, int64_t revision) {
    // Write in chunks and hold back while the client is slow rather than queueing everything;
    // changes arriving meanwhile wait in `pending_`, within the same bound.
    const size_t kChunk = std::min<size_t>(256 * 1024, max_backlog_ / 4 + 1);
    const size_t kHoldBack = std::min<size_t>(8 << 20, max_backlog_ / 2);
    auto flush = [&] {
      if (!sink_->Flush()) return false;
      while (sink_->Backlog() > kHoldBack) {
        if (closed()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      return !closed();
    };
    bool ok = true;
    for (const auto& o : objects) {
      WatchEvent ev;
      ev.object = o.get();
      if (sink_->Add(ev) >= kChunk && !(ok = flush())) break;
    }
    size_t replayed = 0;
    for (const auto& c : replay) {
      if (!ok) break;
      ObjectPtr memo;
      Render(c, req_.prefix, req_.filter, paths_, &memo, *sink_);
      if (++replayed % 256 == 0) ok = flush();
    }
    if (ok && req_.initial_events_end) {
      WatchEvent ev;
      ev.type = WatchEventType::kBookmark;
      ev.revision = revision;
      ev.initial_events_end = true;
      sink_->Add(ev);
    }
    std::lock_guard l(mu_);
    for (const auto& c : pending_) {
      if (!ok || closed_) break;
      ObjectPtr memo;
      Render(c, req_.prefix, req_.filter, paths_, &memo, *sink_);
    }
    pending_.clear();
    pending_bytes_ = 0;
    live_ = true;
    if (closed_ || !ok) {
      closed_ = true;
      sink_->End();
      return;
    }
    bool overflowed = false;
    FlushLocked(&overflowed);
  }

 private:
  void CloseLocked() {
    if (closed_) return;
    closed_ = true;
    if (live_) sink_->End();  // else the initializer ends it
  }
  void FlushLocked(bool* overflowed) {
    if (!sink_->Flush()) return CloseLocked();
    if (sink_->Backlog() > max_backlog_) {
      *overflowed = true;
      CloseLocked();
    }
  }

  const CacheWatchRequest req_;
  const std::shared_ptr<WatchSink> sink_;
  const int64_t start_;  // changes at or before this revision are not for this watcher
  const FieldPaths paths_;
  const size_t max_backlog_;
  const std::chrono::milliseconds bookmark_interval_;

  std::mutex mu_;
  bool live_;           // guarded by mu_
  bool closed_ = false;  // guarded by mu_
  std::vector<Change> pending_;  // guarded by mu_
  size_t pending_bytes_ = 0;     // guarded by mu_
  Steady::time_point next_bookmark_;  // guarded by mu_
};

struct Waiter {
  int64_t min_revision;
  Steady::time_point deadline;
  std::function<void(Result<int64_t>)> done;
};

class WatchCacheImpl final : public WatchCache {
 public:
  WatchCacheImpl(store::Store* store, std::string prefix, WatchCacheOptions options)
      : store_(store), prefix_(std::move(prefix)), opts_(std::move(options)),
        paths_(std::make_shared<const std::vector<std::string>>(opts_.field_paths)) {
    opts_.ring_capacity = std::max<size_t>(opts_.ring_capacity, 1);
    if (opts_.clock == nullptr) opts_.clock = RealClock();
    for (size_t i = 0; i < paths_->size(); ++i) {
      if (!opts_.indexed_field.empty() && (*paths_)[i] == opts_.indexed_field) {
        indexed_ = static_cast<int>(i);
      }
    }
    feed_ = std::thread([this] { Run(); });
  }
  ~WatchCacheImpl() override { Stop(); }

  void WhenFresh(int64_t min_revision, Steady::time_point deadline,
                 std::function<void(Result<int64_t>)> done) override;
  Result<CacheListResult> List(const CacheListRequest& req) override;
  Result<ObjectPtr> Get(std::string_view key) override;
  Result<std::shared_ptr<CacheWatch>> Watch(CacheWatchRequest req,
                                            std::shared_ptr<WatchSink> sink) override;
  WatchCacheStats Stats() const override;
  const std::vector<std::string>& field_paths() const override { return *paths_; }
  void Stop() override;

 private:
  // The objects in key order, looked up by key.
  struct ByKey {
    using is_transparent = void;
    static std::string_view KeyOf(const ObjectPtr& o) { return o->key(); }
    static std::string_view KeyOf(std::string_view k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyOf(a) < KeyOf(b);
    }
  };
  using ObjectMap = std::set<ObjectPtr, ByKey>;

  void Run();
  void Sleep(std::chrono::milliseconds d) {
    std::unique_lock l(sleep_mu_);
    sleep_cv_.wait_for(l, d, [&] { return stopping_.load(); });
  }
  // Lists the prefix and starts the store watch after it; replaces the state.
  Status ListAndWatch();
  // Opens the store watch from `from`.
  Status OpenStream(int64_t from);
  void Apply(const store::WatchBatch& batch);
  void Dispatch(const std::vector<Change>& changes);
  void Housekeeping(Steady::time_point now);
  void RunWaiters(Steady::time_point now);
  void RequestProgress();
  std::vector<std::shared_ptr<Watcher>> LiveWatchers();
  // Every watcher, indexed or not, now taken out of the cache.
  std::vector<std::shared_ptr<Watcher>> TakeWatchers();
  void CloseAllWatchers();
  // The indexed field's value of `o` (o non-null, indexed_ >= 0).
  std::string_view IndexValue(const CachedObject& o) const { return o.FieldAt(indexed_); }
  // Adds or removes `o` in by_value_ (mu_ held exclusively).
  void IndexAdd(const ObjectPtr& o);
  void IndexRemove(const ObjectPtr& o);
  // Undoing the ring's changes after `revision`: the state at `revision` of each key changed
  // since (null: absent). mu_ held.
  std::map<std::string_view, ObjectPtr> StateAt(int64_t revision, std::string_view prefix,
                                                std::string_view after) const;

  store::Store* const store_;
  const std::string prefix_;
  WatchCacheOptions opts_;
  const FieldPaths paths_;
  int indexed_ = -1;  // the position of opts_.indexed_field in paths_; -1 for none
  std::thread feed_;
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;  // wakes the feed thread's back-off sleeps on Stop()

  // The state. Written by the feed thread only (under an exclusive lock); the feed thread
  // reads it without a lock, everyone else under a shared lock.
  mutable std::shared_mutex mu_;
  bool ready_ = false;
  int64_t revision_ = 0;  // every change up to here is applied
  int64_t floor_ = 0;     // the ring holds every change after this revision
  ObjectMap objects_;
  // The objects again, by the value of the indexed field (when there is one).
  std::unordered_map<std::string, ObjectMap> by_value_;
  std::deque<Change> ring_;

  // The store watch: replaced by the feed thread, asked for progress by anyone.
  std::mutex stream_mu_;
  std::unique_ptr<store::WatchStream> stream_;  // guarded by stream_mu_ (for replacing)
  Steady::time_point last_progress_request_;    // guarded by stream_mu_

  mutable std::mutex watchers_mu_;
  std::vector<std::shared_ptr<Watcher>> watchers_;  // guarded by watchers_mu_
  // Watchers for one value of the indexed field, by value.
  std::unordered_map<std::string, std::vector<std::shared_ptr<Watcher>>>
      indexed_watchers_;  // guarded by watchers_mu_

  std::mutex waiters_mu_;
  std::vector<Waiter> waiters_;  // guarded by waiters_mu_

  std::atomic<size_t> object_count_{0};
  std::atomic<int64_t> stat_revision_{0};
  std::atomic<bool> stat_ready_{false};
  std::atomic<uint64_t> events_received_{0};
  std::atomic<uint64_t> events_dispatched_{0};
  std::atomic<uint64_t> initializations_{0};
  std::atomic<uint64_t> terminated_{0};
};

void WatchCacheImpl::Stop() {
  {
    std::lock_guard l(sleep_mu_);
    if (stopping_.exchange(true)) return;
  }
  sleep_cv_.notify_all();
  {
    std::lock_guard l(stream_mu_);
    if (stream_) stream_->Cancel();
  }
  if (feed_.joinable()) feed_.join();
  CloseAllWatchers();
  std::vector<Waiter> waiters;
  {
    std::lock_guard l(waiters_mu_);
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w.done(UnavailableError("watch cache stopped"));
}

void WatchCacheImpl::RequestProgress() {
  std::lock_guard l(stream_mu_);
  if (!stream_) return;
  last_progress_request_ = opts_.clock->Monotonic();
  stream_->RequestProgress();
}

void WatchCacheImpl::WhenFresh(int64_t min_revision, Steady::time_point deadline,
                               std::function<void(Result<int64_t>)> done) {
  int64_t rev = 0;
  bool ready = false;
  {
    std::lock_guard wl(waiters_mu_);
    {
      std::shared_lock l(mu_);
      ready = ready_;
      rev = revision_;
    }
    if (!ready || rev < min_revision) {
      if (stopping_.load()) {
        ready = false;
      } else {
        waiters_.push_back({min_revision, deadline, std::move(done)});
        done = nullptr;
      }
    }
  }
  if (done) {
    if (ready) return done(rev);
    return done(UnavailableError("watch cache stopped"));
  }
  if (ready) RequestProgress();
}

void WatchCacheImpl::RunWaiters(Steady::time_point now) {
  std::vector<std::pair<std::function<void(Result<int64_t>)>, Result<int64_t>>> run;
  {
    std::lock_guard l(waiters_mu_);
    bool ready = ready_;  // the feed thread reads its own state
    std::erase_if(waiters_, [&](Waiter& w) {
      if (ready && revision_ >= w.min_revision) {
        run.emplace_back(std::move(w.done), revision_);
        return true;
      }
      if (now >= w.deadline) {
        Status st = ready ? Status(StatusCode::kDeadlineExceeded,
                                   "Too large resource version: " +
                                       std::to_string(w.min_revision) +
                                       ", current: " + std::to_string(revision_))
                          : UnavailableError("storage is (re)initializing");
        run.emplace_back(std::move(w.done), st);
        return true;
      }
      return false;
    });
  }
  for (auto& [fn, r] : run) fn(std::move(r));
}

std::map<std::string_view, ObjectPtr> WatchCacheImpl::StateAt(int64_t revision,
                                                              std::string_view prefix,
                                                              std::string_view after) const {
  std::map<std::string_view, ObjectPtr> out;
  auto it = std::upper_bound(ring_.begin(), ring_.end(), revision,
                             [](int64_t r, const Change& c) { return r < c.revision; });
  for (; it != ring_.end(); ++it) {
    std::string_view key = it->object->key();
    if (!HasPrefix(key, prefix) || key <= after) continue;
    out.try_emplace(key, it->prev);  // the first change after `revision` knows the state at it
  }
  return out;
}

Result<CacheListResult> WatchCacheImpl::List(const CacheListRequest& req) {
  std::shared_lock l(mu_);
  if (!ready_) return FailedPreconditionError("watch cache not ready");
  int64_t at = req.revision > 0 ? req.revision : revision_;
  if (at > revision_ || at < floor_) {
    return FailedPreconditionError("revision " + std::to_string(at) + " not in the watch cache");
  }
  CacheListResult res;
  res.revision = at;
  if (req.index_value && indexed_ >= 0 && at == revision_) {
    // Only the objects with the value asked for (the filter requires it too).
    auto bucket = by_value_.find(*req.index_value);
    if (bucket == by_value_.end()) return res;
    const ObjectMap& m = bucket->second;
    auto it = req.after.empty() || req.after < req.prefix
                  ? m.lower_bound(std::string_view(req.prefix))
                  : m.upper_bound(std::string_view(req.after));
    size_t limit = req.limit > 0 ? static_cast<size_t>(req.limit) : SIZE_MAX;
    for (; it != m.end() && HasPrefix((*it)->key(), req.prefix); ++it) {
      if (req.filter && !req.filter(**it)) continue;
      if (res.items.size() == limit) {
        res.more = true;
        break;
      }
      res.items.push_back(*it);
    }
    return res;
  }
  std::map<std::string_view, ObjectPtr> undo;
  if (at < revision_) undo = StateAt(at, req.prefix, req.after);
  auto it = req.after.empty() || req.after < req.prefix
                ? objects_.lower_bound(std::string_view(req.prefix))
                : objects_.upper_bound(std::string_view(req.after));
  auto ut = undo.begin();
  size_t limit = req.limit > 0 ? static_cast<size_t>(req.limit) : SIZE_MAX;
  while (true) {
    bool have_cur = it != objects_.end() && HasPrefix((*it)->key(), req.prefix);
    bool have_undo = ut != undo.end();
    if (!have_cur && !have_undo) break;
    const ObjectPtr* candidate;
    if (have_undo && (!have_cur || ut->first <= (*it)->key())) {
      if (have_cur && ut->first == (*it)->key()) ++it;
      candidate = &ut->second;
      ++ut;
    } else {
      candidate = &*it;
      ++it;
    }
    if (*candidate == nullptr || (req.filter && !req.filter(**candidate))) continue;
    if (res.items.size() == limit) {
      res.more = true;
      // Without selectors the rest is counted, as upstream reports remainingItemCount.
      if (req.filter) break;
      res.remaining = res.remaining.value_or(0) + 1;
      continue;
    }
    res.items.push_back(*candidate);
  }
  return res;
}

Result<ObjectPtr> WatchCacheImpl::Get(std::string_view key) {
  std::shared_lock l(mu_);
  if (!ready_) return FailedPreconditionError("watch cache not ready");
  auto it = objects_.find(key);
  return it == objects_.end() ? ObjectPtr() : *it;
}

Result<std::shared_ptr<CacheWatch>> WatchCacheImpl::Watch(CacheWatchRequest req,
                                                          std::shared_ptr<WatchSink> sink) {
  std::vector<ObjectPtr> objects;
  std::vector<Change> replay;
  std::shared_ptr<Watcher> w;
  int64_t at;
  bool live;
  {
    std::shared_lock l(mu_);
    if (!ready_) return UnavailableError("storage is (re)initializing");
    at = revision_;
    int64_t start = at;
    if (req.initial_events) {
      // The objects with the indexed value asked for, or every object of the prefix.
      const ObjectMap* from = &objects_;
      static const ObjectMap kNone;
      if (req.index_value && indexed_ >= 0) {
        auto bucket = by_value_.find(*req.index_value);
        from = bucket == by_value_.end() ? &kNone : &bucket->second;
      }
      for (auto it = from->lower_bound(std::string_view(req.prefix));
           it != from->end() && HasPrefix((*it)->key(), req.prefix); ++it) {
        if (!req.filter || req.filter(**it)) objects.push_back(*it);
      }
    } else {
      int64_t from = req.resource_version;
      if (from < floor_) {
        return Status(StatusCode::kGone, "too old resource version: " + std::to_string(from) +
                                             " (" + std::to_string(floor_) + ")");
      }
      auto it = std::upper_bound(ring_.begin(), ring_.end(), from,
                                 [](int64_t r, const Change& c) { return r < c.revision; });
      replay.assign(it, ring_.end());
      start = std::max(from, at);
    }
    live = objects.empty() && replay.empty() && !req.initial_events_end;
    w = std::make_shared<Watcher>(std::move(req), std::move(sink), start, live, paths_,
                                  opts_.max_watcher_backlog, opts_.bookmark_interval,
                                  opts_.clock->Monotonic());
    std::lock_guard wl(watchers_mu_);
    if (w->index_value() && indexed_ >= 0) {
      indexed_watchers_[*w->index_value()].push_back(w);
    } else {
      watchers_.push_back(w);
    }
  }
  // The changes after `at` reach the watcher through Dispatch (held back until it is live).
  if (live) return std::shared_ptr<CacheWatch>(w);
  // Small starts are written at once (this may be the feed thread: it must never wait on a
  // client); larger ones, which may hold back for a slow client, elsewhere.
  size_t bytes = 0;
  for (const auto& o : objects) bytes += o->json().size();
  for (const auto& c : replay) bytes += c.object->json().size();
  if (bytes <= std::min<size_t>(64 * 1024, opts_.max_watcher_backlog / 8)) {
    w->Initialize(std::move(objects), std::move(replay), at);
  } else {
    auto job = [w, objects = std::move(objects), replay = std::move(replay), at]() mutable {
      w->Initialize(std::move(objects), std::move(replay), at);
    };
    if (opts_.post) {
      opts_.post(std::move(job));
    } else {
      std::thread(std::move(job)).detach();
    }
  }
  return std::shared_ptr<CacheWatch>(w);
}

WatchCacheStats WatchCacheImpl::Stats() const {
  WatchCacheStats s;
  s.ready = stat_ready_.load();
  s.revision = stat_revision_.load();
  s.objects = object_count_.load();
  {
    std::lock_guard l(watchers_mu_);
    s.watchers = watchers_.size();
    for (const auto& [v, ws] : indexed_watchers_) s.watchers += ws.size();
  }
  s.events_received = events_received_.load();
  s.events_dispatched = events_dispatched_.load();
  s.initializations = initializations_.load();
  s.terminated_watchers = terminated_.load();
  return s;
}

std::vector<std::shared_ptr<Watcher>> WatchCacheImpl::LiveWatchers() {
  std::lock_guard l(watchers_mu_);
  std::erase_if(watchers_, [](const auto& w) { return w->closed(); });
  return watchers_;
}

std::vector<std::shared_ptr<Watcher>> WatchCacheImpl::TakeWatchers() {
  std::lock_guard l(watchers_mu_);
  std::vector<std::shared_ptr<Watcher>> all;
  all.swap(watchers_);
  for (auto& [v, ws] : indexed_watchers_) all.insert(all.end(), ws.begin(), ws.end());
  indexed_watchers_.clear();
  return all;
}

void WatchCacheImpl::CloseAllWatchers() {
  for (auto& w : TakeWatchers()) w->Stop();
}

void WatchCacheImpl::IndexAdd(const ObjectPtr& o) {
  if (indexed_ >= 0) by_value_[std::string(IndexValue(*o))].insert(o);
}

void WatchCacheImpl::IndexRemove(const ObjectPtr& o) {
  if (indexed_ < 0) return;
  auto bucket = by_value_.find(std::string(IndexValue(*o)));
  if (bucket == by_value_.end()) return;
  if (auto it = bucket->second.find(o->key()); it != bucket->second.end()) {
    bucket->second.erase(it);
  }
  if (bucket->second.empty()) by_value_.erase(bucket);
}

Status WatchCacheImpl::OpenStream(int64_t from) {
  store::WatchOptions wo;
  wo.key = prefix_;
  wo.range_end = store::PrefixEnd(prefix_);
  wo.start_revision = from;
  auto s = store_->Watch(wo);
  if (!s.ok()) return s.status();
  std::lock_guard l(stream_mu_);
  if (stream_) stream_->Cancel();
  stream_ = std::move(*s);
  if (stopping_.load()) stream_->Cancel();
  return Status::Ok();
}

Status WatchCacheImpl::ListAndWatch() {
  store::RangeRequest rr;
  rr.key = prefix_;
  rr.range_end = store::PrefixEnd(prefix_);
  rr.limit = opts_.list_page;
  rr.skip_count = true;
  ObjectMap objects;
  while (true) {
    auto res = store_->Range(rr);
    if (!res.ok()) return res.status();
    if (rr.revision == 0) rr.revision = res->revision;  // every page at one revision
    for (const auto& kv : res->kvs) {
      auto o = ParseAndEncode(kv.key, kv.value, kv.mod_revision, *paths_);
      if (!o.ok()) continue;  // not an object a client could be sent
      objects.emplace_hint(objects.end(), std::move(*o));
    }
    if (!res->more || res->kvs.empty()) break;
    rr.key = res->kvs.back().key + '\0';
    if (stopping_.load()) return UnavailableError("stopping");
  }
  KEELSON_RETURN_IF_ERROR(OpenStream(rr.revision + 1));
  // A watcher cannot be told what changed while the cache was not watching: every watch
  // started before this list ends (its client lists again); later ones see the new state.
  std::vector<std::shared_ptr<Watcher>> stale;
  {
    std::unique_lock l(mu_);
    stale = TakeWatchers();
    objects_.swap(objects);
    by_value_.clear();
    for (const auto& o : objects_) IndexAdd(o);
    ring_.clear();
    floor_ = rr.revision;
    revision_ = rr.revision;
    ready_ = true;
  }
  object_count_ = objects_.size();
  stat_revision_ = rr.revision;
  stat_ready_ = true;
  ++initializations_;
  for (auto& w : stale) w->Stop();
  return Status::Ok();
}

void WatchCacheImpl::Apply(const store::WatchBatch& batch) {
  std::vector<Change> changes;
  changes.reserve(batch.events.size());
  // Pending puts and deletes of this batch, so that two changes of one key chain correctly.
  std::map<std::string_view, ObjectPtr> batch_state;
  auto current = [&](std::string_view key) -> ObjectPtr {
    if (auto it = batch_state.find(key); it != batch_state.end()) return it->second;
    auto it = objects_.find(key);  // the feed thread is the only writer
    return it == objects_.end() ? ObjectPtr() : *it;
  };
  for (const auto& e : batch.events) {
    Change c;
    c.revision = e.kv.mod_revision;
    c.prev = current(e.kv.key);
    if (e.type == store::Event::Type::kPut) {
      auto o = ParseAndEncode(e.kv.key, e.kv.value, e.kv.mod_revision, *paths_);
      if (!o.ok()) continue;
      c.object = std::move(*o);
    } else {
      if (c.prev == nullptr) continue;
      c.deleted = true;
      c.object = c.prev->WithRevision(c.revision, *paths_);
      if (c.object == nullptr) continue;
    }
    batch_state[c.object->key()] = c.deleted ? ObjectPtr() : c.object;
    changes.push_back(std::move(c));
  }
  events_received_ += batch.events.size();
  {
    std::unique_lock l(mu_);
    for (const auto& c : changes) {
      auto it = objects_.find(c.object->key());
      if (it != objects_.end()) {
        IndexRemove(*it);
        objects_.erase(it);
      }
      if (!c.deleted) {
        objects_.insert(c.object);
        IndexAdd(c.object);
      }
      ring_.push_back(c);
    }
    // Whole revisions leave the ring together.
    while (ring_.size() > opts_.ring_capacity) {
      int64_t r = ring_.front().revision;
      while (!ring_.empty() && ring_.front().revision == r) ring_.pop_front();
      floor_ = r;
    }
    if (!batch.events.empty()) revision_ = std::max(revision_, batch.events.back().kv.mod_revision);
  }
  object_count_ = objects_.size();
  stat_revision_ = revision_;
  if (!changes.empty()) Dispatch(changes);
}

void WatchCacheImpl::Dispatch(const std::vector<Change>& changes) {
  std::vector<ObjectPtr> memo(changes.size());
  uint64_t sent = 0;
  for (auto& w : LiveWatchers()) {
    bool overflowed = false;
    sent += w->Deliver(changes, memo, &overflowed);
    if (overflowed) ++terminated_;
  }
  if (indexed_ >= 0) {
    // A watcher for one value is offered the changes of objects that have it now or had it
    // before (an object leaving its value is a DELETED for it), in revision order.
    std::unordered_map<std::string_view, std::vector<size_t>> groups;
    for (size_t i = 0; i < changes.size(); ++i) {
      std::string_view now = IndexValue(*changes[i].object);
      groups[now].push_back(i);
      if (changes[i].prev != nullptr) {
        std::string_view was = IndexValue(*changes[i].prev);
        if (was != now) groups[was].push_back(i);
      }
    }
    for (const auto& [value, only] : groups) {
      std::vector<std::shared_ptr<Watcher>> ws;
      {
        std::lock_guard l(watchers_mu_);
        auto it = indexed_watchers_.find(std::string(value));
        if (it == indexed_watchers_.end()) continue;
        std::erase_if(it->second, [](const auto& w) { return w->closed(); });
        if (it->second.empty()) {
          indexed_watchers_.erase(it);
          continue;
        }
        ws = it->second;
      }
      for (auto& w : ws) {
        bool overflowed = false;
        sent += w->Deliver(changes, memo, &overflowed, &only);
        if (overflowed) ++terminated_;
      }
    }
  }
  events_dispatched_ += sent;
}

void WatchCacheImpl::Housekeeping(Steady::time_point now) {
  std::vector<std::shared_ptr<Watcher>> all = LiveWatchers();
  {
    std::lock_guard l(watchers_mu_);
    for (auto it = indexed_watchers_.begin(); it != indexed_watchers_.end();) {
      std::erase_if(it->second, [](const auto& w) { return w->closed(); });
      all.insert(all.end(), it->second.begin(), it->second.end());
      it = it->second.empty() ? indexed_watchers_.erase(it) : std::next(it);
    }
  }
  for (auto& w : all) {
    if (w->Tick(now, revision_)) ++terminated_;
  }
  bool waiting;
  {
    std::lock_guard l(waiters_mu_);
    waiting = !waiters_.empty();
  }
  Steady::time_point last;
  {
    std::lock_guard l(stream_mu_);
    last = last_progress_request_;
  }
  // While readers wait, ask again soon (the store may have answered with a revision from
  // just before their write); otherwise now and then, so that bookmarks move on.
  auto gap = waiting ? std::chrono::milliseconds(5) : opts_.progress_interval;
  if (now - last >= gap) RequestProgress();
}

void WatchCacheImpl::Run() {
  auto backoff = std::chrono::milliseconds(50);
  bool need_list = true;
  while (!stopping_.load()) {
    if (need_list) {
      Status st = ListAndWatch();
      if (!st.ok()) {
        RunWaiters(opts_.clock->Monotonic());
        Sleep(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
        continue;
      }
      need_list = false;
      backoff = std::chrono::milliseconds(50);
      RunWaiters(opts_.clock->Monotonic());
    }
    store::WatchStream* stream;
    {
      std::lock_guard l(stream_mu_);
      stream = stream_.get();
    }
    bool waiting;
    {
      std::lock_guard l(waiters_mu_);
      waiting = !waiters_.empty();
    }
    // While readers wait for the cache to catch up, come back soon to ask the store again.
    auto b = stream->Next(std::chrono::milliseconds(waiting ? 5 : 100));
    if (stopping_.load()) break;
    bool resume = false;
    if (!b.ok()) {
      resume = true;
    } else if (b->canceled) {
      if (b->compact_revision > 0) {
        need_list = true;  // the history we need is gone
      } else {
        resume = true;
      }
    } else if (!b->events.empty()) {
      if (b->events.front().kv.mod_revision <= revision_) {
        need_list = true;  // out of order: the state cannot be trusted
      } else {
        Apply(*b);
      }
    } else if (b->progress) {
      std::unique_lock l(mu_);
      revision_ = std::max(revision_, b->revision);
      stat_revision_ = revision_;
    }
    if (resume) {
      // Carry on from where we are: nothing is lost unless that history is gone.
      Sleep(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      if (Status st = OpenStream(revision_ + 1); !st.ok()) need_list = true;
      continue;
    }
    auto now = opts_.clock->Monotonic();
    RunWaiters(now);
    Housekeeping(now);
  }
}

}  // namespace

api::Labels CachedObject::Labels() const {
  api::Labels out;
  const char* p = index();
  size_t n = TakeVarint(p);
  for (size_t i = 0; i < n; ++i) {
    std::string_view k = TakeString(p);
    std::string_view v = TakeString(p);
    out.emplace(std::string(k), std::string(v));
  }
  return out;
}

api::Fields CachedObject::Fields(const std::vector<std::string>& field_paths) const {
  api::Fields out;
  const char* p = index();
  size_t n = TakeVarint(p);
  for (size_t i = 0; i < 2 * n; ++i) TakeString(p);
  for (const auto& path : field_paths) {
    if (p >= end()) break;
    out.emplace(path, std::string(TakeString(p)));
  }
  return out;
}

std::string_view CachedObject::FieldAt(size_t i) const {
  const char* p = index();
  size_t n = TakeVarint(p);
  for (size_t k = 0; k < 2 * n; ++k) TakeString(p);
  for (size_t k = 0; k < i && p < end(); ++k) TakeString(p);
  return p < end() ? TakeString(p) : std::string_view();
}

Result<ObjectPtr> CachedObject::Build(std::string_view key, std::string_view value,
                                      int64_t revision,
                                      const std::vector<std::string>& field_paths) {
  return ParseAndEncode(key, value, revision, field_paths);
}

ObjectPtr CachedObject::WithRevision(int64_t revision,
                                     const std::vector<std::string>& field_paths) const {
  auto o = ParseAndEncode(key(), json(), revision, field_paths);
  return o.ok() ? std::move(*o) : ObjectPtr();  // json() was written by Encode: an object
}

std::unique_ptr<WatchCache> WatchCache::Start(store::Store* store, std::string prefix,
                                              WatchCacheOptions options) {
  return std::make_unique<WatchCacheImpl>(store, std::move(prefix), std::move(options));
}

}  // namespace keelson::apiserver
