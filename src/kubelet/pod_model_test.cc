#include "kubelet/pod_model.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "api/object.h"

namespace keelson::kubelet {
namespace {

namespace json = boost::json;

api::Object Pod(std::string_view spec_json) {
  api::Object pod = json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web",
      "namespace":"shop","uid":"u-1","labels":{"app":"web"},"annotations":{"a":"b"}}})")
                        .as_object();
  pod["spec"] = json::parse(spec_json);
  return pod;
}

const json::object& First(const api::Object& pod, const char* list = "containers") {
  return pod.at("spec").as_object().at(list).as_array()[0].as_object();
}

class MapSource : public ObjectSource {
 public:
  Result<std::vector<api::Object>> Services(const std::string& ns) override {
    std::vector<api::Object> out;
    for (const auto& [key, svc] : services) {
      if (key.rfind(ns + "/", 0) == 0) out.push_back(svc);
    }
    return out;
  }
  std::map<std::string, api::Object> services;
  Result<api::Object> ConfigMap(const std::string& ns, const std::string& name) override {
    auto it = configmaps.find(ns + "/" + name);
    if (it == configmaps.end()) return NotFoundError(name);
    return it->second;
  }
  Result<api::Object> Secret(const std::string& ns, const std::string& name) override {
    auto it = secrets.find(ns + "/" + name);
    if (it == secrets.end()) return NotFoundError(name);
    return it->second;
  }
  std::map<std::string, api::Object> configmaps, secrets;
};

NodeFacts Facts() {
  NodeFacts f;
  f.node_name = "node-1";
  f.host_ip = "192.168.1.5";
  f.pods_log_dir = "/logs";
  f.dns_servers = {"192.168.1.1"};
  f.allocatable_milli_cpu = 2000;
  f.allocatable_memory = 4LL << 30;
  return f;
}

TEST(ExpandVars, ReplacesDefinedEscapesDollarLeavesTheRest) {
  EnvList env{{"A", "x"}, {"B", "y"}};
  EXPECT_EQ(ExpandVars("$(A)-$(B)", env), "x-y");
  EXPECT_EQ(ExpandVars("$$(A)", env), "$(A)");
  EXPECT_EQ(ExpandVars("$(C) $A $", env), "$(C) $A $");
}

TEST(ManagedHostsFile, AsUpstreamWritesIt) {
  NodeFacts node;
  api::Object plain = Pod(R"({"containers":[]})");
  EXPECT_EQ(ManagedHostsFile(plain, {"10.1.0.7"}, node, ""),
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
            "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
            "10.1.0.7\tweb\n");
  api::Object named = Pod(R"({"hostname":"db-0","subdomain":"db","containers":[],
      "hostAliases":[{"ip":"10.9.9.9","hostnames":["foo.remote","bar.remote"]},
                     {"ip":"fd00::9","hostnames":["v6.remote"]}]})");
  node.cluster_domain = "example.local";
  std::string hosts = ManagedHostsFile(named, {"10.1.0.8", "fd00:1::8"}, node, "");
  EXPECT_NE(hosts.find("fe00::2\tip6-allrouters\n"
                       "10.1.0.8\tdb-0.db.shop.svc.example.local\tdb-0\n"
                       "fd00:1::8\tdb-0.db.shop.svc.example.local\tdb-0\n"
                       "\n# Entries added by HostAliases.\n"
                       "10.9.9.9\tfoo.remote\tbar.remote\nfd00::9\tv6.remote\n"),
            std::string::npos)
      << hosts;
  EXPECT_TRUE(hosts.ends_with("v6.remote\n"));
  // A host-network pod: the node's file under its own header, then the aliases.
  api::Object host = Pod(R"({"hostNetwork":true,"containers":[],
      "hostAliases":[{"ip":"10.9.9.9","hostnames":["foo.remote"]}]})");
  EXPECT_EQ(ManagedHostsFile(host, {"192.0.2.1"}, node, "127.0.0.1 localhost\n192.0.2.1 node\n"),
            "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n"
            "192.0.2.1 node\n\n# Entries added by HostAliases.\n10.9.9.9\tfoo.remote\n");
}

TEST(PodHostname, CutTo63WithoutATrailingDash) {
  std::string long_name = std::string(62, 'a') + "-bcd";
  api::Object pod = Pod(R"({"hostname":")" + long_name + R"(","containers":[]})");
  EXPECT_EQ(PodHostname(pod), std::string(62, 'a'));
  EXPECT_EQ(PodHostname(Pod(R"({"containers":[]})")), "web");
}

TEST(MountsOwnEtcHosts, OnlyAMountAtEtcHosts) {
  api::Object pod = Pod(R"({"containers":[{"name":"a","volumeMounts":[
      {"name":"h","mountPath":"/etc/hosts"}]},{"name":"b","volumeMounts":[
      {"name":"h","mountPath":"/etc/hosts.d"}]}]})");
  const auto& cs = pod.at("spec").as_object().at("containers").as_array();
  EXPECT_TRUE(MountsOwnEtcHosts(cs[0].as_object()));
  EXPECT_FALSE(MountsOwnEtcHosts(cs[1].as_object()));
}

TEST(ExpandSubPathExpr, ExpandsOrNamesWhatIsMissing) {
  EnvList env = {{"POD_NAME", "web-1"}, {"EMPTY", ""}};
  auto ok = ExpandSubPathExpr("logs/$(POD_NAME)/$$x", env);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "logs/web-1/$x");
  auto missing = ExpandSubPathExpr("$(NOPE)/$(EMPTY)/$(POD_NAME)", env);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "missing value for EMPTY, NOPE");
}

TEST(ResolveEnv, ValuesFieldRefsResourcesConfigMapsAndSecrets) {
  MapSource src;
  src.configmaps["shop/cfg"] = json::parse(R"({"data":{"mode":"fast","level":"3"}})").as_object();
  src.secrets["shop/sec"] = json::parse(R"({"data":{"pw":"aHVudGVyMg=="}})").as_object();
  api::Object pod = Pod(R"({"containers":[{"name":"c","image":"i",
      "resources":{"limits":{"memory":"64Mi"}},
      "envFrom":[{"configMapRef":{"name":"cfg"},"prefix":"CFG_"}],
      "env":[{"name":"GREETING","value":"hi"},{"name":"MSG","value":"$(GREETING) there!"},
             {"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},
             {"name":"APP","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['app']"}}},
             {"name":"IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}},
             {"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},
             {"name":"MEM","valueFrom":{"resourceFieldRef":{"resource":"limits.memory",
                                                            "divisor":"1Mi"}}},
             {"name":"CPU","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}},
             {"name":"MODE","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"mode"}}},
             {"name":"PW","valueFrom":{"secretKeyRef":{"name":"sec","key":"pw"}}},
             {"name":"OPT","valueFrom":{"configMapKeyRef":{"name":"none","key":"k",
                                                           "optional":true}}}]}]})");
  NodeFacts facts = Facts();
  auto env = ResolveEnv(pod, First(pod), "10.42.0.7", facts, &src);
  ASSERT_TRUE(env.ok()) << env.status().message();
  std::map<std::string, std::string> m(env->begin(), env->end());
  EXPECT_EQ(m["CFG_mode"], "fast");
  EXPECT_EQ(m["CFG_level"], "3");
  EXPECT_EQ(m["MSG"], "hi there!");
  EXPECT_EQ(m["POD"], "web");
  EXPECT_EQ(m["APP"], "web");
  EXPECT_EQ(m["IP"], "10.42.0.7");
  EXPECT_EQ(m["NODE"], "node-1");
  EXPECT_EQ(m["MEM"], "64");
  EXPECT_EQ(m["CPU"], "2");  // no limit: the node's allocatable, in whole cores
  EXPECT_EQ(m["MODE"], "fast");
  EXPECT_EQ(m["PW"], "hunter2");
  EXPECT_FALSE(m.contains("OPT"));
}

api::Object Svc(const std::string& ns, const std::string& name, const char* spec) {
  api::Object s = json::parse(spec).as_object();
  api::Object out{{"metadata", json::object{{"name", name}, {"namespace", ns}}}, {"spec", s}};
  return out;
}

TEST(ResolveEnv, ServiceVariablesAsUpstream) {
  MapSource src;
  src.services["shop/redis-main"] = Svc("shop", "redis-main", R"({"clusterIP":"10.43.0.11",
      "ports":[{"name":"db","port":6379,"protocol":"TCP"},{"name":"stats","port":9121,
      "protocol":"UDP"}]})");
  src.services["shop/headless"] = Svc("shop", "headless", R"({"clusterIP":"None",
      "ports":[{"port":80}]})");
  src.services["default/kubernetes"] = Svc("default", "kubernetes", R"({"clusterIP":"10.43.0.1",
      "ports":[{"name":"https","port":443,"protocol":"TCP"}]})");
  src.services["default/other"] = Svc("default", "other", R"({"clusterIP":"10.43.0.99",
      "ports":[{"port":80}]})");
  api::Object pod = Pod(R"({"containers":[{"name":"c","env":[
      {"name":"REDIS_MAIN_SERVICE_PORT","value":"override"},
      {"name":"URL","value":"$(REDIS_MAIN_PORT)/x"}]}]})");
  auto r = ResolveEnv(pod, First(pod), "", Facts(), &src);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::map<std::string, std::string> env(r->begin(), r->end());
  EXPECT_EQ(env["REDIS_MAIN_SERVICE_HOST"], "10.43.0.11");
  EXPECT_EQ(env["REDIS_MAIN_SERVICE_PORT"], "override");  // the container's own wins
  EXPECT_EQ(env["REDIS_MAIN_SERVICE_PORT_DB"], "6379");
  EXPECT_EQ(env["REDIS_MAIN_SERVICE_PORT_STATS"], "9121");
  EXPECT_EQ(env["REDIS_MAIN_PORT"], "tcp://10.43.0.11:6379");
  EXPECT_EQ(env["REDIS_MAIN_PORT_6379_TCP"], "tcp://10.43.0.11:6379");
  EXPECT_EQ(env["REDIS_MAIN_PORT_6379_TCP_PROTO"], "tcp");
  EXPECT_EQ(env["REDIS_MAIN_PORT_6379_TCP_PORT"], "6379");
  EXPECT_EQ(env["REDIS_MAIN_PORT_6379_TCP_ADDR"], "10.43.0.11");
  EXPECT_EQ(env["REDIS_MAIN_PORT_9121_UDP"], "udp://10.43.0.11:9121");
  EXPECT_EQ(env["URL"], "tcp://10.43.0.11:6379/x");
  // The master Service from default, not the others there; headless ones have none.
  EXPECT_EQ(env["KUBERNETES_SERVICE_HOST"], "10.43.0.1");
  EXPECT_EQ(env["KUBERNETES_SERVICE_PORT_HTTPS"], "443");
  EXPECT_FALSE(env.contains("OTHER_SERVICE_HOST"));
  EXPECT_FALSE(env.contains("HEADLESS_SERVICE_HOST"));
  // enableServiceLinks: false keeps only the master Service.
  api::Object nolinks = Pod(R"({"enableServiceLinks":false,"containers":[{"name":"c"}]})");
  r = ResolveEnv(nolinks, First(nolinks), "", Facts(), &src);
  ASSERT_TRUE(r.ok());
  env = std::map<std::string, std::string>(r->begin(), r->end());
  EXPECT_FALSE(env.contains("REDIS_MAIN_SERVICE_HOST"));
  EXPECT_EQ(env["KUBERNETES_SERVICE_HOST"], "10.43.0.1");
}

TEST(ResolveEnv, MissingReferencesAreConfigErrors) {
  MapSource src;
  src.configmaps["shop/cfg"] = json::parse(R"({"data":{"mode":"fast"}})").as_object();
  api::Object missing_map = Pod(R"({"containers":[{"name":"c","env":[{"name":"X",
      "valueFrom":{"configMapKeyRef":{"name":"gone","key":"k"}}}]}]})");
  auto r = ResolveEnv(missing_map, First(missing_map), "", Facts(), &src);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "configmap \"gone\" not found");
  api::Object missing_key = Pod(R"({"containers":[{"name":"c","env":[{"name":"X",
      "valueFrom":{"configMapKeyRef":{"name":"cfg","key":"k"}}}]}]})");
  r = ResolveEnv(missing_key, First(missing_key), "", Facts(), &src);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "couldn't find key k in ConfigMap shop/cfg");
  api::Object missing_secret = Pod(R"({"containers":[{"name":"c",
      "envFrom":[{"secretRef":{"name":"s"}}]}]})");
  r = ResolveEnv(missing_secret, First(missing_secret), "", Facts(), &src);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "secret \"s\" not found");
}

TEST(SandboxConfig, MetadataLabelsDnsPortsAndNamespaces) {
  api::Object pod = Pod(R"({"containers":[{"name":"c","ports":[{"containerPort":80,
      "hostPort":8080},{"containerPort":53,"protocol":"UDP"}]}],"hostNetwork":false})");
  NodeFacts facts = Facts();
  facts.cluster_dns = {"10.43.0.10"};
  v1::PodSandboxConfig c = SandboxConfig(pod, facts, 2);
  EXPECT_EQ(c.metadata().name(), "web");
  EXPECT_EQ(c.metadata().namespace_(), "shop");
  EXPECT_EQ(c.metadata().uid(), "u-1");
  EXPECT_EQ(c.metadata().attempt(), 2u);
  EXPECT_EQ(c.hostname(), "web");
  EXPECT_EQ(c.log_directory(), "/logs/shop_web_u-1");
  EXPECT_EQ(c.labels().at(kPodUidLabel), "u-1");
  EXPECT_EQ(c.labels().at("app"), "web");
  ASSERT_EQ(c.port_mappings_size(), 1);  // only the hostPort
  EXPECT_EQ(c.port_mappings(0).host_port(), 8080);
  EXPECT_EQ(c.port_mappings(0).container_port(), 80);
  ASSERT_EQ(c.dns_config().servers_size(), 1);
  EXPECT_EQ(c.dns_config().servers(0), "10.43.0.10");
  EXPECT_EQ(c.dns_config().searches(0), "shop.svc.cluster.local");
  EXPECT_EQ(c.linux().security_context().namespace_options().network(), v1::POD);

  api::Object host = Pod(R"({"containers":[{"name":"c"}],"hostNetwork":true})");
  c = SandboxConfig(host, facts, 0);
  EXPECT_EQ(c.linux().security_context().namespace_options().network(), v1::NODE);
  EXPECT_EQ(c.dns_config().servers(0),
            "192.168.1.1");  // ClusterFirst on the host: node's
}

TEST(SandboxConfig, DnsPolicies) {
  NodeFacts facts = Facts();
  facts.cluster_dns = {"10.43.0.10"};
  facts.cluster_domain = "cluster.local";
  auto dns = [&](const char* spec) { return SandboxConfig(Pod(spec), facts, 0).dns_config(); };
  auto searches = [](const v1::DNSConfig& d) {
    return std::vector<std::string>(d.searches().begin(), d.searches().end());
  };
  auto options = [](const v1::DNSConfig& d) {
    return std::vector<std::string>(d.options().begin(), d.options().end());
  };
  // ClusterFirst (the default): the cluster's resolver, the namespace's search path, ndots:5.
  auto d = dns(R"({"containers":[{"name":"c"}]})");
  ASSERT_EQ(d.servers_size(), 1);
  EXPECT_EQ(d.servers(0), "10.43.0.10");
  EXPECT_EQ(searches(d)[0], "shop.svc.cluster.local");
  EXPECT_EQ(searches(d)[1], "svc.cluster.local");
  EXPECT_EQ(searches(d)[2], "cluster.local");
  EXPECT_EQ(options(d), std::vector<std::string>{"ndots:5"});
  // Default: the node's resolvers.
  d = dns(R"({"dnsPolicy":"Default","containers":[{"name":"c"}]})");
  ASSERT_EQ(d.servers_size(), 1);
  EXPECT_EQ(d.servers(0), "192.168.1.1");
  // ClusterFirstWithHostNet: the cluster's, also on the host's network.
  d = dns(R"({"dnsPolicy":"ClusterFirstWithHostNet","hostNetwork":true,
      "containers":[{"name":"c"}]})");
  EXPECT_EQ(d.servers(0), "10.43.0.10");
  // None: only dnsConfig.
  d = dns(R"({"dnsPolicy":"None","dnsConfig":{"nameservers":["1.1.1.1"],"searches":["a.example"],
      "options":[{"name":"ndots","value":"2"},{"name":"edns0"}]},"containers":[{"name":"c"}]})");
  ASSERT_EQ(d.servers_size(), 1);
  EXPECT_EQ(d.servers(0), "1.1.1.1");
  EXPECT_EQ(searches(d), std::vector<std::string>{"a.example"});
  EXPECT_EQ(options(d), (std::vector<std::string>{"ndots:2", "edns0"}));
  // ClusterFirst with dnsConfig: merged, an option replacing the one of the same name.
  d = dns(R"({"dnsConfig":{"searches":["svc.cluster.local","b.example"],
      "options":[{"name":"ndots","value":"1"}]},"containers":[{"name":"c"}]})");
  auto merged = searches(d);
  EXPECT_EQ(merged.back(), "b.example");
  EXPECT_EQ(std::count(merged.begin(), merged.end(), "svc.cluster.local"), 1);
  EXPECT_EQ(options(d), std::vector<std::string>{"ndots:1"});
}

TEST(ContainerConfig, CommandArgsResourcesAndSecurity) {
  MapSource src;
  api::Object pod = Pod(
      R"json({"securityContext":{"runAsUser":1000},"containers":[{"name":"app",
      "image":"busybox:1","command":["sh","-c"],"args":["echo $(WHO)"],"workingDir":"/tmp",
      "env":[{"name":"WHO","value":"me"}],
      "resources":{"requests":{"cpu":"250m"},"limits":{"cpu":"500m","memory":"128Mi"}},
      "securityContext":{"runAsGroup":3000,"readOnlyRootFilesystem":true,
        "allowPrivilegeEscalation":false,"capabilities":{"add":["NET_ADMIN"],"drop":["ALL"]}}}]})json");
  auto c = ContainerConfig(pod, First(pod), 3, "10.42.0.2", Facts(), &src);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->metadata().name(), "app");
  EXPECT_EQ(c->metadata().attempt(), 3u);
  EXPECT_EQ(c->image().image(), "busybox:1");
  ASSERT_EQ(c->args_size(), 1);
  EXPECT_EQ(c->args(0), "echo me");
  EXPECT_EQ(c->working_dir(), "/tmp");
  EXPECT_EQ(c->log_path(), "app/3.log");
  EXPECT_EQ(c->labels().at(kContainerNameLabel), "app");
  const auto& r = c->linux().resources();
  EXPECT_EQ(r.cpu_shares(), 256);
  EXPECT_EQ(r.cpu_quota(), 50000);
  EXPECT_EQ(r.cpu_period(), 100000);
  EXPECT_EQ(r.memory_limit_in_bytes(), 128 << 20);
  const auto& sc = c->linux().security_context();
  EXPECT_EQ(sc.run_as_user().value(), 1000);
  EXPECT_EQ(sc.run_as_group().value(), 3000);
  EXPECT_TRUE(sc.readonly_rootfs());
  EXPECT_TRUE(sc.no_new_privs());
  EXPECT_EQ(sc.capabilities().add_capabilities(0), "NET_ADMIN");
  EXPECT_EQ(sc.capabilities().drop_capabilities(0), "ALL");
}

TEST(ShouldRestart, FollowsRestartPolicy) {
  api::Object always = Pod(R"({"containers":[{"name":"c"}]})");
  api::Object never = Pod(R"({"restartPolicy":"Never","containers":[{"name":"c"}]})");
  api::Object on_failure = Pod(R"({"restartPolicy":"OnFailure","containers":[{"name":"c"}]})");
  json::object c{{"name", "c"}};
  EXPECT_TRUE(ShouldRestart(always, c, false, 0));
  EXPECT_FALSE(ShouldRestart(never, c, false, 1));
  EXPECT_TRUE(ShouldRestart(on_failure, c, false, 1));
  EXPECT_FALSE(ShouldRestart(on_failure, c, false, 0));
  EXPECT_TRUE(ShouldRestart(always, c, true, 1));  // init containers retry to success
  EXPECT_FALSE(ShouldRestart(always, c, true, 0));
  EXPECT_FALSE(ShouldRestart(never, c, true, 1));
  json::object sidecar{{"name", "s"}, {"restartPolicy", "Always"}};
  EXPECT_TRUE(ShouldRestart(never, sidecar, true, 0));
}

RuntimeContainer Running(std::string name, uint32_t attempt = 0) {
  RuntimeContainer c;
  c.id = name + "-id-" + std::to_string(attempt);
  c.name = name;
  c.attempt = attempt;
  c.state = v1::CONTAINER_RUNNING;
  c.started_at = 1700000000000000000;
  return c;
}

RuntimeContainer Exited(std::string name, int code, uint32_t attempt = 0) {
  RuntimeContainer c = Running(std::move(name), attempt);
  c.state = v1::CONTAINER_EXITED;
  c.exit_code = code;
  c.finished_at = c.started_at + 1000000000;
  return c;
}

const json::object& Cond(const json::object& status, std::string_view type) {
  for (const auto& c : status.at("conditions").as_array()) {
    if (c.as_object().at("type").as_string() == type) return c.as_object();
  }
  static json::object none;
  return none;
}

TEST(ComputeStatus, RunningPodIsReadyWithIps) {
  api::Object pod = Pod(R"({"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]})");
  PodRuntimeView view;
  view.sandbox_ready = true;
  view.pod_ip = "10.42.0.9";
  view.containers["a"] = {Running("a")};
  view.containers["b"] = {Running("b")};
  json::object s = ComputeStatus(pod, view, Facts(), "2026-12-06T00:00:00Z");
  EXPECT_EQ(s.at("phase").as_string(), "Running");
  EXPECT_EQ(s.at("podIP").as_string(), "10.42.0.9");
  EXPECT_EQ(s.at("hostIP").as_string(), "192.168.1.5");
  EXPECT_EQ(Cond(s, "Ready").at("status").as_string(), "True");
  EXPECT_EQ(Cond(s, "PodReadyToStartContainers").at("status").as_string(), "True");
  const auto& a = s.at("containerStatuses").as_array()[0].as_object();
  EXPECT_TRUE(a.at("ready").as_bool());
  EXPECT_EQ(a.at("containerID").as_string(), "containerd://a-id-0");
  EXPECT_TRUE(a.at("state").as_object().contains("running"));

  view.ready["b"] = false;  // a failing readiness probe
  s = ComputeStatus(pod, view, Facts(), "2026-12-06T00:00:00Z");
  EXPECT_EQ(Cond(s, "Ready").at("status").as_string(), "False");
  EXPECT_EQ(Cond(s, "Ready").at("reason").as_string(), "ContainersNotReady");
}

TEST(ComputeStatus, CrashLoopKeepsPodRunningWithLastState) {
  api::Object pod = Pod(R"({"containers":[{"name":"a","image":"x"}]})");
  PodRuntimeView view;
  view.sandbox_ready = true;
  view.containers["a"] = {Exited("a", 1, 4)};
  view.waiting["a"] = {"CrashLoopBackOff", "back-off 40s"};
  json::object s = ComputeStatus(pod, view, Facts(), "2026-12-06T00:00:00Z");
  EXPECT_EQ(s.at("phase").as_string(), "Running");
  const auto& a = s.at("containerStatuses").as_array()[0].as_object();
  EXPECT_EQ(a.at("state").at("waiting").at("reason").as_string(), "CrashLoopBackOff");
  EXPECT_EQ(a.at("lastState").at("terminated").at("exitCode").as_int64(), 1);
  EXPECT_EQ(a.at("lastState").at("terminated").at("reason").as_string(), "Error");
  EXPECT_EQ(a.at("restartCount").as_int64(), 4);
}

TEST(ComputeStatus, PhasesOfFinishedPods) {
  api::Object never = Pod(R"({"restartPolicy":"Never","containers":[{"name":"a"}]})");
  PodRuntimeView view;
  view.containers["a"] = {Exited("a", 0)};
  EXPECT_EQ(ComputeStatus(never, view, Facts(), "t").at("phase").as_string(), "Succeeded");
  view.containers["a"] = {Exited("a", 2)};
  json::object s = ComputeStatus(never, view, Facts(), "t");
  EXPECT_EQ(s.at("phase").as_string(), "Failed");
  EXPECT_EQ(Cond(s, "Ready").at("reason").as_string(), "PodCompleted");
  RuntimeContainer oom = Exited("a", 137);
  oom.reason = "OOMKilled";
  view.containers["a"] = {oom};
  s = ComputeStatus(never, view, Facts(), "t");
  EXPECT_EQ(
      s.at("containerStatuses").as_array()[0].at("state").at("terminated").at("reason").as_string(),
      "OOMKilled");
}

TEST(ComputeStatus, InitContainersGatePhaseAndConditions) {
  api::Object pod = Pod(R"({"initContainers":[{"name":"init","image":"x"}],
                           "containers":[{"name":"a","image":"y"}]})");
  PodRuntimeView view;
  view.sandbox_ready = true;
  view.containers["init"] = {Running("init")};
  json::object s = ComputeStatus(pod, view, Facts(), "t");
  EXPECT_EQ(s.at("phase").as_string(), "Pending");
  EXPECT_EQ(Cond(s, "Initialized").at("status").as_string(), "False");
  EXPECT_EQ(
      s.at("containerStatuses").as_array()[0].at("state").at("waiting").at("reason").as_string(),
      "PodInitializing");
  view.containers["init"] = {Exited("init", 0)};
  view.containers["a"] = {Running("a")};
  s = ComputeStatus(pod, view, Facts(), "t");
  EXPECT_EQ(s.at("phase").as_string(), "Running");
  EXPECT_EQ(Cond(s, "Initialized").at("status").as_string(), "True");
  EXPECT_EQ(s.at("initContainerStatuses")
                .as_array()[0]
                .at("state")
                .at("terminated")
                .at("reason")
                .as_string(),
            "Completed");
}

TEST(ComputeStatus, ConditionKeepsTransitionTimeWhileUnchanged) {
  api::Object pod = Pod(R"({"containers":[{"name":"a"}]})");
  pod["status"] = json::parse(R"({"conditions":[{"type":"Ready","status":"True",
      "lastTransitionTime":"2026-01-01T00:00:00Z"},{"type":"PodScheduled","status":"True"}]})");
  PodRuntimeView view;
  view.sandbox_ready = true;
  view.containers["a"] = {Running("a")};
  json::object s = ComputeStatus(pod, view, Facts(), "2026-12-06T00:00:00Z");
  EXPECT_EQ(Cond(s, "Ready").at("lastTransitionTime").as_string(), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Cond(s, "PodScheduled").at("status").as_string(), "True");  // kept
}

TEST(RankForEviction, OverRequestThenPriorityThenExcess) {
  std::vector<EvictionCandidate> pods{
      {.priority = 0, .usage = 50, .request = 100},    // 0: within its request
      {.priority = 1000, .usage = 300, .request = 0},  // 1: over, high priority
      {.priority = 0, .usage = 200, .request = 0},     // 2: over, low priority, +200
      {.priority = 0, .usage = 500, .request = 100},   // 3: over, low priority, +400
  };
  EXPECT_EQ(RankForEviction(pods), (std::vector<size_t>{3, 2, 1, 0}));
}

TEST(PullAuth, MatchesTheImagesRegistry) {
  EXPECT_EQ(ImageRegistry("nginx:1.25"), "docker.io");
  EXPECT_EQ(ImageRegistry("library/nginx"), "docker.io");
  EXPECT_EQ(ImageRegistry("localhost:5000/app:1"), "localhost:5000");
  EXPECT_EQ(ImageRegistry("registry.example.com/team/app"), "registry.example.com");
  // {"auths":{"localhost:5000":{"auth":base64("user:pw")}, "https://index.docker.io/v1/":...}}
  api::Object secret = json::parse(R"({"type":"kubernetes.io/dockerconfigjson","data":{
      ".dockerconfigjson":"eyJhdXRocyI6eyJsb2NhbGhvc3Q6NTAwMCI6eyJhdXRoIjoiZFhObGNqcHdkdz09In0sImh0dHBzOi8vaW5kZXguZG9ja2VyLmlvL3YxLyI6eyJ1c2VybmFtZSI6ImQiLCJwYXNzd29yZCI6InAifX19"}})")
                           .as_object();
  auto a = PullAuth("localhost:5000/app:1", {secret});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->username(), "user");
  EXPECT_EQ(a->password(), "pw");
  EXPECT_EQ(a->server_address(), "");  // containerd could not parse "localhost:5000" as a URL
  auto d = PullAuth("nginx", {secret});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->username(), "d");
  EXPECT_FALSE(PullAuth("quay.io/x/y", {secret}).has_value());
}

}  // namespace
}  // namespace keelson::kubelet
