// CidrSet: the pod CIDR blocks of one cluster CIDR (upstream's nodeipam/ipam/cidrset): a
// bitmap with one bit per node-sized block, allocated round-robin from the block after the
// last one handed out, occupied from what nodes already hold and released when they go.
//
// A value type; not thread-safe (the node IPAM controller holds it under its mutex).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keelson::controllers {

// An IPv4 or IPv6 network: the address (IPv4 in the low 32 bits) and its prefix length.
struct IpNet {
  unsigned __int128 ip = 0;
  int prefix = 0;
  bool v6 = false;

  int bits() const { return v6 ? 128 : 32; }
  // "10.244.3.0/24", "fd00:10:244:3::/64" (as Go prints them).
  std::string String() const;
  bool operator==(const IpNet&) const = default;
};

// Parses "ADDRESS/PREFIX" into its network (the address with the host bits cleared, as Go's
// net.ParseCIDR). InvalidArgument "invalid CIDR address: TEXT" otherwise.
Result<IpNet> ParseCidr(std::string_view text);

class CidrSet {
 public:
  // The blocks of `node_mask` bits in `cluster`. InvalidArgument when the node mask is
  // shorter than the cluster's prefix, or gives more blocks than the bitmap keeps (2^16 for
  // IPv6 as upstream, 2^24 for IPv4).
  static Result<CidrSet> New(const IpNet& cluster, int node_mask);

  // The next free block, marked used. ResourceExhausted with upstream's message when none is
  // left.
  Result<IpNet> AllocateNext();
  // Marks every block `cidr` covers as used (a no-op for those already used).
  // InvalidArgument when `cidr` is outside the cluster CIDR or of the other family.
  Status Occupy(const IpNet& cidr);
  // Marks every block `cidr` covers as free. Errors as Occupy.
  Status Release(const IpNet& cidr);

  const IpNet& cluster() const { return cluster_; }
  int node_mask() const { return node_mask_; }
  uint64_t allocated() const { return allocated_; }
  uint64_t max_blocks() const { return max_; }

 private:
  CidrSet(IpNet cluster, int node_mask);
  // The first and last block `cidr` covers.
  Result<std::pair<uint64_t, uint64_t>> Range(const IpNet& cidr) const;
  IpNet Block(uint64_t index) const;
  bool Used(uint64_t i) const { return (bits_[i / 64] >> (i % 64)) & 1; }
  void Set(uint64_t i, bool used);

  IpNet cluster_;
  int node_mask_ = 0;
  uint64_t max_ = 0;
  uint64_t allocated_ = 0;
  uint64_t next_candidate_ = 0;
  std::vector<uint64_t> bits_;
};

}  // namespace keelson::controllers
