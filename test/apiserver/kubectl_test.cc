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
  auto c = Kubectl({"create", "-f", f, "--validate=false"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("namespace/demo created"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("configmap/settings created"), std::string::npos) << c.out;

  auto g = Kubectl({"get", "configmap", "settings", "-n", "demo", "-o",
                    "jsonpath={.data.color} {.metadata.uid} {.metadata.resourceVersion}"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  EXPECT_EQ(g.out.rfind("blue ", 0), 0u) << g.out;
  EXPECT_GT(g.out.size(), std::string("blue  1").size());

  auto again = Kubectl({"create", "-f", f, "--validate=false"});
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
  auto c = Kubectl({"create", "-f", f, "--validate=false"});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("namespaces \"nope\" not found"), std::string::npos) << c.err;
}

TEST_P(KubectlTest, InvalidNameIsAnInvalidStatus) {
  auto f = File("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n");
  auto c = Kubectl({"create", "-f", f, "--validate=false"});
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
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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
  auto c = Kubectl({"create", "-f", f, "--validate=false"});
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
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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
  ASSERT_EQ(Kubectl({"create", "-f", d, "--validate=false"}).exit_code, 0);
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
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "namespace", "gone"}).exit_code, 0);
  auto again = File("ns2.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gone\n");
  ASSERT_EQ(Kubectl({"create", "-f", again, "--validate=false"}).exit_code, 0);
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
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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
  ASSERT_EQ(Kubectl({"create", "-f", svc("a", "  ports: [{port: 80}]\n"), "--validate=false"})
                .exit_code,
            0);
  auto ip = Kubectl({"get", "service", "a", "-o", "jsonpath={.spec.clusterIP} {.spec.ports[0].targetPort}"});
  ASSERT_EQ(ip.exit_code, 0) << ip.err;
  EXPECT_EQ(ip.out.rfind("10.43.", 0), 0u) << ip.out;
  EXPECT_EQ(ip.out.substr(ip.out.find(' ') + 1), "80");
  std::string a_ip = ip.out.substr(0, ip.out.find(' '));

  auto np = svc("b", "  type: NodePort\n  ports: [{port: 80, nodePort: 31000}]\n");
  ASSERT_EQ(Kubectl({"create", "-f", np, "--validate=false"}).exit_code, 0);
  auto dup = Kubectl({"create", "-f", svc("c", "  type: NodePort\n  ports: [{port: 81, nodePort: 31000}]\n"),
                      "--validate=false"});
  EXPECT_NE(dup.exit_code, 0);
  EXPECT_NE(dup.err.find("spec.ports[0].nodePort: Invalid value: 31000: provided port is "
                         "already allocated"),
            std::string::npos)
      << dup.err;
  auto same_ip = Kubectl({"create", "-f", svc("d", "  clusterIP: " + a_ip + "\n  ports: [{port: 80}]\n"),
                          "--validate=false"});
  EXPECT_NE(same_ip.exit_code, 0);
  EXPECT_NE(same_ip.err.find("provided IP is already allocated"), std::string::npos) << same_ip.err;
  auto outside = Kubectl({"create", "-f", svc("e", "  clusterIP: 192.168.0.1\n  ports: [{port: 80}]\n"),
                          "--validate=false"});
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_NE(outside.err.find("is not in the valid range"), std::string::npos) << outside.err;

  // Allocations survive a restart, and deleting a service frees them.
  EXPECT_EQ(server_.Stop(), 0);
  ASSERT_TRUE(server_.Start().ok());
  auto still = Kubectl({"create", "-f", svc("f", "  type: NodePort\n  ports: [{port: 82, nodePort: 31000}]\n"),
                        "--validate=false"});
  EXPECT_NE(still.exit_code, 0) << "node port 31000 was freed by a restart";
  ASSERT_EQ(Kubectl({"delete", "service", "b"}).exit_code, 0);
  auto reuse = Kubectl({"create", "-f", svc("g", "  type: NodePort\n  ports: [{port: 83, nodePort: 31000}]\n"),
                        "--validate=false"});
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
                "- {apiVersion: v1, kind: ConfigMap, metadata: {name: y1, labels: {app: y}}}\n");
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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

TEST_P(KubectlTest, RestartKeepsObjects) {
  auto f = File("keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n");
  ASSERT_EQ(Kubectl({"create", "-f", f, "--validate=false"}).exit_code, 0);
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
