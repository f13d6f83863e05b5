// Server-side printing: meta.k8s.io/v1 Table answers for `kubectl get`, with the columns,
// priorities and cell formats of upstream's printers (kube-apiserver v1.33), which the server
// always fills in full: kubectl shows the priority-1 columns with -o wide. Used only by the
// API server's JSON code. Stateless and thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace keelson::apiserver {

// True when the Accept header asks for a meta.k8s.io/v1 Table.
bool WantsTable(std::string_view accept);

// A kind's printer: upstream's columns for it and how each row is filled. Immutable; shared.
struct TablePrinter;
using TablePrinterPtr = std::shared_ptr<const TablePrinter>;

// The printers, one per kind (each kind's strategy names its own). Kinds upstream prints with
// its default convertor (Role, ClusterRole, LimitRange, ...) use Default(): NAME, CREATED AT.
namespace printers {
TablePrinterPtr Default();
TablePrinterPtr Namespace();
TablePrinterPtr ConfigMap();
TablePrinterPtr Secret();
TablePrinterPtr ServiceAccount();
TablePrinterPtr Pod();
TablePrinterPtr Node();
TablePrinterPtr Service();
TablePrinterPtr Endpoints();
TablePrinterPtr CoreEvent();  // core/v1 Events, which events.k8s.io/v1 Events are stored as
TablePrinterPtr ReplicationController();
TablePrinterPtr ResourceQuota();
TablePrinterPtr PersistentVolume();
TablePrinterPtr PersistentVolumeClaim();
TablePrinterPtr Deployment();
TablePrinterPtr ReplicaSet();
TablePrinterPtr StatefulSet();
TablePrinterPtr DaemonSet();
TablePrinterPtr ControllerRevision();
TablePrinterPtr Job();
TablePrinterPtr CronJob();
TablePrinterPtr Lease();
TablePrinterPtr EndpointSlice();
TablePrinterPtr PodDisruptionBudget();
TablePrinterPtr PriorityClass();
TablePrinterPtr RoleBinding();
TablePrinterPtr ClusterRoleBinding();
}  // namespace printers

// A Table of `items` (full objects) printed by `printer`; each row carries the object's
// metadata as PartialObjectMetadata. `resource_version` and `continue_token` go into the list
// metadata. `include_object` is the request's includeObject: "Object" puts whole objects in
// the rows, "None" nothing, anything else (the default "Metadata") PartialObjectMetadata.
boost::json::object ToTable(const TablePrinter& printer, const boost::json::array& items,
                            const std::string& resource_version,
                            const std::string& continue_token, std::string_view include_object,
                            std::chrono::system_clock::time_point now);

// Kubernetes' human-readable duration ("45s", "5m30s", "3h", "2d4h", "3y20d").
std::string HumanDuration(std::chrono::seconds d);

}  // namespace keelson::apiserver
