// Real kubectl (every versioned binary the machine's kubectl package ships, 1.27 to 1.33)
// against a real `keelson server`: discovery, create -f, get, delete, watch and errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <tuple>

#include <boost/json/parse.hpp>

#include "apiserver/token.h"
#include "test/util/keelson_server.h"

namespace keelson {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `keelson server` on a free port with its own data directory. The API's own semantics need
// the controllers that finish what the server starts (namespace deletion, cascading deletes,
// default service accounts); the workload and node controllers and the scheduler would
// rewrite the statuses these tests write by hand, and have kubectl suites of their own
// (kubectl_workloads_test, kubectl_scheduler_test, node_failure_test).
class ServerProcess : public testing::KeelsonServer {
 public:
  ServerProcess()
      : KeelsonServer(KEELSON_BINARY,
                      {"--disable-scheduler", "--controllers",
                       "serviceaccount-controller,namespace-controller,"
                       "garbage-collector-controller"}) {}
};

class KubectlTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start().ok()); }

  testing::CommandResult Kubectl(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {GetParam(), "--kubeconfig", server_.kubeconfig(),
                                     "--cache-dir", (server_.dir() / "cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, stdin_data, 60s);
  }

  // Writes `status` (YAML) through the status subresource, as the controller or kubelet that
  // owns it would: create and update of the main resource leave status alone.
  void SetStatus(const std::string& resource, const std::string& name,
                 const std::string& status) {
    auto r = Kubectl({"patch", resource, name, "--subresource=status", "--type=merge", "-p",
                      "status: " + status});
    ASSERT_EQ(r.exit_code, 0) << resource << "/" << name << ": " << r.err;
  }

  std::string File(const std::string& name, const std::string& text) {
    auto p = server_.dir() / name;
    std::ofstream(p) << text;
    return p.string();
  }

  ServerProcess server_;
};

TEST_P(KubectlTest, DefaultNamespacesExist) {
  auto r = Kubectl({"get", "namespaces"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    EXPECT_NE(r.out.find(ns), std::string::npos) << r.out;
  }
  EXPECT_EQ(r.out.rfind("NAME", 0), 0u) << r.out;
  auto pc = Kubectl({"get", "priorityclasses", "-o",
                     "jsonpath={range .items[*]}{.metadata.name}={.value} {end}"});
  ASSERT_EQ(pc.exit_code, 0) << pc.err;
  EXPECT_EQ(pc.out, "system-cluster-critical=2000000000 system-node-critical=2000001000 ");
}

TEST_P(KubectlTest, CreateGetDeleteFromMultiDocumentYaml) {
  auto f = File("objs.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\n"
                "data:\n  color: blue\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("namespace/demo created"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("configmap/settings created"), std::string::npos) << c.out;

  auto g = Kubectl({"get", "configmap", "settings", "-n", "demo", "-o",
                    "jsonpath={.data.color} {.metadata.uid} {.metadata.resourceVersion}"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out.rfind("blue ", 0), 0u) << g.out;
  EXPECT_GT(g.out.size(), std::string("blue  1").size());

  auto again = Kubectl({"create", "-f", f});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("Error from server (AlreadyExists): error when creating"),
            std::string::npos)
      << again.err;
  EXPECT_NE(again.err.find("configmaps \"settings\" already exists"), std::string::npos)
      << again.err;

  auto d = Kubectl({"delete", "configmap", "settings", "-n", "demo"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("configmap \"settings\" deleted"), std::string::npos) << d.out;
  auto gone = Kubectl({"get", "configmap", "settings", "-n", "demo"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("Error from server (NotFound): configmaps \"settings\" not found"),
            std::string::npos)
      << gone.err;
}

TEST_P(KubectlTest, ObjectsInMissingNamespaceAreRefused) {
  auto f = File("cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: orphan\n  namespace: nope\n");
  auto c = Kubectl({"create", "-f", f});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("namespaces \"nope\" not found"), std::string::npos) << c.err;
}

TEST_P(KubectlTest, InvalidNameIsAnInvalidStatus) {
  auto f = File("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n");
  auto c = Kubectl({"create", "-f", f});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: "
                       "\"Bad_Name\": a lowercase RFC 1123 subdomain"),
            std::string::npos)
      << c.err;
}

TEST_P(KubectlTest, WatchSeesAddsAndDeletes) {
  testing::BackgroundCommand watch(
      {GetParam(), "--kubeconfig", server_.kubeconfig(), "--cache-dir",
       (server_.dir() / "cache-watch").string(), "get", "configmaps", "-n", "default", "-w",
       "--output-watch-events", "-o", "json"});
  std::this_thread::sleep_for(1500ms);
  auto f = File("w.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "configmap", "watched"}).exit_code, 0);
  EXPECT_TRUE(watch.WaitForOutput("\"type\":\"DELETED\"", 20s))
      << watch.Stdout() << watch.Stderr();
  std::string out = watch.Stdout();
  auto added = out.find("\"type\":\"ADDED\"");
  ASSERT_NE(added, std::string::npos) << out;
  EXPECT_LT(added, out.find("\"type\":\"DELETED\"")) << out;
  EXPECT_NE(out.find("\"name\":\"watched\""), std::string::npos) << out;
}

TEST_P(KubectlTest, WatchOnlyShowsChangesNotTheCurrentState) {
  ASSERT_EQ(Kubectl({"create", "configmap", "before"}).exit_code, 0);
  testing::BackgroundCommand watch(
      {GetParam(), "--kubeconfig", server_.kubeconfig(), "--cache-dir",
       (server_.dir() / "cache-watch").string(), "get", "configmaps", "-w", "--watch-only",
       "-o", "name"});
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(Kubectl({"create", "configmap", "after"}).exit_code, 0);
  EXPECT_TRUE(watch.WaitForOutput("configmap/after", 20s)) << watch.Stdout() << watch.Stderr();
  EXPECT_EQ(watch.Stdout().find("configmap/before"), std::string::npos) << watch.Stdout();
}

// `kubectl delete` waits (by watching) until the object is gone, here until its finalizer is
// removed.
TEST_P(KubectlTest, DeleteWaitsUntilTheObjectIsGone) {
  auto f = File("held.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n"
                             "  finalizers: [example.com/hold]\n");
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
  std::atomic<bool> done{false};
  testing::CommandResult del;
  std::thread t([&] {
    del = Kubectl({"delete", "configmap", "held", "--wait", "--timeout=30s"});
    done = true;
  });
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(done.load()) << "returned before the object went";
  auto p = Kubectl({"patch", "configmap", "held", "--type=json", "-p",
                    R"([{"op":"remove","path":"/metadata/finalizers"}])"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  t.join();
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(del.out.find("configmap \"held\" deleted"), std::string::npos) << del.out;
}

TEST_P(KubectlTest, ApiResourcesListsShortNamesAndGroups) {
  auto r = Kubectl({"api-resources"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("configmaps"), std::string::npos);
  EXPECT_NE(r.out.find(" cm "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("deployments"), std::string::npos);
  EXPECT_NE(r.out.find("apps/v1"), std::string::npos);
  auto v = Kubectl({"api-versions"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("rbac.authorization.k8s.io/v1"), std::string::npos) << v.out;
}

TEST_P(KubectlTest, LabelAndFieldSelectors) {
  auto f = File("list.yaml",
                "apiVersion: v1\nkind: List\nitems:\n"
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a1, labels: {app: a, tier: web}}\n"
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b1, labels: {app: b}}\n"
                "- apiVersion: v1\n  kind: Secret\n  metadata: {name: s1}\n  type: Opaque\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto eq = Kubectl({"get", "configmaps", "-l", "app=a", "-o", "name"});
  EXPECT_EQ(eq.out, "configmap/a1\n") << eq.err;
  auto set = Kubectl({"get", "configmaps", "-l", "app in (a,b),tier!=web", "-o", "name"});
  EXPECT_EQ(set.out, "configmap/b1\n") << set.err;
  auto exists = Kubectl({"get", "configmaps", "-l", "!tier", "-o", "name"});
  EXPECT_EQ(exists.out, "configmap/b1\n") << exists.err;
  auto by_name = Kubectl({"get", "configmaps", "--field-selector", "metadata.name=b1", "-o", "name"});
  EXPECT_EQ(by_name.out, "configmap/b1\n") << by_name.err;
  auto by_type = Kubectl({"get", "secrets", "--field-selector", "type=Opaque", "-o", "name"});
  EXPECT_EQ(by_type.out, "secret/s1\n") << by_type.err;

  auto bad = Kubectl({"get", "configmaps", "-l", "app=("});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("Error from server (BadRequest)"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("unable to parse requirement"), std::string::npos) << bad.err;
  auto unsupported = Kubectl({"get", "pods", "--field-selector", "spec.foo=1"});
  EXPECT_NE(unsupported.exit_code, 0);
  EXPECT_NE(unsupported.err.find("field label not supported: spec.foo"), std::string::npos)
      << unsupported.err;
}

// Server-side printing: upstream's columns, in upstream's order.
TEST_P(KubectlTest, TableOutputHasUpstreamColumns) {
  auto f = File("t.yaml",
                "apiVersion: v1\nkind: List\nitems:\n"
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c1}\n"
                "  data: {a: '1', b: '2'}\n"
                "- apiVersion: v1\n  kind: Secret\n  metadata: {name: s1}\n  type: Opaque\n"
                "  data: {k: dg==}\n"
                "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p1}\n"
                "  spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
  auto collapse = [](std::string s) {  // column widths vary; compare words
    std::string out;
    bool space = false;
    for (char c : s) {
      if (c == ' ') {
        space = true;
        continue;
      }
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
    return out;
  };
  auto ns = Kubectl({"get", "namespaces"});
  EXPECT_EQ(collapse(first_line(ns.out)), "NAME STATUS AGE") << ns.out;
  EXPECT_NE(ns.out.find("Active"), std::string::npos);
  auto cm = Kubectl({"get", "configmaps", "c1"});
  EXPECT_EQ(collapse(first_line(cm.out)), "NAME DATA AGE") << cm.out;
  EXPECT_EQ(collapse(cm.out.substr(cm.out.find('\n') + 1)).rfind("c1 2 ", 0), 0u) << cm.out;
  auto sec = Kubectl({"get", "secrets"});
  EXPECT_EQ(collapse(first_line(sec.out)), "NAME TYPE DATA AGE") << sec.out;
  auto pods = Kubectl({"get", "pods"});
  EXPECT_EQ(collapse(first_line(pods.out)), "NAME READY STATUS RESTARTS AGE") << pods.out;
  EXPECT_EQ(collapse(pods.out.substr(pods.out.find('\n') + 1)).rfind("p1 0/1 Pending 0 ", 0), 0u)
      << pods.out;
  auto wide = Kubectl({"get", "pods", "-o", "wide"});
  EXPECT_EQ(collapse(first_line(wide.out)),
            "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES")
      << wide.out;
  auto d = File("dep.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                "spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
                "  template:\n    metadata: {labels: {app: web}}\n"
                "    spec: {containers: [{name: c, image: nginx}]}\n---\n"
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
                "spec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n");
  ASSERT_EQ(Kubectl({"create", "-f", d}).exit_code, 0);
  auto dw = Kubectl({"get", "deployments", "-o", "wide"});
  EXPECT_EQ(collapse(first_line(dw.out)),
            "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR")
      << dw.out;
  EXPECT_EQ(collapse(dw.out.substr(dw.out.find('\n') + 1)).rfind("web 0/2 0 0 ", 0), 0u) << dw.out;
  EXPECT_NE(dw.out.find("app=web"), std::string::npos) << dw.out;
  auto sw = Kubectl({"get", "services", "-o", "wide"});
  EXPECT_EQ(collapse(first_line(sw.out)), "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR")
      << sw.out;
  EXPECT_NE(sw.out.find("80/TCP"), std::string::npos) << sw.out;
  auto sorted = Kubectl({"get", "configmaps", "--sort-by=.metadata.name"});
  EXPECT_EQ(sorted.exit_code, 0) << sorted.err;
  EXPECT_EQ(collapse(first_line(sorted.out)), "NAME DATA AGE") << sorted.out;
}

TEST_P(KubectlTest, LabelAnnotateAndPatch) {
  auto f = File("p.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\n"
                          "data:\n  x: '1'\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  auto l = Kubectl({"label", "configmap", "c1", "env=prod"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(l.out, "configmap/c1 labeled\n");
  auto a = Kubectl({"annotate", "configmap", "c1", "note=hello"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out.rfind("configmap/c1 annotate", 0), 0u) << a.out;  // 1.27 says "annotate"
  auto g = Kubectl({"get", "configmap", "c1", "-o",
                    "jsonpath={.metadata.labels.env} {.metadata.annotations.note}"});
  EXPECT_EQ(g.out, "prod hello") << g.err;
  EXPECT_EQ(Kubectl({"get", "configmaps", "-l", "env=prod", "-o", "name"}).out,
            "configmap/c1\n");
  ASSERT_EQ(Kubectl({"label", "configmap", "c1", "env-"}).exit_code, 0);
  EXPECT_EQ(Kubectl({"get", "configmaps", "-l", "env", "-o", "name"}).out, "");

  auto m = Kubectl({"patch", "configmap", "c1", "--type=merge", "-p", R"({"data":{"x":"9"}})"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(m.out, "configmap/c1 patched\n");
  auto j = Kubectl({"patch", "configmap", "c1", "--type=json", "-p",
                    R"([{"op":"add","path":"/data/y","value":"2"}])"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(Kubectl({"get", "configmap", "c1", "-o", "jsonpath={.data.x}{.data.y}"}).out, "92");
  auto w = Kubectl({"wait", "configmap/c1", "--for=jsonpath={.data.y}=2", "--timeout=20s"});
  EXPECT_EQ(w.exit_code, 0) << w.err;
  auto bad = Kubectl({"patch", "configmap", "c1", "--type=json", "-p",
                      R"([{"op":"test","path":"/data/x","value":"0"}])"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("The request is invalid: testing value /data/x failed"),
            std::string::npos)
      << bad.err;
  auto missing = Kubectl({"label", "configmap", "nope", "a=b"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("configmaps \"nope\" not found"), std::string::npos) << missing.err;
}

TEST_P(KubectlTest, FinalizersHoldDeletionUntilRemoved) {
  auto f = File("fin.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n"
                            "  finalizers: [example.com/hold]\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  auto d = Kubectl({"delete", "configmap", "held", "--wait=false"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  auto g = Kubectl({"get", "configmap", "held", "-o", "jsonpath={.metadata.deletionTimestamp}"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_FALSE(g.out.empty()) << "deletionTimestamp not set";
  auto p = Kubectl({"patch", "configmap", "held", "--type=json", "-p",
                    R"([{"op":"remove","path":"/metadata/finalizers"}])"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto gone = Kubectl({"get", "configmap", "held"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("not found"), std::string::npos) << gone.err;
}

TEST_P(KubectlTest, DeletingANamespaceDeletesItsContents) {
  auto f = File("ns.yaml",
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gone\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: inside\n  namespace: gone\n---\n"
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gone2\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n  namespace: gone2\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "namespace", "gone"}).exit_code, 0);
  auto again = File("ns2.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gone\n");
  ASSERT_EQ(Kubectl({"create", "-f", again}).exit_code, 0);
  auto cms = Kubectl({"get", "configmaps", "-n", "gone", "-o", "name"});
  EXPECT_EQ(cms.out, "") << "objects of a deleted namespace came back";
  EXPECT_EQ(Kubectl({"get", "configmaps", "-n", "gone2", "-o", "name"}).out,
            "configmap/other\n");
}

TEST_P(KubectlTest, GenerationFollowsSpecChanges) {
  auto f = File("d.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                "spec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n"
                "  template:\n    metadata: {labels: {app: web}}\n"
                "    spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  auto gen = [&] {
    return Kubectl({"get", "deployment", "web", "-o", "jsonpath={.metadata.generation}"}).out;
  };
  EXPECT_EQ(gen(), "1");
  ASSERT_EQ(Kubectl({"label", "deployment", "web", "a=b"}).exit_code, 0);
  EXPECT_EQ(gen(), "1");  // metadata only
  ASSERT_EQ(Kubectl({"patch", "deployment", "web", "--type=merge", "-p",
                     R"({"spec":{"replicas":3}})"})
                .exit_code,
            0);
  EXPECT_EQ(gen(), "2");
  // Kinds whose strategies keep no generation have none, whatever the client sent (kubectl
  // 1.32+ sends a zero generation in its protobuf bodies).
  ASSERT_EQ(Kubectl({"create", "namespace", "team"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "service", "clusterip", "db", "--tcp=5432"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"patch", "service", "db", "--type=merge", "-p",
                     R"({"spec":{"sessionAffinity":"ClientIP"}})"})
                .exit_code,
            0);
  for (const char* what : {"namespace/team", "service/db"}) {
    EXPECT_EQ(Kubectl({"get", what, "-o", "jsonpath={.metadata.generation}"}).out, "") << what;
  }
  ASSERT_EQ(Kubectl({"create", "deployment", "typed", "--image=nginx"}).exit_code, 0);
  EXPECT_EQ(Kubectl({"get", "deployment", "typed", "-o", "jsonpath={.metadata.generation}"}).out,
            "1");
  auto tmpl =
      Kubectl({"get", "deployment", "typed", "-o", "jsonpath={.spec.template.metadata}"});
  EXPECT_EQ(tmpl.out.find("generation"), std::string::npos) << tmpl.out;
}

TEST_P(KubectlTest, ServicesGetClusterIpsAndNodePorts) {
  auto svc = [&](const std::string& name, const std::string& extra) {
    return File(name + ".yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
                                    "\nspec:\n  selector: {app: x}\n" + extra);
  };
  ASSERT_EQ(Kubectl({"create", "-f", svc("a", "  ports: [{port: 80}]\n")})
                .exit_code,
            0);
  auto ip = Kubectl({"get", "service", "a", "-o", "jsonpath={.spec.clusterIP} {.spec.ports[0].targetPort}"});
  ASSERT_EQ(ip.exit_code, 0) << ip.err;
  EXPECT_EQ(ip.out.rfind("10.43.", 0), 0u) << ip.out;
  EXPECT_EQ(ip.out.substr(ip.out.find(' ') + 1), "80");
  std::string a_ip = ip.out.substr(0, ip.out.find(' '));

  auto np = svc("b", "  type: NodePort\n  ports: [{port: 80, nodePort: 31000}]\n");
  ASSERT_EQ(Kubectl({"create", "-f", np}).exit_code, 0);
  auto dup = Kubectl({"create", "-f", svc("c", "  type: NodePort\n  ports: [{port: 81, nodePort: 31000}]\n")});
  EXPECT_NE(dup.exit_code, 0);
  EXPECT_NE(dup.err.find("spec.ports[0].nodePort: Invalid value: 31000: provided port is "
                         "already allocated"),
            std::string::npos)
      << dup.err;
  auto same_ip = Kubectl({"create", "-f", svc("d", "  clusterIP: " + a_ip + "\n  ports: [{port: 80}]\n")});
  EXPECT_NE(same_ip.exit_code, 0);
  EXPECT_NE(same_ip.err.find("provided IP is already allocated"), std::string::npos) << same_ip.err;
  auto outside = Kubectl({"create", "-f", svc("e", "  clusterIP: 192.168.0.1\n  ports: [{port: 80}]\n")});
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_NE(outside.err.find("is not in the valid range"), std::string::npos) << outside.err;

  // Allocations survive a restart, and deleting a service frees them.
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start().ok());
  auto still = Kubectl({"create", "-f", svc("f", "  type: NodePort\n  ports: [{port: 82, nodePort: 31000}]\n")});
  EXPECT_NE(still.exit_code, 0) << "node port 31000 was freed by a restart";
  ASSERT_EQ(Kubectl({"delete", "service", "b"}).exit_code, 0);
  auto reuse = Kubectl({"create", "-f", svc("g", "  type: NodePort\n  ports: [{port: 83, nodePort: 31000}]\n")});
  EXPECT_EQ(reuse.exit_code, 0) << reuse.err;
}

// `kubectl create <kind>` subcommands; 1.32 and 1.33 send namespace, configmap and deployment
// bodies in the Kubernetes protobuf encoding.
TEST_P(KubectlTest, CreateSubcommands) {
  auto run = [&](std::vector<std::string> args, const std::string& expect) {
    auto r = Kubectl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expect) << r.err;
  };
  run({"create", "namespace", "team"}, "namespace/team created\n");
  run({"create", "configmap", "cfg", "-n", "team", "--from-literal=color=blue"},
      "configmap/cfg created\n");
  run({"create", "deployment", "web", "-n", "team", "--image=nginx:1.25", "--replicas=3"},
      "deployment.apps/web created\n");
  run({"create", "secret", "generic", "pw", "-n", "team", "--from-literal=p=s3cret"},
      "secret/pw created\n");
  run({"create", "serviceaccount", "robot", "-n", "team"}, "serviceaccount/robot created\n");
  run({"create", "service", "clusterip", "web", "-n", "team", "--tcp=80:8080"},
      "service/web created\n");
  auto g = Kubectl({"get", "-n", "team", "configmap/cfg", "deployment/web", "secret/pw", "-o",
                    "jsonpath={.items[0].data.color} {.items[1].spec.replicas} "
                    "{.items[1].spec.template.spec.containers[0].image} {.items[2].data.p}"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out, "blue 3 nginx:1.25 czNjcmV0");
  auto ns = Kubectl({"get", "namespace", "team", "-o", "jsonpath={.status.phase}"});
  EXPECT_EQ(ns.out, "Active") << ns.err;
}

TEST_P(KubectlTest, HealthEndpoints) {
  auto v = Kubectl({"get", "--raw", "/readyz?verbose"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("[+]etcd ok"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("readyz check passed"), std::string::npos) << v.out;
  EXPECT_EQ(Kubectl({"get", "--raw", "/healthz"}).out, "ok");
  EXPECT_EQ(Kubectl({"get", "--raw", "/livez/ping"}).out, "ok");
  EXPECT_NE(Kubectl({"get", "--raw", "/healthz/nope"}).exit_code, 0);
}

// Checks that need kubectl only for setting up, run with the newest kubectl alone.
class NewestKubectlTest : public KubectlTest {};

// deletecollection is not a kubectl verb; it is sent with curl.
TEST_P(NewestKubectlTest, DeleteCollectionHonoursSelectorsAndFinalizers) {
  auto f = File("dc.yaml",
                "apiVersion: v1\nkind: List\nitems:\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: x1, labels: {app: x}}}\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: x2, labels: {app: x},"
                " finalizers: [example.com/hold]}}\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: y1, labels: {app: \"y\"}}}\n");
  auto created = Kubectl({"create", "-f", f});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto r = testing::RunCommand({"curl", "-s", "-X", "DELETE",
                                server_.url() + "/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"kind\":\"ConfigMapList\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"x1\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\":\"x2\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"name\":\"y1\""), std::string::npos) << r.out;
  // x1 is gone, x2 is held by its finalizer and marked, y1 was not selected.
  auto left = Kubectl({"get", "configmaps", "-o",
                       "jsonpath={range .items[*]}{.metadata.name}:{.metadata.deletionTimestamp}|{end}"});
  ASSERT_EQ(left.exit_code, 0) << left.err;
  EXPECT_EQ(left.out.find("x1:"), std::string::npos) << left.out;
  EXPECT_NE(left.out.find("x2:20"), std::string::npos) << left.out;
  EXPECT_NE(left.out.find("y1:|"), std::string::npos) << left.out;
  auto ns = testing::RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                                 server_.url() + "/api/v1/namespaces"});
  EXPECT_EQ(ns.out, "405");  // namespaces have no deletecollection
}

// Clients that prefer protobuf get it for objects, lists and watch events; kubectl 1.32+
// reads typed objects this way (describe, drain, rollout history).
TEST_P(NewestKubectlTest, ProtobufResponsesForObjectsListsAndWatches) {
  ASSERT_EQ(Kubectl({"create", "configmap", "pb", "--from-literal=k=v"}).exit_code, 0);
  const std::string accept = "Accept: application/vnd.kubernetes.protobuf,application/json";
  auto get = testing::RunCommand({"curl", "-s", "-H", accept, "-w", "\n%{content_type}",
                                  server_.url() + "/api/v1/namespaces/default/configmaps/pb"});
  ASSERT_EQ(get.exit_code, 0);
  EXPECT_EQ(get.out.substr(0, 4), std::string("k8s\0", 4));
  EXPECT_NE(get.out.find("ConfigMap"), std::string::npos);
  EXPECT_NE(get.out.find("\napplication/vnd.kubernetes.protobuf"), std::string::npos);
  auto list = testing::RunCommand({"curl", "-s", "-H", accept,
                                   server_.url() + "/api/v1/namespaces/default/configmaps"});
  EXPECT_EQ(list.out.substr(0, 4), std::string("k8s\0", 4));
  EXPECT_NE(list.out.find("ConfigMapList"), std::string::npos);
  auto watch = testing::RunCommand(
      {"curl", "-s", "-m", "2", "-H", accept, "-w", "\n%{content_type}",
       server_.url() + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0"});
  // A length-prefixed WatchEvent carrying the enveloped ConfigMap.
  ASSERT_GT(watch.out.size(), 8u);
  EXPECT_EQ(watch.out[0], 0);
  EXPECT_NE(watch.out.find("ADDED"), std::string::npos);
  EXPECT_NE(watch.out.find(std::string("k8s\0", 4)), std::string::npos);
  EXPECT_NE(watch.out.find("application/vnd.kubernetes.protobuf;stream=watch"), std::string::npos);
  // Errors stay JSON Status objects.
  auto missing = testing::RunCommand({"curl", "-s", "-H", accept,
                                      server_.url() + "/api/v1/namespaces/default/configmaps/no"});
  EXPECT_NE(missing.out.find("\"reason\":\"NotFound\""), std::string::npos) << missing.out;
  // The OpenAPI v2 document in protobuf, as kubectl 1.27 and 1.28 read it.
  auto v2 = testing::RunCommand(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{content_type} %{size_download}", "-H",
       "Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
       server_.url() + "/openapi/v2"});
  EXPECT_EQ(v2.out.rfind("application/com.github.proto-openapi.spec.v2.v1.0+protobuf ", 0), 0u)
      << v2.out;
}

// Metadata informers (the garbage collector, kubectl's own) ask for PartialObjectMetadata.
TEST_P(NewestKubectlTest, PartialObjectMetadataForObjectsListsAndWatches) {
  ASSERT_EQ(Kubectl({"create", "configmap", "pm", "--from-literal=secret=value"}).exit_code, 0);
  const std::string list_accept =
      "Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
  const std::string one_accept =
      "Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";
  const std::string base = server_.url() + "/api/v1/namespaces/default/configmaps";
  auto list = testing::RunCommand({"curl", "-s", "-H", list_accept, base});
  EXPECT_EQ(list.out.rfind(R"({"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1")", 0),
            0u) << list.out;
  EXPECT_NE(list.out.find(R"({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"pm")"),
            std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("value"), std::string::npos) << list.out;  // no data, only metadata
  auto one = testing::RunCommand({"curl", "-s", "-H", one_accept, base + "/pm"});
  EXPECT_EQ(one.out.rfind(R"({"kind":"PartialObjectMetadata")", 0), 0u) << one.out;
  EXPECT_EQ(one.out.find("value"), std::string::npos) << one.out;
  auto watch = testing::RunCommand(
      {"curl", "-s", "-m", "2", "-H", one_accept, base + "?watch=true&resourceVersion=0"});
  EXPECT_NE(watch.out.find(R"({"type":"ADDED","object":{"kind":"PartialObjectMetadata")"),
            std::string::npos) << watch.out;
  EXPECT_EQ(watch.out.find("value"), std::string::npos) << watch.out;
}

// YAML bodies: a create with Content-Type application/yaml and an apply configuration in YAML.
TEST_P(NewestKubectlTest, YamlBodiesForCreateAndApply) {
  const std::string base = server_.url() + "/api/v1/namespaces/default/configmaps";
  auto created = testing::RunCommand(
      {"curl", "-s", "-w", " %{http_code}", "-X", "POST", "-H", "Content-Type: application/yaml",
       "--data-binary", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y1\ndata:\n  k: \"1\"\n",
       base});
  EXPECT_EQ(created.out.substr(created.out.size() - 4), " 201") << created.out;
  auto applied = testing::RunCommand(
      {"curl", "-s", "-w", " %{http_code}", "-X", "PATCH", "-H",
       "Content-Type: application/apply-patch+yaml", "--data-binary",
       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y2\ndata:\n  on: 'yes'\n",
       base + "/y2?fieldManager=curl"});
  EXPECT_EQ(applied.out.substr(applied.out.size() - 4), " 201") << applied.out;
  EXPECT_EQ(Kubectl({"get", "configmap", "y1", "-o", "jsonpath={.data.k}"}).out, "1");
  EXPECT_EQ(Kubectl({"get", "configmap", "y2", "-o", "jsonpath={.data.on}"}).out, "yes");
  auto bad = testing::RunCommand(
      {"curl", "-s", "-w", " %{http_code}", "-X", "POST", "-H", "Content-Type: application/yaml",
       "--data-binary", "kind: [oops\n", base});
  EXPECT_EQ(bad.out.substr(bad.out.size() - 4), " 400") << bad.out;
}

// Bad input gets upstream's 4xx Status and stores nothing.
TEST_P(NewestKubectlTest, BadInputGetsTheRight4xxAndStoresNothing) {
  const std::string cms = server_.url() + "/api/v1/namespaces/default/configmaps";
  auto send = [&](const std::string& method, const std::string& url, const std::string& body,
                  const std::string& type = "application/json") {
    // Through a file: a 3 MiB command-line argument is more than exec allows.
    std::string f = File("body", body);
    auto r = testing::RunCommand({"curl", "-s", "-w", "\n%{http_code}", "-X", method, "-H",
                                  "Content-Type: " + type, "--data-binary", "@" + f, url});
    auto nl = r.out.rfind('\n');
    return std::pair(r.out.substr(nl + 1), r.out.substr(0, nl));
  };
  struct Case {
    std::string what, method, url, body, code, reason;
  };
  std::vector<Case> cases = {
      {"malformed JSON", "POST", cms, R"({"apiVersion":"v1","kind":"ConfigMap",)", "400",
       "BadRequest"},
      {"wrong apiVersion", "POST", cms,
       R"({"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"a"}})", "400",
       "BadRequest"},
      {"wrong kind", "POST", cms, R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"a"}})",
       "400", "BadRequest"},
      {"kind not a string", "POST", cms, R"({"apiVersion":"v1","kind":5,"metadata":{"name":"a"}})",
       "400", "BadRequest"},
      {"name differs from the URL", "PUT", cms + "/b",
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}})", "400", "BadRequest"},
      {"namespace differs from the URL", "POST", cms,
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"kube-system"}})",
       "400", "BadRequest"},
      {"wrong value type", "POST", cms,
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":1}})", "400",
       "BadRequest"},
      {"unknown field, strict", "POST", cms + "?fieldValidation=Strict",
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"bogus":1})", "400",
       "BadRequest"},
      {"invalid name", "POST", cms,
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}})", "422",
       "Invalid"},
      {"oversize body", "POST", cms,
       R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":")" +
           std::string(3 * 1024 * 1024, 'x') + R"("}})",
       "413", "RequestEntityTooLarge"},
      {"unknown resource", "POST", server_.url() + "/api/v1/namespaces/default/widgets",
       R"({"apiVersion":"v1","kind":"Widget","metadata":{"name":"a"}})", "404", "NotFound"},
      {"unsupported media type", "POST", cms, "<xml/>", "415", "UnsupportedMediaType"},
  };
  for (const auto& c : cases) {
    auto [code, body] = c.what == "unsupported media type"
                            ? send(c.method, c.url, c.body, "application/xml")
                            : send(c.method, c.url, c.body);
    EXPECT_EQ(code, c.code) << c.what << ": " << body.substr(0, 300);
    EXPECT_NE(body.find("\"kind\":\"Status\""), std::string::npos) << c.what;
    EXPECT_NE(body.find("\"reason\":\"" + c.reason + "\""), std::string::npos)
        << c.what << ": " << body.substr(0, 300);
  }
  for (std::string q : {"labelSelector=a%20in%20(", "fieldSelector=spec.nope%3Dx"}) {
    auto r = testing::RunCommand({"curl", "-s", "-w", "\n%{http_code}", cms + "?" + q});
    EXPECT_EQ(r.out.substr(r.out.rfind('\n') + 1), "400") << q << ": " << r.out;
  }
  auto left = Kubectl({"get", "configmaps", "-o", "name"});
  ASSERT_EQ(left.exit_code, 0) << left.err;
  EXPECT_EQ(left.out.find("configmap/a"), std::string::npos) << left.out;
  EXPECT_EQ(left.out.find("configmap/b"), std::string::npos) << left.out;

  // Bad DeleteOptions are refused with upstream's causes, and nothing is deleted.
  ASSERT_EQ(Kubectl({"create", "configmap", "keep"}).exit_code, 0);
  const std::vector<std::pair<std::string, std::string>> deletes = {
      {R"({"propagationPolicy":"Sideways"})",
       "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: "
       "\"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", "
       "\"nil\""},
      {R"({"propagationPolicy":"Orphan","orphanDependents":true})",
       "propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation "
       "cannot be both set"},
      {R"({"dryRun":["Some"]})",
       "dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\""},
  };
  for (const auto& [options, message] : deletes) {
    auto [code, body] = send("DELETE", cms + "/keep", options);
    EXPECT_EQ(code, "422") << options << ": " << body;
    boost::system::error_code ec;
    auto status = boost::json::parse(body, ec);
    ASSERT_FALSE(ec) << body;
    std::string text(status.at("message").as_string());
    EXPECT_NE(text.find(message), std::string::npos) << options << ": " << text;
  }
  EXPECT_EQ(Kubectl({"get", "configmap", "keep", "-o", "name"}).out, "configmap/keep\n");
}

// A Table watch sends the column definitions with its first row only, as upstream does.
TEST_P(NewestKubectlTest, TableWatchSendsColumnsOnce) {
  ASSERT_EQ(Kubectl({"create", "configmap", "t1"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "configmap", "t2"}).exit_code, 0);
  auto w = testing::RunCommand(
      {"curl", "-s", "-m", "2", "-H",
       "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
       server_.url() + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0"});
  auto first = w.out.find("\"columnDefinitions\":[");
  ASSERT_NE(first, std::string::npos) << w.out;
  EXPECT_EQ(w.out.find("\"columnDefinitions\":[", first + 1), std::string::npos) << w.out;
  EXPECT_NE(w.out.find("\"columnDefinitions\":null"), std::string::npos) << w.out;
}

TEST_P(NewestKubectlTest, MetricsCountRequestsAndObjects) {
  ASSERT_EQ(Kubectl({"create", "configmap", "m1"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"get", "configmap", "m1"}).exit_code, 0);
  EXPECT_NE(Kubectl({"get", "configmap", "nope"}).exit_code, 0);
  auto m = Kubectl({"get", "--raw", "/metrics"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const std::string labels = "component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"configmaps\","
                             "scope=\"resource\",subresource=\"\",verb=\"GET\",version=\"v1\"";
  EXPECT_NE(m.out.find("apiserver_request_total{code=\"200\"," + labels + "} 1\n"),
            std::string::npos) << m.out;
  EXPECT_NE(m.out.find("apiserver_request_total{code=\"404\"," + labels + "} 1\n"),
            std::string::npos) << m.out;
  EXPECT_NE(m.out.find("apiserver_request_duration_seconds_count{" + labels + "} 2\n"),
            std::string::npos) << m.out;
  EXPECT_NE(m.out.find("apiserver_storage_objects{resource=\"configmaps\"} 1\n"),
            std::string::npos) << m.out;
  EXPECT_NE(m.out.find("apiserver_storage_objects{resource=\"priorityclasses.scheduling.k8s.io\"} 2\n"),
            std::string::npos) << m.out;
  // An open watch is a long-running request, not an inflight one.
  testing::BackgroundCommand watch({"curl", "-s", "-N",
                                    server_.url() + "/api/v1/namespaces/default/configmaps?"
                                                    "watch=true&resourceVersion=0"});
  ASSERT_TRUE(watch.WaitForOutput("ADDED", 5s));
  auto during = Kubectl({"get", "--raw", "/metrics"});
  EXPECT_NE(during.out.find("apiserver_longrunning_requests{component=\"apiserver\",dry_run=\"\","
                            "group=\"\",resource=\"configmaps\",scope=\"namespace\","
                            "subresource=\"\",verb=\"WATCH\",version=\"v1\"} 1\n"),
            std::string::npos) << during.out;
  EXPECT_NE(during.out.find("apiserver_current_inflight_requests{request_kind=\"mutating\"} 0\n"),
            std::string::npos) << during.out;
  watch.Stop();
}

TEST_P(KubectlTest, ValidationPrunesOrRefusesUnknownFieldsAndDefaults) {
  auto f = File("bad.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: v}\nspec:\n"
                "  selector: {matchLabels: {app: v}}\n  template:\n"
                "    metadata: {labels: {app: v}}\n"
                "    spec: {containers: [{name: c, image: nginx:1.27, bogus: 1}]}\n");
  // kubectl's default --validate=strict: the server refuses, with upstream's words.
  auto strict = Kubectl({"create", "-f", f});
  EXPECT_NE(strict.exit_code, 0);
  EXPECT_NE(strict.err.find("Error from server (BadRequest): error when creating \"" + f +
                            "\": Deployment in version \"v1\" cannot be handled as a "
                            "Deployment: strict decoding error: unknown field "
                            "\"spec.template.spec.containers[0].bogus\""),
            std::string::npos)
      << strict.err;
  EXPECT_NE(Kubectl({"get", "deployment", "v"}).exit_code, 0);  // nothing stored
  // Without validation the field is dropped and the rest is defaulted as upstream does.
  auto loose = Kubectl({"create", "-f", f, "--validate=false"});
  ASSERT_EQ(loose.exit_code, 0) << loose.err;
  auto got = Kubectl({"get", "deployment", "v", "-o",
                      "jsonpath={.spec.replicas} {.spec.strategy.type} "
                      "{.spec.strategy.rollingUpdate.maxSurge} "
                      "{.spec.template.spec.restartPolicy} "
                      "{.spec.template.spec.containers[0].imagePullPolicy} "
                      "{.spec.template.spec.containers[0].bogus}|"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "1 RollingUpdate 25% Always IfNotPresent |");
  // A value of the wrong type is refused whatever the validation level.
  auto typed = File("typed.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t, labels: {on: yes}}\n");
  auto t = Kubectl({"create", "-f", typed, "--validate=false"});
  EXPECT_NE(t.exit_code, 0);
  EXPECT_NE(t.err.find("cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels "
                       "of type string"),
            std::string::npos)
      << t.err;
}

TEST_P(KubectlTest, ApplyCreatesThenMergesListsByKeyAndDiffShowsChanges) {
  auto write = [&](const std::string& image, const std::string& extra) {
    return File("app.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n"
                "  replicas: 2\n  selector: {matchLabels: {app: a}}\n  template:\n"
                "    metadata: {labels: {app: a}}\n    spec:\n      containers:\n"
                "      - {name: web, image: " + image + ", ports: [{containerPort: 80}]}\n" +
                extra);
  };
  auto f = write("nginx:1.25", "");
  auto c = Kubectl({"apply", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "deployment.apps/app created\n");
  EXPECT_EQ(Kubectl({"diff", "-f", f}).exit_code, 0);  // no differences
  // Someone else scales it; apply leaves what it does not manage.
  ASSERT_EQ(Kubectl({"label", "deployment", "app", "team=x"}).exit_code, 0);
  f = write("nginx:1.27", "      - {name: side, image: busybox}\n");
  auto d = Kubectl({"diff", "-f", f});
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_NE(d.out.find("image: nginx:1.27"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("name: side"), std::string::npos) << d.out;
  auto u = Kubectl({"apply", "-f", f});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(u.out, "deployment.apps/app configured\n");
  auto got = Kubectl({"get", "deployment", "app", "-o",
                      "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image}:"
                      "{.ports[0].containerPort}/{.ports[0].protocol} {end}{.metadata.labels.team}"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "web=nginx:1.27:80/TCP side=busybox:/ x");
  // Dropping the sidecar from the file removes it from the object.
  f = write("nginx:1.27", "");
  ASSERT_EQ(Kubectl({"apply", "-f", f}).exit_code, 0);
  auto names = Kubectl({"get", "deployment", "app", "-o",
                        "jsonpath={.spec.template.spec.containers[*].name}"});
  EXPECT_EQ(names.out, "web");
}

TEST_P(KubectlTest, ExplainDescribesFieldsFromOpenApi) {
  auto e = Kubectl({"explain", "deployment.spec"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("KIND:       Deployment"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("replicas\t<integer>"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("template\t<PodTemplateSpec> -required-"), std::string::npos) << e.out;
  auto c = Kubectl({"explain", "pods.spec.containers.ports"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("containerPort\t<integer> -required-"), std::string::npos) << c.out;
}

TEST_P(KubectlTest, ServerSideApplyTracksManagersAndConflicts) {
  auto write = [&](int replicas, const std::string& extra) {
    return File("ssa.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa}\nspec:\n"
                "  replicas: " + std::to_string(replicas) + "\n"
                "  selector: {matchLabels: {app: s}}\n  template:\n"
                "    metadata: {labels: {app: s}}\n    spec:\n      containers:\n"
                "      - {name: web, image: nginx:1.27}\n" + extra);
  };
  auto f = write(2, "      - {name: side, image: busybox}\n");
  auto c = Kubectl({"apply", "--server-side", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "deployment.apps/ssa serverside-applied\n");
  auto mf = Kubectl({"get", "deployment", "ssa", "--show-managed-fields", "-o",
                     "jsonpath={.metadata.managedFields[*].manager}/"
                     "{.metadata.managedFields[*].operation}"});
  EXPECT_EQ(mf.out, "kubectl/Apply");
  // Another manager changes replicas: applying a different value is a conflict.
  ASSERT_EQ(Kubectl({"scale", "deployment", "ssa", "--replicas=4"}).exit_code, 0);
  auto conflict = Kubectl({"apply", "--server-side", "-f", f});
  EXPECT_NE(conflict.exit_code, 0);
  EXPECT_NE(conflict.err.find("Apply failed with 1 conflict: conflict with"), std::string::npos)
      << conflict.err;
  EXPECT_NE(conflict.err.find(".spec.replicas"), std::string::npos) << conflict.err;
  // Forcing takes the field over; dropping the sidecar from the file removes it.
  f = write(2, "");
  auto forced = Kubectl({"apply", "--server-side", "--force-conflicts", "-f", f});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  auto got = Kubectl({"get", "deployment", "ssa", "-o",
                      "jsonpath={.spec.replicas} {.spec.template.spec.containers[*].name}"});
  EXPECT_EQ(got.out, "2 web");
}

TEST_P(KubectlTest, ScaleAndStatusSubresources) {
  ASSERT_EQ(Kubectl({"create", "deployment", "sc", "--image=nginx"}).exit_code, 0);
  auto s = Kubectl({"scale", "deployment", "sc", "--replicas=3"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, "deployment.apps/sc scaled\n");
  auto got = Kubectl({"get", "deployment", "sc", "-o",
                      "jsonpath={.spec.replicas} {.metadata.generation}"});
  EXPECT_EQ(got.out, "3 2");
  auto scale = Kubectl({"get", "--raw", "/apis/apps/v1/namespaces/default/deployments/sc/scale"});
  ASSERT_EQ(scale.exit_code, 0) << scale.err;
  EXPECT_NE(scale.out.find("\"kind\":\"Scale\""), std::string::npos) << scale.out;
  EXPECT_NE(scale.out.find("\"selector\":\"app=sc\""), std::string::npos) << scale.out;
  // Status written through its subresource leaves the spec alone and shows in get.
  auto patched = testing::RunCommand(
      {"curl", "-s", "-X", "PATCH", "-H", "Content-Type: application/merge-patch+json", "-d",
       R"({"spec":{"replicas":9},"status":{"replicas":3,"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}})",
       server_.url() + "/apis/apps/v1/namespaces/default/deployments/sc/status"});
  ASSERT_EQ(patched.exit_code, 0);
  auto table = Kubectl({"get", "deployment", "sc"});
  EXPECT_NE(table.out.find("sc     2/3     3            2"), std::string::npos) << table.out;
  // A subresource the kind does not have is not found.
  EXPECT_NE(Kubectl({"get", "--raw", "/api/v1/namespaces/default/configmaps/x/scale"}).exit_code,
            0);
}

TEST_P(KubectlTest, InvalidObjectsGetUpstreamsFieldErrors) {
  auto pod = File("p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                            "spec: {restartPolicy: Sometimes, containers: [{name: c}]}\n");
  auto p = Kubectl({"create", "-f", pod});
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.err.find("The Pod \"p\" is invalid: "), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
                       "\"Always\", \"OnFailure\", \"Never\""),
            std::string::npos) << p.err;
  EXPECT_NE(p.err.find("spec.containers[0].image: Required value"), std::string::npos) << p.err;
  auto dep = File("d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n"
                            "  selector: {matchLabels: {app: x}}\n  template:\n"
                            "    metadata: {labels: {app: web}}\n"
                            "    spec: {containers: [{name: c, image: nginx}]}\n");
  auto d = Kubectl({"create", "-f", dep});
  EXPECT_NE(d.exit_code, 0);
  EXPECT_NE(d.err.find("The Deployment \"d\" is invalid: spec.template.metadata.labels: Invalid "
                       "value: map[string]string{\"app\":\"web\"}: `selector` does not match "
                       "template `labels`"),
            std::string::npos) << d.err;
  // kubectl checks label syntax itself; a body it does not check still meets the server's.
  auto cm = File("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"
                            "  labels: {k: " + std::string(64, 'v') + "}\n");
  auto badlabel = Kubectl({"create", "-f", cm});
  EXPECT_NE(badlabel.exit_code, 0);
  EXPECT_NE(badlabel.err.find("metadata.labels: Invalid value: \"" + std::string(64, 'v') +
                              "\": must be no more than 63 characters"),
            std::string::npos) << badlabel.err;
  // The selector of a workload cannot change.
  auto ok = File("ok.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ok}\nspec:\n"
                            "  selector: {matchLabels: {app: x}}\n  template:\n"
                            "    metadata: {labels: {app: x, b: c}}\n"
                            "    spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", ok}).exit_code, 0);
  auto imm = Kubectl({"patch", "deployment", "ok", "--type=merge", "-p",
                      R"({"spec":{"selector":{"matchLabels":{"b":"c"}}}})"});
  EXPECT_NE(imm.exit_code, 0);
  EXPECT_NE(imm.err.find("The Deployment \"ok\" is invalid: spec.selector: Invalid value: "
                         "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\", "
                         "\"b\":\"c\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
                         "field is immutable"),
            std::string::npos)
      << imm.err;
}

TEST_P(KubectlTest, AuthCanIAndWhoAmI) {
  // No authorization is configured yet: every request is allowed, and the reviews say so
  // (kubectl 1.32+ posts them as protobuf).
  auto can = Kubectl({"auth", "can-i", "create", "deployments", "-n", "kube-system"});
  ASSERT_EQ(can.exit_code, 0) << can.err;
  EXPECT_EQ(can.out, "yes\n");
  auto who = Kubectl({"auth", "whoami"});
  if (GetParam().find("kubectl.1.27") != std::string::npos) {
    // 1.27 asks only for v1beta1 and v1alpha1, which a v1.33 server no longer serves.
    EXPECT_NE(who.exit_code, 0);
    return;
  }
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_NE(who.out.find("Username    system:anonymous"), std::string::npos) << who.out;
}

TEST_P(KubectlTest, CreateTokenIssuesSignedServiceAccountTokens) {
  ASSERT_EQ(Kubectl({"create", "serviceaccount", "builder"}).exit_code, 0);
  auto uid = Kubectl({"get", "serviceaccount", "builder", "-o", "jsonpath={.metadata.uid}"});
  ASSERT_EQ(uid.exit_code, 0) << uid.err;
  auto tok = Kubectl({"create", "token", "builder", "--duration=2h", "--audience=vault"});
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  std::string token = tok.out.substr(0, tok.out.find('\n'));

  // Signed with the key the server keeps in its data directory.
  auto key = apiserver::TokenSigner::LoadOrCreate(
      (server_.dir() / "data" / "server" / "service-account.key").string());
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto claims = (*key)->Verify(token);
  ASSERT_TRUE(claims.ok()) << claims.status().message() << ": " << token;
  EXPECT_EQ(claims->at("sub"), "system:serviceaccount:default:builder");
  EXPECT_EQ(claims->at("aud"), boost::json::array{"vault"});
  EXPECT_EQ(claims->at("iss"), "https://kubernetes.default.svc.cluster.local");
  EXPECT_EQ(claims->at("exp").as_int64() - claims->at("iat").as_int64(), 7200);
  const auto& k8s = claims->at("kubernetes.io").as_object();
  EXPECT_EQ(k8s.at("namespace"), "default");
  EXPECT_EQ(k8s.at("serviceaccount").at("uid"), uid.out.c_str());

  // Issuer discovery publishes the key, for parties that verify the tokens.
  auto jwks = Kubectl({"get", "--raw", "/openid/v1/jwks"});
  ASSERT_EQ(jwks.exit_code, 0) << jwks.err;
  EXPECT_EQ(boost::json::parse(jwks.out),
            (boost::json::object{{"keys", boost::json::array{(*key)->PublicJwk()}}}));
  auto oidc = Kubectl({"get", "--raw", "/.well-known/openid-configuration"});
  ASSERT_EQ(oidc.exit_code, 0) << oidc.err;
  auto doc = boost::json::parse(oidc.out);
  EXPECT_EQ(doc.at("issuer"), "https://kubernetes.default.svc.cluster.local");
  EXPECT_EQ(doc.at("jwks_uri"), (server_.url() + "/openid/v1/jwks").c_str());

  // Bound to a pod of the service account; refused for a pod of another one.
  ASSERT_EQ(Kubectl({"run", "worker", "--image=busybox",
                     R"(--overrides={"spec":{"serviceAccountName":"builder"}})"})
                .exit_code,
            0);
  auto bound = Kubectl({"create", "token", "builder", "--bound-object-kind=Pod",
                        "--bound-object-name=worker"});
  ASSERT_EQ(bound.exit_code, 0) << bound.err;
  auto bound_claims = (*key)->Verify(bound.out.substr(0, bound.out.find('\n')));
  ASSERT_TRUE(bound_claims.ok());
  EXPECT_EQ(bound_claims->at("kubernetes.io").at("pod").at("name"), "worker");
  EXPECT_EQ(bound_claims->at("aud"),
            boost::json::array{"https://kubernetes.default.svc.cluster.local"});
  ASSERT_EQ(Kubectl({"create", "serviceaccount", "other"}).exit_code, 0);
  auto wrong_sa = Kubectl({"create", "token", "other", "--bound-object-kind=Pod",
                           "--bound-object-name=worker"});
  EXPECT_NE(wrong_sa.err.find("cannot bind token for serviceaccount \"other\" to pod running "
                              "with different serviceaccount name."),
            std::string::npos)
      << wrong_sa.err;

  // Upstream's errors for a short duration, a missing account and a missing bound object.
  auto brief = Kubectl({"create", "token", "builder", "--duration=1m"});
  EXPECT_NE(brief.err.find("TokenRequest.authentication.k8s.io \"\" is invalid: "
                           "spec.expirationSeconds: Invalid value: 60: may not specify a "
                           "duration less than 10 minutes"),
            std::string::npos)
      << brief.err;
  auto missing = Kubectl({"create", "token", "nobody"});
  EXPECT_NE(missing.err.find("serviceaccounts \"nobody\" not found"), std::string::npos)
      << missing.err;
  auto no_pod = Kubectl({"create", "token", "builder", "--bound-object-kind=Pod",
                         "--bound-object-name=gone"});
  EXPECT_NE(no_pod.err.find("pods \"gone\" not found"), std::string::npos) << no_pod.err;
}

TEST_P(KubectlTest, StatusIsWrittenOnlyThroughTheStatusSubresource) {
  // A new object starts with its kind's empty status, whatever the manifest says.
  auto f = File("status.yaml",
                "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\n"
                "spec:\n  selector: {matchLabels: {app: rs}}\n"
                "  template:\n    metadata: {labels: {app: rs}}\n"
                "    spec: {containers: [{name: c, image: nginx}]}\n"
                "status: {replicas: 7, readyReplicas: 7}\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  auto get = [&](const std::string& what, const std::string& path) {
    return Kubectl({"get", what, "-o", "jsonpath={" + path + "}"}).out;
  };
  EXPECT_EQ(get("rs/rs", ".status"), R"({"replicas":0})");

  // Updates, patches and applies of the main resource keep the stored status...
  SetStatus("rs", "rs", "{replicas: 2, readyReplicas: 1}");
  ASSERT_EQ(Kubectl({"patch", "rs", "rs", "--type=merge", "-p",
                     R"({"spec":{"replicas":3},"status":{"replicas":9}})"})
                .exit_code,
            0);
  EXPECT_EQ(get("rs/rs", ".spec.replicas"), "3");
  EXPECT_EQ(get("rs/rs", ".status.replicas"), "2");
  auto json = Kubectl({"get", "rs", "rs", "-o", "json"}).out;
  auto replaced = File("replaced.json",
                       std::regex_replace(json, std::regex(R"("readyReplicas": 1)"),
                                          R"("readyReplicas": 5)"));
  ASSERT_EQ(Kubectl({"replace", "-f", replaced}).exit_code, 0);
  EXPECT_EQ(get("rs/rs", ".status.readyReplicas"), "1");
  auto applied = Kubectl({"apply", "--server-side", "--force-conflicts", "-f", f});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(get("rs/rs", ".status.replicas"), "2");
  EXPECT_EQ(Kubectl({"get", "rs", "rs", "-o", "yaml", "--show-managed-fields"})
                .out.find("f:readyReplicas"),
            std::string::npos);
  // ...and the status subresource changes nothing but status.
  ASSERT_EQ(Kubectl({"patch", "rs", "rs", "--subresource=status", "--type=merge", "-p",
                     R"({"spec":{"replicas":1},"status":{"replicas":3}})"})
                .exit_code,
            0);
  EXPECT_EQ(get("rs/rs", ".spec.replicas"), "3");
  EXPECT_EQ(get("rs/rs", ".status.replicas"), "3");

  // A pod starts Pending with its QoS class; requests default to limits.
  auto pods = File("pods.yaml",
                   "apiVersion: v1\nkind: List\nitems:\n"
                   "- apiVersion: v1\n  kind: Pod\n  metadata: {name: gold}\n"
                   "  spec: {containers: [{name: c, image: nginx,"
                   " resources: {limits: {cpu: 500m, memory: 1Gi}}}]}\n"
                   "  status: {phase: Running}\n"
                   "- apiVersion: v1\n  kind: Pod\n  metadata: {name: some}\n"
                   "  spec: {containers: [{name: c, image: nginx, resources: {requests: {cpu: 1}}},"
                   " {name: d, image: nginx, resources: {limits: {cpu: 1, memory: 1Gi}}}]}\n"
                   "- apiVersion: v1\n  kind: Pod\n  metadata: {name: none}\n"
                   "  spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", pods}).exit_code, 0);
  EXPECT_EQ(get("pod/gold", ".status"), R"({"phase":"Pending","qosClass":"Guaranteed"})");
  EXPECT_EQ(get("pod/gold", ".spec.containers[0].resources.requests"),
            R"({"cpu":"500m","memory":"1Gi"})");
  EXPECT_EQ(get("pod/some", ".status.qosClass"), "Burstable");
  EXPECT_EQ(get("pod/none", ".status.qosClass"), "BestEffort");
  ASSERT_EQ(Kubectl({"create", "service", "clusterip", "web", "--tcp=80"}).exit_code, 0);
  EXPECT_EQ(get("svc/web", ".status"), R"({"loadBalancer":{}})");
}

TEST_P(KubectlTest, SecretStringDataIsStoredAsData) {
  auto f = File("secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata: {name: login}\n"
                "data: {user: b2xk, pass: cGFzcw==}\nstringData: {user: admin}\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto get = [&](const std::string& path) {
    return Kubectl({"get", "secret", "login", "-o", "jsonpath={" + path + "}"}).out;
  };
  EXPECT_EQ(get(".data.user"), "YWRtaW4=");  // "admin" wins over the data entry
  EXPECT_EQ(get(".data.pass"), "cGFzcw==");
  EXPECT_EQ(get(".stringData"), "");
  ASSERT_EQ(Kubectl({"patch", "secret", "login", "--type=merge", "-p",
                     R"({"stringData":{"pass":"s3cr\u00e9t"}})"})
                .exit_code,
            0);
  EXPECT_EQ(get(".data.pass"), "czNjcsOpdA==");
  EXPECT_EQ(get(".stringData"), "");
}

TEST_P(KubectlTest, TheBuiltInNamespacesCannotBeDeleted) {
  for (const char* ns : {"default", "kube-system", "kube-public"}) {
    auto d = Kubectl({"delete", "namespace", ns, "--wait=false"});
    EXPECT_NE(d.exit_code, 0);
    EXPECT_NE(d.err.find("Error from server (Forbidden): namespaces \"" + std::string(ns) +
                         "\" is forbidden: this namespace may not be deleted"),
              std::string::npos)
        << d.err;
  }
  EXPECT_EQ(Kubectl({"get", "namespace", "kube-public", "-o", "name"}).out,
            "namespace/kube-public\n");
}

TEST_P(KubectlTest, NamespaceFinalizeSetsOnlySpecFinalizers) {
  ASSERT_EQ(Kubectl({"create", "namespace", "team"}).exit_code, 0);
  auto fin = [&] {
    return Kubectl({"get", "namespace", "team", "-o", "jsonpath={.spec.finalizers}"}).out;
  };
  EXPECT_EQ(fin(), R"(["kubernetes"])");
  // namespaces/NAME/status is the namespace's status, not a resource in the namespace.
  auto status = Kubectl({"patch", "namespace", "team", "--subresource=status", "--type=merge",
                         "-p", R"({"status":{"conditions":[{"type":"NamespaceContentRemaining",)"
                               R"("status":"False"}]}})"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(Kubectl({"get", "namespace", "team", "-o",
                     "jsonpath={.status.conditions[0].type}"})
                .out,
            "NamespaceContentRemaining");
  // The finalize subresource changes spec.finalizers and nothing else (labels stay).
  auto body = File("fin.json",
                   R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team",)"
                   R"("labels":{"x":"y"}},"spec":{"finalizers":[]}})");
  auto put = Kubectl({"replace", "--raw", "/api/v1/namespaces/team/finalize", "-f", body});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(fin(), "");
  EXPECT_EQ(Kubectl({"get", "namespace", "team", "-o", "jsonpath={.metadata.labels.x}"}).out, "");
  // Finalizer names are validated as upstream does.
  auto bad = File("bad.json", R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"},)"
                              R"("spec":{"finalizers":["Not A Name"]}})");
  auto refused = Kubectl({"replace", "--raw", "/api/v1/namespaces/team/finalize", "-f", bad});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("spec.finalizers: Invalid value: \"Not A Name\""), std::string::npos)
      << refused.err;
  EXPECT_EQ(fin(), "");
}

TEST_P(KubectlTest, ServerDryRunsWriteNothing) {
  ASSERT_EQ(Kubectl({"create", "namespace", "dry"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"-n", "dry", "create", "configmap", "cm", "--from-literal=a=1"}).exit_code,
            0);
  ASSERT_EQ(Kubectl({"-n", "dry", "create", "deployment", "web", "--image=nginx"}).exit_code, 0);
  auto state = [&] {
    return Kubectl({"-n", "dry", "get", "configmap,deployment", "-o",
                    "jsonpath={range .items[*]}{.metadata.resourceVersion} {.data} "
                    "{.metadata.labels} {.spec.replicas};{end}"})
        .out;
  };
  const std::string before = state();
  ASSERT_FALSE(before.empty());
  auto changed = File("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, "
                                 "namespace: dry}\ndata: {a: '2'}\n");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"label", "configmap", "cm", "x=y", "--dry-run=server"},
        {"patch", "configmap", "cm", "-p", R"({"data":{"a":"3"}})", "--dry-run=server"},
        {"apply", "--server-side", "--force-conflicts", "-f", changed, "--dry-run=server"},
        {"replace", "-f", changed, "--dry-run=server"},
        {"scale", "deployment", "web", "--replicas=5", "--dry-run=server"},
        {"delete", "configmap", "cm", "--dry-run=server"},
        {"delete", "namespace", "dry", "--dry-run=server"}}) {
    const std::string verb = args[0];
    if (verb != "delete" || args[1] != "namespace") args.insert(args.begin(), {"-n", "dry"});
    auto r = Kubectl(args);
    EXPECT_EQ(r.exit_code, 0) << verb << ": " << r.err;
    if (verb != "patch") {  // kubectl patch does not say so
      EXPECT_NE(r.out.find("(server dry run)"), std::string::npos) << verb << ": " << r.out;
    }
    EXPECT_EQ(state(), before) << "after " << verb;
  }
  // A dry-run value other than All is refused (not taken for a real write).
  auto typo = testing::RunCommand(
      {"curl", "-s", "-X", "PATCH", "-H", "Content-Type: application/merge-patch+json",
       "--data", R"({"data":{"a":"9"}})",
       server_.url() + "/api/v1/namespaces/dry/configmaps/cm?dryRun=all"});
  // (The body is JSON: its quotes are escaped.)
  EXPECT_NE(typo.out.find("PatchOptions.meta.k8s.io \\\"\\\" is invalid: dryRun: "
                          "Unsupported value: []string{\\\"all\\\"}: supported values: "
                          "\\\"All\\\""),
            std::string::npos)
      << typo.out;
  EXPECT_EQ(state(), before);
  // kubectl diff asks the server what an apply would change, as a dry run.
  auto diff = Kubectl({"diff", "-f", changed});
  EXPECT_EQ(diff.exit_code, 1) << diff.err;  // 1: there are differences
  EXPECT_NE(diff.out.find("+  a: \"2\""), std::string::npos) << diff.out;
  EXPECT_EQ(diff.out.find("resourceVersion"), std::string::npos) << diff.out;
  EXPECT_EQ(state(), before);
}

TEST_P(KubectlTest, TheKubernetesServicePointsAtTheApiServer) {
  std::string port = server_.url().substr(server_.url().rfind(':') + 1);
  auto svc = Kubectl({"get", "service", "kubernetes", "-o",
                      "jsonpath={.spec.clusterIP} {.spec.ports[0].port} "
                      "{.spec.ports[0].targetPort} {.metadata.uid}"});
  ASSERT_EQ(svc.exit_code, 0) << svc.err;
  EXPECT_EQ(svc.out.substr(0, svc.out.rfind(' ')), "10.43.0.1 443 " + port);
  auto ep = Kubectl({"get", "endpoints", "kubernetes", "-o",
                     "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}"});
  EXPECT_EQ(ep.out, "127.0.0.1:" + port);
  auto slice = Kubectl({"get", "endpointslices", "kubernetes", "-o",
                        "jsonpath={.endpoints[0].addresses[0]}:{.ports[0].port}"});
  EXPECT_EQ(slice.out, "127.0.0.1:" + port);
  // The address is taken: a Service asking for it is refused.
  auto taken = Kubectl({"create", "service", "clusterip", "other", "--tcp=80:80",
                        "--clusterip=10.43.0.1"});
  EXPECT_NE(taken.exit_code, 0);
  // A restart keeps the same Service.
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start().ok());
  auto again = Kubectl({"get", "service", "kubernetes", "-o", "jsonpath={.metadata.uid}"});
  EXPECT_EQ(again.out, svc.out.substr(svc.out.rfind(' ') + 1));
}

TEST_P(KubectlTest, DrainEvictsPodsWithinTheirDisruptionBudgets) {
  auto f = File("drain.yaml",
                "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n---\n"
                "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: {app: a}}\n"
                "spec: {nodeName: n1, containers: [{name: c, image: nginx}]}\n---\n"
                "apiVersion: v1\nkind: Pod\nmetadata: {name: b, labels: {app: b}}\n"
                "spec: {nodeName: n1, containers: [{name: c, image: nginx}]}\n---\n"
                "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: pb}\n"
                "spec: {minAvailable: 1, selector: {matchLabels: {app: b}}}\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  // b's budget allows no disruption (no controller has counted healthy pods): a goes, b stays.
  auto held = Kubectl({"drain", "n1", "--force", "--grace-period=0", "--timeout=3s"});
  EXPECT_NE(held.exit_code, 0);
  EXPECT_NE(held.err.find("error when evicting pods/\"b\""), std::string::npos) << held.err;
  auto left = Kubectl({"get", "pods", "-o", "name"});
  EXPECT_EQ(left.out, "pod/b\n");
  EXPECT_EQ(Kubectl({"get", "node", "n1", "-o", "jsonpath={.spec.unschedulable}"}).out, "true");
  ASSERT_EQ(Kubectl({"delete", "pdb", "pb"}).exit_code, 0);
  auto drained = Kubectl({"drain", "n1", "--force", "--grace-period=0", "--timeout=10s"});
  ASSERT_EQ(drained.exit_code, 0) << drained.err;
  EXPECT_NE(drained.out.find("node/n1 drained"), std::string::npos) << drained.out;
  EXPECT_EQ(Kubectl({"get", "pods", "-o", "name"}).out, "");
  // Binding: once, to one node.
  auto pod = File("p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
                            "spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", pod}).exit_code, 0);
  const std::string url = server_.url() + "/api/v1/namespaces/default/pods/p/binding";
  const std::string body =
      R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n1"}})";
  auto bind = testing::RunCommand({"curl", "-s", "-w", " %{http_code}", "-X", "POST", "-H",
                                   "Content-Type: application/json", "-d", body, url});
  EXPECT_NE(bind.out.find("\"status\":\"Success\""), std::string::npos) << bind.out;
  EXPECT_EQ(Kubectl({"get", "pod", "p", "-o", "jsonpath={.spec.nodeName}"}).out, "n1");
  auto again = testing::RunCommand({"curl", "-s", "-w", " %{http_code}", "-X", "POST", "-H",
                                    "Content-Type: application/json", "-d", body, url});
  EXPECT_NE(again.out.find("pod p is already assigned to node \\\"n1\\\""), std::string::npos)
      << again.out;
  EXPECT_EQ(again.out.substr(again.out.size() - 4), " 409");
}

TEST_P(KubectlTest, EventsK8sIoServesTheCoreEventsUnderTheirNewNames) {
  auto f = File("ev.yaml",
                "apiVersion: events.k8s.io/v1\nkind: Event\nmetadata: {name: e1}\n"
                "eventTime: \"2026-01-02T03:04:05.000000Z\"\nreportingController: example.com/c\n"
                "reportingInstance: i1\naction: Testing\nreason: Tested\nnote: hello\n"
                "type: Normal\nregarding: {kind: Pod, name: p, namespace: default}\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "event.events.k8s.io/e1 created\n");
  // One object, two faces.
  auto core = Kubectl({"get", "events.v1.", "e1", "-o",
                       "jsonpath={.apiVersion} {.message} {.involvedObject.name} "
                       "{.reportingComponent}"});
  EXPECT_EQ(core.out, "v1 hello p example.com/c") << core.err;
  auto v1 = Kubectl({"get", "events.v1.events.k8s.io", "e1", "-o",
                     "jsonpath={.apiVersion} {.note} {.regarding.name} {.reportingController}"});
  EXPECT_EQ(v1.out, "events.k8s.io/v1 hello p example.com/c") << v1.err;
  auto list = Kubectl({"get", "events.v1.events.k8s.io", "-o", "jsonpath={.items[*].note}"});
  EXPECT_EQ(list.out, "hello");
  auto p = Kubectl({"patch", "events.v1.events.k8s.io", "e1", "--type=merge", "-p",
                    R"({"note":"patched"})"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(Kubectl({"get", "events.v1.", "e1", "-o", "jsonpath={.message}"}).out, "patched");
  auto t = Kubectl({"get", "events.v1.events.k8s.io"});
  EXPECT_EQ(t.out.rfind("LAST SEEN   TYPE     REASON   OBJECT   MESSAGE\n", 0), 0u) << t.out;
}

TEST_P(KubectlTest, PerKindValidationRules) {
  auto svc = File("svc.yaml",
                  "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
                  "  ports: [{port: 0}, {name: b, port: 80, protocol: HTTP}]\n");
  auto s = Kubectl({"create", "-f", svc});
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("spec.ports[0].name: Required value"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                       "inclusive"),
            std::string::npos) << s.err;
  EXPECT_NE(s.err.find("spec.ports[1].protocol: Unsupported value: \"HTTP\": supported values: "
                       "\"SCTP\", \"TCP\", \"UDP\""),
            std::string::npos) << s.err;
  auto cm = File("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                            "data: {\"bad key\": v}\n");
  auto c = Kubectl({"create", "-f", cm});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("data[bad key]: Invalid value: \"bad key\": a valid config key must "
                       "consist of"),
            std::string::npos)
      << c.err;
  auto frozen = File("frozen.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: f}\n"
                                    "immutable: true\ndata: {k: v}\n");
  ASSERT_EQ(Kubectl({"create", "-f", frozen}).exit_code, 0);
  auto thaw = Kubectl({"patch", "configmap", "f", "--type=merge", "-p", R"({"data":{"k":"w"}})"});
  EXPECT_NE(thaw.exit_code, 0);
  EXPECT_NE(thaw.err.find("data: Forbidden: field is immutable when `immutable` is set"),
            std::string::npos) << thaw.err;
  auto pod = File("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
                              "  containers: [{name: c, image: nginx, volumeMounts: "
                              "[{name: data, mountPath: /d}]}]\n");
  auto p = Kubectl({"create", "-f", pod});
  EXPECT_NE(p.exit_code, 0);
  EXPECT_NE(p.err.find("spec.containers[0].volumeMounts[0].name: Not found: \"data\""),
            std::string::npos) << p.err;
  auto ok = File("ok.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\n"
                            "spec: {containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", ok}).exit_code, 0);
  // The image may change; other fields of a pod's spec may not.
  EXPECT_EQ(Kubectl({"set", "image", "pod/q", "c=nginx:1.27"}).exit_code, 0);
  auto changed = Kubectl({"patch", "pod", "q", "-p", R"({"spec":{"restartPolicy":"Never"}})"});
  EXPECT_NE(changed.exit_code, 0);
  EXPECT_NE(changed.err.find("spec: Forbidden: pod updates may not change fields other than"),
            std::string::npos) << changed.err;
}

TEST_P(KubectlTest, ImmutableFieldsSchedulesAndClaimsGetUpstreamsErrors) {
  // A Service keeps its address.
  ASSERT_EQ(Kubectl({"create", "service", "clusterip", "web", "--tcp=80:8080"}).exit_code, 0);
  auto ip = Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"});
  ASSERT_FALSE(ip.out.empty());
  std::string other = ip.out == "10.43.0.200" ? "10.43.0.201" : "10.43.0.200";
  auto moved = Kubectl({"patch", "service", "web", "-p",
                        R"({"spec":{"clusterIP":")" + other + R"("}})"});
  EXPECT_NE(moved.exit_code, 0);
  EXPECT_NE(moved.err.find("The Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: "
                           "[]string{\"" + other + "\"}: may not change once set"),
            std::string::npos) << moved.err;
  EXPECT_EQ(Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"}).out, ip.out);
  // A binding keeps its role.
  ASSERT_EQ(Kubectl({"create", "rolebinding", "rb", "--clusterrole=view", "--user=alice"})
                .exit_code, 0);
  auto rebound = Kubectl({"patch", "rolebinding", "rb", "--type=merge", "-p",
                          R"({"roleRef":{"name":"edit"}})"});
  EXPECT_NE(rebound.exit_code, 0);
  EXPECT_NE(rebound.err.find("The RoleBinding \"rb\" is invalid: roleRef: Invalid value: "
                             "rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", "
                             "Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef"),
            std::string::npos) << rebound.err;
  // A schedule is parsed as upstream parses it.
  auto cron = Kubectl({"create", "cronjob", "cj", "--image=busybox", "--schedule=61 * * * *"});
  EXPECT_NE(cron.exit_code, 0);
  EXPECT_NE(cron.err.find("CronJob.batch \"cj\" is invalid: spec.schedule: Invalid value: "
                          "\"61 * * * *\": end of range (61) above maximum (59): 61"),
            std::string::npos) << cron.err;
  EXPECT_EQ(Kubectl({"create", "cronjob", "ok", "--image=busybox", "--schedule=@hourly"})
                .exit_code, 0);
  // A claim needs access modes.
  auto pvc = File("pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\n"
                              "metadata: {name: data}\n"
                              "spec: {resources: {requests: {storage: 1Gi}}}\n");
  auto claim = Kubectl({"create", "-f", pvc});
  EXPECT_NE(claim.exit_code, 0);
  EXPECT_NE(claim.err.find("The PersistentVolumeClaim \"data\" is invalid: spec.accessModes: "
                           "Required value: at least 1 access mode is required"),
            std::string::npos) << claim.err;
  EXPECT_NE(Kubectl({"get", "pvc", "data"}).exit_code, 0);  // nothing stored
}

TEST_P(KubectlTest, AffinitySizesAndStatusWritesGetUpstreamsErrors) {
  // A Deployment whose template has an unknown node affinity operator is refused.
  auto bad = File("bad-affinity.yaml",
                  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n"
                  "  selector: {matchLabels: {app: web}}\n  template:\n"
                  "    metadata: {labels: {app: web}}\n    spec:\n"
                  "      containers: [{name: c, image: nginx}]\n"
                  "      affinity:\n        nodeAffinity:\n"
                  "          requiredDuringSchedulingIgnoredDuringExecution:\n"
                  "            nodeSelectorTerms:\n"
                  "            - matchExpressions: [{key: zone, operator: Near, values: [a]}]\n");
  auto refused = Kubectl({"create", "-f", bad});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find(
                "The Deployment \"web\" is invalid: spec.template.spec.affinity.nodeAffinity."
                "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]."
                "matchExpressions[0].operator: Invalid value: \"Near\": not a valid selector "
                "operator"),
            std::string::npos) << refused.err;
  EXPECT_NE(Kubectl({"get", "deployment", "web"}).exit_code, 0);  // nothing stored
  // A ConfigMap over 1 MiB is refused; one at the limit is stored.
  std::string half(512 * 1024, 'x');
  auto big = File("big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n"
                              "data:\n  a: " + half + "\n  b: " + half + "x\n");
  auto too_big = Kubectl({"create", "-f", big});
  EXPECT_NE(too_big.exit_code, 0);
  EXPECT_NE(too_big.err.find("The ConfigMap \"big\" is invalid: []: Too long: may not be more "
                             "than 1048576 bytes"),
            std::string::npos) << too_big.err;
  auto fits = File("fits.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fits}\n"
                                "data:\n  a: " + half + "\n  b: " + half + "\n");
  EXPECT_EQ(Kubectl({"create", "-f", fits}).exit_code, 0);
  // A status write is validated: a negative replica count is refused and not stored.
  ASSERT_EQ(Kubectl({"create", "deployment", "st", "--image=nginx"}).exit_code, 0);
  auto negative = Kubectl({"patch", "deployment", "st", "--subresource=status", "--type=merge",
                           "-p", R"({"status":{"replicas":-1}})"});
  EXPECT_NE(negative.exit_code, 0);
  // As upstream, the other counts (0) are then above status.replicas too.
  EXPECT_NE(negative.err.find("The Deployment \"st\" is invalid: \n* status.replicas: Invalid "
                              "value: -1: must be greater than or equal to 0\n"
                              "* status.updatedReplicas: Invalid value: 0: cannot be greater "
                              "than status.replicas"),
            std::string::npos) << negative.err;
  auto fine = Kubectl({"patch", "deployment", "st", "--subresource=status", "--type=merge",
                       "-p", R"({"status":{"observedGeneration":7}})"});
  EXPECT_EQ(fine.exit_code, 0) << fine.err;
  EXPECT_EQ(Kubectl({"get", "deployment", "st", "-o", "jsonpath={.status.observedGeneration}"})
                .out, "7");
}

TEST_P(KubectlTest, ServiceTypeAndNodePortChangesAllocateAndFree) {
  ASSERT_EQ(Kubectl({"create", "service", "clusterip", "web", "--tcp=80:8080"}).exit_code, 0);
  auto np = Kubectl({"patch", "service", "web", "-p", R"({"spec":{"type":"NodePort"}})"});
  ASSERT_EQ(np.exit_code, 0) << np.err;
  auto port = Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.ports[0].nodePort}"});
  ASSERT_FALSE(port.out.empty());
  int first = std::stoi(port.out);
  EXPECT_GE(first, 30000);
  EXPECT_LE(first, 32767);
  // The port is taken while web holds it...
  auto other = File("other.yaml",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec:\n"
                    "  type: NodePort\n  ports: [{port: 80, nodePort: " + port.out + "}]\n");
  auto taken = Kubectl({"create", "-f", other});
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.err.find("provided port is already allocated"), std::string::npos) << taken.err;
  // ...moves when web asks for another one, and is free again.
  int second = first == 32767 ? 30000 : first + 1;
  auto moved = Kubectl({"patch", "service", "web", "--type=json", "-p",
                        R"([{"op":"replace","path":"/spec/ports/0/nodePort","value":)" +
                            std::to_string(second) + "}]"});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  auto now = Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.ports[0].nodePort}"});
  EXPECT_EQ(now.out, std::to_string(second));
  ASSERT_EQ(Kubectl({"create", "-f", other}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "service", "other"}).exit_code, 0);
  // Back to ClusterIP: no node ports, and the second one is free.
  auto back = Kubectl({"patch", "service", "web", "-p", R"({"spec":{"type":"ClusterIP"}})"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  auto none = Kubectl({"get", "service", "web", "-o",
                       "jsonpath={.spec.type} {.spec.ports[0].nodePort}|{.spec.externalTrafficPolicy}|"});
  EXPECT_EQ(none.out, "ClusterIP ||");
  auto reuse = File("reuse.yaml",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: reuse}\nspec:\n"
                    "  type: NodePort\n  ports: [{port: 80, nodePort: " +
                        std::to_string(second) + "}]\n");
  auto r = Kubectl({"create", "-f", reuse});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // To a name and back: the address is freed, then a new one allocated.
  auto ip = Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"}).out;
  auto named = Kubectl({"patch", "service", "web", "-p",
                        R"({"spec":{"type":"ExternalName","externalName":"example.com"}})"});
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(Kubectl({"get", "service", "web", "-o",
                     "jsonpath={.spec.type} {.spec.externalName} {.spec.clusterIP}|"}).out,
            "ExternalName example.com |");
  auto claim = Kubectl({"create", "service", "clusterip", "claim", "--tcp=80:80",
                        "--clusterip=" + ip});
  EXPECT_EQ(claim.exit_code, 0) << claim.err;  // the old address is free
  auto unnamed = Kubectl({"patch", "service", "web", "-p", R"({"spec":{"type":"ClusterIP"}})"});
  ASSERT_EQ(unnamed.exit_code, 0) << unnamed.err;
  auto fresh = Kubectl({"get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"}).out;
  EXPECT_FALSE(fresh.empty());
  EXPECT_NE(fresh, ip);
  auto missing = Kubectl({"patch", "service", "claim", "-p", R"({"spec":{"type":"ExternalName"}})"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("spec.externalName: Required value"), std::string::npos)
      << missing.err;
}

TEST_P(KubectlTest, RestartKeepsObjects) {
  auto f = File("keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start().ok());
  auto g = Kubectl({"get", "configmap", "kept", "-o", "name"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out, "configmap/kept\n");
  // resourceVersions go on increasing across the restart.
  auto before = Kubectl({"get", "configmap", "kept", "-o", "jsonpath={.metadata.resourceVersion}"});
  ASSERT_EQ(Kubectl({"create", "configmap", "after"}).exit_code, 0);
  auto after = Kubectl({"get", "configmap", "after", "-o", "jsonpath={.metadata.resourceVersion}"});
  ASSERT_FALSE(before.out.empty());
  ASSERT_FALSE(after.out.empty());
  EXPECT_GT(std::stoll(after.out), std::stoll(before.out));
  auto list = Kubectl({"get", "--raw", "/api/v1/namespaces/default/configmaps"});
  const std::string mark = R"("metadata":{"resourceVersion":")";
  auto at = list.out.find(mark);
  ASSERT_NE(at, std::string::npos) << list.out;
  EXPECT_GE(std::stoll(list.out.substr(at + mark.size())), std::stoll(after.out)) << list.out;
}

// --- What kubectl prints: tables, describe, delete, wait, discovery ------------------------

// One table of `kubectl get` output, each row cut at the header's column starts: kubectl
// aligns every cell under its header, columns at least three spaces apart, so empty cells
// stay visible.
struct PrintedTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // The first row that has `cell` in some column, or nothing.
  std::vector<std::string> RowWith(const std::string& cell) const {
    for (const auto& r : rows) {
      if (std::find(r.begin(), r.end(), cell) != r.end()) return r;
    }
    return {};
  }
};

std::string TrimSpaces(std::string_view s) {
  auto b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(' ') - b + 1));
}

// Every table in `out` (tables are separated by empty lines, as `get all` prints them).
std::vector<PrintedTable> ParseTables(const std::string& out) {
  std::vector<PrintedTable> tables;
  std::vector<size_t> starts;
  std::istringstream in(out);
  std::string line;
  bool new_table = true;
  while (std::getline(in, line)) {
    if (TrimSpaces(line).empty()) {
      new_table = true;
      continue;
    }
    if (new_table) {
      new_table = false;
      tables.emplace_back();
      starts.clear();
      for (size_t i = 0; i < line.size(); ++i) {
        bool gap = i == 0 || (i >= 2 && line[i - 1] == ' ' && line[i - 2] == ' ');
        if (line[i] != ' ' && gap) starts.push_back(i);
      }
      for (size_t c = 0; c < starts.size(); ++c) {
        size_t end = c + 1 < starts.size() ? starts[c + 1] : line.size();
        tables.back().header.push_back(TrimSpaces(line.substr(starts[c], end - starts[c])));
      }
      continue;
    }
    std::vector<std::string> cells;
    for (size_t c = 0; c < starts.size(); ++c) {
      if (starts[c] >= line.size()) {
        cells.emplace_back();
        continue;
      }
      size_t end = c + 1 < starts.size() ? starts[c + 1] : line.size();
      cells.push_back(TrimSpaces(line.substr(starts[c], end - starts[c])));
    }
    tables.back().rows.push_back(std::move(cells));
  }
  return tables;
}

PrintedTable OnlyTable(const std::string& out) {
  auto tables = ParseTables(out);
  return tables.size() == 1 ? tables.front() : PrintedTable{};
}

using Cells = std::vector<std::string>;

// `got` with the cells `want` leaves open ("*") masked, so EXPECT_EQ shows real differences.
Cells Masked(Cells got, const Cells& want) {
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (want[i] == "*") got[i] = "*";
  }
  return got;
}

// An RFC 3339 time `ago` before now, as the API writes it; `micro` for a MicroTime.
std::string TimeAgo(std::chrono::seconds ago, bool micro = false,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  std::time_t t = std::chrono::system_clock::to_time_t(now - ago);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, micro ? "%Y-%m-%dT%H:%M:%S.000000Z" : "%Y-%m-%dT%H:%M:%SZ",
                &tm);
  return buf;
}

TEST_P(KubectlTest, CoreKindsPrintUpstreamColumns) {
  const std::string h10 = TimeAgo(10h), h30 = TimeAgo(30h);
  auto f = File(
      "core.yaml",
      "apiVersion: v1\nkind: List\nitems:\n"
      "- apiVersion: v1\n  kind: Event\n  metadata: {name: ev1}\n"
      "  involvedObject: {kind: Pod, name: p1, namespace: default,"
      " fieldPath: 'spec.containers{c}'}\n"
      "  reason: Pulled\n  type: Normal\n  message: \"  Container image already present \\n\"\n"
      "  source: {component: kubelet, host: node-1}\n  count: 5\n"
      "  firstTimestamp: '" + h30 + "'\n  lastTimestamp: '" + h10 + "'\n"
      "- apiVersion: v1\n  kind: Event\n  metadata: {name: ev2}\n"
      "  involvedObject: {kind: Node, name: n1}\n  reason: Failed\n  type: Warning\n"
      "  message: broken\n  reportingComponent: ctrl\n  reportingInstance: inst-1\n"
      "  action: Checking\n"
      "  eventTime: '" + TimeAgo(30h, true) + "'\n"
      "  series: {count: 2, lastObservedTime: '" + TimeAgo(10h, true) + "'}\n"
      "- apiVersion: v1\n  kind: Endpoints\n  metadata: {name: ep1}\n  subsets:\n"
      "  - addresses: [{ip: 10.0.0.1}, {ip: 10.0.0.2}, {ip: 10.0.0.3}, {ip: 10.0.0.4}]\n"
      "    ports: [{name: http, port: 80}]\n"
      "- apiVersion: v1\n  kind: Endpoints\n  metadata: {name: ep2}\n"
      "- apiVersion: v1\n  kind: LimitRange\n  metadata: {name: lr1}\n"
      "  spec: {limits: [{type: Container, default: {cpu: 500m}}]}\n"
      "- apiVersion: v1\n  kind: ResourceQuota\n  metadata: {name: rq1}\n"
      "  spec: {hard: {pods: '10', requests.cpu: '1', limits.memory: 2Gi}}\n"
      "- apiVersion: v1\n  kind: ResourceQuota\n  metadata: {name: rq2}\n"
      "  spec: {hard: {pods: '5', cpu: '2'}}\n"
      "- apiVersion: v1\n  kind: PersistentVolume\n  metadata: {name: pv1}\n"
      "  spec: {capacity: {storage: 5Gi}, accessModes: [ReadOnlyMany, ReadWriteOnce],"
      " storageClassName: slow, hostPath: {path: /tmp/pv1},"
      " claimRef: {namespace: default, name: pvc1}}\n"
      "- apiVersion: v1\n  kind: PersistentVolume\n  metadata: {name: pv2}\n"
      "  spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteMany],"
      " persistentVolumeReclaimPolicy: Delete, volumeMode: Block, hostPath: {path: /tmp/pv2}}\n"
      "- apiVersion: v1\n  kind: PersistentVolumeClaim\n  metadata: {name: pvc1}\n"
      "  spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 5Gi}},"
      " storageClassName: slow, volumeName: pv1}\n"
      "- apiVersion: v1\n  kind: PersistentVolumeClaim\n"
      "  metadata: {name: pvc2, annotations: {volume.beta.kubernetes.io/storage-class: fast}}\n"
      "  spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  SetStatus("resourcequota", "rq1",
            "{hard: {pods: '10', requests.cpu: '1', limits.memory: 2Gi},"
            " used: {pods: '1', requests.cpu: 500m}}");
  SetStatus("pv", "pv1", "{phase: Bound}");
  SetStatus("pvc", "pvc1",
            "{phase: Bound, capacity: {storage: 5Gi}, accessModes: [ReadWriteOnce]}");

  auto ev = OnlyTable(Kubectl({"get", "events"}).out);
  EXPECT_EQ(ev.header, Cells({"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}));
  EXPECT_EQ(ev.RowWith("pod/p1"),
            Cells({"10h", "Normal", "Pulled", "pod/p1", "Container image already present"}));
  EXPECT_EQ(ev.RowWith("node/n1"), Cells({"10h", "Warning", "Failed", "node/n1", "broken"}));
  auto evw = OnlyTable(Kubectl({"get", "events", "-o", "wide"}).out);
  EXPECT_EQ(evw.header, Cells({"LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE",
                               "MESSAGE", "FIRST SEEN", "COUNT", "NAME"}));
  EXPECT_EQ(evw.RowWith("ev1"),
            Cells({"10h", "Normal", "Pulled", "pod/p1", "spec.containers{c}", "kubelet, node-1",
                   "Container image already present", "30h", "5", "ev1"}));
  EXPECT_EQ(evw.RowWith("ev2"), Cells({"10h", "Warning", "Failed", "node/n1", "", "ctrl, inst-1",
                                       "broken", "30h", "2", "ev2"}));
  auto eva = OnlyTable(Kubectl({"get", "events", "-A"}).out);
  EXPECT_EQ(eva.header,
            Cells({"NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}));

  auto ep = OnlyTable(Kubectl({"get", "endpoints"}).out);
  EXPECT_EQ(ep.header, Cells({"NAME", "ENDPOINTS", "AGE"}));
  EXPECT_EQ(Masked(ep.RowWith("ep1"), {"", "", "*"}),
            Cells({"ep1", "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...", "*"}));
  EXPECT_EQ(Masked(ep.RowWith("ep2"), {"", "", "*"}), Cells({"ep2", "<none>", "*"}));

  auto lr = OnlyTable(Kubectl({"get", "limitranges"}).out);
  EXPECT_EQ(lr.header, Cells({"NAME", "CREATED AT"}));
  auto lr1 = lr.RowWith("lr1");
  ASSERT_EQ(lr1.size(), 2u);
  EXPECT_EQ(lr1[1].size(), std::string("2025-01-01T00:00:00Z").size()) << lr1[1];
  EXPECT_EQ(lr1[1].substr(10, 1) + lr1[1].substr(19), "TZ") << lr1[1];

  auto rq = OnlyTable(Kubectl({"get", "resourcequotas"}).out);
  EXPECT_EQ(rq.header, Cells({"NAME", "REQUEST", "LIMIT", "AGE"}));
  EXPECT_EQ(Masked(rq.RowWith("rq1"), {"", "", "", "*"}),
            Cells({"rq1", "pods: 1/10, requests.cpu: 500m/1", "limits.memory: 0/2Gi", "*"}));
  // Before the quota controller reports, every limited resource shows 0/0.
  EXPECT_EQ(Masked(rq.RowWith("rq2"), {"", "", "", "*"}),
            Cells({"rq2", "cpu: 0/0, pods: 0/0", "", "*"}));

  auto pv = OnlyTable(Kubectl({"get", "pv", "-o", "wide"}).out);
  EXPECT_EQ(pv.header, Cells({"NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS",
                              "CLAIM", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE",
                              "VOLUMEMODE"}));
  EXPECT_EQ(Masked(pv.RowWith("pv1"), {"", "", "", "", "", "", "", "", "", "*"}),
            Cells({"pv1", "5Gi", "RWO,ROX", "Retain", "Bound", "default/pvc1", "slow", "<unset>",
                   "", "*", "Filesystem"}));
  EXPECT_EQ(Masked(pv.RowWith("pv2"), {"", "", "", "", "", "", "", "", "", "*"}),
            Cells({"pv2", "1Gi", "RWX", "Delete", "Pending", "", "", "<unset>", "", "*",
                   "Block"}));
  EXPECT_EQ(OnlyTable(Kubectl({"get", "pv"}).out).header.back(), "AGE");

  auto pvc = OnlyTable(Kubectl({"get", "pvc", "-o", "wide"}).out);
  EXPECT_EQ(pvc.header, Cells({"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES",
                               "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE", "VOLUMEMODE"}));
  EXPECT_EQ(Masked(pvc.RowWith("pvc1"), {"", "", "", "", "", "", "", "*"}),
            Cells({"pvc1", "Bound", "pv1", "5Gi", "RWO", "slow", "<unset>", "*", "Filesystem"}));
  EXPECT_EQ(Masked(pvc.RowWith("pvc2"), {"", "", "", "", "", "", "", "*"}),
            Cells({"pvc2", "Pending", "", "", "", "fast", "<unset>", "*", "Filesystem"}));
}

TEST_P(KubectlTest, WorkloadKindsPrintUpstreamColumns) {
  const auto now = std::chrono::system_clock::now();
  const std::string h10 = TimeAgo(10h, false, now);
  const std::string started = TimeAgo(10h + 65s, false, now);  // 65 s before h10, exactly
  // The owner of a controller revision must exist, or the garbage collector takes it.
  auto sts_file = File("sts.yaml",
                  "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\n"
                  "spec: {serviceName: web, replicas: 0, selector: {matchLabels: {app: web}},"
                  " template: {metadata: {labels: {app: web}},"
                  " spec: {containers: [{name: c, image: nginx}]}}}\n");
  ASSERT_EQ(Kubectl({"create", "-f", sts_file}).exit_code, 0);
  const std::string sts_uid = Kubectl({"get", "statefulset", "web", "-o",
                                       "jsonpath={.metadata.uid}"}).out;
  auto f = File(
      "work.yaml",
      "apiVersion: v1\nkind: List\nitems:\n"
      "- apiVersion: batch/v1\n  kind: Job\n  metadata: {name: j1}\n"
      "  spec: {template: {spec: {restartPolicy: Never,"
      " containers: [{name: c, image: busybox}]}}}\n"
      "- apiVersion: batch/v1\n  kind: Job\n  metadata: {name: j2}\n"
      "  spec: {template: {spec: {restartPolicy: Never,"
      " containers: [{name: c, image: busybox}]}}}\n"
      "- apiVersion: batch/v1\n  kind: Job\n  metadata: {name: j3}\n"
      "  spec: {parallelism: 3, template: {spec: {restartPolicy: Never,"
      " containers: [{name: c, image: busybox}]}}}\n"
      "- apiVersion: batch/v1\n  kind: CronJob\n  metadata: {name: cj1}\n"
      "  spec: {schedule: '*/5 * * * *', timeZone: Etc/UTC, suspend: true, jobTemplate: {spec:"
      " {template: {spec: {restartPolicy: Never, containers: [{name: a, image: busybox},"
      " {name: b, image: 'nginx:1.27'}]}}}}}\n"
      "- apiVersion: apps/v1\n  kind: ControllerRevision\n  metadata:\n    name: web-7d4b9\n"
      "    ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: web,"
      " uid: " + sts_uid + ", controller: true}]\n  revision: 2\n"
      "  data: {spec: {}}\n"
      "- apiVersion: apps/v1\n  kind: ControllerRevision\n  metadata: {name: loose}\n"
      "  revision: 1\n  data: {spec: {}}\n"
      "- apiVersion: v1\n  kind: Pod\n  metadata: {name: crash}\n"
      "  spec: {nodeName: n1, containers: [{name: c, image: nginx}]}\n"
      "- apiVersion: v1\n  kind: Pod\n  metadata: {name: init}\n"
      "  spec: {initContainers: [{name: i, image: busybox}],"
      " containers: [{name: c, image: nginx}]}\n"
      "- apiVersion: v1\n  kind: Pod\n  metadata: {name: done}\n"
      "  spec: {restartPolicy: Never, containers: [{name: c, image: busybox}],"
      " readinessGates: [{conditionType: example.com/ready}]}\n"
      "- apiVersion: v1\n  kind: Node\n"
      "  metadata: {name: n1, labels: {node-role.kubernetes.io/control-plane: ''}}\n"
      "  spec: {unschedulable: true}\n"
      "  status: {conditions: [{type: Ready, status: 'True'}],"
      " addresses: [{type: InternalIP, address: 192.168.1.10}],"
      " nodeInfo: {kubeletVersion: v1.33.0, machineID: '', systemUUID: '', bootID: '',"
      " kernelVersion: '', osImage: '', containerRuntimeVersion: '', kubeProxyVersion: '',"
      " operatingSystem: linux, architecture: amd64}}\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  SetStatus("job", "j2",
            "{succeeded: 1, startTime: '" + started + "', completionTime: '" + h10 +
                "', conditions: [{type: Complete, status: 'True'}]}");
  SetStatus("cronjob", "cj1", "{lastScheduleTime: '" + h10 + "'}");
  SetStatus("pod", "crash",
            "{phase: Running, podIPs: [{ip: 10.1.0.5}],"
            " containerStatuses: [{name: c, image: nginx, imageID: '', ready: false,"
            " restartCount: 4, state: {waiting: {reason: CrashLoopBackOff}},"
            " lastState: {terminated: {exitCode: 1, finishedAt: '" + h10 + "'}}}]}");
  SetStatus("pod", "init",
            "{initContainerStatuses: [{name: i, image: busybox, imageID: '', ready: false,"
            " restartCount: 0, state: {waiting: {reason: PodInitializing}}}]}");
  SetStatus("pod", "done",
            "{phase: Succeeded, conditions: [{type: example.com/ready, status: 'True'}],"
            " containerStatuses: [{name: c, image: busybox, imageID: '', ready: false,"
            " restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed}}}]}");

  auto jobs = OnlyTable(Kubectl({"get", "jobs", "-o", "wide"}).out);
  EXPECT_EQ(jobs.header, Cells({"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE",
                                "CONTAINERS", "IMAGES", "SELECTOR"}));
  auto uid = Kubectl({"get", "job", "j1", "-o", "jsonpath={.metadata.uid}"}).out;
  // A Job without labels of its own carries its template's, the generated ones included.
  EXPECT_EQ(Kubectl({"get", "job", "j1", "-o",
                     "jsonpath={.metadata.labels.batch\\.kubernetes\\.io/controller-uid}"})
                .out,
            uid);
  EXPECT_EQ(Masked(jobs.RowWith("j1"), {"", "", "", "", "*"}),
            Cells({"j1", "Running", "0/1", "", "*", "c", "busybox",
                   "batch.kubernetes.io/controller-uid=" + uid}));
  EXPECT_EQ(Masked(jobs.RowWith("j2"), {"", "", "", "", "*", "", "", "*"}),
            Cells({"j2", "Complete", "1/1", "65s", "*", "c", "busybox", "*"}));
  EXPECT_EQ(Masked(jobs.RowWith("j3"), {"", "", "", "", "*", "", "", "*"}),
            Cells({"j3", "Running", "0/1 of 3", "", "*", "c", "busybox", "*"}));
  EXPECT_EQ(OnlyTable(Kubectl({"get", "jobs"}).out).header,
            Cells({"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}));

  auto cj = OnlyTable(Kubectl({"get", "cronjobs", "-o", "wide"}).out);
  EXPECT_EQ(cj.header, Cells({"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE",
                              "LAST SCHEDULE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}));
  EXPECT_EQ(Masked(cj.RowWith("cj1"), {"", "", "", "", "", "", "*"}),
            Cells({"cj1", "*/5 * * * *", "Etc/UTC", "True", "0", "10h", "*", "a,b",
                   "busybox,nginx:1.27", "<none>"}));

  auto cr = OnlyTable(Kubectl({"get", "controllerrevisions"}).out);
  EXPECT_EQ(cr.header, Cells({"NAME", "CONTROLLER", "REVISION", "AGE"}));
  EXPECT_EQ(Masked(cr.RowWith("web-7d4b9"), {"", "", "", "*"}),
            Cells({"web-7d4b9", "statefulset.apps/web", "2", "*"}));
  EXPECT_EQ(Masked(cr.RowWith("loose"), {"", "", "", "*"}), Cells({"loose", "<none>", "1", "*"}));

  auto pods = OnlyTable(Kubectl({"get", "pods", "-o", "wide"}).out);
  EXPECT_EQ(pods.header, Cells({"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                "NOMINATED NODE", "READINESS GATES"}));
  EXPECT_EQ(Masked(pods.RowWith("crash"), {"", "", "", "", "*"}),
            Cells({"crash", "0/1", "CrashLoopBackOff", "4 (10h ago)", "*", "10.1.0.5", "n1",
                   "<none>", "<none>"}));
  EXPECT_EQ(Masked(pods.RowWith("init"), {"", "", "", "", "*"}),
            Cells({"init", "0/1", "Init:0/1", "0", "*", "<none>", "<none>", "<none>", "<none>"}));
  EXPECT_EQ(Masked(pods.RowWith("done"), {"", "", "", "", "*"}),
            Cells({"done", "0/1", "Completed", "0", "*", "<none>", "<none>", "<none>", "1/1"}));

  auto nodes = OnlyTable(Kubectl({"get", "nodes", "-o", "wide"}).out);
  EXPECT_EQ(nodes.header, Cells({"NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                                 "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                                 "CONTAINER-RUNTIME"}));
  EXPECT_EQ(Masked(nodes.RowWith("n1"), {"", "", "", "*"}),
            Cells({"n1", "Ready,SchedulingDisabled", "control-plane", "*", "v1.33.0",
                   "192.168.1.10", "<none>", "<unknown>", "<unknown>", "<unknown>"}));

  // The remaining workload kinds' wide headers.
  auto w = File("sets.yaml",
                "apiVersion: v1\nkind: List\nitems:\n"
                "- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: s}\n"
                "  spec: {selector: {matchLabels: {app: s}}, serviceName: s, template:"
                " {metadata: {labels: {app: s}}, spec: {containers: [{name: c, image: nginx}]}}}\n"
                "- apiVersion: apps/v1\n  kind: DaemonSet\n  metadata: {name: ds}\n"
                "  spec: {selector: {matchLabels: {app: ds}}, template: {metadata: {labels:"
                " {app: ds}}, spec: {nodeSelector: {disk: ssd}, containers: [{name: c,"
                " image: nginx}]}}}\n"
                "- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata: {name: rs}\n"
                "  spec: {replicas: 2, selector: {matchLabels: {app: rs}, matchExpressions:"
                " [{key: tier, operator: In, values: [web, api]}]}, template: {metadata:"
                " {labels: {app: rs, tier: web}}, spec: {containers: [{name: c, image: nginx}]}}}\n"
                "- apiVersion: v1\n  kind: ReplicationController\n  metadata: {name: rc}\n"
                "  spec: {template: {metadata: {labels: {app: rc}}, spec: {containers: [{name: c,"
                " image: nginx}]}}}\n");
  ASSERT_EQ(Kubectl({"create", "-f", w}).exit_code, 0);
  auto sts = OnlyTable(Kubectl({"get", "statefulsets", "-o", "wide"}).out);
  EXPECT_EQ(sts.header, Cells({"NAME", "READY", "AGE", "CONTAINERS", "IMAGES"}));
  EXPECT_EQ(Masked(sts.RowWith("s"), {"", "", "*"}), Cells({"s", "0/1", "*", "c", "nginx"}));
  auto ds = OnlyTable(Kubectl({"get", "daemonsets", "-o", "wide"}).out);
  EXPECT_EQ(ds.header, Cells({"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                              "NODE SELECTOR", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}));
  EXPECT_EQ(Masked(ds.RowWith("ds"), {"", "", "", "", "", "", "", "*"}),
            Cells({"ds", "0", "0", "0", "0", "0", "disk=ssd", "*", "c", "nginx", "app=ds"}));
  auto rs = OnlyTable(Kubectl({"get", "replicasets", "-o", "wide"}).out);
  EXPECT_EQ(rs.header,
            Cells({"NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES",
                   "SELECTOR"}));
  EXPECT_EQ(Masked(rs.RowWith("rs"), {"", "", "", "", "*"}),
            Cells({"rs", "2", "0", "0", "*", "c", "nginx", "app=rs,tier in (api,web)"}));
  auto rc = OnlyTable(Kubectl({"get", "replicationcontrollers", "-o", "wide"}).out);
  EXPECT_EQ(rc.header, rs.header);
  EXPECT_EQ(Masked(rc.RowWith("rc"), {"", "", "", "", "*"}),
            Cells({"rc", "1", "0", "0", "*", "c", "nginx", "app=rc"}));
}

TEST_P(KubectlTest, OtherGroupsPrintUpstreamColumns) {
  auto f = File(
      "other.yaml",
      "apiVersion: v1\nkind: List\nitems:\n"
      "- apiVersion: coordination.k8s.io/v1\n  kind: Lease\n  metadata: {name: l1}\n"
      "  spec: {holderIdentity: node-a}\n"
      "- apiVersion: coordination.k8s.io/v1\n  kind: Lease\n  metadata: {name: l2}\n"
      "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: es1}\n"
      "  addressType: IPv4\n  ports: [{name: http, port: 80}, {name: metrics}]\n"
      "  endpoints: [{addresses: [10.0.0.1, 10.0.0.2]}, {addresses: [10.0.0.3]},"
      " {addresses: [10.0.0.4]}]\n"
      "- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: es2}\n"
      "  addressType: IPv6\n  endpoints: []\n"
      "- apiVersion: policy/v1\n  kind: PodDisruptionBudget\n  metadata: {name: pdb1}\n"
      "  spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n"
      "- apiVersion: policy/v1\n  kind: PodDisruptionBudget\n  metadata: {name: pdb2}\n"
      "  spec: {maxUnavailable: 25%, selector: {matchLabels: {app: web}}}\n"
      "- apiVersion: scheduling.k8s.io/v1\n  kind: PriorityClass\n  metadata: {name: high}\n"
      "  value: 1000\n"
      "- apiVersion: scheduling.k8s.io/v1\n  kind: PriorityClass\n  metadata: {name: top}\n"
      "  value: 5000\n  globalDefault: true\n  preemptionPolicy: Never\n"
      "- apiVersion: rbac.authorization.k8s.io/v1\n  kind: Role\n  metadata: {name: r1}\n"
      "  rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n"
      "- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: cr1}\n"
      "  rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n"
      "- apiVersion: rbac.authorization.k8s.io/v1\n  kind: RoleBinding\n  metadata: {name: rb1}\n"
      "  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r1}\n"
      "  subjects: [{kind: User, name: alice}, {kind: User, name: carol},"
      " {kind: ServiceAccount, name: robot, namespace: default}, {kind: Group, name: devs}]\n"
      "- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRoleBinding\n"
      "  metadata: {name: crb1}\n"
      "  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr1}\n"
      "  subjects: [{kind: Group, name: ops}]\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  SetStatus("pdb", "pdb2",
            "{disruptionsAllowed: 2, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0}");

  auto leases = OnlyTable(Kubectl({"get", "leases"}).out);
  EXPECT_EQ(leases.header, Cells({"NAME", "HOLDER", "AGE"}));
  EXPECT_EQ(Masked(leases.RowWith("l1"), {"", "", "*"}), Cells({"l1", "node-a", "*"}));
  EXPECT_EQ(Masked(leases.RowWith("l2"), {"", "", "*"}), Cells({"l2", "", "*"}));

  auto es = OnlyTable(Kubectl({"get", "endpointslices"}).out);
  EXPECT_EQ(es.header, Cells({"NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"}));
  EXPECT_EQ(Masked(es.RowWith("es1"), {"", "", "", "", "*"}),
            Cells({"es1", "IPv4", "80,metrics", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "*"}));
  EXPECT_EQ(Masked(es.RowWith("es2"), {"", "", "", "", "*"}),
            Cells({"es2", "IPv6", "<unset>", "<unset>", "*"}));

  auto pdb = OnlyTable(Kubectl({"get", "pdb"}).out);
  EXPECT_EQ(pdb.header,
            Cells({"NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"}));
  EXPECT_EQ(Masked(pdb.RowWith("pdb1"), {"", "", "", "", "*"}),
            Cells({"pdb1", "1", "N/A", "0", "*"}));
  EXPECT_EQ(Masked(pdb.RowWith("pdb2"), {"", "", "", "", "*"}),
            Cells({"pdb2", "N/A", "25%", "2", "*"}));

  auto pc = OnlyTable(Kubectl({"get", "priorityclasses"}).out);
  EXPECT_EQ(pc.header, Cells({"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"}));
  EXPECT_EQ(Masked(pc.RowWith("high"), {"", "", "", "*"}),
            Cells({"high", "1000", "false", "*", "PreemptLowerPriority"}));
  EXPECT_EQ(Masked(pc.RowWith("top"), {"", "", "", "*"}),
            Cells({"top", "5000", "true", "*", "Never"}));

  for (const char* kind : {"roles", "clusterroles"}) {
    auto t = OnlyTable(Kubectl({"get", kind}).out);
    EXPECT_EQ(t.header, Cells({"NAME", "CREATED AT"})) << kind;
    EXPECT_EQ(t.rows.size(), 1u) << kind;
  }
  auto rb = OnlyTable(Kubectl({"get", "rolebindings", "-o", "wide"}).out);
  EXPECT_EQ(rb.header, Cells({"NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"}));
  EXPECT_EQ(Masked(rb.RowWith("rb1"), {"", "", "*"}),
            Cells({"rb1", "Role/r1", "*", "alice, carol", "devs", "default/robot"}));
  EXPECT_EQ(OnlyTable(Kubectl({"get", "rolebindings"}).out).header,
            Cells({"NAME", "ROLE", "AGE"}));
  auto crb = OnlyTable(Kubectl({"get", "clusterrolebindings", "-o", "wide"}).out);
  EXPECT_EQ(crb.header, rb.header);
  EXPECT_EQ(Masked(crb.RowWith("crb1"), {"", "", "*"}),
            Cells({"crb1", "ClusterRole/cr1", "*", "", "ops", ""}));
}

// Output options that kubectl applies to the server's tables or objects.
TEST_P(KubectlTest, GetOutputsAcrossNamespacesAndInChunks) {
  ASSERT_EQ(Kubectl({"create", "namespace", "other"}).exit_code, 0);
  for (const auto& [ns, name, color] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"default", "a1", "red"}, {"default", "a2", "green"}, {"default", "a3", "blue"},
           {"other", "b1", "black"}, {"other", "b2", "white"}}) {
    ASSERT_EQ(Kubectl({"create", "configmap", name, "-n", ns, "--from-literal=color=" + color})
                  .exit_code,
              0);
  }
  auto all = Kubectl({"get", "configmaps", "-A"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto t = OnlyTable(all.out);
  EXPECT_EQ(t.header, Cells({"NAMESPACE", "NAME", "DATA", "AGE"}));
  ASSERT_EQ(t.rows.size(), 5u) << all.out;
  EXPECT_EQ(Masked(t.rows[3], {"", "", "", "*"}), Cells({"other", "b1", "1", "*"}));

  // One object per request: every row once, under one header.
  auto chunked = Kubectl({"get", "configmaps", "-A", "--chunk-size=1"});
  ASSERT_EQ(chunked.exit_code, 0) << chunked.err;
  auto ct = ParseTables(chunked.out);
  ASSERT_EQ(ct.size(), 1u) << chunked.out;
  std::vector<std::string> names;
  for (const auto& r : ct[0].rows) names.push_back(r[0] + "/" + r[1]);
  EXPECT_EQ(names, Cells({"default/a1", "default/a2", "default/a3", "other/b1", "other/b2"}))
      << chunked.out;

  auto custom = Kubectl({"get", "configmaps", "--chunk-size=2", "-o",
                         "custom-columns=NAME:.metadata.name,COLOR:.data.color,MISSING:.data.x"});
  ASSERT_EQ(custom.exit_code, 0) << custom.err;
  auto cc = OnlyTable(custom.out);
  EXPECT_EQ(cc.header, Cells({"NAME", "COLOR", "MISSING"}));
  EXPECT_EQ(cc.rows, std::vector<Cells>({{"a1", "red", "<none>"},
                                         {"a2", "green", "<none>"},
                                         {"a3", "blue", "<none>"}}))
      << custom.out;

  auto jp = Kubectl({"get", "configmaps", "-A", "--chunk-size=2", "-o",
                     "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}="
                     "{.data.color} {end}"});
  ASSERT_EQ(jp.exit_code, 0) << jp.err;
  EXPECT_EQ(jp.out, "default/a1=red default/a2=green default/a3=blue other/b1=black "
                    "other/b2=white ");

  auto one = Kubectl({"get", "configmap", "b2", "-n", "other", "-o", "jsonpath={.data.color}"});
  EXPECT_EQ(one.out, "white") << one.err;
  auto names_only = Kubectl({"get", "configmaps", "-n", "other", "-o", "name"});
  EXPECT_EQ(names_only.out, "configmap/b1\nconfigmap/b2\n");
  auto none = Kubectl({"get", "configmaps", "-n", "kube-public"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.err, "No resources found in kube-public namespace.\n");

  // Several kinds at once: a table per kind, names qualified by kind.
  ASSERT_EQ(Kubectl({"create", "secret", "generic", "s1", "--from-literal=k=v"}).exit_code, 0);
  auto mixed = ParseTables(Kubectl({"get", "configmap/a1", "secret/s1"}).out);
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_EQ(mixed[0].header, Cells({"NAME", "DATA", "AGE"}));
  EXPECT_EQ(mixed[0].rows[0][0], "configmap/a1");
  EXPECT_EQ(mixed[1].header, Cells({"NAME", "TYPE", "DATA", "AGE"}));
  EXPECT_EQ(Masked(mixed[1].rows[0], {"", "", "", "*"}), Cells({"secret/s1", "Opaque", "1", "*"}));
}

// Counts the lines of `cmd`'s output that start with `prefix`, waiting up to `timeout` for
// there to be at least `n`.
size_t WaitForLines(testing::BackgroundCommand& cmd, const std::string& prefix, size_t n,
                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::istringstream in(cmd.Stdout());
    std::string line;
    size_t count = 0;
    while (std::getline(in, line)) count += line.rfind(prefix, 0) == 0;
    if (count >= n || std::chrono::steady_clock::now() > deadline) return count;
    std::this_thread::sleep_for(100ms);
  }
}

TEST_P(KubectlTest, GetWatchPrintsTableRows) {
  ASSERT_EQ(Kubectl({"create", "configmap", "before"}).exit_code, 0);
  auto start = [&](const std::string& cache, std::vector<std::string> args) {
    std::vector<std::string> argv = {GetParam(), "--kubeconfig", server_.kubeconfig(),
                                     "--cache-dir", (server_.dir() / cache).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<testing::BackgroundCommand>(argv);
  };
  auto watch = start("cache-w", {"get", "configmaps", "-w", "-L", "tier"});
  auto only = start("cache-wo", {"get", "configmaps", "--watch-only", "-L", "tier"});
  ASSERT_TRUE(watch->WaitForOutput("before", 20s)) << watch->Stderr();
  std::this_thread::sleep_for(1500ms);  // the --watch-only watch is open too
  ASSERT_EQ(Kubectl({"create", "configmap", "w1", "--from-literal=a=1"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"label", "configmap", "w1", "tier=web"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "configmap", "w1"}).exit_code, 0);
  EXPECT_EQ(WaitForLines(*watch, "w1 ", 3, 20s), 3u) << watch->Stdout();
  EXPECT_EQ(WaitForLines(*only, "w1 ", 3, 20s), 3u) << only->Stdout();
  std::this_thread::sleep_for(300ms);

  auto rows = [](const std::string& out) {
    std::vector<Cells> r;
    for (auto& row : OnlyTable(out).rows) r.push_back(Masked(row, {"", "", "*", ""}));
    return r;
  };
  auto w = OnlyTable(watch->Stdout());
  EXPECT_EQ(w.header, Cells({"NAME", "DATA", "AGE", "TIER"})) << watch->Stdout();
  EXPECT_EQ(rows(watch->Stdout()), std::vector<Cells>({{"before", "0", "*", ""},
                                                      {"w1", "1", "*", ""},
                                                      {"w1", "1", "*", "web"},
                                                      {"w1", "1", "*", "web"}}))
      << watch->Stdout();
  EXPECT_EQ(OnlyTable(only->Stdout()).header, w.header) << only->Stdout();
  EXPECT_EQ(rows(only->Stdout()), std::vector<Cells>({{"w1", "1", "*", ""},
                                                     {"w1", "1", "*", "web"},
                                                     {"w1", "1", "*", "web"}}))
      << only->Stdout();
  watch->Stop();
  only->Stop();
}

// `get all` lists the resources in category "all", in discovery order, as upstream's
// kube-apiserver serves them (horizontalpodautoscalers aside, which keelson does not serve).
TEST_P(KubectlTest, GetAllListsTheCategoryAll) {
  auto tmpl = [](const std::string& app) {
    return "{metadata: {labels: {app: " + app +
           "}}, spec: {containers: [{name: c, image: nginx}]}}";
  };
  auto f = File(
      "all.yaml",
      "apiVersion: v1\nkind: List\nitems:\n"
      "- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c,"
      " image: nginx}]}}\n"
      "- {apiVersion: v1, kind: Service, metadata: {name: svc}, spec: {ports: [{port: 80}]}}\n"
      "- {apiVersion: v1, kind: ReplicationController, metadata: {name: rc}, spec: {template: " +
          tmpl("rc") + "}}\n"
      "- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, labels: {app: d}},"
      " spec: {selector:"
      " {matchLabels: {app: d}}, template: " + tmpl("d") + "}}\n"
      "- {apiVersion: apps/v1, kind: ReplicaSet, metadata: {name: rs}, spec: {selector:"
      " {matchLabels: {app: rs}}, template: " + tmpl("rs") + "}}\n"
      "- {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: sts}, spec: {serviceName: s,"
      " selector: {matchLabels: {app: sts}}, template: " + tmpl("sts") + "}}\n"
      "- {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: ds}, spec: {selector:"
      " {matchLabels: {app: ds}}, template: " + tmpl("ds") + "}}\n"
      "- {apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {template: {spec:"
      " {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}\n"
      "- {apiVersion: batch/v1, kind: CronJob, metadata: {name: cj}, spec: {schedule: '@daily',"
      " jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c,"
      " image: busybox}]}}}}}}\n"
      "- {apiVersion: v1, kind: ConfigMap, metadata: {name: not-in-all}}\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto r = Kubectl({"get", "all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> firsts;
  for (const auto& t : ParseTables(r.out)) {
    EXPECT_EQ(t.header.at(0), "NAME") << r.out;
    // Services: the default namespace's `kubernetes` Service and svc.
    bool services = !t.rows.empty() && t.rows[0][0].rfind("service/", 0) == 0;
    EXPECT_EQ(t.rows.size(), services ? 2u : 1u) << r.out;
    if (services && t.rows.size() == 2) {
      EXPECT_EQ(t.rows[1][0], "service/svc");
    }
    if (!t.rows.empty()) firsts.push_back(t.rows[0][0]);
  }
  EXPECT_EQ(firsts, Cells({"pod/p", "replicationcontroller/rc", "service/kubernetes",
                           "daemonset.apps/ds", "deployment.apps/d", "replicaset.apps/rs",
                           "statefulset.apps/sts", "cronjob.batch/cj", "job.batch/j"}))
      << r.out;
  EXPECT_EQ(r.out.find("not-in-all"), std::string::npos) << r.out;
  auto a = OnlyTable(Kubectl({"get", "all", "-A", "-l", "app=d"}).out);
  EXPECT_EQ(a.header, Cells({"NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}));
}

TEST_P(KubectlTest, DescribeShowsObjectsAndTheirEvents) {
  ASSERT_EQ(Kubectl({"run", "p", "--image=nginx:1.27", "--labels=app=p"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"run", "quiet", "--image=nginx"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "deployment", "d", "--image=nginx", "--replicas=2"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"create", "configmap", "cfg", "--from-literal=color=blue"}).exit_code, 0);
  auto uid = [&](const std::string& what) {
    return Kubectl({"get", what, "-o", "jsonpath={.metadata.uid}"}).out;
  };
  const std::string pod_uid = uid("pod/p"), deploy_uid = uid("deployment/d");
  const std::string h10 = TimeAgo(10h), h30 = TimeAgo(30h);
  auto f = File(
      "events.yaml",
      "apiVersion: v1\nkind: List\nitems:\n"
      "- apiVersion: v1\n  kind: Event\n  metadata: {name: p.1}\n"
      "  involvedObject: {apiVersion: v1, kind: Pod, name: p, namespace: default, uid: " +
          pod_uid + "}\n"
      "  reason: Pulling\n  type: Normal\n  message: 'Pulling image \"nginx:1.27\"'\n"
      "  source: {component: kubelet, host: n1}\n  count: 4\n"
      "  firstTimestamp: '" + h30 + "'\n  lastTimestamp: '" + h10 + "'\n"
      "- apiVersion: v1\n  kind: Event\n  metadata: {name: p.2}\n"
      "  involvedObject: {apiVersion: v1, kind: Pod, name: p, namespace: default, uid: " +
          pod_uid + "}\n"
      "  reason: BackOff\n  type: Warning\n  message: Back-off pulling image\n"
      "  source: {component: kubelet, host: n1}\n  count: 1\n"
      "  firstTimestamp: '" + h10 + "'\n  lastTimestamp: '" + h10 + "'\n"
      "- apiVersion: v1\n  kind: Event\n  metadata: {name: other-pod}\n"
      "  involvedObject: {apiVersion: v1, kind: Pod, name: p, namespace: default,"
      " uid: 00000000-0000-4000-8000-000000000000}\n"
      "  reason: Stale\n  type: Normal\n  message: from an earlier pod p\n"
      "  firstTimestamp: '" + h10 + "'\n  lastTimestamp: '" + h10 + "'\n"
      "- apiVersion: v1\n  kind: Event\n  metadata: {name: d.1}\n"
      "  involvedObject: {apiVersion: apps/v1, kind: Deployment, name: d, namespace: default,"
      " uid: " + deploy_uid + "}\n"
      "  reason: ScalingReplicaSet\n  type: Normal\n"
      "  message: Scaled up replica set d-5d8f to 2\n  source: {component: deployment-controller}\n"
      "  firstTimestamp: '" + h10 + "'\n  lastTimestamp: '" + h10 + "'\n");
  auto c = Kubectl({"create", "-f", f});
  ASSERT_EQ(c.exit_code, 0) << c.err;

  // Lines compared word by word: describe pads with tabs and spaces.
  auto lines = [](const std::string& out) {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string w, joined;
      while (words >> w) joined += (joined.empty() ? "" : " ") + w;
      v.push_back(joined);
    }
    return v;
  };
  auto has = [](const std::vector<std::string>& v, const std::string& line) {
    return std::find(v.begin(), v.end(), line) != v.end();
  };

  auto pod = Kubectl({"describe", "pod", "p"});
  ASSERT_EQ(pod.exit_code, 0) << pod.err;
  auto pl = lines(pod.out);
  for (const char* want : {"Name: p", "Namespace: default", "Labels: app=p", "Status: Pending",
                           "Image: nginx:1.27", "Events:", "Type Reason Age From Message",
                           "---- ------ ---- ---- -------",
                           "Normal Pulling 10h (x4 over 30h) kubelet Pulling image \"nginx:1.27\"",
                           "Warning BackOff 10h kubelet Back-off pulling image"}) {
    EXPECT_TRUE(has(pl, want)) << want << "\n" << pod.out;
  }
  EXPECT_EQ(pod.out.find("earlier pod"), std::string::npos) << pod.out;  // another uid
  auto quiet = Kubectl({"describe", "pod", "quiet"});
  EXPECT_TRUE(has(lines(quiet.out), "Events: <none>")) << quiet.out;

  auto d = Kubectl({"describe", "deployment", "d"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  auto dl = lines(d.out);
  for (const char* want :
       {"Name: d", "Selector: app=d",
        "Replicas: 2 desired | 0 updated | 0 total | 0 available | 0 unavailable",
        "StrategyType: RollingUpdate", "RollingUpdateStrategy: 25% max unavailable, 25% max surge",
        "Normal ScalingReplicaSet 10h deployment-controller Scaled up replica set d-5d8f to 2"}) {
    EXPECT_TRUE(has(dl, want)) << want << "\n" << d.out;
  }

  auto ns = Kubectl({"describe", "namespace", "default"});
  ASSERT_EQ(ns.exit_code, 0) << ns.err;
  auto nl = lines(ns.out);
  for (const char* want : {"Name: default", "Labels: kubernetes.io/metadata.name=default",
                           "Status: Active", "No resource quota.", "No LimitRange resource."}) {
    EXPECT_TRUE(has(nl, want)) << want << "\n" << ns.out;
  }

  auto cm = Kubectl({"describe", "configmap", "cfg"});
  ASSERT_EQ(cm.exit_code, 0) << cm.err;
  auto cl = lines(cm.out);
  auto data = std::find(cl.begin(), cl.end(), "Data");
  ASSERT_NE(data, cl.end()) << cm.out;
  EXPECT_EQ(std::vector<std::string>(data, std::min(data + 5, cl.end())),
            std::vector<std::string>({"Data", "====", "color:", "----", "blue"}))
      << cm.out;
  EXPECT_TRUE(has(cl, "Events: <none>")) << cm.out;
}

TEST_P(KubectlTest, DeleteByNameSelectorAllAndCascade) {
  auto f = File("del.yaml",
                "apiVersion: v1\nkind: List\nitems:\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: d1, labels: {app: x}}}\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: d2, labels: {app: x}}}\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: d3}}\n"
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: d4}}\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  auto one = Kubectl({"delete", "configmap", "d1"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "configmap \"d1\" deleted\n");
  auto sel = Kubectl({"delete", "configmaps", "-l", "app=x"});
  EXPECT_EQ(sel.out, "configmap \"d2\" deleted\n") << sel.err;
  auto all = Kubectl({"delete", "configmaps", "--all"});
  EXPECT_EQ(all.out, "configmap \"d3\" deleted\nconfigmap \"d4\" deleted\n") << all.err;
  auto empty = Kubectl({"delete", "configmaps", "--all"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "No resources found\n");
  auto missing = Kubectl({"delete", "configmap", "d1"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_EQ(missing.err, "Error from server (NotFound): configmaps \"d1\" not found\n");

  for (const char* cascade : {"background", "foreground", "orphan"}) {
    std::string name = std::string("c-") + cascade;
    ASSERT_EQ(Kubectl({"create", "deployment", name, "--image=nginx"}).exit_code, 0);
    auto d = Kubectl({"delete", "deployment", name, std::string("--cascade=") + cascade});
    EXPECT_EQ(d.exit_code, 0) << cascade << d.err;
    EXPECT_EQ(d.out, "deployment.apps \"" + name + "\" deleted\n") << cascade;
    EXPECT_NE(Kubectl({"get", "deployment", name}).exit_code, 0) << cascade;
  }

  // A pod on a node is only marked until its kubelet finishes; --force with grace 0 removes
  // it at once.
  auto pod = File("bound.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
                                "spec: {nodeName: n1, containers: [{name: c, image: nginx}]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", pod}).exit_code, 0);
  auto mark = Kubectl({"delete", "pod", "b", "--wait=false"});
  EXPECT_EQ(mark.out, "pod \"b\" deleted\n") << mark.err;
  auto terminating = OnlyTable(Kubectl({"get", "pod", "b"}).out);
  EXPECT_EQ(Masked(terminating.RowWith("b"), {"", "", "", "", "*"}),
            Cells({"b", "0/1", "Terminating", "0", "*"}));
  auto force = Kubectl({"delete", "pod", "b", "--grace-period=0", "--force"});
  EXPECT_EQ(force.exit_code, 0) << force.err;
  EXPECT_EQ(force.out, "pod \"b\" force deleted\n");
  EXPECT_NE(force.err.find("Warning: Immediate deletion does not wait for confirmation that the "
                           "running resource has been terminated. The resource may continue "
                           "to run on the cluster indefinitely."),
            std::string::npos)
      << force.err;
  auto gone = Kubectl({"get", "pod", "b"});
  EXPECT_EQ(gone.err, "Error from server (NotFound): pods \"b\" not found\n");

  // The default --wait lasts until a finalizer is removed; --wait=false returns at once.
  auto held = File("held.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                                "metadata: {name: held, finalizers: [example.com/hold]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", held}).exit_code, 0);
  std::atomic<bool> done{false};
  testing::CommandResult waited;
  std::thread deleter([&] {
    waited = Kubectl({"delete", "configmap", "held", "--timeout=30s"});
    done = true;
  });
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(done) << "delete returned while a finalizer held the object";
  ASSERT_EQ(Kubectl({"patch", "configmap", "held", "--type=json", "-p",
                     R"([{"op":"remove","path":"/metadata/finalizers"}])"})
                .exit_code,
            0);
  deleter.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_EQ(waited.out, "configmap \"held\" deleted\n");
  ASSERT_EQ(Kubectl({"create", "-f", held}).exit_code, 0);
  auto nowait = Kubectl({"delete", "configmap", "held", "--wait=false"});
  EXPECT_EQ(nowait.exit_code, 0) << nowait.err;
  EXPECT_EQ(Kubectl({"get", "configmap", "held", "-o", "name"}).out, "configmap/held\n");
}

TEST_P(KubectlTest, WaitForDeletionAndJsonpath) {
  auto held = File("held.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                                "metadata: {name: held, finalizers: [example.com/hold]}\n");
  ASSERT_EQ(Kubectl({"create", "-f", held}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "configmap", "held", "--wait=false"}).exit_code, 0);
  // Runs `args` on another thread; `done` turns true when it returns.
  auto in_background = [&](std::vector<std::string> args, testing::CommandResult* out,
                           std::atomic<bool>* done) {
    return std::thread([this, args, out, done] {
      *out = Kubectl(args);
      *done = true;
    });
  };
  testing::CommandResult deleted;
  std::atomic<bool> deleted_done{false};
  auto t1 = in_background({"wait", "--for=delete", "configmap/held", "--timeout=30s"}, &deleted,
                          &deleted_done);
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(deleted_done) << "wait returned while the object existed";
  ASSERT_EQ(Kubectl({"patch", "configmap", "held", "--type=merge", "-p",
                     R"({"metadata":{"finalizers":null}})"})
                .exit_code,
            0);
  t1.join();
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "configmap/held condition met\n");

  ASSERT_EQ(Kubectl({"create", "configmap", "state", "--from-literal=phase=starting"}).exit_code,
            0);
  testing::CommandResult ready;
  std::atomic<bool> ready_done{false};
  auto t2 = in_background(
      {"wait", "configmap/state", "--for=jsonpath={.data.phase}=ready", "--timeout=30s"}, &ready,
      &ready_done);
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(ready_done) << "wait returned before the condition held";
  ASSERT_EQ(Kubectl({"patch", "configmap", "state", "--type=merge", "-p",
                     R"({"data":{"phase":"ready"}})"})
                .exit_code,
            0);
  t2.join();
  EXPECT_EQ(ready.exit_code, 0) << ready.err;
  EXPECT_EQ(ready.out, "configmap/state condition met\n");

  auto timeout = Kubectl({"wait", "configmap/state", "--for=jsonpath={.data.phase}=never",
                          "--timeout=2s"});
  EXPECT_EQ(timeout.exit_code, 1);
  EXPECT_EQ(timeout.err, "error: timed out waiting for the condition on configmaps/state\n");
}

TEST_P(KubectlTest, ApiResourcesAndApiVersionsListWhatIsServed) {
  auto r = Kubectl({"api-resources"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = OnlyTable(r.out);
  EXPECT_EQ(t.header, Cells({"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}));
  for (const Cells& row : std::vector<Cells>{
           {"configmaps", "cm", "v1", "true", "ConfigMap"},
           {"events", "ev", "v1", "true", "Event"},
           {"persistentvolumes", "pv", "v1", "false", "PersistentVolume"},
           {"secrets", "", "v1", "true", "Secret"},
           {"deployments", "deploy", "apps/v1", "true", "Deployment"},
           {"cronjobs", "cj", "batch/v1", "true", "CronJob"},
           {"jobs", "", "batch/v1", "true", "Job"},
           {"leases", "", "coordination.k8s.io/v1", "true", "Lease"},
           {"poddisruptionbudgets", "pdb", "policy/v1", "true", "PodDisruptionBudget"},
           {"clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"},
           {"priorityclasses", "pc", "scheduling.k8s.io/v1", "false", "PriorityClass"}}) {
    EXPECT_EQ(t.RowWith(row[0]), row) << r.out;
  }
  // Sorted by group, then by name.
  ASSERT_FALSE(t.rows.empty());
  EXPECT_EQ(t.rows.front()[0], "configmaps");
  EXPECT_EQ(t.rows.back()[0], "priorityclasses");
  auto batch = Kubectl({"api-resources", "--api-group=batch", "-o", "name"});
  EXPECT_EQ(batch.out, "cronjobs.batch\njobs.batch\n") << batch.err;
  auto cluster = Kubectl({"api-resources", "--namespaced=false", "-o", "name"});
  EXPECT_EQ(cluster.out,
            "namespaces\nnodes\npersistentvolumes\n"
            "selfsubjectreviews.authentication.k8s.io\n"
            "selfsubjectaccessreviews.authorization.k8s.io\n"
            "clusterrolebindings.rbac.authorization.k8s.io\n"
            "clusterroles.rbac.authorization.k8s.io\npriorityclasses.scheduling.k8s.io\n")
      << cluster.err;

  auto v = Kubectl({"api-versions"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out,
            "apps/v1\nauthentication.k8s.io/v1\nauthorization.k8s.io/v1\nbatch/v1\n"
            "coordination.k8s.io/v1\ndiscovery.k8s.io/v1\nevents.k8s.io/v1\npolicy/v1\n"
            "rbac.authorization.k8s.io/v1\nscheduling.k8s.io/v1\nv1\n");
}

std::string VersionName(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = fs::path(info.param).filename().string();
  for (auto& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Kubectl, KubectlTest, ::testing::ValuesIn(testing::KubectlBinaries()),
                         VersionName);
INSTANTIATE_TEST_SUITE_P(Kubectl, NewestKubectlTest,
                         ::testing::Values(testing::KubectlBinaries().back()), VersionName);

}  // namespace
}  // namespace keelson
