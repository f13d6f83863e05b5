// The scheduler core's own throughput on synthetic clusters, in-process (no API server): the
// shapes of upstream's scheduler_perf (SchedulingBasic, TopologySpreading, PodAntiAffinity,
// PodAffinity, Preemption) at 5,000 nodes. Bindings go to a client that answers at once and
// feeds the bound pod back as the informer would, so the cache confirms assumed pods as in a
// real cluster. Prints pods/s per shape.
//
//   scheduler_bench [shape...] [--nodes N] [--parallelism P] [--measure N]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "scheduler/scheduler.h"
#include "scheduler/testing/fakes.h"

using namespace keelson;
using namespace keelson::scheduler;
using testing::NodeBuilder;
using testing::PodBuilder;

namespace {

struct Shape {
  std::string name;
  int nodes = 5000;
  int init_pods = 1000;
  int measure_pods = 10000;
  std::function<NodeBuilder(int)> node;
  std::function<PodBuilder(int, bool measured)> pod;
  // Every `interleave_every` measured pods, one more pod from `interleaved` (not measured).
  int interleave_every = 0;
  std::function<PodBuilder(int)> interleaved;
  std::vector<std::pair<ResourceKind, std::string>> objects;  // added first (JSON)
};

PodBuilder DefaultPod(const std::string& name, const std::string& ns = "default") {
  PodBuilder p(name, ns);
  p.Req("100m", "500Mi").Image("registry.k8s.io/pause:3.10");
  return p;
}

// The informer: bound pods come back as updates.
class LoopbackClient final : public SchedulerClient {
 public:
  Scheduler* sched = nullptr;
  std::mutex mu;
  std::map<std::string, ObjectPtr> pods;
  std::atomic<int> bound{0};     // pods whose name starts with "pod-" (the measured ones)
  std::atomic<int> bound_all{0};
  std::atomic<int> deleted{0};

  Status Bind(const PodRef& ref, std::string_view node) override {
    ObjectPtr old_obj;
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = pods.find(ref.uid);
      if (it == pods.end()) return NotFoundError("pod");
      old_obj = it->second;
    }
    auto now = std::make_shared<api::Object>(*old_obj);
    (*now)["spec"].as_object()["nodeName"] = std::string(node);
    {
      std::lock_guard<std::mutex> l(mu);
      pods[ref.uid] = now;
    }
    sched->OnEvent(ResourceKind::kPod, old_obj, now);
    ++bound_all;
    if (api::GetName(*now).starts_with("pod-")) ++bound;
    return Status::Ok();
  }
  Status PatchPodStatus(const PodRef&, const PodStatusPatch&) override { return Status::Ok(); }
  Status DeletePod(const PodRef& ref) override {
    ObjectPtr old_obj;
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = pods.find(ref.uid);
      if (it == pods.end()) return NotFoundError("pod");
      old_obj = it->second;
      pods.erase(it);
    }
    sched->OnEvent(ResourceKind::kPod, old_obj, nullptr);
    ++deleted;
    return Status::Ok();
  }
  void RecordEvent(Event e) override {
    if (e.reason != "FailedScheduling") return;
    std::lock_guard<std::mutex> l(mu);
    if (first_failure.empty()) first_failure = e.regarding.name + ": " + e.message;
  }
  std::string first_failure;
};

int timeout_seconds = 120;

// CPU time of the whole process (every thread): a figure that other load on the machine
// disturbs less than wall time.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void Run(const Shape& shape, int parallelism) {
  LoopbackClient client;
  SchedulerOptions o;
  o.api_threads = 2;
  o.parallelism = parallelism;
  auto s = Scheduler::Create(DefaultConfiguration(), &client, o);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    return;
  }
  Scheduler& sched = **s;
  client.sched = &sched;
  for (const auto& [kind, text] : shape.objects) {
    sched.OnEvent(kind, nullptr, std::make_shared<const api::Object>(boost::json::parse(text).as_object()));
  }
  for (int i = 0; i < shape.nodes; ++i) {
    sched.OnEvent(ResourceKind::kNode, nullptr, shape.node(i).Obj());
  }
  // The initial pods, scheduled like the measured ones but not timed.
  auto add = [&](int i, bool measured) {
    ObjectPtr o = shape.pod(i, measured).Obj();
    {
      std::lock_guard<std::mutex> l(client.mu);
      client.pods[std::string(api::GetUid(*o))] = o;
    }
    sched.OnEvent(ResourceKind::kPod, nullptr, o);
  };
  for (int i = 0; i < shape.init_pods; ++i) add(i, false);
  while (sched.ScheduleOne()) {
  }
  sched.WaitForApiCalls();
  int before = client.bound.load();

  std::vector<ObjectPtr> measured;
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  auto add_other = [&](int i) {
    ObjectPtr o = shape.interleaved(i).Obj();
    {
      std::lock_guard<std::mutex> l(client.mu);
      client.pods[std::string(api::GetUid(*o))] = o;
    }
    sched.OnEvent(ResourceKind::kPod, nullptr, o);
  };
  for (int i = 0; i < shape.measure_pods; ++i) {
    if (shape.interleave_every > 0 && i % shape.interleave_every == 0) add_other(i);
    add(i, true);
  }
  auto t1 = std::chrono::steady_clock::now();
  int attempts = 0;
  // The scheduling cycle of each attempt (ScheduleOne: pop, filter, score, assume, reserve,
  // permit; the binding cycle runs on the API threads).
  std::vector<double> cycle_us;
  cycle_us.reserve(static_cast<size_t>(shape.measure_pods) * 2);
  auto timed_one = [&] {
    auto a = std::chrono::steady_clock::now();
    bool any = sched.ScheduleOne();
    if (any) {
      cycle_us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
    }
    return any;
  };
  for (;;) {
    while (timed_one()) ++attempts;
    sched.WaitForApiCalls();
    if (client.bound.load() - before >= shape.measure_pods) break;
    // Preemptors wait out their backoff once their victims are gone.
    sched.FlushQueue();
    if (!timed_one()) {
      if (std::chrono::steady_clock::now() - t1 > std::chrono::seconds(timeout_seconds)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else {
      ++attempts;
    }
  }
  auto t2 = std::chrono::steady_clock::now();
  double cpu = CpuSeconds() - cpu0;
  int done = client.bound.load() - before;
  double secs = std::chrono::duration<double>(t2 - t0).count();
  double add_secs = std::chrono::duration<double>(t1 - t0).count();
  std::printf("%-18s nodes=%d init=%d measured=%d bound=%d attempts=%d victims=%d  %.0f pods/s"
              "  %.0f pods/cpu-s (event intake %.0f ms of %.0f ms, %.2f cpu-s)\n",
              shape.name.c_str(), shape.nodes, shape.init_pods, shape.measure_pods, done, attempts,
              client.deleted.load(), done / secs, done / cpu, add_secs * 1000, secs * 1000, cpu);
  if (!cycle_us.empty()) {
    std::sort(cycle_us.begin(), cycle_us.end());
    auto pct = [&](double q) {
      return cycle_us[std::min(cycle_us.size() - 1, static_cast<size_t>(q * cycle_us.size()))];
    };
    std::printf("  scheduling cycle: p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us (%zu cycles)\n",
                pct(0.5), pct(0.9), pct(0.99), cycle_us.back(), cycle_us.size());
  }
  auto st = sched.Stats();
  if (done < shape.measure_pods) {
    std::printf("  attempts=%llu scheduled=%llu unschedulable=%llu errors=%llu\n",
                (unsigned long long)st.attempts, (unsigned long long)st.scheduled,
                (unsigned long long)st.unschedulable, (unsigned long long)st.errors);
  }
  if (!client.first_failure.empty()) std::printf("  first failure: %s\n", client.first_failure.c_str());
  std::fflush(stdout);
  sched.Stop();
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 5000, parallelism = 2, measure = -1;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--nodes") && i + 1 < argc) nodes = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--parallelism") && i + 1 < argc) parallelism = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--measure") && i + 1 < argc) measure = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_seconds = std::atoi(argv[++i]);
    else wanted.emplace_back(argv[i]);
  }
  std::vector<Shape> shapes;
  {
    Shape s;
    s.name = "SchedulingBasic";
    s.init_pods = 1000;
    s.measure_pods = 10000;
    s.node = [](int i) { return NodeBuilder("node-" + std::to_string(i)).Capacity("4", "32Gi", "110"); };
    s.pod = [](int i, bool m) { return DefaultPod((m ? "pod-" : "init-") + std::to_string(i)); };
    shapes.push_back(s);
  }
  {
    // SchedulingBasic with the pods behind a Service: the cluster default spread constraints
    // (hostname and zone, ScheduleAnyway) score every pod, as for a Deployment's pods.
    Shape s;
    s.name = "DefaultSpreading";
    s.init_pods = 1000;
    s.measure_pods = 10000;
    s.node = [](int i) {
      static const char* zones[] = {"moon-1", "moon-2", "moon-3"};
      return NodeBuilder("node-" + std::to_string(i))
          .Capacity("4", "32Gi", "110")
          .Label("topology.kubernetes.io/zone", zones[i % 3]);
    };
    s.pod = [](int i, bool m) {
      auto p = DefaultPod((m ? "pod-" : "init-") + std::to_string(i));
      p.Label("app", "web");
      return p;
    };
    s.objects = {{ResourceKind::kService,
                  R"({"metadata":{"name":"web","namespace":"default"},"spec":{"selector":{"app":"web"}}})"}};
    shapes.push_back(s);
  }
  {
    Shape s;
    s.name = "TopologySpreading";
    s.init_pods = 5000;
    s.measure_pods = 5000;
    s.node = [](int i) {
      static const char* zones[] = {"moon-1", "moon-2", "moon-3"};
      return NodeBuilder("node-" + std::to_string(i))
          .Capacity("4", "32Gi", "110")
          .Label("topology.kubernetes.io/zone", zones[i % 3]);
    };
    s.pod = [](int i, bool m) {
      if (!m) return DefaultPod("init-" + std::to_string(i));
      auto p = DefaultPod("pod-spreading-" + std::to_string(i));
      p.Label("foo", "bar").Spread(R"([{"maxSkew":5,"topologyKey":"topology.kubernetes.io/zone",
          "whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"foo":"bar"}}}])");
      return p;
    };
    shapes.push_back(s);
  }
  auto affinity_shape = [](std::string name, const char* kind, std::string topology_key) {
    Shape s;
    s.name = name;
    s.init_pods = 1000;
    s.measure_pods = 1000;
    s.node = [](int i) { return NodeBuilder("node-" + std::to_string(i)).Capacity("4", "32Gi", "110"); };
    std::string aff = std::string(R"({")") + kind + R"(":{
        "requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchExpressions":[
          {"key":"color","operator":"In","values":["green"]}]},
          "topologyKey":")" + topology_key + R"(","namespaces":["sched-0","sched-1"]}],
        "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"podAffinityTerm":{
          "labelSelector":{"matchExpressions":[{"key":"color","operator":"In","values":["green"]}]},
          "topologyKey":")" + topology_key + R"(","namespaces":["sched-0","sched-1"]}}]}})";
    s.pod = [aff](int i, bool m) {
      auto p = DefaultPod((m ? "pod-" : "init-") + std::to_string(i), m ? "sched-1" : "sched-0");
      p.Labels({{"color", "green"}, {"name", "test"}}).Affinity(aff);
      return p;
    };
    return s;
  };
  // Upstream's shapes: anti-affinity by hostname; affinity by zone, every node in one zone.
  shapes.push_back(affinity_shape("PodAntiAffinity", "podAntiAffinity", "kubernetes.io/hostname"));
  {
    Shape s = affinity_shape("PodAffinity", "podAffinity", "topology.kubernetes.io/zone");
    s.node = [](int i) {
      return NodeBuilder("node-" + std::to_string(i))
          .Capacity("4", "32Gi", "110")
          .Label("topology.kubernetes.io/zone", "zone1");
    };
    shapes.push_back(s);
  }
  {
    // Upstream's PreemptionAsync: nodes filled to 3.6 of 4 cpu by low-priority pods; the
    // measured pods (100m) always fit, while high-priority pods needing a whole node (3970m)
    // arrive beside them (upstream: 5/s; here one per 200 measured pods) and preempt.
    Shape s;
    s.name = "PreemptionAsync";
    s.init_pods = 20000;
    s.measure_pods = 5000;
    s.node = [](int i) { return NodeBuilder("node-" + std::to_string(i)).Capacity("4", "32Gi", "110"); };
    s.pod = [](int i, bool m) {
      if (m) return DefaultPod("pod-" + std::to_string(i));
      PodBuilder p("low-" + std::to_string(i));
      p.Req("900m", "500Mi").Priority(1);
      return p;
    };
    s.interleave_every = 200;
    s.interleaved = [](int i) {
      PodBuilder p("high-" + std::to_string(i));
      p.Req("3970m", "500Mi").Priority(10000);
      return p;
    };
    shapes.push_back(s);
  }
  {
    // Upstream's Unschedulable: 200 pods that fit no node (9 cpu on 4-cpu nodes) stay in the
    // queue while 10,000 ordinary pods are scheduled.
    Shape s;
    s.name = "Unschedulable";
    s.init_pods = 200;
    s.measure_pods = 10000;
    s.node = [](int i) { return NodeBuilder("node-" + std::to_string(i)).Capacity("4", "32Gi", "110"); };
    s.pod = [](int i, bool m) {
      if (m) return DefaultPod("pod-" + std::to_string(i));
      PodBuilder p("large-" + std::to_string(i));
      p.Req("9", "500Mi");
      return p;
    };
    shapes.push_back(s);
  }
  for (auto& s : shapes) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), s.name) == wanted.end()) continue;
    s.nodes = nodes;
    if (measure > 0) s.measure_pods = measure;
    Run(s, parallelism);
  }
  return 0;
}
