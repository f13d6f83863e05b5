#include "apiserver/pod_streams.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

#include "apiserver/handlers/handlers.h"
#include "apiserver/negotiation.h"
#include "apiserver/stream_proxy.h"
#include "apiserver/stream_translator.h"
#include "apiserver/token.h"
#include "kubelet/server_auth.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

// Go's url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A path segment: names are DNS labels and subdomains, but escape anyway.
std::string PathEscape(std::string_view s) {
  std::string out = QueryEscape(s);
  for (size_t i = 0; (i = out.find('+', i)) != std::string::npos;) out.replace(i, 1, "%20");
  return out;
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
const json::array* Arr(const json::object* o, std::string_view key) {
  const auto* v = o ? o->if_contains(key) : nullptr;
  return v && v->is_array() ? &v->as_array() : nullptr;
}
std::string Str(const json::object* o, std::string_view key) {
  const auto* v = o ? o->if_contains(key) : nullptr;
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

std::vector<std::string> Names(const json::object* spec, std::string_view list) {
  std::vector<std::string> out;
  if (const auto* a = Arr(spec, list)) {
    for (const auto& c : *a) {
      if (c.is_object()) out.push_back(Str(&c.as_object(), "name"));
    }
  }
  return out;
}

// Go's %s of a []string: [a b c].
std::string GoList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
  return out + "]";
}

// The container a request names, or the pod's only one, as upstream's validateContainer.
api::ApiResult<std::string> ValidateContainer(const api::Object& pod, std::string container) {
  const json::object* spec = Obj(pod, "spec");
  const std::string name(api::GetName(pod));
  std::vector<std::string> containers = Names(spec, "containers");
  std::vector<std::string> init = Names(spec, "initContainers");
  std::vector<std::string> ephemeral = Names(spec, "ephemeralContainers");
  if (container.empty()) {
    if (containers.size() == 1) return containers[0];
    if (containers.empty()) {
      return api::NewBadRequest("a container name must be specified for pod " + name);
    }
    // Every container, init containers first, as upstream's VisitContainers lists them.
    std::vector<std::string> all = init;
    all.insert(all.end(), containers.begin(), containers.end());
    all.insert(all.end(), ephemeral.begin(), ephemeral.end());
    return api::NewBadRequest("a container name must be specified for pod " + name +
                              ", choose one of: " + GoList(all));
  }
  for (const auto* list : {&containers, &init, &ephemeral}) {
    for (const auto& c : *list) {
      if (c == container) return container;
    }
  }
  return api::NewBadRequest("container " + container + " is not valid for pod " + name);
}

// The status of container `name` in the pod's status, if it has one.
const json::object* ContainerStatus(const api::Object& pod, const std::string& name) {
  const json::object* status = Obj(pod, "status");
  for (const char* list :
       {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
    if (const auto* a = Arr(status, list)) {
      for (const auto& c : *a) {
        if (c.is_object() && Str(&c.as_object(), "name") == name) return &c.as_object();
      }
    }
  }
  return nullptr;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

const api::ResourceInfo& PodLogOptionsKind() {
  static const api::ResourceInfo kind = [] {
    api::ResourceInfo k;
    k.version = "v1";
    k.kind = "PodLogOptions";
    return k;
  }();
  return kind;
}

// The query of a containerLogs request, checked as upstream's ValidatePodLogOptions.
api::ApiResult<std::string> LogQuery(const HttpRequest& req, const std::string& pod) {
  api::FieldCauses causes;
  std::string query;
  auto add = [&](std::string_view k, std::string_view v) {
    query += (query.empty() ? "?" : "&") + std::string(k) + "=" + QueryEscape(v);
  };
  for (const char* flag : {"follow", "previous", "timestamps"}) {
    if (req.QueryBool(flag)) add(flag, "true");
  }
  struct Range {
    const char* name;
    int64_t min;
    const char* message;
  };
  for (const Range& r : {Range{"tailLines", 0, "must be greater than or equal to 0"},
                         Range{"limitBytes", 1, "must be greater than 0"},
                         Range{"sinceSeconds", 1, "must be greater than 0"}}) {
    if (!req.HasQuery(r.name)) continue;
    std::string_view text = req.Query(r.name);
    auto v = ParseInt(text);
    if (!v) {
      return api::NewBadRequest("invalid value for " + std::string(r.name) + ": " +
                                api::GoQuote(text) + " is not an integer");
    }
    if (*v < r.min) {
      causes.emplace_back(r.name, "Invalid value: " + std::to_string(*v) + ": " + r.message);
      continue;
    }
    add(r.name, std::to_string(*v));
  }
  if (req.HasQuery("sinceTime")) {
    if (req.HasQuery("sinceSeconds")) {
      causes.emplace_back("", "at most one of `sinceTime` or `sinceSeconds` may be specified");
    }
    add("sinceTime", req.Query("sinceTime"));
  }
  if (!causes.empty()) return api::NewInvalid(PodLogOptionsKind(), pod, causes);
  return query;
}

// The kubelet of a node: its preferred address and its port.
struct KubeletAddress {
  std::string host;
  int port = 10250;
};

api::ApiResult<KubeletAddress> KubeletOf(const api::Object& node) {
  const json::object* status = Obj(node, "status");
  const std::string name(api::GetName(node));
  KubeletAddress out;
  for (const char* type : {"InternalIP", "ExternalIP", "Hostname"}) {
    if (const auto* a = Arr(status, "addresses")) {
      for (const auto& addr : *a) {
        if (addr.is_object() && Str(&addr.as_object(), "type") == type) {
          out.host = Str(&addr.as_object(), "address");
          if (!out.host.empty()) break;
        }
      }
    }
    if (!out.host.empty()) break;
  }
  if (out.host.empty()) {
    return api::NewServiceUnavailable("node " + name + " has no address to reach its kubelet");
  }
  if (const auto* d = status ? Obj(*status, "daemonEndpoints") : nullptr) {
    if (const auto* k = Obj(*d, "kubeletEndpoint")) {
      if (const auto* p = k->if_contains("Port");
          p && p->is_int64() && p->as_int64() > 0 && p->as_int64() < 65536) {
        out.port = static_cast<int>(p->as_int64());
      }
    }
  }
  return out;
}

// The subprotocols a runtime's streaming server speaks over WebSocket (upstream's
// remotecommand and portforward servers before v5).
bool RuntimeSpeaksWebSocket(const HttpRequest& req) {
  auto offered = HeaderValues(req, "sec-websocket-protocol");
  if (offered.empty()) return true;
  for (const auto& p : offered) {
    if (p == "channel.k8s.io" || p == "base64.channel.k8s.io" || p == "v4.channel.k8s.io" ||
        p == "v4.base64.channel.k8s.io") {
      return true;
    }
  }
  return false;
}

}  // namespace

// Counts a translated session's answer: 101 once the client's connection is taken over, or
// the error's code.
class PodStreams::Counting final : public ForwardingExchange {
 public:
  Counting(std::shared_ptr<Exchange> inner, PodStreams* owner, bool tunnel)
      : ForwardingExchange(std::move(inner)), owner_(owner), tunnel_(tunnel) {}
  void Respond(HttpResponse response) override {
    Count(owner_, tunnel_, response.status);
    inner_->Respond(std::move(response));
  }
  void Hijack(std::function<void(HijackedConnection)> take) override {
    inner_->Hijack(
        [owner = owner_, tunnel = tunnel_, take = std::move(take)](HijackedConnection c) {
          if (c.fd >= 0) Count(owner, tunnel, 101);
          take(std::move(c));
        });
  }

 private:
  static void Count(PodStreams* owner, bool tunnel, int code) {
    std::lock_guard l(owner->mu_);
    ++(tunnel ? owner->tunnel_codes_ : owner->translator_codes_)[code];
  }
  PodStreams* owner_;
  bool tunnel_;
};

std::string PodStreams::MetricsText() const {
  std::lock_guard l(mu_);
  std::string out;
  auto family = [&](const char* name, const char* help, const std::map<int, uint64_t>& codes) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [code, n] : codes) {
      out +=
          std::string(name) + "{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
    }
  };
  family("apiserver_stream_translator_requests_total",
         "Exec and attach sessions translated from WebSocket v5 to SPDY, by the answer's code.",
         translator_codes_);
  family("apiserver_stream_tunnel_requests_total",
         "Port-forward sessions tunnelled in WebSocket, by the answer's code.", tunnel_codes_);
  return out;
}

PodStreams::PodStreams(PodStreamsDeps deps)
    : deps_(std::move(deps)), proxy_(StreamProxy::Create()) {}

PodStreams::~PodStreams() { Stop(); }

void PodStreams::Stop() { proxy_->Stop(); }

void PodStreams::Serve(const HttpRequest& req, const std::string& ns, const std::string& name,
                       const std::string& subresource, std::shared_ptr<Exchange> ex) {
  const bool log = subresource == "log";
  if (log ? req.method != "GET" : (req.method != "GET" && req.method != "POST")) {
    return WriteError(*ex, api::NewMethodNotAllowed());
  }
  const bool upgrade = IsUpgradeRequest(req);
  if (!log && !upgrade) return WriteError(*ex, api::NewBadRequest("Upgrade request required"));
  // A WebSocket protocol newer than the runtime's is translated (stream_translator.h).
  std::shared_ptr<StreamTranslator> translator;
  if (!log && IsWebSocketRequest(req)) {
    auto offered = HeaderValues(req, "sec-websocket-protocol");
    auto offers = [&](std::string_view p) {
      return std::find(offered.begin(), offered.end(), p) != offered.end();
    };
    if (subresource == "portforward" ? offers(kPortForwardTunnelProtocol)
                                     : offers(kExecV5Protocol)) {
      ex = std::make_shared<Counting>(std::move(ex), this, subresource == "portforward");
      if (req.Header("sec-websocket-version") != "13") {
        // RFC 6455 section 4.4: the versions the server speaks, with 426.
        HttpResponse r = StatusResponse(426, "UpgradeRequired",
                                        "unable to upgrade connection: WebSocket version 13 only");
        r.headers.emplace_back("Sec-WebSocket-Version", "13");
        return ex->Respond(std::move(r));
      }
      if (req.Header("sec-websocket-key").empty()) {
        return WriteError(*ex, api::NewBadRequest("unable to upgrade connection: a WebSocket "
                                                  "upgrade needs Sec-WebSocket-Key"));
      }
      if (subresource == "portforward") {
        translator = NewPortForwardTunnel();
      } else {
        translator = NewExecTranslator(ExecStreams{.stdin_stream = req.QueryBool("stdin"),
                                                   .stdout_stream = req.QueryBool("stdout"),
                                                   .stderr_stream = req.QueryBool("stderr"),
                                                   .tty = req.QueryBool("tty")});
      }
    }
  }
  if (!log && !translator && IsWebSocketRequest(req) && !RuntimeSpeaksWebSocket(req)) {
    std::string offered;
    for (const auto& p : HeaderValues(req, "sec-websocket-protocol")) {
      offered += (offered.empty() ? "" : " ") + p;
    }
    return WriteError(
        *ex,
        api::NewBadRequest("unable to upgrade connection: the WebSocket subprotocols [" + offered +
                           "] are not supported by the node's runtime; use SPDY/3.1"));
  }
  auto pod = deps_.read_pod(ns, name);
  if (!pod.ok()) return WriteError(*ex, pod.error());

  std::string target;
  if (subresource == "portforward") {
    target = "/portForward/" + PathEscape(ns) + "/" + PathEscape(name);
  } else {
    auto container = ValidateContainer(*pod, std::string(req.Query("container")));
    if (!container.ok()) return WriteError(*ex, container.error());
    if (log) {
      auto query = LogQuery(req, name);
      if (!query.ok()) return WriteError(*ex, query.error());
      const json::object* cs = ContainerStatus(*pod, *container);
      const json::object* state = cs ? Obj(*cs, "state") : nullptr;
      const json::object* waiting = state ? Obj(*state, "waiting") : nullptr;
      const json::object* last = cs ? Obj(*cs, "lastState") : nullptr;
      if (req.QueryBool("previous")) {
        if (cs && (!last || !Obj(*last, "terminated"))) {
          return WriteError(*ex,
                            api::NewBadRequest("previous terminated container \"" + *container +
                                               "\" in pod \"" + name + "\" not found"));
        }
      } else if (waiting && Str(cs, "containerID").empty() &&
                 (!last || !Obj(*last, "terminated"))) {
        return WriteError(*ex,
                          api::NewBadRequest("container \"" + *container + "\" in pod \"" + name +
                                             "\" is waiting to start: " + Str(waiting, "reason")));
      }
      target = "/containerLogs/" + PathEscape(ns) + "/" + PathEscape(name) + "/" +
               PathEscape(*container) + *query;
    } else {
      const std::string phase = Str(Obj(*pod, "status"), "phase");
      if (phase == "Succeeded" || phase == "Failed") {
        return WriteError(*ex, api::NewBadRequest("cannot " + subresource +
                                                  " into a container in a completed pod; "
                                                  "current phase is " +
                                                  phase));
      }
      std::string query;
      for (const auto& [k, v] : req.query) {
        if (k == "command" || k == "stdin" || k == "stdout" || k == "stderr" || k == "tty") {
          query += (query.empty() ? "?" : "&") + k + "=" + QueryEscape(v);
        }
      }
      target = "/" + subresource + "/" + PathEscape(ns) + "/" + PathEscape(name) + "/" +
               PathEscape(*container) + query;
    }
  }

  const std::string node_name = Str(Obj(*pod, "spec"), "nodeName");
  if (node_name.empty()) {
    // As upstream: the log of a pod not yet scheduled is empty; nothing else can start.
    if (log) {
      HttpResponse empty;
      empty.content_type = "text/plain";
      return ex->Respond(std::move(empty));
    }
    return WriteError(*ex, api::NewBadRequest("pod " + name + " does not have a host assigned"));
  }
  auto node = deps_.read_node(node_name);
  if (!node.ok()) return WriteError(*ex, node.error());
  auto kubelet = KubeletOf(*node);
  if (!kubelet.ok()) return WriteError(*ex, kubelet.error());

  // A translated session asks the kubelet for SPDY/3.1, which is a POST.
  const std::string method = log ? "GET" : translator ? "POST" : req.method;
  auto now = deps_.clock->Now();
  const int64_t iat =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::object claims{{"iss", deps_.issuer},
                      {"sub", kubelet::kApiServerSubject},
                      {"aud", json::array{kubelet::kKubeletAudience}},
                      {"iat", iat},
                      {"nbf", iat},
                      {"exp", iat + 60},
                      {"jti", api::NewUid()},
                      {kubelet::kRequestClaim, method + " " + target}};
  auto token = deps_.signer->Sign(claims);
  if (!token.ok()) return WriteError(*ex, api::ApiError::FromStatus(token.status()));

  ProxyTarget t;
  t.host = kubelet->host;
  t.port = kubelet->port;
  t.target = std::move(target);
  t.headers.emplace_back("Authorization", "Bearer " + *token);
  if (log) return proxy_->Forward(std::move(t), std::move(ex));
  if (translator) {
    return proxy_->ForwardTranslated(std::move(t), req, std::move(ex), std::move(translator));
  }
  proxy_->ForwardUpgrade(std::move(t), req, std::move(ex));
}

}  // namespace keelson::apiserver
