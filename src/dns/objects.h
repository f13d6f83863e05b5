// What the cluster DNS reads of the API's objects: Services (v1) and EndpointSlices
// (discovery.k8s.io/v1), turned into the zone's plain inputs (zone.h). Pure functions; they
// never throw on odd objects (missing or mistyped fields read as absent).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/object.h"
#include "dns/zone.h"

namespace keelson::dns {

// The label that ties an EndpointSlice to its Service.
inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";

// The Service's kind (clusterIP "None": headless; type ExternalName), cluster IPs (clusterIPs,
// else clusterIP), ports and publishing of not-ready endpoints. nullopt for a Service with no
// name, or a ClusterIP Service whose IP is not allocated yet.
std::optional<ServiceInfo> ServiceFromObject(const api::Object& service);

// Appends the endpoints of an EndpointSlice (of address type IPv4 or IPv6; FQDN slices are
// skipped) with the slice's ports. Ready: conditions.ready true or absent.
void AppendSliceEndpoints(const api::Object& slice, std::vector<EndpointInfo>* out);

// The zone inputs of a whole cluster: Services with their slices' endpoints (matched by
// namespace and the service-name label).
std::vector<ServiceInfo> ServicesFromObjects(const std::vector<const api::Object*>& services,
                                             const std::vector<const api::Object*>& slices);

}  // namespace keelson::dns
