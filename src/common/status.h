// Status and Result<T>: how every fallible keelson call reports failure.
//
// Codes mean something to the API layer (NotFound, Conflict, Invalid, Gone, ...) and are
// normal control flow, not exceptions. Third-party exceptions are converted to a Status at
// the boundary where they arise. Both types are cheap to move and thread-compatible.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace keelson {

enum class StatusCode {
  kOk = 0,
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // a create found an existing object
  kConflict,            // an optimistic-concurrency precondition failed
  kInvalidArgument,     // the request itself is malformed or out of range
  kGone,                // the revision asked for has been compacted away
  kFailedPrecondition,  // the system is not in a state to do this (e.g. a future revision)
  kResourceExhausted,   // out of space or over a size limit
  kUnavailable,         // try again later (backend down, shutting down)
  kDeadlineExceeded,
  kCancelled,
  kUnimplemented,
  kInternal,            // a bug or an I/O failure
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: key not found" style, for logs and error output.
  std::string ToString() const;

  // Marks a status as deliberately dropped.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}

// Either a value or an error: a non-OK Status by default, or another error type (the API's
// metav1.Status errors are api::ApiError, see api/errors.h).
template <typename T, typename E = Status>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(E error) : v_(std::move(error)) {            // NOLINT: implicit by design
    if constexpr (std::is_same_v<E, Status>) assert(!std::get<E>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; only when !ok().
  const E& error() const { return std::get<E>(v_); }
  // The Status: OK when there is a value.
  const Status& status() const
    requires std::is_same_v<E, Status>
  {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> v_;
};

}  // namespace keelson

// Returns early from the enclosing function with the status of `expr` when it is not OK.
#define KEELSON_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::keelson::Status _st = (expr);            \
    if (!_st.ok()) return _st;                 \
  } while (0)
