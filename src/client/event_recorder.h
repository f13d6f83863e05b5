// EventRecorder: writes events.k8s.io/v1 Events about objects, as upstream's
// client-go/tools/events recorder and broadcaster do, so that `kubectl describe` and
// `kubectl get events` show them as they show upstream components' events.
//
// An event is named "<regarding name>.<hex of the event time in ns>" in the regarding
// object's namespace ("default" for cluster-scoped objects), with eventTime (MicroTime),
// reportingController, reportingInstance, action, reason, note (cut to 1 kB), type (Normal
// or Warning; other types are dropped), regarding and related.
//
// Repeats are aggregated as upstream: events with the same type, action, reason, reporting
// controller and instance, regarding and related object are one event.
//   - the first is created;
//   - the second within 6 minutes turns it into a series: a patch sets series.count = 2 and
//     series.lastObservedTime (a series whose event is gone is created again);
//   - later ones only count (series.count, lastObservedTime) in memory; the count is
//     written every 30 minutes while the series goes on, and once more when no repeat came
//     for 6 minutes, which ends it (the next repeat starts a new event);
//   - a single event is forgotten 6 minutes after its time.
//
// Events are written by the recorder's thread; Event() never blocks on the API (at most
// 1000 events wait; more are dropped, as upstream drops them). Time is the clock's: a
// FakeClock drives the 6 and 30 minute rules in tests.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

#include "api/object.h"
#include "client/rest_client.h"
#include "common/clock.h"

namespace keelson::client {

// core/v1 ObjectReference.
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string field_path;

  auto operator<=>(const ObjectReference&) const = default;
};

// The reference to `obj` (apiVersion, kind, namespace, name, uid, resourceVersion).
ObjectReference ReferenceTo(const api::Object& obj);

struct EventRecorderOptions {
  // reportingController, e.g. "default-scheduler", "kubelet".
  std::string reporting_controller;
  // reportingInstance; "<controller>-<hostname>" when empty.
  std::string reporting_instance;
  // The system's clock when null.
  std::shared_ptr<const Clock> clock;
  // Told about events that could not be written (none when empty).
  std::function<void(const std::string&)> log;
};

inline constexpr std::string_view kEventTypeNormal = "Normal";
inline constexpr std::string_view kEventTypeWarning = "Warning";

class EventRecorder {
 public:
  // Writes through `client` (which must outlive the recorder).
  EventRecorder(RestClient* client, EventRecorderOptions options);
  ~EventRecorder();  // Shutdown()
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Records an event about `regarding` (and optionally `related`): `type` Normal or
  // Warning, `reason` (UpperCamelCase, e.g. "Scheduled"), `action` (e.g. "Binding"), `note`
  // (the human-readable text).
  void Event(const ObjectReference& regarding, const ObjectReference* related,
             std::string_view type, std::string_view reason, std::string_view action,
             std::string_view note);
  void Event(const api::Object& regarding, std::string_view type, std::string_view reason,
             std::string_view action, std::string_view note) {
    Event(ReferenceTo(regarding), nullptr, type, reason, action, note);
  }

  // Waits until every event recorded before the call, and every series write that is due on
  // the clock, has been written (or given up).
  void Flush();
  // Stops the thread; events not written yet are dropped.
  void Shutdown();

 private:
  using Key = std::tuple<std::string, std::string, std::string, ObjectReference, ObjectReference>;
  struct Cached {
    api::Object event;  // as created (without series)
    Clock::WallTime event_time;
    std::optional<int64_t> series_count;
    Clock::WallTime last_observed;
  };
  struct Pending {
    Key key;
    api::Object event;
    Clock::WallTime time;
  };

  void Loop();
  void Record(Pending p);
  void Periodic();  // the 6 and 30 minute rules, when due
  // Writes a new event (a refusal is logged and dropped).
  void CreateEvent(const api::Object& event);
  void WriteSeries(const Cached& c);
  void Log(const std::string& msg) const;

  RestClient* const client_;
  const EventRecorderOptions options_;
  const std::shared_ptr<const Clock> clock_;
  std::string instance_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;        // guarded by mu_
  bool busy_ = false;                // guarded by mu_: the thread is writing
  bool stopping_ = false;            // guarded by mu_
  int64_t last_name_nanos_ = 0;      // guarded by mu_: keeps event names unique
  Clock::MonoTime next_finish_;      // guarded by mu_: the next 6-minute pass
  Clock::MonoTime next_refresh_;     // guarded by mu_: the next 30-minute pass
  std::map<Key, Cached> cache_;      // the thread only
  std::thread thread_;
};

}  // namespace keelson::client
