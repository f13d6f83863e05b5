// Pod startup on a real node, side by side with the runtime alone. Against a running API
// server (with its scheduler) and a `keelson kubelet` on containerd:
//   api-serial   N pods created one after another, each timed from the create request until a
//                watcher sees it Running and Ready;
//   cri-serial   the same containers started directly through the CRI by this program
//                (RunPodSandbox + CreateContainer + StartContainer, with the pod network), each
//                timed from RunPodSandbox to StartContainer's answer;
//   api-burst    N pods created at once: the time until all are Running and Ready;
//   idle         the kubelet process's RSS and CPU with N pods running and nothing changing.
// Usage: pod_startup_bench --kubeconfig F --cri unix:///...sock --kubelet-pid P [--pods N]
//                          [--image I] [--idle-seconds S]
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/object.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "kubelet/cri/runtime.h"

namespace {

namespace json = boost::json;
namespace v1 = ::runtime::v1;
using namespace keelson;
using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Times when pods (by name) were first seen Running and Ready.
class ReadyWatcher {
 public:
  explicit ReadyWatcher(client::ResourceClient pods) : pods_(std::move(pods)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ReadyWatcher() {
    stop_ = true;
    if (auto* w = watcher_.load()) w->Stop();
    thread_.join();
  }
  bool Wait(const std::string& name, std::chrono::seconds timeout, Steady::time_point* at) {
    std::unique_lock l(mu_);
    bool ok = cv_.wait_for(l, timeout, [&] { return ready_.contains(name); });
    if (ok) *at = ready_[name];
    return ok;
  }

 private:
  void Loop() {
    while (!stop_) {
      client::ListOptions o;
      o.label_selector = "bench=pod-startup";
      auto list = pods_.List(o);
      if (!list.ok()) {
        std::this_thread::sleep_for(100ms);
        continue;
      }
      for (const auto& item : (*list)["items"].as_array()) See(item.as_object());
      o.resource_version = api::FieldText(*list, "metadata.resourceVersion");
      auto w = pods_.Watch(o);
      if (!w.ok()) continue;
      watcher_ = w->get();
      if (stop_) (*w)->Stop();
      while (true) {
        auto ev = (*w)->Next();
        if (!ev.ok() || !ev->has_value()) break;
        if ((*ev)->object) See(*(*ev)->object);
      }
      watcher_ = nullptr;
    }
  }
  void See(const api::Object& pod) {
    if (api::FieldText(pod, "status.phase") != "Running") return;
    const auto* st = pod.if_contains("status");
    if (st == nullptr || !st->as_object().contains("conditions")) return;
    for (const auto& c : st->as_object().at("conditions").as_array()) {
      if (c.as_object().at("type").as_string() == "Ready" &&
          c.as_object().at("status").as_string() == "True") {
        std::lock_guard l(mu_);
        ready_.emplace(std::string(api::GetName(pod)), Steady::now());
        cv_.notify_all();
      }
    }
  }

  client::ResourceClient pods_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<client::Watcher*> watcher_{nullptr};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Steady::time_point> ready_;
};

api::Object PodObject(const std::string& name, const std::string& image) {
  return json::parse(
             R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
             R"(","labels":{"bench":"pod-startup"}},"spec":{"terminationGracePeriodSeconds":0,
      "containers":[{"name":"c","image":")" +
             image + R"(","imagePullPolicy":"IfNotPresent","command":["sleep","3600"]}]}})")
      .as_object();
}

void DeleteAll(client::ResourceClient pods) {
  client::DeleteOptions d;
  d.grace_period_seconds = 0;
  client::ListOptions l;
  l.label_selector = "bench=pod-startup";
  (void)pods.DeleteCollection(d, l);
  for (int i = 0; i < 600; ++i) {
    auto list = pods.List(l);
    if (list.ok() && (*list)["items"].as_array().empty()) return;
    std::this_thread::sleep_for(100ms);
  }
  std::fprintf(stderr, "pods still there after 60 s\n");
}

struct ProcSample {
  double cpu_seconds = 0;
  long rss_kib = 0;
};
ProcSample Sample(int pid) {
  ProcSample s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(text.substr(close + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15; ++i) {
      rest >> f;
      if (i == 14) utime = std::atol(f.c_str());
      if (i == 15) stime = std::atol(f.c_str());
    }
    s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::atol(line.c_str() + 6);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, cri, image = "keelson.local/busybox:1.35";
  int pods_n = 100, kubelet_pid = 0, idle_seconds = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--kubeconfig")
      kubeconfig = v;
    else if (a == "--cri")
      cri = v;
    else if (a == "--image")
      image = v;
    else if (a == "--pods")
      pods_n = std::atoi(v.c_str());
    else if (a == "--kubelet-pid")
      kubelet_pid = std::atoi(v.c_str());
    else if (a == "--idle-seconds")
      idle_seconds = std::atoi(v.c_str());
  }
  if (kubeconfig.empty() || cri.empty()) {
    std::fprintf(stderr, "usage: %s --kubeconfig F --cri ENDPOINT --kubelet-pid P [--pods N]\n",
                 argv[0]);
    return 2;
  }
  client::KubeconfigLoadOptions ko;
  ko.explicit_path = kubeconfig;
  auto config = client::LoadKubeconfig(ko);
  if (!config.ok()) return std::fprintf(stderr, "%s\n", config.status().message().c_str()), 1;
  // No client-side rate limit: a kubeconfig brings upstream's client defaults (5 qps, burst
  // 10), which would pace the burst's creates at 5 pods/s after the first ten.
  config->rest.qps = 0;
  auto client = client::RestClient::NewHttp(config->rest);
  if (!client.ok()) return 1;
  auto pods = (*client)
                  ->Resource(*api::ResourceRegistry::BuiltIn().Find("", "v1", "pods"))
                  .Namespace("default");
  kubelet::cri::GrpcRuntimeOptions ro;
  ro.endpoint = cri;
  auto runtime = kubelet::cri::NewGrpcRuntime(ro);

  ReadyWatcher watcher(pods);
  DeleteAll(pods);
  // Warm-up: one pod through the whole path.
  {
    auto t0 = Steady::now();
    (void)pods.Create(PodObject("warmup", image));
    Steady::time_point at;
    if (!watcher.Wait("warmup", 120s, &at)) return std::fprintf(stderr, "warm-up failed\n"), 1;
    std::printf("warm-up pod Running and Ready after %.0f ms\n", Ms(at - t0));
    DeleteAll(pods);
  }

  // api-serial.
  std::vector<double> api;
  for (int i = 0; i < pods_n; ++i) {
    std::string name = "serial-" + std::to_string(i);
    auto t0 = Steady::now();
    auto r = pods.Create(PodObject(name, image));
    if (!r.ok()) return std::fprintf(stderr, "create: %s\n", r.error().message.c_str()), 1;
    Steady::time_point at;
    if (!watcher.Wait(name, 60s, &at))
      return std::fprintf(stderr, "%s not ready\n", name.c_str()), 1;
    api.push_back(Ms(at - t0));
  }
  DeleteAll(pods);

  // cri-serial: the same container, straight through the CRI with the pod network.
  std::vector<double> direct;
  std::vector<std::string> sandboxes;
  std::mutex sandboxes_mu;
  // Starts the i-th container of `tag` straight through the CRI; its time in ms, or < 0.
  auto start_direct = [&](const std::string& tag, int i) -> double {
    v1::PodSandboxConfig sc;
    sc.mutable_metadata()->set_name(tag + std::to_string(i));
    sc.mutable_metadata()->set_namespace_("bench");
    sc.mutable_metadata()->set_uid(tag + std::to_string(getpid()) + "-" + std::to_string(i));
    sc.set_hostname("cri-" + std::to_string(i));
    sc.set_log_directory("/tmp/keelson-cri-bench-logs");
    auto* ns = sc.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(v1::POD);
    ns->set_pid(v1::CONTAINER);
    ns->set_ipc(v1::POD);
    v1::ContainerConfig cc;
    cc.mutable_metadata()->set_name("c");
    cc.mutable_image()->set_image(image);
    cc.add_command("sleep");
    cc.add_command("3600");
    cc.set_log_path(tag + std::to_string(i) + ".log");
    cc.mutable_linux()->mutable_resources()->set_cpu_shares(2);
    auto t0 = Steady::now();
    auto sb = runtime->RunPodSandbox(sc, "");
    if (!sb.ok())
      return std::fprintf(stderr, "RunPodSandbox: %s\n", sb.status().message().c_str()), -1;
    {
      std::lock_guard l(sandboxes_mu);
      sandboxes.push_back(*sb);
    }
    auto id = runtime->CreateContainer(*sb, cc, sc);
    if (!id.ok())
      return std::fprintf(stderr, "CreateContainer: %s\n", id.status().message().c_str()), -1;
    if (auto s = runtime->StartContainer(*id); !s.ok()) {
      return std::fprintf(stderr, "StartContainer: %s\n", s.message().c_str()), -1;
    }
    return Ms(Steady::now() - t0);
  };
  auto remove_direct = [&] {
    for (const auto& s : sandboxes) {
      (void)runtime->StopPodSandbox(s);
      (void)runtime->RemovePodSandbox(s);
    }
    sandboxes.clear();
  };
  for (int i = 0; i < pods_n; ++i) {
    double ms = start_direct("cri-", i);
    if (ms < 0) return 1;
    direct.push_back(ms);
  }
  remove_direct();
  // cri-burst: the same N at once, from as many threads as the kubelet has pod workers.
  auto c0 = Steady::now();
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&, t] {
        for (int i = t; i < pods_n; i += 4) (void)start_direct("crib-", i);
      });
    }
    for (auto& t : ts) t.join();
  }
  double cri_burst_s = std::chrono::duration<double>(Steady::now() - c0).count();
  remove_direct();

  // api-burst.
  auto t0 = Steady::now();
  std::vector<std::thread> creators;
  for (int t = 0; t < 4; ++t) {
    creators.emplace_back([&, t] {
      for (int i = t; i < pods_n; i += 4)
        (void)pods.Create(PodObject("burst-" + std::to_string(i), image));
    });
  }
  for (auto& t : creators) t.join();
  std::vector<double> burst;
  Steady::time_point last = t0;
  for (int i = 0; i < pods_n; ++i) {
    Steady::time_point at;
    if (!watcher.Wait("burst-" + std::to_string(i), 180s, &at)) {
      return std::fprintf(stderr, "burst-%d not ready\n", i), 1;
    }
    burst.push_back(Ms(at - t0));
    last = std::max(last, at);
  }
  double burst_s = std::chrono::duration<double>(last - t0).count();

  // idle.
  ProcSample a{}, b{};
  if (kubelet_pid > 0) {
    std::this_thread::sleep_for(10s);
    a = Sample(kubelet_pid);
    std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));
    b = Sample(kubelet_pid);
  }
  DeleteAll(pods);

  double api50 = Percentile(api, 50), api99 = Percentile(api, 99);
  double cri50 = Percentile(direct, 50), cri99 = Percentile(direct, 99);
  std::printf("\npod startup, %d pods, image present (ms)        p50      p99\n", pods_n);
  std::printf("  api-serial  create -> Running+Ready seen   %7.1f  %7.1f\n", api50, api99);
  std::printf("  cri-serial  RunPodSandbox..StartContainer  %7.1f  %7.1f\n", cri50, cri99);
  std::printf("  overhead of the API path over the CRI alone: p50 %+.0f%%, p99 %+.0f%%\n",
              (api50 / cri50 - 1) * 100, (api99 / cri99 - 1) * 100);
  std::printf("  targets: p99 <= 1000 ms; overhead <= 25%%\n");
  std::printf(
      "burst: %d pods created at once, all Running+Ready in %.2f s (%.1f pods/s); "
      "p50 %.0f ms, p99 %.0f ms\n",
      pods_n, burst_s, pods_n / burst_s, Percentile(burst, 50), Percentile(burst, 99));
  std::printf(
      "       the same %d containers started through the CRI alone, 4 at a time: "
      "%.2f s (%.1f pods/s)\n",
      pods_n, cri_burst_s, pods_n / cri_burst_s);
  if (kubelet_pid > 0) {
    std::printf(
        "kubelet idle with %d pods: RSS %.1f MiB, CPU %.2f%% of a core over %d s "
        "(targets: <= 30 MB, <= 1%%)\n",
        pods_n, b.rss_kib / 1024.0, (b.cpu_seconds - a.cpu_seconds) / idle_seconds * 100.0,
        idle_seconds);
  }
  return 0;
}
