#include "controllers/testing/workload_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "api/errors.h"
#include "api/yaml.h"
#include "client/transport.h"
#include "controllers/base/pod_util.h"
#include "test/util/stores.h"

namespace keelson::controllers::testing {

namespace json = boost::json;

void WatchGate::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

void WatchGate::Open() {
  {
    std::lock_guard lock(mu_);
    closed_ = false;
  }
  cv_.notify_all();
}

void WatchGate::Wait(const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  while (closed_ && !stop.load()) cv_.wait_for(lock, std::chrono::milliseconds(20));
}

bool WatchGate::Covers(std::string_view target) const {
  return target.find(path_part_) != std::string_view::npos &&
         target.find("watch=") != std::string_view::npos;
}

namespace {

class GatedStream final : public client::ResponseStream {
 public:
  GatedStream(std::unique_ptr<client::ResponseStream> inner, std::shared_ptr<WatchGate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  int status() const override { return inner_->status(); }
  const std::string& content_type() const override { return inner_->content_type(); }
  const std::vector<std::pair<std::string, std::string>>& headers() const override {
    return inner_->headers();
  }
  Result<bool> Read(std::string* out) override {
    // What arrived while the gate was closed is handed out once it opens.
    auto r = inner_->Read(out);
    gate_->Wait(closed_);
    return r;
  }
  void Close() override {
    closed_ = true;
    inner_->Close();
  }

 private:
  std::unique_ptr<client::ResponseStream> inner_;
  std::shared_ptr<WatchGate> gate_;
  std::atomic<bool> closed_{false};
};

class GatedTransport final : public client::Transport {
 public:
  GatedTransport(std::unique_ptr<client::Transport> inner, std::shared_ptr<WatchGate> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  Result<api::HttpResponse> RoundTrip(const api::HttpRequest& request) override {
    return inner_->RoundTrip(request);
  }
  Result<std::unique_ptr<client::ResponseStream>> OpenStream(const api::HttpRequest& request) override {
    auto s = inner_->OpenStream(request);
    if (!s.ok() || !gate_ || !gate_->Covers(request.target)) return s;
    return std::unique_ptr<client::ResponseStream>(new GatedStream(std::move(*s), gate_));
  }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  std::unique_ptr<client::Transport> inner_;
  std::shared_ptr<WatchGate> gate_;
};

}  // namespace

std::optional<api::ApiError> PodQuota::Admit(const apiserver::AdmissionRequest& r) const {
  if (r.operation != "CREATE" || r.attributes.resource != "pods" ||
      !r.attributes.subresource.empty() || r.attributes.ns != ns_ || r.object == nullptr) {
    return std::nullopt;
  }
  int used = admitted_.load();
  if (used >= limit_) {
    refused_.fetch_add(1);
    std::string name(api::GetName(*r.object));
    if (name.empty()) name = std::string(api::GetGenerateName(*r.object));
    return api::NewForbidden("pods \"" + name +
                                 "\" is forbidden: exceeded quota: pods, requested: pods=1, "
                                 "used: pods=" + std::to_string(used) +
                                 ", limited: pods=" + std::to_string(limit_),
                             json::object{{"name", name}, {"kind", "pods"}});
  }
  admitted_.fetch_add(1);
  return std::nullopt;
}

std::unique_ptr<client::RestClient> ControlPlane::NewClient(std::shared_ptr<WatchGate> gate) {
  client::RestConfig rc;
  rc.server = "in-process";
  rc.user_agent = "keelson-test";
  std::unique_ptr<client::Transport> t = client::NewInProcessTransport(server());
  if (gate) t = std::make_unique<GatedTransport>(std::move(t), std::move(gate));
  return std::make_unique<client::RestClient>(rc, std::shared_ptr<client::Transport>(std::move(t)));
}

std::vector<api::Object> ControlPlane::Pods(std::string_view ns, std::string_view selector) {
  client::ListOptions o;
  o.label_selector = std::string(selector);
  auto list = Resource("", "pods", ns).List(o);
  std::vector<api::Object> out;
  if (!list.ok()) {
    ADD_FAILURE() << "list pods: " << list.error().message;
    return out;
  }
  for (auto& item : list->at("items").as_array()) out.push_back(std::move(item.as_object()));
  std::sort(out.begin(), out.end(), [](const api::Object& a, const api::Object& b) {
    return api::GetName(a) < api::GetName(b);
  });
  return out;
}

std::vector<api::Object> ControlPlane::LivePods(std::string_view ns, std::string_view selector) {
  std::vector<api::Object> out = Pods(ns, selector);
  std::erase_if(out, [](const api::Object& p) { return api::IsBeingDeleted(p); });
  return out;
}

void ControlPlane::SetPodReady(std::string_view ns, std::string_view name, bool ready,
                               std::optional<Clock::WallTime> since) {
  auto pods = Resource("", "pods", ns);
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto pod = pods.Get(name);
    if (!pod.ok()) {
      if (api::IsNotFound(pod.error())) return;  // deleted meanwhile
      ADD_FAILURE() << "get pod " << name << ": " << pod.error().message;
      return;
    }
    std::string t = api::FormatTime(since.value_or(std::chrono::system_clock::now()));
    json::object status;
    if (const auto* s = pod->if_contains("status"); s && s->is_object()) status = s->as_object();
    status["phase"] = "Running";
    status["conditions"] = json::array{json::object{{"type", "Ready"},
                                                    {"status", ready ? "True" : "False"},
                                                    {"lastTransitionTime", t}}};
    (*pod)["status"] = std::move(status);
    auto written = pods.UpdateStatus(*pod);
    if (written.ok() || api::IsNotFound(written.error())) return;
    if (!api::IsConflict(written.error())) {
      ADD_FAILURE() << "pod status " << name << ": " << written.error().message;
      return;
    }
  }
  ADD_FAILURE() << "pod status " << name << ": conflicts";
}

void ControlPlane::MakeAllReady(std::string_view ns, std::string_view selector) {
  for (const auto& p : LivePods(ns, selector)) {
    if (IsPodReady(p)) continue;
    SetPodReady(ns, api::GetName(p), true);
  }
}

void ControlPlane::Bind(std::string_view ns, std::string_view name, std::string_view node) {
  json::object binding{{"apiVersion", "v1"},
                       {"kind", "Binding"},
                       {"metadata", json::object{{"name", name}, {"namespace", ns}}},
                       {"target", json::object{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
  auto r = Resource("", "pods", ns).CreateSubresource(name, "binding", binding);
  if (!r.ok()) ADD_FAILURE() << "bind " << name << ": " << r.error().message;
}

int ControlPlane::CountEvents(std::string_view ns, std::string_view regarding,
                              std::string_view reason) {
  auto list = Resource("events.k8s.io", "events", ns).List();
  if (!list.ok()) return 0;
  int n = 0;
  for (const auto& e : list->at("items").as_array()) {
    const auto& eo = e.as_object();
    const auto* reg = eo.if_contains("regarding");
    const auto* rsn = eo.if_contains("reason");
    if (reg && reg->is_object() && rsn && rsn->is_string() && rsn->as_string() == reason) {
      const auto* nm = reg->as_object().if_contains("name");
      if (nm && nm->is_string() && nm->as_string() == regarding) ++n;
    }
  }
  return n;
}

FakeKubelet::FakeKubelet(ControlPlane* api, std::string ns,
                         std::function<bool(const api::Object&)> ready)
    : api_(api), ns_(std::move(ns)), ready_(std::move(ready)), thread_([this] { Loop(); }) {}

FakeKubelet::~FakeKubelet() {
  stop_ = true;
  thread_.join();
}

void FakeKubelet::Loop() {
  while (!stop_) {
    client::ListOptions o;
    auto list = api_->Resource("", "pods", ns_).List(o);
    if (list.ok()) {
      for (const auto& item : list->at("items").as_array()) {
        const api::Object& p = item.as_object();
        if (api::IsBeingDeleted(p) || IsPodReady(p) || (ready_ && !ready_(p))) continue;
        api_->SetPodReady(ns_, api::GetName(p), true);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ControllerRunner::ControllerRunner(client::RestClient* client,
                                   std::vector<ControllerFactory> factories,
                                   ControllerOptions options, std::shared_ptr<const Clock> clock) {
  informers_ = std::make_unique<client::SharedInformerFactory>(client);
  ctx_ = std::make_unique<ControllerContext>(client, informers_.get(),
                                             clock ? std::move(clock) : RealClock(),
                                             std::move(options));
  for (auto& make : factories) {
    auto c = make(*ctx_);
    if (!c.ok()) {
      ADD_FAILURE() << "controller: " << c.status().ToString();
      return;
    }
    controllers_.push_back(std::move(*c));
  }
  informers_->Start();
  if (!informers_->WaitForCacheSync(std::chrono::seconds(30))) {
    ADD_FAILURE() << "informers did not sync";
    return;
  }
  for (auto& c : controllers_) c->Start();
  ok_ = true;
}

ControllerRunner::~ControllerRunner() {
  for (auto& c : controllers_) c->Stop();
  if (ctx_) ctx_->Shutdown();
  if (informers_) informers_->Shutdown();
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace keelson::controllers::testing
