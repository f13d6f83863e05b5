// The cluster DNS server (`keelson dns`; `keelson server` runs one too): authoritative for
// the cluster domain as the Kubernetes DNS specification says (records: dns/zone.h), fed by
// informers on Services, EndpointSlices and Namespaces, and forwarding every other name to
// the node's resolvers with a cache (dns/forwarder.h). UDP and TCP, EDNS0, truncation
// (dns/server.h). Design and limits: docs/dns.md.
//
// Usage:
//   auto dns = DnsServer::Start(client, {.listen = {"0.0.0.0:10053"}});
//   if (!dns.ok()) ...;
//   int port = (*dns)->Port();
//   ...
//   (*dns)->Stop();
//
// Thread-safety: Port() from any thread; Stop() once, from one thread (the destructor stops
// too).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "client/rest_client.h"
#include "common/status.h"

namespace keelson::dns {

struct DnsServerOptions {
  std::string cluster_domain = "cluster.local";
  // ADDRESS:PORT to listen on (UDP and TCP); port 0 takes a free port.
  std::vector<std::string> listen = {"0.0.0.0:53"};
  // Where the upstream resolvers are read from (its nameserver lines) ...
  std::string resolv_conf = "/etc/resolv.conf";
  // ... unless given here (ADDRESS or ADDRESS:PORT).
  std::vector<std::string> upstreams;
  int ttl_seconds = 5;
  // UDP sockets (and threads) per listen address, spread over by SO_REUSEPORT.
  int udp_workers = 2;
  // The largest UDP answer, whatever a client's EDNS size says (512..4096).
  int max_udp_size = 1232;
  // Forwarded answers kept.
  int cache_entries = 10000;
  int max_tcp_connections = 512;
  // How long Start() waits for the first list of Services (after that, names in the
  // cluster domain get SERVFAIL until it comes, as CoreDNS does).
  int sync_timeout_seconds = 5;
};

class DnsServer {
 public:
  // Checks the options, binds the sockets, starts the informers of `client` (which must
  // outlive the server; null serves an empty cluster zone, for tests) and the threads.
  // InvalidArgument for bad options (a cluster domain that is no DNS name, an address that
  // is not ADDRESS:PORT, an upstream that is no address), Unavailable when a port cannot be
  // bound. Without upstreams (none given, none in resolv_conf) other names are REFUSED.
  static Result<std::unique_ptr<DnsServer>> Start(client::RestClient* client,
                                                  DnsServerOptions options);
  virtual ~DnsServer() = default;
  // The port bound for the first listen address (UDP and TCP).
  virtual int Port() const = 0;
  // Stops answering, the informers and the threads. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace keelson::dns
