// The cluster DNS of `keelson server`, as k3s and kubeadm set it up: the server runs the DNS
// server (dns/dns_server.h) on the host, and publishes the `kube-dns` Service in kube-system
// on the cluster DNS ClusterIP (10.43.0.10 by default) with an EndpointSlice pointing at the
// host's address and the DNS server's port, so that every node's Service proxy sends pods'
// queries to it.
#pragma once

#include <string>

#include "client/rest_client.h"
#include "common/status.h"

namespace keelson::cmd {

// Creates (or brings up to date) kube-system/kube-dns on `service_ip` (ports 53 UDP "dns" and
// TCP "dns-tcp" as upstream's manifests name them, without a selector) and the EndpointSlice
// `slice_name` with `endpoint_ip`:`port` for them.
Status PublishClusterDns(client::RestClient* client, const std::string& service_ip,
                         const std::string& endpoint_ip, int port, const std::string& slice_name);

}  // namespace keelson::cmd

namespace keelson::cmd {
// The address upstream's installers give the cluster DNS: the tenth of the Service range
// ("10.43.0.0/16" -> "10.43.0.10"); "" when `service_cidr` is no IPv4 CIDR.
std::string ClusterDnsAddress(const std::string& service_cidr);
}  // namespace keelson::cmd
