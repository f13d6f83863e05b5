#include "kubelet/netdev.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace keelson::kubelet {

bool Ipv4InCidr(const std::string& address, const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  int bits = std::atoi(cidr.c_str() + slash + 1);
  if (bits < 0 || bits > 32) return false;
  in_addr net{}, addr{};
  if (inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &net) != 1) return false;
  if (inet_pton(AF_INET, address.c_str(), &addr) != 1) return false;
  uint32_t mask = bits == 0 ? 0 : htonl(~uint32_t{0} << (32 - bits));
  return (net.s_addr & mask) == (addr.s_addr & mask);
}

Status ResetStaleBridge(const std::string& name, const std::string& cidr) {
  if (cidr.find('/') == std::string::npos) return InvalidArgumentError("bad CIDR " + cidr);
  if (name.empty() || name.size() >= IFNAMSIZ) return InvalidArgumentError("bad bridge " + name);
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return InternalError(std::string("socket: ") + std::strerror(errno));
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  Status result;
  if (::ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
    char buf[INET_ADDRSTRLEN] = {};
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&ifr.ifr_addr);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
    if (!Ipv4InCidr(buf, cidr)) {
      // Down, then delete (a bridge cannot be deleted while up).
      struct ifreq flags {};
      std::strncpy(flags.ifr_name, name.c_str(), IFNAMSIZ - 1);
      if (::ioctl(fd, SIOCGIFFLAGS, &flags) == 0) {
        flags.ifr_flags &= ~IFF_UP;
        (void)::ioctl(fd, SIOCSIFFLAGS, &flags);
      }
      if (::ioctl(fd, SIOCBRDELBR, name.c_str()) != 0) {
        result = InternalError("deleting bridge " + name + " (address " + buf + ", not in " + cidr +
                               "): " + std::strerror(errno));
      }
    }
  }
  ::close(fd);
  return result;
}

}  // namespace keelson::kubelet
