#include "apiserver/router.h"

#include <gtest/gtest.h>

namespace keelson::apiserver {
namespace {

RequestInfo Parse(std::string method, std::string target) {
  HttpRequest req;
  req.method = std::move(method);
  req.target = target;
  auto q = target.find('?');
  req.path = PercentDecode(std::string_view(target).substr(0, q), false);
  if (q != std::string::npos) req.query = ParseQuery(std::string_view(target).substr(q + 1));
  return ParseRequestInfo(req);
}

TEST(RouterTest, ResourcePathsNameGroupVersionNamespaceNameAndSubresource) {
  auto r = Parse("GET", "/apis/apps/v1/namespaces/prod/deployments/web/scale");
  EXPECT_TRUE(r.resource_request);
  EXPECT_EQ(r.group, "apps");
  EXPECT_EQ(r.version, "v1");
  EXPECT_EQ(r.ns, "prod");
  EXPECT_EQ(r.resource, "deployments");
  EXPECT_EQ(r.name, "web");
  EXPECT_EQ(r.subresource, "scale");
  EXPECT_EQ(r.verb, "get");

  auto core = Parse("GET", "/api/v1/nodes/n1/status");
  EXPECT_EQ(core.group, "");
  EXPECT_EQ(core.resource, "nodes");
  EXPECT_EQ(core.name, "n1");
  EXPECT_EQ(core.subresource, "status");
  EXPECT_EQ(core.ns, "");
}

TEST(RouterTest, NamespacesHaveSubresourcesOfTheirOwn) {
  auto fin = Parse("PUT", "/api/v1/namespaces/team/finalize");
  EXPECT_EQ(fin.resource, "namespaces");
  EXPECT_EQ(fin.name, "team");
  EXPECT_EQ(fin.subresource, "finalize");
  EXPECT_EQ(fin.ns, "");
  auto status = Parse("GET", "/api/v1/namespaces/team/status");
  EXPECT_EQ(status.subresource, "status");
  // Anything else under namespaces/NAME is a resource in that namespace.
  auto pods = Parse("GET", "/api/v1/namespaces/team/pods");
  EXPECT_EQ(pods.ns, "team");
  EXPECT_EQ(pods.resource, "pods");
  EXPECT_EQ(pods.verb, "list");
}

TEST(RouterTest, VerbsFollowTheMethodTheNameAndWatch) {
  EXPECT_EQ(Parse("GET", "/api/v1/pods").verb, "list");
  EXPECT_EQ(Parse("GET", "/api/v1/pods?watch=true").verb, "watch");
  EXPECT_EQ(Parse("GET", "/api/v1/pods?watch=True").verb, "watch");  // as upstream reads it
  EXPECT_EQ(Parse("GET", "/api/v1/pods?watch=false").verb, "list");
  EXPECT_EQ(Parse("GET", "/api/v1/pods?watch=0").verb, "list");
  EXPECT_EQ(Parse("POST", "/api/v1/namespaces/d/pods").verb, "create");
  EXPECT_EQ(Parse("PUT", "/api/v1/namespaces/d/pods/p").verb, "update");
  EXPECT_EQ(Parse("PATCH", "/api/v1/namespaces/d/pods/p").verb, "patch");
  EXPECT_EQ(Parse("DELETE", "/api/v1/namespaces/d/pods/p").verb, "delete");
  EXPECT_EQ(Parse("DELETE", "/api/v1/namespaces/d/pods").verb, "deletecollection");
  EXPECT_EQ(Parse("POST", "/api/v1/namespaces/d/pods/p/eviction").verb, "create");
}

TEST(RouterTest, DiscoveryAndOtherPathsNameNoResource) {
  for (const char* p : {"/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1"}) {
    auto r = Parse("GET", p);
    EXPECT_FALSE(r.resource_request) << p;
    EXPECT_TRUE(r.discovery) << p;
  }
  auto post = Parse("POST", "/api/v1");
  EXPECT_FALSE(post.resource_request);
  EXPECT_FALSE(post.discovery);
  EXPECT_EQ(post.verb, "post");
  for (const char* p : {"/version", "/healthz", "/metrics", "/openapi/v2", "/"}) {
    auto r = Parse("GET", p);
    EXPECT_FALSE(r.resource_request) << p;
    EXPECT_FALSE(r.discovery) << p;
    EXPECT_EQ(r.verb, "get") << p;
  }
}

TEST(RouterTest, PathsLongerThanAnyResourcePathAreMalformed) {
  EXPECT_TRUE(Parse("GET", "/api/v1/namespaces/d/pods/p/status/extra").malformed);
  EXPECT_TRUE(Parse("GET", "/api/v1/nodes/n/status/extra").malformed);
  EXPECT_FALSE(Parse("GET", "/api/v1/namespaces/d/pods/p/status").malformed);
  // Percent-encoded names are decoded.
  EXPECT_EQ(Parse("GET", "/api/v1/namespaces/d/configmaps/a%2Eb").name, "a.b");
}

}  // namespace
}  // namespace keelson::apiserver
