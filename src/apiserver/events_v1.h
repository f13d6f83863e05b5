// events.k8s.io/v1 Events are the core/v1 Events under other field names, stored once (as
// upstream, under /registry/events/). Requests for events.k8s.io/v1 are served by the core
// Event paths: bodies are converted to core/v1 on the way in and answers back on the way out.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "apiserver/negotiation.h"

namespace keelson::apiserver {

// core/v1 Event -> events.k8s.io/v1 Event, and back. Fields without a counterpart stay as they
// are; apiVersion is set.
boost::json::object CoreEventToV1(const boost::json::object& core);
boost::json::object V1EventToCore(const boost::json::object& v1);

// Converts the core/v1 Events (and EventLists, and watch events carrying them) a handler
// answers with into events.k8s.io/v1. Tables and Status objects pass unchanged.
class EventsV1Exchange final : public RewritingExchange {
 public:
  using RewritingExchange::RewritingExchange;

 private:
  void RewriteObject(const boost::json::object& obj, HttpResponse* response) override;
  std::string RewriteEvent(boost::json::object event) override;
};

}  // namespace keelson::apiserver
