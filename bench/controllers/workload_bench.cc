// How fast the workload controllers create pods through the API server, in one process: an
// in-process API server on an embedded store (the controllers' test control plane), the
// ReplicaSet controller (and the Deployment controller with --deployment) on their own
// client, one object of N replicas. Prints the time until the owner's status counts N pods,
// pods/s, and the process's CPU time (server, store and controllers together).
//
//   build/bench/workload_bench [replicas] [--deployment]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "controllers/base/workload_util.h"
#include "controllers/deployment/deployment_controller.h"
#include "controllers/replicaset/replica_set_controller.h"
#include "controllers/testing/workload_fixture.h"

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace keelson;
  using namespace keelson::controllers;
  int replicas = 10000;
  bool deployment = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--deployment") == 0) {
      deployment = true;
    } else {
      replicas = std::atoi(argv[i]);
    }
  }
  controllers::testing::ControlPlane api;
  auto client = api.NewClient();
  std::vector<ControllerFactory> factories{NewReplicaSetController};
  if (deployment) factories.push_back(NewDeploymentController);
  controllers::testing::ControllerRunner runner(client.get(), factories);
  if (!runner.ok()) return 1;

  std::string kind = deployment ? "Deployment" : "ReplicaSet";
  std::string manifest = "apiVersion: apps/v1\nkind: " + kind +
                         "\nmetadata: {name: bench}\nspec:\n  replicas: " + std::to_string(replicas) +
                         "\n  selector: {matchLabels: {app: bench}}\n  template:\n"
                         "    metadata: {labels: {app: bench}}\n"
                         "    spec: {containers: [{name: c, image: nginx}]}\n";
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  api.Create("apps", deployment ? "deployments" : "replicasets", "default", manifest);
  auto rss = api.Resource("apps", "replicasets", "default");
  int64_t seen = 0;
  double first_half = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto list = rss.List();
    if (!list.ok()) continue;
    seen = 0;
    for (const auto& rs : list->at("items").as_array()) {
      seen += IntAt(rs.as_object(), {"status", "replicas"});
    }
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (first_half == 0 && seen >= replicas / 2) first_half = elapsed;
    if (seen >= replicas || elapsed > 300) break;
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  std::printf("%s of %d replicas: %lld pods counted in %.2f s (half in %.2f s): %.0f pods/s; "
              "process CPU %.2f s (%.0f us per pod)\n",
              kind.c_str(), replicas, static_cast<long long>(seen), elapsed, first_half,
              seen / elapsed, cpu, cpu / std::max<int64_t>(seen, 1) * 1e6);
  std::fflush(stdout);
  return seen >= replicas ? 0 : 1;
}
