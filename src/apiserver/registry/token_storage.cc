// POST serviceaccounts/NAME/token: a TokenRequest answered with a token signed for the
// service account (bound to a pod, secret or node when asked), never stored.
#include <boost/json.hpp>

#include "apiserver/registry/decode.h"
#include "apiserver/registry/subresources.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

class TokenStorage final : public RestStorage {
 public:
  TokenStorage(GenericStore& service_accounts, StoreLookup stores, TokenIssuer issuer)
      : accounts_(service_accounts), stores_(std::move(stores)), issuer_(std::move(issuer)) {}

  const api::ResourceInfo& kind() const override { return TokenRequestKind(); }

  void Create(const RequestContext& ctx, api::Object tr, ObjectCallback done) override {
    done(Issue(ctx, std::move(tr)));
  }

 private:
  api::ApiResult<api::Object> Issue(const RequestContext& ctx, api::Object tr) {
    if (auto err = DecodeChecks(kind(), nullptr, ctx, &tr)) return std::move(*err);
    auto& meta = api::MutableMetadata(&tr);
    if (const auto* n = meta.if_contains("name");
        n && n->is_string() && !n->as_string().empty() && n->as_string() != ctx.name) {
      return api::NewInvalid(kind(), ctx.name,
                             {{"metadata.name", "Invalid value: " + json::serialize(*n) +
                                                    ": must match the service account name if "
                                                    "specified"}});
    }
    auto sa = accounts_.Get(ctx);
    if (!sa.ok()) return sa;
    auto& spec_v = tr["spec"];
    if (!spec_v.is_object()) spec_v = json::object();
    auto& spec = spec_v.as_object();
    auto* auds = spec.if_contains("audiences");
    if (auds == nullptr || !auds->is_array() || auds->as_array().empty()) {
      spec["audiences"] = json::array{json::string(issuer_.issuer)};
    }
    if (!spec.contains("expirationSeconds") || spec.at("expirationSeconds").is_null()) {
      spec["expirationSeconds"] = 3600;  // the API's default
    }
    const int64_t secs = spec.at("expirationSeconds").to_number<int64_t>();
    if (secs < 600 || secs > (int64_t{1} << 32)) {
      return api::NewInvalid(kind(), "",
                             {{"spec.expirationSeconds",
                               "Invalid value: " + std::to_string(secs) +
                                   (secs < 600 ? ": may not specify a duration less than 10 "
                                                 "minutes"
                                               : ": may not specify a duration larger than 2^32 "
                                                 "seconds")}});
    }
    json::object bound;  // "pod" / "secret" / "node" -> {name, uid}
    if (const auto* ref = spec.if_contains("boundObjectRef"); ref && ref->is_object()) {
      if (auto err = Bind(ctx, ref->as_object(), &bound)) return std::move(*err);
    }
    const auto now = issuer_.clock->Now();
    const int64_t iat =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::string sa_uid(api::GetUid(*sa));
    json::object k8s{{"namespace", ctx.ns},
                     {"serviceaccount", json::object{{"name", ctx.name}, {"uid", sa_uid}}}};
    for (auto& [key, value] : bound) k8s[key] = std::move(value);
    json::object claims{{"aud", spec.at("audiences")},
                        {"exp", iat + secs},
                        {"iat", iat},
                        {"iss", issuer_.issuer},
                        {"jti", api::NewUid()},
                        {"kubernetes.io", std::move(k8s)},
                        {"nbf", iat},
                        {"sub", "system:serviceaccount:" + ctx.ns + ":" + ctx.name}};
    auto token = issuer_.signer->Sign(claims);
    if (!token.ok()) return api::ApiError::FromStatus(token.status());
    meta["name"] = ctx.name;
    meta["namespace"] = ctx.ns;
    meta["uid"] = sa_uid;
    meta["creationTimestamp"] = api::FormatTime(now);
    tr["status"] =
        json::object{{"token", std::move(*token)},
                     {"expirationTimestamp", api::FormatTime(now + std::chrono::seconds(secs))}};
    return tr;
  }

  // The object the token is bound to must exist (with the given uid); a pod must run as the
  // account, and its node goes into the claims too.
  std::optional<api::ApiError> Bind(const RequestContext& ctx, const json::object& ref,
                                    json::object* bound) {
    std::string kind = api::FieldText(ref, "kind");
    std::string api_version = api::FieldText(ref, "apiVersion");
    std::string name = api::FieldText(ref, "name");
    std::string want_uid = api::FieldText(ref, "uid");
    const bool core = api_version.find('/') == std::string::npos;
    GenericStore* target = nullptr;
    if (core && kind == "Pod") target = stores_("", "pods");
    if (core && kind == "Secret") target = stores_("", "secrets");
    if (core && kind == "Node") target = stores_("", "nodes");
    if (target == nullptr) {
      std::string group = core ? "" : api_version.substr(0, api_version.find('/'));
      std::string version = core ? api_version : api_version.substr(api_version.find('/') + 1);
      return api::NewBadRequest("cannot bind token to object of type " +
                                (group.empty() ? "" : group + "/") + version + ", Kind=" + kind);
    }
    if (name.empty()) return api::NewBadRequest("Name parameter required.");
    auto obj = target->Read(target->kind().namespaced ? ctx.ns : "", name);
    if (!obj.ok()) return obj.error();
    const std::string uid(api::GetUid(*obj));
    if (kind == "Pod") {
      if (api::FieldText(*obj, "spec.serviceAccountName") != ctx.name) {
        return api::NewBadRequest("cannot bind token for serviceaccount \"" + ctx.name +
                                  "\" to pod running with different serviceaccount name.");
      }
      (*bound)["pod"] = json::object{{"name", name}, {"uid", uid}};
      if (std::string node = api::FieldText(*obj, "spec.nodeName"); !node.empty()) {
        json::object n{{"name", node}};
        if (GenericStore* nodes = stores_("", "nodes")) {
          if (auto nobj = nodes->Read("", node); nobj.ok()) n["uid"] = api::GetUid(*nobj);
        }
        (*bound)["node"] = std::move(n);
      }
    } else {
      (*bound)[kind == "Secret" ? "secret" : "node"] = json::object{{"name", name}, {"uid", uid}};
    }
    if (!want_uid.empty() && want_uid != uid) {
      return api::ApiError{409, "Conflict",
                           "Operation cannot be fulfilled on " + kind + " \"" + name +
                               "\": the UID in the bound object reference (" + want_uid +
                               ") does not match the UID in record. The object might have been "
                               "deleted and then recreated",
                           json::object{{"name", name}, {"kind", kind}}};
    }
    return std::nullopt;
  }

  GenericStore& accounts_;
  StoreLookup stores_;
  TokenIssuer issuer_;
};

}  // namespace

std::unique_ptr<RestStorage> NewTokenStorage(GenericStore& service_accounts, StoreLookup stores,
                                             TokenIssuer issuer) {
  return std::make_unique<TokenStorage>(service_accounts, std::move(stores), std::move(issuer));
}

}  // namespace keelson::apiserver
