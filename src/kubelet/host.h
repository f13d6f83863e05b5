// What the kubelet reports about its host in the Node object: capacity (cpu,
// memory, ephemeral-storage, pods), nodeInfo (kernel, OS image, machine and
// boot ids), addresses and the current pressure signals (memory available, disk
// free, pids in use).
//
// Everything is read from the kernel's files (/proc, /sys, /etc/os-release,
// statvfs); the readers take the root to read under, so tests point them at a
// directory of their own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace keelson::kubelet {

struct HostInfo {
  std::string hostname;                 // lower-cased, as a node name
  int64_t cpus = 0;                     // online CPUs this process may use
  int64_t memory_bytes = 0;             // MemTotal
  int64_t ephemeral_storage_bytes = 0;  // size of the filesystem holding the data dir
  std::string kernel_version;           // uname -r
  std::string os_image;                 // PRETTY_NAME of os-release
  std::string machine_id;               // /etc/machine-id
  std::string boot_id;                  // /proc/sys/kernel/random/boot_id
  std::string system_uuid;              // /sys/class/dmi/id/product_uuid when readable
  std::string architecture;             // amd64, arm64, ... (GOARCH names)
  std::vector<std::string> addresses;   // IPv4 addresses of the interfaces that are up, not
                                        // loopback; the first is the InternalIP by default
};

// Reads the host. `data_dir` names the filesystem whose size is
// ephemeral-storage. Errors only when /proc cannot be read at all.
Result<HostInfo> ReadHost(const std::string& data_dir);

// The signals of node pressure (upstream's eviction signals memory.available,
// nodefs.available and pid.available).
struct HostPressure {
  int64_t memory_available_bytes = 0;  // MemAvailable
  int64_t nodefs_available_bytes = 0;  // free space of the data dir's filesystem
  int64_t nodefs_capacity_bytes = 0;
  int64_t pids_in_use = 0;
  int64_t pid_max = 0;
};
Result<HostPressure> ReadPressure(const std::string& data_dir);

// "MemTotal:  16384 kB" → bytes, for a /proc/meminfo text; -1 when the key is
// missing.
int64_t MeminfoBytes(const std::string& meminfo, const std::string& key);
// The value of KEY="..." (or KEY=...) in an os-release text; "" when missing.
std::string OsReleaseValue(const std::string& os_release, const std::string& key);

// A file's contents, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace keelson::kubelet
