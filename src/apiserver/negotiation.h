// Response encoding: a client that prefers the Kubernetes protobuf encoding
// (Accept: application/vnd.kubernetes.protobuf, ...) gets its objects, lists and watch events
// in it. The handlers answer in JSON; this exchange re-encodes what passes through:
// - a whole 2xx JSON object with apiVersion and kind becomes its protobuf encoding;
// - a streamed JSON list is gathered and sent as one protobuf list at the end;
// - a JSON watch stream (one event per line) becomes length-prefixed protobuf WatchEvents.
// Errors (metav1.Status) and anything without a protobuf form stay JSON, which every client
// that asks for protobuf also accepts.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "apiserver/http.h"

namespace keelson::apiserver {

class ProtobufExchange final : public Exchange {
 public:
  ProtobufExchange(std::shared_ptr<Exchange> inner, bool watch)
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
  int status_ = 200;        // guarded by mu_
  bool convert_ = false;    // guarded by mu_: the stream is JSON that gets re-encoded
  std::string gathered_;    // guarded by mu_: a list stream, or a partial watch line
};

// PartialObjectMetadata: a client that asks for it (Accept: application/json;
// as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1, as metadata informers and the garbage
// collector do) gets only each object's metadata: objects become PartialObjectMetadata, lists
// PartialObjectMetadataList, watch events carry PartialObjectMetadata.
class MetadataExchange final : public Exchange {
 public:
  // `version` is the meta.k8s.io version asked for ("v1" or "v1beta1").
  MetadataExchange(std::shared_ptr<Exchange> inner, bool watch, std::string version)
      : inner_(std::move(inner)), watch_(watch), version_(std::move(version)) {}

  // The meta.k8s.io version an Accept header asks PartialObjectMetadata in; "" when it does
  // not (or prefers something else first, such as a Table).
  static std::string Wanted(std::string_view accept);

  void Respond(HttpResponse response) override;
  void StartStream(int status, std::string content_type) override;
  bool Write(std::string data) override;
  void EndStream() override;
  size_t Backlog() const override { return inner_->Backlog(); }
  void OnClose(std::function<void()> fn) override { inner_->OnClose(std::move(fn)); }

 private:
  std::shared_ptr<Exchange> inner_;
  const bool watch_;
  const std::string version_;
  std::mutex mu_;
  int status_ = 200;      // guarded by mu_
  bool convert_ = false;  // guarded by mu_
  std::string gathered_;  // guarded by mu_
};

// Adds `Warning: 299 - "<text>"` headers (upstream's warning format) to the answer.
class WarningExchange final : public Exchange {
 public:
  WarningExchange(std::shared_ptr<Exchange> inner, std::vector<std::string> warnings)
      : inner_(std::move(inner)), warnings_(std::move(warnings)) {}

  void Respond(HttpResponse response) override;
  void StartStream(int status, std::string content_type) override {
    inner_->StartStream(status, std::move(content_type));
  }
  bool Write(std::string data) override { return inner_->Write(std::move(data)); }
  void EndStream() override { inner_->EndStream(); }
  size_t Backlog() const override { return inner_->Backlog(); }
  void OnClose(std::function<void()> fn) override { inner_->OnClose(std::move(fn)); }

 private:
  std::shared_ptr<Exchange> inner_;
  std::vector<std::string> warnings_;
};

}  // namespace keelson::apiserver
