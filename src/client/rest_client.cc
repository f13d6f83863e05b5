#include "client/rest_client.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "api/protobuf.h"

namespace keelson::client {
namespace {

namespace json = boost::json;

constexpr std::string_view kConnectionFailureCause = "ClientConnectionFailure";
constexpr std::string_view kCancelledCause = "ClientCancelled";

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

class Query {
 public:
  void Add(std::string_view key, std::string_view value) {
    out_ += out_.empty() ? '?' : '&';
    out_ += Escape(key);
    out_ += '=';
    out_ += Escape(value);
  }
  void AddIf(std::string_view key, std::string_view value) {
    if (!value.empty()) Add(key, value);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

void AddListOptions(const ListOptions& o, Query* q) {
  q->AddIf("labelSelector", o.label_selector);
  q->AddIf("fieldSelector", o.field_selector);
  if (o.limit > 0) q->Add("limit", std::to_string(o.limit));
  q->AddIf("continue", o.continue_token);
  q->AddIf("resourceVersion", o.resource_version);
  q->AddIf("resourceVersionMatch", o.resource_version_match);
  if (o.timeout_seconds) q->Add("timeoutSeconds", std::to_string(*o.timeout_seconds));
  if (o.allow_watch_bookmarks) q->Add("allowWatchBookmarks", "true");
  if (o.send_initial_events) q->Add("sendInitialEvents", *o.send_initial_events ? "true" : "false");
}

void AddWriteOptions(const WriteOptions& o, Query* q) {
  if (o.dry_run) q->Add("dryRun", "All");
  q->AddIf("fieldManager", o.field_manager);
  q->AddIf("fieldValidation", o.field_validation);
  if (o.force) q->Add("force", "true");
}

json::object DeleteOptionsJson(const DeleteOptions& o) {
  json::object b{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (o.grace_period_seconds) b["gracePeriodSeconds"] = *o.grace_period_seconds;
  if (!o.propagation_policy.empty()) b["propagationPolicy"] = o.propagation_policy;
  if (!o.precondition_uid.empty() || !o.precondition_resource_version.empty()) {
    json::object p;
    if (!o.precondition_uid.empty()) p["uid"] = o.precondition_uid;
    if (!o.precondition_resource_version.empty()) {
      p["resourceVersion"] = o.precondition_resource_version;
    }
    b["preconditions"] = std::move(p);
  }
  if (o.dry_run) b["dryRun"] = json::array{"All"};
  return b;
}

api::ApiError Cancelled() {
  api::ApiError e;
  e.code = 0;
  e.message = "request cancelled";
  e.details["causes"] = json::array{json::object{{"reason", kCancelledCause}}};
  return e;
}

api::ApiError TransportError(const Status& st, std::string_view method, std::string_view target,
                             std::string_view server) {
  api::ApiError e;
  bool timeout = st.code() == StatusCode::kDeadlineExceeded;
  e.code = timeout ? 504 : 503;
  e.reason = timeout ? "Timeout" : "ServiceUnavailable";
  e.message = std::string(method) + " " + std::string(server) + std::string(target) + ": " +
              st.message();
  e.details["causes"] =
      json::array{json::object{{"reason", kConnectionFailureCause}, {"message", st.message()}}};
  return e;
}

bool HasCause(const api::ApiError& e, std::string_view reason) {
  const auto* causes = e.details.if_contains("causes");
  if (!causes || !causes->is_array()) return false;
  for (const auto& c : causes->as_array()) {
    if (!c.is_object()) continue;
    const auto* r = c.as_object().if_contains("reason");
    if (r && r->is_string() && r->as_string() == reason) return true;
  }
  return false;
}

bool IsProtobuf(std::string_view content_type) {
  return content_type.starts_with(api::kProtobufContentType);
}

api::ApiError DecodeError(std::string message) {
  return api::NewInternalError("decoding the answer: " + message);
}

// A body in either encoding, as a JSON object.
api::ApiResult<api::Object> DecodeBody(std::string_view content_type, std::string_view body) {
  if (IsProtobuf(content_type)) {
    auto r = api::DecodeKubernetesProtobuf(body);
    if (!r.ok()) return DecodeError(r.status().message());
    return std::move(*r);
  }
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return DecodeError(ec.message());
  if (!v.is_object()) return DecodeError("not a JSON object");
  return std::move(v.as_object());
}

api::ApiError ErrorFromResponse(const api::HttpResponse& r) {
  if (IsProtobuf(r.content_type)) {
    auto obj = api::DecodeKubernetesProtobuf(r.body);
    if (obj.ok()) return api::ApiError::FromJson(*obj, r.status);
  }
  return api::ApiError::FromBody(r.body, r.status);
}

std::string_view HeaderOf(const api::HttpResponse& r, std::string_view lowercase_name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != lowercase_name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) == lowercase_name[i];
    }
    if (same) return v;
  }
  return {};
}

bool Idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS";
}

// Reads the varint at `*pos`.
bool ReadVarint(std::string_view s, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= s.size()) return false;
    auto b = static_cast<unsigned char>(s[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

// The length-delimited field `number` of a message (the last one wins), or nullopt.
std::optional<std::string_view> BytesField(std::string_view msg, uint64_t number) {
  std::optional<std::string_view> found;
  size_t pos = 0;
  while (pos < msg.size()) {
    uint64_t key;
    if (!ReadVarint(msg, &pos, &key)) return std::nullopt;
    uint64_t wire = key & 7;
    if (wire == 0) {
      uint64_t ignored;
      if (!ReadVarint(msg, &pos, &ignored)) return std::nullopt;
    } else if (wire == 1) {
      pos += 8;
    } else if (wire == 5) {
      pos += 4;
    } else if (wire == 2) {
      uint64_t len;
      if (!ReadVarint(msg, &pos, &len) || len > msg.size() - pos) return std::nullopt;
      if ((key >> 3) == number) found = msg.substr(pos, len);
      pos += len;
    } else {
      return std::nullopt;
    }
  }
  if (pos > msg.size()) return std::nullopt;
  return found;
}

class StreamWatcher final : public Watcher {
 public:
  StreamWatcher(std::unique_ptr<ResponseStream> stream, const api::ResourceInfo* resource)
      : stream_(std::move(stream)), protobuf_(IsProtobuf(stream_->content_type())),
        resource_(resource) {}
  ~StreamWatcher() override { Stop(); }

  api::ApiResult<std::optional<WatchEvent>> Next() override {
    if (finished_) return std::optional<WatchEvent>();
    while (true) {
      std::optional<std::string> frame = NextFrame();
      if (frame) {
        auto ev = Decode(*frame);
        if (!ev.ok()) finished_ = true;
        return ev;
      }
      auto more = stream_->Read(&buf_);
      if (!more.ok()) {
        finished_ = true;
        return TransportError(more.status(), "WATCH", "", resource_->resource);
      }
      if (!*more) {
        finished_ = true;
        return std::optional<WatchEvent>();
      }
    }
  }

  void Stop() override { stream_->Close(); }

 private:
  // The next complete frame in buf_: a line, or a length-prefixed message.
  std::optional<std::string> NextFrame() {
    if (protobuf_) {
      if (buf_.size() - pos_ < 4) return Compact();
      uint32_t n = 0;
      for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(buf_[pos_ + i]);
      if (buf_.size() - pos_ - 4 < n) return Compact();
      std::string frame = buf_.substr(pos_ + 4, n);
      pos_ += 4 + n;
      return frame;
    }
    while (true) {
      size_t nl = buf_.find('\n', pos_);
      if (nl == std::string::npos) return Compact();
      std::string line = buf_.substr(pos_, nl - pos_);
      pos_ = nl + 1;
      if (line.find_first_not_of(" \r\t") != std::string::npos) return line;
    }
  }
  std::optional<std::string> Compact() {
    buf_.erase(0, pos_);
    pos_ = 0;
    return std::nullopt;
  }

  // An event; an error for an ERROR event or garbage.
  api::ApiResult<std::optional<WatchEvent>> Decode(std::string_view frame) {
    std::string type;
    api::Object object;
    if (protobuf_) {
      auto t = BytesField(frame, 1);
      auto raw_ext = BytesField(frame, 2);
      auto raw = raw_ext ? BytesField(*raw_ext, 1) : std::nullopt;
      if (!t || !raw) return DecodeError("malformed protobuf watch event");
      type = std::string(*t);
      auto obj = api::DecodeKubernetesProtobuf(*raw);
      if (!obj.ok()) return DecodeError(obj.status().message());
      object = std::move(*obj);
    } else {
      boost::system::error_code ec;
      json::value v = json::parse(frame, ec);
      if (ec || !v.is_object()) return DecodeError("malformed watch event");
      auto& ev = v.as_object();
      const auto* t = ev.if_contains("type");
      auto* o = ev.if_contains("object");
      if (!t || !t->is_string() || !o || !o->is_object()) {
        return DecodeError("malformed watch event");
      }
      type = std::string(t->as_string());
      object = std::move(o->as_object());
    }
    WatchEvent e;
    if (type == "ADDED") {
      e.type = WatchEventType::kAdded;
    } else if (type == "MODIFIED") {
      e.type = WatchEventType::kModified;
    } else if (type == "DELETED") {
      e.type = WatchEventType::kDeleted;
    } else if (type == "BOOKMARK") {
      e.type = WatchEventType::kBookmark;
    } else if (type == "ERROR") {
      return api::ApiError::FromJson(object, 500);
    } else {
      return DecodeError("unknown watch event type '" + type + "'");
    }
    if (!object.contains("kind")) object["kind"] = resource_->kind;
    if (!object.contains("apiVersion")) object["apiVersion"] = resource_->GroupVersion();
    e.object = std::make_shared<const api::Object>(std::move(object));
    return std::optional<WatchEvent>(std::move(e));
  }

  std::unique_ptr<ResponseStream> stream_;
  const bool protobuf_;
  const api::ResourceInfo* resource_;
  std::string buf_;
  size_t pos_ = 0;
  bool finished_ = false;
};

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

bool IsConnectionFailure(const api::ApiError& e) { return HasCause(e, kConnectionFailureCause); }
bool IsCancelled(const api::ApiError& e) { return HasCause(e, kCancelledCause); }

// ---- RestClient ----

RestClient::RestClient(RestConfig config, std::shared_ptr<Transport> transport,
                       std::shared_ptr<const Clock> clock)
    : config_(std::move(config)), transport_(std::move(transport)),
      clock_(clock ? std::move(clock) : RealClock()),
      limiter_(config_.qps, config_.burst, clock_),
      rng_state_(reinterpret_cast<uintptr_t>(this) ^
                 static_cast<uint64_t>(clock_->Monotonic().time_since_epoch().count())) {}

RestClient::~RestClient() = default;

Result<std::unique_ptr<RestClient>> RestClient::NewHttp(RestConfig config,
                                                       std::shared_ptr<const Clock> clock) {
  HttpTransportOptions o;
  o.server = config.server;
  o.timeout = config.timeout;
  auto t = NewHttpTransport(o);
  if (!t.ok()) return t.status();
  std::shared_ptr<Transport> transport = std::move(*t);
  return std::make_unique<RestClient>(std::move(config), std::move(transport), std::move(clock));
}

ResourceClient RestClient::Resource(const api::ResourceInfo& resource) {
  return ResourceClient(this, &resource);
}

api::ApiResult<ResourceClient> RestClient::Resource(std::string_view group,
                                                    std::string_view resource) {
  for (const auto& r : api::ResourceRegistry::BuiltIn().all()) {
    if (r.group == group && r.resource == resource) return ResourceClient(this, &r);
  }
  api::ApiError e = api::NewNotFoundPath();
  e.message = "the server could not find the requested resource " + std::string(resource) +
              (group.empty() ? "" : "." + std::string(group));
  return e;
}

void RestClient::AddHeaders(api::HttpRequest* r) const {
  auto has = [&](std::string_view name) {
    for (const auto& [k, v] : r->headers) {
      if (k == name) return true;
    }
    return false;
  };
  if (!has("user-agent") && !config_.user_agent.empty()) {
    r->headers.emplace_back("user-agent", config_.user_agent);
  }
  if (!has("authorization")) {
    std::string token = config_.bearer_token;
    if (token.empty() && !config_.bearer_token_file.empty()) {
      std::lock_guard l(mu_);
      auto now = clock_->Monotonic();
      if (file_token_read_ == Clock::MonoTime{} || now - file_token_read_ >= std::chrono::minutes(1)) {
        std::ifstream in(config_.bearer_token_file);
        bool opened = in.is_open();
        std::stringstream ss;
        ss << in.rdbuf();
        std::string read = ss.str();
        while (!read.empty() && std::isspace(static_cast<unsigned char>(read.back()))) {
          read.pop_back();
        }
        // A file that cannot be read keeps the token read before.
        if (opened) file_token_ = std::move(read);
        file_token_read_ = now;
      }
      token = file_token_;
    }
    if (!token.empty()) r->headers.emplace_back("authorization", "Bearer " + token);
  }
}

std::optional<std::chrono::nanoseconds> RestClient::RetryWait(const api::HttpRequest& request,
                                                              const api::HttpResponse* response,
                                                              const Status& failure, int retry) {
  if (retry >= config_.retry.max_retries) return std::nullopt;
  std::optional<std::chrono::nanoseconds> retry_after;
  if (response != nullptr) {
    int code = response->status;
    std::string_view ra = HeaderOf(*response, "retry-after");
    if (!ra.empty()) {
      int64_t secs = 0;
      bool digits = true;
      for (char c : ra) {
        if (!std::isdigit(static_cast<unsigned char>(c))) {
          digits = false;
          break;
        }
        secs = secs * 10 + (c - '0');
        if (secs > 24 * 3600) break;
      }
      if (digits) retry_after = std::chrono::seconds(secs);
    }
    bool retryable = code == 429 || code == 503 || code == 504 ||
                     (code >= 500 && code != 501 && retry_after.has_value());
    if (!retryable) return std::nullopt;
  } else {
    bool retryable = failure.code() == StatusCode::kUnavailable ||
                     ((failure.code() == StatusCode::kInternal ||
                       failure.code() == StatusCode::kDeadlineExceeded) &&
                      Idempotent(request.method));
    if (!retryable) return std::nullopt;
  }
  if (retry_after) return *retry_after;
  auto base = std::chrono::duration_cast<std::chrono::nanoseconds>(config_.retry.initial_backoff);
  auto max = std::chrono::duration_cast<std::chrono::nanoseconds>(config_.retry.max_backoff);
  auto d = base;
  for (int i = 0; i < retry && d < max; ++i) d *= 2;
  d = std::min(d, max);
  uint64_t r;
  {
    std::lock_guard l(mu_);
    r = SplitMix(&rng_state_);
  }
  double jitter = static_cast<double>(r >> 11) / static_cast<double>(1ULL << 53) * 0.5;
  return d + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(d.count()) * jitter));
}

api::ApiResult<api::HttpResponse> RestClient::Do(api::HttpRequest request, std::stop_token stop) {
  AddHeaders(&request);
  for (int retry = 0;; ++retry) {
    if (!limiter_.Accept(stop)) return Cancelled();
    if (stop.stop_requested()) return Cancelled();
    auto r = transport_->RoundTrip(request);
    auto wait = r.ok() ? RetryWait(request, &*r, Status::Ok(), retry)
                       : RetryWait(request, nullptr, r.status(), retry);
    if (!wait) {
      if (!r.ok()) {
        return TransportError(r.status(), request.method, request.target, transport_->Describe());
      }
      return std::move(*r);
    }
    if (!SleepUntil(*clock_, clock_->Monotonic() + *wait, stop)) return Cancelled();
  }
}

api::ApiResult<api::Object> RestClient::DoObject(api::HttpRequest request, std::stop_token stop) {
  auto r = Do(std::move(request), std::move(stop));
  if (!r.ok()) return r.error();
  if (r->status < 200 || r->status > 299) return ErrorFromResponse(*r);
  return DecodeBody(r->content_type, r->body);
}

api::ApiResult<std::unique_ptr<Watcher>> RestClient::DoWatch(api::HttpRequest request,
                                                             const api::ResourceInfo& resource,
                                                             std::stop_token stop) {
  AddHeaders(&request);
  for (int retry = 0;; ++retry) {
    if (!limiter_.Accept(stop)) return Cancelled();
    if (stop.stop_requested()) return Cancelled();
    auto s = transport_->OpenStream(request);
    std::optional<std::chrono::nanoseconds> wait;
    if (!s.ok()) {
      wait = RetryWait(request, nullptr, s.status(), retry);
      if (!wait) {
        return TransportError(s.status(), request.method, request.target, transport_->Describe());
      }
    } else if ((*s)->status() != 200) {
      // An answer instead of a stream (410 for a too-old resourceVersion, 429, ...).
      api::HttpResponse resp;
      resp.status = (*s)->status();
      resp.content_type = (*s)->content_type();
      resp.headers = (*s)->headers();
      while (true) {
        auto more = (*s)->Read(&resp.body);
        if (!more.ok() || !*more) break;
      }
      wait = RetryWait(request, &resp, Status::Ok(), retry);
      if (!wait) return ErrorFromResponse(resp);
    } else {
      return std::unique_ptr<Watcher>(std::make_unique<StreamWatcher>(std::move(*s), &resource));
    }
    if (!SleepUntil(*clock_, clock_->Monotonic() + *wait, stop)) return Cancelled();
  }
}

// ---- ResourceClient ----

ResourceClient ResourceClient::Namespace(std::string_view ns) const {
  return ResourceClient(client_, resource_, std::string(ns), stop_);
}

ResourceClient ResourceClient::WithStop(std::stop_token stop) const {
  return ResourceClient(client_, resource_, namespace_, std::move(stop));
}

std::string ResourceClient::Path(std::string_view name, std::string_view subresource) const {
  std::string p = resource_->group.empty()
                      ? "/api/" + resource_->version
                      : "/apis/" + resource_->group + "/" + resource_->version;
  if (resource_->namespaced && !namespace_.empty()) p += "/namespaces/" + Escape(namespace_);
  p += "/" + resource_->resource;
  if (!name.empty()) {
    p += "/" + Escape(name);
    if (!subresource.empty()) p += "/" + std::string(subresource);
  }
  return p;
}

namespace {

std::string AcceptFor(ContentType t) {
  return t == ContentType::kProtobuf ? std::string(api::kProtobufContentType) + ", application/json"
                                     : "application/json";
}

api::HttpRequest NewRequest(std::string method, std::string target, ContentType t) {
  api::HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers.emplace_back("accept", AcceptFor(t));
  return r;
}

// The body of a create or update: protobuf when asked for and the kind has a protobuf form.
void SetObjectBody(api::HttpRequest* r, const api::Object& obj, ContentType t) {
  if (t == ContentType::kProtobuf) {
    auto pb = api::EncodeKubernetesProtobuf(obj);
    if (pb.ok()) {
      r->headers.emplace_back("content-type", std::string(api::kProtobufContentType));
      r->body = std::move(*pb);
      return;
    }
  }
  r->headers.emplace_back("content-type", "application/json");
  r->body = json::serialize(obj);
}

}  // namespace

api::ApiResult<api::Object> ResourceClient::Get(std::string_view name,
                                                const GetOptions& options) const {
  Query q;
  q.AddIf("resourceVersion", options.resource_version);
  return client_->DoObject(
      NewRequest("GET", Path(name) + q.str(), client_->config().content_type), stop_);
}

api::ApiResult<api::Object> ResourceClient::List(const ListOptions& options) const {
  Query q;
  AddListOptions(options, &q);
  auto list = client_->DoObject(
      NewRequest("GET", Path() + q.str(), client_->config().content_type), stop_);
  if (!list.ok()) return list;
  if (auto* items = list->if_contains("items"); items && items->is_array()) {
    for (auto& item : items->as_array()) {
      if (!item.is_object()) continue;
      auto& o = item.as_object();
      if (!o.contains("kind")) o["kind"] = resource_->kind;
      if (!o.contains("apiVersion")) o["apiVersion"] = resource_->GroupVersion();
    }
  }
  return list;
}

api::ApiResult<std::unique_ptr<Watcher>> ResourceClient::Watch(const ListOptions& options) const {
  Query q;
  q.Add("watch", "true");
  AddListOptions(options, &q);
  return client_->DoWatch(NewRequest("GET", Path() + q.str(), client_->config().content_type),
                          *resource_, stop_);
}

api::ApiResult<api::Object> ResourceClient::Write(std::string method, std::string_view name,
                                                  std::string_view subresource,
                                                  const api::Object& obj,
                                                  const WriteOptions& options) const {
  Query q;
  AddWriteOptions(options, &q);
  auto req = NewRequest(std::move(method), Path(name, subresource) + q.str(),
                        client_->config().content_type);
  SetObjectBody(&req, obj, client_->config().content_type);
  return client_->DoObject(std::move(req), stop_);
}

api::ApiResult<api::Object> ResourceClient::Create(const api::Object& obj,
                                                   const WriteOptions& options) const {
  if (obj.contains("kind") && obj.contains("apiVersion")) {
    return Write("POST", "", "", obj, options);
  }
  api::Object full = obj;
  if (!full.contains("kind")) full["kind"] = resource_->kind;
  if (!full.contains("apiVersion")) full["apiVersion"] = resource_->GroupVersion();
  return Write("POST", "", "", full, options);
}

api::ApiResult<api::Object> ResourceClient::Update(const api::Object& obj,
                                                   const WriteOptions& options) const {
  std::string_view name = api::GetName(obj);
  if (name.empty()) return api::NewBadRequest("an update needs metadata.name");
  return Write("PUT", name, "", obj, options);
}

api::ApiResult<api::Object> ResourceClient::UpdateStatus(const api::Object& obj,
                                                         const WriteOptions& options) const {
  std::string_view name = api::GetName(obj);
  if (name.empty()) return api::NewBadRequest("an update needs metadata.name");
  return Write("PUT", name, "status", obj, options);
}

api::ApiResult<api::Object> ResourceClient::Patch(std::string_view name, PatchType type,
                                                  std::string_view body,
                                                  const WriteOptions& options,
                                                  std::string_view subresource) const {
  Query q;
  AddWriteOptions(options, &q);
  auto req = NewRequest("PATCH", Path(name, subresource) + q.str(),
                        client_->config().content_type);
  const char* ct = "application/merge-patch+json";
  switch (type) {
    case PatchType::kJson: ct = "application/json-patch+json"; break;
    case PatchType::kMerge: ct = "application/merge-patch+json"; break;
    case PatchType::kStrategicMerge: ct = "application/strategic-merge-patch+json"; break;
    case PatchType::kApply: ct = "application/apply-patch+yaml"; break;
  }
  req.headers.emplace_back("content-type", ct);
  req.body = std::string(body);
  return client_->DoObject(std::move(req), stop_);
}

api::ApiResult<api::Object> ResourceClient::Delete(std::string_view name,
                                                   const DeleteOptions& options) const {
  auto req = NewRequest("DELETE", Path(name), client_->config().content_type);
  req.headers.emplace_back("content-type", "application/json");
  req.body = json::serialize(DeleteOptionsJson(options));
  return client_->DoObject(std::move(req), stop_);
}

api::ApiResult<api::Object> ResourceClient::DeleteCollection(const DeleteOptions& options,
                                                             const ListOptions& list_options) const {
  Query q;
  AddListOptions(list_options, &q);
  auto req = NewRequest("DELETE", Path() + q.str(), client_->config().content_type);
  req.headers.emplace_back("content-type", "application/json");
  req.body = json::serialize(DeleteOptionsJson(options));
  return client_->DoObject(std::move(req), stop_);
}

api::ApiResult<api::Object> ResourceClient::GetSubresource(std::string_view name,
                                                           std::string_view subresource) const {
  return client_->DoObject(
      NewRequest("GET", Path(name, subresource), client_->config().content_type), stop_);
}

api::ApiResult<api::Object> ResourceClient::UpdateSubresource(std::string_view name,
                                                              std::string_view subresource,
                                                              const api::Object& body,
                                                              const WriteOptions& options) const {
  return Write("PUT", name, subresource, body, options);
}

api::ApiResult<api::Object> ResourceClient::CreateSubresource(std::string_view name,
                                                              std::string_view subresource,
                                                              const api::Object& body,
                                                              const WriteOptions& options) const {
  return Write("POST", name, subresource, body, options);
}

}  // namespace keelson::client
