#include "apiserver/chain.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

class Anonymous final : public Authenticator {
 public:
  Result<UserInfo> Authenticate(const HttpRequest&) const override {
    return UserInfo{"system:anonymous", "", {"system:unauthenticated"}};
  }
};

class AlwaysAllow final : public Authorizer {
 public:
  Decision Authorize(const RequestAttributes&) const override {
    return {true, "every request is allowed: no authorization is configured"};
  }
};

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

class NamespaceLifecyclePlugin final : public AdmissionPlugin {
 public:
  explicit NamespaceLifecyclePlugin(
      std::function<Result<json::object>(const std::string&)> read)
      : read_(std::move(read)) {}

  std::string_view name() const override { return "NamespaceLifecycle"; }

  std::optional<api::ApiError> Admit(const AdmissionRequest& r) const override {
    const RequestAttributes& a = r.attributes;
    if (a.api_group.empty() && a.resource == "namespaces" && a.subresource.empty() &&
        r.operation == "DELETE") {
      static constexpr std::array<std::string_view, 3> kImmortal = {"default", "kube-system",
                                                                    "kube-public"};
      if (std::find(kImmortal.begin(), kImmortal.end(), a.name) != kImmortal.end()) {
        return api::ApiError{403, "Forbidden",
                              "namespaces " + Quote(a.name) +
                                  " is forbidden: this namespace may not be deleted",
                              json::object{{"name", a.name}, {"kind", "namespaces"}}};
      }
      return std::nullopt;
    }
    if (r.operation != "CREATE" || a.ns.empty()) return std::nullopt;
    auto ns = read_(a.ns);
    if (!ns.ok()) {
      if (ns.status().code() == StatusCode::kNotFound) {
        return api::ApiError{404, "NotFound", "namespaces " + Quote(a.ns) + " not found",
                              json::object{{"name", a.ns}, {"kind", "namespaces"}}};
      }
      return api::ApiError{500, "InternalError",
                            "Internal error occurred: " + ns.status().message(), {}};
    }
    const auto* meta = ns->if_contains("metadata");
    if (meta && meta->is_object() && meta->as_object().contains("deletionTimestamp")) {
      json::object d{{"name", a.name}, {"kind", a.resource}};
      if (!a.api_group.empty()) d["group"] = a.api_group;
      std::string qualified = a.api_group.empty() ? a.resource : a.resource + "." + a.api_group;
      return api::ApiError{403, "Forbidden",
                            qualified + " " + Quote(a.name) +
                                " is forbidden: unable to create new content in namespace " +
                                a.ns + " because it is being terminated",
                            std::move(d)};
    }
    return std::nullopt;
  }

 private:
  std::function<Result<json::object>(const std::string&)> read_;
};

}  // namespace

RequestAttributes AttributesOf(const HttpRequest& req, UserInfo user, std::string_view group,
                               std::string_view version, std::string_view resource,
                               std::string_view subresource, std::string_view ns,
                               std::string_view name) {
  RequestAttributes a;
  a.user = std::move(user);
  a.path = req.path;
  const std::string& m = req.method;
  if (resource.empty()) {
    a.verb = m;
    std::transform(a.verb.begin(), a.verb.end(), a.verb.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return a;
  }
  a.resource_request = true;
  a.api_group = group;
  a.api_version = version;
  a.resource = resource;
  a.subresource = subresource;
  a.ns = ns;
  a.name = name;
  if (m == "GET" || m == "HEAD") {
    if (req.QueryBool("watch")) {
      a.verb = "watch";
    } else {
      a.verb = name.empty() ? "list" : "get";
    }
  } else if (m == "POST") {
    a.verb = "create";
  } else if (m == "PUT") {
    a.verb = "update";
  } else if (m == "PATCH") {
    a.verb = "patch";
  } else if (m == "DELETE") {
    a.verb = name.empty() ? "deletecollection" : "delete";
  } else {
    a.verb = m;
  }
  return a;
}

std::shared_ptr<const Authenticator> AnonymousAuthenticator() {
  static const auto* a = new std::shared_ptr<const Authenticator>(std::make_shared<Anonymous>());
  return *a;
}

std::shared_ptr<const Authorizer> AlwaysAllowAuthorizer() {
  static const auto* a = new std::shared_ptr<const Authorizer>(std::make_shared<AlwaysAllow>());
  return *a;
}

std::string ForbiddenMessage(const RequestAttributes& a, std::string_view reason) {
  std::string user = Quote(a.user.name);
  std::string msg;
  if (!a.resource_request) {
    msg = "forbidden: User " + user + " cannot " + a.verb + " path " + Quote(a.path);
  } else {
    std::string resource = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
    std::string qualified = a.api_group.empty() ? a.resource : a.resource + "." + a.api_group;
    msg = qualified + (a.name.empty() ? "" : " " + Quote(a.name)) + " is forbidden: User " +
          user + " cannot " + a.verb + " resource " + Quote(resource) + " in API group " +
          Quote(a.api_group) +
          (a.ns.empty() ? " at the cluster scope" : " in the namespace " + Quote(a.ns));
  }
  if (!reason.empty()) msg += ": " + std::string(reason);
  return msg;
}

std::optional<api::ApiError> AdmissionChain::Admit(const AdmissionRequest& r) const {
  for (const auto& plugin : plugins_) {
    if (auto err = plugin->Admit(r)) return err;
  }
  return std::nullopt;
}

std::shared_ptr<const AdmissionPlugin> NamespaceLifecycle(
    std::function<Result<json::object>(const std::string& name)> read_namespace) {
  return std::make_shared<NamespaceLifecyclePlugin>(std::move(read_namespace));
}

}  // namespace keelson::apiserver
