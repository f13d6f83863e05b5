#include "client/event_recorder.h"

#include <unistd.h>

#include <boost/json.hpp>

#include <cstdio>

#include "client/time_format.h"

namespace keelson::client {

namespace {

namespace json = boost::json;

constexpr auto kFinishTime = std::chrono::minutes(6);
constexpr auto kRefreshTime = std::chrono::minutes(30);
constexpr size_t kMaxQueued = 1000;
constexpr size_t kMaxNote = 1024;

json::object RefJson(const ObjectReference& r) {
  json::object o;
  if (!r.kind.empty()) o["kind"] = r.kind;
  if (!r.namespace_name.empty()) o["namespace"] = r.namespace_name;
  if (!r.name.empty()) o["name"] = r.name;
  if (!r.uid.empty()) o["uid"] = r.uid;
  if (!r.api_version.empty()) o["apiVersion"] = r.api_version;
  if (!r.resource_version.empty()) o["resourceVersion"] = r.resource_version;
  if (!r.field_path.empty()) o["fieldPath"] = r.field_path;
  return o;
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

ObjectReference ReferenceTo(const api::Object& obj) {
  ObjectReference r;
  r.api_version = std::string(api::GetApiVersion(obj));
  r.kind = std::string(api::GetKind(obj));
  r.namespace_name = std::string(api::GetNamespace(obj));
  r.name = std::string(api::GetName(obj));
  r.uid = std::string(api::GetUid(obj));
  r.resource_version = std::string(api::GetResourceVersion(obj));
  return r;
}

EventRecorder::EventRecorder(RestClient* client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)),
      clock_(options_.clock ? options_.clock : RealClock()),
      instance_(options_.reporting_instance.empty()
                    ? options_.reporting_controller + "-" + Hostname()
                    : options_.reporting_instance) {
  auto now = clock_->Monotonic();
  next_finish_ = now + kFinishTime;
  next_refresh_ = now + kRefreshTime;
  thread_ = std::thread([this] { Loop(); });
}

EventRecorder::~EventRecorder() { Shutdown(); }

void EventRecorder::Shutdown() {
  {
    std::lock_guard l(mu_);
    if (stopping_) return;
    stopping_ = true;
    queue_.clear();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::Log(const std::string& msg) const {
  if (options_.log) options_.log(msg);
}

void EventRecorder::Event(const ObjectReference& regarding, const ObjectReference* related,
                          std::string_view type, std::string_view reason, std::string_view action,
                          std::string_view note) {
  if (type != kEventTypeNormal && type != kEventTypeWarning) {
    Log("unsupported event type '" + std::string(type) + "'");
    return;
  }
  auto now = clock_->Now();
  std::lock_guard l(mu_);
  if (stopping_) return;
  if (queue_.size() >= kMaxQueued) return;  // dropped, as upstream's full broadcaster does
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  nanos = std::max(nanos, last_name_nanos_ + 1);
  last_name_nanos_ = nanos;
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(nanos));

  json::object e{{"apiVersion", "events.k8s.io/v1"}, {"kind", "Event"}};
  api::SetName(&e, regarding.name + "." + hex);
  api::SetNamespace(&e, regarding.namespace_name.empty() ? "default" : regarding.namespace_name);
  e["eventTime"] = FormatMicroTime(now);
  e["reportingController"] = options_.reporting_controller;
  e["reportingInstance"] = instance_;
  e["action"] = action;
  e["reason"] = reason;
  e["regarding"] = RefJson(regarding);
  if (related != nullptr) e["related"] = RefJson(*related);
  e["note"] = note.substr(0, kMaxNote);
  e["type"] = type;

  Pending p{Key(std::string(type), std::string(action), std::string(reason), regarding,
                related ? *related : ObjectReference{}),
            std::move(e), now};
  queue_.push_back(std::move(p));
  cv_.notify_all();
}

void EventRecorder::Flush() {
  std::unique_lock l(mu_);
  cv_.wait(l, [&] {
    if (stopping_) return true;
    auto now = clock_->Monotonic();
    return queue_.empty() && !busy_ && now < next_finish_ && now < next_refresh_;
  });
}

void EventRecorder::Loop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    auto now = clock_->Monotonic();
    if (!queue_.empty()) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      l.unlock();
      Record(std::move(p));
      l.lock();
      busy_ = false;
      cv_.notify_all();
      continue;
    }
    if (now >= next_finish_ || now >= next_refresh_) {
      busy_ = true;
      l.unlock();
      Periodic();
      l.lock();
      busy_ = false;
      cv_.notify_all();
      continue;
    }
    clock_->WaitUntil(cv_, l, std::min(next_finish_, next_refresh_));
  }
}

void EventRecorder::Record(Pending p) {
  auto it = cache_.find(p.key);
  if (it != cache_.end()) {
    Cached& c = it->second;
    c.last_observed = p.time;
    if (c.series_count) {
      ++*c.series_count;  // written by the next refresh or when the series ends
      return;
    }
    c.series_count = 2;
    WriteSeries(c);
    return;
  }
  Cached c{p.event, p.time, std::nullopt, p.time};
  cache_.emplace(std::move(p.key), std::move(c));
  CreateEvent(p.event);
}

void EventRecorder::Periodic() {
  auto mono = clock_->Monotonic();
  auto now = clock_->Now();
  bool finish, refresh;
  {
    std::lock_guard l(mu_);
    finish = mono >= next_finish_;
    refresh = mono >= next_refresh_;
    if (finish) next_finish_ = mono + kFinishTime;
    if (refresh) next_refresh_ = mono + kRefreshTime;
  }
  if (refresh) {
    for (const auto& [key, c] : cache_) {
      if (c.series_count) WriteSeries(c);
    }
  }
  if (finish) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      const Cached& c = it->second;
      if (c.series_count) {
        if (c.last_observed < now - kFinishTime) {
          WriteSeries(c);
          it = cache_.erase(it);
          continue;
        }
      } else if (c.event_time < now - kFinishTime) {
        it = cache_.erase(it);
        continue;
      }
      ++it;
    }
  }
}

void EventRecorder::CreateEvent(const api::Object& event) {
  auto events = client_->Resource("events.k8s.io", "events");
  if (!events.ok()) return;
  auto r = events->Namespace(api::GetNamespace(event)).Create(event);
  if (!r.ok()) {
    Log("unable to write event " + std::string(api::GetName(event)) + ": " + r.error().message);
  }
}

void EventRecorder::WriteSeries(const Cached& c) {
  auto events = client_->Resource("events.k8s.io", "events");
  if (!events.ok()) return;
  auto rc = events->Namespace(api::GetNamespace(c.event));
  json::object series{{"count", *c.series_count},
                      {"lastObservedTime", FormatMicroTime(c.last_observed)}};
  std::string patch = json::serialize(json::object{{"series", series}});
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = rc.Patch(api::GetName(c.event), PatchType::kStrategicMerge, patch);
    if (r.ok()) return;
    if (!api::IsNotFound(r.error())) {
      Log("unable to update event series " + std::string(api::GetName(c.event)) + ": " +
          r.error().message);
      return;
    }
    // The event is gone (expired or deleted): write it again, with its series.
    api::Object e = c.event;
    e["series"] = series;
    auto created = rc.Create(e);
    if (created.ok()) return;
    if (!api::IsAlreadyExists(created.error())) {
      Log("unable to write event " + std::string(api::GetName(c.event)) + ": " +
          created.error().message);
      return;
    }
    // Created meanwhile: patch it.
  }
}

}  // namespace keelson::client
