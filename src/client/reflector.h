// Reflector: keeps a ReflectorStore equal to one resource on the server, by upstream's
// list-then-watch protocol (client-go's Reflector.ListAndWatch):
//
//   1. LIST (consistent, in pages of `page_size`; an expired continue token restarts the list
//      whole) and Replace() the store with the items at the list's resourceVersion;
//   2. WATCH from that resourceVersion with bookmarks, for a random 5 to 10 minutes
//      (min_watch_timeout and twice that); each event is Apply()'d and moves the
//      resourceVersion on; a BOOKMARK moves it without an Apply;
//   3. when the watch ends (its timeout, the server closing, a broken connection), WATCH
//      again from the last resourceVersion; nothing is listed again;
//   4. when the server answers 410 Gone/Expired (on starting the watch, or as an ERROR event:
//      the resourceVersion is older than the server keeps), go to 1;
//   5. other failures wait a backoff (initial_backoff doubling to max_backoff, with jitter;
//      reset by a successful list) and go to 1, or, for a watch that could not be started
//      because the server was unreachable or busy, retry the watch after it. A watch that
//      ends at once without events also waits the backoff before the next one.
//
// Periodic resync is the informer's (client/informer.h), not the reflector's.
//
// Time (backoff, watch timeouts) comes from the RestClient's clock.
//
// Thread-safety: Run() on one thread; Stop() and LastSyncResourceVersion() from any thread.
// The store is called from the Run() thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "client/rest_client.h"

namespace keelson::client {

// What a reflector keeps up to date.
class ReflectorStore {
 public:
  virtual ~ReflectorStore() = default;
  // The complete state at `resource_version`, after a list.
  virtual void Replace(std::vector<ObjectPtr> objects, const std::string& resource_version) = 0;
  // One watch event: kAdded, kModified or kDeleted (the object's last state).
  virtual void Apply(WatchEventType type, ObjectPtr object) = 0;
};

struct ReflectorOptions {
  // Label and field selectors of the list and the watch (other fields are ignored).
  ListOptions selectors;
  int64_t page_size = 500;
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30000};
  // Told about failures worth a log line (none when empty).
  std::function<void(const std::string&)> log;
};

class Reflector {
 public:
  // `client` names the resource and namespace; `store` must outlive the reflector.
  Reflector(ResourceClient client, ReflectorStore* store, ReflectorOptions options = {});
  ~Reflector();  // Stop()
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Lists and watches until Stop().
  void Run();
  // Makes Run() return soon: ends the watch in progress and cuts short backoff and retries.
  void Stop();

  // The resourceVersion the store is at ("" before the first list).
  std::string LastSyncResourceVersion() const;

 private:
  enum class Next { kRelist, kBackoffRelist, kStop };
  Next ListAndWatch();
  // Lists; false (after logging) when it failed.
  bool List();
  void SetResourceVersion(std::string rv);
  void Log(const std::string& msg) const;
  std::chrono::nanoseconds Jittered(std::chrono::nanoseconds d);
  bool Backoff();  // sleeps the current backoff and doubles it; false when stopped

  const ReflectorOptions options_;
  ReflectorStore* const store_;
  std::stop_source stop_;
  const ResourceClient client_;  // with stop_'s token
  std::chrono::nanoseconds backoff_;  // Run() thread only
  uint64_t rng_;                      // Run() thread only

  mutable std::mutex mu_;
  std::string resource_version_;       // guarded by mu_
  std::unique_ptr<Watcher> watcher_;   // guarded by mu_: the watch in progress
};

}  // namespace keelson::client
