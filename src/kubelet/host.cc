#include "kubelet/host.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace keelson::kubelet {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::string GoArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "armv7l" || machine == "armv6l") return "arm";
  if (machine == "i686" || machine == "i386") return "386";
  return machine;  // ppc64le, s390x, riscv64 are spelled alike
}

void FilesystemSize(const std::string& dir, int64_t* capacity, int64_t* available) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) != 0) return;
  *capacity = static_cast<int64_t>(st.f_blocks) * static_cast<int64_t>(st.f_frsize);
  *available = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

}  // namespace

int64_t MeminfoBytes(const std::string& meminfo, const std::string& key) {
  std::istringstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0 ||
        line[key.size()] != ':') {
      continue;
    }
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t value = 0;
    std::string unit;
    if (!(fields >> value)) return -1;
    fields >> unit;
    return unit == "kB" ? value * 1024 : value;
  }
  return -1;
}

std::string OsReleaseValue(const std::string& os_release, const std::string& key) {
  std::istringstream in(os_release);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size() + 1, key + "=") != 0) continue;
    std::string v = Trim(line.substr(key.size() + 1));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    return v;
  }
  return "";
}

Result<HostInfo> ReadHost(const std::string& data_dir) {
  HostInfo h;
  std::string meminfo = ReadFileOrEmpty("/proc/meminfo");
  if (meminfo.empty()) return UnavailableError("cannot read /proc/meminfo");
  h.memory_bytes = MeminfoBytes(meminfo, "MemTotal");

  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    h.cpus = CPU_COUNT(&set);
  } else {
    h.cpus = sysconf(_SC_NPROCESSORS_ONLN);
  }

  int64_t available = 0;
  FilesystemSize(data_dir, &h.ephemeral_storage_bytes, &available);

  struct utsname u {};
  if (uname(&u) == 0) {
    h.kernel_version = u.release;
    h.architecture = GoArch(u.machine);
    h.hostname = u.nodename;
  }
  std::transform(h.hostname.begin(), h.hostname.end(), h.hostname.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string os = ReadFileOrEmpty("/etc/os-release");
  if (os.empty()) os = ReadFileOrEmpty("/usr/lib/os-release");
  h.os_image = OsReleaseValue(os, "PRETTY_NAME");
  if (h.os_image.empty()) h.os_image = "Linux";
  h.machine_id = Trim(ReadFileOrEmpty("/etc/machine-id"));
  h.boot_id = Trim(ReadFileOrEmpty("/proc/sys/kernel/random/boot_id"));
  h.system_uuid = Trim(ReadFileOrEmpty("/sys/class/dmi/id/product_uuid"));

  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (auto* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
      if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
      // The bridges of pod networks are not the node's address.
      std::string name = a->ifa_name;
      if (name.rfind("cni", 0) == 0 || name.rfind("keelson", 0) == 0 ||
          name.rfind("veth", 0) == 0 || name.rfind("docker", 0) == 0) {
        continue;
      }
      char buf[INET_ADDRSTRLEN];
      auto* sin = reinterpret_cast<struct sockaddr_in*>(a->ifa_addr);
      if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)) != nullptr) {
        h.addresses.emplace_back(buf);
      }
    }
    freeifaddrs(list);
  }
  return h;
}

Result<HostPressure> ReadPressure(const std::string& data_dir) {
  HostPressure p;
  std::string meminfo = ReadFileOrEmpty("/proc/meminfo");
  if (meminfo.empty()) return UnavailableError("cannot read /proc/meminfo");
  p.memory_available_bytes = MeminfoBytes(meminfo, "MemAvailable");
  FilesystemSize(data_dir, &p.nodefs_capacity_bytes, &p.nodefs_available_bytes);
  p.pid_max = std::atoll(ReadFileOrEmpty("/proc/sys/kernel/pid_max").c_str());
  if (DIR* d = opendir("/proc")) {
    while (auto* e = readdir(d)) {
      if (std::isdigit(static_cast<unsigned char>(e->d_name[0]))) ++p.pids_in_use;
    }
    closedir(d);
  }
  return p;
}

}  // namespace keelson::kubelet
