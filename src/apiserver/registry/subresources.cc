#include "apiserver/registry/subresources.h"

#include <boost/json.hpp>

#include "api/validation.h"
#include "apiserver/events_v1.h"
#include "apiserver/registry/decode.h"
#include "apiserver/validate.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

api::ResourceInfo Kind(std::string group, std::string resource, std::string kind) {
  api::ResourceInfo r;
  r.group = std::move(group);
  r.version = "v1";
  r.resource = std::move(resource);
  r.kind = std::move(kind);
  r.stored = false;
  return r;
}

// The answer of a binding or an eviction: a metav1.Status Success.
api::Object Success(int code) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Success"}, {"code", code}};
}

// A request's resourceVersion precondition against the current object.
std::optional<api::ApiError> Precondition(const api::Object& body, const api::Object& current,
                                          const api::ResourceInfo& r, std::string_view name) {
  std::string_view rv = api::GetResourceVersion(body);
  if (rv.empty() || rv == api::GetResourceVersion(current)) return std::nullopt;
  return api::NewConflict(r, name);
}

// --- status ---------------------------------------------------------------------------------

class StatusStorage final : public RestStorage {
 public:
  explicit StatusStorage(GenericStore& main) : main_(main), strategy_(main.strategy()) {}

  const api::ResourceInfo& kind() const override { return main_.kind(); }
  api::ApiResult<api::Object> Get(const RequestContext& ctx) override { return main_.Get(ctx); }

  void Update(const RequestContext& ctx, api::Object body, ObjectCallback done) override {
    const bool unconditional = api::GetResourceVersion(body).empty();
    main_.UpdateWith(
        strategy_, ctx,
        [this, body = std::move(body),
         name = ctx.name](const api::Object& current) -> api::ApiResult<api::Object> {
          if (auto e = Precondition(body, current, main_.kind(), name)) return *e;
          return body;
        },
        unconditional, std::move(done));
  }

  void Patch(const RequestContext& ctx, PatchType type, std::string patch,
             ObjectCallback done) override {
    main_.UpdateWith(
        strategy_, ctx,
        [this, type, patch = std::move(patch)](
            const api::Object& current) -> api::ApiResult<api::Object> {
          json::value doc = current;
          if (Status st = ApplyPatch(type, patch, main_.strategy().type(), &doc); !st.ok()) {
            return PatchFailure(st);
          }
          if (!doc.is_object()) return api::NewBadRequest("the patched object is not an object");
          return std::move(doc.as_object());
        },
        /*retry=*/true, std::move(done));
  }

 private:
  GenericStore& main_;
  const StatusStrategy strategy_;
};

// --- scale ----------------------------------------------------------------------------------

// The label selector of a workload as the text Scale.status.selector carries.
std::string SelectorText(const api::Object& obj) {
  const json::value* sel = nullptr;
  if (const auto* spec = obj.if_contains("spec"); spec && spec->is_object()) {
    sel = spec->as_object().if_contains("selector");
  }
  if (sel == nullptr || !sel->is_object()) return "";
  const auto& so = sel->as_object();
  if (so.contains("matchLabels") || so.contains("matchExpressions")) {
    auto s = SelectorOf(*sel);
    return s.ok() ? s->String() : "";
  }
  // A ReplicationController's selector is a plain map.
  api::Labels labels;
  for (const auto& [k, v] : so) {
    if (v.is_string()) labels.emplace(std::string(k), std::string(v.as_string()));
  }
  auto s = api::LabelSelector::FromMatch(labels, {});
  return s.ok() ? s->String() : "";
}

int64_t IntAt(const api::Object& obj, const char* parent, const char* field) {
  const auto* p = obj.if_contains(parent);
  const auto* v = p && p->is_object() ? p->as_object().if_contains(field) : nullptr;
  return v && v->is_int64() ? v->as_int64() : 0;
}

// The autoscaling/v1 Scale of a workload.
api::Object ScaleOf(const api::Object& obj) {
  json::object meta;
  if (const api::Object* m = api::GetMetadata(obj)) {
    for (const char* f : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
      if (const auto* v = m->if_contains(f)) meta[f] = *v;
    }
  }
  json::object status{{"replicas", IntAt(obj, "status", "replicas")}};
  if (auto sel = SelectorText(obj); !sel.empty()) status["selector"] = sel;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", std::move(meta)},
          {"spec", json::object{{"replicas", IntAt(obj, "spec", "replicas")}}},
          {"status", std::move(status)}};
}

class ScaleStorage final : public RestStorage {
 public:
  explicit ScaleStorage(GenericStore& main) : main_(main) {}

  const api::ResourceInfo& kind() const override { return ScaleKind(); }

  api::ApiResult<api::Object> Get(const RequestContext& ctx) override {
    auto obj = main_.Get(ctx);
    if (!obj.ok()) return obj;
    return ScaleOf(*obj);
  }

  void Update(const RequestContext& ctx, api::Object scale, ObjectCallback done) override {
    const bool unconditional = api::GetResourceVersion(scale).empty();
    Write(ctx,
          [this, scale = std::move(scale),
           name = ctx.name](const api::Object& current) -> api::ApiResult<api::Object> {
            if (auto e = Precondition(scale, current, main_.kind(), name)) return *e;
            return scale;
          },
          unconditional, std::move(done));
  }

  void Patch(const RequestContext& ctx, PatchType type, std::string patch,
             ObjectCallback done) override {
    Write(ctx,
          [type, patch = std::move(patch)](const api::Object& current)
              -> api::ApiResult<api::Object> {
            json::value part = ScaleOf(current);
            const auto* schema = api::Schema::BuiltIn().Type("io.k8s.api.autoscaling.v1.Scale");
            if (Status st = ApplyPatch(type, patch, schema, &part); !st.ok()) {
              return PatchFailure(st);
            }
            if (!part.is_object()) return api::NewBadRequest("the patched Scale is not an object");
            return std::move(part.as_object());
          },
          /*retry=*/true, std::move(done));
  }

 private:
  // Writes spec.replicas of the workload from the Scale `to_scale` makes of it, and answers
  // the new Scale.
  void Write(const RequestContext& ctx, UpdateFn to_scale, bool retry, ObjectCallback done) {
    main_.UpdateWith(
        main_.strategy(), ctx,
        [this, to_scale = std::move(to_scale),
         name = ctx.name](const api::Object& current) -> api::ApiResult<api::Object> {
          auto scale = to_scale(current);
          if (!scale.ok()) return scale;
          const auto* spec = scale->if_contains("spec");
          const auto* want = spec && spec->is_object() ? spec->as_object().if_contains("replicas")
                                                       : nullptr;
          if (want == nullptr || !want->is_int64() || want->as_int64() < 0) {
            return api::NewInvalid(
                main_.kind(), name,
                {{"spec.replicas", "Invalid value: must be greater than or equal to 0"}});
          }
          api::Object obj = current;
          if (!obj["spec"].is_object()) obj["spec"] = json::object();
          obj["spec"].as_object()["replicas"] = want->as_int64();
          return obj;
        },
        retry, [done = std::move(done)](api::ApiResult<api::Object> r) {
          if (!r.ok()) return done(std::move(r));
          done(ScaleOf(*r));
        });
  }

  GenericStore& main_;
};

// --- binding --------------------------------------------------------------------------------

// A binding changes spec.nodeName and nothing else, under no rule of the pod's spec (which
// otherwise may not change).
class BindingStrategy final : public Strategy {
 public:
  explicit BindingStrategy(const Strategy& pods) : Strategy(pods.resource()), pods_(pods) {}
  bool TracksGeneration() const override { return pods_.TracksGeneration(); }
  api::FieldCauses ValidateUpdate(const api::Object&, const api::Object&) const override {
    return {};
  }

 private:
  const Strategy& pods_;
};

class BindingStorage final : public RestStorage {
 public:
  explicit BindingStorage(GenericStore& pods) : pods_(pods), strategy_(pods.strategy()) {}

  const api::ResourceInfo& kind() const override { return BindingKind(); }

  void Create(const RequestContext& ctx, api::Object binding, ObjectCallback done) override {
    const auto* target = binding.if_contains("target");
    const auto* node = target && target->is_object() ? target->as_object().if_contains("name")
                                                     : nullptr;
    if (node == nullptr || !node->is_string() || node->as_string().empty()) {
      return done(api::NewInvalid(pods_.kind(), ctx.name,
                                  {{"target.name", "Required value: name is required"}}));
    }
    pods_.UpdateWith(
        strategy_, ctx,
        [this, node = std::string(node->as_string()),
         name = ctx.name](const api::Object& current) -> api::ApiResult<api::Object> {
          if (std::string bound = api::FieldText(current, "spec.nodeName"); !bound.empty()) {
            api::ApiError e = api::NewConflict(pods_.kind(), name);
            e.message = "Operation cannot be fulfilled on pods/binding \"" + name + "\": pod " +
                        name + " is already assigned to node \"" + bound + "\"";
            return e;
          }
          if (api::IsBeingDeleted(current)) {
            api::ApiError e = api::NewConflict(pods_.kind(), name);
            e.message = "pod " + name + " is being deleted, cannot be assigned to a host";
            return e;
          }
          api::Object pod = current;
          if (!pod["spec"].is_object()) pod["spec"] = json::object();
          pod["spec"].as_object()["nodeName"] = node;
          return pod;
        },
        /*retry=*/false, [done = std::move(done)](api::ApiResult<api::Object> r) {
          if (!r.ok()) return done(std::move(r));
          done(Success(201));
        });
  }

 private:
  GenericStore& pods_;
  const BindingStrategy strategy_;
};

// --- eviction -------------------------------------------------------------------------------

class EvictionStorage final : public RestStorage {
 public:
  EvictionStorage(GenericStore& pods, StoreLookup stores) : pods_(pods), stores_(std::move(stores)) {}

  const api::ResourceInfo& kind() const override { return EvictionKind(); }

  void Create(const RequestContext& ctx, api::Object eviction, ObjectCallback done) override {
    if (std::string_view n = api::GetName(eviction); !n.empty() && n != ctx.name) {
      return done(api::NewBadRequest("name in URL does not match name in Eviction object"));
    }
    auto pod = pods_.Get(ctx);
    if (!pod.ok()) return done(std::move(pod));
    if (auto refused = Budgets(ctx.ns, *pod)) return done(std::move(*refused));
    // The eviction's delete options, as a DELETE of the pod would take them.
    DeleteOptions opts;
    if (const auto* o = eviction.if_contains("deleteOptions"); o && o->is_object()) {
      const auto& d = o->as_object();
      if (const auto* g = d.if_contains("gracePeriodSeconds"); g && g->is_int64()) {
        opts.grace_period_seconds = g->as_int64();
      }
      opts.precondition_uid = api::FieldText(d, "preconditions.uid");
      opts.precondition_resource_version = api::FieldText(d, "preconditions.resourceVersion");
    }
    pods_.Delete(ctx, opts, [done = std::move(done)](api::ApiResult<api::Object> r) {
      if (!r.ok()) return done(std::move(r));
      done(Success(201));
    });
  }

 private:
  // 429 when a disruption budget of the namespace that selects the pod allows no disruption.
  std::optional<api::ApiError> Budgets(const std::string& ns, const api::Object& pod) {
    const std::string phase = api::FieldText(pod, "status.phase");
    if (phase == "Succeeded" || phase == "Failed") return std::nullopt;
    GenericStore* pdbs = stores_("policy", "poddisruptionbudgets");
    if (pdbs == nullptr) return std::nullopt;
    auto budgets = pdbs->ReadCollection(ns);
    if (!budgets.ok()) return budgets.error();
    const auto labels = api::GetLabels(pod);
    for (const auto& pdb : budgets->second) {
      const auto* spec = pdb.if_contains("spec");
      const auto* sel = spec && spec->is_object() ? spec->as_object().if_contains("selector")
                                                  : nullptr;
      if (sel == nullptr || !sel->is_object()) continue;
      // An empty selector selects every pod of the namespace (policy/v1).
      auto selector = SelectorOf(*sel);
      if (!selector.ok() || !selector->Matches(labels)) continue;
      if (IntAt(pdb, "status", "disruptionsAllowed") >= 1) continue;
      api::ApiError e = api::NewTooManyRequests(
          "Cannot evict pod as it would violate the pod's disruption budget.", 0);
      e.details = json::object{
          {"causes", json::array{json::object{
                         {"reason", "DisruptionBudget"},
                         {"message", "The disruption budget " + std::string(api::GetName(pdb)) +
                                         " needs more healthy pods to allow this disruption."}}}}};
      return e;
    }
    return std::nullopt;
  }

  GenericStore& pods_;
  StoreLookup stores_;
};

// --- finalize -------------------------------------------------------------------------------

class FinalizeStorage final : public RestStorage {
 public:
  explicit FinalizeStorage(GenericStore& namespaces) : namespaces_(namespaces) {}

  const api::ResourceInfo& kind() const override { return namespaces_.kind(); }

  void Update(const RequestContext& ctx, api::Object body, ObjectCallback done) override {
    if (auto err = DecodeChecks(kind(), nullptr, ctx, &body)) return done(std::move(*err));
    if (std::string_view n = api::GetName(body); !n.empty() && n != ctx.name) {
      return done(api::NewBadRequest("the name of the object (" + std::string(n) +
                                     ") does not match the name on the URL (" + ctx.name + ")"));
    }
    const bool unconditional = api::GetResourceVersion(body).empty();
    namespaces_.UpdateWith(
        namespaces_.strategy(), ctx,
        [this, body = std::move(body),
         name = ctx.name](const api::Object& current) -> api::ApiResult<api::Object> {
          if (auto e = Precondition(body, current, kind(), name)) return *e;
          api::Object ns = current;
          auto& spec = ns["spec"];
          if (!spec.is_object()) spec = json::object();
          const json::value* want = nullptr;
          if (const auto* bs = body.if_contains("spec"); bs && bs->is_object()) {
            want = bs->as_object().if_contains("finalizers");
          }
          if (want != nullptr && want->is_array() && !want->as_array().empty()) {
            spec.as_object()["finalizers"] = *want;
          } else {
            spec.as_object().erase("finalizers");
          }
          return ns;
        },
        unconditional, std::move(done));
  }

 private:
  GenericStore& namespaces_;
};

// --- reviews --------------------------------------------------------------------------------

// What both reviews share: answered for the requesting user, never stored.
class ReviewStorage : public RestStorage {
 public:
  explicit ReviewStorage(const api::ResourceInfo& review) : review_(review) {}

  const api::ResourceInfo& kind() const override { return review_; }

  void Create(const RequestContext& ctx, api::Object obj, ObjectCallback done) override {
    if (auto err = DecodeChecks(review_, nullptr, ctx, &obj)) return done(std::move(*err));
    auto status = Answer(obj, ctx.attrs ? ctx.attrs->user : UserInfo{});
    if (!status.ok()) return done(status.error());
    obj["status"] = std::move(*status);
    auto& meta = api::MutableMetadata(&obj);
    meta["creationTimestamp"] = nullptr;
    meta.erase("namespace");
    done(std::move(obj));
  }

 protected:
  // The review's status for `user`.
  virtual api::ApiResult<api::Object> Answer(const api::Object& review,
                                             const UserInfo& user) const = 0;

  const api::ResourceInfo& review_;
};

// SelfSubjectAccessReview (`kubectl auth can-i`): what the authorizer decides for the user.
class AccessReviewStorage final : public ReviewStorage {
 public:
  AccessReviewStorage(const api::ResourceInfo& review,
                      std::shared_ptr<const Authorizer> authorizer)
      : ReviewStorage(review), authorizer_(std::move(authorizer)) {}

 private:
  api::ApiResult<api::Object> Answer(const api::Object& review,
                                     const UserInfo& user) const override {
    const json::object* spec = nullptr;
    if (const auto* sp = review.if_contains("spec"); sp && sp->is_object()) {
      spec = &sp->as_object();
    }
    const json::value* res = spec ? spec->if_contains("resourceAttributes") : nullptr;
    const json::value* non = spec ? spec->if_contains("nonResourceAttributes") : nullptr;
    if ((res == nullptr) == (non == nullptr) || (res && !res->is_object()) ||
        (non && !non->is_object())) {
      return api::NewInvalid(review_, "",
                             {{"spec.resourceAttributes",
                               "Invalid value: \"null\": exactly one of nonResourceAttributes or "
                               "resourceAttributes must be specified"}});
    }
    RequestAttributes a;
    a.user = user;
    if (res != nullptr) {
      const auto& o = res->as_object();
      a.resource_request = true;
      a.verb = api::FieldText(o, "verb");
      a.api_group = api::FieldText(o, "group");
      a.api_version = api::FieldText(o, "version");
      a.resource = api::FieldText(o, "resource");
      a.subresource = api::FieldText(o, "subresource");
      a.ns = api::FieldText(o, "namespace");
      a.name = api::FieldText(o, "name");
    } else {
      a.verb = api::FieldText(non->as_object(), "verb");
      a.path = api::FieldText(non->as_object(), "path");
    }
    auto d = authorizer_->Authorize(a);
    api::Object status{{"allowed", d.allowed}};
    if (!d.allowed) status["denied"] = true;
    if (!d.reason.empty()) status["reason"] = d.reason;
    return status;
  }

  std::shared_ptr<const Authorizer> authorizer_;
};

// SelfSubjectReview (`kubectl auth whoami`): who the authenticator says the user is.
class SelfSubjectReviewStorage final : public ReviewStorage {
 public:
  using ReviewStorage::ReviewStorage;

 private:
  api::ApiResult<api::Object> Answer(const api::Object&, const UserInfo& user) const override {
    json::object info{{"username", user.name}};
    if (!user.uid.empty()) info["uid"] = user.uid;
    json::array groups;
    for (const auto& g : user.groups) groups.push_back(json::string(g));
    if (!groups.empty()) info["groups"] = std::move(groups);
    return api::Object{{"userInfo", std::move(info)}};
  }
};

// --- events.k8s.io/v1 -----------------------------------------------------------------------

class EventsV1Storage final : public RestStorage {
 public:
  EventsV1Storage(const api::ResourceInfo& v1, std::unique_ptr<GenericStore> core)
      : v1_(v1), core_(std::move(core)) {}

  const api::ResourceInfo& kind() const override { return v1_; }

  api::ApiResult<api::Object> Get(const RequestContext& ctx) override { return core_->Get(ctx); }
  void List(const RequestContext& ctx, const ListRequest& req, ListCallback done) override {
    core_->List(ctx, req, std::move(done));
  }
  void Watch(const RequestContext& ctx, const ListRequest& req,
             std::function<std::shared_ptr<WatchSink>()> start, WatchCallback done) override {
    core_->Watch(ctx, req, std::move(start), std::move(done));
  }
  void Create(const RequestContext& ctx, api::Object obj, ObjectCallback done) override {
    if (auto err = DecodeChecks(v1_, nullptr, ctx, &obj, /*defaults=*/false)) {
      return done(std::move(*err));
    }
    core_->Create(ctx, V1EventToCore(obj), std::move(done));
  }
  void Update(const RequestContext& ctx, api::Object obj, ObjectCallback done) override {
    if (auto err = DecodeChecks(v1_, nullptr, ctx, &obj, /*defaults=*/false)) {
      return done(std::move(*err));
    }
    core_->Update(ctx, V1EventToCore(obj), std::move(done));
  }
  // The patch speaks events.k8s.io/v1: it applies to the v1 form, the core form is stored.
  void Patch(const RequestContext& ctx, PatchType type, std::string patch,
             ObjectCallback done) override {
    core_->UpdateWith(
        core_->strategy(), ctx,
        [this, ctx, type, patch = std::move(patch)](
            const api::Object& current) -> api::ApiResult<api::Object> {
          json::value doc = CoreEventToV1(current);
          const api::TypeDecl* schema =
              api::Schema::BuiltIn().Kind(v1_.group, v1_.version, v1_.kind);
          if (Status st = ApplyPatch(type, patch, schema, &doc); !st.ok()) {
            return PatchFailure(st);
          }
          if (!doc.is_object()) return api::NewBadRequest("the patched object is not an object");
          api::Object core = V1EventToCore(doc.as_object());
          if (auto err = DecodeChecks(core_->kind(), &core_->strategy(), ctx, &core)) {
            return std::move(*err);
          }
          return core;
        },
        /*retry=*/true, std::move(done));
  }
  void Apply(const RequestContext&, api::Object, bool, ApplyCallback done) override {
    done(api::NewUnsupportedMediaType("apply is not supported for events.events.k8s.io"), false);
  }
  void Delete(const RequestContext& ctx, const DeleteOptions& opts, ObjectCallback done) override {
    core_->Delete(ctx, opts, std::move(done));
  }
  void DeleteCollection(const RequestContext& ctx, const DeleteOptions& opts,
                        const Selection& selection, DeletedCallback done) override {
    core_->DeleteCollection(ctx, opts, selection, std::move(done));
  }

 private:
  const api::ResourceInfo& v1_;
  std::unique_ptr<GenericStore> core_;
};

}  // namespace

const api::ResourceInfo& ScaleKind() {
  static const api::ResourceInfo k = [] {
    auto r = Kind("autoscaling", "scales", "Scale");
    r.stored = false;
    return r;
  }();
  return k;
}

const api::ResourceInfo& BindingKind() {
  static const api::ResourceInfo k = Kind("", "bindings", "Binding");
  return k;
}

const api::ResourceInfo& EvictionKind() {
  static const api::ResourceInfo k = Kind("policy", "evictions", "Eviction");
  return k;
}

const api::ResourceInfo& TokenRequestKind() {
  static const api::ResourceInfo k = Kind("authentication.k8s.io", "tokenrequests", "TokenRequest");
  return k;
}

std::unique_ptr<RestStorage> NewStatusStorage(GenericStore& main) {
  return std::make_unique<StatusStorage>(main);
}

std::unique_ptr<RestStorage> NewScaleStorage(GenericStore& main) {
  return std::make_unique<ScaleStorage>(main);
}

std::unique_ptr<RestStorage> NewBindingStorage(GenericStore& pods) {
  return std::make_unique<BindingStorage>(pods);
}

std::unique_ptr<RestStorage> NewEvictionStorage(GenericStore& pods, StoreLookup stores) {
  return std::make_unique<EvictionStorage>(pods, std::move(stores));
}

std::unique_ptr<RestStorage> NewFinalizeStorage(GenericStore& namespaces) {
  return std::make_unique<FinalizeStorage>(namespaces);
}

std::unique_ptr<RestStorage> NewAccessReviewStorage(const api::ResourceInfo& review,
                                                    std::shared_ptr<const Authorizer> authorizer) {
  return std::make_unique<AccessReviewStorage>(review, std::move(authorizer));
}

std::unique_ptr<RestStorage> NewSelfSubjectReviewStorage(const api::ResourceInfo& review) {
  return std::make_unique<SelfSubjectReviewStorage>(review);
}

std::unique_ptr<RestStorage> NewEventsV1Storage(const api::ResourceInfo& v1,
                                                std::unique_ptr<GenericStore> core_events) {
  return std::make_unique<EventsV1Storage>(v1, std::move(core_events));
}

}  // namespace keelson::apiserver
