#include "store/mvcc/watch_hub.h"

#include <algorithm>

namespace keelson::store::mvcc {

struct WatchHub::StreamState {
  WatchOptions opts;
  // Guarded by WatchHub::mu_.
  int64_t next_rev = 0;  // first revision this watcher has not been shown
  bool progress_requested = false;
  bool canceled = false;
  WatchBatch final_batch;

  // Guards `ready` and `ready_disabled`; held while `ready` runs so that Cancel() can wait
  // for a running callback.
  std::mutex cb_mu;
  std::function<void()> ready;
  bool ready_disabled = false;
};

namespace {

size_t EventBytes(const Event& e) {
  size_t n = sizeof(Event) + e.kv.key.size() + e.kv.value.size();
  if (e.prev_kv) n += e.prev_kv->key.size() + e.prev_kv->value.size();
  return n;
}

bool Matches(const WatchOptions& o, const Event& e) {
  if (e.type == Event::Type::kPut && o.filter_put) return false;
  if (e.type == Event::Type::kDelete && o.filter_delete) return false;
  return InRange(e.kv.key, o.key, o.range_end);
}

Event ForWatcher(const WatchOptions& o, const Event& e) {
  Event out = e;
  if (!o.prev_kv) out.prev_kv.reset();
  return out;
}

}  // namespace

class HubStream final : public WatchStream {
 public:
  HubStream(std::shared_ptr<WatchHub> hub, std::shared_ptr<WatchHub::StreamState> s)
      : hub_(std::move(hub)), s_(std::move(s)) {}
  ~HubStream() override {
    Cancel();
    hub_->Unregister(s_);
  }

  Result<WatchBatch> Next(std::chrono::milliseconds timeout) override {
    return hub_->Next(s_.get(), timeout);
  }
  void RequestProgress() override { hub_->RequestProgress(s_); }
  void SetReadyCallback(std::function<void()> ready) override {
    std::lock_guard l(s_->cb_mu);
    s_->ready = std::move(ready);
  }
  void Cancel() override {
    {
      std::lock_guard l(s_->cb_mu);
      s_->ready_disabled = true;
    }
    std::lock_guard l(hub_->mu_);
    if (!s_->canceled) {
      s_->canceled = true;
      s_->final_batch.canceled = true;
      s_->final_batch.revision = hub_->current_;
      s_->final_batch.cancel_reason = "watch canceled";
    }
    hub_->cv_.notify_all();
  }

 private:
  std::shared_ptr<WatchHub> hub_;
  std::shared_ptr<WatchHub::StreamState> s_;
};

WatchHub::WatchHub(HistoryReader* reader, size_t window_events, size_t window_bytes,
                   int64_t current_revision, int64_t compact_revision)
    : reader_(reader),
      window_events_(std::max<size_t>(window_events, 1)),
      window_bytes_(window_bytes),
      window_start_(current_revision + 1),
      current_(current_revision),
      compact_(compact_revision) {}

std::unique_ptr<WatchStream> WatchHub::NewStream(const WatchOptions& opts) {
  auto s = std::make_shared<StreamState>();
  s->opts = opts;
  {
    std::lock_guard l(mu_);
    s->next_rev = opts.start_revision > 0 ? opts.start_revision : current_ + 1;
    if (closed_) {
      s->canceled = true;
      s->final_batch.canceled = true;
      s->final_batch.cancel_reason = "store closed";
    } else if (s->next_rev < compact_) {
      s->canceled = true;
      s->final_batch.canceled = true;
      s->final_batch.revision = current_;
      s->final_batch.compact_revision = compact_;
      s->final_batch.cancel_reason = kErrCompacted;
    }
    streams_.insert(s);
  }
  return std::make_unique<HubStream>(shared_from_this(), std::move(s));
}

void WatchHub::Unregister(const std::shared_ptr<StreamState>& s) {
  std::lock_guard l(mu_);
  streams_.erase(s);
}

int64_t WatchHub::current_revision() const {
  std::lock_guard l(mu_);
  return current_;
}

void WatchHub::SetCompactRevision(int64_t revision) {
  std::lock_guard l(mu_);
  compact_ = std::max(compact_, revision);
}

void WatchHub::Close() {
  std::vector<std::shared_ptr<StreamState>> all;
  {
    std::lock_guard l(mu_);
    closed_ = true;
    reader_ = nullptr;
    for (const auto& s : streams_) {
      if (!s->canceled) {
        s->canceled = true;
        s->final_batch.canceled = true;
        s->final_batch.revision = current_;
        s->final_batch.cancel_reason = "store closed";
      }
      all.push_back(s);
    }
    cv_.notify_all();
  }
  Wake(all);
}

void WatchHub::Publish(std::vector<std::shared_ptr<const Event>> events, int64_t revision) {
  std::vector<std::shared_ptr<StreamState>> to_wake;
  {
    std::lock_guard l(mu_);
    for (auto& e : events) {
      bytes_ += EventBytes(*e);
      window_.push_back(std::move(e));
    }
    current_ = revision;
    // Evict whole revisions from the front.
    while (window_.size() > window_events_ || bytes_ > window_bytes_) {
      int64_t r = window_.front()->kv.mod_revision;
      while (!window_.empty() && window_.front()->kv.mod_revision == r) {
        bytes_ -= EventBytes(*window_.front());
        window_.pop_front();
      }
      window_start_ = r + 1;
    }
    if (window_.empty()) window_start_ = current_ + 1;
    for (const auto& s : streams_) {
      if (s->canceled) continue;
      // A watcher that is behind has been woken before; one that is caught up is woken when
      // a new event is for it.
      for (auto it = window_.rbegin(); it != window_.rend(); ++it) {
        if ((*it)->kv.mod_revision < s->next_rev) break;
        if (Matches(s->opts, **it)) {
          to_wake.push_back(s);
          break;
        }
      }
    }
    cv_.notify_all();
  }
  Wake(to_wake);
}

void WatchHub::Wake(const std::vector<std::shared_ptr<StreamState>>& streams) {
  for (const auto& s : streams) {
    std::lock_guard l(s->cb_mu);
    if (!s->ready_disabled && s->ready) s->ready();
  }
}

void WatchHub::RequestProgress(const std::shared_ptr<StreamState>& s) {
  {
    std::lock_guard l(mu_);
    s->progress_requested = true;
    cv_.notify_all();
  }
  Wake({s});
}

Result<WatchBatch> WatchHub::Next(StreamState* s, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock l(mu_);
  while (true) {
    if (s->canceled) return s->final_batch;
    if (s->next_rev > current_) {
      if (s->progress_requested) {
        s->progress_requested = false;
        WatchBatch b;
        b.revision = current_;
        b.progress = true;
        return b;
      }
      if (cv_.wait_until(l, deadline) == std::cv_status::timeout && s->next_rev > current_ &&
          !s->canceled && !s->progress_requested) {
        WatchBatch b;
        b.revision = current_;
        return b;
      }
      continue;
    }
    if (s->next_rev >= window_start_) {
      WatchBatch b;
      b.revision = current_;
      auto it = std::lower_bound(
          window_.begin(), window_.end(), s->next_rev,
          [](const std::shared_ptr<const Event>& e, int64_t r) { return e->kv.mod_revision < r; });
      int64_t last_rev = s->next_rev - 1;
      for (; it != window_.end(); ++it) {
        int64_t r = (*it)->kv.mod_revision;
        if (r != last_rev && b.events.size() >= kMaxBatchEvents) break;
        last_rev = r;
        if (Matches(s->opts, **it)) b.events.push_back(ForWatcher(s->opts, **it));
      }
      s->next_rev = it == window_.end() ? current_ + 1 : last_rev + 1;
      if (!b.events.empty()) return b;
      continue;
    }
    // Behind the in-memory window: read from disk without holding the hub's lock.
    if (reader_ == nullptr) return UnavailableError("store closed");
    HistoryReader* reader = reader_;
    int64_t from = s->next_rev;
    int64_t to = window_start_ - 1;
    WatchOptions opts = s->opts;
    l.unlock();
    auto chunk = reader->ReadHistory(from, to, opts, kMaxBatchEvents);
    l.lock();
    if (!chunk.ok()) return chunk.status();
    if (s->canceled) return s->final_batch;
    if (chunk->compacted) {
      s->canceled = true;
      s->final_batch.canceled = true;
      s->final_batch.revision = current_;
      s->final_batch.compact_revision = chunk->compact_revision;
      s->final_batch.cancel_reason = kErrCompacted;
      return s->final_batch;
    }
    s->next_rev = std::max(s->next_rev, chunk->next_revision);
    if (!chunk->events.empty()) {
      WatchBatch b;
      b.revision = current_;
      b.events = std::move(chunk->events);
      return b;
    }
  }
}

}  // namespace keelson::store::mvcc
