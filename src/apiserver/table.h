// Server-side printing: meta.k8s.io/v1 Table answers for `kubectl get`, with the columns,
// priorities and cell formats of upstream's printers (kube-apiserver v1.33), which the server
// always fills in full: kubectl shows the priority-1 columns with -o wide. Used only by the
// API server's JSON code. Stateless and thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "api/resources.h"

namespace keelson::apiserver {

// True when the Accept header asks for a meta.k8s.io/v1 Table.
bool WantsTable(std::string_view accept);

// Whether `r` answers Tables. Every kind does, as in upstream: kinds without a printer of
// their own (Role, ClusterRole, LimitRange) get the default NAME and CREATED AT columns.
bool HasPrinter(const api::ResourceInfo& r);

// A Table of `items` (full objects) for `r`; each row carries the object's metadata as
// PartialObjectMetadata. `resource_version` and `continue_token` go into the list metadata.
// `include_object` is the request's includeObject: "Object" puts whole objects in the rows,
// "None" nothing, anything else (the default "Metadata") PartialObjectMetadata.
boost::json::object ToTable(const api::ResourceInfo& r, const boost::json::array& items,
                            const std::string& resource_version,
                            const std::string& continue_token, std::string_view include_object,
                            std::chrono::system_clock::time_point now);

// Kubernetes' human-readable duration ("45s", "5m30s", "3h", "2d4h", "3y20d").
std::string HumanDuration(std::chrono::seconds d);

}  // namespace keelson::apiserver
