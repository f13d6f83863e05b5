// events.k8s.io/v1 Events are the core/v1 Events under other field names, stored once (as
// upstream, under /registry/events/). Requests for events.k8s.io/v1 are served by the core
// Event paths: bodies are converted to core/v1 on the way in and answers back on the way out.
#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "apiserver/http.h"

namespace keelson::apiserver {

// core/v1 Event -> events.k8s.io/v1 Event, and back. Fields without a counterpart stay as they
// are; apiVersion is set.
boost::json::object CoreEventToV1(const boost::json::object& core);
boost::json::object V1EventToCore(const boost::json::object& v1);

// Converts the core/v1 Events (and EventLists, and watch events carrying them) a handler
// answers with into events.k8s.io/v1. Tables and Status objects pass unchanged.
class EventsV1Exchange final : public Exchange {
 public:
  EventsV1Exchange(std::shared_ptr<Exchange> inner, bool watch)
      : inner_(std::move(inner)), watch_(watch) {}

  void Respond(HttpResponse response) override;
  void StartStream(int status, std::string content_type) override;
  bool Write(std::string data) override;
  void EndStream() override;
  size_t Backlog() const override { return inner_->Backlog(); }
  void OnClose(std::function<void()> fn) override { inner_->OnClose(std::move(fn)); }

 private:
  std::shared_ptr<Exchange> inner_;
  const bool watch_;
  std::mutex mu_;
  bool lines_ = false;    // guarded by mu_: a watch stream (one event per line)
  bool gather_ = false;   // guarded by mu_: a streamed list, converted whole at the end
  int status_ = 200;      // guarded by mu_
  std::string gathered_;  // guarded by mu_
};

}  // namespace keelson::apiserver
