// Service ClusterIP and NodePort allocation.
//
// Every allocated address and node port is a key of its own in the store
// (/registry/ipaddresses/<ip>, /registry/servicenodeports/<port>, value "<namespace>/<name>"),
// written in the same transaction as the Service with a compare that it did not exist. Two
// creates can therefore never get the same address, a failed create leaks nothing, and a
// deleted Service frees its allocations in its delete transaction. Repair() reconciles the
// keys with the Services at start (allocations whose Service is gone are freed, Services whose
// allocations are missing get them back).
//
// Thread-safety: all methods may be called concurrently; the store arbitrates.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace keelson::apiserver {

struct ServiceAllocOptions {
  std::string service_cidr = "10.43.0.0/16";  // IPv4 only for now
  int node_port_min = 30000;
  int node_port_max = 32767;
};

// A field error for the API's Invalid status.
struct AllocError {
  std::string field;
  std::string message;
};

class ServiceAllocator {
 public:
  // Errors: InvalidArgument for a CIDR that is not an IPv4 prefix of length 8..30.
  static Result<ServiceAllocator> Create(store::Store* store, ServiceAllocOptions options);

  // Defaults a new Service (type, ports' protocol and targetPort, families, policies) and
  // picks its ClusterIP and node ports, adding to `txn` the compares and puts that claim them.
  // `owner` is "<namespace>/<name>". Errors come back as field errors.
  std::vector<AllocError> AllocateForCreate(boost::json::object* svc, const std::string& owner,
                                            store::TxnRequest* txn);

  // For an update: carries over the allocated ClusterIP and node ports when the new object
  // leaves them out and refuses a changed ClusterIP; node ports follow the type (allocated
  // when it becomes NodePort or LoadBalancer, dropped and freed when it becomes ClusterIP) and
  // the ports (a new or changed node port is claimed in `txn`, one no longer used freed).
  // Becoming ExternalName frees the address and node ports; leaving it allocates them.
  std::vector<AllocError> CheckUpdate(const boost::json::object& old, boost::json::object* svc,
                                      const std::string& owner, store::TxnRequest* txn);

  // Adds to `txn` the deletes that free what `svc` holds.
  void Release(const boost::json::object& svc, store::TxnRequest* txn) const;

  // The first address of the range (the `kubernetes` service's).
  std::string FirstAddress() const;

  // Reconciles allocation keys with the stored Services (see the file comment).
  Status Repair();

  static std::string IpKey(const std::string& ip) { return "/registry/ipaddresses/" + ip; }
  static std::string PortKey(int64_t port) {
    return "/registry/servicenodeports/" + std::to_string(port);
  }

 private:
  ServiceAllocator(store::Store* store, ServiceAllocOptions o, uint32_t base, uint32_t size)
      : store_(store), opts_(std::move(o)), base_(base), size_(size) {}

  std::vector<std::string> Used(const std::string& prefix) const;
  // The node port for the Service port at `field`: *port when it is in range and not taken;
  // when *port is 0, a free one (written to *port). An error otherwise.
  std::optional<AllocError> PickNodePort(int64_t* port, const std::set<int64_t>& taken,
                                         const std::string& field) const;
  // spec.healthCheckNodePort of a LoadBalancer Service with externalTrafficPolicy Local:
  // kept (`held`, the one it had), taken from the spec, or picked; claimed in `txn`. A held
  // port no longer wanted is freed; for other Services the field is removed.
  void AllocateHealthCheckPort(boost::json::object* spec, int64_t held, std::set<int64_t>* taken,
                               const std::string& owner, store::TxnRequest* txn,
                               std::vector<AllocError>* errs);

  store::Store* store_;
  ServiceAllocOptions opts_;
  uint32_t base_;  // network address
  uint32_t size_;  // number of addresses in the range
};

}  // namespace keelson::apiserver
