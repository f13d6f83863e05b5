// The node's network devices, as far as the kubelet touches them: the pod
// bridge the CNI bridge plugin creates.
#pragma once

#include <string>

#include "common/status.h"

namespace keelson::kubelet {

// Deletes bridge `name` when it carries an IPv4 address outside `cidr` (a
// bridge left from an earlier pod CIDR, which the bridge plugin would refuse to
// reuse). Ok when there is no such bridge or its address is in the CIDR.
// InvalidArgument for a malformed CIDR.
Status ResetStaleBridge(const std::string& name, const std::string& cidr);

// Whether IPv4 `address` ("10.42.0.1") lies in `cidr` ("10.42.0.0/24"); false
// when either is malformed.
bool Ipv4InCidr(const std::string& address, const std::string& cidr);

}  // namespace keelson::kubelet
