// Exchanges that wrap another one and change what passes through (see apiserver/http.h):
// - ForwardingExchange passes everything on; wrappers override what they change;
// - RewritingExchange re-encodes the JSON a handler answers with: a whole 2xx JSON object, a
//   streamed JSON list (gathered and answered whole), and a JSON watch stream line by line;
// - ProtobufExchange: for a client that prefers the Kubernetes protobuf encoding
//   (Accept: application/vnd.kubernetes.protobuf, ...), objects, lists and watch events in
//   it (watch events as length-prefixed metav1.WatchEvent messages). Errors (metav1.Status)
//   and anything without a protobuf form stay JSON, which such clients also accept;
// - MetadataExchange: PartialObjectMetadata(List) for a client that asks for it;
// - WarningExchange: `Warning` headers on the answer.
#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "apiserver/http.h"
#include "apiserver/warnings.h"

namespace keelson::apiserver {

class ForwardingExchange : public Exchange {
 public:
  explicit ForwardingExchange(std::shared_ptr<Exchange> inner) : inner_(std::move(inner)) {}

  void Respond(HttpResponse response) override { inner_->Respond(std::move(response)); }
  void StartStream(int status, std::string content_type) override {
    inner_->StartStream(status, std::move(content_type));
  }
  bool Write(std::string data) override { return inner_->Write(std::move(data)); }
  void EndStream() override { inner_->EndStream(); }
  size_t Backlog() const override { return inner_->Backlog(); }
  void OnClose(std::function<void()> fn) override { inner_->OnClose(std::move(fn)); }

 protected:
  std::shared_ptr<Exchange> inner_;
};

class RewritingExchange : public ForwardingExchange {
 public:
  // `watch`: the answer is a watch stream (one JSON event per line), else an object or list.
  RewritingExchange(std::shared_ptr<Exchange> inner, bool watch)
      : ForwardingExchange(std::move(inner)), watch_(watch) {}

  void Respond(HttpResponse response) final;
  void StartStream(int status, std::string content_type) final;
  bool Write(std::string data) final;
  void EndStream() final;

 protected:
  // Rewrites a 2xx JSON answer whose body parsed as `obj` (body and content type), or leaves it.
  virtual void RewriteObject(const boost::json::object& obj, HttpResponse* response) = 0;
  // The bytes to send for one watch event ({"type": ..., "object": ...}).
  virtual std::string RewriteEvent(boost::json::object event) = 0;
  // The content type of a rewritten watch stream.
  virtual std::string WatchContentType(std::string json_type) { return json_type; }

 private:
  const bool watch_;
  std::mutex mu_;
  int status_ = 200;      // guarded by mu_
  bool convert_ = false;  // guarded by mu_: the stream is JSON that gets rewritten
  std::string gathered_;  // guarded by mu_: a list stream, or a partial watch line
};

class ProtobufExchange final : public RewritingExchange {
 public:
  using RewritingExchange::RewritingExchange;

 private:
  void RewriteObject(const boost::json::object& obj, HttpResponse* response) override;
  std::string RewriteEvent(boost::json::object event) override;
  std::string WatchContentType(std::string json_type) override;
};

class MetadataExchange final : public RewritingExchange {
 public:
  // `version` is the meta.k8s.io version asked for ("v1" or "v1beta1").
  MetadataExchange(std::shared_ptr<Exchange> inner, bool watch, std::string version)
      : RewritingExchange(std::move(inner), watch), version_(std::move(version)) {}

  // The meta.k8s.io version an Accept header asks PartialObjectMetadata in; "" when it does
  // not (or prefers something else first, such as a Table).
  static std::string Wanted(std::string_view accept);

 private:
  void RewriteObject(const boost::json::object& obj, HttpResponse* response) override;
  std::string RewriteEvent(boost::json::object event) override;

  const std::string version_;
};

// Adds the request's warnings as `Warning: 299 - "<text>"` headers (upstream's warning
// format) to the answer.
class WarningExchange final : public ForwardingExchange {
 public:
  WarningExchange(std::shared_ptr<Exchange> inner, std::shared_ptr<Warnings> warnings)
      : ForwardingExchange(std::move(inner)), warnings_(std::move(warnings)) {}

  void Respond(HttpResponse response) override;

 private:
  std::shared_ptr<Warnings> warnings_;
};

}  // namespace keelson::apiserver
