#include "api/errors.h"

#include <boost/json.hpp>

namespace keelson::api {
namespace {

namespace json = boost::json;

json::object Details(const ResourceInfo& r, std::string_view name) {
  json::object d;
  if (!name.empty()) d["name"] = name;
  if (!r.group.empty()) d["group"] = r.group;
  d["kind"] = r.resource;
  return d;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The metav1.CauseType of a field error, from upstream's error text.
const char* CauseType(std::string_view text) {
  if (text.starts_with("Required value")) return "FieldValueRequired";
  if (text.starts_with("Unsupported value")) return "FieldValueNotSupported";
  if (text.starts_with("Duplicate value")) return "FieldValueDuplicate";
  if (text.starts_with("Forbidden")) return "FieldValueForbidden";
  if (text.starts_with("Too long")) return "FieldValueTooLong";
  if (text.starts_with("Too many")) return "FieldValueTooMany";
  if (text.starts_with("Not found")) return "FieldValueNotFound";
  return "FieldValueInvalid";
}

// The reason upstream's helpers assume for an error that carries only a code.
std::string_view ReasonForCode(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "Unknown";
  }
}

bool Is(const ApiError& e, std::string_view reason, int code) {
  if (!e.reason.empty() && e.reason != "Unknown") return e.reason == reason;
  return e.code == code;
}

}  // namespace

json::object ApiError::ToJson() const {
  json::object s;
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = json::object();
  s["status"] = "Failure";
  s["message"] = message;
  s["reason"] = reason;
  if (!details.empty()) s["details"] = details;
  s["code"] = code;
  return s;
}

std::string ApiError::ToJsonString() const { return json::serialize(ToJson()); }

ApiError ApiError::FromJson(const json::object& status, int http_code) {
  ApiError e;
  e.code = http_code;
  if (const auto* c = status.if_contains("code"); c && c->is_int64() && c->as_int64() != 0) {
    e.code = static_cast<int>(c->as_int64());
  }
  if (const auto* r = status.if_contains("reason"); r && r->is_string()) {
    e.reason = std::string(r->as_string());
  }
  if (e.reason.empty()) e.reason = std::string(ReasonForCode(e.code));
  if (const auto* m = status.if_contains("message"); m && m->is_string()) {
    e.message = std::string(m->as_string());
  }
  if (const auto* d = status.if_contains("details"); d && d->is_object()) {
    e.details = d->as_object();
  }
  return e;
}

ApiError ApiError::FromBody(std::string_view body, int http_code) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto* kind = v.as_object().if_contains("kind");
    if (kind != nullptr && *kind == "Status") return FromJson(v.as_object(), http_code);
  }
  ApiError e;
  e.code = http_code;
  e.reason = std::string(ReasonForCode(http_code));
  e.message = std::string(body.substr(0, 1024));
  return e;
}

ApiError ApiError::FromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kNotFound: return {404, "NotFound", st.message(), {}};
    case StatusCode::kAlreadyExists: return {409, "AlreadyExists", st.message(), {}};
    case StatusCode::kConflict: return {409, "Conflict", st.message(), {}};
    case StatusCode::kGone:
      return NewExpired("The resourceVersion for the provided list is too old.");
    case StatusCode::kResourceExhausted: return NewRequestEntityTooLarge(st.message());
    case StatusCode::kUnavailable: return NewServiceUnavailable(st.message());
    case StatusCode::kInvalidArgument: return NewBadRequest(st.message());
    case StatusCode::kDeadlineExceeded: return NewTimeout(st.message());
    default: return NewInternalError(st.message());
  }
}

Status ApiError::ToStatus() const {
  StatusCode c = StatusCode::kInternal;
  if (IsNotFound(*this)) c = StatusCode::kNotFound;
  else if (IsAlreadyExists(*this)) c = StatusCode::kAlreadyExists;
  else if (IsConflict(*this)) c = StatusCode::kConflict;
  else if (IsGone(*this)) c = StatusCode::kGone;
  else if (IsInvalid(*this) || IsBadRequest(*this)) c = StatusCode::kInvalidArgument;
  else if (IsTooManyRequests(*this) || IsServiceUnavailable(*this)) c = StatusCode::kUnavailable;
  else if (IsTimeout(*this)) c = StatusCode::kDeadlineExceeded;
  else if (IsForbidden(*this) || code == 401) c = StatusCode::kFailedPrecondition;
  return Status(c, message.empty() ? reason : message);
}

std::optional<int64_t> ApiError::RetryAfterSeconds() const {
  const auto* r = details.if_contains("retryAfterSeconds");
  if (r == nullptr || !r->is_int64()) return std::nullopt;
  return r->as_int64();
}

std::string QualifiedResource(const ResourceInfo& r) {
  return r.group.empty() ? r.resource : r.resource + "." + r.group;
}

ApiError NewNotFound(const ResourceInfo& r, std::string_view name) {
  return {404, "NotFound", QualifiedResource(r) + " " + Quoted(name) + " not found",
          Details(r, name)};
}

ApiError NewAlreadyExists(const ResourceInfo& r, std::string_view name) {
  return {409, "AlreadyExists", QualifiedResource(r) + " " + Quoted(name) + " already exists",
          Details(r, name)};
}

ApiError NewConflictWithReason(const ResourceInfo& r, std::string_view name,
                               std::string_view why) {
  return {409, "Conflict",
          "Operation cannot be fulfilled on " + QualifiedResource(r) + " " + Quoted(name) +
              ": " + std::string(why),
          Details(r, name)};
}

ApiError NewConflict(const ResourceInfo& r, std::string_view name) {
  return NewConflictWithReason(r, name,
                               "the object has been modified; please apply your changes to "
                               "the latest version and try again");
}

ApiError NewInvalid(const ResourceInfo& r, std::string_view name, const FieldCauses& causes) {
  json::object d = Details(r, name);
  d["kind"] = r.kind;
  json::array cs;
  std::string msg;
  for (const auto& [field, text] : causes) {
    cs.push_back(json::object{{"reason", CauseType(text)}, {"message", text}, {"field", field}});
    if (!msg.empty()) msg += ", ";
    msg += field + ": " + text;
  }
  d["causes"] = std::move(cs);
  std::string qualified = r.group.empty() ? r.kind : r.kind + "." + r.group;
  return {422, "Invalid",
          qualified + " " + Quoted(name) + " is invalid: " +
              (causes.size() > 1 ? "[" + msg + "]" : msg),
          std::move(d)};
}

ApiError NewBadRequest(std::string message) { return {400, "BadRequest", std::move(message), {}}; }

ApiError NewMethodNotAllowed() {
  return {405, "MethodNotAllowed",
          "the server does not allow this method on the requested resource", {}};
}

ApiError NewUnsupportedMediaType(std::string message) {
  return {415, "UnsupportedMediaType", std::move(message), {}};
}

ApiError NewNotFoundPath() {
  return {404, "NotFound", "the server could not find the requested resource", {}};
}

ApiError NewForbidden(std::string message, json::object details) {
  return {403, "Forbidden", std::move(message), std::move(details)};
}

ApiError NewUnauthorized(std::string message) {
  return {401, "Unauthorized", std::move(message), {}};
}

ApiError NewTooManyRequests(std::string message, int64_t retry_after_seconds) {
  return {429, "TooManyRequests", std::move(message),
          json::object{{"retryAfterSeconds", retry_after_seconds}}};
}

ApiError NewExpired(std::string message) { return {410, "Expired", std::move(message), {}}; }

ApiError NewTimeout(std::string message, json::object details) {
  return {504, "Timeout", std::move(message), std::move(details)};
}

ApiError NewInternalError(std::string message) {
  return {500, "InternalError", "Internal error occurred: " + message, {}};
}

ApiError NewServiceUnavailable(std::string message) {
  return {503, "ServiceUnavailable", std::move(message), {}};
}

ApiError NewRequestEntityTooLarge(std::string message) {
  return {413, "RequestEntityTooLarge", std::move(message), {}};
}

bool IsNotFound(const ApiError& e) { return Is(e, "NotFound", 404); }
bool IsAlreadyExists(const ApiError& e) { return Is(e, "AlreadyExists", 409); }
bool IsConflict(const ApiError& e) { return Is(e, "Conflict", 409); }
bool IsInvalid(const ApiError& e) { return Is(e, "Invalid", 422); }
bool IsBadRequest(const ApiError& e) { return Is(e, "BadRequest", 400); }
bool IsForbidden(const ApiError& e) { return Is(e, "Forbidden", 403); }
bool IsGone(const ApiError& e) {
  return e.reason == "Gone" || e.reason == "Expired" || (e.reason.empty() && e.code == 410);
}
bool IsTooManyRequests(const ApiError& e) { return Is(e, "TooManyRequests", 429) || e.code == 429; }
bool IsTimeout(const ApiError& e) { return Is(e, "Timeout", 504); }
bool IsServiceUnavailable(const ApiError& e) { return Is(e, "ServiceUnavailable", 503); }
bool IsInternalError(const ApiError& e) { return Is(e, "InternalError", 500); }

}  // namespace keelson::api
