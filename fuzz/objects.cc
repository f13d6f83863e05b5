#include "fuzz/objects.h"

#include <boost/json.hpp>

namespace keelson::fuzz {

const std::vector<Object>& Objects() {
  static const auto* objects = new std::vector<Object>{
      {"apps/v1", "Deployment", boost::json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"d","namespace":"default","labels":{"a":"b"},"annotations":{"x":"y"}},
        "spec":{"replicas":2,"selector":{"matchLabels":{"a":"b"}},"strategy":{"type":
        "RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":1}},"template":
        {"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx",
        "ports":[{"containerPort":80,"protocol":"TCP"}],"resources":{"limits":{"cpu":"1",
        "memory":"1Gi"}},"env":[{"name":"A","value":"1"}],"args":["x","y"]}],"volumes":
        [{"name":"v","emptyDir":{}}],"tolerations":[{"key":"k","operator":"Exists"}]}}}})")},
      {"v1", "Pod", boost::json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p",
        "namespace":"default","labels":{"app":"web"},"finalizers":["a/b"]},"spec":{"containers":
        [{"name":"c","image":"busybox","command":["sleep","3600"],"volumeMounts":[{"name":"v",
        "mountPath":"/v"}]},{"name":"d","image":"nginx"}],"volumes":[{"name":"v","configMap":
        {"name":"cm"}}],"nodeSelector":{"disk":"ssd"},"affinity":{"nodeAffinity":
        {"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{
        "matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}]}}}},
        "status":{"phase":"Pending"}})")},
      {"v1", "Service", boost::json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":
        {"name":"s","namespace":"default"},"spec":{"type":"NodePort","selector":{"app":"web"},
        "ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP","nodePort":30080},
        {"name":"dns","port":53,"protocol":"UDP"}]}})")},
      {"v1", "ConfigMap", boost::json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":
        {"name":"cm","namespace":"default","labels":{"a":"b"}},"data":{"k":"v","big":"x"}})")},
  };
  return *objects;
}

}  // namespace keelson::fuzz
