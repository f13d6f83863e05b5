// The pods' streaming subresources, forwarded to the kubelet of the pod's node as upstream's
// API server does (pkg/registry/core/pod/rest/log.go, subresources.go):
//
//   GET  pods/NAME/log?container&follow&previous&tailLines&sinceSeconds&sinceTime&timestamps
//        &limitBytes                      -> GET  /containerLogs/NS/NAME/CONTAINER?...
//   GET|POST pods/NAME/exec?command&container&stdin&stdout&stderr&tty (an upgrade)
//                                         -> /exec/NS/NAME/CONTAINER?...
//   GET|POST pods/NAME/attach?container&stdin&stdout&stderr&tty -> /attach/NS/NAME/CONTAINER
//   GET|POST pods/NAME/portforward        -> /portForward/NS/NAME
//
// The options are checked as upstream checks them (the container is required when the pod
// has several, and must be one of the pod's; PodLogOptions ranges; exec needs a running pod
// on a node), then the request goes to the node's kubelet (status.addresses InternalIP, then
// ExternalIP, then Hostname, at status.daemonEndpoints.kubeletEndpoint.Port) with a bearer
// token minted for that one request (kubelet/server_auth.h says what it holds). Upgrades are
// forwarded byte for byte once the kubelet (that is, the runtime's streaming server) accepts
// them, so every protocol the runtime speaks works end to end: SPDY/3.1 with
// v4.channel.k8s.io and earlier (kubectl 1.27–1.29) and portforward.k8s.io, and WebSocket
// with channel.k8s.io up to v4 (client libraries). A WebSocket upgrade offering a
// subprotocol the runtime lacks (kubectl 1.30+'s v5.channel.k8s.io, 1.31+'s
// SPDY/3.1+portforward.k8s.io) is translated: the kubelet is asked
// for SPDY/3.1 and the session carried through a StreamTranslator (stream_translator.h), as
// upstream's API server does. Any other WebSocket subprotocol the runtime lacks is answered
// 400 BadRequest at once (docs/kubelet.md, "Streaming").
//
// Thread-safety: Serve() may be called from any thread at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/errors.h"
#include "api/object.h"
#include "apiserver/http.h"
#include "common/clock.h"

namespace keelson::apiserver {

class StreamProxy;
class TokenSigner;

struct PodStreamsDeps {
  // The pod and the node as the store has them (NotFound errors as upstream's).
  std::function<api::ApiResult<api::Object>(const std::string& ns, const std::string& name)>
      read_pod;
  std::function<api::ApiResult<api::Object>(const std::string& name)> read_node;
  std::shared_ptr<const TokenSigner> signer;  // mints the kubelet tokens
  std::string issuer;                         // their `iss`
  std::shared_ptr<const Clock> clock;
};

class PodStreams {
 public:
  explicit PodStreams(PodStreamsDeps deps);
  ~PodStreams();

  static bool Serves(std::string_view subresource) {
    return subresource == "log" || subresource == "exec" || subresource == "attach" ||
           subresource == "portforward";
  }

  // Answers a request for pods/NAME/`subresource` in `ns` through `ex` (upgrades take the
  // connection over). Reads the pod and its node, so it may block briefly: call it off the
  // HTTP threads.
  void Serve(const HttpRequest& req, const std::string& ns, const std::string& name,
             const std::string& subresource, std::shared_ptr<Exchange> ex);

  // Closes the forwarded sessions.
  void Stop();

  // Upstream's counters of translated sessions by the answer's code, in Prometheus text:
  // apiserver_stream_translator_requests_total (exec and attach over WebSocket v5) and
  // apiserver_stream_tunnel_requests_total (port-forward's SPDY in WebSocket).
  std::string MetricsText() const;

 private:
  class Counting;

  PodStreamsDeps deps_;
  std::unique_ptr<StreamProxy> proxy_;
  mutable std::mutex mu_;
  std::map<int, uint64_t> translator_codes_;  // guarded by mu_
  std::map<int, uint64_t> tunnel_codes_;      // guarded by mu_
};

}  // namespace keelson::apiserver
