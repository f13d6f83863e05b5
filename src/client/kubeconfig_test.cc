// kubeconfig loading by upstream's rules (KUBECONFIG lists, first definition wins, contexts,
// relative paths, base64 data, explicit files, ~/.kube/config) and in-cluster configuration.
#include "client/kubeconfig.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.h"
#include "test/util/processes.h"

namespace keelson::client {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const char* kFirst = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: http://10.0.0.1:6443
    certificate-authority: certs/ca.pem
- name: shared
  cluster:
    server: http://first.example:6443
users:
- name: dev-user
  user:
    token: dev-token
    client-certificate: certs/client.pem
    client-key-data: )";

const char* kSecond = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: shared
  cluster:
    server: http://second.example:6443
- name: prod-cluster
  cluster:
    server: http://10.0.0.2:6443
    insecure-skip-tls-verify: true
    tls-server-name: api.prod
users:
- name: prod-user
  user:
    tokenFile: token.txt
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: prod-user
    namespace: production
- name: dev
  context:
    cluster: dev-cluster
    user: dev-user
    namespace: from-second
- name: shared
  context:
    cluster: shared
)";

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = dir_.path() / "a" / "first.yaml";
    second_ = dir_.path() / "b" / "second.yaml";
    Write(first_, std::string(kFirst) + Base64Encode("KEY PEM") +
                      "\ncontexts:\n- name: dev\n  context:\n    cluster: dev-cluster\n"
                      "    user: dev-user\n    namespace: team-a\n");
    Write(dir_.path() / "a" / "certs" / "ca.pem", "CA PEM");
    Write(dir_.path() / "a" / "certs" / "client.pem", "CERT PEM");
    Write(second_, kSecond);
  }
  KubeconfigLoadOptions Env(std::string list) {
    KubeconfigLoadOptions o;
    o.kubeconfig_env = std::move(list);
    o.home = (dir_.path() / "nohome").string();
    return o;
  }

  testing::TempDir dir_;
  fs::path first_, second_;
};

TEST_F(KubeconfigTest, SingleFileCurrentContext) {
  auto c = LoadKubeconfig(Env(first_.string()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "dev");
  EXPECT_EQ(c->namespace_name, "team-a");
  EXPECT_EQ(c->rest.server, "http://10.0.0.1:6443");
  EXPECT_EQ(c->rest.bearer_token, "dev-token");
  // Relative paths are relative to the file; files are read, data decoded.
  EXPECT_EQ(c->rest.ca_data, "CA PEM");
  EXPECT_EQ(c->rest.ca_file, (dir_.path() / "a" / "certs" / "ca.pem").string());
  EXPECT_EQ(c->rest.client_certificate_data, "CERT PEM");
  EXPECT_EQ(c->rest.client_key_data, "KEY PEM");
  // Upstream's client-side limit for a remote server.
  EXPECT_EQ(c->rest.qps, 5);
  EXPECT_EQ(c->rest.burst, 10);
}

TEST_F(KubeconfigTest, ListMergeFirstDefinitionWins) {
  std::string missing = (dir_.path() / "missing.yaml").string();
  auto c = LoadKubeconfig(Env(missing + ":" + first_.string() + ":" + second_.string()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // current-context from the first file that sets it; the dev context from the first file.
  EXPECT_EQ(c->context, "dev");
  EXPECT_EQ(c->namespace_name, "team-a");
  // A context only the second file has; "shared" is defined by both: the first wins.
  KubeconfigLoadOptions o = Env(first_.string() + ":" + second_.string());
  o.context = "shared";
  auto shared = LoadKubeconfig(o);
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(shared->rest.server, "http://first.example:6443");
  EXPECT_EQ(shared->namespace_name, "default");
  EXPECT_TRUE(shared->rest.bearer_token.empty());  // no user: no credentials
  // In the other order the second file's definitions win.
  auto reversed = LoadKubeconfig(Env(second_.string() + ":" + first_.string()));
  ASSERT_TRUE(reversed.ok());
  EXPECT_EQ(reversed->context, "prod");
  EXPECT_EQ(reversed->namespace_name, "production");
  EXPECT_EQ(reversed->rest.server, "http://10.0.0.2:6443");
  EXPECT_TRUE(reversed->rest.insecure_skip_tls_verify);
  EXPECT_EQ(reversed->rest.tls_server_name, "api.prod");
  EXPECT_EQ(reversed->rest.bearer_token_file, (dir_.path() / "b" / "token.txt").string());
}

TEST_F(KubeconfigTest, ContextOverrideAndErrors) {
  KubeconfigLoadOptions o = Env(first_.string() + ":" + second_.string());
  o.context = "prod";
  auto prod = LoadKubeconfig(o);
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(prod->rest.server, "http://10.0.0.2:6443");
  o.context = "nope";
  auto bad = LoadKubeconfig(o);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("context \"nope\" does not exist"), std::string::npos);
}

TEST_F(KubeconfigTest, ExplicitPathMustExistAndIsTheOnlyFile) {
  KubeconfigLoadOptions o = Env(first_.string());
  o.explicit_path = (dir_.path() / "missing.yaml").string();
  EXPECT_EQ(LoadKubeconfig(o).status().code(), StatusCode::kNotFound);
  o.explicit_path = second_.string();
  auto c = LoadKubeconfig(o);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->context, "prod");
}

TEST_F(KubeconfigTest, HomeConfigWhenKubeconfigIsUnset) {
  KubeconfigLoadOptions o = Env("");
  EXPECT_EQ(LoadKubeconfig(o).status().code(), StatusCode::kNotFound);
  Write(dir_.path() / "home" / ".kube" / "config", kSecond);
  o.home = (dir_.path() / "home").string();
  auto c = LoadKubeconfig(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->context, "prod");
}

TEST_F(KubeconfigTest, ExecPluginsAreNotSupported) {
  auto k = Kubeconfig::Parse(R"(
clusters: [{name: c, cluster: {server: "http://x"}}]
users: [{name: u, user: {exec: {command: get-token}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(ToClientConfig(*k).status().code(), StatusCode::kUnimplemented);
}

TEST_F(KubeconfigTest, MalformedInput) {
  EXPECT_EQ(Kubeconfig::Parse("clusters: {not: a list}").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Kubeconfig::Parse("clusters: [{cluster: {server: x}}]").status().code(),
            StatusCode::kInvalidArgument);  // no name
  EXPECT_EQ(Kubeconfig::Parse("users: [{name: u, user: {client-key-data: '!!!'}}]").status().code(),
            StatusCode::kInvalidArgument);
  auto empty = Kubeconfig::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ToClientConfig(*empty).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KubeconfigTest, InCluster) {
  InClusterOptions o;
  o.token_file = (dir_.path() / "sa" / "token").string();
  o.ca_file = (dir_.path() / "sa" / "ca.crt").string();
  o.namespace_file = (dir_.path() / "sa" / "namespace").string();
  o.host = "";
  o.port = "443";
  auto not_in_cluster = InClusterConfig(o);
  EXPECT_EQ(not_in_cluster.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(not_in_cluster.status().message(),
            "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
            "KUBERNETES_SERVICE_PORT must be defined");
  o.host = "10.43.0.1";
  EXPECT_EQ(InClusterConfig(o).status().code(), StatusCode::kNotFound);  // no token yet
  Write(o.token_file, "sa-token\n");
  Write(o.ca_file, "CLUSTER CA");
  Write(o.namespace_file, "kube-system\n");
  auto c = InClusterConfig(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rest.server, "https://10.43.0.1:443");
  EXPECT_EQ(c->rest.bearer_token_file, o.token_file);
  EXPECT_EQ(c->rest.ca_data, "CLUSTER CA");
  EXPECT_EQ(c->namespace_name, "kube-system");
  o.host = "fd00::1";
  EXPECT_EQ(InClusterConfig(o)->rest.server, "https://[fd00::1]:443");
}

}  // namespace
}  // namespace keelson::client
