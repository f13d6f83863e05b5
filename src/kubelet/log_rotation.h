// Container log rotation by size, as upstream kubelet's container log manager
// (pkg/kubelet/logs) does it.
//
// The runtime writes each container's output to its CRI log file
// (ContainerStatus.log_path, <pods-log-dir>/<ns>_<pod>_<uid>/<container>/<attempt>.log).
// Every monitor interval (10 s) each running container is checked; when its file has reached
// the policy's max size:
//   1. leftovers of an earlier rotation that failed half-way are removed (`.tmp` files, and
//      uncompressed files whose `.gz` exists);
//   2. the oldest rotated files are removed so that at most max_files - 2 remain (with the
//      file about to be rotated and the new live file, max_files in all);
//   3. the remaining rotated files that are not compressed yet are gzipped to `<file>.gz`;
//   4. the live file is renamed to `<log>.<YYYYMMDD-HHMMSS>` (local time), and the runtime
//      is asked to reopen the container's log (CRI ReopenContainerLog), which creates a new
//      file at the log path; if that fails the file is renamed back, to be tried again.
// So the most recent rotated file stays uncompressed and the older ones are `.gz`, and a
// container never has more than max_files files. A live file that is missing is created
// through ReopenContainerLog. `kubectl logs` reads the live file only, as upstream's.
//
// Ownership: the manager borrows the runtime (which must outlive it) and owns its workers.
// Thread-safety: every method may be called from any thread; a container's files are changed
// by one thread at a time (rotation and Clean of the same container exclude each other).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "kubelet/cri/runtime.h"

namespace keelson::kubelet {

struct ContainerLogPolicy {
  // A live file of at least this many bytes is rotated (--container-log-max-size).
  int64_t max_size_bytes = 10 * 1024 * 1024;
  // The most files one container's log is kept in, the live file included
  // (--container-log-max-files); at least 2.
  int max_files = 5;
  // Containers checked at once (upstream's containerLogMaxWorkers); at least 1.
  int workers = 1;
  // How often RotateLogs is due (upstream's containerLogMonitorInterval); the kubelet calls
  // it this often.
  std::chrono::milliseconds monitor_interval{10000};
};

// InvalidArgument, with upstream's words, when the policy cannot be used.
Status ValidateContainerLogPolicy(const ContainerLogPolicy& policy);

class ContainerLogManager {
 public:
  // Starts `policy.workers` workers. InvalidArgument for a bad policy. `clock` names the
  // rotated files (the system's when null).
  static Result<std::unique_ptr<ContainerLogManager>> Start(cri::Runtime* runtime,
                                                            ContainerLogPolicy policy,
                                                            std::shared_ptr<const Clock> clock);
  virtual ~ContainerLogManager() = default;

  // Lists the runtime's running containers and queues each for a check by the workers
  // (a container already queued is queued once); returns without waiting for them. Errors:
  // the runtime's, when it cannot list.
  virtual Status RotateLogs() = 0;
  // Checks one container now, in the caller's thread, and rotates its log if it reached the
  // max size. Ok when there was nothing to do (no log path). Errors: the runtime's
  // (ContainerStatus, ReopenContainerLog), Internal for a file that could not be changed.
  virtual Status RotateContainerLog(const std::string& container_id) = 0;
  // Removes the container's log file and its rotated files, for a container about to be
  // removed. Errors: the runtime's (ContainerStatus), Internal when a file cannot be removed.
  virtual Status Clean(const std::string& container_id) = 0;
  // Containers checked by the workers so far (for tests and figures).
  virtual uint64_t Checked() const = 0;
  // Stops the workers (a check in progress finishes). Idempotent.
  virtual void Stop() = 0;
};

// The suffix of a rotated log's name: `now` as upstream's timestampFormat "20060102-150405",
// in local time.
std::string RotationTimestamp(Clock::WallTime now);

// The uid at the end of a pod log directory's name (<ns>_<pod>_<uid>), as upstream's
// parsePodUIDFromLogsDirectory.
std::string PodUidOfLogDirectory(const std::string& name);

// Removes the pod log directories under `pods_log_dir` (with the live and rotated logs of
// every container in them) whose pod uid `keep` does not want kept. Returns how many went.
int RemovePodLogDirectories(const std::string& pods_log_dir,
                            const std::function<bool(const std::string& uid)>& keep);

}  // namespace keelson::kubelet
