#include "controllers/serviceaccount/serviceaccounts_controller.h"

#include <string>
#include <vector>

#include "api/errors.h"
#include "api/object.h"
#include "controllers/queue_worker.h"

namespace keelson::controllers {
namespace {

constexpr const char* kName = "serviceaccount-controller";

class ServiceAccountsController final : public Controller {
 public:
  ServiceAccountsController(ControllerContext& ctx, client::SharedInformer* namespaces,
                            client::SharedInformer* accounts)
      : namespaces_(namespaces->lister()),
        accounts_(accounts->lister()),
        client_(ctx.client()->Resource(accounts->resource())),
        workers_(ctx.options().concurrent_serviceaccount_syncs),
        queue_({.name = kName, .clock = ctx.clock()},
               [this](const std::string& key) { return Sync(key); }) {
    namespaces->AddEventHandler({
        .on_add = [this](const client::ObjectPtr& ns, bool) { queue_.Enqueue(*ns); },
        .on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& ns) {
          queue_.Enqueue(*ns);
        },
    });
    accounts->AddEventHandler({
        .on_delete = [this](const client::ObjectPtr& sa, bool) {
          if (Wanted(api::GetName(*sa))) queue_.Enqueue(std::string(api::GetNamespace(*sa)));
        },
    });
  }

  void Start() override { queue_.Start(workers_); }
  void Stop() override { queue_.Stop(); }

 private:
  static bool Wanted(std::string_view name) { return name == "default"; }

  Status Sync(const std::string& ns_name) {
    client::ObjectPtr ns = namespaces_.Get("", ns_name);
    if (!ns || api::FieldText(*ns, "status.phase") != "Active") return Status::Ok();
    for (const char* name : {"default"}) {
      if (accounts_.Get(ns_name, name)) continue;
      api::Object sa{{"apiVersion", "v1"},
                     {"kind", "ServiceAccount"},
                     {"metadata", api::Object{{"name", name}, {"namespace", ns_name}}}};
      auto created = client_.Namespace(ns_name).Create(sa);
      if (created.ok() || api::IsAlreadyExists(created)) continue;
      // A namespace that started terminating since the cache saw it refuses new objects.
      if (api::IsForbidden(created.error())) continue;
      return created.error().ToStatus();
    }
    return Status::Ok();
  }

  client::Lister namespaces_;
  client::Lister accounts_;
  client::ResourceClient client_;
  const int workers_;
  QueueWorker queue_;
};

}  // namespace

Result<std::unique_ptr<Controller>> NewServiceAccountsController(ControllerContext& ctx) {
  client::SharedInformer* namespaces = ctx.Informer("", "namespaces");
  client::SharedInformer* accounts = ctx.Informer("", "serviceaccounts");
  if (!namespaces || !accounts) return InternalError("namespaces or serviceaccounts unknown");
  return std::unique_ptr<Controller>(new ServiceAccountsController(ctx, namespaces, accounts));
}

}  // namespace keelson::controllers
