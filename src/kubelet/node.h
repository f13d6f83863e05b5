// A real node: the kubelet with its container runtime. Unless an existing
// runtime endpoint is given, it starts (or adopts) the node's own containerd
// (containerd/containerd.h), imports the image archives it is told about (the
// pause image among them, so a node needs no registry), then runs the kubelet
// against the API server, and the kubelet's server (server.h: logs, exec, attach,
// port-forward for the API server) on --address and --kubelet-port.
//
// `keelson kubelet`, `keelson agent` and the local node of `keelson server` are
// this.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "client/rest_client.h"
#include "common/status.h"
#include "kubelet/containerd/containerd.h"
#include "kubelet/kubelet.h"

namespace keelson::kubelet {

struct NodeOptions {
  KubeletOptions kubelet;
  // The CRI socket of a runtime that runs already
  // ("unix:///run/containerd/containerd.sock"); when empty the node runs its
  // own containerd under kubelet.data_dir.
  std::string container_runtime_endpoint;
  // The node's own containerd (its data_dir and cni_conf_dir are taken from
  // kubelet's).
  containerd::ContainerdOptions containerd;
  // Image archives (OCI or docker) imported into the runtime at start: files,
  // or directories whose *.tar files are imported. A missing path is an error;
  // a bad archive is logged.
  std::vector<std::string> image_archives;
  // The kubelet's server: where it listens (port 0 picks a free one; the Node reports the
  // port it got in daemonEndpoints, kubelet.kubelet_port).
  std::string address = "0.0.0.0";
};

class Node {
 public:
  // Starts the runtime (or connects to it), imports the images, and starts the
  // kubelet through `client` (which must outlive the node). Errors: the runtime
  // cannot be started or reached (Unavailable), bad options (InvalidArgument).
  static Result<std::unique_ptr<Node>> Start(client::RestClient* client, NodeOptions options);
  virtual ~Node() = default;

  virtual Kubelet* kubelet() = 0;
  virtual cri::Runtime* runtime() = 0;
  // The runtime's CRI endpoint.
  virtual std::string RuntimeEndpoint() const = 0;
  // The port the kubelet's server listens on.
  virtual int KubeletPort() const = 0;
  // Stops the kubelet and its server; the node's containerd and the containers keep running
  // (see ContainerdOptions::stop_on_exit), so a restarted node adopts them.
  virtual void Stop() = 0;
};

}  // namespace keelson::kubelet
