// The kubelet against a real containerd, runc and CNI plugins: pods of an
// in-process API server run as containers on this machine. Needs root
// (containerd, network namespaces); skipped with the reason otherwise. One
// containerd (and node) for the whole suite.
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "api/object.h"
#include "common/base64.h"
#include "kubelet/cri_log.h"
#include "kubelet/node.h"
#include "test/util/control_plane.h"
#include "test/util/processes.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Eventually;

constexpr const char* kBusybox = KEELSON_BUSYBOX_IMAGE;

std::string SkipReason() {
  if (geteuid() != 0) return "needs root: containerd and network namespaces";
  for (const char* bin : {"containerd", "runc", "ctr"}) {
    if (testing::RunCommand({"sh", "-c", std::string("command -v ") + bin}).exit_code != 0) {
      return std::string(bin) + " is not installed (scripts/install-deps.sh installs it)";
    }
  }
  if (!fs::exists("/usr/lib/cni/bridge")) return "the CNI plugins are not installed";
  for (const char* image : {KEELSON_IMAGES_DIR "/pause.tar", KEELSON_IMAGES_DIR "/busybox.tar"}) {
    if (!fs::exists(image)) return std::string(image) + " was not built";
  }
  return "";
}

class KubeletContainerdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = SkipReason();
    if (!skip_.empty()) return;
    dir_ = new testing::TempDir("kc");
    api_ = new testing::InProcessApi();
    client_ = api_->NewClient(nullptr, "kubelet").release();
    StartNode();
    ASSERT_TRUE(node_ != nullptr);
    ASSERT_TRUE(node_->kubelet()->WaitRegistered(20s));
    // The pod CIDR the node-ipam controller would give.
    auto nodes = api_->Resource("", "nodes");
    ASSERT_TRUE(nodes
                    .Patch(node_->kubelet()->NodeName(), client::PatchType::kMerge,
                           R"({"spec":{"podCIDR":"10.244.7.0/24","podCIDRs":["10.244.7.0/24"]}})")
                    .ok());
    ASSERT_TRUE(Eventually(
        [] { return fs::exists(dir_->path() / "containerd/net.d/10-keelson.conflist"); }, 30s));
  }

  static void StartNode() {
    NodeOptions o;
    o.kubelet.node_name = "kc-node";
    o.kubelet.data_dir = dir_->path();
    o.kubelet.node_status_update_interval = 1s;
    o.kubelet.relist_period = 300ms;
    o.kubelet.cni_bridge = "kctest0";
    o.kubelet.kubelet_port = 0;  // a free port for the kubelet's server
    o.kubelet.pod_manifest_path = (dir_->path() / "manifests").string();
    o.kubelet.static_pod_check_interval = 500ms;
    // Small logs, checked every second, so that a chatty container's log rotates in seconds.
    o.kubelet.container_log.max_size_bytes = 64 * 1024;
    o.kubelet.container_log.max_files = 3;
    o.kubelet.container_log.monitor_interval = 1s;
    o.containerd.stop_on_exit = false;
    o.image_archives = {KEELSON_IMAGES_DIR "/pause.tar", KEELSON_IMAGES_DIR "/busybox.tar"};
    auto n = Node::Start(client_, o);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    node_ = n->release();
  }

  static void TearDownTestSuite() {
    if (!skip_.empty()) return;
    // Every pod's containers and sandboxes go, then containerd.
    if (node_ != nullptr) {
      auto* rt = node_->runtime();
      node_->Stop();
      if (auto sandboxes = rt->ListPodSandbox(::runtime::v1::PodSandboxFilter()); sandboxes.ok()) {
        for (const auto& s : *sandboxes) {
          (void)rt->StopPodSandbox(s.id());
          (void)rt->RemovePodSandbox(s.id());
        }
      }
      delete node_;
      node_ = nullptr;
    }
    testing::RunCommand({KEELSON_SOURCE_DIR "/scripts/node-cleanup.sh", dir_->path().string(),
                         "--bridge", "kctest0"});
    delete client_;
    delete api_;
    delete dir_;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static client::ResourceClient Pods() { return api_->Resource("", "pods", "default"); }

  // Creates a pod bound to the node (as the scheduler would have).
  static api::Object CreatePod(const std::string& yaml) {
    api::Object pod = api_->Create("", "pods", "default", yaml);
    return pod;
  }

  static std::optional<api::Object> GetPod(const std::string& name) {
    return api_->Get("", "pods", "default", name);
  }

  // Waits until the pod's status satisfies `pred`; the last status for the
  // message.
  static bool WaitPod(const std::string& name, const std::function<bool(const api::Object&)>& pred,
                      std::chrono::milliseconds timeout, std::string* last = nullptr) {
    bool ok = Eventually(
        [&] {
          auto p = GetPod(name);
          if (!p) return false;
          if (last != nullptr) *last = json::serialize((*p)["status"]);
          return pred(*p);
        },
        timeout);
    return ok;
  }

  static std::string Phase(const api::Object& pod) { return api::FieldText(pod, "status.phase"); }
  // Whether `container` of `pod` is waiting for `reason`.
  static bool Waiting(const api::Object& pod, const char* container, std::string_view reason) {
    const auto* s = ContainerStatus(pod, container);
    return s != nullptr && s->at("state").as_object().contains("waiting") &&
           s->at("state").at("waiting").at("reason").as_string() == reason;
  }

  static const json::object* ContainerStatus(const api::Object& pod, const std::string& name,
                                             const char* list = "containerStatuses") {
    const auto* st = pod.if_contains("status");
    if (st == nullptr || !st->is_object()) return nullptr;
    const auto* cs = st->as_object().if_contains(list);
    if (cs == nullptr || !cs->is_array()) return nullptr;
    for (const auto& c : cs->as_array()) {
      if (c.as_object().at("name").as_string() == name) return &c.as_object();
    }
    return nullptr;
  }

  static bool Ready(const api::Object& pod) {
    const auto* st = pod.if_contains("status");
    if (st == nullptr || !st->is_object() || !st->as_object().contains("conditions")) return false;
    for (const auto& c : st->as_object().at("conditions").as_array()) {
      if (c.as_object().at("type").as_string() == "Ready") {
        return c.as_object().at("status").as_string() == "True";
      }
    }
    return false;
  }

  static void DeletePod(const std::string& name, int64_t grace = 0) {
    client::DeleteOptions o;
    o.grace_period_seconds = grace;
    (void)Pods().Delete(name, o);
  }

  static inline std::string skip_;
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::InProcessApi* api_ = nullptr;
  static inline client::RestClient* client_ = nullptr;
  static inline Node* node_ = nullptr;
};

std::string PodYaml(const std::string& name, const std::string& body) {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\nspec:\n  nodeName: kc-node\n  terminationGracePeriodSeconds: 2\n" + body;
}

TEST_F(KubeletContainerdTest, NodeRegistersWithHostFacts) {
  auto node = api_->Get("", "nodes", "", "kc-node");
  ASSERT_TRUE(node);
  EXPECT_EQ(api::FieldText(*node, "metadata.labels.kubernetes.io/os"),
            "");  // dotted key
  const auto& status = (*node)["status"].as_object();
  EXPECT_EQ(status.at("capacity").at("pods").as_string(), "110");
  EXPECT_EQ(status.at("capacity").at("cpu").as_string(),
            std::to_string(std::thread::hardware_concurrency()));
  EXPECT_EQ(status.at("nodeInfo").at("operatingSystem").as_string(), "linux");
  EXPECT_NE(std::string(status.at("nodeInfo").at("containerRuntimeVersion").as_string())
                .find("containerd://"),
            std::string::npos);
  EXPECT_FALSE(status.at("nodeInfo").at("kernelVersion").as_string().empty());
  EXPECT_TRUE(Eventually(
      [&] {
        auto n = api_->Get("", "nodes", "", "kc-node");
        for (const auto& c : (*n)["status"].as_object().at("conditions").as_array()) {
          if (c.as_object().at("type").as_string() == "Ready") {
            return c.as_object().at("status").as_string() == "True";
          }
        }
        return false;
      },
      15s));
  auto lease = api_->Get("coordination.k8s.io", "leases", "kube-node-lease", "kc-node");
  ASSERT_TRUE(lease);
  EXPECT_EQ(api::FieldText(*lease, "spec.holderIdentity"), "kc-node");
}

TEST_F(KubeletContainerdTest, PodWithInitContainerRunsAndGetsAnIpFromThePodCidr) {
  CreatePod(PodYaml("multi", std::string(R"(  initContainers:
  - name: init
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "echo init done"]
  containers:
  - name: a
    image: )" + kBusybox + R"(
    command: ["sleep", "3600"]
  - name: b
    image: )" + kBusybox + R"(
    command: ["sleep", "3600"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "multi", [](const api::Object& p) { return Phase(p) == "Running" && Ready(p); }, 60s, &last))
      << last;
  auto pod = *GetPod("multi");
  EXPECT_EQ(api::FieldText(pod, "status.podIP").rfind("10.244.7.", 0), 0u)
      << api::FieldText(pod, "status.podIP");
  const auto* init = ContainerStatus(pod, "init", "initContainerStatuses");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->at("state").at("terminated").at("reason").as_string(), "Completed");
  for (const char* c : {"a", "b"}) {
    const auto* s = ContainerStatus(pod, c);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(s->at("state").as_object().contains("running"));
    EXPECT_TRUE(s->at("ready").as_bool());
    EXPECT_EQ(std::string(s->at("containerID").as_string()).rfind("containerd://", 0), 0u);
  }
  DeletePod("multi");
}

TEST_F(KubeletContainerdTest, CrashingContainerBacksOff) {
  CreatePod(PodYaml("crash", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "exit 3"]
)"));
  std::string last;
  // First restart at once, then 10 s of backoff: CrashLoopBackOff with
  // restartCount >= 1.
  ASSERT_TRUE(WaitPod(
      "crash",
      [](const api::Object& p) {
        const auto* s = ContainerStatus(p, "c");
        return s != nullptr && s->at("restartCount").as_int64() >= 1 &&
               Waiting(p, "c", "CrashLoopBackOff");
      },
      40s, &last))
      << last;
  auto pod = *GetPod("crash");
  const auto* s = ContainerStatus(pod, "c");
  EXPECT_EQ(s->at("lastState").at("terminated").at("exitCode").as_int64(), 3);
  EXPECT_EQ(s->at("lastState").at("terminated").at("reason").as_string(), "Error");
  EXPECT_EQ(Phase(pod), "Running");
  // The backoff grows: the restart after the first backoff comes no sooner than
  // 10 s.
  int64_t count = s->at("restartCount").as_int64();
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitPod(
      "crash",
      [&](const api::Object& p) {
        const auto* c = ContainerStatus(p, "c");
        return c != nullptr && c->at("restartCount").as_int64() > count;
      },
      40s, &last))
      << last;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 5s);
  DeletePod("crash");
}

TEST_F(KubeletContainerdTest, EnvFromConfigMapAndSecretAndMissingConfigMap) {
  CreatePod(PodYaml("envtest", std::string(R"(  restartPolicy: Never
  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "test \"$MODE\" = fast && test \"$PW\" = hunter2 && test \"$ME\" = envtest"]
    env:
    - name: MODE
      valueFrom: {configMapKeyRef: {name: settings, key: mode}}
    - name: PW
      valueFrom: {secretKeyRef: {name: creds, key: pw}}
    - name: ME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "envtest", [](const api::Object& p) { return Waiting(p, "c", "CreateContainerConfigError"); },
      30s, &last))
      << last;
  EXPECT_NE(last.find("configmap \\\"settings\\\" not found"), std::string::npos) << last;
  api_->Create("", "configmaps", "default",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "
               "settings}\ndata: {mode: fast}\n");
  api_->Create("", "secrets", "default",
               "apiVersion: v1\nkind: Secret\nmetadata: {name: "
               "creds}\nstringData: {pw: hunter2}\n");
  ASSERT_TRUE(WaitPod(
      "envtest", [](const api::Object& p) { return Phase(p) == "Succeeded"; }, 30s, &last))
      << last;
  DeletePod("envtest");
}

TEST_F(KubeletContainerdTest, VolumesReachContainersAndConfigMapChangesPropagate) {
  api_->Create("", "configmaps", "default",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: volcfg}\ndata: {key: v1}\n");
  api_->Create(
      "", "secrets", "default",
      "apiVersion: v1\nkind: Secret\nmetadata: {name: volsec}\nstringData: {pw: hunter2}\n");
  api::Object pod = CreatePod(PodYaml("vols", std::string(R"(  initContainers:
  - name: init
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "echo ok > /shared/init-done"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: c
    image: )" + kBusybox + R"(
    command: ["sh", "-c", "test -f /shared/init-done && test \"$(cat /etc/sec/pw)\" = hunter2 && test \"$(cat /etc/info/name)\" = vols || exit 1; while true; do cp /etc/cfg/key /shared/seen; sleep 0.3; done"]
    volumeMounts:
    - {name: shared, mountPath: /shared}
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
    - {name: info, mountPath: /etc/info}
  volumes:
  - {name: shared, emptyDir: {}}
  - {name: cfg, configMap: {name: volcfg}}
  - {name: sec, secret: {secretName: volsec}}
  - name: info
    downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "vols", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  const std::string uid(api::GetUid(pod));
  const fs::path volumes = dir_->path() / "volumes" / uid / "volumes";
  auto seen = [&] {
    std::ifstream in(volumes / "shared" / "seen");
    std::string v;
    std::getline(in, v);
    return v;
  };
  ASSERT_TRUE(Eventually([&] { return seen() == "v1"; }, 20s)) << seen();
  // The secret lives on a tmpfs.
  std::ifstream mounts("/proc/mounts");
  std::string all((std::istreambuf_iterator<char>(mounts)), std::istreambuf_iterator<char>());
  EXPECT_NE(all.find((volumes / "sec").string() + " tmpfs"), std::string::npos);
  // A change of the ConfigMap reaches the running container.
  auto cms = api_->Resource("", "configmaps", "default");
  ASSERT_TRUE(cms.Patch("volcfg", client::PatchType::kMerge, R"({"data":{"key":"v2"}})").ok());
  EXPECT_TRUE(Eventually([&] { return seen() == "v2"; }, 30s)) << seen();
  // Its restart count shows the container never restarted for it.
  EXPECT_EQ(ContainerStatus(*GetPod("vols"), "c")->at("restartCount").as_int64(), 0);
  DeletePod("vols", 1);
  ASSERT_TRUE(Eventually([] { return !GetPod("vols"); }, 20s));
  EXPECT_TRUE(Eventually([&] { return !fs::exists(dir_->path() / "volumes" / uid); }, 10s));
}

TEST_F(KubeletContainerdTest, ManagedEtcHostsAndSubPathExpr) {
  // The kubelet's /etc/hosts (the pod's FQDN from hostname and subdomain, the hostAliases,
  // names resolved through it), seen from inside through a subPathExpr mount named after the
  // pod.
  api::Object pod = CreatePod(PodYaml("hostsfile", std::string(R"yaml(  hostname: box
  subdomain: grp
  hostAliases: [{ip: "10.9.9.9", hostnames: [foo.remote, bar.remote]}]
  containers:
  - name: c
    image: )yaml") + kBusybox + R"yaml(
    env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    command: ["sh", "-c", "cp /etc/hosts /out/hosts; ping -c1 -W1 bar.remote > /out/ping 2>&1;
      hostname > /out/hostname; sleep 3600"]
    volumeMounts: [{name: out, mountPath: /out, subPathExpr: "$(POD_NAME)"}]
  volumes: [{name: out, emptyDir: {}}]
)yaml"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "hostsfile", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  const std::string ip(api::FieldText(*GetPod("hostsfile"), "status.podIP"));
  const fs::path out =
      dir_->path() / "volumes" / std::string(api::GetUid(pod)) / "volumes" / "out" / "hostsfile";
  auto read = [&](const char* file) {
    std::ifstream in(out / file);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  ASSERT_TRUE(Eventually([&] { return !read("hostname").empty(); }, 20s));
  const std::string hosts = read("hosts");
  EXPECT_TRUE(hosts.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"))
      << hosts;
  EXPECT_NE(hosts.find(ip + "\tbox.grp.default.svc.cluster.local\tbox\n"), std::string::npos)
      << hosts;
  EXPECT_NE(hosts.find("\n# Entries added by HostAliases.\n10.9.9.9\tfoo.remote\tbar.remote\n"),
            std::string::npos)
      << hosts;
  EXPECT_NE(read("ping").find("bar.remote (10.9.9.9)"), std::string::npos) << read("ping");
  EXPECT_EQ(read("hostname"), "box\n");
  DeletePod("hostsfile", 1);

  // A subPathExpr naming a variable the container lacks: upstream's config error.
  CreatePod(PodYaml("badexpr", std::string(R"yaml(  containers:
  - name: c
    image: )yaml") + kBusybox + R"yaml(
    command: ["sleep", "3600"]
    volumeMounts: [{name: out, mountPath: /out, subPathExpr: "$(NOPE)"}]
  volumes: [{name: out, emptyDir: {}}]
)yaml"));
  ASSERT_TRUE(WaitPod(
      "badexpr", [](const api::Object& p) { return Waiting(p, "c", "CreateContainerConfigError"); },
      30s, &last))
      << last;
  EXPECT_NE(last.find("missing value for NOPE"), std::string::npos) << last;
  DeletePod("badexpr", 1);
}

TEST_F(KubeletContainerdTest, MissingConfigMapVolumeWaitsWithFailedMount) {
  CreatePod(PodYaml("novol", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sleep", "3600"]
    volumeMounts: [{name: cfg, mountPath: /etc/cfg}]
  volumes:
  - {name: cfg, configMap: {name: absent}}
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "novol",
      [](const api::Object& p) {
        return Waiting(p, "c", "ContainerCreating") && Phase(p) == "Pending";
      },
      30s, &last))
      << last;
  // The reason is in the pod's events.
  auto events = api_->Resource("events.k8s.io", "events", "default").List();
  ASSERT_TRUE(events.ok());
  EXPECT_NE(json::serialize((*events)["items"]).find("configmap \\\"absent\\\" not found"),
            std::string::npos);
  api_->Create("", "configmaps", "default",
               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: absent}\ndata: {a: b}\n");
  EXPECT_TRUE(WaitPod(
      "novol", [](const api::Object& p) { return Phase(p) == "Running"; }, 30s, &last))
      << last;
  DeletePod("novol");
}

TEST_F(KubeletContainerdTest, LivenessFailureRestartsAndReadinessFlipsReady) {
  CreatePod(PodYaml("live", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"]
    livenessProbe:
      exec: {command: ["test", "-f", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 1
)"));
  CreatePod(PodYaml("ready", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; sleep 4; rm /tmp/ready; sleep 3600"]
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
)"));
  std::string last;
  // Running but not Ready until the probe succeeds; Ready; then not Ready again.
  ASSERT_TRUE(WaitPod(
      "ready", [](const api::Object& p) { return Phase(p) == "Running"; }, 30s, &last))
      << last;
  EXPECT_FALSE(Ready(*GetPod("ready")));
  ASSERT_TRUE(WaitPod(
      "ready", [](const api::Object& p) { return Ready(p); }, 20s, &last))
      << last;
  ASSERT_TRUE(WaitPod(
      "ready", [](const api::Object& p) { return !Ready(p); }, 20s, &last))
      << last;
  EXPECT_EQ(ContainerStatus(*GetPod("ready"), "c")->at("restartCount").as_int64(), 0);
  // The liveness probe's failure restarted the container.
  ASSERT_TRUE(WaitPod(
      "live",
      [](const api::Object& p) {
        const auto* s = ContainerStatus(p, "c");
        return s != nullptr && s->at("restartCount").as_int64() >= 1;
      },
      30s, &last))
      << last;
  auto events = api_->Resource("events.k8s.io", "events", "default").List();
  ASSERT_TRUE(events.ok());
  std::string all = json::serialize((*events)["items"]);
  EXPECT_NE(all.find("failed liveness probe, will be restarted"), std::string::npos);
  EXPECT_NE(all.find("Readiness probe failed"), std::string::npos);
  DeletePod("live");
  DeletePod("ready");
}

TEST_F(KubeletContainerdTest, HttpAndTcpProbesAndLifecycleHooks) {
  const fs::path hooks = dir_->path() / "hooks";
  fs::create_directories(hooks);
  CreatePod(PodYaml("hooked", std::string(R"(  containers:
  - name: web
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo started > /hooks/poststart"]}
      preStop:
        exec: {command: ["sh", "-c", "echo stopping > /hooks/prestop"]}
    volumeMounts: [{name: hooks, mountPath: /hooks}]
  volumes:
  - name: hooks
    hostPath: {path: )" + hooks.string() +
                                  R"(, type: Directory}
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "hooked", [](const api::Object& p) { return Ready(p); }, 30s, &last))
      << last;
  EXPECT_TRUE(fs::exists(hooks / "poststart"));
  std::this_thread::sleep_for(2s);  // a few liveness periods: the tcp probe keeps passing
  EXPECT_EQ(ContainerStatus(*GetPod("hooked"), "web")->at("restartCount").as_int64(), 0);
  DeletePod("hooked", 5);
  ASSERT_TRUE(Eventually([] { return !GetPod("hooked"); }, 30s));
  EXPECT_TRUE(fs::exists(hooks / "prestop"));
}

TEST_F(KubeletContainerdTest, RuntimeCrashLeavesPodsRunningAndNewPodsStart) {
  CreatePod(PodYaml("steady", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sleep", "3600"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "steady", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  std::string id(ContainerStatus(*GetPod("steady"), "c")->at("containerID").as_string());
  // containerd dies; the supervisor starts it again and the kubelet reconnects.
  testing::RunCommand({"pkill", "-9", "-f", (dir_->path() / "containerd/config.toml").string()});
  CreatePod(PodYaml("during", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sleep", "3600"]
)"));
  ASSERT_TRUE(WaitPod(
      "during", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  std::this_thread::sleep_for(2s);
  auto steady = *GetPod("steady");
  EXPECT_EQ(Phase(steady), "Running");
  EXPECT_EQ(std::string(ContainerStatus(steady, "c")->at("containerID").as_string()), id);
  EXPECT_EQ(ContainerStatus(steady, "c")->at("restartCount").as_int64(), 0);
  DeletePod("steady");
  DeletePod("during");
}

TEST_F(KubeletContainerdTest, StaticPodsRunWithMirrorPods) {
  const fs::path manifests = dir_->path() / "manifests";
  fs::create_directories(manifests);
  auto write = [&](const std::string& cmd) {
    std::ofstream out(manifests / "web.yaml.tmp");
    out << "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web, namespace: default}\n"
           "spec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: c\n    image: "
        << kBusybox << "\n    command: [\"sh\", \"-c\", \"" << cmd << "\"]\n";
    out.close();
    fs::rename(manifests / "web.yaml.tmp", manifests / "web.yaml");
  };
  write("sleep 3600");
  std::string last;
  ASSERT_TRUE(WaitPod(
      "static-web-kc-node", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  auto mirror = *GetPod("static-web-kc-node");
  auto annotations = api::GetAnnotations(mirror);
  EXPECT_EQ(annotations["kubernetes.io/config.source"], "file");
  EXPECT_FALSE(annotations["kubernetes.io/config.mirror"].empty());
  auto owner = api::GetControllerOf(mirror);
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->kind, "Node");
  EXPECT_EQ(owner->name, "kc-node");
  // A changed manifest replaces the pod.
  const std::string uid(api::GetUid(mirror));
  write("sleep 3601");
  ASSERT_TRUE(WaitPod(
      "static-web-kc-node",
      [&](const api::Object& p) { return api::GetUid(p) != uid && Phase(p) == "Running"; }, 60s,
      &last))
      << last;
  // A removed manifest deletes it.
  fs::remove(manifests / "web.yaml");
  EXPECT_TRUE(Eventually([] { return !GetPod("static-web-kc-node"); }, 60s));
}

// A second node whose hard memory threshold is always crossed: it evicts its pods one at a
// time, the best-effort pod (using more than it requests) before the one within its requests.
TEST_F(KubeletContainerdTest, MemoryPressureEvictsInUpstreamsOrder) {
  testing::TempDir dir("ke");
  NodeOptions o;
  o.kubelet.node_name = "kc-evict";
  o.kubelet.data_dir = dir.path();
  o.kubelet.node_status_update_interval = 3s;
  o.kubelet.relist_period = 300ms;
  o.kubelet.cni_bridge = "kcevict0";
  o.kubelet.kubelet_port = 0;
  o.kubelet.eviction_memory_available_bytes = int64_t{1} << 50;  // 1 PiB: always short
  o.image_archives = {KEELSON_IMAGES_DIR "/pause.tar", KEELSON_IMAGES_DIR "/busybox.tar"};
  auto node = Node::Start(client_, o);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  ASSERT_TRUE((*node)->kubelet()->WaitRegistered(20s));
  auto nodes = api_->Resource("", "nodes");
  ASSERT_TRUE(nodes
                  .Patch("kc-evict", client::PatchType::kMerge,
                         R"({"spec":{"podCIDR":"10.244.8.0/24","podCIDRs":["10.244.8.0/24"]}})")
                  .ok());
  auto pod = [&](const std::string& name, const std::string& resources) {
    api_->Create("", "pods", "default",
                 "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
                     "}\nspec:\n  nodeName: kc-evict\n  terminationGracePeriodSeconds: 1\n"
                     "  containers:\n  - name: c\n    image: " +
                     kBusybox + "\n    command: [\"sleep\", \"3600\"]\n" + resources);
  };
  pod("guaranteed",
      "    resources:\n      requests: {memory: 64Mi, cpu: 100m}\n"
      "      limits: {memory: 64Mi, cpu: 100m}\n");
  pod("besteffort", "");
  std::string last;
  ASSERT_TRUE(WaitPod(
      "besteffort",
      [](const api::Object& p) {
        return Phase(p) == "Failed" && api::FieldText(p, "status.reason") == "Evicted";
      },
      90s, &last))
      << last;
  EXPECT_NE(api::FieldText(*GetPod("besteffort"), "status.message")
                .find("The node was low on resource: memory."),
            std::string::npos);
  // The pod within its requests went second, if at all yet.
  auto guaranteed = *GetPod("guaranteed");
  EXPECT_TRUE(api::FieldText(guaranteed, "status.reason") != "Evicted" ||
              Phase(guaranteed) == "Failed");
  EXPECT_TRUE(WaitPod(
      "guaranteed",
      [](const api::Object& p) { return api::FieldText(p, "status.reason") == "Evicted"; }, 60s,
      &last))
      << last;
  // The node reports the pressure.
  EXPECT_TRUE(Eventually(
      [&] {
        auto n = api_->Get("", "nodes", "", "kc-evict");
        return n && json::serialize((*n)["status"]).find("KubeletHasInsufficientMemory") !=
                        std::string::npos;
      },
      20s));
  (*node)->Stop();
  if (auto sandboxes = (*node)->runtime()->ListPodSandbox(::runtime::v1::PodSandboxFilter());
      sandboxes.ok()) {
    for (const auto& sb : *sandboxes) {
      (void)(*node)->runtime()->StopPodSandbox(sb.id());
      (void)(*node)->runtime()->RemovePodSandbox(sb.id());
    }
  }
  node->reset();
  testing::RunCommand(
      {KEELSON_SOURCE_DIR "/scripts/node-cleanup.sh", dir.path().string(), "--bridge", "kcevict0"});
  DeletePod("guaranteed");
  DeletePod("besteffort");
}

TEST_F(KubeletContainerdTest, PodsReachEachOtherByPodIp) {
  CreatePod(PodYaml("server", std::string(R"(  containers:
  - name: httpd
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "server", [](const api::Object& p) { return Phase(p) == "Running" && Ready(p); }, 60s, &last))
      << last;
  std::string ip = api::FieldText(*GetPod("server"), "status.podIP");
  ASSERT_FALSE(ip.empty());
  CreatePod(PodYaml("client", std::string(R"(  restartPolicy: Never
  containers:
  - name: wget
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 )" +
                                  ip +
                                  R"( 8080 | grep hello-from-server"]
)"));
  ASSERT_TRUE(WaitPod(
      "client",
      [](const api::Object& p) { return Phase(p) == "Succeeded" || Phase(p) == "Failed"; }, 60s,
      &last))
      << last;
  EXPECT_EQ(Phase(*GetPod("client")), "Succeeded") << last;
  // The host reaches the pod too (the bridge is its gateway).
  auto r = testing::RunCommand({"curl", "-s", "-m", "5", "http://" + ip + ":8080/index.html"});
  EXPECT_NE(r.out.find("hello-from-server"), std::string::npos) << r.err;
  DeletePod("client");
  DeletePod("server");
}

TEST_F(KubeletContainerdTest, GracefulDeletionStopsContainersAndFreesTheIp) {
  CreatePod(PodYaml("graceful", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "graceful", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  std::string ip = api::FieldText(*GetPod("graceful"), "status.podIP");
  fs::path lease = dir_->path() / "cni/networks/keelson-pod-network" / ip;
  EXPECT_TRUE(fs::exists(lease)) << lease;
  auto t0 = std::chrono::steady_clock::now();
  DeletePod("graceful", 30);
  ASSERT_TRUE(Eventually([] { return !GetPod("graceful"); }, 20s));
  // SIGTERM ended it well before the 30 s grace period.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_FALSE(fs::exists(lease)) << "the pod's IP is still held: " << lease;

  // A container that ignores SIGTERM is killed once the grace period is over.
  CreatePod(PodYaml("stubborn", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]
)"));
  ASSERT_TRUE(WaitPod(
      "stubborn", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  t0 = std::chrono::steady_clock::now();
  DeletePod("stubborn", 2);
  ASSERT_TRUE(Eventually([] { return !GetPod("stubborn"); }, 20s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1500ms);
}

TEST_F(KubeletContainerdTest, FinishedPodsReportSucceededAndFailed) {
  CreatePod(PodYaml("ok", std::string(R"(  restartPolicy: Never
  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["true"]
)"));
  CreatePod(PodYaml("bad", std::string(R"(  restartPolicy: Never
  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "exit 7"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "ok", [](const api::Object& p) { return Phase(p) == "Succeeded"; }, 60s, &last))
      << last;
  ASSERT_TRUE(WaitPod(
      "bad", [](const api::Object& p) { return Phase(p) == "Failed"; }, 60s, &last))
      << last;
  auto bad = *GetPod("bad");
  EXPECT_EQ(ContainerStatus(bad, "c")->at("state").at("terminated").at("exitCode").as_int64(), 7);
  EXPECT_EQ(
      ContainerStatus(*GetPod("ok"), "c")->at("state").at("terminated").at("reason").as_string(),
      "Completed");
  DeletePod("ok");
  DeletePod("bad");
}

TEST_F(KubeletContainerdTest, MissingImageAndBadCommandShowUpstreamReasons) {
  CreatePod(PodYaml("noimage", R"(  containers:
  - name: c
    image: keelson.invalid/nothing:1
)"));
  CreatePod(PodYaml("nocmd", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["/no/such/binary"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "noimage",
      [](const api::Object& p) {
        return Waiting(p, "c", "ErrImagePull") || Waiting(p, "c", "ImagePullBackOff");
      },
      60s, &last))
      << last;
  ASSERT_TRUE(WaitPod(
      "nocmd",
      [](const api::Object& p) {
        const auto* s = ContainerStatus(p, "c");
        if (s == nullptr) return false;
        const auto& st = s->at("state").as_object();
        return (st.contains("waiting") &&
                (st.at("waiting").at("reason").as_string() == "RunContainerError" ||
                 st.at("waiting").at("reason").as_string() == "CrashLoopBackOff")) ||
               st.contains("terminated");
      },
      60s, &last))
      << last;
  DeletePod("noimage");
  DeletePod("nocmd");
}

// The line numbers ("line N ...") of a CRI log's entries, in order.
std::vector<long> LineNumbers(const std::string& content) {
  std::vector<long> out;
  std::istringstream in(content);
  std::string line;
  while (std::getline(in, line)) {
    auto entry = ParseCriLogLine(line);
    if (!entry.ok() || entry->text.rfind("line ", 0) != 0) continue;
    out.push_back(std::atol(entry->text.c_str() + 5));
  }
  return out;
}

// The node rotates logs at 64 KiB and keeps 3 files: a container that writes ~100 KB/s has
// its log rotated over and over; the newest rotated file stays as it is, the older ones are
// gzipped, there are never more than 3 files, the runtime writes on into the new live file,
// and no line is lost between the files.
TEST_F(KubeletContainerdTest, ContainerLogsAreRotatedBySize) {
  auto pod = CreatePod(PodYaml("chatty", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sh", "-c", "i=0; while :; do printf 'line %d %0100d\n' $i 0; i=$((i+1)); usleep 1000; done"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "chatty", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last;
  const fs::path dir = dir_->path() / "pods" /
                       ("default_chatty_" + std::string(api::GetUid(*GetPod("chatty")))) / "c";
  const fs::path live = dir / "0.log";
  // The files of the log as one name each: "0.log.T", "0.log.T.gz" and the ".tmp" of a
  // compression in progress are one file.
  auto logical_files = [&] {
    std::set<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string n = it->path().filename().string();
      for (std::string_view suffix : {".tmp", ".gz"}) {
        if (n.ends_with(suffix)) n.resize(n.size() - suffix.size());
      }
      names.insert(n);
    }
    return names;
  };
  size_t most = 0;
  std::vector<fs::path> gz, plain;
  ASSERT_TRUE(Eventually(
      [&] {
        most = std::max(most, logical_files().size());
        gz.clear();
        plain.clear();
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
          std::string n = it->path().filename().string();
          if (n == "0.log") continue;
          if (n.ends_with(".gz")) gz.push_back(it->path());
          if (n.size() == std::string("0.log.YYYYMMDD-HHMMSS").size()) plain.push_back(it->path());
        }
        return gz.size() == 1 && plain.size() == 1;
      },
      60s))
      << "files: " << testing::RunCommand({"ls", "-l", dir.string()}).out;
  // A few more rotations, counting the files all along.
  for (int i = 0; i < 40; ++i) {
    most = std::max(most, logical_files().size());
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_LE(most, 3u);
  EXPECT_GE(most, 3u);
  // The files hold every line once, in order: the gzipped one, the newest rotated one, then
  // the live file. A rotation in between the reads changes the names; read again then.
  std::string why;
  EXPECT_TRUE(Eventually(
      [&] {
        std::vector<fs::path> gzs, rotated;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
          std::string n = it->path().filename().string();
          if (n.ends_with(".gz")) gzs.push_back(it->path());
          if (n.size() == std::string("0.log.YYYYMMDD-HHMMSS").size()) {
            rotated.push_back(it->path());
          }
        }
        if (gzs.size() != 1 || rotated.size() != 1) return false;
        auto unzipped = testing::RunCommand({"gzip", "-dc", gzs[0].string()});
        std::ifstream r(rotated[0]), l(live);
        std::stringstream rs, ls;
        rs << r.rdbuf();
        ls << l.rdbuf();
        auto a = LineNumbers(unzipped.out), b = LineNumbers(rs.str()), c = LineNumbers(ls.str());
        why = "gz " + std::to_string(a.size()) + " lines, rotated " + std::to_string(b.size()) +
              ", live " + std::to_string(c.size());
        if (unzipped.exit_code != 0 || a.empty() || b.empty() || c.empty()) return false;
        std::vector<long> all = a;
        all.insert(all.end(), b.begin(), b.end());
        all.insert(all.end(), c.begin(), c.end());
        for (size_t i = 1; i < all.size(); ++i) {
          if (all[i] != all[i - 1] + 1) {
            why += ": line " + std::to_string(all[i]) + " follows " + std::to_string(all[i - 1]);
            return false;
          }
        }
        // The rotated files were the live one each in its turn: each reached the max size.
        return fs::file_size(rotated[0], ec) >= 64 * 1024 && !ec;
      },
      30s))
      << why;
  // What `kubectl logs` shows is the live file, which keeps receiving output after the
  // rotations.
  auto tail_number = [&] {
    std::string out;
    CriLogOptions options;
    options.tail_lines = 1;
    (void)ReadCriLog(
        live.string(), options,
        [&](std::string_view s) {
          out += s;
          return true;
        },
        CriLogFollow{});
    return out.rfind("line ", 0) == 0 ? std::atol(out.c_str() + 5) : -1L;
  };
  long before = tail_number();
  EXPECT_GE(before, 0);
  EXPECT_TRUE(Eventually([&] { return tail_number() > before + 100; }, 20s));
  DeletePod("chatty");
  // Its log directory, rotated files and all, goes with the pod.
  EXPECT_TRUE(Eventually([&] { return !fs::exists(dir.parent_path()); }, 30s))
      << testing::RunCommand({"ls", "-lR", dir.parent_path().string()}).out;
}

// Debian's docker-registry on a free loopback port, with htpasswd (bcrypt) authentication and
// its storage in a temp dir; stopped on destruction.
class LoopbackRegistry {
 public:
  // Why it cannot run here ("" when it can).
  static std::string SkipReason() {
    for (const char* bin : {"docker-registry", "htpasswd", "curl", "tar"}) {
      if (testing::RunCommand({"sh", "-c", std::string("command -v ") + bin}).exit_code != 0) {
        return std::string(bin) + " is not installed (scripts/install-deps.sh installs it)";
      }
    }
    return "";
  }

  Status Start(const std::string& user, const std::string& password) {
    port_ = testing::FreePort();
    auto pw = testing::RunCommand({"htpasswd", "-Bbn", user, password});
    if (pw.exit_code != 0) return InternalError("htpasswd: " + pw.err);
    const fs::path d = dir_.path();
    std::ofstream(d / "htpasswd") << pw.out;
    std::ofstream(d / "config.yml")
        << "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
        << (d / "data").string() << "\nhttp:\n  addr: " << host()
        << "\n  secret: keelson-test\nauth:\n  htpasswd:\n    realm: keelson-test\n    path: "
        << (d / "htpasswd").string() << "\n";
    KEELSON_RETURN_IF_ERROR(
        process_.Start({"docker-registry", "serve", (d / "config.yml").string()},
                       d / "registry.out", d / "registry.err"));
    // Up once /v2/ answers (401 without credentials).
    if (!Eventually([&] { return Curl({"-o", "/dev/null", url() + "/v2/"}) == "401"; }, 20s)) {
      return UnavailableError("docker-registry did not come up: " + Log());
    }
    user_ = user;
    password_ = password;
    return Status::Ok();
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }
  std::string Log() const {
    std::ifstream in(dir_.path() / "registry.err");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Pushes the image of an OCI layout archive (as images/ builds them) as `repo:tag`, through
  // the registry's HTTP API: each blob by a POST and a PUT of an upload, then the manifest.
  Status Push(const std::string& archive, const std::string& repo, const std::string& tag) {
    const fs::path layout = dir_.path() / ("layout-" + tag);
    fs::create_directories(layout);
    auto untar = testing::RunCommand({"tar", "-xf", archive, "-C", layout.string()});
    if (untar.exit_code != 0) return InternalError("tar: " + untar.err);
    auto blob = [&](std::string_view digest) {
      return layout / "blobs/sha256" / std::string(digest.substr(digest.find(':') + 1));
    };
    auto read = [](const fs::path& p) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    };
    json::value index = json::parse(read(layout / "index.json"));
    const json::object& m = index.at("manifests").at(0).as_object();
    const std::string manifest_digest(m.at("digest").as_string());
    const std::string media_type(m.at("mediaType").as_string());
    json::value manifest = json::parse(read(blob(manifest_digest)));
    std::vector<std::string> digests{std::string(manifest.at("config").at("digest").as_string())};
    for (const auto& l : manifest.at("layers").as_array()) {
      digests.emplace_back(l.at("digest").as_string());
    }
    for (const auto& digest : digests) {
      std::string location = Curl({"-X", "POST", "-o", "/dev/null", "-w", "%header{location}",
                                   url() + "/v2/" + repo + "/blobs/uploads/"},
                                  /*code=*/false);
      if (location.empty()) return InternalError("no upload location for " + digest);
      location += (location.find('?') == std::string::npos ? "?" : "&") + ("digest=" + digest);
      std::string code =
          Curl({"-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary",
                "@" + blob(digest).string(), "-o", "/dev/null", location});
      if (code != "201") return InternalError("blob " + digest + ": HTTP " + code);
    }
    std::string code = Curl({"-X", "PUT", "-H", "Content-Type: " + media_type, "--data-binary",
                             "@" + blob(manifest_digest).string(), "-o", "/dev/null",
                             url() + "/v2/" + repo + "/manifests/" + tag});
    if (code != "201") return InternalError("manifest: HTTP " + code);
    return Status::Ok();
  }

 private:
  // curl with the registry's credentials (once Start set them); its status code, or with
  // `code` false what -w printed.
  std::string Curl(std::vector<std::string> args, bool code = true) {
    std::vector<std::string> argv = {"curl", "-sS"};
    if (!user_.empty()) argv.insert(argv.end(), {"-u", user_ + ":" + password_});
    if (code) argv.insert(argv.end(), {"-w", "%{http_code}"});
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv).out;
  }

  testing::TempDir dir_{"kc-registry"};
  testing::Process process_;
  int port_ = 0;
  std::string user_, password_;
};

// A registry on loopback (plain HTTP, basic auth): a pod whose imagePullSecret holds the
// credentials pulls the image (imagePullPolicy Always) and runs; without a secret, or with
// wrong credentials, it waits in ErrImagePull, then ImagePullBackOff, with upstream's messages.
TEST_F(KubeletContainerdTest, PullsFromALoopbackRegistryWithImagePullSecrets) {
  if (std::string why = LoopbackRegistry::SkipReason(); !why.empty()) GTEST_SKIP() << why;
  auto waiting = [](const api::Object& pod, const char* field) {
    const auto* s = ContainerStatus(pod, "c");
    if (s == nullptr || !s->at("state").as_object().contains("waiting")) return std::string();
    const auto& w = s->at("state").at("waiting").as_object();
    return w.contains(field) ? std::string(w.at(field).as_string()) : std::string();
  };
  LoopbackRegistry registry;
  ASSERT_TRUE(registry.Start("puller", "pull-pass").ok()) << registry.Log();
  ASSERT_TRUE(registry.Push(KEELSON_IMAGES_DIR "/busybox.tar", "keelson/busybox", "1.35").ok())
      << registry.Log();
  const std::string image = registry.host() + "/keelson/busybox:1.35";
  auto docker_secret = [&](const std::string& name, const std::string& user,
                           const std::string& password, const std::string& server) {
    json::object auth{
        {"username", user}, {"password", password}, {"auth", Base64Encode(user + ":" + password)}};
    json::object config{{"auths", json::object{{server, auth}}}};
    api_->Create("", "secrets", "default",
                 "apiVersion: v1\nkind: Secret\nmetadata: {name: " + name +
                     "}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: " +
                     Base64Encode(json::serialize(config)) + "\n");
  };
  docker_secret("regcred", "puller", "pull-pass", registry.host());
  docker_secret("badcred", "puller", "not-the-password", registry.host());
  auto pod = [&](const std::string& name, const std::string& secret, const std::string& pod_image) {
    CreatePod(PodYaml(
        name,
        "  containers:\n  - name: c\n    image: " + pod_image +
            "\n    imagePullPolicy: Always\n"
            "    command: [\"sleep\", \"3600\"]\n" +
            (secret.empty() ? std::string() : "  imagePullSecrets:\n  - name: " + secret + "\n")));
  };
  pod("anonymous", "", image);
  pod("wrongcreds", "badcred", image);
  std::string last;
  for (const char* name : {"anonymous", "wrongcreds"}) {
    ASSERT_TRUE(WaitPod(
        name, [&](const api::Object& p) { return waiting(p, "reason") == "ErrImagePull"; }, 60s,
        &last))
        << name << ": " << last;
    // The runtime's error, as upstream shows it.
    std::string message = waiting(*GetPod(name), "message");
    EXPECT_NE(message.find("failed to pull and unpack image \"" + image + "\""), std::string::npos)
        << message;
    EXPECT_NE(message.find("401 Unauthorized"), std::string::npos) << message;
  }
  // The events name the image.
  auto events = api_->Resource("events.k8s.io", "events", "default").List();
  ASSERT_TRUE(events.ok());
  EXPECT_NE(
      json::serialize((*events)["items"]).find("Failed to pull image \\\"" + image + "\\\": "),
      std::string::npos);
  for (const char* name : {"anonymous", "wrongcreds"}) {
    ASSERT_TRUE(WaitPod(
        name, [&](const api::Object& p) { return waiting(p, "reason") == "ImagePullBackOff"; }, 60s,
        &last))
        << name << ": " << last;
    EXPECT_EQ(waiting(*GetPod(name), "message"), "Back-off pulling image \"" + image + "\"");
  }
  pod("withcreds", "regcred", image);
  ASSERT_TRUE(WaitPod(
      "withcreds", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last << "\nregistry: " << registry.Log();
  const api::Object running = *GetPod("withcreds");
  const auto* s = ContainerStatus(running, "c");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(std::string(s->at("image").as_string()), image);
  // The registry served the pull: the image's digest is the pushed manifest's.
  EXPECT_NE(
      std::string(s->at("imageID").as_string()).find(registry.host() + "/keelson/busybox@sha256:"),
      std::string::npos)
      << json::serialize(*s);
  // The image now on the node does not let the pods without credentials in: Always pulls.
  EXPECT_TRUE(WaitPod(
      "anonymous", [&](const api::Object& p) { return waiting(p, "reason") == "ErrImagePull"; },
      60s, &last))
      << last;
  EXPECT_NE(waiting(*GetPod("anonymous"), "message").find("401 Unauthorized"), std::string::npos);
  // A registry name the machine cannot resolve, routed to the registry by a hosts.toml in the
  // node's certs.d (as users configure mirrors and plain-HTTP registries), with credentials
  // for that name.
  const std::string alias = "registry.keelson.test";
  const fs::path hosts_dir = dir_->path() / "containerd/certs.d" / alias;
  ASSERT_TRUE(fs::is_directory(hosts_dir.parent_path()));
  fs::create_directories(hosts_dir);
  std::ofstream(hosts_dir / "hosts.toml")
      << "server = \"" << registry.url() << "\"\n\n[host.\"" << registry.url()
      << "\"]\n  capabilities = [\"pull\", \"resolve\"]\n";
  docker_secret("aliascred", "puller", "pull-pass", alias);
  pod("mirrored", "aliascred", alias + "/keelson/busybox:1.35");
  EXPECT_TRUE(WaitPod(
      "mirrored", [](const api::Object& p) { return Phase(p) == "Running"; }, 60s, &last))
      << last << "\nevents: "
      << json::serialize(api_->Resource("events.k8s.io", "events", "default").List()->at("items"));
  fs::remove_all(hosts_dir);
  for (const char* name : {"withcreds", "anonymous", "wrongcreds", "mirrored"}) DeletePod(name);
  for (const char* name : {"regcred", "badcred", "aliascred"}) {
    (void)api_->Resource("", "secrets", "default").Delete(name, {});
  }
}

TEST_F(KubeletContainerdTest, RestartedKubeletAdoptsRunningContainers) {
  CreatePod(PodYaml("adopted", std::string(R"(  containers:
  - name: c
    image: )") + kBusybox + R"(
    command: ["sleep", "3600"]
)"));
  std::string last;
  ASSERT_TRUE(WaitPod(
      "adopted", [](const api::Object& p) { return Phase(p) == "Running" && Ready(p); }, 60s,
      &last))
      << last;
  std::string id(ContainerStatus(*GetPod("adopted"), "c")->at("containerID").as_string());
  node_->Stop();
  delete node_;
  node_ = nullptr;
  StartNode();
  ASSERT_NE(node_, nullptr);
  ASSERT_TRUE(node_->kubelet()->WaitRegistered(20s));
  std::this_thread::sleep_for(3s);  // a few relists and syncs
  auto pod = *GetPod("adopted");
  const auto* s = ContainerStatus(pod, "c");
  EXPECT_EQ(std::string(s->at("containerID").as_string()), id);
  EXPECT_EQ(s->at("restartCount").as_int64(), 0);
  EXPECT_TRUE(Ready(pod));
  DeletePod("adopted");
}

}  // namespace
}  // namespace keelson::kubelet
