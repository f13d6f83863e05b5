#include "apiserver/events_v1.h"

#include <boost/json.hpp>

#include <utility>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

// (core/v1 name, events.k8s.io/v1 name)
constexpr std::pair<std::string_view, std::string_view> kRenamed[] = {
    {"involvedObject", "regarding"},
    {"message", "note"},
    {"reportingComponent", "reportingController"},
    {"source", "deprecatedSource"},
    {"firstTimestamp", "deprecatedFirstTimestamp"},
    {"lastTimestamp", "deprecatedLastTimestamp"},
    {"count", "deprecatedCount"},
};

json::object Rename(const json::object& in, bool to_v1, std::string_view api_version) {
  json::object out;
  for (const auto& [k, v] : in) {
    std::string_view name = k;
    for (auto [core, v1] : kRenamed) {
      if (to_v1 && name == core) name = v1;
      else if (!to_v1 && name == v1) name = core;
    }
    out[name] = v;
  }
  out["apiVersion"] = api_version;
  out["kind"] = "Event";
  return out;
}

bool IsCoreEvent(const json::object& o) {
  const auto* k = o.if_contains("kind");
  const auto* av = o.if_contains("apiVersion");
  return k && *k == "Event" && av && *av == "v1";
}

// Converts `v` in place if it is a core Event or EventList; true when it changed.
bool Convert(json::value* v) {
  if (!v->is_object()) return false;
  auto& o = v->as_object();
  if (IsCoreEvent(o)) {
    o = CoreEventToV1(o);
    return true;
  }
  const auto* k = o.if_contains("kind");
  if (k && *k == "EventList") {
    o["apiVersion"] = "events.k8s.io/v1";
    if (auto* items = o.if_contains("items"); items && items->is_array()) {
      for (auto& i : items->as_array()) {
        if (i.is_object()) {
          json::object core = i.as_object();
          core["apiVersion"] = "v1";
          core["kind"] = "Event";
          json::object conv = CoreEventToV1(core);
          conv.erase("apiVersion");  // list items carry no type
          conv.erase("kind");
          i = std::move(conv);
        }
      }
    }
    return true;
  }
  return false;
}

}  // namespace

json::object CoreEventToV1(const json::object& core) {
  return Rename(core, true, "events.k8s.io/v1");
}

json::object V1EventToCore(const json::object& v1) { return Rename(v1, false, "v1"); }

void EventsV1Exchange::RewriteObject(const json::object& obj, HttpResponse* response) {
  json::value v = obj;
  if (Convert(&v)) response->body = json::serialize(v);
}

std::string EventsV1Exchange::RewriteEvent(json::object event) {
  if (auto* obj = event.if_contains("object")) Convert(obj);
  return json::serialize(event) + "\n";
}

}  // namespace keelson::apiserver
