// RestStorage: what the verb handlers (handlers/) call for one path of the API — a resource
// (GenericStore, registry/store.h) or one of its subresources (registry/subresources.h). It
// speaks objects and ApiErrors, never HTTP, so the same storage serves the HTTP handlers and
// in-process callers (tests, and components sharing the server's process).
//
// Each method a storage does not support answers 405 MethodNotAllowed. Reads return at once;
// writes, lists and watches answer through a callback, called exactly once, from any thread
// (a store commit completes a write on the store's thread), so that no thread waits for a
// commit.
//
// Thread-safety: every method may be called from any thread at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/fields.h"
#include "api/labels.h"
#include "api/object.h"
#include "api/resources.h"
#include "apiserver/apply.h"
#include "apiserver/chain.h"
#include "apiserver/list_options.h"
#include "apiserver/patch.h"
#include "apiserver/warnings.h"
#include "apiserver/watch_cache.h"

namespace keelson::apiserver {

// How unknown fields of a body are treated (?fieldValidation=).
enum class FieldValidation { kWarn, kStrict, kIgnore };

// The request a storage serves: which object, for whom, and how.
struct RequestContext {
  std::string ns;    // the object's namespace; "" for cluster-scoped resources
  std::string name;  // the object; "" for creates and collections
  // Who asks (admission sees it); null for requests the server makes itself.
  std::shared_ptr<const RequestAttributes> attrs;
  bool dry_run = false;          // every step runs, nothing is written
  std::string field_manager;     // who writes, for managedFields ("" is "unknown")
  FieldValidation field_validation = FieldValidation::kWarn;
  std::shared_ptr<Warnings> warnings;  // may be null
};

// A delete's DeleteOptions, as the handler read them from the body and query.
struct DeleteOptions {
  // How dependents go (propagationPolicy): nullopt leaves it to orphanDependents, then the
  // object's finalizers, then the kind's default.
  enum class Propagation { kOrphan, kBackground, kForeground };
  std::optional<Propagation> propagation;
  std::optional<bool> orphan_dependents;  // the deprecated orphanDependents
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;               // "" when not set
  std::string precondition_resource_version;  // "" when not set
};

// A list or watch request's label and field selectors.
struct Selection {
  api::LabelSelector labels;
  api::FieldSelector fields;
  std::vector<std::string> field_paths;  // the paths `fields` reads (the kind's selectable fields)

  bool Everything() const { return labels.Empty() && fields.Empty(); }
  bool Matches(const api::Object& obj) const;
  // The same test against the watch cache's index of an object.
  bool Matches(const CachedObject& obj) const;
  // A filter for the watch cache; null when everything matches.
  ObjectFilter Filter() const;
};

struct ListRequest {
  ListOptions options;
  Selection selection;
};

// A list's answer: the objects in key order at `revision`.
struct ListResult {
  int64_t revision = 0;
  std::string continue_token;  // "" on the last page
  // Objects after this page, when known (lists without selectors): remainingItemCount.
  std::optional<int64_t> remaining_item_count;
  std::vector<ObjectPtr> items;
  // Set when the list is a whole collection read from the store in pages: each call returns
  // the next page (empty at the end), so that memory stays small however large the list.
  std::function<api::ApiResult<std::vector<ObjectPtr>>()> next_page;
};

using ObjectCallback = std::function<void(api::ApiResult<api::Object>)>;
using ListCallback = std::function<void(api::ApiResult<ListResult>)>;
using WatchCallback = std::function<void(api::ApiResult<std::shared_ptr<CacheWatch>>)>;
// The answer of an apply: the object, and whether the apply created it.
using ApplyCallback = std::function<void(api::ApiResult<api::Object>, bool created)>;

// The answer of a deletecollection: what was deleted (or marked), at the list's revision.
struct DeletedObjects {
  int64_t revision = 0;
  std::vector<api::Object> items;
};
using DeletedCallback = std::function<void(api::ApiResult<DeletedObjects>)>;
// An update's change: the new object (in the storage's form: the object, or a Scale) from the
// current one. An error stops the update and is its answer.
using UpdateFn = std::function<api::ApiResult<api::Object>(const api::Object& current)>;

class RestStorage {
 public:
  virtual ~RestStorage() = default;

  // The kind of the objects this path takes and answers (for a subresource: Scale, Binding,
  // Eviction, TokenRequest, or the resource's own kind).
  virtual const api::ResourceInfo& kind() const = 0;

  // GET of one object.
  virtual api::ApiResult<api::Object> Get(const RequestContext& ctx);
  // LIST.
  virtual void List(const RequestContext& ctx, const ListRequest& req, ListCallback done);
  // WATCH. Once the watch can begin, `start` is called (the caller starts its stream) and
  // returns the sink the events go to; then `done` gets the running watch, or an error:
  // before `start`, 429 (not ready) or 504 (a resourceVersion not reached in time); after
  // it, 410 Expired (the resourceVersion is too old), which the caller reports in the stream.
  virtual void Watch(const RequestContext& ctx, const ListRequest& req,
                     std::function<std::shared_ptr<WatchSink>()> start, WatchCallback done);
  // POST: `obj` is decoded and defaulted.
  virtual void Create(const RequestContext& ctx, api::Object obj, ObjectCallback done);
  // PUT: `obj` replaces the object; its resourceVersion, when set, is a precondition.
  virtual void Update(const RequestContext& ctx, api::Object obj, ObjectCallback done);
  // PATCH: `patch` (the body) applied to the object's current form.
  virtual void Patch(const RequestContext& ctx, PatchType type, std::string patch,
                     ObjectCallback done);
  // Server-side apply of `config` (decoded) for ctx.field_manager; creates when missing.
  virtual void Apply(const RequestContext& ctx, api::Object config, bool force,
                     ApplyCallback done);
  // DELETE of one object: the answer is the object as deleted, or as marked for deletion.
  virtual void Delete(const RequestContext& ctx, const DeleteOptions& opts, ObjectCallback done);
  virtual void DeleteCollection(const RequestContext& ctx, const DeleteOptions& opts,
                                const Selection& selection, DeletedCallback done);

  // Whether Create never waits on the store (it only submits a write), so that it may run on
  // an HTTP thread rather than the request executor.
  virtual bool CreateNeverBlocks() const { return false; }
};

}  // namespace keelson::apiserver
