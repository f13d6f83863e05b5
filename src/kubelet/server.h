// The kubelet's server (--address, --kubelet-port): upstream kubelet's streaming endpoints,
// which the API server forwards pods/log, exec, attach and portforward to.
//
//   GET /containerLogs/{ns}/{pod}/{container}?follow&previous&tailLines&sinceSeconds
//       &sinceTime&timestamps&limitBytes
//       The container's CRI log file (cri_log.h) as text; `previous` reads the container of
//       the attempt before the current one; `follow` streams until the container exits.
//   GET|POST /exec/{ns}/{pod}/{container}?command=...&stdin&stdout&stderr&tty
//   GET|POST /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty
//   GET|POST /portForward/{ns}/{pod}
//       Upgrade requests (SPDY/3.1, or WebSocket with the subprotocols the runtime offers):
//       the session is asked of the runtime (CRI Exec, Attach, PortForward) and the
//       connection forwarded to the URL of the runtime's streaming server, as upstream
//       kubelet does.
//   GET /healthz
//
// Every path but /healthz needs the API server's token (server_auth.h); others get 401.
// Errors are Status objects: 400 for bad parameters, 404 for a pod or container the runtime
// does not have, 503 when the runtime cannot be reached.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "kubelet/cri/runtime.h"
#include "kubelet/server_auth.h"

namespace keelson::kubelet {

struct KubeletServerOptions {
  std::string address = "0.0.0.0";
  int port = 10250;  // 0: any free port
};

class KubeletServer {
 public:
  // Binds and serves; `runtime` must outlive the server. Unavailable when the address cannot
  // be bound.
  static Result<std::unique_ptr<KubeletServer>> Start(
      const KubeletServerOptions& options, cri::Runtime* runtime,
      std::shared_ptr<RequestAuthenticator> authenticator);
  virtual ~KubeletServer() = default;

  virtual int port() const = 0;
  // Stops serving; open log streams end, forwarded sessions are closed.
  virtual void Stop() = 0;
};

}  // namespace keelson::kubelet
