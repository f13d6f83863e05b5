#include "controllers/nodeipam/cidr_set.h"

#include <arpa/inet.h>

#include <charconv>

namespace keelson::controllers {

namespace {

using u128 = unsigned __int128;

u128 Mask(int prefix, int bits) {
  if (prefix <= 0) return 0;
  u128 all = bits == 128 ? ~u128(0) : (u128(1) << 32) - 1;
  return prefix >= bits ? all : all & ~(((u128(1) << (bits - prefix)) - 1));
}

}  // namespace

std::string IpNet::String() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (v6) {
    unsigned char bytes[16];
    for (int i = 0; i < 16; ++i) bytes[i] = static_cast<unsigned char>(ip >> (8 * (15 - i)));
    inet_ntop(AF_INET6, bytes, buf, sizeof(buf));
  } else {
    unsigned char bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<unsigned char>(ip >> (8 * (3 - i)));
    inet_ntop(AF_INET, bytes, buf, sizeof(buf));
  }
  return std::string(buf) + "/" + std::to_string(prefix);
}

Result<IpNet> ParseCidr(std::string_view text) {
  auto bad = [&] { return InvalidArgumentError("invalid CIDR address: " + std::string(text)); };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad();
  std::string addr(text.substr(0, slash));
  std::string_view len = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || end != len.data() + len.size() || len.empty() || len[0] == '-') {
    return bad();
  }
  IpNet net;
  unsigned char bytes[16];
  if (inet_pton(AF_INET, addr.c_str(), bytes) == 1) {
    for (int i = 0; i < 4; ++i) net.ip = (net.ip << 8) | bytes[i];
  } else if (inet_pton(AF_INET6, addr.c_str(), bytes) == 1) {
    net.v6 = true;
    for (int i = 0; i < 16; ++i) net.ip = (net.ip << 8) | bytes[i];
  } else {
    return bad();
  }
  if (prefix < 0 || prefix > net.bits()) return bad();
  net.prefix = prefix;
  net.ip &= Mask(prefix, net.bits());
  return net;
}

CidrSet::CidrSet(IpNet cluster, int node_mask)
    : cluster_(cluster), node_mask_(node_mask),
      max_(uint64_t(1) << (node_mask - cluster.prefix)), bits_((max_ + 63) / 64, 0) {}

Result<CidrSet> CidrSet::New(const IpNet& cluster, int node_mask) {
  if (node_mask < cluster.prefix || node_mask > cluster.bits()) {
    return InvalidArgumentError("the node CIDR mask size " + std::to_string(node_mask) +
                                " does not fit in the cluster CIDR " + cluster.String());
  }
  const int max_diff = cluster.v6 ? 16 : 24;
  if (node_mask - cluster.prefix > max_diff) {
    return InvalidArgumentError("New CIDR set failed; the node CIDR size is too big");
  }
  return CidrSet(cluster, node_mask);
}

IpNet CidrSet::Block(uint64_t index) const {
  IpNet n = cluster_;
  n.ip |= u128(index) << (cluster_.bits() - node_mask_);
  n.prefix = node_mask_;
  return n;
}

void CidrSet::Set(uint64_t i, bool used) {
  if (Used(i) == used) return;
  bits_[i / 64] ^= uint64_t(1) << (i % 64);
  allocated_ += used ? 1 : -1;
}

Result<IpNet> CidrSet::AllocateNext() {
  if (allocated_ == max_) {
    return Status(StatusCode::kResourceExhausted,
                  "CIDR allocation failed; there are no remaining CIDRs left to allocate in the "
                  "accepted range");
  }
  uint64_t candidate = next_candidate_;
  for (uint64_t i = 0; i < max_ && Used(candidate); ++i) candidate = (candidate + 1) % max_;
  next_candidate_ = (candidate + 1) % max_;
  Set(candidate, true);
  return Block(candidate);
}

Result<std::pair<uint64_t, uint64_t>> CidrSet::Range(const IpNet& cidr) const {
  const int bits = cluster_.bits();
  const bool overlaps =
      cidr.v6 == cluster_.v6 &&
      ((cidr.ip & Mask(cluster_.prefix, bits)) == cluster_.ip ||
       (cluster_.ip & Mask(cidr.prefix, bits)) == (cidr.ip & Mask(cidr.prefix, bits)));
  if (!overlaps) {
    return InvalidArgumentError("cidr " + cidr.String() + " is out the range of cluster cidr " +
                                cluster_.String());
  }
  if (cidr.prefix <= cluster_.prefix) return std::pair<uint64_t, uint64_t>(0, max_ - 1);
  const int shift = bits - node_mask_;
  auto index = [&](u128 ip) -> uint64_t {
    return static_cast<uint64_t>(((ip ^ cluster_.ip) & ~Mask(cluster_.prefix, bits) &
                                  Mask(bits, bits)) >>
                                 shift);
  };
  u128 first = cidr.ip & Mask(node_mask_, bits);
  u128 last = (cidr.ip | (Mask(bits, bits) & ~Mask(cidr.prefix, bits))) & Mask(node_mask_, bits);
  return std::pair<uint64_t, uint64_t>(index(first), index(last));
}

Status CidrSet::Occupy(const IpNet& cidr) {
  auto r = Range(cidr);
  if (!r.ok()) return r.status();
  for (uint64_t i = r->first; i <= r->second; ++i) Set(i, true);
  return Status::Ok();
}

Status CidrSet::Release(const IpNet& cidr) {
  auto r = Range(cidr);
  if (!r.ok()) return r.status();
  for (uint64_t i = r->first; i <= r->second; ++i) Set(i, false);
  return Status::Ok();
}

}  // namespace keelson::controllers
