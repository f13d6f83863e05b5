#include "client/reflector.h"

namespace keelson::client {

namespace {

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Unit(uint64_t* state) {
  return static_cast<double>(SplitMix(state) >> 11) / static_cast<double>(1ULL << 53);
}

}  // namespace

Reflector::Reflector(ResourceClient client, ReflectorStore* store, ReflectorOptions options)
    : options_(std::move(options)), store_(store),
      client_(client.WithStop(stop_.get_token())),
      backoff_(options_.initial_backoff),
      rng_(reinterpret_cast<uintptr_t>(this)) {}

Reflector::~Reflector() { Stop(); }

void Reflector::Stop() {
  stop_.request_stop();
  std::lock_guard l(mu_);
  if (watcher_) watcher_->Stop();
}

std::string Reflector::LastSyncResourceVersion() const {
  std::lock_guard l(mu_);
  return resource_version_;
}

void Reflector::SetResourceVersion(std::string rv) {
  std::lock_guard l(mu_);
  resource_version_ = std::move(rv);
}

void Reflector::Log(const std::string& msg) const {
  if (options_.log) {
    options_.log(client_.resource().resource + (client_.ns().empty() ? "" : " in " + client_.ns()) +
                 ": " + msg);
  }
}

std::chrono::nanoseconds Reflector::Jittered(std::chrono::nanoseconds d) {
  return d + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(d.count()) * Unit(&rng_)));
}

bool Reflector::Backoff() {
  const Clock& clock = *client_.client()->clock();
  bool ok = SleepUntil(clock, clock.Monotonic() + Jittered(backoff_), stop_.get_token());
  backoff_ = std::min<std::chrono::nanoseconds>(backoff_ * 2, options_.max_backoff);
  return ok;
}

void Reflector::Run() {
  while (!stop_.stop_requested()) {
    Next next = ListAndWatch();
    if (next == Next::kStop || stop_.stop_requested()) return;
    if (next == Next::kBackoffRelist && !Backoff()) return;
  }
}

bool Reflector::List() {
  ListOptions o;
  o.label_selector = options_.selectors.label_selector;
  o.field_selector = options_.selectors.field_selector;
  o.limit = options_.page_size;
  std::vector<ObjectPtr> items;
  std::string rv;
  while (true) {
    auto page = client_.List(o);
    if (!page.ok()) {
      if (api::IsGone(page.error()) && !o.continue_token.empty()) {
        // The continue token expired: list everything at once.
        items.clear();
        o.continue_token.clear();
        o.limit = 0;
        continue;
      }
      if (!IsCancelled(page.error())) Log("list failed: " + page.error().message);
      return false;
    }
    if (auto* arr = page->if_contains("items"); arr && arr->is_array()) {
      for (auto& item : arr->as_array()) {
        if (!item.is_object()) continue;
        items.push_back(std::make_shared<const api::Object>(std::move(item.as_object())));
      }
    }
    std::string cont;
    if (const api::Object* meta = api::GetMetadata(*page)) {
      if (const auto* v = meta->if_contains("resourceVersion"); v && v->is_string()) {
        rv = std::string(v->as_string());
      }
      if (const auto* v = meta->if_contains("continue"); v && v->is_string()) {
        cont = std::string(v->as_string());
      }
    }
    if (cont.empty()) break;
    o.continue_token = std::move(cont);
  }
  store_->Replace(std::move(items), rv);
  SetResourceVersion(rv);
  return true;
}

Reflector::Next Reflector::ListAndWatch() {
  if (!List()) return stop_.stop_requested() ? Next::kStop : Next::kBackoffRelist;
  backoff_ = options_.initial_backoff;
  const Clock& clock = *client_.client()->clock();

  while (!stop_.stop_requested()) {
    ListOptions o;
    o.label_selector = options_.selectors.label_selector;
    o.field_selector = options_.selectors.field_selector;
    o.resource_version = LastSyncResourceVersion();
    o.allow_watch_bookmarks = true;
    o.timeout_seconds = static_cast<int64_t>(
        static_cast<double>(options_.min_watch_timeout.count()) * (1.0 + Unit(&rng_)));
    auto w = client_.Watch(o);
    if (!w.ok()) {
      const api::ApiError& e = w.error();
      if (IsCancelled(e)) return Next::kStop;
      if (api::IsGone(e)) return Next::kRelist;
      Log("watch failed: " + e.message);
      // The server was unreachable or busy: watch again later from the same point.
      if (IsConnectionFailure(e) || api::IsTooManyRequests(e)) {
        if (!Backoff()) return Next::kStop;
        continue;
      }
      return Next::kBackoffRelist;
    }
    Watcher* watcher = w->get();
    {
      std::lock_guard l(mu_);
      watcher_ = std::move(*w);
      if (stop_.stop_requested()) watcher_->Stop();
    }
    auto started = clock.Monotonic();
    int events = 0;
    Next after_error = Next::kRelist;
    bool relist = false;
    while (true) {
      auto ev = watcher->Next();
      if (!ev.ok()) {
        if (api::IsGone(ev.error())) {
          relist = true;
          after_error = Next::kRelist;
        } else if (!IsConnectionFailure(ev.error())) {
          // An ERROR event other than 410, or an event that did not decode.
          Log("watch ended: " + ev.error().message);
          relist = true;
          after_error = Next::kBackoffRelist;
        }
        break;
      }
      if (!ev->has_value()) break;
      WatchEvent& e = **ev;
      std::string rv(api::GetResourceVersion(*e.object));
      if (e.type != WatchEventType::kBookmark) {
        store_->Apply(e.type, std::move(e.object));
        ++events;
      }
      if (!rv.empty()) SetResourceVersion(std::move(rv));
    }
    {
      std::lock_guard l(mu_);
      watcher_.reset();
    }
    if (stop_.stop_requested()) return Next::kStop;
    if (relist) return after_error;
    if (events == 0 && clock.Monotonic() - started < std::chrono::seconds(1)) {
      // A watch that ends at once: do not hammer the server.
      if (!Backoff()) return Next::kStop;
    }
  }
  return Next::kStop;
}

}  // namespace keelson::client
