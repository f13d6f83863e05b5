// The service accounts controller: every active namespace has the ServiceAccounts it should
// (upstream: "default"), created when the namespace appears and again when one is deleted.
//
// Keys are namespace names: a namespace added or updated queues itself, a deleted
// ServiceAccount queues its namespace. Namespaces that are not Active (Terminating) are left
// alone: the API server refuses new objects in them.
#pragma once

#include <memory>

#include "controllers/controller.h"

namespace keelson::controllers {

Result<std::unique_ptr<Controller>> NewServiceAccountsController(ControllerContext& ctx);

}  // namespace keelson::controllers
