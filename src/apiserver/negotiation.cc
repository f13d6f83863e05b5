#include "apiserver/negotiation.h"

#include <boost/json.hpp>

#include "api/json_limits.h"
#include "api/protobuf.h"

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

bool IsJson(std::string_view content_type) {
  return content_type.substr(0, content_type.find(';')) == "application/json";
}

// An object's metadata as a PartialObjectMetadata; lists become PartialObjectMetadataList.
json::object Partial(const json::object& obj, const std::string& version) {
  std::string api_version = "meta.k8s.io/" + version;
  const auto* items = obj.if_contains("items");
  const auto* kind = obj.if_contains("kind");
  bool list = items && items->is_array() && kind && kind->is_string() &&
              kind->as_string().ends_with("List");
  json::object out{{"kind", list ? "PartialObjectMetadataList" : "PartialObjectMetadata"},
                   {"apiVersion", api_version}};
  const auto* meta = obj.if_contains("metadata");
  out["metadata"] = meta && meta->is_object() ? *meta : json::value(json::object());
  if (list) {
    json::array parts;
    for (const auto& i : items->as_array()) {
      if (i.is_object()) parts.push_back(Partial(i.as_object(), version));
    }
    out["items"] = std::move(parts);
  }
  return out;
}

}  // namespace

void RewritingExchange::Respond(HttpResponse response) {
  if (response.status / 100 == 2 && IsJson(response.content_type)) {
    boost::system::error_code ec;
    json::value v = json::parse(response.body, ec, {}, api::JsonParseOptions());
    if (!ec && v.is_object()) RewriteObject(v.as_object(), &response);
  }
  inner_->Respond(std::move(response));
}

void RewritingExchange::StartStream(int status, std::string content_type) {
  std::lock_guard l(mu_);
  status_ = status;
  convert_ = status / 100 == 2 && IsJson(content_type);
  if (!convert_) return inner_->StartStream(status, std::move(content_type));
  // A watch stream is rewritten as it goes; a list is answered whole when complete.
  if (watch_) inner_->StartStream(status, WatchContentType(std::move(content_type)));
}

bool RewritingExchange::Write(std::string data) {
  std::lock_guard l(mu_);
  if (!convert_) return inner_->Write(std::move(data));
  gathered_ += data;
  if (!watch_) return true;
  std::string out;
  size_t start = 0;
  for (size_t nl; (nl = gathered_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(gathered_.data() + start, nl - start);
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value ev = json::parse(line, ec, {}, api::JsonParseOptions());
    if (!ec && ev.is_object()) out += RewriteEvent(std::move(ev.as_object()));
  }
  gathered_.erase(0, start);
  if (out.empty()) return true;
  return inner_->Write(std::move(out));
}

void RewritingExchange::EndStream() {
  std::unique_lock l(mu_);
  if (!convert_ || watch_) {
    l.unlock();
    return inner_->EndStream();
  }
  HttpResponse r;
  r.status = status_;
  r.body = std::move(gathered_);
  l.unlock();
  Respond(std::move(r));
}

void ProtobufExchange::RewriteObject(const json::object& obj, HttpResponse* response) {
  auto pb = api::EncodeKubernetesProtobuf(obj);
  if (!pb.ok()) return;  // no protobuf form: stays JSON
  response->body = std::move(*pb);
  response->content_type = std::string(api::kProtobufContentType);
}

std::string ProtobufExchange::RewriteEvent(json::object event) {
  const auto* type = event.if_contains("type");
  const auto* obj = event.if_contains("object");
  if (!type || !type->is_string() || !obj || !obj->is_object()) return "";
  auto frame = api::EncodeWatchEventProtobuf(type->as_string(), obj->as_object());
  return frame.ok() ? std::move(*frame) : "";
}

std::string ProtobufExchange::WatchContentType(std::string) {
  return std::string(api::kProtobufWatchContentType);
}

std::string MetadataExchange::Wanted(std::string_view accept) {
  // The first media type decides.
  std::string_view first = accept.substr(0, accept.find(','));
  if (first.find("as=PartialObjectMetadata") == std::string_view::npos) return "";
  if (first.find("g=meta.k8s.io") == std::string_view::npos) return "";
  if (first.find("v=v1beta1") != std::string_view::npos) return "v1beta1";
  if (first.find("v=v1") != std::string_view::npos) return "v1";
  return "";
}

void MetadataExchange::RewriteObject(const json::object& obj, HttpResponse* response) {
  if (obj.contains("metadata")) response->body = json::serialize(Partial(obj, version_));
}

std::string MetadataExchange::RewriteEvent(json::object event) {
  auto* obj = event.if_contains("object");
  const auto* type = event.if_contains("type");
  bool error = type && type->is_string() && type->as_string() == "ERROR";
  if (obj && obj->is_object() && !error) *obj = Partial(obj->as_object(), version_);
  return json::serialize(event) + "\n";
}

void WarningExchange::Respond(HttpResponse response) {
  for (const auto& w : warnings_->Take()) {
    std::string quoted;
    for (char c : w) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    response.headers.emplace_back("Warning", "299 - \"" + quoted + "\"");
  }
  inner_->Respond(std::move(response));
}

}  // namespace keelson::apiserver
