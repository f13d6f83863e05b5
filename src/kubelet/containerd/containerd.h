// The node's own containerd: its generated configuration, the supervised
// process the kubelet talks to through the CRI, and image import into it.
//
// Layout. Everything lives under `<data_dir>/containerd/`:
//   config.toml            rewritten from ContainerdOptions at every Start
//   root/, state/          containerd's root and state directories (images, snapshots, tasks)
//   runc/                  runc's state for the CRI's containers
//   opt/                   for the opt plugin
//   containerd.sock        the gRPC (and CRI) socket; containerd.sock.ttrpc beside it
//   containerd.log         containerd's stdout and stderr, appended (moved to .log.1 past 10 MiB)
//   net.d/                 the CNI network config directory unless cni_conf_dir says otherwise
//   certs.d/               registry hosts: certs.d/<host[:port]>/hosts.toml (containerd's
//                          hosts.toml format) configures pulls from that registry: mirrors,
//                          plain HTTP, CAs, client certificates; read at every pull
//   supervisor.lock        held (flock) by the one ContainerdSupervisor of this data_dir
//
// Lifetime. On a real node containerd is a service of its own and keeps running
// while the kubelet restarts; k3s's agent instead runs it as a child that ends
// with the agent. Here containerd runs in a session of its own (setsid) so that
// it outlives the agent: when the supervisor is destroyed (the agent exits on
// SIGTERM) containerd is left running unless ContainerdOptions::stop_on_exit is
// set, and the next Start on the same data_dir adopts it (finds it by the
// socket, checks it runs our config.toml) instead of starting a second one.
// Containers never depend on containerd's lifetime: every container has its
// containerd-shim (a process group of its own, reparented when containerd
// exits), so the supervisor signals only the containerd process, never a
// process group, and containers keep running across a containerd restart, crash
// or stop.
//
// Thread-safety: ContainerdSupervisor's methods may be called from any thread;
// the free functions are thread-compatible and block until the `ctr` they run
// exits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace keelson::kubelet::containerd {

struct ContainerdOptions {
  // Required: the node's data directory; containerd's files go to
  // data_dir/containerd/. The socket path data_dir/containerd/containerd.sock
  // must fit in 100 bytes (a Unix socket path holds 107, and containerd adds
  // ".ttrpc").
  std::string data_dir;
  // containerd's executable: a path, or a name looked up on PATH. `ctr` is
  // looked up next to it first (CtrBinary()).
  std::string binary = "containerd";
  // Where the CNI plugins are, and where the CRI reads the network config from
  // (empty: data_dir/containerd/net.d, created by Start). Until a config is
  // there the CRI reports NetworkReady=false and cannot run pods.
  std::string cni_bin_dir = "/usr/lib/cni";
  std::string cni_conf_dir;
  // The image of every pod sandbox's init process; it must be in containerd's
  // k8s.io namespace already (ImportImages) when the node has no registry
  // access.
  std::string sandbox_image = "keelson.local/pause:3.10";
  std::string snapshotter = "overlayfs";
  // containerd's log level: trace, debug, info, warn, error.
  std::string log_level = "info";

  // How long containerd may take until its socket accepts connections (it needs
  // ~20 ms on an idle machine; much more when it recovers many containers).
  std::chrono::milliseconds start_timeout{std::chrono::seconds(15)};
  // Stop(): SIGTERM, then SIGKILL when containerd has not exited within this.
  std::chrono::milliseconds stop_grace{std::chrono::seconds(10)};
  // After an unexpected exit containerd is started again after a delay that
  // starts here and doubles up to restart_backoff_max; it starts over once
  // containerd has stayed up for backoff_reset.
  std::chrono::milliseconds restart_backoff_initial{250};
  std::chrono::milliseconds restart_backoff_max{std::chrono::seconds(30)};
  std::chrono::milliseconds backoff_reset{std::chrono::seconds(60)};
  // Whether destroying the supervisor stops containerd (see "Lifetime" above).
  bool stop_on_exit = false;
};

// containerd's config.toml (version 2) for `options`: root, state and socket
// under data_dir/containerd, the CRI plugin with the sandbox image, the CNI
// directories, the snapshotter, runc through io.containerd.runc.v2 with the
// cgroupfs driver (SystemdCgroup = false, as the kubelet uses cgroupfs) and a
// runc state root of its own, network namespaces under the state directory, the
// registry hosts directory data_dir/containerd/certs.d (CRI registry config_path),
// restrict_oom_score_adj, the streaming server on 127.0.0.1 with a port chosen
// by the kernel, and the snapshotters the node does not use disabled. Pure;
// `options.data_dir` must be set.
std::string RenderContainerdConfig(const ContainerdOptions& options);

// Runs containerd and keeps it running: restarts it with backoff when it exits
// while supervised. Owned by the caller (the node agent).
class ContainerdSupervisor {
 public:
  // Writes the config, then starts containerd (or adopts the one already
  // serving data_dir/containerd/containerd.sock with our config.toml; when that
  // config has changed it is stopped and started again so the change takes
  // effect) and returns once the socket accepts connections. Errors:
  // InvalidArgument for unusable options (no data_dir, socket path too long);
  // FailedPrecondition when the containerd binary is missing, another
  // supervisor holds this data_dir, or the socket is served by a process that
  // is not a containerd with our config; Unavailable when containerd exited or
  // did not open its socket within start_timeout (the message quotes the end of
  // containerd.log); Internal for file system errors.
  static Result<std::unique_ptr<ContainerdSupervisor>> Start(ContainerdOptions options);

  // Stops containerd when options.stop_on_exit, else leaves it running
  // (Detach()).
  ~ContainerdSupervisor();

  ContainerdSupervisor(const ContainerdSupervisor&) = delete;
  ContainerdSupervisor& operator=(const ContainerdSupervisor&) = delete;

  // "unix:///<data_dir>/containerd/containerd.sock": the CRI and containerd API
  // endpoint.
  std::string Endpoint() const;
  const std::string& SocketPath() const;
  const std::string& LogPath() const;
  const std::string& ConfigPath() const;
  // The `ctr` that belongs to this containerd (next to its binary, else on
  // PATH).
  const std::string& CtrBinary() const;

  // containerd's pid, or 0 while it is down (between an exit and its restart,
  // or stopped).
  pid_t Pid() const;
  // How many times containerd has been started again after an unexpected exit.
  int Restarts() const;
  // Whether the containerd now running was found running at Start (adopted)
  // rather than started by this supervisor.
  bool Adopted() const;

  // Waits until containerd's socket accepts connections (right after a restart
  // the socket lags the pid). Unavailable on timeout; FailedPrecondition once
  // stopped or detached. Note: a connectable socket means containerd's plugins
  // are loaded; the CRI may still answer "server is not initialized yet" for a
  // few milliseconds after that.
  Status WaitReady(std::chrono::milliseconds timeout) const;

  // Stops supervising and terminates containerd: SIGTERM, SIGKILL after
  // stop_grace. Running containers are untouched (their shims are separate
  // processes). Idempotent; Internal when containerd survived SIGKILL.
  Status Stop();
  // Stops supervising and leaves containerd running, for the next Start to
  // adopt. Idempotent; after it Stop() does nothing.
  void Detach();

 private:
  class Impl;
  explicit ContainerdSupervisor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct CtrOptions {
  // The ctr executable: a path or a name on PATH
  // (ContainerdSupervisor::CtrBinary() gives the one that belongs to the
  // supervised containerd).
  std::string ctr_binary = "ctr";
  // The containerd namespace; the CRI sees only k8s.io.
  std::string ns = "k8s.io";
  // What import unpacks into: the CRI's snapshotter
  // (ContainerdOptions::snapshotter), or the CRI cannot create containers from
  // the image.
  std::string snapshotter = "overlayfs";
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

// Imports every image of an OCI image archive or a `docker save` archive into
// containerd at `containerd_endpoint` ("unix:///path" or a path) and unpacks it
// for the CRI, by running `ctr images import`. Images already present are
// replaced by the archive's. Errors: NotFound when the archive does not exist;
// FailedPrecondition when ctr is missing; Unavailable when containerd does not
// answer on the endpoint; DeadlineExceeded after options.timeout; Internal with
// ctr's message for anything else (e.g. not an image archive).
Status ImportImages(const std::string& containerd_endpoint, const std::string& archive_path,
                    const CtrOptions& options = {});

// The names of the images in the namespace (`ctr images ls -q`), sorted; the
// CRI's own "sha256:<id>" references are included. Errors as ImportImages.
Result<std::vector<std::string>> ListImageNames(const std::string& containerd_endpoint,
                                                const CtrOptions& options = {});

}  // namespace keelson::kubelet::containerd
