// Informers: a process's cached, watched view of the API (upstream's SharedIndexInformer and
// SharedInformerFactory). A SharedInformer runs a Reflector (client/reflector.h) into an
// Indexer (client/indexer.h) and tells registered handlers about every change; the factory
// makes one informer per resource, so every component of a process that asks for pods shares
// one list, one watch and one cache.
//
// Handlers (ResourceEventHandler) get, for each change, in the order the informer saw them:
//   on_add(obj, initial_list)     a new object; initial_list for the objects of the first list
//                                 and, for a handler added later, the objects cached then;
//   on_update(old_obj, new_obj)   a changed object (after a re-list: only when its
//                                 resourceVersion changed); also on resync (old == new);
//   on_delete(obj, final_state_unknown)
//                                 a removed object, as last seen. final_state_unknown is
//                                 upstream's DeletedFinalStateUnknown: the removal was not
//                                 watched but found by a re-list (after a 410), so the object
//                                 may have changed between `obj` and its removal.
// When a handler runs, the indexer already holds the change (and maybe later ones). Handlers
// run on the factory's handler threads, one call at a time per handler; they should be quick
// (typically: compute a key and add it to a WorkQueue). Objects are immutable and shared.
//
// Resync: a handler registered with a resync period gets on_update(obj, obj) for every cached
// object each period (on the informer's clock), to re-check state that depends on something
// other than the object.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/indexer.h"
#include "client/reflector.h"
#include "client/rest_client.h"
#include "common/executor.h"

namespace keelson::client {

struct ResourceEventHandler {
  std::function<void(const ObjectPtr& obj, bool initial_list)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  std::function<void(const ObjectPtr& obj, bool final_state_unknown)> on_delete;
};

using HandlerId = uint64_t;

class Listener;

class SharedInformer final : private ReflectorStore {
 public:
  // `client` names the resource (and the namespace, "" for all); `handler_executor` runs the
  // handlers and must outlive the informer. Made by SharedInformerFactory.
  SharedInformer(ResourceClient client, ReflectorOptions reflector_options,
                 Executor* handler_executor);
  ~SharedInformer() override;  // Stop()
  SharedInformer(const SharedInformer&) = delete;
  SharedInformer& operator=(const SharedInformer&) = delete;

  // Registers `handler`. It first gets on_add for each cached object; with a positive
  // `resync_period`, on_update(obj, obj) for each cached object every period.
  HandlerId AddEventHandler(ResourceEventHandler handler,
                            std::chrono::nanoseconds resync_period = std::chrono::nanoseconds(0));
  // Stops calling the handler (a call in progress finishes).
  void RemoveEventHandler(HandlerId id);

  // Adds an index to the cache (client/indexer.h). AlreadyExists when the name is taken.
  Status AddIndex(std::string name, IndexFunc fn) { return indexer_.AddIndex(std::move(name), std::move(fn)); }
  const Indexer& indexer() const { return indexer_; }
  Lister lister() const { return Lister(&indexer_); }
  const api::ResourceInfo& resource() const { return client_.resource(); }

  // Starts the reflector and resync threads (once).
  void Start();
  // Stops them and waits for them; handlers get nothing more. Idempotent.
  void Stop();

  // Whether the first list is in the cache.
  bool HasSynced() const;
  // Waits, on the clock, until HasSynced() or `deadline`; returns HasSynced().
  bool WaitForSync(Clock::MonoTime deadline) const;
  std::string LastSyncResourceVersion() const { return reflector_.LastSyncResourceVersion(); }

 private:
  // ReflectorStore (the reflector's thread).
  void Replace(std::vector<ObjectPtr> objects, const std::string& resource_version) override;
  void Apply(WatchEventType type, ObjectPtr object) override;

  void ResyncLoop();

  const ResourceClient client_;
  Executor* const executor_;
  const std::shared_ptr<const Clock> clock_;
  Indexer indexer_;
  Reflector reflector_;

  // mu_ orders changes of the cache with their notifications, handler registration and
  // resyncs, so every handler sees each change exactly once and in order.
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<HandlerId, std::shared_ptr<Listener>> listeners_;  // guarded by mu_
  HandlerId next_id_ = 1;                                       // guarded by mu_
  bool synced_ = false;                                         // guarded by mu_
  bool started_ = false;                                        // guarded by mu_
  bool stopping_ = false;                                       // guarded by mu_
  std::thread reflector_thread_;
  std::thread resync_thread_;
};

struct SharedInformerFactoryOptions {
  // Only this namespace ("" for all).
  std::string namespace_name;
  // Label and field selectors of every informer of the factory (e.g. a kubelet's pods:
  // spec.nodeName=NODE).
  ListOptions selectors;
  // Threads that run the handlers of every informer of the factory.
  int handler_threads = 2;
  // Reflector settings (its selectors are replaced by `selectors`).
  ReflectorOptions reflector;
};

// One informer per resource for a process (or for one set of selectors).
class SharedInformerFactory {
 public:
  // `client` must outlive the factory.
  explicit SharedInformerFactory(RestClient* client, SharedInformerFactoryOptions options = {});
  ~SharedInformerFactory();  // Shutdown()
  SharedInformerFactory(const SharedInformerFactory&) = delete;
  SharedInformerFactory& operator=(const SharedInformerFactory&) = delete;

  // The informer of `resource`, made on first use. Owned by the factory.
  SharedInformer* InformerFor(const api::ResourceInfo& resource);
  // The same by group and resource name (the registry's version). NotFound when unknown.
  api::ApiResult<SharedInformer*> InformerFor(std::string_view group, std::string_view resource);

  // Starts every informer made so far (informers made later need another Start()).
  void Start();
  // Waits, on the client's clock, until every started informer has synced or `timeout` has
  // passed; returns whether they all synced.
  bool WaitForCacheSync(std::chrono::nanoseconds timeout);
  // Stops every informer and the handler threads.
  void Shutdown();

 private:
  RestClient* const client_;
  const SharedInformerFactoryOptions options_;
  ThreadPool handlers_;
  std::mutex mu_;
  std::map<const api::ResourceInfo*, std::unique_ptr<SharedInformer>> informers_;  // guarded by mu_
};

}  // namespace keelson::client
