// Real kubectl (every versioned binary the machine's kubectl package ships, 1.27 to 1.33)
// against a real `keelson server`: discovery, create -f, get, delete, watch and errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test/util/processes.h"

namespace keelson {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The versioned kubectl binaries next to the real `kubectl`, or plain `kubectl`.
std::vector<std::string> KubectlBinaries() {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path k = fs::canonical("/usr/bin/kubectl", ec);
  if (!ec) {
    for (int minor = 27; minor <= 33; ++minor) {
      fs::path v = k.parent_path() / ("kubectl.1." + std::to_string(minor));
      if (access(v.c_str(), X_OK) == 0) out.push_back(v.string());
    }
  }
  if (out.empty()) out.push_back("kubectl");
  return out;
}

// `keelson server` on a free port with its own data directory.
class ServerProcess {
 public:
  Status Start() {
    port_ = testing::FreePort();
    KEELSON_RETURN_IF_ERROR(process_.Start(
        {KEELSON_BINARY, "server", "--data-dir", (dir_.path() / "data").string(), "--port",
         std::to_string(port_)},
        dir_.path() / "stdout", dir_.path() / "stderr"));
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(dir_.path() / "stdout");
      std::string out((std::istreambuf_iterator<char>(in)), {});
      if (out.find("kubeconfig written to") != std::string::npos) return Status::Ok();
      if (!process_.running()) return InternalError("keelson server exited: " + out);
      std::this_thread::sleep_for(20ms);
    }
    return UnavailableError("keelson server did not start");
  }
  int Stop() { return process_.Signal(SIGTERM); }
  std::string kubeconfig() const { return (dir_.path() / "data" / "kubeconfig.yaml").string(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const fs::path& dir() const { return dir_.path(); }

 private:
  testing::TempDir dir_{"keelson-apiserver"};
  testing::Process process_;
  int port_ = 0;
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
      {"no kind", "POST", cms, R"({"apiVersion":"v1","metadata":{"name":"a"}})", "400",
       "BadRequest"},
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
  for (const std::string& q : {"labelSelector=a%20in%20(", "fieldSelector=spec.nope%3Dx"}) {
    auto r = testing::RunCommand({"curl", "-s", "-w", "\n%{http_code}", cms + "?" + q});
    EXPECT_EQ(r.out.substr(r.out.rfind('\n') + 1), "400") << q << ": " << r.out;
  }
  auto left = Kubectl({"get", "configmaps", "-o", "name"});
  ASSERT_EQ(left.exit_code, 0) << left.err;
  EXPECT_EQ(left.out.find("configmap/a"), std::string::npos) << left.out;
  EXPECT_EQ(left.out.find("configmap/b"), std::string::npos) << left.out;
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
  EXPECT_NE(imm.err.find("spec.selector: Invalid value: "), std::string::npos) << imm.err;
  EXPECT_NE(imm.err.find("field is immutable"), std::string::npos) << imm.err;
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

TEST_P(KubectlTest, RestartKeepsObjects) {
  auto f = File("keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n");
  ASSERT_EQ(Kubectl({"create", "-f", f}).exit_code, 0);
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start().ok());
  auto g = Kubectl({"get", "configmap", "kept", "-o", "name"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out, "configmap/kept\n");
}

std::string VersionName(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = fs::path(info.param).filename().string();
  for (auto& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(Kubectl, KubectlTest, ::testing::ValuesIn(KubectlBinaries()),
                         VersionName);
INSTANTIATE_TEST_SUITE_P(Kubectl, NewestKubectlTest,
                         ::testing::Values(KubectlBinaries().back()), VersionName);

}  // namespace
}  // namespace keelson
