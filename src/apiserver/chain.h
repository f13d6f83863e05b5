// The stages a request passes before its handler reads or writes the store, in upstream's
// order: authentication (who is asking), authorization (may they do this), and, for writes,
// admission (plugins that may change or refuse the object). The server holds one
// Authenticator, one Authorizer and a list of admission plugins (ApiServerOptions); TLS
// client certificates, tokens, RBAC and more admission plugins are further implementations
// of these interfaces.
//
// Until authentication is configured, every request is made as system:anonymous (group
// system:unauthenticated) and every request is allowed. NamespaceLifecycle is the admission
// plugin every server runs.
//
// Thread-safety: implementations are called from many request threads at once.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "apiserver/http.h"
#include "common/status.h"

namespace keelson::apiserver {

// Who a request is made as.
struct UserInfo {
  std::string name;  // "system:anonymous", "system:serviceaccount:ns:name", "alice"
  std::string uid;
  std::vector<std::string> groups;
};

// What a request asks to do, as upstream's authorizer sees it.
struct RequestAttributes {
  UserInfo user;
  // get, list, watch, create, update, patch, delete, deletecollection; for requests that
  // name no resource, the lower-case HTTP method.
  std::string verb;
  bool resource_request = false;
  std::string api_group, api_version, resource, subresource, ns, name;
  std::string path;  // the URL path
};

// The attributes of a request: the verb from its method (and ?watch), the resource parts
// as routed. `resource` empty makes a request for a non-resource path.
RequestAttributes AttributesOf(const HttpRequest& req, UserInfo user, std::string_view group,
                               std::string_view version, std::string_view resource,
                               std::string_view subresource, std::string_view ns,
                               std::string_view name);

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The user `req` is made as; an error is answered 401 Unauthorized.
  virtual Result<UserInfo> Authenticate(const HttpRequest& req) const = 0;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  struct Decision {
    bool allowed = false;
    std::string reason;  // why, for reviews and the 403's message
  };
  virtual Decision Authorize(const RequestAttributes& a) const = 0;
};

// Every request is system:anonymous.
std::shared_ptr<const Authenticator> AnonymousAuthenticator();
// Every request is allowed.
std::shared_ptr<const Authorizer> AlwaysAllowAuthorizer();

// upstream's 403 message: `pods "p" is forbidden: User "alice" cannot get resource "pods" in
// API group "" in the namespace "default"` (and the forms for cluster scope and paths).
std::string ForbiddenMessage(const RequestAttributes& a, std::string_view reason);

// One write about to happen: CREATE (old null), UPDATE, or DELETE (object null).
struct AdmissionRequest {
  std::string_view operation;
  const RequestAttributes& attributes;
  const boost::json::object* old_object = nullptr;
  boost::json::object* object = nullptr;  // a mutating plugin may change it
};

class AdmissionPlugin {
 public:
  virtual ~AdmissionPlugin() = default;
  virtual std::string_view name() const = 0;
  // A refusal is answered as it is (a metav1.Status); nullopt admits.
  virtual std::optional<api::ApiError> Admit(const AdmissionRequest& r) const = 0;
};

// The admission plugins of a server, in order: the first refusal is the answer.
class AdmissionChain {
 public:
  explicit AdmissionChain(std::vector<std::shared_ptr<const AdmissionPlugin>> plugins)
      : plugins_(std::move(plugins)) {}
  std::optional<api::ApiError> Admit(const AdmissionRequest& r) const;

 private:
  std::vector<std::shared_ptr<const AdmissionPlugin>> plugins_;
};

// The namespace an object is created in must exist and not be terminating; default,
// kube-system and kube-public cannot be deleted. `read_namespace` answers a namespace
// object, NotFound when there is none.
std::shared_ptr<const AdmissionPlugin> NamespaceLifecycle(
    std::function<Result<boost::json::object>(const std::string& name)> read_namespace);

}  // namespace keelson::apiserver
