// ApiError: the one error type of the Kubernetes API, a metav1.Status failure (HTTP code,
// reason, message, details with causes), as the API server answers it and as a client reads
// it back. Converts to and from the metav1.Status JSON both ways and from a store Status.
//
// The constructors mirror upstream's k8s.io/apimachinery/pkg/api/errors (NewNotFound,
// NewConflict, NewInvalid, ...) with the same codes, reasons and message texts; IsNotFound
// and its siblings classify an error as upstream's helpers do (by reason, then by code).
//
// A value type: copy it freely; thread-compatible.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/resources.h"
#include "common/status.h"

namespace keelson::api {

// (field path, upstream's error text) for one problem of an Invalid object, e.g.
// ("spec.replicas", "Invalid value: -1: must be greater than or equal to 0").
using FieldCause = std::pair<std::string, std::string>;
using FieldCauses = std::vector<FieldCause>;

struct ApiError {
  int code = 500;          // the HTTP status
  std::string reason;      // metav1.StatusReason: NotFound, AlreadyExists, Invalid, ...
  std::string message;
  boost::json::object details;  // metav1.StatusDetails: name, group, kind, causes, retryAfterSeconds

  // The metav1.Status object ({"kind":"Status","apiVersion":"v1","status":"Failure",...}).
  boost::json::object ToJson() const;
  std::string ToJsonString() const;
  // Reads a metav1.Status answer; `http_code` is used when the body carries no code. A body
  // that is not a Status gives an error with the HTTP code and the body as its message.
  static ApiError FromJson(const boost::json::object& status, int http_code = 0);
  static ApiError FromBody(std::string_view body, int http_code);
  // A Status from elsewhere (the store, a decoder) in its API form: NotFound, Conflict,
  // AlreadyExists keep their meaning; InvalidArgument is a 400; Gone is 410 Expired;
  // ResourceExhausted 413; Unavailable 503; DeadlineExceeded 504; anything else 500.
  static ApiError FromStatus(const Status& st);
  // Back to a Status (code by reason), for callers that speak Status.
  Status ToStatus() const;
  // details.retryAfterSeconds, when set.
  std::optional<int64_t> RetryAfterSeconds() const;
};

template <typename T>
using ApiResult = Result<T, ApiError>;

// "pods" or "deployments.apps": how upstream names a resource in messages.
std::string QualifiedResource(const ResourceInfo& r);

// Upstream's constructors.
ApiError NewNotFound(const ResourceInfo& r, std::string_view name);
ApiError NewAlreadyExists(const ResourceInfo& r, std::string_view name);
// The optimistic-concurrency failure: "Operation cannot be fulfilled on ...: the object has
// been modified; please apply your changes to the latest version and try again".
ApiError NewConflict(const ResourceInfo& r, std::string_view name);
// Another 409 with upstream's "Operation cannot be fulfilled on <resource> \"<name>\": <why>".
ApiError NewConflictWithReason(const ResourceInfo& r, std::string_view name, std::string_view why);
// 422 with one cause per problem; the kind (and group) of `r` name the object.
ApiError NewInvalid(const ResourceInfo& r, std::string_view name, const FieldCauses& causes);
ApiError NewBadRequest(std::string message);
ApiError NewMethodNotAllowed();
ApiError NewUnsupportedMediaType(std::string message);
// The 404 of a path that names nothing served.
ApiError NewNotFoundPath();
ApiError NewForbidden(std::string message, boost::json::object details = {});
ApiError NewUnauthorized(std::string message = "Unauthorized");
ApiError NewTooManyRequests(std::string message, int64_t retry_after_seconds);
// 410 Expired (a too-old resourceVersion or continue token).
ApiError NewExpired(std::string message);
// 504 Timeout.
ApiError NewTimeout(std::string message, boost::json::object details = {});
ApiError NewInternalError(std::string message);
ApiError NewServiceUnavailable(std::string message);
ApiError NewRequestEntityTooLarge(std::string message);

// Classification, as upstream's apierrors.IsNotFound and friends.
bool IsNotFound(const ApiError& e);
bool IsAlreadyExists(const ApiError& e);
bool IsConflict(const ApiError& e);
bool IsInvalid(const ApiError& e);
bool IsBadRequest(const ApiError& e);
bool IsForbidden(const ApiError& e);
bool IsGone(const ApiError& e);  // 410: Gone or Expired
bool IsTooManyRequests(const ApiError& e);
bool IsTimeout(const ApiError& e);
bool IsServiceUnavailable(const ApiError& e);
bool IsInternalError(const ApiError& e);

template <typename T>
bool IsNotFound(const ApiResult<T>& r) { return !r.ok() && IsNotFound(r.error()); }
template <typename T>
bool IsConflict(const ApiResult<T>& r) { return !r.ok() && IsConflict(r.error()); }
template <typename T>
bool IsAlreadyExists(const ApiResult<T>& r) { return !r.ok() && IsAlreadyExists(r.error()); }

}  // namespace keelson::api
