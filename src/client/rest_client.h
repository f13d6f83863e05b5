// RestClient: the Kubernetes REST API as components use it, over a Transport (HTTP, or the
// in-process transport of a component that shares a process with the API server). Requests
// are rate limited (RestConfig::qps/burst) and retried with backoff (RestConfig::retry):
// after 429, 503, 504 or another 5xx with Retry-After, waiting what Retry-After says, and
// after connection failures (see RetryPolicy for which verbs). What comes back is decoded
// (JSON, or protobuf with ContentType::kProtobuf) into api::Object values, and every failure
// is an api::ApiError:
//   - an error answer is the server's metav1.Status (IsNotFound, IsConflict, IsGone, ... of
//     api/errors.h classify it);
//   - a transport failure (no connection, connection lost, timeout) is a 503
//     ServiceUnavailable (504 Timeout for a timeout) whose message names the server and the
//     cause; IsConnectionFailure() tells it from a server's 503;
//   - a call cut short by its stop token is IsCancelled();
//   - an answer that cannot be decoded is a 500 InternalError.
//
// ResourceClient is the typed face: one resource (api::ResourceInfo from the registry), one
// namespace, the verbs get/list/watch/create/update/updateStatus/patch/delete/
// deleteCollection and subresource reads and writes (pods/binding, pods/eviction, scale,
// serviceaccounts/token, ...).
//
// Thread-safety: RestClient and ResourceClient may be used from any number of threads at
// once. The RestClient must outlive every ResourceClient and Watcher made from it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "api/errors.h"
#include "api/http.h"
#include "api/object.h"
#include "api/resources.h"
#include "client/config.h"
#include "client/rate_limiter.h"
#include "client/transport.h"
#include "common/clock.h"

namespace keelson::client {

using ObjectPtr = std::shared_ptr<const api::Object>;

struct GetOptions {
  std::string resource_version;  // "" reads the latest; "0" any cached state
};

// metav1.ListOptions.
struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;  // 0: no paging
  std::string continue_token;
  std::string resource_version;
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
  // Watches: how long the server keeps the stream open; bookmarks; initial events.
  std::optional<int64_t> timeout_seconds;
  bool allow_watch_bookmarks = false;
  std::optional<bool> send_initial_events;
};

// Options of create, update and patch (metav1.CreateOptions/UpdateOptions/PatchOptions).
struct WriteOptions {
  bool dry_run = false;              // dryRun=All
  std::string field_manager;         // fieldManager
  std::string field_validation;      // fieldValidation: "Strict", "Warn", "Ignore"
  bool force = false;                // apply patches only: take fields other managers own
};

// metav1.DeleteOptions.
struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;  // "Orphan", "Background", "Foreground"
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

enum class PatchType {
  kJson,            // application/json-patch+json
  kMerge,           // application/merge-patch+json
  kStrategicMerge,  // application/strategic-merge-patch+json
  kApply,           // application/apply-patch+yaml (server-side apply; field_manager required)
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark };

struct WatchEvent {
  WatchEventType type;
  // The object; for a bookmark only its kind and metadata.resourceVersion (and the
  // k8s.io/initial-events-end annotation after the initial events).
  ObjectPtr object;
};

// One watch stream. Owned by the caller; destroying it stops it.
//
// Thread-safety: Next() from one thread at a time; Stop() from any thread, also while another
// is in Next().
class Watcher {
 public:
  virtual ~Watcher() = default;
  // Blocks until the next event. nullopt when the stream ended (the server's timeoutSeconds,
  // the server shutting down, or Stop()). Errors: the Status of an ERROR event (410 Expired:
  // the resourceVersion is too old, list again); a broken connection or an undecodable
  // event (IsConnectionFailure / InternalError). After nullopt or an error the watcher is
  // finished.
  virtual api::ApiResult<std::optional<WatchEvent>> Next() = 0;
  virtual void Stop() = 0;
};

class RestClient;

// One resource in one namespace ("" for cluster-scoped resources, or every namespace on
// list and watch). A small value: copy it freely; valid while its RestClient lives.
class ResourceClient {
 public:
  ResourceClient(RestClient* client, const api::ResourceInfo* resource, std::string ns = "",
                 std::stop_token stop = {})
      : client_(client), resource_(resource), namespace_(std::move(ns)), stop_(std::move(stop)) {}

  // The same resource in namespace `ns`.
  ResourceClient Namespace(std::string_view ns) const;
  // Calls through the copy give up their rate-limit waits and retries, with IsCancelled(),
  // once `stop` is requested (a request in flight finishes).
  ResourceClient WithStop(std::stop_token stop) const;

  const api::ResourceInfo& resource() const { return *resource_; }
  const std::string& ns() const { return namespace_; }
  RestClient* client() const { return client_; }

  api::ApiResult<api::Object> Get(std::string_view name, const GetOptions& options = {}) const;
  // The list object (kind <Kind>List, metadata.resourceVersion and continue, items). Items
  // carry apiVersion and kind.
  api::ApiResult<api::Object> List(const ListOptions& options = {}) const;
  // Starts a watch (watch=true and `options`); the first event comes from Next().
  api::ApiResult<std::unique_ptr<Watcher>> Watch(const ListOptions& options) const;
  // POST of `obj` (apiVersion and kind filled in when missing). The created object.
  api::ApiResult<api::Object> Create(const api::Object& obj, const WriteOptions& options = {}) const;
  // PUT of `obj` to its name; with metadata.resourceVersion a compare-and-swap (409 Conflict).
  api::ApiResult<api::Object> Update(const api::Object& obj, const WriteOptions& options = {}) const;
  // PUT of `obj` to its name's status subresource.
  api::ApiResult<api::Object> UpdateStatus(const api::Object& obj,
                                           const WriteOptions& options = {}) const;
  // PATCH of the object `name` (or of its `subresource`) with `body` as `type`.
  api::ApiResult<api::Object> Patch(std::string_view name, PatchType type, std::string_view body,
                                    const WriteOptions& options = {},
                                    std::string_view subresource = "") const;
  // DELETE: the object when it was only marked (finalizers, graceful deletion) or when the
  // server returns it, else a Status object (kind Status, status Success).
  api::ApiResult<api::Object> Delete(std::string_view name, const DeleteOptions& options = {}) const;
  // DELETE of the collection matching `list_options`' selectors: the list of what was deleted.
  api::ApiResult<api::Object> DeleteCollection(const DeleteOptions& options,
                                               const ListOptions& list_options = {}) const;
  // GET, PUT and POST of a subresource of `name`: scale, status, binding, eviction, token...
  api::ApiResult<api::Object> GetSubresource(std::string_view name,
                                             std::string_view subresource) const;
  api::ApiResult<api::Object> UpdateSubresource(std::string_view name,
                                                std::string_view subresource,
                                                const api::Object& body,
                                                const WriteOptions& options = {}) const;
  api::ApiResult<api::Object> CreateSubresource(std::string_view name,
                                                std::string_view subresource,
                                                const api::Object& body,
                                                const WriteOptions& options = {}) const;

  // The URL path of the collection, or of `name` and its `subresource`:
  // /api/v1/namespaces/NS/pods/NAME/binding.
  std::string Path(std::string_view name = "", std::string_view subresource = "") const;

 private:
  api::ApiResult<api::Object> Write(std::string method, std::string_view name,
                                    std::string_view subresource, const api::Object& obj,
                                    const WriteOptions& options) const;

  RestClient* client_;
  const api::ResourceInfo* resource_;
  std::string namespace_;
  std::stop_token stop_;
};

class RestClient {
 public:
  // A client sending through `transport` (shared with other clients if wanted). Time (rate
  // limits, backoff) from `clock`, the system's when null.
  RestClient(RestConfig config, std::shared_ptr<Transport> transport,
             std::shared_ptr<const Clock> clock = nullptr);
  // A client with an HTTP transport to config.server (see NewHttpTransport for errors).
  static Result<std::unique_ptr<RestClient>> NewHttp(RestConfig config,
                                                     std::shared_ptr<const Clock> clock = nullptr);
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // A resource of the built-in registry (api::ResourceRegistry::BuiltIn()), or one described
  // by the caller (which must outlive the client).
  ResourceClient Resource(const api::ResourceInfo& resource);
  // The resource `resource` of `group` at the version the registry serves. NotFound when the
  // registry has no such resource.
  api::ApiResult<ResourceClient> Resource(std::string_view group, std::string_view resource);

  // One request, rate limited and retried; any answer the server gives (errors only for a
  // transport failure or cancellation). Adds the Authorization and User-Agent headers.
  api::ApiResult<api::HttpResponse> Do(api::HttpRequest request, std::stop_token stop = {});
  // Do(), then decodes a 2xx body into an object (JSON or protobuf) or an error answer into
  // its ApiError.
  api::ApiResult<api::Object> DoObject(api::HttpRequest request, std::stop_token stop = {});
  // Opens a watch stream of `resource` (whose kind fills events' objects that lack one):
  // rate limited, retried as Do() while no stream has started; an answer other than 200 is
  // its ApiError (410 Expired for a too-old resourceVersion).
  api::ApiResult<std::unique_ptr<Watcher>> DoWatch(api::HttpRequest request,
                                                   const api::ResourceInfo& resource,
                                                   std::stop_token stop = {});

  const RestConfig& config() const { return config_; }
  const std::shared_ptr<const Clock>& clock() const { return clock_; }
  Transport& transport() { return *transport_; }

 private:
  // The wait before retry number `retry` (0-based) after `response` (null for a transport
  // failure); nullopt when no retry is due.
  std::optional<std::chrono::nanoseconds> RetryWait(const api::HttpRequest& request,
                                                    const api::HttpResponse* response,
                                                    const Status& failure, int retry);
  void AddHeaders(api::HttpRequest* request) const;

  const RestConfig config_;
  const std::shared_ptr<Transport> transport_;
  const std::shared_ptr<const Clock> clock_;
  TokenBucket limiter_;
  mutable std::mutex mu_;
  uint64_t rng_state_;                      // guarded by mu_: jitter
  mutable std::string file_token_;          // guarded by mu_: bearer_token_file's content
  mutable Clock::MonoTime file_token_read_{};  // guarded by mu_: when it was read (zero: never)
};

// Whether `e` is a transport failure (no connection, connection lost, timeout) rather than a
// server's answer.
bool IsConnectionFailure(const api::ApiError& e);
// Whether the call was cut short by its stop token.
bool IsCancelled(const api::ApiError& e);

}  // namespace keelson::client
