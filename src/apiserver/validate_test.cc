#include "apiserver/strategy.h"
#include "apiserver/validate.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>

#include "api/defaults.h"
#include "apiserver/cron.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using Causes = std::vector<std::pair<std::string, std::string>>;

const api::ResourceInfo& Resource(std::string_view group, std::string_view kind) {
  for (const auto& r : api::ResourceRegistry::BuiltIn().all()) {
    if (r.group == group && r.kind == kind) return r;
  }
  ADD_FAILURE() << "no resource " << group << "/" << kind;
  return api::ResourceRegistry::BuiltIn().all().front();
}

// The object as the server sees it: parsed and defaulted.
json::object Defaulted(const api::TypeDecl& type, std::string_view text) {
  json::object o = json::parse(text).as_object();
  api::ApplyDefaults(type, &o);
  return o;
}

// The strategy of a kind, as the server registers it (events.k8s.io/v1 Events have their own).
const Strategy& StrategyOf(const api::ResourceInfo& r, bool events_v1 = false) {
  static const StrategyRegistry strategies = BuiltInStrategies(api::ResourceRegistry::BuiltIn());
  const api::ResourceInfo* served =
      events_v1 ? api::ResourceRegistry::BuiltIn().Find("events.k8s.io", "v1", "events") : &r;
  const Strategy* s = strategies.Find(*served);
  EXPECT_NE(s, nullptr) << r.resource;
  return *s;
}

// Validates `text` as a new object, or as an update of `old_text`, as the kind's strategy does.
Causes Validate(std::string_view group, std::string_view kind, std::string_view text,
                std::string_view old_text = {}, bool events_v1 = false) {
  const api::ResourceInfo& r = Resource(group, kind);
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
  EXPECT_NE(type, nullptr);
  const Strategy& s = StrategyOf(r, events_v1);
  json::object obj = Defaulted(*type, text);
  if (old_text.empty()) return s.Validate(obj);
  json::object old = Defaulted(*type, old_text);
  return s.ValidateUpdate(obj, old);
}

// The problems of a new object's name and generateName under the kind's name rule.
Causes ValidateName(const api::ResourceInfo& r, std::string_view name) {
  return NameCauses("metadata.name", name, StrategyOf(r).NameErrors(name, false));
}
Causes ValidateGenerateName(const api::ResourceInfo& r, std::string_view name) {
  if (name.empty()) return {};
  return NameCauses("metadata.generateName", name, StrategyOf(r).NameErrors(name, true));
}

std::string Print(const Causes& causes) {
  std::string out;
  for (const auto& [f, m] : causes) out += "\n  " + f + ": " + m;
  return out.empty() ? " (none)" : out;
}

::testing::AssertionResult Reports(const Causes& causes, std::string_view field,
                                   std::string_view body) {
  for (const auto& [f, m] : causes) {
    if (f == field && m == body) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "expected " << field << ": " << body << "\ngot:" << Print(causes);
}

::testing::AssertionResult Clean(const Causes& causes) {
  if (causes.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected no errors, got:" << Print(causes);
}

// --- Pods -------------------------------------------------------------------------------------

std::string Pod(std::string_view spec_extra, std::string_view container_extra = "") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"d"},
    "spec":{"containers":[{"name":"c","image":"nginx")" +
         std::string(container_extra) + "}]" + std::string(spec_extra) + "}}";
}

TEST(ValidatePodTest, AValidPodPasses) {
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(""))));
  EXPECT_TRUE(Clean(Validate(
      "", "Pod",
      Pod(R"(,"volumes":[{"name":"v","configMap":{"name":"cm"}}],"nodeSelector":{"a":"b"},
          "tolerations":[{"key":"k","operator":"Equal","value":"v","effect":"NoSchedule"}])",
          R"(,"ports":[{"name":"http","containerPort":80,"hostPort":0}],
          "env":[{"name":"A","value":"1"}],"volumeMounts":[{"name":"v","mountPath":"/v"}],
          "resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"1"}},
          "livenessProbe":{"httpGet":{"port":80}},
          "readinessProbe":{"tcpSocket":{"port":"http"}})"))));
}

TEST(ValidatePodTest, ContainerNamesAreLabelsUniqueAcrossInitAndRegularContainers) {
  auto c = Validate("", "Pod", R"({"metadata":{"name":"p"},"spec":{
      "initContainers":[{"name":"c","image":"busybox"}],
      "containers":[{"name":"c","image":"nginx"},{"name":"Bad_Name","image":"nginx"}]}})");
  EXPECT_TRUE(Reports(c, "spec.containers[0].name", "Duplicate value: \"c\""));
  EXPECT_TRUE(Reports(c, "spec.containers[1].name",
                      "Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of "
                      "lower case alphanumeric characters or '-', and must start and end with an "
                      "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                      "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
}

TEST(ValidatePodTest, RequestsMayNotExceedLimits) {
  auto c = Validate("", "Pod", Pod("", R"(,"resources":{"requests":{"cpu":"2","memory":"1Gi"},
      "limits":{"cpu":"1","memory":"1Gi"}})"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].resources.requests",
                      "Invalid value: \"2\": must be less than or equal to cpu limit of 1"));
  EXPECT_EQ(c.size(), 1u) << Print(c);
  auto neg = Validate("", "Pod", Pod("", R"(,"resources":{"requests":{"memory":"-1"}})"));
  EXPECT_TRUE(Reports(neg, "spec.containers[0].resources.requests[memory]",
                      "Invalid value: \"-1\": must be greater than or equal to 0"));
  auto name = Validate("", "Pod", Pod("", R"(,"resources":{"limits":{"storage":"1Gi"}})"));
  EXPECT_TRUE(Reports(name, "spec.containers[0].resources.limits[storage]",
                      "Invalid value: \"storage\": must be a standard resource for containers"));
  auto ext = Validate("", "Pod", Pod("", R"(,"resources":{"requests":{"example.com/gpu":"1"}})"));
  EXPECT_TRUE(Reports(ext, "spec.containers[0].resources.limits",
                      "Required value: Limit must be set for non overcommitable resources"));
}

TEST(ValidatePodTest, ProbesNeedExactlyOneHandlerAndSaneNumbers) {
  auto none = Validate("", "Pod", Pod("", R"(,"livenessProbe":{"periodSeconds":5})"));
  EXPECT_TRUE(Reports(none, "spec.containers[0].livenessProbe",
                      "Required value: must specify a handler type"));
  auto two = Validate("", "Pod", Pod("", R"(,"readinessProbe":{"exec":{"command":["true"]},
      "tcpSocket":{"port":80},"periodSeconds":-1})"));
  EXPECT_TRUE(Reports(two, "spec.containers[0].readinessProbe.tcpSocket",
                      "Forbidden: may not specify more than 1 handler type"));
  EXPECT_TRUE(Reports(two, "spec.containers[0].readinessProbe.periodSeconds",
                      "Invalid value: -1: must be greater than or equal to 0"));
  auto st = Validate("", "Pod", Pod("", R"(,"livenessProbe":{"grpc":{"port":9000},
      "successThreshold":2})"));
  EXPECT_TRUE(Reports(st, "spec.containers[0].livenessProbe.successThreshold",
                      "Invalid value: 2: must be 1"));
}

TEST(ValidatePodTest, EnvNamesPortsAndEnums) {
  auto c = Validate("", "Pod",
                    Pod(R"(,"restartPolicy":"Sometimes","dnsPolicy":"None")",
                        R"(,"env":[{"name":"A=B","value":"x"}],"imagePullPolicy":"Maybe",
                            "ports":[{"containerPort":70000,"hostPort":-1,"protocol":"HTTP"},
                                     {"containerPort":0}])"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].env[0].name",
                      "Invalid value: \"A=B\": a valid environment variable name must consist "
                      "only of printable ASCII characters other than '='"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].ports[0].containerPort",
                      "Invalid value: 70000: must be between 1 and 65535, inclusive"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].ports[0].hostPort",
                      "Invalid value: -1: must be between 1 and 65535, inclusive"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].ports[0].protocol",
                      "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
  EXPECT_TRUE(Reports(c, "spec.containers[0].ports[1].containerPort", "Required value"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].imagePullPolicy",
                      "Unsupported value: \"Maybe\": supported values: \"Always\", "
                      "\"IfNotPresent\", \"Never\""));
  EXPECT_TRUE(Reports(c, "spec.restartPolicy",
                      "Unsupported value: \"Sometimes\": supported values: \"Always\", "
                      "\"OnFailure\", \"Never\""));
  EXPECT_TRUE(Reports(c, "spec.dnsConfig",
                      "Required value: must provide `dnsConfig` when `dnsPolicy` is None"));
  auto host = Validate("", "Pod", Pod(R"(,"hostNetwork":true)",
                                      R"(,"ports":[{"containerPort":80,"hostPort":81}])"));
  EXPECT_TRUE(Reports(host, "spec.containers[0].ports[0].hostPort",
                      "Invalid value: 81: must match `containerPort` when `hostNetwork` is true"));
}

TEST(ValidatePodTest, VolumesNeedOneSourceAndMountsNeedVolumes) {
  auto c = Validate("", "Pod", Pod(R"(,"volumes":[{"name":"a","emptyDir":{},
      "hostPath":{"path":"/x"}},
      {"name":"a","secret":{}}])",
                                   R"(,"volumeMounts":[{"name":"b","mountPath":"/b"},
      {"name":"a","mountPath":"/b"}])"));
  EXPECT_TRUE(Reports(c, "spec.volumes[0].emptyDir",
                      "Forbidden: may not specify more than 1 volume type"));
  EXPECT_TRUE(Reports(c, "spec.volumes[1].name", "Duplicate value: \"a\""));
  EXPECT_TRUE(Reports(c, "spec.volumes[1].secret.secretName", "Required value"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].volumeMounts[0].name", "Not found: \"b\""));
  EXPECT_TRUE(Reports(c, "spec.containers[0].volumeMounts[1].mountPath",
                      "Invalid value: \"/b\": must be unique"));
}

TEST(ValidatePodTest, TolerationsAndActiveDeadline) {
  auto c = Validate("", "Pod", Pod(R"(,"activeDeadlineSeconds":0,"tolerations":[
      {"operator":"Equal","value":"x"},{"key":"k","operator":"Maybe"},
      {"key":"k","effect":"NoSchedule","tolerationSeconds":5},{"key":"k","effect":"Never"},
      {"key":"k","value":"a b"}])"));
  EXPECT_TRUE(Reports(c, "spec.activeDeadlineSeconds",
                      "Invalid value: 0: must be between 1 and 2147483647, inclusive"));
  EXPECT_TRUE(Reports(c, "spec.tolerations[0].operator",
                      "Invalid value: \"Equal\": operator must be Exists when `key` is empty, "
                      "which means \"match all values and all keys\""));
  EXPECT_TRUE(Reports(c, "spec.tolerations[1].operator",
                      "Unsupported value: \"Maybe\": supported values: \"Equal\", \"Exists\""));
  EXPECT_TRUE(Reports(c, "spec.tolerations[2].effect",
                      "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
                      "`tolerationSeconds` is set"));
  EXPECT_TRUE(Reports(c, "spec.tolerations[3].effect",
                      "Unsupported value: \"Never\": supported values: \"NoSchedule\", "
                      "\"PreferNoSchedule\", \"NoExecute\""));
  EXPECT_TRUE(Reports(c, "spec.tolerations[4].operator",
                      "Invalid value: \"a b\": a valid label must be an empty string or consist "
                      "of alphanumeric characters, '-', '_' or '.', and must start and end with "
                      "an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                      "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                      "[A-Za-z0-9])?')"));
}

TEST(ValidatePodTest, UpdatesChangeOnlyImagesAndMayOnlyShortenTheDeadline) {
  std::string old = Pod(R"(,"activeDeadlineSeconds":100)");
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"activeDeadlineSeconds":50)"), old)));
  auto raised = Validate("", "Pod", Pod(R"(,"activeDeadlineSeconds":200)"), old);
  EXPECT_TRUE(Reports(raised, "spec.activeDeadlineSeconds",
                      "Invalid value: 200: must be less than or equal to previous value"));
  auto changed = Validate("", "Pod", Pod(R"(,"activeDeadlineSeconds":100,"hostname":"h")"), old);
  ASSERT_EQ(changed.size(), 1u) << Print(changed);
  EXPECT_EQ(changed[0].first, "spec");
  EXPECT_EQ(changed[0].second.rfind("Forbidden: pod updates may not change fields other than", 0),
            0u);
}

// --- Names and metadata -----------------------------------------------------------------------

TEST(ValidateNameTest, EachKindHasUpstreamsNameRule) {
  EXPECT_TRUE(ValidateName(Resource("", "ConfigMap"), "a.b-c").empty());
  EXPECT_TRUE(Reports(ValidateName(Resource("", "Namespace"), "a.b"), "metadata.name",
                      "Invalid value: \"a.b\": must not contain dots"));
  EXPECT_TRUE(Reports(ValidateName(Resource("", "Service"), "1web"), "metadata.name",
                      "Invalid value: \"1web\": a DNS-1035 label must consist of lower case "
                      "alphanumeric characters or '-', start with an alphabetic character, and "
                      "end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
                      "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"));
  // RBAC names are path segments: "system:" names are fine.
  EXPECT_TRUE(
      ValidateName(Resource("rbac.authorization.k8s.io", "ClusterRole"), "system:view").empty());
  EXPECT_TRUE(Reports(ValidateName(Resource("rbac.authorization.k8s.io", "Role"), "a/b"),
                      "metadata.name", "Invalid value: \"a/b\": may not contain '/'"));
  EXPECT_FALSE(ValidateName(Resource("", "Pod"), "Upper").empty());
}

TEST(ValidateMetadataTest, FinalizersAreStandardOrQualified) {
  EXPECT_TRUE(Clean(Validate("", "ConfigMap", R"({"metadata":{"name":"c",
      "finalizers":["example.com/hold","orphan"]}})")));
  auto c = Validate("", "ConfigMap", R"({"metadata":{"name":"c","finalizers":["hold"]}})");
  EXPECT_TRUE(Reports(c, "metadata.finalizers[0]",
                      "Invalid value: \"hold\": name is neither a standard finalizer name nor is "
                      "it fully qualified"));
}

// --- Services -----------------------------------------------------------------------------------

constexpr std::string_view kService = R"({"metadata":{"name":"s","namespace":"d"},
  "spec":{"type":"ClusterIP","clusterIP":"10.43.0.10","clusterIPs":["10.43.0.10"],
  "ports":[{"port":80}]}})";

TEST(ValidateServiceTest, TheClusterIPCannotChange) {
  EXPECT_TRUE(Clean(Validate("", "Service", kService, kService)));
  auto c = Validate("", "Service", R"({"metadata":{"name":"s","namespace":"d"},
      "spec":{"type":"ClusterIP","clusterIP":"10.43.0.11","clusterIPs":["10.43.0.10"],
      "ports":[{"port":80}]}})",
                    kService);
  EXPECT_TRUE(Reports(c, "spec.clusterIPs[0]",
                      "Invalid value: []string{\"10.43.0.11\"}: may not change once set"));
  // Left out, it carries over; becoming an ExternalName drops it.
  EXPECT_TRUE(Clean(Validate("", "Service", R"({"metadata":{"name":"s"},
      "spec":{"type":"ClusterIP","ports":[{"port":80}]}})", kService)));
  EXPECT_TRUE(Clean(Validate("", "Service", R"({"metadata":{"name":"s"},
      "spec":{"type":"ExternalName","externalName":"example.com","clusterIP":"10.43.0.11"}})",
                             kService)));
}

TEST(ValidateServiceTest, EnumsPortsAndExternalNames) {
  auto c = Validate("", "Service", R"({"metadata":{"name":"s"},"spec":{"type":"ClusterIP",
      "clusterIP":"300.1.1.1","externalTrafficPolicy":"Local","internalTrafficPolicy":"Both",
      "ipFamilyPolicy":"Any","ports":[{"port":80,"targetPort":"Not_A_Name"}]}})");
  EXPECT_TRUE(Reports(c, "spec.clusterIPs[0]",
                      "Invalid value: \"300.1.1.1\": must be a valid IP address, (e.g. 10.9.8.7 "
                      "or 2001:db8::ffff)"));
  EXPECT_TRUE(Reports(c, "spec.externalTrafficPolicy",
                      "Invalid value: \"Local\": may only be set for externally-accessible "
                      "services"));
  EXPECT_TRUE(Reports(c, "spec.internalTrafficPolicy",
                      "Unsupported value: \"Both\": supported values: \"Cluster\", \"Local\""));
  EXPECT_TRUE(Reports(c, "spec.ipFamilyPolicy",
                      "Unsupported value: \"Any\": supported values: \"PreferDualStack\", "
                      "\"RequireDualStack\", \"SingleStack\""));
  EXPECT_TRUE(Reports(c, "spec.ports[0].targetPort",
                      "Invalid value: \"Not_A_Name\": must contain only alpha-numeric characters "
                      "(a-z, 0-9), and hyphens (-)"));
  auto none = Validate("", "Service", R"({"metadata":{"name":"s"},"spec":{"type":"NodePort"}})");
  EXPECT_TRUE(Reports(none, "spec.ports", "Required value"));
  auto en = Validate("", "Service", R"({"metadata":{"name":"s"},"spec":{"type":"ExternalName",
      "externalName":"bad_name."}})");
  EXPECT_EQ(en.size(), 1u) << Print(en);
  EXPECT_EQ(en[0].first, "spec.externalName");
  EXPECT_TRUE(Clean(Validate("", "Service", R"({"metadata":{"name":"s"},"spec":{
      "type":"NodePort","externalTrafficPolicy":"Local","ports":[{"port":80}]}})")));
}

// --- ConfigMaps and Secrets -------------------------------------------------------------------

TEST(ValidateSecretTest, TypeIsImmutableAndTypedSecretsNeedTheirKeys) {
  std::string tls = R"({"metadata":{"name":"s"},"type":"kubernetes.io/tls",
      "data":{"tls.crt":"eA==","tls.key":"eA=="}})";
  EXPECT_TRUE(Clean(Validate("", "Secret", tls)));
  auto c = Validate("", "Secret", R"({"metadata":{"name":"s"},"type":"kubernetes.io/tls",
      "data":{"tls.crt":"eA=="}})");
  EXPECT_TRUE(Reports(c, "data[tls.key]", "Required value"));
  auto changed = Validate("", "Secret", R"({"metadata":{"name":"s"},"type":"Opaque",
      "data":{"tls.crt":"eA==","tls.key":"eA=="}})", tls);
  EXPECT_TRUE(Reports(changed, "type", "Invalid value: \"Opaque\": field is immutable"));
  auto sa = Validate("", "Secret", R"({"metadata":{"name":"s"},
      "type":"kubernetes.io/service-account-token"})");
  EXPECT_TRUE(Reports(sa, "metadata.annotations[kubernetes.io/service-account.name]",
                      "Required value"));
  auto basic = Validate("", "Secret", R"({"metadata":{"name":"s"},
      "type":"kubernetes.io/basic-auth","stringData":{"password":"x"}})");
  EXPECT_TRUE(Clean(basic));
}

TEST(ValidateConfigMapTest, KeysAreConfigKeysAndUnique) {
  auto c = Validate("", "ConfigMap", R"({"metadata":{"name":"c"},"data":{"a":"1","bad key":"2"},
      "binaryData":{"a":"eA=="}})");
  EXPECT_TRUE(
      Reports(c, "binaryData[a]", "Invalid value: \"a\": duplicate of key present in data"));
  // Each bad key is reported at its own path, as upstream's field.NewPath("data").Key(key).
  EXPECT_EQ(c[0].first, "data[bad key]");
  EXPECT_TRUE(Reports(Validate("", "ConfigMap", R"({"metadata":{"name":"c"},"data":{"..x":"1"}})"),
                      "data[..x]", "Invalid value: \"..x\": must not start with '..'"));
}

// --- Volumes ------------------------------------------------------------------------------------

constexpr std::string_view kClaim = R"({"metadata":{"name":"c","namespace":"d"},"spec":{
  "accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}})";

TEST(ValidatePersistentVolumeClaimTest, AccessModesStorageAndImmutability) {
  EXPECT_TRUE(Clean(Validate("", "PersistentVolumeClaim", kClaim)));
  auto c = Validate("", "PersistentVolumeClaim", R"({"metadata":{"name":"c"},"spec":{
      "volumeMode":"Raw","resources":{"requests":{"storage":"0"}}}})");
  EXPECT_TRUE(Reports(c, "spec.accessModes",
                      "Required value: at least 1 access mode is required"));
  EXPECT_TRUE(Reports(c, "spec.resources[storage]",
                      "Invalid value: \"0\": must be greater than zero"));
  EXPECT_TRUE(Reports(c, "spec.volumeMode",
                      "Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\""));
  auto modes = Validate("", "PersistentVolumeClaim", R"({"metadata":{"name":"c"},"spec":{
      "accessModes":["ReadWriteSometimes"],"resources":{}}})");
  EXPECT_TRUE(Reports(modes, "spec.accessModes",
                      "Unsupported value: \"ReadWriteSometimes\": supported values: "
                      "\"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", "
                      "\"ReadWriteOncePod\""));
  EXPECT_TRUE(Reports(modes, "spec.resources[storage]", "Required value"));
  std::string bigger = R"({"metadata":{"name":"c"},"spec":{"accessModes":["ReadWriteOnce"],
      "resources":{"requests":{"storage":"2Gi"}}},"status":{"phase":"Bound"}})";
  EXPECT_TRUE(Clean(Validate("", "PersistentVolumeClaim", bigger, kClaim)));
  std::string pending = R"({"metadata":{"name":"c"},"spec":{"accessModes":["ReadWriteOnce"],
      "resources":{"requests":{"storage":"2Gi"}}}})";
  auto imm = Validate("", "PersistentVolumeClaim", pending, kClaim);
  EXPECT_TRUE(Reports(imm, "spec",
                      "Forbidden: spec is immutable after creation except resources.requests "
                      "and volumeAttributesClassName for bound claims"));
  std::string named = R"({"metadata":{"name":"c"},"spec":{"accessModes":["ReadWriteOnce"],
      "volumeName":"pv1","resources":{"requests":{"storage":"1Gi"}}}})";
  EXPECT_TRUE(Clean(Validate("", "PersistentVolumeClaim", named, kClaim)));
}

constexpr std::string_view kVolume = R"({"metadata":{"name":"pv"},"spec":{
  "accessModes":["ReadWriteOnce"],"capacity":{"storage":"1Gi"},"hostPath":{"path":"/a"}}})";

TEST(ValidatePersistentVolumeTest, OneSourceAPolicyAndAFixedSource) {
  EXPECT_TRUE(Clean(Validate("", "PersistentVolume", kVolume)));
  auto c = Validate("", "PersistentVolume", R"({"metadata":{"name":"pv"},"spec":{
      "persistentVolumeReclaimPolicy":"Keep"}})");
  EXPECT_TRUE(Reports(c, "spec.accessModes", "Required value"));
  EXPECT_TRUE(Reports(c, "spec.capacity", "Required value"));
  EXPECT_TRUE(Reports(c, "spec", "Required value: must specify a volume type"));
  EXPECT_TRUE(Reports(c, "spec.persistentVolumeReclaimPolicy",
                      "Unsupported value: \"Keep\": supported values: \"Delete\", \"Recycle\", "
                      "\"Retain\""));
  auto moved = Validate("", "PersistentVolume", R"({"metadata":{"name":"pv"},"spec":{
      "accessModes":["ReadWriteOnce"],"capacity":{"storage":"1Gi"},"hostPath":{"path":"/b"}}})",
                        kVolume);
  EXPECT_TRUE(Reports(moved, "spec.persistentvolumesource",
                      "Forbidden: spec.persistentvolumesource is immutable after creation"));
}

// --- Nodes and namespaces -----------------------------------------------------------------------

TEST(ValidateNodeTest, TaintsAndPodCIDRs) {
  auto c = Validate("", "Node", R"({"metadata":{"name":"n"},"spec":{"podCIDR":"10.0.0.0/33",
      "taints":[{"key":"k","effect":"NoWhere"},{"key":"k","value":"v","effect":"NoWhere"}]}})");
  EXPECT_TRUE(Reports(c, "metadata.taints[0].effect",
                      "Unsupported value: \"NoWhere\": supported values: \"NoSchedule\", "
                      "\"PreferNoSchedule\", \"NoExecute\""));
  EXPECT_EQ(std::count_if(c.begin(), c.end(),
                          [](const auto& e) { return e.first == "metadata.taints[1]"; }),
            1);
  EXPECT_TRUE(Reports(c, "spec.podCIDRs[0]",
                      "Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. "
                      "10.9.8.0/24 or 2001:db8::/64)"));
  std::string set = R"({"metadata":{"name":"n"},"spec":{"podCIDR":"10.0.1.0/24",
      "podCIDRs":["10.0.1.0/24"]}})";
  EXPECT_TRUE(Clean(Validate("", "Node", set, R"({"metadata":{"name":"n"},"spec":{}})")));
  auto moved = Validate("", "Node", R"({"metadata":{"name":"n"},"spec":{
      "podCIDRs":["10.0.2.0/24"]}})", set);
  EXPECT_TRUE(Reports(moved, "spec.podCIDRs",
                      "Forbidden: node updates may not change podCIDR except from \"\" to valid"));
}

TEST(ValidateNamespaceTest, SpecFinalizers) {
  EXPECT_TRUE(Clean(Validate("", "Namespace", R"({"metadata":{"name":"n"},
      "spec":{"finalizers":["kubernetes"]}})")));
  auto c = Validate("", "Namespace", R"({"metadata":{"name":"n"},"spec":{"finalizers":["x"]}})");
  EXPECT_TRUE(Reports(c, "spec.finalizers",
                      "Invalid value: \"x\": name is neither a standard finalizer name nor is it "
                      "fully qualified"));
}

// --- Endpoints and events -----------------------------------------------------------------------

TEST(ValidateEndpointsTest, AddressesArePlainIPsAndPortsAreValid) {
  EXPECT_TRUE(Clean(Validate("", "Endpoints", R"({"metadata":{"name":"e"},"subsets":[
      {"addresses":[{"ip":"10.1.2.3"}],"ports":[{"port":80}]}]})")));
  auto c = Validate("", "Endpoints", R"({"metadata":{"name":"e"},"subsets":[
      {"addresses":[{"ip":"10.1.2"},{"ip":"127.0.0.1"}],
       "ports":[{"port":0,"protocol":"TCP"},{"name":"b","port":81,"protocol":"ICMP"}]},{}]})");
  EXPECT_TRUE(Reports(c, "subsets[0].addresses[0].ip",
                      "Invalid value: \"10.1.2\": must be a valid IP address, (e.g. 10.9.8.7 or "
                      "2001:db8::ffff)"));
  EXPECT_TRUE(Reports(c, "subsets[0].addresses[1].ip",
                      "Invalid value: \"127.0.0.1\": may not be in the loopback range "
                      "(127.0.0.0/8, ::1/128)"));
  EXPECT_TRUE(Reports(c, "subsets[0].ports[0].name", "Required value"));
  EXPECT_TRUE(Reports(c, "subsets[0].ports[0].port",
                      "Invalid value: 0: must be between 1 and 65535, inclusive"));
  EXPECT_TRUE(Reports(c, "subsets[0].ports[1].protocol",
                      "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
  EXPECT_TRUE(Reports(c, "subsets[1]",
                      "Required value: must specify `addresses` or `notReadyAddresses`"));
}

TEST(ValidateEventTest, LegacyAndEventsV1Rules) {
  EXPECT_TRUE(Clean(Validate("", "Event", R"({"metadata":{"name":"e","namespace":"d"},
      "involvedObject":{"kind":"Pod","name":"p","namespace":"d"},"reason":"R"})")));
  auto other = Validate("", "Event", R"({"metadata":{"name":"e","namespace":"d"},
      "involvedObject":{"kind":"Pod","name":"p","namespace":"x"}})");
  EXPECT_TRUE(Reports(other, "involvedObject.namespace",
                      "Invalid value: \"x\": does not match event.namespace"));
  auto v1 = Validate("", "Event", R"({"metadata":{"name":"e","namespace":"d"},
      "eventTime":"2026-01-02T03:04:05.000000Z","involvedObject":{"namespace":"d"},
      "type":"Odd","count":3})", {}, true);
  EXPECT_TRUE(Reports(v1, "reportingController", "Required value"));
  EXPECT_TRUE(Reports(v1, "reportingInstance", "Required value"));
  EXPECT_TRUE(Reports(v1, "action", "Required value"));
  EXPECT_TRUE(Reports(v1, "reason", "Required value"));
  EXPECT_TRUE(Reports(v1, "type", "Invalid value: \"\": has invalid value: Odd"));
  EXPECT_TRUE(Reports(v1, "count", "Invalid value: \"\": needs to be unset"));
  std::string created = R"({"metadata":{"name":"e","namespace":"d"},
      "eventTime":"2026-01-02T03:04:05.000000Z","involvedObject":{"namespace":"d"},
      "reportingComponent":"c","reportingInstance":"i","action":"A","reason":"R",
      "type":"Normal","message":"one"})";
  EXPECT_TRUE(Clean(Validate("", "Event", created, {}, true)));
  std::string noted = created;
  noted.replace(noted.find("\"one\""), 5, "\"two\"");
  EXPECT_TRUE(Clean(Validate("", "Event", noted, created, true)));
  std::string retyped = created;
  retyped.replace(retyped.find("Normal"), 6, "Warning");
  EXPECT_TRUE(Reports(Validate("", "Event", retyped, created, true), "type",
                      "Invalid value: \"Warning\": field is immutable"));
  // The core API keeps the legacy rules only.
  EXPECT_TRUE(Clean(Validate("", "Event", retyped, created, false)));
}

// --- LimitRange, ResourceQuota ------------------------------------------------------------------

TEST(ValidateLimitRangeTest, TypesAndOrdering) {
  EXPECT_TRUE(Clean(Validate("", "LimitRange", R"({"metadata":{"name":"l"},"spec":{"limits":[
      {"type":"Container","min":{"cpu":"100m"},"defaultRequest":{"cpu":"200m"},
       "default":{"cpu":"500m"},"max":{"cpu":"1"}}]}})")));
  auto c = Validate("", "LimitRange", R"({"metadata":{"name":"l"},"spec":{"limits":[
      {"type":"Container","min":{"cpu":"2"},"max":{"cpu":"1"},"default":{"cpu":"3"}},
      {"type":"Node"},{"type":"Pod","default":{"cpu":"1"}}]}})");
  EXPECT_TRUE(Reports(c, "spec.limits[0].min[cpu]",
                      "Invalid value: \"2\": min value 2 is greater than max value 1"));
  EXPECT_TRUE(Reports(c, "spec.limits[0].default[cpu]",
                      "Invalid value: \"1\": default value 3 is greater than max value 1"));
  EXPECT_TRUE(Reports(c, "spec.limits[1].type",
                      "Invalid value: \"Node\": must be a standard limit type or fully qualified"));
  EXPECT_TRUE(Reports(c, "spec.limits[2].default",
                      "Forbidden: may not be specified when `type` is 'Pod'"));
}

TEST(ValidateResourceQuotaTest, HardValuesAndScopes) {
  std::string ok = R"({"metadata":{"name":"q"},"spec":{"hard":{"pods":"10",
      "requests.cpu":"4"},"scopes":["NotBestEffort"]}})";
  EXPECT_TRUE(Clean(Validate("", "ResourceQuota", ok)));
  auto c = Validate("", "ResourceQuota", R"({"metadata":{"name":"q"},"spec":{"hard":{
      "pods":"-1","widgets":"1"},"scopes":["BestEffort","NotBestEffort","Sometimes"]}})");
  EXPECT_TRUE(Reports(c, "spec.hard[pods]",
                      "Invalid value: \"-1\": must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(c, "spec.hard[widgets]",
                      "Invalid value: \"widgets\": must be a standard resource for quota"));
  EXPECT_TRUE(Reports(c, "spec.scopes",
                      "Invalid value: []core.ResourceQuotaScope{\"BestEffort\", "
                      "\"NotBestEffort\", \"Sometimes\"}: unsupported scope"));
  EXPECT_TRUE(Reports(c, "spec.scopes",
                      "Invalid value: []core.ResourceQuotaScope{\"BestEffort\", "
                      "\"NotBestEffort\", \"Sometimes\"}: conflicting scopes"));
  auto changed = Validate("", "ResourceQuota", R"({"metadata":{"name":"q"},"spec":{"hard":{
      "pods":"10"},"scopes":["BestEffort"]}})", ok);
  EXPECT_TRUE(
      Reports(changed, "spec.scopes",
              "Invalid value: []core.ResourceQuotaScope{\"BestEffort\"}: field is immutable"));
}

// --- Workloads ----------------------------------------------------------------------------------

std::string StatefulSet(std::string_view extra) {
  return R"({"metadata":{"name":"s"},"spec":{"serviceName":"s","selector":{"matchLabels":
    {"app":"s"}},"template":{"metadata":{"labels":{"app":"s"}},"spec":{"containers":[
    {"name":"c","image":"nginx"}]}})" + std::string(extra) + "}}";
}

TEST(ValidateWorkloadTest, StatefulSetSpecIsMostlyFixed) {
  std::string old = StatefulSet("");
  EXPECT_TRUE(Clean(Validate("apps", "StatefulSet", old)));
  EXPECT_TRUE(Clean(Validate("apps", "StatefulSet", StatefulSet(R"(,"replicas":3,
      "minReadySeconds":5,"updateStrategy":{"type":"OnDelete"})"), old)));
  auto c = Validate("apps", "StatefulSet", StatefulSet(R"(,"podManagementPolicy":"Parallel")"),
                    old);
  EXPECT_TRUE(Reports(c, "spec",
                      "Forbidden: updates to statefulset spec for fields other than 'replicas', "
                      "'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
                      "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                      "forbidden"));
  auto bad = Validate("apps", "StatefulSet", StatefulSet(R"(,"podManagementPolicy":"Random",
      "persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Keep"},"ordinals":{"start":-1})"));
  EXPECT_TRUE(Reports(bad, "spec.podManagementPolicy",
                      "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"));
  EXPECT_TRUE(Reports(bad, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
                      "Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\""));
  EXPECT_TRUE(Reports(bad, "spec.ordinals.start",
                      "Invalid value: -1: must be greater than or equal to 0"));
}

TEST(ValidateWorkloadTest, TemplatesOfControllersAlwaysRestart) {
  auto c = Validate("apps", "DaemonSet", R"({"metadata":{"name":"d"},"spec":{"selector":
      {"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{
      "restartPolicy":"Never","activeDeadlineSeconds":5,"containers":[
      {"name":"c","image":"nginx"}]}}}})");
  EXPECT_TRUE(Reports(c, "spec.template.spec.restartPolicy",
                      "Unsupported value: \"Never\": supported values: \"Always\""));
  EXPECT_TRUE(Reports(c, "spec.template.spec.activeDeadlineSeconds",
                      "Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"));
}

TEST(ValidateWorkloadTest, DeploymentStrategyAndDeadlines) {
  auto c = Validate("apps", "Deployment", R"({"metadata":{"name":"d"},"spec":{"selector":
      {"matchLabels":{"app":"d"}},"minReadySeconds":10,"progressDeadlineSeconds":5,
      "strategy":{"type":"RollingUpdate",
      "rollingUpdate":{"maxSurge":"ten","maxUnavailable":"150%"}},
      "template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[
      {"name":"c","image":"nginx"}]}}}})");
  EXPECT_TRUE(Reports(c, "spec.progressDeadlineSeconds",
                      "Invalid value: 5: must be greater than minReadySeconds"));
  EXPECT_TRUE(Reports(c, "spec.strategy.rollingUpdate.maxSurge",
                      "Invalid value: \"ten\": a valid percent string must be a numeric string "
                      "followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
                      "validation is '[0-9]+%')"));
  EXPECT_TRUE(Reports(c, "spec.strategy.rollingUpdate.maxUnavailable",
                      "Invalid value: \"150%\": must not be greater than 100%"));
}

TEST(ValidateWorkloadTest, ControllerRevisionDataIsFixed) {
  std::string old = R"({"metadata":{"name":"r"},"data":{"a":1},"revision":1})";
  EXPECT_TRUE(Clean(Validate("apps", "ControllerRevision", old)));
  auto c = Validate("apps", "ControllerRevision", R"({"metadata":{"name":"r"},"data":{"a":2},
      "revision":-1})", old);
  EXPECT_TRUE(Reports(c, "data", "Invalid value: {\"a\":2}: field is immutable"));
  EXPECT_TRUE(Reports(c, "revision", "Invalid value: -1: must be greater than or equal to 0"));
  auto none = Validate("apps", "ControllerRevision", R"({"metadata":{"name":"r"},"revision":1})");
  EXPECT_TRUE(Reports(none, "data", "Required value: data is mandatory"));
}

// --- Jobs and CronJobs --------------------------------------------------------------------------

std::string Job(std::string_view extra, std::string_view template_extra = "") {
  return R"({"metadata":{"name":"j","uid":"u1"},"spec":{"selector":{"matchLabels":
    {"batch.kubernetes.io/controller-uid":"u1"}},"template":{"metadata":{"labels":
    {"batch.kubernetes.io/controller-uid":"u1"}},"spec":{"restartPolicy":"Never",)" +
         std::string(template_extra) + R"("containers":[{"name":"c","image":"busybox"}]}})" +
         std::string(extra) + "}}";
}

TEST(ValidateJobTest, CountsModesAndRestartPolicy) {
  EXPECT_TRUE(Clean(Validate("batch", "Job", Job(R"(,"completions":3,"parallelism":2)"))));
  auto c = Validate("batch", "Job", Job(R"(,"parallelism":-1,"backoffLimit":-2,
      "activeDeadlineSeconds":-3,"completionMode":"Sometimes","podReplacementPolicy":"Never")"));
  EXPECT_TRUE(Reports(c, "spec.parallelism",
                      "Invalid value: -1: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(c, "spec.backoffLimit",
                      "Invalid value: -2: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(c, "spec.activeDeadlineSeconds",
                      "Invalid value: -3: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(c, "spec.completionMode",
                      "Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", "
                      "\"Indexed\""));
  EXPECT_TRUE(Reports(c, "spec.podReplacementPolicy",
                      "Unsupported value: \"Never\": supported values: \"Failed\", "
                      "\"TerminatingOrFailed\""));
  // (Without completions and parallelism both default to 1.)
  auto indexed = Validate("batch", "Job", Job(R"(,"completionMode":"Indexed","parallelism":2)"));
  EXPECT_TRUE(Reports(indexed, "spec.completions",
                      "Required value: when completion mode is Indexed"));
  // A pod template without a restart policy is defaulted to Always, which a Job refuses.
  auto always = Validate("batch", "Job", R"({"metadata":{"name":"j"},"spec":{"selector":
      {"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{
      "containers":[{"name":"c","image":"busybox"}]}}}})");
  EXPECT_TRUE(Reports(always, "spec.template.spec.restartPolicy",
                      "Required value: valid values: \"OnFailure\", \"Never\""));
}

TEST(ValidateJobTest, SelectorAndTemplateAreFixedUnlessSuspendedBeforeStart) {
  std::string old = Job("");
  auto c = Validate("batch", "Job", Job("", R"("nodeSelector":{"disk":"ssd"},)"), old);
  ASSERT_EQ(c.size(), 1u) << Print(c);
  EXPECT_EQ(c[0].first, "spec.template");
  EXPECT_TRUE(c[0].second.ends_with(": field is immutable")) << c[0].second;
  std::string suspended = Job(R"(,"suspend":true)");
  EXPECT_TRUE(Clean(Validate("batch", "Job",
                             Job(R"(,"suspend":true)", R"("nodeSelector":{"disk":"ssd"},)"),
                             suspended)));
  auto image = Validate("batch", "Job", Job(R"(,"suspend":true)", R"("hostname":"h",)"),
                        suspended);
  EXPECT_EQ(image.size(), 1u) << Print(image);
  auto sel = Validate("batch", "Job", R"({"metadata":{"name":"j","uid":"u1"},"spec":{
      "selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"u1","x":"y"}},
      "template":{"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"u1","x":"y"}},
      "spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}})", old);
  // The selector is printed as Go prints a v1.LabelSelector, as upstream's message has it.
  EXPECT_TRUE(Reports(sel, "spec.selector",
                      "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"
                      "\"batch.kubernetes.io/controller-uid\":\"u1\", \"x\":\"y\"}, "
                      "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"));
  auto exprs = Validate("batch", "Job", R"({"metadata":{"name":"j","uid":"u1"},"spec":{
      "selector":{"matchLabels":{},"matchExpressions":[{"key":"k","operator":"In",
      "values":["a","b"]},{"key":"e","operator":"Exists"}]},
      "template":{"metadata":{"labels":{"k":"a","e":""}},
      "spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}})", old);
  EXPECT_TRUE(Reports(exprs, "spec.selector",
                      "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, "
                      "MatchExpressions:[]v1.LabelSelectorRequirement{"
                      "v1.LabelSelectorRequirement{Key:\"k\", Operator:\"In\", "
                      "Values:[]string{\"a\", \"b\"}}, v1.LabelSelectorRequirement{"
                      "Key:\"e\", Operator:\"Exists\", Values:[]string(nil)}}}: "
                      "field is immutable"));
}

std::string CronJob(std::string_view schedule, std::string_view extra = "") {
  return R"({"metadata":{"name":"c"},"spec":{"schedule":")" + std::string(schedule) +
         R"(","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure",
         "containers":[{"name":"c","image":"busybox"}]}}}})" + std::string(extra) + "}}";
}

TEST(ValidateCronJobTest, SchedulesParseAsUpstreams) {
  for (const char* ok : {"*/5 * * * *", "0 0 1 jan,JUL mon-fri", "@hourly", "@every 1h30m",
                         "15 3 ? * SUN", "0-59/15 0,12 1-31 1-12 0-6"}) {
    EXPECT_TRUE(Clean(Validate("batch", "CronJob", CronJob(ok)))) << ok;
  }
  auto fields = Validate("batch", "CronJob", CronJob("* * *"));
  EXPECT_TRUE(Reports(fields, "spec.schedule",
                      "Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"));
  auto range = Validate("batch", "CronJob", CronJob("60 * * * *"));
  EXPECT_TRUE(Reports(range, "spec.schedule",
                      "Invalid value: \"60 * * * *\": end of range (60) above maximum (59): 60"));
  auto word = Validate("batch", "CronJob", CronJob("x * * * *"));
  EXPECT_TRUE(Reports(word, "spec.schedule",
                      "Invalid value: \"x * * * *\": failed to parse int from x: strconv.Atoi: "
                      "parsing \"x\": invalid syntax"));
  auto desc = Validate("batch", "CronJob", CronJob("@fortnightly"));
  EXPECT_TRUE(Reports(desc, "spec.schedule",
                      "Invalid value: \"@fortnightly\": unrecognized descriptor: @fortnightly"));
  auto tz = Validate("batch", "CronJob", CronJob("TZ=UTC 0 * * * *"));
  EXPECT_TRUE(Reports(tz, "spec.schedule",
                      "Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in "
                      "schedule, use timeZone field instead"));
  EXPECT_EQ(tz.size(), 1u) << Print(tz);  // the prefix itself parses
  // A schedule that already had one may keep it.
  EXPECT_TRUE(Clean(Validate("batch", "CronJob", CronJob("TZ=UTC 5 * * * *"),
                             CronJob("TZ=UTC 0 * * * *"))));
}

TEST(ValidateCronJobTest, PolicyNameLengthAndJobTemplate) {
  auto c = Validate("batch", "CronJob", CronJob("@daily", R"(,"concurrencyPolicy":"Sometimes",
      "startingDeadlineSeconds":-1,"timeZone":"Mars/Olympus")"));
  EXPECT_TRUE(Reports(c, "spec.concurrencyPolicy",
                      "Unsupported value: \"Sometimes\": supported values: \"Allow\", "
                      "\"Forbid\", \"Replace\""));
  EXPECT_TRUE(Reports(c, "spec.startingDeadlineSeconds",
                      "Invalid value: -1: must be greater than or equal to 0"));
  std::string name(53, 'c');
  std::string long_name = CronJob("@daily");
  long_name.replace(long_name.find("\"c\""), 3, "\"" + name + "\"");
  EXPECT_TRUE(Reports(Validate("batch", "CronJob", long_name), "metadata.name",
                      "Invalid value: \"" + name + "\": must be no more than 52 characters"));
  auto always = Validate("batch", "CronJob", R"({"metadata":{"name":"c"},"spec":{
      "schedule":"@daily","jobTemplate":{"spec":{"template":{"spec":{
      "containers":[{"name":"c","image":"busybox"}]}}}}}})");
  EXPECT_TRUE(Reports(always, "spec.jobTemplate.spec.template.spec.restartPolicy",
                      "Required value: valid values: \"OnFailure\", \"Never\""));
}

TEST(CronScheduleTest, ParsesFieldsIntoBits) {
  auto s = ParseCronSchedule("*/20 1,2 * * mon");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->minute, (1ull << 0) | (1ull << 20) | (1ull << 40));
  EXPECT_EQ(s->hour, (1ull << 1) | (1ull << 2));
  EXPECT_TRUE(s->any_day_of_month);
  EXPECT_EQ(s->day_of_week, 1ull << 1);
  EXPECT_EQ(ParseCronSchedule("@every 90s")->every_ns, 90'000'000'000);
  EXPECT_EQ(ParseCronSchedule("5-1 * * * *").status().message(),
            "beginning of range (5) beyond end of range (1): 5-1");
  EXPECT_EQ(ParseCronSchedule("*/0 * * * *").status().message(),
            "step of range should be a positive number: */0");
  EXPECT_EQ(ParseCronSchedule("1-2-3 * * * *").status().message(), "too many hyphens: 1-2-3");
  EXPECT_EQ(ParseCronSchedule("").status().message(), "empty spec string");
  EXPECT_EQ(ParseCronSchedule("@every x").status().message(),
            "failed to parse duration @every x: time: invalid duration \"x\"");
}

// --- Other groups -------------------------------------------------------------------------------

TEST(ValidateLeaseTest, DurationsAndTransitions) {
  EXPECT_TRUE(Clean(Validate("coordination.k8s.io", "Lease", R"({"metadata":{"name":"l"},
      "spec":{"holderIdentity":"a","leaseDurationSeconds":15,"leaseTransitions":0}})")));
  auto c = Validate("coordination.k8s.io", "Lease", R"({"metadata":{"name":"l"},
      "spec":{"leaseDurationSeconds":0,"leaseTransitions":-1,"preferredHolder":"b"}})");
  EXPECT_TRUE(Reports(c, "spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0"));
  EXPECT_TRUE(Reports(c, "spec.leaseTransitions",
                      "Invalid value: -1: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(c, "spec.preferredHolder",
                      "Forbidden: may only be specified if `strategy` is defined"));
}

TEST(ValidateEndpointSliceTest, AddressTypeAddressesAndPorts) {
  std::string ok = R"({"metadata":{"name":"e"},"addressType":"IPv4",
      "endpoints":[{"addresses":["10.1.1.1"]}],"ports":[{"name":"http","port":80}]})";
  EXPECT_TRUE(Clean(Validate("discovery.k8s.io", "EndpointSlice", ok)));
  auto c = Validate("discovery.k8s.io", "EndpointSlice", R"({"metadata":{"name":"e"},
      "addressType":"IPv4","endpoints":[{"addresses":["fe80::1"]},{"addresses":[]}],
      "ports":[{"name":"a","port":80},{"name":"a","port":81,"protocol":"ICMP"}]})");
  EXPECT_TRUE(Reports(c, "endpoints[0].addresses[0]",
                      "Invalid value: \"fe80::1\": must be a valid IPv4 address"));
  EXPECT_TRUE(Reports(c, "endpoints[1].addresses",
                      "Required value: must contain at least 1 address"));
  EXPECT_TRUE(Reports(c, "ports[1].name", "Duplicate value: \"a\""));
  EXPECT_TRUE(Reports(c, "ports[1].protocol",
                      "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
  auto type = Validate("discovery.k8s.io", "EndpointSlice", R"({"metadata":{"name":"e"},
      "addressType":"IPv6"})", ok);
  EXPECT_TRUE(Reports(type, "addressType", "Invalid value: \"IPv6\": field is immutable"));
  auto bad = Validate("discovery.k8s.io", "EndpointSlice", R"({"metadata":{"name":"e"},
      "addressType":"IPX"})");
  EXPECT_TRUE(Reports(bad, "addressType",
                      "Unsupported value: \"IPX\": supported values: \"FQDN\", \"IPv4\", "
                      "\"IPv6\""));
}

TEST(ValidatePodDisruptionBudgetTest, OneBudgetNonNegative) {
  EXPECT_TRUE(Clean(Validate("policy", "PodDisruptionBudget", R"({"metadata":{"name":"b"},
      "spec":{"minAvailable":"50%","selector":{"matchLabels":{"a":"b"}}}})")));
  auto both = Validate("policy", "PodDisruptionBudget", R"({"metadata":{"name":"b"},
      "spec":{"minAvailable":1,"maxUnavailable":-1}})");
  ASSERT_FALSE(both.empty());
  EXPECT_EQ(both[0].first, "spec");
  EXPECT_TRUE(both[0].second.ends_with(": minAvailable and maxUnavailable cannot be both set"));
  EXPECT_TRUE(Reports(both, "spec.maxUnavailable",
                      "Invalid value: -1: must be greater than or equal to 0"));
  auto pct = Validate("policy", "PodDisruptionBudget", R"({"metadata":{"name":"b"},
      "spec":{"maxUnavailable":"101%","selector":{"matchExpressions":[
      {"key":"a","operator":"In"}]}}})");
  EXPECT_TRUE(Reports(pct, "spec.maxUnavailable",
                      "Invalid value: \"101%\": must not be greater than 100%"));
  EXPECT_TRUE(Reports(pct, "spec.selector.matchExpressions[0].values",
                      "Required value: must be specified when `operator` is 'In' or 'NotIn'"));
}

TEST(ValidatePriorityClassTest, ValueRangeReservedNamesAndFixedValue) {
  std::string ok = R"({"metadata":{"name":"high"},"value":1000})";
  EXPECT_TRUE(Clean(Validate("scheduling.k8s.io", "PriorityClass", ok)));
  auto big = Validate("scheduling.k8s.io", "PriorityClass",
                      R"({"metadata":{"name":"high"},"value":1000000001})");
  EXPECT_TRUE(Reports(big, "value",
                      "Forbidden: maximum allowed value of a user defined priority is "
                      "1000000000"));
  auto sys = Validate("scheduling.k8s.io", "PriorityClass",
                      R"({"metadata":{"name":"system-high"},"value":1})");
  EXPECT_TRUE(Reports(sys, "metadata.name",
                      "Forbidden: priority class names with 'system-' prefix are reserved for "
                      "system use only. error: system-high is not a known system priority "
                      "class"));
  EXPECT_TRUE(Clean(Validate("scheduling.k8s.io", "PriorityClass",
                             R"({"metadata":{"name":"system-node-critical"},
                                 "value":2000001000})")));
  auto changed = Validate("scheduling.k8s.io", "PriorityClass",
                          R"({"metadata":{"name":"high"},"value":2000})", ok);
  EXPECT_TRUE(Reports(changed, "value", "Forbidden: may not be changed in an update."));
}

TEST(ValidateRbacTest, RulesNeedVerbsAndResources) {
  constexpr std::string_view g = "rbac.authorization.k8s.io";
  EXPECT_TRUE(Clean(Validate(g, "ClusterRole", R"({"metadata":{"name":"system:r"},"rules":[
      {"verbs":["get"],"apiGroups":[""],"resources":["pods"]},
      {"verbs":["get"],"nonResourceURLs":["/healthz"]}]})")));
  auto c = Validate(g, "Role", R"({"metadata":{"name":"r"},"rules":[{"apiGroups":[""]},
      {"verbs":["get"],"nonResourceURLs":["/x"]}]})");
  EXPECT_TRUE(
      Reports(c, "rules[0].verbs", "Required value: verbs must contain at least one value"));
  EXPECT_TRUE(Reports(c, "rules[0].resources",
                      "Required value: resource rules must supply at least one resource"));
  EXPECT_TRUE(Reports(c, "rules[1].nonResourceURLs",
                      "Invalid value: []string{\"/x\"}: namespaced rules cannot apply to "
                      "non-resource URLs"));
}

TEST(ValidateRbacTest, BindingsHaveFixedRoleRefsAndKnownSubjects) {
  constexpr std::string_view g = "rbac.authorization.k8s.io";
  std::string ok = R"({"metadata":{"name":"b"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",
      "kind":"Role","name":"r"},"subjects":[{"kind":"User","name":"alice"},
      {"kind":"ServiceAccount","name":"robot","namespace":"d"}]})";
  EXPECT_TRUE(Clean(Validate(g, "RoleBinding", ok)));
  auto changed = Validate(g, "RoleBinding", R"({"metadata":{"name":"b"},"roleRef":{
      "apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"}})", ok);
  EXPECT_TRUE(Reports(changed, "roleRef",
                      "Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", "
                      "Kind:\"ClusterRole\", Name:\"view\"}: cannot change roleRef"));
  auto crb = Validate(g, "ClusterRoleBinding", R"({"metadata":{"name":"b"},"roleRef":{
      "apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"},"subjects":[
      {"kind":"Robot","name":"x"},{"kind":"ServiceAccount","name":"sa"}]})");
  EXPECT_TRUE(Reports(crb, "roleRef.kind",
                      "Unsupported value: \"Role\": supported values: \"ClusterRole\""));
  EXPECT_TRUE(Reports(crb, "subjects[0].kind",
                      "Unsupported value: \"Robot\": supported values: \"ServiceAccount\", "
                      "\"User\", \"Group\""));
  EXPECT_TRUE(Reports(crb, "subjects[1].namespace", "Required value"));
}

// --- Rules added with affinity, security contexts, sizes and status validation -------------

TEST(ValidatePodTest, NodeAffinityTermsOperatorsAndWeights) {
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"affinity":{"nodeAffinity":{
      "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[
        {"key":"zone","operator":"In","values":["a"]},{"key":"gpu","operator":"Exists"},
        {"key":"cores","operator":"Gt","values":["4"]}],
        "matchFields":[{"key":"metadata.name","operator":"In","values":["n1"]}]}]},
      "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"preference":{
        "matchExpressions":[{"key":"zone","operator":"In",
                             "values":["not a label value!"]}]}}]}})"))));
  auto c = Validate("", "Pod", Pod(R"(,"affinity":{"nodeAffinity":{
      "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[
        {"key":"zone","operator":"Near","values":["a"]},{"key":"gpu","operator":"Exists",
         "values":["x"]},{"key":"cores","operator":"Lt","values":["1","2"]},
        {"key":"zone","operator":"NotIn"},{"key":"z","operator":"In","values":["bad value"]}],
        "matchFields":[{"key":"spec.nodeName","operator":"Exists"}]}]},
      "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":0,"preference":{}}]}})"));
  std::string t = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                  "nodeSelectorTerms[0]";
  EXPECT_TRUE(Reports(c, t + ".matchExpressions[0].operator",
                      "Invalid value: \"Near\": not a valid selector operator"));
  EXPECT_TRUE(Reports(c, t + ".matchExpressions[1].values",
                      "Forbidden: may not be specified when `operator` is 'Exists' or "
                      "'DoesNotExist'"));
  EXPECT_TRUE(Reports(c, t + ".matchExpressions[2].values",
                      "Required value: must be specified single value when `operator` is 'Lt' "
                      "or 'Gt'"));
  EXPECT_TRUE(Reports(c, t + ".matchExpressions[3].values",
                      "Required value: must be specified when `operator` is 'In' or 'NotIn'"));
  EXPECT_TRUE(Reports(c, t + ".matchExpressions[4].values[0]",
                      "Invalid value: \"bad value\": a valid label must be an empty string or "
                      "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                      "end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                      "'12345', regex used for validation is "
                      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
  EXPECT_TRUE(Reports(c, t + ".matchFields[0].operator",
                      "Invalid value: \"Exists\": not a valid selector operator"));
  EXPECT_TRUE(Reports(c, t + ".matchFields[0].key",
                      "Invalid value: \"spec.nodeName\": not a valid field selector key"));
  EXPECT_TRUE(Reports(c, "spec.affinity.nodeAffinity."
                         "preferredDuringSchedulingIgnoredDuringExecution[0].weight",
                      "Invalid value: 0: must be in the range 1-100"));
  auto empty = Validate("", "Pod", Pod(R"(,"affinity":{"nodeAffinity":{
      "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[]}}})"));
  EXPECT_TRUE(Reports(empty, "spec.affinity.nodeAffinity."
                             "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
                      "Required value: must have at least one node selector term"));
}

TEST(ValidatePodTest, PodAffinityTermsNeedATopologyKey) {
  std::string term = R"({"labelSelector":{"matchLabels":{"app":"a"}},"topologyKey":"zone"})";
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"affinity":{"podAffinity":{
      "requiredDuringSchedulingIgnoredDuringExecution":[)" + term + R"(]},"podAntiAffinity":{
      "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":5,"podAffinityTerm":)" +
                                                term + "}]}}"))));
  auto c = Validate("", "Pod", Pod(R"(,"affinity":{"podAffinity":{
      "requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"",
        "namespaces":["Bad_NS"]}]},"podAntiAffinity":{
      "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":101,"podAffinityTerm":
        {"topologyKey":"zone","labelSelector":{"matchExpressions":[{"key":"a",
         "operator":"Maybe"}]}}}]}})"));
  std::string req = "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]";
  EXPECT_TRUE(Reports(c, req + ".topologyKey", "Required value: can not be empty"));
  EXPECT_TRUE(Reports(c, req + ".namespace",
                      "Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must consist of "
                      "lower case alphanumeric characters or '-', and must start and end with "
                      "an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                      "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
  std::string pref =
      "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]";
  EXPECT_TRUE(Reports(c, pref + ".weight", "Invalid value: 101: must be in the range 1-100"));
  EXPECT_TRUE(Reports(c, pref + ".podAffinityTerm.labelSelector.matchExpressions[0].operator",
                      "Invalid value: \"Maybe\": not a valid selector operator"));
}

TEST(ValidatePodTest, TopologySpreadConstraints) {
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"topologySpreadConstraints":[
      {"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","minDomains":2},
      {"maxSkew":2,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway"}])"))));
  auto c = Validate("", "Pod", Pod(R"(,"topologySpreadConstraints":[
      {"maxSkew":0,"topologyKey":"","whenUnsatisfiable":"Sometimes"},
      {"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway","minDomains":0},
      {"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway",
       "nodeTaintsPolicy":"Always"}])"));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[0].maxSkew",
                      "Invalid value: 0: must be greater than zero"));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[0].topologyKey",
                      "Required value: can not be empty"));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[0].whenUnsatisfiable",
                      "Unsupported value: \"Sometimes\": supported values: \"DoNotSchedule\", "
                      "\"ScheduleAnyway\""));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}",
                      "Duplicate value: \"{zone, ScheduleAnyway}\""));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[1].minDomains",
                      "Invalid value: 0: must be greater than zero"));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[1].minDomains",
                      "Invalid value: 0: can only use minDomains if "
                      "whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"));
  EXPECT_TRUE(Reports(c, "spec.topologySpreadConstraints[2].nodeTaintsPolicy",
                      "Unsupported value: \"Always\": supported values: \"Honor\", \"Ignore\""));
}

TEST(ValidatePodTest, SecurityContexts) {
  EXPECT_TRUE(Clean(Validate(
      "", "Pod",
      Pod(R"(,"securityContext":{"runAsUser":1000,"fsGroup":2000,"supplementalGroups":[3],
          "seccompProfile":{"type":"Localhost","localhostProfile":"profiles/a.json"}})",
          R"(,"securityContext":{"privileged":true,"runAsGroup":0,
          "appArmorProfile":{"type":"RuntimeDefault"}})"))));
  auto c = Validate(
      "", "Pod",
      Pod(R"(,"hostPID":true,"securityContext":{"runAsUser":-1,"fsGroup":-2,
          "supplementalGroups":[-3],"shareProcessNamespace":true,
          "fsGroupChangePolicy":"Sometimes","seccompProfile":{"type":"Strict"},
          "appArmorProfile":{"type":"Localhost"}})",
          R"(,"securityContext":{"privileged":true,"allowPrivilegeEscalation":false,
          "runAsGroup":-1,"procMount":"Full","seccompProfile":{"type":"Localhost"}})"));
  const std::string range = "must be between 0 and 2147483647, inclusive";
  EXPECT_TRUE(Reports(c, "spec.securityContext.runAsUser", "Invalid value: -1: " + range));
  EXPECT_TRUE(Reports(c, "spec.securityContext.fsGroup", "Invalid value: -2: " + range));
  EXPECT_TRUE(
      Reports(c, "spec.securityContext.supplementalGroups[0]", "Invalid value: -3: " + range));
  EXPECT_TRUE(Reports(c, "spec.securityContext.shareProcessNamespace",
                      "Invalid value: true: ShareProcessNamespace and HostPID cannot both be "
                      "enabled"));
  EXPECT_TRUE(Reports(c, "spec.securityContext.fsGroupChangePolicy",
                      "Unsupported value: \"Sometimes\": supported values: \"OnRootMismatch\", "
                      "\"Always\""));
  EXPECT_TRUE(Reports(c, "spec.securityContext.seccompProfile.type",
                      "Unsupported value: \"Strict\": supported values: \"Localhost\", "
                      "\"RuntimeDefault\", \"Unconfined\""));
  EXPECT_TRUE(Reports(c, "spec.securityContext.appArmorProfile.localhostProfile",
                      "Required value: must be set when AppArmor type is Localhost"));
  std::string sc = "spec.containers[0].securityContext";
  EXPECT_TRUE(Reports(c, sc + ".runAsGroup", "Invalid value: -1: " + range));
  EXPECT_TRUE(Reports(c, sc + ".procMount",
                      "Unsupported value: \"Full\": supported values: \"Default\", "
                      "\"Unmasked\""));
  EXPECT_TRUE(Reports(c, sc + ".seccompProfile.localhostProfile",
                      "Required value: must be set when seccomp type is Localhost"));
  EXPECT_TRUE(Reports(c, sc,
                      "Invalid value: {\"privileged\":true,\"allowPrivilegeEscalation\":false,"
                      "\"runAsGroup\":-1,\"procMount\":\"Full\",\"seccompProfile\":{\"type\":"
                      "\"Localhost\"}}: cannot set `allowPrivilegeEscalation` to false and "
                      "`privileged` to true"));
}

TEST(ValidatePodTest, LifecycleHooksNeedExactlyOneHandler) {
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod("", R"(,"lifecycle":{
      "postStart":{"exec":{"command":["true"]}},"preStop":{"sleep":{"seconds":5}}})"))));
  auto c = Validate("", "Pod", Pod("", R"(,"lifecycle":{"postStart":{},
      "preStop":{"exec":{"command":["x"]},"httpGet":{"port":80}}})"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].lifecycle.postStart",
                      "Required value: must specify a handler type"));
  EXPECT_TRUE(Reports(c, "spec.containers[0].lifecycle.preStop.httpGet",
                      "Forbidden: may not specify more than 1 handler type"));
  auto sleep = Validate("", "Pod", Pod(R"(,"terminationGracePeriodSeconds":10)",
                                       R"(,"lifecycle":{"preStop":{"sleep":{"seconds":30}}})"));
  EXPECT_TRUE(Reports(sleep, "spec.containers[0].lifecycle.preStop.sleep.seconds",
                      "Invalid value: 30: must be non-negative and less than "
                      "terminationGracePeriodSeconds (10)"));
}

TEST(ValidatePodTest, ProjectedSourcesAndItemPaths) {
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"volumes":[{"name":"p","projected":{"sources":[
      {"serviceAccountToken":{"path":"token","expirationSeconds":3600}},
      {"configMap":{"name":"cm","items":[{"key":"a","path":"a"}]}}]}}])"))));
  auto c = Validate("", "Pod", Pod(R"(,"volumes":[{"name":"p","projected":{"sources":[
      {"serviceAccountToken":{"path":"../token","expirationSeconds":60},
       "secret":{"name":"s"}},
      {"configMap":{"name":"cm","items":[{"key":"a","path":"/abs","mode":1024}]}},
      {"secret":{"name":"s2","items":[{"key":"b","path":"/abs"}]}}]}},
      {"name":"s","secret":{"secretName":"s","items":[{"key":"","path":"x/../y"}]}}])"));
  std::string p = "spec.volumes[0].projected";
  EXPECT_TRUE(Reports(c, p + ".sources[0].serviceAccountToken.expirationSeconds",
                      "Invalid value: 60: may not specify a duration less than 10 minutes"));
  EXPECT_TRUE(Reports(c, p + ".path", "Invalid value: \"../token\": must not contain '..'"));
  EXPECT_TRUE(Reports(c, p + ".sources[0]",
                      "Forbidden: may not specify more than 1 volume type per source"));
  EXPECT_TRUE(Reports(c, p + ".sources[1].configMap.items[0].path",
                      "Invalid value: \"/abs\": must be a relative path"));
  EXPECT_TRUE(Reports(c, p + ".sources[1].configMap.items[0].mode",
                      "Invalid value: 1024: must be a number between 0 and 0777 (octal), both "
                      "inclusive"));
  EXPECT_TRUE(Reports(c, p, "Invalid value: \"s2\": conflicting duplicate paths"));
  EXPECT_TRUE(Reports(c, "spec.volumes[1].secret.items[0].key", "Required value"));
  EXPECT_TRUE(Reports(c, "spec.volumes[1].secret.items[0].path",
                      "Invalid value: \"x/../y\": must not contain '..'"));
}

TEST(ValidatePodTest, DNSHostAliasesGatesOSAndPriorityClass) {
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"dnsPolicy":"None","dnsConfig":{
      "nameservers":["1.1.1.1"],"searches":["svc.cluster.local","."],"options":[{"name":"ndots"}]},
      "hostAliases":[{"ip":"10.0.0.1","hostnames":["db.local"]}],"os":{"name":"linux"},
      "readinessGates":[{"conditionType":"example.com/ready"}],
      "schedulingGates":[{"name":"example.com/wait"}],"priorityClassName":"high")"))));
  auto none = Validate("", "Pod", Pod(R"(,"dnsPolicy":"None","dnsConfig":{})"));
  EXPECT_TRUE(Reports(none, "spec.dnsConfig.nameservers",
                      "Required value: must provide at least one DNS nameserver when "
                      "`dnsPolicy` is None"));
  auto c = Validate("", "Pod", Pod(R"(,"dnsConfig":{
      "nameservers":["1.1.1.1","1.1.1.2","1.1.1.3","dns.local"],"searches":["-bad"],
      "options":[{"value":"1"}]},
      "hostAliases":[{"ip":"not-an-ip","hostnames":["Bad_Host"]}],"os":{"name":"plan9"},
      "readinessGates":[{"conditionType":"bad gate"}],
      "schedulingGates":[{"name":"g"},{"name":"g"}],"priorityClassName":"High")"));
  EXPECT_TRUE(Reports(c, "spec.dnsConfig.nameservers",
                      "Invalid value: [\"1.1.1.1\",\"1.1.1.2\",\"1.1.1.3\",\"dns.local\"]: must "
                      "not have more than 3 nameservers"));
  const std::string ip_msg = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
  EXPECT_TRUE(Reports(c, "spec.dnsConfig.nameservers[3]",
                      "Invalid value: \"dns.local\": " + ip_msg));
  EXPECT_TRUE(Reports(c, "spec.dnsConfig.options[0]", "Required value: must not be empty"));
  EXPECT_TRUE(Reports(c, "spec.hostAliases[0].ip", "Invalid value: \"not-an-ip\": " + ip_msg));
  EXPECT_TRUE(Reports(c, "spec.os",
                      "Unsupported value: \"plan9\": supported values: \"linux\", \"windows\""));
  EXPECT_TRUE(Reports(c, "spec.schedulingGates[1]", "Duplicate value: \"g\""));
  bool gate = false, host = false, pcn = false, search = false;
  for (const auto& [f, m] : c) {
    gate = gate || f == "spec.readinessGates[0].conditionType";
    host = host || f == "spec.hostAliases[0].hostnames[0]";
    pcn = pcn || f == "spec.priorityClassName";
    search = search || f == "spec.dnsConfig.searches[0]";
  }
  EXPECT_TRUE(gate && host && pcn && search) << Print(c);
}

TEST(ValidatePodTest, EphemeralContainersAndSchedulingGatesOnUpdate) {
  auto c = Validate("", "Pod", Pod(R"(,"ephemeralContainers":[{"name":"dbg","image":"busybox"}])"));
  EXPECT_TRUE(Reports(c, "spec.ephemeralContainers", "Forbidden: cannot be set on create"));
  auto t = Validate("apps", "Deployment", R"({"metadata":{"name":"d","namespace":"n"},"spec":{
      "selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},
      "spec":{"containers":[{"name":"c","image":"i"}],
              "ephemeralContainers":[{"name":"dbg","image":"busybox"}]}}}})");
  EXPECT_TRUE(Reports(t, "spec.template.spec.ephemeralContainers",
                      "Forbidden: ephemeral containers not allowed in pod template"));
  std::string gated = Pod(R"(,"schedulingGates":[{"name":"a"},{"name":"b"}])");
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(R"(,"schedulingGates":[{"name":"b"}])"), gated)));
  EXPECT_TRUE(Clean(Validate("", "Pod", Pod(""), gated)));
  auto added = Validate("", "Pod", Pod(R"(,"schedulingGates":[{"name":"a"},{"name":"c"}])"),
                        gated);
  EXPECT_TRUE(Reports(added, "spec.schedulingGates[1].name",
                      "Forbidden: only deletion is allowed, but found new scheduling gate 'c'"));
}

TEST(ValidateMetadataTest, OwnerReferencesGenerateNameAndIdentity) {
  std::string ok_refs = R"({"metadata":{"name":"cm","namespace":"d","ownerReferences":[
      {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"u1","controller":true},
      {"apiVersion":"v1","kind":"Pod","name":"p","uid":"u2"}]}})";
  EXPECT_TRUE(Clean(Validate("", "ConfigMap", ok_refs)));
  auto c = Validate("", "ConfigMap", R"({"metadata":{"name":"cm","namespace":"d",
      "ownerReferences":[
      {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"u1","controller":true},
      {"apiVersion":"","kind":"","name":"","uid":""},
      {"apiVersion":"v1","kind":"Event","name":"e","uid":"u3"},
      {"apiVersion":"apps/v1","kind":"Deployment","name":"d","uid":"u4","controller":true}]}})");
  EXPECT_TRUE(Reports(c, "metadata.ownerReferences.apiVersion",
                      "Invalid value: \"\": version must not be empty"));
  for (const char* f : {"kind", "name", "uid"}) {
    EXPECT_TRUE(Reports(c, std::string("metadata.ownerReferences.") + f,
                        "Invalid value: \"\": must not be empty"));
  }
  EXPECT_TRUE(Reports(c, "metadata.ownerReferences",
                      "Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\","
                      "\"uid\":\"u3\"}: /v1, Kind=Event is disallowed from being an owner"));
  bool controllers = false;
  for (const auto& [f, m] : c) {
    controllers = controllers ||
                  (f == "metadata.ownerReferences" &&
                   m.ends_with(": Only one reference can have Controller set to true. Found "
                               "\"true\" in references for ReplicaSet/rs and Deployment/d"));
  }
  EXPECT_TRUE(controllers) << Print(c);
  const api::ResourceInfo& cm = Resource("", "ConfigMap");
  EXPECT_TRUE(ValidateGenerateName(cm, "web-").empty());
  auto gn = ValidateGenerateName(cm, "Web_");
  ASSERT_FALSE(gn.empty());
  EXPECT_EQ(gn[0].first, "metadata.generateName");
  EXPECT_TRUE(gn[0].second.starts_with("Invalid value: \"Web_\": a lowercase RFC 1123 subdomain"))
      << gn[0].second;
  auto uid = Validate("", "ConfigMap", R"({"metadata":{"name":"cm","namespace":"d","uid":"b"}})",
                      R"({"metadata":{"name":"cm","namespace":"d","uid":"a"}})");
  EXPECT_TRUE(Reports(uid, "metadata.uid", "Invalid value: \"b\": field is immutable"));
  auto ns = Validate("", "ConfigMap", R"({"metadata":{"name":"cm","namespace":"e"}})",
                     R"({"metadata":{"name":"cm","namespace":"d"}})");
  EXPECT_TRUE(Reports(ns, "metadata.namespace", "Invalid value: \"e\": field is immutable"));
}

TEST(ValidateConfigMapTest, TotalSizeIsAtMostOneMebibyte) {
  std::string half(512 * 1024, 'a');
  std::string at_limit = R"({"metadata":{"name":"cm"},"data":{"a":")" + half + R"(","b":")" +
                         half + R"("}})";
  EXPECT_TRUE(Clean(Validate("", "ConfigMap", at_limit)));
  // binaryData counts decoded bytes: 4 base64 characters are 3 bytes.
  auto over = Validate("", "ConfigMap",
                       R"({"metadata":{"name":"cm"},"data":{"a":")" + half + R"(","b":")" +
                           half + R"("},"binaryData":{"c":"AA=="}})");
  EXPECT_TRUE(Reports(over, "[]", "Too long: may not be more than 1048576 bytes"));
  std::string b64(1398104, 'A');  // 1048578 bytes once decoded
  auto secret = Validate("", "Secret", R"({"metadata":{"name":"s"},"data":{"a":")" + b64 +
                                           R"("}})");
  EXPECT_TRUE(Reports(secret, "data", "Too long: may not be more than 1048576 bytes"));
  std::string b64_ok(1398100, 'A');  // 1048575 bytes
  EXPECT_TRUE(Clean(Validate("", "Secret", R"({"metadata":{"name":"s"},"data":{"a":")" +
                                               b64_ok + R"("}})")));
}

TEST(ValidateServiceTest, DuplicatePortsNodePortsSourceRangesAndExternalIPs) {
  auto c = Validate("", "Service", R"({"metadata":{"name":"s","namespace":"d"},"spec":{
      "type":"NodePort","ports":[{"name":"a","port":80,"nodePort":30080},
      {"name":"b","port":80,"nodePort":30080},{"name":"c","port":80,"protocol":"UDP"}],
      "loadBalancerSourceRanges":["10.0.0.0/8","10.0.0.1"],
      "externalIPs":["127.0.0.1"]}})");
  EXPECT_TRUE(Reports(c, "spec.ports[1]",
                      "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
                      "AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, "
                      "IntVal:0, StrVal:\"\"}, NodePort:0}"));
  EXPECT_TRUE(Reports(c, "spec.ports[1].nodePort", "Duplicate value: 30080"));
  EXPECT_TRUE(Reports(c, "spec.LoadBalancerSourceRanges",
                      "Forbidden: may only be used when `type` is 'LoadBalancer'"));
  EXPECT_TRUE(Reports(c, "spec.LoadBalancerSourceRanges[1]",
                      "Invalid value: \"10.0.0.1\": must be a valid CIDR value, (e.g. "
                      "10.9.8.0/24 or 2001:db8::/64)"));
  EXPECT_TRUE(Reports(c, "spec.externalIPs[0]",
                      "Invalid value: \"127.0.0.1\": may not be in the loopback range "
                      "(127.0.0.0/8, ::1/128)"));
  for (const auto& [f, m] : c) EXPECT_NE(f, "spec.ports[2]") << m;
  EXPECT_TRUE(Clean(Validate("", "Service", R"({"metadata":{"name":"s","namespace":"d"},"spec":{
      "type":"LoadBalancer","ports":[{"name":"a","port":80},{"name":"b","port":80,
      "protocol":"UDP"}],"loadBalancerSourceRanges":[" 10.0.0.0/8 "]}})")));
}

TEST(ValidateResourceQuotaTest, ScopesFitTheirResourcesAndCountsAreWhole) {
  EXPECT_TRUE(Clean(Validate("", "ResourceQuota", R"({"metadata":{"name":"q"},"spec":{"hard":{
      "pods":"10","count/deployments.apps":"3","example.com/gpu":"2","cpu":"1500m"},
      "scopes":["Terminating"]}})")));
  auto c = Validate("", "ResourceQuota", R"({"metadata":{"name":"q"},"spec":{"hard":{
      "pods":"1500m","count/deployments.apps":"2.5","services":"1"},
      "scopes":["BestEffort"]}})");
  EXPECT_TRUE(Reports(c, "spec.hard[pods]", "Invalid value: \"1500m\": must be an integer"));
  EXPECT_TRUE(Reports(c, "spec.hard[count/deployments.apps]",
                      "Invalid value: \"2500m\": must be an integer"));
  EXPECT_TRUE(Reports(c, "spec.scopes",
                      "Invalid value: []core.ResourceQuotaScope{\"BestEffort\"}: unsupported "
                      "scope applied to resource"));
}

// --- Status subresource ---------------------------------------------------------------------

Causes ValidateStatus(std::string_view group, std::string_view kind, std::string_view text,
                      std::string_view old_text) {
  const api::ResourceInfo& r = Resource(group, kind);
  json::object obj = json::parse(text).as_object();
  json::object old = json::parse(old_text).as_object();
  return StatusStrategy(StrategyOf(r)).ValidateUpdate(obj, old);
}

TEST(ValidateStatusTest, WorkloadCountsAreNonNegativeAndConsistent) {
  std::string old = R"({"metadata":{"name":"d","namespace":"n"},"status":{"replicas":1}})";
  EXPECT_TRUE(Clean(ValidateStatus("apps", "Deployment", R"({"metadata":{"name":"d",
      "namespace":"n"},"status":{"replicas":3,"readyReplicas":2,"availableReplicas":2,
      "updatedReplicas":3}})", old)));
  auto d = ValidateStatus("apps", "Deployment", R"({"metadata":{"name":"d","namespace":"n"},
      "status":{"replicas":-1,"readyReplicas":2,"availableReplicas":3}})", old);
  EXPECT_TRUE(Reports(d, "status.replicas",
                      "Invalid value: -1: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(d, "status.readyReplicas",
                      "Invalid value: 2: cannot be greater than status.replicas"));
  EXPECT_TRUE(Reports(d, "status.availableReplicas",
                      "Invalid value: 3: cannot be greater than readyReplicas"));
  auto rs = ValidateStatus("apps", "ReplicaSet", R"({"metadata":{"name":"r","namespace":"n"},
      "status":{"replicas":1,"fullyLabeledReplicas":2}})", old);
  EXPECT_TRUE(Reports(rs, "status.fullyLabeledReplicas",
                      "Invalid value: 2: cannot be greater than status.replicas"));
  auto sts = ValidateStatus("apps", "StatefulSet", R"({"metadata":{"name":"s","namespace":"n"},
      "status":{"replicas":2,"currentReplicas":-1}})", old);
  EXPECT_TRUE(Reports(sts, "status.currentReplicas",
                      "Invalid value: -1: must be greater than or equal to 0"));
  auto ds = ValidateStatus("apps", "DaemonSet", R"({"metadata":{"name":"s","namespace":"n"},
      "status":{"numberReady":-2}})", old);
  EXPECT_TRUE(Reports(ds, "status.numberReady",
                      "Invalid value: -2: must be greater than or equal to 0"));
  auto job = ValidateStatus("batch", "Job", R"({"metadata":{"name":"j","namespace":"n"},
      "status":{"active":-1,"uncountedTerminatedPods":{"succeeded":["a","a"]}}})", old);
  EXPECT_TRUE(Reports(job, "status.active",
                      "Invalid value: -1: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(job, "status.uncountedTerminatedPods.succeeded[1]",
                      "Duplicate value: \"a\""));
  // Objects whose spec predates a rule still take status updates: the spec is not checked.
  EXPECT_TRUE(Clean(ValidateStatus("apps", "Deployment", R"({"metadata":{"name":"d",
      "namespace":"n"},"spec":{"replicas":-5},"status":{"replicas":0}})", old)));
}

TEST(ValidateStatusTest, ConditionsAddressesAndIdentity) {
  std::string old = R"({"metadata":{"name":"x","namespace":"n","uid":"u"}})";
  EXPECT_TRUE(Clean(ValidateStatus("policy", "PodDisruptionBudget", R"({"metadata":{"name":"x",
      "namespace":"n","uid":"u"},"status":{"currentHealthy":1,"conditions":[{"type":
      "DisruptionAllowed","status":"True","reason":"SufficientPods",
      "lastTransitionTime":"2025-01-01T00:00:00Z"}]}})", old)));
  auto pdb = ValidateStatus("policy", "PodDisruptionBudget", R"({"metadata":{"name":"x",
      "namespace":"n"},"status":{"disruptionsAllowed":-1,"conditions":[{"type":"A",
      "status":"Maybe","reason":"1bad"},{"type":"A","status":"True","reason":"R",
      "lastTransitionTime":"2025-01-01T00:00:00Z"}]}})", old);
  EXPECT_TRUE(Reports(pdb, "status.disruptionsAllowed",
                      "Invalid value: -1: must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(pdb, "status.conditions[0].status",
                      "Unsupported value: \"Maybe\": supported values: \"False\", \"True\", "
                      "\"Unknown\""));
  EXPECT_TRUE(Reports(pdb, "status.conditions[0].lastTransitionTime",
                      "Required value: must be set"));
  EXPECT_TRUE(Reports(pdb, "status.conditions[1].type", "Duplicate value: \"A\""));
  bool reason = false;
  for (const auto& [f, m] : pdb) reason = reason || f == "status.conditions[0].reason";
  EXPECT_TRUE(reason) << Print(pdb);
  auto node = ValidateStatus("", "Node", R"({"metadata":{"name":"x"},"status":{
      "capacity":{"cpu":"-1"},"addresses":[{"type":"InternalIP","address":"10.0.0.1"},
      {"type":"InternalIP","address":"10.0.0.1"}]}})", R"({"metadata":{"name":"x"}})");
  EXPECT_TRUE(Reports(node, "status.capacity.cpu",
                      "Invalid value: \"-1\": must be greater than or equal to 0"));
  EXPECT_TRUE(Reports(node, "status.addresses[1]",
                      "Duplicate value: core.NodeAddress{Type:\"InternalIP\", "
                      "Address:\"10.0.0.1\"}"));
  auto pod = ValidateStatus("", "Pod", R"({"metadata":{"name":"x","namespace":"n"},"status":{
      "phase":"Running","podIPs":[{"ip":"10.1.0.1"},{"ip":"nope"}],
      "nominatedNodeName":"Bad_Node"}})", old);
  EXPECT_TRUE(Reports(pod, "status.podIPs[1].ip",
                      "Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or "
                      "2001:db8::ffff)"));
  bool nominated = false;
  for (const auto& [f, m] : pod) nominated = nominated || f == "status.nominatedNodeName";
  EXPECT_TRUE(nominated) << Print(pod);
  auto quota = ValidateStatus("", "ResourceQuota", R"({"metadata":{"name":"x","namespace":"n"},
      "status":{"used":{"pods":"-1"}}})", old);
  EXPECT_TRUE(Reports(quota, "status.used[pods]",
                      "Invalid value: \"-1\": must be greater than or equal to 0"));
  auto renamed = ValidateStatus("", "Pod", R"({"metadata":{"name":"y","namespace":"n"}})", old);
  EXPECT_TRUE(Reports(renamed, "metadata.name", "Invalid value: \"y\": field is immutable"));
}

}  // namespace
}  // namespace keelson::apiserver
