// Flags of a real node, shared by `keelson kubelet`, `keelson agent` and the
// local node of `keelson server`, with upstream kubelet's names where it has
// them.
#pragma once

#include "cmd/flags.h"
#include "kubelet/node.h"

namespace keelson::cmd {

// --node-name, --node-ip, --data-dir, --node-labels, --register-with-taints,
// --max-pods, --eviction-hard, --container-log-max-size, --container-log-max-files,
// --pod-manifest-path, --system-reserved, --container-runtime-endpoint, --containerd,
// --pause-image, --images,
// --cluster-dns, --cluster-domain, --resolv-conf, --cni-bin-dir,
// --cni-conf-dir, --cni-bridge, --kubelet-port, --address. `with_data_dir` false leaves
// --data-dir out (`keelson server` has its own and puts the node's state under it).
void AddNodeFlags(FlagSet* flags, kubelet::NodeOptions* options, bool with_data_dir = true);

// Defaults that depend on where keelson runs: the images built beside the
// binary
// (<dir of keelson>/images/*.tar) are imported unless --images says otherwise.
void DefaultNodeImages(kubelet::NodeOptions* options);

}  // namespace keelson::cmd
