// GenericStore: the kind-agnostic registry store (upstream's genericregistry.Store). One per
// stored resource; everything that differs between kinds is asked of its Strategy
// (strategy.h), and side effects that must commit with the object (a Service's addresses and
// ports) are its WriteHooks. Reads of single objects go to the store, lists and watches to
// the resource's watch cache (watch_cache.h), writes are transactions with a compare on the
// revision they were computed from.
//
//   Create: name (generateName) -> admission -> identity -> Strategy::PrepareForCreate ->
//           Strategy::Validate -> managedFields -> hooks -> put if absent
//   Update: read -> the caller's change -> Strategy::PrepareForUpdate -> admission ->
//           Strategy::ValidateUpdate -> managedFields -> hooks -> put if unchanged (retried on
//           a concurrent write where the change allows); an object being deleted whose last
//           finalizer goes is deleted instead
//   Delete: read -> admission -> preconditions -> Strategy::GracePeriod -> mark (finalizers,
//           grace) or delete -> hooks
//
// Thread-safety: every method may be called from any thread at once. Callbacks run on the
// calling thread, a store thread, or the executor.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "apiserver/registry/rest.h"
#include "apiserver/strategy.h"
#include "apiserver/watch_caches.h"
#include "common/clock.h"
#include "common/executor.h"
#include "store/store.h"

namespace keelson::apiserver {

// Writes that belong in an object's own transaction (claims and releases of things the
// object holds, such as a Service's ClusterIP). The hooks add compares and operations to the
// transaction; a transaction that then fails on a compare other than the object's own is
// tried again (create) with fresh claims.
class WriteHooks {
 public:
  virtual ~WriteHooks() = default;
  // A new object about to be stored: may complete it (allocations) and claim in `txn`.
  virtual api::FieldCauses OnCreate(api::Object* obj, store::TxnRequest* txn) = 0;
  // `obj` about to replace `old`.
  virtual api::FieldCauses OnUpdate(const api::Object& old, api::Object* obj,
                                    store::TxnRequest* txn) = 0;
  // `obj` about to be removed from the store.
  virtual void OnDelete(const api::Object& obj, store::TxnRequest* txn) = 0;
};

// What every store of a server shares. Everything must outlive the stores.
struct StoreDeps {
  store::Store* store = nullptr;
  WatchCaches* caches = nullptr;
  const AdmissionChain* admission = nullptr;  // null: nothing to admit
  std::shared_ptr<const Clock> clock;
  Executor* executor = nullptr;  // retries after a failed commit
};

inline constexpr std::string_view kOrphanFinalizer = "orphan";
inline constexpr std::string_view kForegroundFinalizer = "foregroundDeletion";

class GenericStore final : public RestStorage {
 public:
  // `resource` and `strategy` must outlive the store; `hooks` may be null.
  GenericStore(const api::ResourceInfo& resource, const Strategy& strategy, StoreDeps deps,
               WriteHooks* hooks = nullptr);

  const api::ResourceInfo& kind() const override { return resource_; }
  const Strategy& strategy() const { return strategy_; }

  api::ApiResult<api::Object> Get(const RequestContext& ctx) override;
  void List(const RequestContext& ctx, const ListRequest& req, ListCallback done) override;
  void Watch(const RequestContext& ctx, const ListRequest& req,
             std::function<std::shared_ptr<WatchSink>()> start, WatchCallback done) override;
  void Create(const RequestContext& ctx, api::Object obj, ObjectCallback done) override;
  void Update(const RequestContext& ctx, api::Object obj, ObjectCallback done) override;
  void Patch(const RequestContext& ctx, PatchType type, std::string patch,
             ObjectCallback done) override;
  void Apply(const RequestContext& ctx, api::Object config, bool force,
             ApplyCallback done) override;
  void Delete(const RequestContext& ctx, const DeleteOptions& opts, ObjectCallback done) override;
  // Deletes each matching object as Delete would, one after the other.
  void DeleteCollection(const RequestContext& ctx, const DeleteOptions& opts,
                        const Selection& selection, DeletedCallback done) override;
  // A create waits on nothing (the write is submitted, its answer comes from the commit)
  // unless hooks read the store for their claims.
  bool CreateNeverBlocks() const override { return hooks_ == nullptr; }

  // An update through `strategy` (a subresource's: status, scale, finalize, binding): reads
  // the object, asks `change` for the new one, prepares and validates it with `strategy` and
  // writes it with a compare on the revision read. On a concurrent write it reads again and
  // asks `change` again (at most 5 times) when `retry` is set, else answers 409 Conflict.
  void UpdateWith(const Strategy& strategy, const RequestContext& ctx, UpdateFn change,
                  bool retry, ObjectCallback done);

  // The object as clients see it (resourceVersion set), read from the store; NotFound when
  // there is none.
  api::ApiResult<api::Object> Read(std::string_view ns, std::string_view name);
  // The object as the watch cache holds it (it may lag the store by the time a change takes to
  // arrive), or from the store when the cache is not ready or does not have it. For checks
  // that upstream makes against an informer's cache (admission).
  api::ApiResult<api::Object> ReadCached(std::string_view ns, std::string_view name);
  // Every object of the collection (all namespaces for ns ""), read from the store, with the
  // revision it was read at.
  api::ApiResult<std::pair<int64_t, std::vector<api::Object>>> ReadCollection(
      std::string_view ns);
  // The store key of an object, and of a collection (all namespaces for ns "").
  std::string Key(std::string_view ns, std::string_view name) const;
  std::string CollectionPrefix(std::string_view ns) const;
  // The resource's watch cache (started on first use); null once the server stops.
  WatchCache* Cache() const;
  // Decodes a stored value as clients see it (resourceVersion from the store).
  static api::ApiResult<api::Object> Decode(const store::KeyValue& kv);

 private:
  struct UpdateRun;
  struct CollectionDelete;
  void DeleteNext(std::shared_ptr<CollectionDelete> run);
  void UpdateAttempt(std::shared_ptr<UpdateRun> run, int attempt);
  void WriteUpdate(std::shared_ptr<UpdateRun> run, const api::Object& old, api::Object obj,
                   int64_t expect, int attempt);
  void CreateObject(const RequestContext& ctx, api::Object obj, bool track_fields,
                    ObjectCallback done);
  void CommitCreate(std::shared_ptr<const RequestContext> ctx, api::Object obj, int attempt,
                    ObjectCallback done);
  // `return_object`: answer a removed object itself rather than a Status Success.
  void DeleteAttempt(std::shared_ptr<const RequestContext> ctx, DeleteOptions opts, int attempt,
                     bool return_object, ObjectCallback done);
  // The Status Success of a delete of `obj`.
  api::Object Deleted(const api::Object& obj) const;
  // The object's finalizers once a delete with `opts` has set the garbage collector's ones
  // (orphan, foregroundDeletion) as upstream decides them; the current list when unchanged.
  std::vector<std::string> GcFinalizers(const api::Object& obj, const DeleteOptions& opts) const;
  // An apply: an update whose change is the merge of `config` (retried on a concurrent
  // write), or a create when the object does not exist.
  void ApplyAttempt(std::shared_ptr<const RequestContext> ctx, api::Object config, bool force,
                    ApplyCallback done);
  std::optional<api::ApiError> Admit(const RequestContext& ctx, std::string_view operation,
                                     std::string_view name, const api::Object* old,
                                     api::Object* obj) const;
  ManagerInfo Manager(const RequestContext& ctx) const;
  // The request's namespace on a namespaced object (400 when the object names another), none
  // on a cluster-scoped one, as upstream's BeforeCreate and BeforeUpdate set it.
  std::optional<api::ApiError> SetNamespace(const RequestContext& ctx, api::Object* obj) const;
  void ListFromCache(std::shared_ptr<const ListRequest> req, std::string prefix,
                     int64_t revision, std::string after, ListCallback done);
  void ListFromStore(std::shared_ptr<const ListRequest> req, std::string prefix,
                     int64_t revision, std::string after, ListCallback done);
  api::ApiResult<int64_t> CurrentRevision(const std::string& key);
  ObjectPtr Cached(const store::KeyValue& kv) const;
  // The value of the kind's indexed field `selection` requires, if any.
  std::optional<std::string> IndexValue(const Selection& selection) const;

  const api::ResourceInfo& resource_;
  const Strategy& strategy_;
  const StoreDeps deps_;
  WriteHooks* const hooks_;
  const std::vector<std::string> field_paths_;  // the kind's selectable fields
};

}  // namespace keelson::apiserver
