// The Service proxy's flags, shared by `keelson proxy`, `keelson agent` and `keelson server`
// (whose nodes run the proxy), with upstream kube-proxy's names where it has them.
#pragma once

#include <string>

#include "client/rest_client.h"
#include "cmd/flags.h"
#include "proxy/proxy.h"

namespace keelson::cmd {

struct ProxyFlags {
  proxy::ProxyOptions options;
  std::string healthz_bind_address = "0.0.0.0:10256";
  bool keep_rules = false;
  bool disable = false;  // --disable-kube-proxy (agent and server only)
};

// `with_disable`: also --disable-kube-proxy; `with_cluster_cidr`: also --cluster-cidr (the
// server has its own, the controller manager's, which it gives the proxy).
void AddProxyFlags(FlagSet* flags, ProxyFlags* p, bool with_disable, bool with_cluster_cidr);
// Checks the flags and completes the options (health address, cleanup). InvalidArgument
// naming the flag.
Status FinishProxyFlags(ProxyFlags* p);
// The node's pod CIDRs, read from its Node object (waiting up to `wait` for the controller
// manager to assign them); empty when it has none.
std::vector<std::string> NodePodCidrs(client::RestClient* client, const std::string& node,
                                      std::chrono::seconds wait);

}  // namespace keelson::cmd
