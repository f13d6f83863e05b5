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

bool IsJson(std::string_view ct) { return ct.substr(0, ct.find(';')) == "application/json"; }

}  // namespace

json::object CoreEventToV1(const json::object& core) {
  return Rename(core, true, "events.k8s.io/v1");
}

json::object V1EventToCore(const json::object& v1) { return Rename(v1, false, "v1"); }

void EventsV1Exchange::Respond(HttpResponse response) {
  if (response.status / 100 == 2 && IsJson(response.content_type)) {
    boost::system::error_code ec;
    json::value v = json::parse(response.body, ec);
    if (!ec && Convert(&v)) response.body = json::serialize(v);
  }
  inner_->Respond(std::move(response));
}

void EventsV1Exchange::StartStream(int status, std::string content_type) {
  {
    std::lock_guard l(mu_);
    status_ = status;
    bool json = status / 100 == 2 && IsJson(content_type);
    // A watch stream is converted line by line; a streamed list is answered whole.
    lines_ = json && watch_;
    gather_ = json && !watch_;
  }
  if (!gather_) inner_->StartStream(status, std::move(content_type));
}

bool EventsV1Exchange::Write(std::string data) {
  std::lock_guard l(mu_);
  if (gather_) {
    gathered_ += data;
    return true;
  }
  if (!lines_) return inner_->Write(std::move(data));
  gathered_ += data;
  std::string out;
  size_t start = 0;
  for (size_t nl; (nl = gathered_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(gathered_.data() + start, nl - start);
    boost::system::error_code ec;
    json::value ev = json::parse(line, ec);
    if (!ec && ev.is_object()) {
      if (auto* obj = ev.as_object().if_contains("object")) Convert(obj);
      out += json::serialize(ev) + "\n";
    }
  }
  gathered_.erase(0, start);
  if (out.empty()) return true;
  return inner_->Write(std::move(out));
}

void EventsV1Exchange::EndStream() {
  std::unique_lock l(mu_);
  if (!gather_) {
    l.unlock();
    return inner_->EndStream();
  }
  HttpResponse r;
  r.status = status_;
  r.body = std::move(gathered_);
  l.unlock();
  Respond(std::move(r));
}

}  // namespace keelson::apiserver
