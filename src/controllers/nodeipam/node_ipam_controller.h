// The node IPAM controller (upstream's nodeipam with the RangeAllocator): with
// --allocate-node-cidrs, every node gets spec.podCIDR and spec.podCIDRs, one block of
// --node-cidr-mask-size-ipv4 (or -ipv6) bits from each CIDR of --cluster-cidr (one IPv4
// and/or one IPv6, in that flag's order).
//
// The state is the nodes: when the controller starts, every block a node holds is marked used
// in the bitmaps (cidr_set.h) before any is handed out, so a restart (or a new leader) never
// hands out a block twice; a deleted node's blocks are freed. A node is patched once (the API
// keeps podCIDRs immutable). When a cluster CIDR has no block left the node gets the event
// CIDRNotAvailable ("Node NAME status is now: CIDRNotAvailable", as "cidrAllocator") and is
// retried with the work queue's backoff.
//
// Bad settings are errors of the factory: no --cluster-cidr, a CIDR that does not parse, two
// of one family or more than two, a node mask shorter than its cluster CIDR's prefix (or one
// that makes more blocks than the bitmap keeps). Without --allocate-node-cidrs the factory
// makes no controller (as upstream, which does not start it).
//
// Threads: 4 workers.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewNodeIpamController(ControllerContext& ctx);

}  // namespace keelson::controllers
