#include "client/informer.h"

#include <deque>
#include <unordered_map>

namespace keelson::client {

namespace {

struct Notification {
  enum Kind { kAdd, kUpdate, kDelete } kind;
  ObjectPtr old_obj;  // kUpdate
  ObjectPtr obj;
  bool flag = false;  // kAdd: initial list; kDelete: final state unknown
};

// Handler calls drained per executor task, so that one busy handler does not hold a thread.
constexpr size_t kBatch = 256;

}  // namespace

// One registered handler: its notifications in order, run on the executor one at a time.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ResourceEventHandler handler, std::chrono::nanoseconds resync, Executor* executor)
      : handler_(std::move(handler)), resync_(resync), executor_(executor) {}

  void Push(Notification n) {
    std::lock_guard l(mu_);
    if (removed_) return;
    pending_.push_back(std::move(n));
    if (!scheduled_) {
      scheduled_ = true;
      executor_->Post([self = shared_from_this()] { self->Drain(); });
    }
  }

  void Remove() {
    std::lock_guard l(mu_);
    removed_ = true;
    pending_.clear();
  }

  std::chrono::nanoseconds resync() const { return resync_; }
  // When the next resync is due; guarded by the informer's mu_.
  Clock::MonoTime next_resync;

 private:
  void Drain() {
    std::deque<Notification> batch;
    {
      std::lock_guard l(mu_);
      size_t n = std::min(kBatch, pending_.size());
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    for (auto& n : batch) {
      {
        std::lock_guard l(mu_);
        if (removed_) break;
      }
      switch (n.kind) {
        case Notification::kAdd:
          if (handler_.on_add) handler_.on_add(n.obj, n.flag);
          break;
        case Notification::kUpdate:
          if (handler_.on_update) handler_.on_update(n.old_obj, n.obj);
          break;
        case Notification::kDelete:
          if (handler_.on_delete) handler_.on_delete(n.obj, n.flag);
          break;
      }
    }
    std::lock_guard l(mu_);
    if (pending_.empty() || removed_) {
      scheduled_ = false;
      return;
    }
    executor_->Post([self = shared_from_this()] { self->Drain(); });
  }

  const ResourceEventHandler handler_;
  const std::chrono::nanoseconds resync_;
  Executor* const executor_;
  std::mutex mu_;
  std::deque<Notification> pending_;  // guarded by mu_
  bool scheduled_ = false;            // guarded by mu_: a Drain task is posted or running
  bool removed_ = false;              // guarded by mu_
};

// ---- SharedInformer ----

SharedInformer::SharedInformer(ResourceClient client, ReflectorOptions reflector_options,
                               Executor* handler_executor)
    : client_(client), executor_(handler_executor), clock_(client.client()->clock()),
      reflector_(client, this, std::move(reflector_options)) {}

SharedInformer::~SharedInformer() { Stop(); }

HandlerId SharedInformer::AddEventHandler(ResourceEventHandler handler,
                                          std::chrono::nanoseconds resync_period) {
  std::lock_guard l(mu_);
  auto listener = std::make_shared<Listener>(std::move(handler), resync_period, executor_);
  listener->next_resync = clock_->Monotonic() + resync_period;
  // What is cached now comes first, as adds; every later change follows (mu_ orders them).
  for (auto& obj : indexer_.List()) {
    listener->Push(Notification{Notification::kAdd, nullptr, std::move(obj), true});
  }
  HandlerId id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  cv_.notify_all();  // the resync loop may have a new deadline
  return id;
}

void SharedInformer::RemoveEventHandler(HandlerId id) {
  std::lock_guard l(mu_);
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return;
  it->second->Remove();
  listeners_.erase(it);
}

void SharedInformer::Start() {
  std::lock_guard l(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  reflector_thread_ = std::thread([this] { reflector_.Run(); });
  resync_thread_ = std::thread([this] { ResyncLoop(); });
}

void SharedInformer::Stop() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  reflector_.Stop();
  if (reflector_thread_.joinable()) reflector_thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
  std::lock_guard l(mu_);
  for (auto& [id, listener] : listeners_) listener->Remove();
}

bool SharedInformer::HasSynced() const {
  std::lock_guard l(mu_);
  return synced_;
}

bool SharedInformer::WaitForSync(Clock::MonoTime deadline) const {
  std::unique_lock l(mu_);
  while (!synced_ && !stopping_ && clock_->Monotonic() < deadline) {
    clock_->WaitUntil(cv_, l, deadline);
  }
  return synced_;
}

void SharedInformer::Replace(std::vector<ObjectPtr> objects, const std::string&) {
  std::lock_guard l(mu_);
  bool initial = !synced_;
  std::unordered_map<std::string, ObjectPtr> old;
  for (auto& obj : indexer_.List()) old.emplace(ObjectKey(*obj), std::move(obj));
  std::vector<Notification> out;
  out.reserve(objects.size());
  for (const auto& obj : objects) {
    auto it = old.find(ObjectKey(*obj));
    if (it == old.end()) {
      out.push_back(Notification{Notification::kAdd, nullptr, obj, initial});
      continue;
    }
    if (api::GetResourceVersion(*it->second) != api::GetResourceVersion(*obj)) {
      out.push_back(Notification{Notification::kUpdate, it->second, obj, false});
    }
    old.erase(it);
  }
  // What the new list lacks was deleted while we were not watching.
  for (auto& [key, obj] : old) {
    out.push_back(Notification{Notification::kDelete, nullptr, std::move(obj), true});
  }
  indexer_.Replace(std::move(objects));
  synced_ = true;
  cv_.notify_all();
  for (const auto& [id, listener] : listeners_) {
    for (const auto& n : out) listener->Push(n);
  }
}

void SharedInformer::Apply(WatchEventType type, ObjectPtr object) {
  std::lock_guard l(mu_);
  Notification n;
  if (type == WatchEventType::kDeleted) {
    indexer_.Delete(ObjectKey(*object));
    n = Notification{Notification::kDelete, nullptr, std::move(object), false};
  } else {
    ObjectPtr old = indexer_.Upsert(object);
    n = old ? Notification{Notification::kUpdate, std::move(old), std::move(object), false}
            : Notification{Notification::kAdd, nullptr, std::move(object), false};
  }
  for (const auto& [id, listener] : listeners_) listener->Push(n);
}

void SharedInformer::ResyncLoop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    auto now = clock_->Monotonic();
    std::optional<Clock::MonoTime> next;
    std::vector<Listener*> due;
    for (const auto& [id, listener] : listeners_) {
      if (listener->resync().count() <= 0) continue;
      if (listener->next_resync <= now) {
        due.push_back(listener.get());
        listener->next_resync = now + listener->resync();
      }
      if (!next || listener->next_resync < *next) next = listener->next_resync;
    }
    if (!due.empty() && synced_) {
      for (auto& obj : indexer_.List()) {
        for (Listener* listener : due) {
          listener->Push(Notification{Notification::kUpdate, obj, obj, false});
        }
      }
    }
    if (next) {
      clock_->WaitUntil(cv_, l, *next);
    } else {
      cv_.wait(l);
    }
  }
}

// ---- SharedInformerFactory ----

SharedInformerFactory::SharedInformerFactory(RestClient* client,
                                             SharedInformerFactoryOptions options)
    : client_(client), options_(std::move(options)),
      handlers_(std::max(1, options_.handler_threads)) {}

SharedInformerFactory::~SharedInformerFactory() { Shutdown(); }

SharedInformer* SharedInformerFactory::InformerFor(const api::ResourceInfo& resource) {
  std::lock_guard l(mu_);
  auto& slot = informers_[&resource];
  if (!slot) {
    ResourceClient rc = client_->Resource(resource);
    if (resource.namespaced) rc = rc.Namespace(options_.namespace_name);
    ReflectorOptions ro = options_.reflector;
    ro.selectors = options_.selectors;
    slot = std::make_unique<SharedInformer>(rc, std::move(ro), &handlers_);
  }
  return slot.get();
}

api::ApiResult<SharedInformer*> SharedInformerFactory::InformerFor(std::string_view group,
                                                                   std::string_view resource) {
  auto rc = client_->Resource(group, resource);
  if (!rc.ok()) return rc.error();
  return InformerFor(rc->resource());
}

void SharedInformerFactory::Start() {
  std::lock_guard l(mu_);
  for (auto& [r, informer] : informers_) informer->Start();
}

bool SharedInformerFactory::WaitForCacheSync(std::chrono::nanoseconds timeout) {
  auto deadline = client_->clock()->Monotonic() + timeout;
  std::vector<SharedInformer*> all;
  {
    std::lock_guard l(mu_);
    for (auto& [r, informer] : informers_) all.push_back(informer.get());
  }
  bool ok = true;
  for (auto* i : all) ok = i->WaitForSync(deadline) && ok;
  return ok;
}

void SharedInformerFactory::Shutdown() {
  std::vector<SharedInformer*> all;
  {
    std::lock_guard l(mu_);
    for (auto& [r, informer] : informers_) all.push_back(informer.get());
  }
  for (auto* i : all) i->Stop();
  handlers_.Stop();
}

}  // namespace keelson::client
