// Zone: the cluster's DNS records at one moment, as the Kubernetes DNS specification
// (kubernetes/dns docs/specification.md, schema 1.1.0) defines them, built from Services and
// their endpoints and then never changed: a new Zone replaces it when something changes, so
// readers on any number of threads need no lock.
//
// Served (TTL from ZoneOptions, <zone> the cluster domain):
//   <svc>.<ns>.svc.<zone>        A/AAAA: a ClusterIP Service's cluster IPs; a headless
//                                Service's ready endpoint addresses (none ready: NXDOMAIN);
//                                CNAME: an ExternalName Service's external name
//   <host>.<svc>.<ns>.svc.<zone> A/AAAA of a headless Service's ready endpoint, <host> its
//                                hostname or, without one, its address with dashes
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>
//                                SRV per named port (headless: per ready endpoint and port,
//                                targets <host>.<svc>...), target addresses as additional
//   <a>-<b>-<c>-<d>.<ns>.pod.<zone>
//                                A (AAAA for IPv6 with dashes) of the address in the name, for
//                                an existing namespace (the spec's deprecated pod records,
//                                CoreDNS's "pods insecure")
//   reverse names (in-addr.arpa, ip6.arpa) of cluster IPs and headless endpoint addresses:
//                                PTR to the names above
//   dns-version.<zone>           TXT "1.1.0"
//   <zone>                       SOA, NS ns.dns.<zone> (ns.dns.<zone>: A/AAAA of the Service
//                                kube-system/kube-dns)
// A name that exists without the type asked is NODATA (NOERROR, no answer, the SOA in the
// authority section); empty non-terminals (svc.<zone>, <ns>.svc.<zone> of an existing
// namespace, ...) exist. Other names in the zone are NXDOMAIN with the SOA. Names outside the
// zone, and reverse names of addresses the cluster does not know, are not ours (forwarded).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/message.h"
#include "dns/response.h"

namespace keelson::dns {

// The spec's version, served as TXT at dns-version.<zone>.
inline constexpr std::string_view kSchemaVersion = "1.1.0";

struct ZoneOptions {
  std::string domain = "cluster.local";
  uint32_t ttl = 5;
};

struct PortInfo {
  std::string name;      // "" for an unnamed port
  std::string protocol;  // "TCP", "UDP", "SCTP"
  int32_t port = 0;
};

// One endpoint of an EndpointSlice.
struct EndpointInfo {
  std::vector<std::string> addresses;  // IPv4 or IPv6 text
  std::string hostname;
  bool ready = true;
  std::vector<PortInfo> ports;  // its slice's ports
};

// What the zone needs of a Service (and, for a headless one, of its EndpointSlices).
struct ServiceInfo {
  enum class Kind { kClusterIp, kHeadless, kExternalName };
  std::string ns;
  std::string name;
  Kind kind = Kind::kClusterIp;
  std::vector<std::string> cluster_ips;  // IPv4 or IPv6 text
  std::string external_name;
  std::vector<PortInfo> ports;
  // spec.publishNotReadyAddresses or the tolerate-unready-endpoints annotation: every
  // endpoint counts as ready.
  bool publish_not_ready = false;
  std::vector<EndpointInfo> endpoints;
};

class Zone {
 public:
  // Builds the zone; `serial` is the SOA serial. Services and endpoints whose names or
  // addresses cannot be records are left out.
  static std::shared_ptr<const Zone> Build(const ZoneOptions& options,
                                           const std::vector<ServiceInfo>& services,
                                           const std::vector<std::string>& namespaces,
                                           uint32_t serial);

  enum class Outcome {
    kAnswered,  // `response` holds the answer
    kNotOurs,   // a name to forward
    kChase,     // the answer is a CNAME (in `response`) to `chase_target`, outside the zone:
                // the caller resolves that name for the query's type and appends it
  };
  struct Result {
    Outcome outcome = Outcome::kNotOurs;
    std::string chase_target;  // wire form
    Record cname;              // the CNAME record, for the caller to write again
  };

  // Answers `q` (`lower_qname`: its name lowercased) into `response` (started by the
  // caller with Begin()), with the name's records rotated by `rotate`. In-zone CNAME targets
  // are followed here. Thread-safe (the zone never changes).
  Result Answer(const Query& q, std::string_view lower_qname, Response* response,
                uint32_t rotate = 0) const;

  // Whether `lower_name` is the cluster domain or below it.
  bool InZone(std::string_view lower_name) const { return IsSubdomain(lower_name, zone_); }
  const std::string& zone_name() const { return zone_; }
  size_t name_count() const { return names_.size(); }

  struct Entry;

 private:
  Zone() = default;
  const Entry* Find(std::string_view lower_name) const;
  // Appends the records of `name` (followed through in-zone CNAMEs) of type `qtype` to the
  // answer; a target outside the zone is returned for the caller to chase.
  Result Follow(std::string_view name, uint16_t qtype, Response* response, int depth) const;
  void Negative(std::string_view lower_qname, Response* response, int rcode) const;
  bool AnswerPod(const Query& q, std::string_view lower_qname, Response* response) const;

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };

  ZoneOptions options_;
  std::string zone_;  // wire, lowercase
  int zone_labels_ = 0;
  Record soa_;
  Record soa_in_addr_;
  Record soa_ip6_;
  std::unordered_map<std::string, std::unique_ptr<Entry>, Hash, Eq> names_;
};

// The reverse name (d.c.b.a.in-addr.arpa or the ip6.arpa nibbles) of an address, in wire
// form; "" when `ip` is not an address.
std::string ReverseName(std::string_view ip);

}  // namespace keelson::dns
