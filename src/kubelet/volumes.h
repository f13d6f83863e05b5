// Pod volumes on the node: each volume of a pod becomes a directory (or file) under
// <data_dir>/pods/<pod uid>/volumes/<volume name>, which containers' volumeMounts bind into
// them through the CRI.
//
//   emptyDir    a directory; medium Memory a tmpfs (sized by sizeLimit)
//   hostPath    the host's path itself, checked (or created) as its type says
//   configMap,  files written by the atomic writer, as upstream's: the payload lives in a
//   secret,     timestamped directory "..<time>", "..data" is a symlink to it, and every
//   downwardAPI top-level name is a symlink through "..data"; an update writes a new payload
//   projected   and swaps "..data" in one rename(2), so a reader never sees half an update.
//               Secrets (and projected volumes holding them) live on a tmpfs.
// Volumes are set up before the pod's sandbox and refreshed on every sync of the pod, so a
// changed ConfigMap or Secret (or the pod's labels and annotations) reaches running containers.
//
// Thread-safety: calls for one pod are serialized by the caller (the kubelet's pod worker);
// calls for different pods may run at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/object.h"
#include "common/status.h"
#include "kubelet/pod_model.h"

namespace keelson::kubelet {

// Reads the service account tokens projected volumes ask for.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A token for the pod's service account with `audience` ("" for the API's) valid for
  // `expiration_seconds`, bound to the pod.
  virtual Result<std::string> ServiceAccountToken(const api::Object& pod,
                                                  const std::string& audience,
                                                  int64_t expiration_seconds) = 0;
};

class VolumeManager {
 public:
  // Volumes live under `pods_dir`/<uid>/volumes.
  VolumeManager(std::string pods_dir, ObjectSource* objects, TokenSource* tokens,
                const NodeFacts* node)
      : pods_dir_(std::move(pods_dir)), objects_(objects), tokens_(tokens), node_(node) {}

  // Creates or refreshes every volume of `pod`. Errors name the volume and say why, as
  // upstream's FailedMount events do: `configmap "x" not found` for a reference that is not
  // optional, a hostPath of the wrong type, a malformed item.
  Status SetUp(const api::Object& pod);

  // The CRI mounts of `container` (its volumeMounts, subPath resolved, subPathExpr expanded
  // with `env`, the container's environment). InvalidArgument for a mount of a volume the pod
  // does not have, a subPath leaving the volume, or a subPathExpr naming a variable the
  // environment lacks.
  Result<std::vector<v1::Mount>> Mounts(const api::Object& pod,
                                        const boost::json::object& container,
                                        const EnvList& env = {});

  // Writes the pod's /etc/hosts (`content`, ManagedHostsFile) to <pods_dir>/<uid>/etc-hosts
  // when it differs (atomically: readers never see half of it) and gives its mount.
  Result<v1::Mount> EtcHostsMount(const std::string& uid, const std::string& content);

  // Unmounts and removes the volumes of pod `uid`; Ok when there were none.
  Status TearDown(const std::string& uid);
  // The uids of pods that have volume directories on the node.
  std::vector<std::string> PodsWithVolumes() const;

  std::string VolumeDir(const std::string& uid, const std::string& volume) const;

 private:
  Status SetUpVolume(const api::Object& pod, const boost::json::object& volume);

  const std::string pods_dir_;
  ObjectSource* const objects_;
  TokenSource* const tokens_;
  const NodeFacts* const node_;
};

// One file of an atomically written volume.
struct VolumeFile {
  std::string path;  // relative, e.g. "config/app.yaml"
  std::string data;
  int mode = 0644;
};

// Writes `files` into `dir` with the atomic-writer layout (see above), replacing what a
// previous call wrote; unchanged payloads are left as they are. InvalidArgument for a path
// that is absolute, has "..", or starts with "..".
Status WriteAtomically(const std::string& dir, const std::vector<VolumeFile>& files);

}  // namespace keelson::kubelet
