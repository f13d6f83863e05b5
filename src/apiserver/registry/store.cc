#include "apiserver/registry/store.h"

#include <boost/json.hpp>

#include <random>

#include "api/json_limits.h"
#include "api/defaults.h"
#include "api/validation.h"
#include "apiserver/apply.h"
#include "apiserver/registry/decode.h"
#include "apiserver/validate.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

// How long a read waits for the watch cache to catch up with a revision (upstream's 3 s).
constexpr auto kFreshWait = std::chrono::seconds(3);
// Attempts of a write whose compare failed because of a concurrent write.
constexpr int kMaxAttempts = 5;

store::Compare ModRevisionIs(const std::string& key, int64_t revision) {
  return store::Compare{store::Compare::Result::kEqual, store::Compare::Target::kMod, key, "",
                        revision, ""};
}

store::Compare Absent(const std::string& key) {
  return store::Compare{store::Compare::Result::kEqual, store::Compare::Target::kCreate, key,
                        "", 0, ""};
}

// The stored form: everything but metadata.resourceVersion (the store's revision), which is
// taken out of `obj`.
std::string Serialized(api::Object* obj) {
  api::MutableMetadata(obj).erase("resourceVersion");
  return json::serialize(*obj);
}

std::string GenerateName(std::string_view prefix) {
  static const char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
  thread_local std::mt19937 rng{std::random_device{}()};
  std::string name(prefix);
  for (int i = 0; i < 5; ++i) name += kAlnum[rng() % (sizeof(kAlnum) - 1)];
  return name;
}

api::ApiError TooLargeResourceVersion(const std::string& message) {
  json::object cause{{"reason", "ResourceVersionTooLarge"},
                     {"message", "Too large resource version"}};
  return api::NewTimeout("Timeout: " + message,
                         json::object{{"causes", json::array{std::move(cause)}},
                                      {"retryAfterSeconds", 1}});
}

api::ApiError Initializing() {
  return api::NewTooManyRequests("storage is (re)initializing", 1);
}

}  // namespace

// One update in progress: what it changes and how, carried across attempts.
struct GenericStore::UpdateRun {
  const Strategy* strategy;
  RequestContext ctx;
  UpdateFn change;
  bool retry = false;
  bool track_fields = true;
  // Called instead of answering NotFound when the object does not exist (apply creates).
  std::function<void()> on_missing;
  ObjectCallback done;
};

GenericStore::GenericStore(const api::ResourceInfo& resource, const Strategy& strategy,
                           StoreDeps deps, WriteHooks* hooks)
    : resource_(resource), strategy_(strategy), deps_(std::move(deps)), hooks_(hooks),
      field_paths_(strategy.SelectableFields()) {}

std::string GenericStore::Key(std::string_view ns, std::string_view name) const {
  return resource_.StoragePrefix() + (resource_.namespaced ? std::string(ns) + "/" : "") +
         std::string(name);
}

std::string GenericStore::CollectionPrefix(std::string_view ns) const {
  return resource_.StoragePrefix() +
         (resource_.namespaced && !ns.empty() ? std::string(ns) + "/" : "");
}

WatchCache* GenericStore::Cache() const {
  return deps_.caches ? deps_.caches->For(resource_, field_paths_, strategy_.IndexedField())
                      : nullptr;
}

std::optional<std::string> GenericStore::IndexValue(const Selection& selection) const {
  std::string field = strategy_.IndexedField();
  if (field.empty()) return std::nullopt;
  return selection.fields.RequiresExactMatch(field);
}

api::ApiResult<api::Object> GenericStore::Decode(const store::KeyValue& kv) {
  boost::system::error_code ec;
  json::value v = json::parse(kv.value, ec, {}, api::JsonParseOptions());
  if (ec || !v.is_object()) {
    return api::NewInternalError("stored object at " + kv.key + " is not JSON");
  }
  api::SetResourceVersion(&v.as_object(), kv.mod_revision);
  return std::move(v.as_object());
}

api::ApiResult<api::Object> GenericStore::Read(std::string_view ns, std::string_view name) {
  auto kv = deps_.store->Get(Key(ns, name));
  if (!kv.ok()) {
    if (kv.status().code() == StatusCode::kNotFound) return api::NewNotFound(resource_, name);
    return api::ApiError::FromStatus(kv.status());
  }
  return Decode(*kv);
}

api::ApiResult<api::Object> GenericStore::ReadCached(std::string_view ns, std::string_view name) {
  if (WatchCache* cache = Cache()) {
    auto cached = cache->Get(Key(ns, name));
    if (cached.ok() && *cached) {
      boost::system::error_code ec;
      json::value v = json::parse((*cached)->json(), ec, {}, api::JsonParseOptions());
      if (!ec && v.is_object()) return std::move(v.as_object());
    }
  }
  return Read(ns, name);
}

api::ApiResult<api::Object> GenericStore::Get(const RequestContext& ctx) {
  return Read(ctx.ns, ctx.name);
}

std::optional<api::ApiError> GenericStore::Admit(const RequestContext& ctx,
                                                 std::string_view operation,
                                                 std::string_view name, const api::Object* old,
                                                 api::Object* obj) const {
  if (deps_.admission == nullptr) return std::nullopt;
  RequestAttributes a;
  if (ctx.attrs) {
    a = *ctx.attrs;
  } else {
    a.resource_request = true;
    a.api_group = resource_.group;
    a.api_version = resource_.version;
    a.resource = resource_.resource;
  }
  a.ns = ctx.ns;
  a.name = std::string(name);
  return deps_.admission->Admit(AdmissionRequest{operation, a, old, obj});
}

ManagerInfo GenericStore::Manager(const RequestContext& ctx) const {
  return {ctx.field_manager.empty() ? "unknown" : ctx.field_manager, resource_.GroupVersion(),
          api::FormatTime(deps_.clock->Now())};
}

// --- create ---------------------------------------------------------------------------------

void GenericStore::Create(const RequestContext& ctx, api::Object obj, ObjectCallback done) {
  if (auto err = DecodeChecks(resource_, &strategy_, ctx, &obj)) return done(std::move(*err));
  CreateObject(ctx, std::move(obj), /*track_fields=*/true, std::move(done));
}

std::optional<api::ApiError> GenericStore::SetNamespace(const RequestContext& ctx,
                                                        api::Object* obj) const {
  auto& meta = api::MutableMetadata(obj);
  if (!resource_.namespaced) {
    meta.erase("namespace");
    return std::nullopt;
  }
  if (std::string_view ns = api::GetNamespace(*obj); !ns.empty() && ns != ctx.ns) {
    return api::NewBadRequest(
        "the namespace of the provided object does not match the namespace sent on the request");
  }
  meta["namespace"] = ctx.ns;
  return std::nullopt;
}

void GenericStore::CreateObject(const RequestContext& ctx, api::Object obj, bool track_fields,
                                ObjectCallback done) {
  if (auto err = SetNamespace(ctx, &obj)) return done(std::move(*err));
  std::string name(api::GetName(obj));
  const std::string generate_name(api::GetGenerateName(obj));
  if (name.empty()) {
    if (generate_name.empty()) {
      return done(api::NewInvalid(
          resource_, "", {{"metadata.name", "Required value: name or generateName is required"}}));
    }
    name = GenerateName(generate_name);
    api::SetName(&obj, name);
  }
  api::FieldCauses causes;
  if (!generate_name.empty()) {
    causes = NameCauses("metadata.generateName", generate_name,
                        strategy_.NameErrors(generate_name, true));
  }
  for (auto& c : NameCauses("metadata.name", name, strategy_.NameErrors(name, false))) {
    causes.push_back(std::move(c));
  }
  if (!causes.empty()) return done(api::NewInvalid(resource_, name, causes));
  if (auto err = Admit(ctx, "CREATE", name, nullptr, &obj)) return done(std::move(*err));
  auto& meta = api::MutableMetadata(&obj);
  for (const char* f : {"resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"}) {
    meta.erase(f);
  }
  meta["uid"] = api::NewUid();
  meta["creationTimestamp"] = api::FormatTime(deps_.clock->Now());
  strategy_.PrepareForCreate(&obj);
  if (auto problems = strategy_.Validate(obj); !problems.empty()) {
    return done(api::NewInvalid(resource_, name, problems));
  }
  if (track_fields && strategy_.type() != nullptr) {
    TrackUpdate(*strategy_.type(), nullptr, &obj, Manager(ctx));
  }
  if (ctx.dry_run) return done(std::move(obj));
  CommitCreate(std::make_shared<const RequestContext>(ctx), std::move(obj), 0, std::move(done));
}

void GenericStore::CommitCreate(std::shared_ptr<const RequestContext> ctx, api::Object obj,
                                int attempt, ObjectCallback done) {
  const std::string name(api::GetName(obj));
  const std::string key = Key(ctx->ns, name);
  store::TxnRequest txn;
  txn.compare.push_back(Absent(key));
  // The hooks complete the object (its claims): a try after a lost claim starts from the
  // object as it was.
  std::optional<api::Object> original;
  if (hooks_ != nullptr) {
    original = obj;
    if (auto causes = hooks_->OnCreate(&obj, &txn); !causes.empty()) {
      return done(api::NewInvalid(resource_, name, causes));
    }
  }
  store::RequestOp put{store::PutRequest{key, Serialized(&obj)}};
  txn.success.push_back(std::move(put));
  deps_.store->TxnAsync(std::move(txn), [this, ctx, obj = std::move(obj),
                                         original = std::move(original), attempt, key, name,
                                         done = std::move(done)](
                                            Result<store::TxnResponse> res) mutable {
    if (!res.ok()) return done(api::ApiError::FromStatus(res.status()));
    if (res->succeeded) {
      api::SetResourceVersion(&obj, res->revision);
      return done(std::move(obj));
    }
    if (!original) return done(api::NewAlreadyExists(resource_, name));
    // A claim of the hooks may have been taken meanwhile: try again with fresh claims, off
    // the store's thread (the hooks read the store).
    deps_.executor->Post([this, ctx, obj = std::move(*original), attempt, key, name,
                          done = std::move(done)]() mutable {
      if (deps_.store->Get(key).ok()) return done(api::NewAlreadyExists(resource_, name));
      if (attempt + 1 >= kMaxAttempts) {
        return done(api::ApiError{409, "Conflict",
                                  "failed to allocate the " + resource_.singular +
                                      "'s resources; try again",
                                  {}});
      }
      CommitCreate(ctx, std::move(obj), attempt + 1, std::move(done));
    });
  });
}

// --- update ---------------------------------------------------------------------------------

void GenericStore::Update(const RequestContext& ctx, api::Object obj, ObjectCallback done) {
  if (auto err = DecodeChecks(resource_, &strategy_, ctx, &obj)) return done(std::move(*err));
  // A resourceVersion makes the update conditional on it; without one it is unconditional
  // and tried again on a concurrent write.
  const std::string rv(api::GetResourceVersion(obj));
  if (!rv.empty() && rv.find_first_not_of("0123456789") != std::string::npos) {
    return done(api::NewInvalid(resource_, ctx.name,
                                {{"metadata.resourceVersion", "Invalid value: must be a number"}}));
  }
  auto change = [this, obj = std::move(obj), rv,
                 name = ctx.name](const api::Object& current) -> api::ApiResult<api::Object> {
    if (!rv.empty() && rv != api::GetResourceVersion(current)) {
      return api::NewConflict(resource_, name);
    }
    return obj;
  };
  UpdateWith(strategy_, ctx, std::move(change), rv.empty(), std::move(done));
}

void GenericStore::UpdateWith(const Strategy& strategy, const RequestContext& ctx,
                              UpdateFn change, bool retry, ObjectCallback done) {
  auto run = std::make_shared<UpdateRun>();
  run->strategy = &strategy;
  run->ctx = ctx;
  run->change = std::move(change);
  run->retry = retry;
  run->done = std::move(done);
  UpdateAttempt(std::move(run), 0);
}

void GenericStore::UpdateAttempt(std::shared_ptr<UpdateRun> run, int attempt) {
  const RequestContext& ctx = run->ctx;
  auto cur = deps_.store->Get(Key(ctx.ns, ctx.name));
  if (!cur.ok()) {
    if (cur.status().code() != StatusCode::kNotFound) {
      return run->done(api::ApiError::FromStatus(cur.status()));
    }
    if (run->on_missing) return run->on_missing();
    return run->done(api::NewNotFound(resource_, ctx.name));
  }
  auto old = Decode(*cur);
  if (!old.ok()) return run->done(old.error());
  auto next = run->change(*old);
  if (!next.ok()) return run->done(next.error());
  api::Object obj = std::move(*next);
  if (auto err = SetNamespace(ctx, &obj)) return run->done(std::move(*err));
  run->strategy->PrepareForUpdate(&obj, *old);
  if (auto err = Admit(ctx, "UPDATE", ctx.name, &*old, &obj)) return run->done(std::move(*err));
  if (auto problems = run->strategy->ValidateUpdate(obj, *old); !problems.empty()) {
    return run->done(api::NewInvalid(resource_, ctx.name, problems));
  }
  if (run->track_fields && strategy_.type() != nullptr) {
    TrackUpdate(*strategy_.type(), &*old, &obj, Manager(ctx));
  }
  WriteUpdate(std::move(run), *old, std::move(obj), cur->mod_revision, attempt);
}

void GenericStore::WriteUpdate(std::shared_ptr<UpdateRun> run, const api::Object& old,
                               api::Object obj, int64_t expect, int attempt) {
  const RequestContext& ctx = run->ctx;
  store::TxnRequest txn;
  if (hooks_ != nullptr) {
    if (auto causes = hooks_->OnUpdate(old, &obj, &txn); !causes.empty()) {
      return run->done(api::NewInvalid(resource_, ctx.name, causes));
    }
  }
  // What the server owns carries over from the stored object.
  auto& meta = api::MutableMetadata(&obj);
  const api::Object& old_meta = *api::GetMetadata(old);
  for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds"}) {
    if (const auto* v = old_meta.if_contains(f)) {
      meta[f] = *v;
    } else {
      meta.erase(f);
    }
  }
  const std::string key = Key(ctx.ns, ctx.name);
  // An object being deleted goes away once its last finalizer is removed (and its kind's hold
  // is off), unless a graceful deletion is still running (upstream's
  // ShouldDeleteDuringUpdate).
  const auto grace = api::GetDeletionGracePeriodSeconds(obj);
  const bool finalized = api::IsBeingDeleted(obj) && api::GetFinalizers(obj).empty() &&
                         (!grace || *grace == 0) && !strategy_.HoldsDeletion(obj);
  if (finalized) {
    txn = store::TxnRequest();  // nothing to claim for an object that goes
    txn.success.push_back(store::RequestOp{store::DeleteRangeRequest{key, "", false}});
    if (hooks_ != nullptr) hooks_->OnDelete(old, &txn);
  } else {
    txn.success.push_back(store::RequestOp{store::PutRequest{key, Serialized(&obj)}});
  }
  txn.compare.push_back(ModRevisionIs(key, expect));
  if (ctx.dry_run) {
    // What the write would store, at the revision it was computed from.
    api::SetResourceVersion(&obj, expect);
    return run->done(std::move(obj));
  }
  deps_.store->TxnAsync(std::move(txn), [this, run, obj = std::move(obj),
                                         attempt](Result<store::TxnResponse> res) mutable {
    if (!res.ok()) return run->done(api::ApiError::FromStatus(res.status()));
    if (res->succeeded) {
      api::SetResourceVersion(&obj, res->revision);
      return run->done(std::move(obj));
    }
    if (!run->retry || attempt + 1 >= kMaxAttempts) {
      return run->done(api::NewConflict(resource_, run->ctx.name));
    }
    // Someone wrote in between: change the new version, as upstream's GuaranteedUpdate does.
    deps_.executor->Post([this, run, attempt] { UpdateAttempt(run, attempt + 1); });
  });
}

// --- patch and apply ------------------------------------------------------------------------

void GenericStore::Patch(const RequestContext& ctx, PatchType type, std::string patch,
                         ObjectCallback done) {
  auto change = [this, type, patch = std::move(patch),
                 ctx](const api::Object& current) -> api::ApiResult<api::Object> {
    json::value doc = current;
    if (Status st = ApplyPatch(type, patch, strategy_.type(), &doc); !st.ok()) {
      return PatchFailure(st);
    }
    if (!doc.is_object() || !doc.as_object()["metadata"].is_object()) {
      return api::NewBadRequest("the patched object is not a valid object");
    }
    api::Object obj = std::move(doc.as_object());
    if (auto err = DecodeChecks(resource_, &strategy_, ctx, &obj)) return std::move(*err);
    for (const char* f : {"apiVersion", "kind"}) {
      if (obj[f] != current.at(f)) {
        return api::NewBadRequest(std::string("a patch cannot change ") + f);
      }
    }
    const api::Object& meta = *api::GetMetadata(obj);
    const api::Object& old_meta = *api::GetMetadata(current);
    for (const char* f : {"name", "namespace", "uid"}) {
      const auto* a = meta.if_contains(f);
      const auto* b = old_meta.if_contains(f);
      // A patch that drops the uid keeps the stored one.
      if (std::string_view(f) == "uid" && (a == nullptr || *a == "")) continue;
      if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) {
        std::string now = a != nullptr && a->is_string() ? std::string(a->as_string()) : "";
        return api::NewInvalid(resource_, ctx.name,
                               {{std::string("metadata.") + f,
                                 "Invalid value: " + api::GoQuote(now) + ": field is immutable"}});
      }
    }
    // A resourceVersion in the patch is a precondition.
    if (api::GetResourceVersion(obj) != api::GetResourceVersion(current)) {
      return api::NewConflict(resource_, ctx.name);
    }
    return obj;
  };
  UpdateWith(strategy_, ctx, std::move(change), /*retry=*/true, std::move(done));
}

void GenericStore::Apply(const RequestContext& ctx, api::Object config, bool force,
                         ApplyCallback done) {
  const api::TypeDecl* type = strategy_.type();
  if (type == nullptr) {
    return done(api::NewUnsupportedMediaType("apply is not supported for " + resource_.resource),
                false);
  }
  if (ctx.field_manager.empty()) {
    return done(
        api::NewBadRequest("PATCH requests with the apply content type must set a fieldManager"),
        false);
  }
  // The main resource's status belongs to the status subresource: not applied, not owned.
  if (strategy_.HasStatusSubresource()) config.erase("status");
  const auto* av = config.if_contains("apiVersion");
  const auto* kind = config.if_contains("kind");
  if (!av || *av != json::value(resource_.GroupVersion()) || !kind ||
      *kind != json::value(resource_.kind)) {
    return done(api::NewBadRequest("the apply configuration must have apiVersion " +
                                   resource_.GroupVersion() + " and kind " + resource_.kind),
                false);
  }
  auto& m = api::MutableMetadata(&config);
  if (const auto* n = m.if_contains("name"); n && *n != json::value(ctx.name)) {
    return done(api::NewBadRequest("the name of the object (" + json::serialize(*n) +
                                   ") does not match the name on the URL (" + ctx.name + ")"),
                false);
  }
  m["name"] = ctx.name;
  if (resource_.namespaced) m["namespace"] = ctx.ns;
  if (auto err = DecodeChecks(resource_, nullptr, ctx, &config, /*defaults=*/false)) {
    return done(std::move(*err), false);
  }
  ApplyAttempt(std::make_shared<const RequestContext>(ctx), std::move(config), force,
               std::move(done));
}

void GenericStore::ApplyAttempt(std::shared_ptr<const RequestContext> ctx, api::Object config,
                                bool force, ApplyCallback done) {
  const api::TypeDecl* type = strategy_.type();
  const ManagerInfo who = Manager(*ctx);
  auto run = std::make_shared<UpdateRun>();
  run->strategy = &strategy_;
  run->ctx = *ctx;
  run->retry = true;
  run->track_fields = false;  // the apply computes managedFields itself
  run->done = [done](api::ApiResult<api::Object> r) { done(std::move(r), false); };
  run->on_missing = [this, ctx, config, who, force, done] {
    std::vector<ApplyConflict> conflicts;
    api::Object obj = ServerSideApply(*strategy_.type(), nullptr, config, who, force, &conflicts);
    api::ApplyDefaults(*strategy_.type(), &obj);
    strategy_.Canonicalize(&obj);
    CreateObject(*ctx, std::move(obj), /*track_fields=*/false,
                 [done](api::ApiResult<api::Object> r) { done(std::move(r), true); });
  };
  run->change = [this, type, config, who,
                 force](const api::Object& current) -> api::ApiResult<api::Object> {
    std::vector<ApplyConflict> conflicts;
    api::Object obj = ServerSideApply(*type, &current, config, who, force, &conflicts);
    if (!conflicts.empty()) {
      api::ApiError e{409, "Conflict", "", {}};
      e.message = "Apply failed with " + std::to_string(conflicts.size()) +
                  (conflicts.size() == 1 ? " conflict: " : " conflicts: ");
      json::array causes;
      for (size_t i = 0; i < conflicts.size(); ++i) {
        std::string text = "conflict with \"" + conflicts[i].manager + "\" using " +
                           resource_.GroupVersion();
        e.message += (i ? ", " : "") + text + ": " + conflicts[i].field;
        causes.push_back(json::object{{"reason", "FieldManagerConflict"},
                                      {"message", text},
                                      {"field", conflicts[i].field}});
      }
      e.details = api::NewNotFound(resource_, api::GetName(current)).details;
      e.details["causes"] = std::move(causes);
      return e;
    }
    api::ApplyDefaults(*type, &obj);
    strategy_.Canonicalize(&obj);
    return obj;
  };
  UpdateAttempt(std::move(run), 0);
}

// --- delete ---------------------------------------------------------------------------------

void GenericStore::Delete(const RequestContext& ctx, const DeleteOptions& opts,
                          ObjectCallback done) {
  DeleteAttempt(std::make_shared<const RequestContext>(ctx), opts, 0,
                strategy_.ReturnsDeletedObject(), std::move(done));
}

std::vector<std::string> GenericStore::GcFinalizers(const api::Object& obj,
                                                   const DeleteOptions& opts) const {
  using P = DeleteOptions::Propagation;
  const std::vector<std::string> current = api::GetFinalizers(obj);
  auto has = [&](std::string_view f) {
    return std::find(current.begin(), current.end(), f) != current.end();
  };
  // Upstream's order: orphanDependents, then propagationPolicy, then the finalizers already
  // there, then the kind's default.
  bool orphan = false, foreground = false;
  if (opts.orphan_dependents) {
    orphan = *opts.orphan_dependents;
  } else if (opts.propagation) {
    orphan = *opts.propagation == P::kOrphan;
    foreground = *opts.propagation == P::kForeground;
  } else if (has(kOrphanFinalizer)) {
    orphan = true;
  } else if (has(kForegroundFinalizer)) {
    foreground = true;
  } else {
    orphan = strategy_.DefaultGcPolicy() == Strategy::GcPolicy::kOrphanDependents;
  }
  std::vector<std::string> out;
  for (const auto& f : current) {
    if (f != kOrphanFinalizer && f != kForegroundFinalizer) out.push_back(f);
  }
  if (orphan) out.emplace_back(kOrphanFinalizer);
  if (foreground) out.emplace_back(kForegroundFinalizer);
  // The same set in the same order as before is no change.
  if (std::is_permutation(out.begin(), out.end(), current.begin(), current.end())) return current;
  return out;
}

api::Object GenericStore::Deleted(const api::Object& obj) const {
  json::object details{{"name", api::GetName(obj)}};
  if (!resource_.group.empty()) details["group"] = resource_.group;
  details["kind"] = resource_.resource;
  details["uid"] = api::GetUid(obj);
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", "Success"},
          {"details", std::move(details)}};
}

void GenericStore::DeleteAttempt(std::shared_ptr<const RequestContext> ctx, DeleteOptions opts,
                                 int attempt, bool return_object, ObjectCallback done) {
  const std::string key = Key(ctx->ns, ctx->name);
  auto cur = deps_.store->Get(key);
  if (!cur.ok()) {
    return done(cur.status().code() == StatusCode::kNotFound
                    ? api::NewNotFound(resource_, ctx->name)
                    : api::ApiError::FromStatus(cur.status()));
  }
  auto decoded = Decode(*cur);
  if (!decoded.ok()) return done(decoded.error());
  api::Object obj = std::move(*decoded);
  if (auto err = Admit(*ctx, "DELETE", ctx->name, &obj, nullptr)) return done(std::move(*err));
  auto precondition = [&](std::string_view want, std::string_view have,
                          const char* what) -> std::optional<api::ApiError> {
    if (want.empty() || want == have) return std::nullopt;
    auto e = api::NewConflict(resource_, ctx->name);
    e.message = std::string("Precondition failed: ") + what + " in precondition: " +
                std::string(want) + ", " + what + " in object meta: " + std::string(have);
    return e;
  };
  if (auto e = precondition(opts.precondition_uid, api::GetUid(obj), "UID")) return done(*e);
  if (auto e = precondition(opts.precondition_resource_version, api::GetResourceVersion(obj),
                            "ResourceVersion")) {
    return done(*e);
  }
  // A kind deleted gracefully says how long its object lingers; 0 asked of such a kind
  // finishes a deletion already under way.
  const std::optional<int64_t> grace = strategy_.GracePeriod(obj, opts.grace_period_seconds);
  const bool force = grace.has_value() && opts.grace_period_seconds == 0;
  // The garbage collector's finalizers as the options ask (orphan, foregroundDeletion).
  std::vector<std::string> finalizers = GcFinalizers(obj, opts);
  const bool finalizers_changed = finalizers != api::GetFinalizers(obj);
  store::TxnRequest txn;
  txn.compare.push_back(ModRevisionIs(key, cur->mod_revision));
  bool mark = false;
  if (api::IsBeingDeleted(obj) && !force) {
    // Already being deleted: only the propagation may still change, while no grace period
    // runs (upstream: finalizers cannot change once a graceful deletion started).
    const auto running = api::GetDeletionGracePeriodSeconds(obj);
    if (!finalizers_changed || (running && *running > 0)) return done(std::move(obj));
    api::SetFinalizers(&obj, finalizers);
    mark = true;
    txn.success.push_back(store::RequestOp{store::PutRequest{key, Serialized(&obj)}});
    api::SetResourceVersion(&obj, cur->mod_revision);
  } else {
    const int64_t period = grace.value_or(0);
    if (finalizers_changed) api::SetFinalizers(&obj, finalizers);
    mark = !finalizers.empty() || period > 0 || strategy_.HoldsDeletion(obj);
    if (mark) {
      auto& meta = api::MutableMetadata(&obj);
      meta["deletionTimestamp"] =
          api::FormatTime(deps_.clock->Now() + std::chrono::seconds(period));
      meta["deletionGracePeriodSeconds"] = period;
      strategy_.PrepareForDelete(&obj);
      txn.success.push_back(store::RequestOp{store::PutRequest{key, Serialized(&obj)}});
      api::SetResourceVersion(&obj, cur->mod_revision);  // a dry run's answer
    } else {
      txn.success.push_back(store::RequestOp{store::DeleteRangeRequest{key, "", false}});
      if (hooks_ != nullptr) hooks_->OnDelete(obj, &txn);
    }
  }
  // What a delete answers: the object marked for deletion, or gone (as the object or as a
  // Status, by kind).
  const bool as_object = mark || return_object;
  if (ctx->dry_run) return done(as_object ? std::move(obj) : Deleted(obj));
  deps_.store->TxnAsync(std::move(txn), [this, ctx, opts, attempt, mark, return_object,
                                         as_object, obj = std::move(obj),
                                         done = std::move(done)](
                                            Result<store::TxnResponse> res) mutable {
    if (!res.ok()) return done(api::ApiError::FromStatus(res.status()));
    if (!res->succeeded) {
      if (attempt + 1 >= kMaxAttempts) return done(api::NewConflict(resource_, ctx->name));
      return deps_.executor->Post(
          [this, ctx, opts, attempt, return_object, done = std::move(done)]() mutable {
            DeleteAttempt(ctx, opts, attempt + 1, return_object, std::move(done));
          });
    }
    if (mark) api::SetResourceVersion(&obj, res->revision);
    done(as_object ? std::move(obj) : Deleted(obj));
  });
}

// One deletecollection in progress: the objects to delete, one after the other.
struct GenericStore::CollectionDelete {
  RequestContext ctx;
  DeleteOptions opts;
  std::vector<api::Object> matching;
  size_t next = 0;
  DeletedObjects out;
  DeletedCallback done;
};

void GenericStore::DeleteCollection(const RequestContext& ctx, const DeleteOptions& opts,
                                    const Selection& selection, DeletedCallback done) {
  auto all = ReadCollection(ctx.ns);
  if (!all.ok()) return done(all.error());
  auto run = std::make_shared<CollectionDelete>();
  run->ctx = ctx;
  run->opts = opts;
  run->out.revision = all->first;
  for (auto& obj : all->second) {
    if (selection.Matches(obj)) run->matching.push_back(std::move(obj));
  }
  run->done = std::move(done);
  DeleteNext(std::move(run));
}

void GenericStore::DeleteNext(std::shared_ptr<CollectionDelete> run) {
  if (run->next == run->matching.size()) return run->done(std::move(run->out));
  const api::Object& obj = run->matching[run->next++];
  RequestContext item = run->ctx;
  item.name = std::string(api::GetName(obj));
  item.ns = std::string(api::GetNamespace(obj));
  // Each delete is answered on a store thread: go on from the executor.
  auto ctx = std::make_shared<const RequestContext>(std::move(item));
  DeleteAttempt(ctx, run->opts, 0, /*return_object=*/true, [this, run](api::ApiResult<api::Object> r) {
    if (!r.ok() && !api::IsNotFound(r.error())) return run->done(r.error());
    if (r.ok()) run->out.items.push_back(std::move(*r));  // a NotFound went meanwhile
    deps_.executor->Post([this, run] { DeleteNext(run); });
  });
}

api::ApiResult<std::pair<int64_t, std::vector<api::Object>>> GenericStore::ReadCollection(
    std::string_view ns) {
  store::RangeRequest rr;
  rr.key = CollectionPrefix(ns);
  rr.range_end = store::PrefixEnd(rr.key);
  auto res = deps_.store->Range(rr);
  if (!res.ok()) return api::ApiError::FromStatus(res.status());
  std::vector<api::Object> out;
  for (const auto& kv : res->kvs) {
    if (auto obj = Decode(kv); obj.ok()) out.push_back(std::move(*obj));
  }
  return std::make_pair(res->revision, std::move(out));
}

// --- list and watch -------------------------------------------------------------------------

api::ApiResult<int64_t> GenericStore::CurrentRevision(const std::string& key) {
  store::RangeRequest rr;
  rr.key = key;  // one key: cheap, and the answer carries the store's revision
  rr.keys_only = true;
  auto res = deps_.store->Range(rr);
  if (!res.ok()) return api::ApiError::FromStatus(res.status());
  return res->revision;
}

ObjectPtr GenericStore::Cached(const store::KeyValue& kv) const {
  auto o = CachedObject::Build(kv.key, kv.value, kv.mod_revision, field_paths_);
  return o.ok() ? *o : nullptr;
}

void GenericStore::List(const RequestContext& ctx, const ListRequest& req, ListCallback done) {
  const ListOptions& opts = req.options;
  auto shared = std::make_shared<const ListRequest>(req);
  std::string prefix = CollectionPrefix(ctx.ns);
  WatchCache* cache = Cache();
  if (!opts.continue_token.empty()) {
    // Pagination: `continue` carries the revision of the list's snapshot and the last key
    // returned; every page is read at that revision.
    if (!opts.resource_version.empty() && opts.resource_version != "0") {
      return done(api::NewBadRequest(
          "specifying resource version is not allowed when using continue"));
    }
    auto tok = DecodeContinue(opts.continue_token);
    if (!tok.ok()) return done(api::NewBadRequest(tok.status().message()));
    return ListFromCache(shared, prefix, tok->revision, tok->last_key, std::move(done));
  }
  if (cache == nullptr) return ListFromStore(shared, prefix, 0, "", std::move(done));
  const ListRead read = ListReadOf(opts);
  const int64_t n = opts.revision;
  // The revision the cache must have reached: for a consistent read the store's current one
  // (upstream's consistent list from the watch cache), else the one asked for.
  int64_t min_revision = read == ListRead::kAny ? 0 : n;
  if (read == ListRead::kConsistent) {
    auto current = CurrentRevision(prefix);
    if (!current.ok()) return ListFromStore(shared, prefix, 0, "", std::move(done));
    min_revision = *current;
  }
  cache->WhenFresh(
      min_revision, deps_.clock->Monotonic() + kFreshWait,
      [this, shared, prefix, read, n, done = std::move(done)](Result<int64_t> fresh) mutable {
        if (!fresh.ok() && fresh.status().code() == StatusCode::kDeadlineExceeded &&
            (read == ListRead::kNotOlderThan || read == ListRead::kExact)) {
          return done(TooLargeResourceVersion(fresh.status().message()));
        }
        const int64_t at = read == ListRead::kExact ? n : 0;
        // Off the cache's thread: the list may read the store.
        deps_.executor->Post([this, shared, prefix, at, ok = fresh.ok(),
                              done = std::move(done)]() mutable {
          // Not ready, or behind the store for longer than it should be: read the store.
          if (!ok) return ListFromStore(shared, prefix, at, "", std::move(done));
          ListFromCache(shared, prefix, at, "", std::move(done));
        });
      });
}

void GenericStore::ListFromCache(std::shared_ptr<const ListRequest> req, std::string prefix,
                                 int64_t revision, std::string after, ListCallback done) {
  WatchCache* cache = Cache();
  if (cache == nullptr) return ListFromStore(req, prefix, revision, after, std::move(done));
  CacheListRequest cr;
  cr.prefix = prefix;
  cr.after = after;
  cr.limit = req->options.limit;
  cr.revision = revision;
  cr.filter = req->selection.Filter();
  cr.index_value = IndexValue(req->selection);
  auto res = cache->List(cr);
  // A revision the cache does not hold: the store has it, or says it is gone.
  if (!res.ok()) return ListFromStore(req, prefix, revision, after, std::move(done));
  ListResult out;
  out.revision = res->revision;
  if (res->more && !res->items.empty()) {
    out.continue_token = EncodeContinue(res->revision, res->items.back()->key());
    out.remaining_item_count = res->remaining;
  }
  out.items = std::move(res->items);
  done(std::move(out));
}

void GenericStore::ListFromStore(std::shared_ptr<const ListRequest> req, std::string prefix,
                                 int64_t revision, std::string after, ListCallback done) {
  const bool continued = !after.empty();
  const bool whole = req->options.limit <= 0 && !continued;
  store::RangeRequest rr;
  rr.key = continued ? after + '\0' : prefix;
  rr.range_end = store::PrefixEnd(prefix);
  rr.revision = revision;
  // A whole collection is read in pages of 500 at one revision; a page as asked, counting the
  // rest of the collection for remainingItemCount when the list has no selectors.
  rr.limit = whole ? 500 : req->options.limit;
  rr.skip_count = whole || !req->selection.Everything();
  auto res = deps_.store->Range(rr);
  if (!res.ok()) {
    if (res.status().code() == StatusCode::kGone && continued) {
      return done(api::NewExpired(
          "The provided continue parameter is too old to display a consistent list result. "
          "You can start a new list without the continue parameter."));
    }
    return done(api::ApiError::FromStatus(res.status()));
  }
  ListResult out;
  out.revision = rr.revision > 0 ? rr.revision : res->revision;
  auto matching = [this, req](const std::vector<store::KeyValue>& kvs) {
    std::vector<ObjectPtr> items;
    for (const auto& kv : kvs) {
      ObjectPtr o = Cached(kv);
      if (o && req->selection.Matches(*o)) items.push_back(std::move(o));
    }
    return items;
  };
  out.items = matching(res->kvs);
  if (whole) {
    // The next pages, read at the same revision as the client consumes them.
    rr.revision = out.revision;
    auto state = std::make_shared<std::pair<store::RangeRequest, bool>>(rr, res->more);
    if (!res->kvs.empty()) state->first.key = res->kvs.back().key + '\0';
    out.next_page = [this, state, matching]() -> api::ApiResult<std::vector<ObjectPtr>> {
      if (!state->second) return std::vector<ObjectPtr>();
      auto page = deps_.store->Range(state->first);
      if (!page.ok()) return api::ApiError::FromStatus(page.status());
      state->second = page->more && !page->kvs.empty();
      if (!page->kvs.empty()) state->first.key = page->kvs.back().key + '\0';
      return matching(page->kvs);
    };
  } else if (res->more && !res->kvs.empty()) {
    out.continue_token = EncodeContinue(out.revision, res->kvs.back().key);
    if (!rr.skip_count) {
      out.remaining_item_count = res->count - static_cast<int64_t>(res->kvs.size());
    }
  }
  done(std::move(out));
}

void GenericStore::Watch(const RequestContext& ctx, const ListRequest& req,
                         std::function<std::shared_ptr<WatchSink>()> start, WatchCallback done) {
  const ListOptions& opts = req.options;
  WatchCache* cache = Cache();
  if (cache == nullptr) return done(Initializing());
  CacheWatchRequest wr;
  wr.prefix = CollectionPrefix(ctx.ns);
  wr.filter = req.selection.Filter();
  wr.index_value = IndexValue(req.selection);
  // Without sendInitialEvents, "" and "0" start with the current state as ADDED events and
  // N with the changes after N. sendInitialEvents=true starts with the state at least as new
  // as N (the latest for "", any for "0") and marks its end with a bookmark.
  wr.initial_events = opts.send_initial_events.value_or(opts.revision == 0);
  wr.resource_version = opts.revision;
  wr.bookmarks = opts.allow_bookmarks;
  wr.initial_events_end = opts.send_initial_events.value_or(false) && opts.allow_bookmarks;
  wr.deadline = deps_.clock->Monotonic() +
                std::chrono::seconds(opts.timeout_seconds.value_or(1800));
  const bool must_reach = wr.initial_events && opts.revision > 0;
  int64_t min_revision = must_reach ? opts.revision : 0;
  if (opts.resource_version.empty()) {  // from the latest state
    auto current = CurrentRevision(wr.prefix);
    if (!current.ok()) return done(current.error());
    min_revision = *current;
  }
  cache->WhenFresh(
      min_revision, deps_.clock->Monotonic() + kFreshWait,
      [cache, wr = std::move(wr), start = std::move(start), done = std::move(done),
       must_reach](Result<int64_t> fresh) mutable {
        if (!fresh.ok()) {
          if (fresh.status().code() == StatusCode::kUnavailable) return done(Initializing());
          if (must_reach) return done(TooLargeResourceVersion(fresh.status().message()));
          // Consistent start, but the cache lags: start from what it has.
        }
        // No resourceVersion and no initial events: the changes from now on.
        if (!wr.initial_events && wr.resource_version == 0 && fresh.ok()) {
          wr.resource_version = *fresh;
        }
        auto w = cache->Watch(std::move(wr), start());
        if (!w.ok()) {
          return done(w.status().code() == StatusCode::kGone
                          ? api::NewExpired(w.status().message())
                          : Initializing());
        }
        done(std::move(*w));
      });
}

}  // namespace keelson::apiserver
