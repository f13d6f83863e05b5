#include "apiserver/negotiation.h"

#include <boost/json.hpp>

#include "api/protobuf.h"

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

bool IsJson(std::string_view content_type) {
  return content_type.substr(0, content_type.find(';')) == "application/json";
}

}  // namespace

void ProtobufExchange::Respond(HttpResponse response) {
  if (response.status / 100 == 2 && IsJson(response.content_type)) {
    boost::system::error_code ec;
    json::value v = json::parse(response.body, ec);
    if (!ec && v.is_object()) {
      auto pb = api::EncodeKubernetesProtobuf(v.as_object());
      if (pb.ok()) {
        response.body = std::move(*pb);
        response.content_type = std::string(api::kProtobufContentType);
      }
    }
  }
  inner_->Respond(std::move(response));
}

void ProtobufExchange::StartStream(int status, std::string content_type) {
  std::lock_guard l(mu_);
  status_ = status;
  convert_ = status / 100 == 2 && IsJson(content_type);
  if (!convert_) return inner_->StartStream(status, std::move(content_type));
  if (watch_) {
    inner_->StartStream(status, std::string(api::kProtobufWatchContentType));
  }
  // A list is sent when it is complete, as one response.
}

bool ProtobufExchange::Write(std::string data) {
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
    json::value ev = json::parse(line, ec);
    if (ec || !ev.is_object()) continue;
    const auto* type = ev.as_object().if_contains("type");
    const auto* obj = ev.as_object().if_contains("object");
    if (!type || !type->is_string() || !obj || !obj->is_object()) continue;
    auto frame = api::EncodeWatchEventProtobuf(type->as_string(), obj->as_object());
    if (frame.ok()) out += *frame;
  }
  gathered_.erase(0, start);
  if (out.empty()) return true;
  return inner_->Write(std::move(out));
}

void ProtobufExchange::EndStream() {
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

void WarningExchange::Respond(HttpResponse response) {
  for (const auto& w : warnings_) {
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
