#include "apiserver/chain.h"

#include <gtest/gtest.h>

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

HttpRequest Req(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = target;
  auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = ParseQuery(std::string_view(target).substr(q + 1));
  return r;
}

TEST(RequestAttributes, VerbsFollowMethodNameAndWatch) {
  UserInfo u{"alice", "", {"devs"}};
  auto verb = [&](const char* m, const char* target, const char* name) {
    return AttributesOf(Req(m, target), u, "apps", "v1", "deployments", "", "default", name).verb;
  };
  EXPECT_EQ(verb("GET", "/x", "web"), "get");
  EXPECT_EQ(verb("GET", "/x", ""), "list");
  EXPECT_EQ(verb("GET", "/x?watch=true", ""), "watch");
  EXPECT_EQ(verb("GET", "/x?watch=1", "web"), "watch");
  EXPECT_EQ(verb("POST", "/x", ""), "create");
  EXPECT_EQ(verb("PUT", "/x", "web"), "update");
  EXPECT_EQ(verb("PATCH", "/x", "web"), "patch");
  EXPECT_EQ(verb("DELETE", "/x", "web"), "delete");
  EXPECT_EQ(verb("DELETE", "/x", ""), "deletecollection");
  auto path = AttributesOf(Req("GET", "/healthz"), u, "", "", "", "", "", "");
  EXPECT_FALSE(path.resource_request);
  EXPECT_EQ(path.verb, "get");
  EXPECT_EQ(path.path, "/healthz");
}

TEST(RequestAttributes, ForbiddenMessagesAreUpstreams) {
  UserInfo u{"alice", "", {}};
  auto a = AttributesOf(Req("GET", "/api/v1/namespaces/default/pods/p"), u, "", "v1", "pods", "",
                        "default", "p");
  EXPECT_EQ(ForbiddenMessage(a, ""),
            "pods \"p\" is forbidden: User \"alice\" cannot get resource \"pods\" in API group "
            "\"\" in the namespace \"default\"");
  auto c = AttributesOf(Req("GET", "/apis/apps/v1/deployments"), u, "apps", "v1", "deployments",
                        "", "", "");
  EXPECT_EQ(ForbiddenMessage(c, "no RBAC policy matched"),
            "deployments.apps is forbidden: User \"alice\" cannot list resource \"deployments\" "
            "in API group \"apps\" at the cluster scope: no RBAC policy matched");
  auto s = AttributesOf(Req("PUT", "/x"), u, "apps", "v1", "deployments", "scale", "ns", "d");
  EXPECT_NE(ForbiddenMessage(s, "").find("cannot update resource \"deployments/scale\""),
            std::string::npos);
  auto p = AttributesOf(Req("GET", "/metrics"), u, "", "", "", "", "", "");
  EXPECT_EQ(ForbiddenMessage(p, ""), "forbidden: User \"alice\" cannot get path \"/metrics\"");
}

TEST(RequestChain, DefaultsLetEveryoneInAsAnonymous) {
  auto user = AnonymousAuthenticator()->Authenticate(Req("GET", "/api"));
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->name, "system:anonymous");
  EXPECT_EQ(user->groups, std::vector<std::string>{"system:unauthenticated"});
  RequestAttributes a;
  a.verb = "delete";
  EXPECT_TRUE(AlwaysAllowAuthorizer()->Authorize(a).allowed);
}

TEST(NamespaceLifecycle, RefusesContentOfMissingOrTerminatingNamespacesAndImmortalDeletes) {
  auto plugin = NamespaceLifecycle([](const std::string& name) -> Result<json::object> {
    if (name == "live") return json::object{{"metadata", json::object{{"name", "live"}}}};
    if (name == "going") {
      return json::object{
          {"metadata",
           json::object{{"name", "going"}, {"deletionTimestamp", "2026-01-01T00:00:00Z"}}}};
    }
    return NotFoundError("no such namespace");
  });
  auto create_in = [&](const std::string& ns) {
    RequestAttributes a;
    a.resource_request = true;
    a.api_group = "apps";
    a.resource = "deployments";
    a.ns = ns;
    a.name = "web";
    json::object obj;
    return plugin->Admit(AdmissionRequest{"CREATE", a, nullptr, &obj});
  };
  EXPECT_FALSE(create_in("live").has_value());
  auto missing = create_in("nowhere");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->code, 404);
  EXPECT_EQ(missing->message, "namespaces \"nowhere\" not found");
  auto going = create_in("going");
  ASSERT_TRUE(going.has_value());
  EXPECT_EQ(going->code, 403);
  EXPECT_EQ(going->message,
            "deployments.apps \"web\" is forbidden: unable to create new content in namespace "
            "going because it is being terminated");

  auto delete_ns = [&](const std::string& name) {
    RequestAttributes a;
    a.resource_request = true;
    a.resource = "namespaces";
    a.name = name;
    json::object old;
    return plugin->Admit(AdmissionRequest{"DELETE", a, &old, nullptr});
  };
  for (const char* immortal : {"default", "kube-system", "kube-public"}) {
    auto e = delete_ns(immortal);
    ASSERT_TRUE(e.has_value()) << immortal;
    EXPECT_EQ(e->code, 403);
    EXPECT_EQ(e->message, "namespaces \"" + std::string(immortal) +
                              "\" is forbidden: this namespace may not be deleted");
  }
  EXPECT_FALSE(delete_ns("team-a").has_value());
  EXPECT_FALSE(delete_ns("kube-node-lease").has_value());
}

}  // namespace
}  // namespace keelson::apiserver
