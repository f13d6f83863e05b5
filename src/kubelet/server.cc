#include "kubelet/server.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

#include "apiserver/http_server.h"
#include "apiserver/stream_proxy.h"
#include "common/log.h"
#include "kubelet/cri_log.h"
#include "kubelet/pod_model.h"

namespace keelson::kubelet {
namespace {

using apiserver::Exchange;
using apiserver::HttpRequest;
using apiserver::HttpResponse;
using apiserver::StatusResponse;
namespace v1 = cri::v1;

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    if (slash != 0) out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

HttpResponse BadRequest(std::string_view message) {
  return StatusResponse(400, "BadRequest", message);
}

// The runtime's answer to a failed call, as a Status.
HttpResponse RuntimeError(const Status& s) {
  if (s.code() == StatusCode::kNotFound) return StatusResponse(404, "NotFound", s.message());
  if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded) {
    return StatusResponse(503, "ServiceUnavailable", "container runtime: " + s.message());
  }
  return StatusResponse(500, "InternalError", "container runtime: " + s.message());
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

// The containers the runtime has of one container of a pod, newest attempt first (of the
// pod's newest incarnation when a pod of the same name was recreated).
Result<std::vector<v1::Container>> ContainerAttempts(cri::Runtime* runtime, const std::string& ns,
                                                     const std::string& pod,
                                                     const std::string& container) {
  v1::ContainerFilter filter;
  auto& labels = *filter.mutable_label_selector();
  labels[kPodNamespaceLabel] = ns;
  labels[kPodNameLabel] = pod;
  labels[kContainerNameLabel] = container;
  auto list = runtime->ListContainers(filter);
  if (!list.ok()) return list.status();
  std::string uid;
  int64_t newest = -1;
  for (const auto& c : *list) {
    if (c.created_at() > newest) {
      newest = c.created_at();
      auto it = c.labels().find(kPodUidLabel);
      uid = it == c.labels().end() ? "" : it->second;
    }
  }
  std::vector<v1::Container> out;
  for (const auto& c : *list) {
    auto it = c.labels().find(kPodUidLabel);
    if ((it == c.labels().end() ? "" : it->second) == uid) out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const v1::Container& a, const v1::Container& b) {
    if (a.metadata().attempt() != b.metadata().attempt()) {
      return a.metadata().attempt() > b.metadata().attempt();
    }
    return a.created_at() > b.created_at();
  });
  return out;
}

struct Endpoint {
  std::string host;
  int port = 0;
  std::string target;
};

// "http://127.0.0.1:4321/exec/TOKEN" (the runtime's streaming URL).
std::optional<Endpoint> ParseUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (!url.starts_with(kHttp)) return std::nullopt;
  url.remove_prefix(kHttp.size());
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Endpoint e;
  e.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.ends_with(']')) {
    e.port = 80;
    colon = authority.size();
  } else {
    auto p = ParseInt(authority.substr(colon + 1));
    if (!p || *p <= 0 || *p > 65535) return std::nullopt;
    e.port = static_cast<int>(*p);
  }
  std::string_view host = authority.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty()) return std::nullopt;
  e.host = std::string(host);
  return e;
}

class KubeletServerImpl final : public KubeletServer, public apiserver::Handler {
 public:
  KubeletServerImpl(cri::Runtime* runtime, std::shared_ptr<RequestAuthenticator> auth)
      : runtime_(runtime), auth_(std::move(auth)), proxy_(apiserver::StreamProxy::Create()) {}
  ~KubeletServerImpl() override { Stop(); }

  Status Listen(const KubeletServerOptions& o) {
    apiserver::HttpServerOptions ho;
    ho.bind_address = o.address;
    ho.port = o.port;
    ho.body_limit = 64 * 1024;
    auto http = apiserver::HttpServer::Start(ho, this);
    if (!http.ok()) return http.status();
    http_ = std::move(*http);
    return Status::Ok();
  }

  int port() const override { return http_ ? http_->port() : 0; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    if (http_) http_->Stop();
    proxy_->Stop();
    std::list<Worker> workers;
    {
      std::lock_guard l(mu_);
      workers.swap(workers_);
    }
    for (auto& w : workers) w.thread.request_stop();
    workers.clear();  // joins
  }

  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override {
    auto parts = Segments(req.path);
    if (parts.size() == 1 && parts[0] == "healthz") {
      HttpResponse ok;
      ok.content_type = "text/plain; charset=utf-8";
      ok.body = "ok";
      return ex->Respond(std::move(ok));
    }
    if (Status s = auth_->Authenticate(req.Header("authorization"), req.method, req.target);
        !s.ok()) {
      return ex->Respond(StatusResponse(401, "Unauthorized", "Unauthorized: " + s.message()));
    }
    const std::string kind = parts.empty() ? "" : parts[0];
    if (kind == "containerLogs" && parts.size() == 4) {
      if (req.method != "GET") return ex->Respond(MethodNotAllowed());
      return Spawn([this, req = std::move(req), ex, parts](std::stop_token stop) {
        ServeLogs(req, parts[1], parts[2], parts[3], ex, stop);
      });
    }
    // exec and attach may name the pod's uid before the container, as upstream's paths do.
    if ((kind == "exec" || kind == "attach") && (parts.size() == 4 || parts.size() == 5)) {
      return Spawn([this, req = std::move(req), ex, parts](std::stop_token) {
        ServeSession(req, parts[0], parts[1], parts[2], parts.back(), ex);
      });
    }
    if (kind == "portForward" && (parts.size() == 3 || parts.size() == 4)) {
      return Spawn([this, req = std::move(req), ex, parts](std::stop_token) {
        ServeSession(req, parts[0], parts[1], parts[2], "", ex);
      });
    }
    ex->Respond(StatusResponse(404, "NotFound",
                               "the server could not find the requested "
                               "resource"));
  }

 private:
  struct Worker {
    std::jthread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  static HttpResponse MethodNotAllowed() {
    return StatusResponse(405, "MethodNotAllowed",
                          "the server does not allow this method on the requested resource");
  }

  // Runs `fn` on a thread of its own (log streams and sessions may last long); the thread is
  // joined when it is reaped or the server stops.
  void Spawn(std::function<void(std::stop_token)> fn) {
    std::lock_guard l(mu_);
    if (stopped_.load()) return;
    workers_.remove_if([](const Worker& w) { return w.done->load(); });
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back(Worker{std::jthread([fn = std::move(fn), done](std::stop_token stop) {
                                fn(stop);
                                done->store(true);
                              }),
                              done});
  }

  void ServeLogs(const HttpRequest& req, const std::string& ns, const std::string& pod,
                 const std::string& container, const std::shared_ptr<Exchange>& ex,
                 std::stop_token stop) {
    CriLogOptions o;
    o.follow = req.QueryBool("follow");
    o.timestamps = req.QueryBool("timestamps");
    const bool previous = req.QueryBool("previous");
    struct IntParam {
      const char* name;
      int64_t min;
      std::optional<int64_t>* out;
    };
    std::optional<int64_t> since_seconds;
    for (const IntParam& p :
         {IntParam{"tailLines", 0, &o.tail_lines}, IntParam{"limitBytes", 1, &o.limit_bytes},
          IntParam{"sinceSeconds", 1, &since_seconds}}) {
      if (!req.HasQuery(p.name)) continue;
      auto v = ParseInt(req.Query(p.name));
      if (!v || *v < p.min) {
        return ex->Respond(BadRequest(std::string(p.name) + ": must be an integer of at least " +
                                      std::to_string(p.min)));
      }
      *p.out = v;
    }
    if (since_seconds) {
      o.since = std::chrono::system_clock::now() - std::chrono::seconds(*since_seconds);
    }
    if (req.HasQuery("sinceTime")) {
      auto t = ParseRfc3339(req.Query("sinceTime"));
      if (!t) return ex->Respond(BadRequest("sinceTime: not an RFC 3339 time"));
      if (since_seconds) {
        return ex->Respond(
            BadRequest("at most one of `sinceTime` or `sinceSeconds` may be "
                       "specified"));
      }
      o.since = *t;
    }
    auto attempts = ContainerAttempts(runtime_, ns, pod, container);
    if (!attempts.ok()) return ex->Respond(RuntimeError(attempts.status()));
    size_t index = previous ? 1 : 0;
    if (attempts->size() <= index) {
      if (previous) {
        return ex->Respond(BadRequest("previous terminated container " + Quote(container) +
                                      " in pod " + Quote(pod) + " not found"));
      }
      return ex->Respond(
          StatusResponse(404, "NotFound",
                         "container " + Quote(container) + " in pod " + Quote(pod) + " not found"));
    }
    const std::string id = (*attempts)[index].id();
    auto status = runtime_->ContainerStatus(id);
    if (!status.ok()) return ex->Respond(RuntimeError(status.status()));
    const std::string path = status->log_path();
    if (path.empty()) {
      return ex->Respond(BadRequest("container " + Quote(container) + " in pod " + Quote(pod) +
                                    " has no log file"));
    }
    // Checked before the answer starts, so that a missing file is an error, not an empty log.
    if (::access(path.c_str(), R_OK) != 0 && !o.follow) {
      return ex->Respond(StatusResponse(404, "NotFound", "log file " + path + " does not exist"));
    }
    std::stop_source gone;
    ex->OnClose([gone]() mutable { gone.request_stop(); });
    std::stop_callback on_stop(stop, [gone]() mutable { gone.request_stop(); });
    ex->StartStream(200, "text/plain");
    CriLogFollow follow;
    const bool dead = previous;
    follow.running = [this, id, dead]() {
      if (dead) return false;
      auto s = runtime_->ContainerStatus(id);
      // A container the runtime no longer has (removed) writes nothing more; one the runtime
      // cannot tell about right now is taken as still running.
      if (!s.ok()) return s.status().code() != StatusCode::kNotFound;
      return s->state() == v1::CONTAINER_RUNNING || s->state() == v1::CONTAINER_CREATED;
    };
    auto gone_token = gone.get_token();
    Status read = ReadCriLog(
        path, o,
        [&ex, &gone_token](std::string_view piece) {
          if (!ex->Write(std::string(piece))) return false;
          // A slow reader: wait for the connection to drain instead of queuing the file.
          while (ex->Backlog() > (4u << 20) && !gone_token.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          return !gone_token.stop_requested();
        },
        follow, gone_token);
    if (!read.ok()) LogWarning("kubelet", "logs of " + ns + "/" + pod + ": " + read.message());
    ex->EndStream();
  }

  // exec, attach (container set) and portForward (container empty).
  void ServeSession(const HttpRequest& req, const std::string& kind, const std::string& ns,
                    const std::string& pod, const std::string& container,
                    const std::shared_ptr<Exchange>& ex) {
    if (!apiserver::IsUpgradeRequest(req)) {
      return ex->Respond(BadRequest("Upgrade request required"));
    }
    const bool stdin_ = req.QueryBool("stdin"), stdout_ = req.QueryBool("stdout");
    const bool stderr_ = req.QueryBool("stderr"), tty = req.QueryBool("tty");
    Result<std::string> url = InternalError("unreachable");
    if (kind == "portForward") {
      v1::PodSandboxFilter filter;
      auto& labels = *filter.mutable_label_selector();
      labels[kPodNamespaceLabel] = ns;
      labels[kPodNameLabel] = pod;
      filter.mutable_state()->set_state(v1::SANDBOX_READY);
      auto sandboxes = runtime_->ListPodSandbox(filter);
      if (!sandboxes.ok()) return ex->Respond(RuntimeError(sandboxes.status()));
      if (sandboxes->empty()) {
        return ex->Respond(
            StatusResponse(404, "NotFound", "pod " + Quote(pod) + " has no running sandbox"));
      }
      auto newest = std::max_element(
          sandboxes->begin(), sandboxes->end(),
          [](const auto& a, const auto& b) { return a.created_at() < b.created_at(); });
      v1::PortForwardRequest pf;
      pf.set_pod_sandbox_id(newest->id());
      url = runtime_->PortForward(pf);
    } else {
      if (!stdin_ && !stdout_ && !stderr_) {
        return ex->Respond(BadRequest("you must specify at least 1 of stdin, stdout, stderr"));
      }
      std::vector<std::string> command;
      for (const auto& [k, v] : req.query) {
        if (k == "command") command.push_back(v);
      }
      if (kind == "exec" && command.empty()) {
        return ex->Respond(BadRequest("you must specify at least 1 command"));
      }
      auto attempts = ContainerAttempts(runtime_, ns, pod, container);
      if (!attempts.ok()) return ex->Respond(RuntimeError(attempts.status()));
      const v1::Container* running = nullptr;
      for (const auto& c : *attempts) {
        if (c.state() == v1::CONTAINER_RUNNING) {
          running = &c;
          break;
        }
      }
      if (running == nullptr) {
        return ex->Respond(BadRequest("container " + Quote(container) + " in pod " + Quote(pod) +
                                      " is not running"));
      }
      if (kind == "exec") {
        v1::ExecRequest r;
        r.set_container_id(running->id());
        for (auto& c : command) r.add_cmd(c);
        r.set_tty(tty);
        r.set_stdin(stdin_);
        r.set_stdout(stdout_);
        // A terminal merges stderr into stdout, as upstream.
        r.set_stderr(stderr_ && !tty);
        url = runtime_->Exec(r);
      } else {
        v1::AttachRequest r;
        r.set_container_id(running->id());
        r.set_tty(tty);
        r.set_stdin(stdin_);
        r.set_stdout(stdout_);
        r.set_stderr(stderr_ && !tty);
        url = runtime_->Attach(r);
      }
    }
    if (!url.ok()) return ex->Respond(RuntimeError(url.status()));
    auto endpoint = ParseUrl(*url);
    if (!endpoint) {
      return ex->Respond(StatusResponse(500, "InternalError",
                                        "the runtime's streaming URL " + *url + " is not http"));
    }
    apiserver::ProxyTarget target;
    target.host = endpoint->host;
    target.port = endpoint->port;
    target.target = endpoint->target;
    proxy_->ForwardUpgrade(std::move(target), req, ex);
  }

  cri::Runtime* runtime_;
  std::shared_ptr<RequestAuthenticator> auth_;
  std::unique_ptr<apiserver::StreamProxy> proxy_;
  std::unique_ptr<apiserver::HttpServer> http_;
  std::atomic<bool> stopped_{false};
  std::mutex mu_;
  std::list<Worker> workers_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<KubeletServer>> KubeletServer::Start(
    const KubeletServerOptions& options, cri::Runtime* runtime,
    std::shared_ptr<RequestAuthenticator> authenticator) {
  if (runtime == nullptr || authenticator == nullptr) {
    return InvalidArgumentError("the kubelet server needs a runtime and an authenticator");
  }
  auto s = std::make_unique<KubeletServerImpl>(runtime, std::move(authenticator));
  KEELSON_RETURN_IF_ERROR(s->Listen(options));
  return std::unique_ptr<KubeletServer>(std::move(s));
}

}  // namespace keelson::kubelet
