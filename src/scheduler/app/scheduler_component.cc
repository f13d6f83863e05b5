#include "scheduler/app/scheduler_component.h"

#include "api/object.h"
#include "common/log.h"
#include "controllers/base/pod_util.h"
#include "scheduler/app/api_client.h"

namespace keelson::scheduler {
namespace {

struct Watched {
  const char* group;
  const char* resource;
  ResourceKind kind;
};

// What the scheduler's plugins read, as upstream's scheduler watches it.
constexpr Watched kWatched[] = {
    {"", "pods", ResourceKind::kPod},
    {"", "nodes", ResourceKind::kNode},
    {"", "persistentvolumeclaims", ResourceKind::kPersistentVolumeClaim},
    {"", "persistentvolumes", ResourceKind::kPersistentVolume},
    {"storage.k8s.io", "storageclasses", ResourceKind::kStorageClass},
    {"policy", "poddisruptionbudgets", ResourceKind::kPodDisruptionBudget},
    {"scheduling.k8s.io", "priorityclasses", ResourceKind::kPriorityClass},
    {"", "namespaces", ResourceKind::kNamespace},
    {"", "services", ResourceKind::kService},
    {"", "replicationcontrollers", ResourceKind::kReplicationController},
    {"apps", "replicasets", ResourceKind::kReplicaSet},
    {"apps", "statefulsets", ResourceKind::kStatefulSet},
};

class SchedulerComponent final : public controllers::Controller {
 public:
  SchedulerComponent(std::unique_ptr<ApiSchedulerClient> client,
                     std::unique_ptr<Scheduler> scheduler)
      : client_(std::move(client)), scheduler_(std::move(scheduler)) {}
  ~SchedulerComponent() override { Stop(); }

  void Watch(client::SharedInformer* informer, ResourceKind kind) {
    Scheduler* s = scheduler_.get();
    if (kind != ResourceKind::kPod) {
      informer->AddEventHandler({
          .on_add = [s, kind](const client::ObjectPtr& obj, bool) {
            s->OnEvent(kind, nullptr, obj);
          },
          .on_update = [s, kind](const client::ObjectPtr& old_obj,
                                 const client::ObjectPtr& obj) {
            if (old_obj != obj) s->OnEvent(kind, old_obj, obj);
          },
          .on_delete = [s, kind](const client::ObjectPtr& obj, bool) {
            s->OnEvent(kind, obj, nullptr);
          },
      });
      return;
    }
    // Finished pods are not the scheduler's: they come and go as deletions.
    informer->AddEventHandler({
        .on_add = [s](const client::ObjectPtr& pod, bool) {
          if (!controllers::IsPodTerminal(*pod)) s->OnEvent(ResourceKind::kPod, nullptr, pod);
        },
        .on_update = [s](const client::ObjectPtr& old_pod, const client::ObjectPtr& pod) {
          if (old_pod == pod) return;
          const bool was = controllers::IsPodTerminal(*old_pod);
          const bool is = controllers::IsPodTerminal(*pod);
          if (was && is) return;
          if (is) return s->OnEvent(ResourceKind::kPod, old_pod, nullptr);
          if (was) return s->OnEvent(ResourceKind::kPod, nullptr, pod);
          s->OnEvent(ResourceKind::kPod, old_pod, pod);
        },
        .on_delete = [s](const client::ObjectPtr& pod, bool) {
          if (!controllers::IsPodTerminal(*pod)) s->OnEvent(ResourceKind::kPod, pod, nullptr);
        },
    });
  }

  void Start() override {
    if (!started_) scheduler_->Run();
    started_ = true;
  }
  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    scheduler_->Stop();
    client_->Shutdown();
  }

 private:
  std::unique_ptr<ApiSchedulerClient> client_;
  std::unique_ptr<Scheduler> scheduler_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace

std::vector<controllers::ControllerDescriptor> SchedulerComponents(Configuration config,
                                                                   SchedulerOptions options) {
  auto make = [config = std::move(config), options = std::move(options)](
                  controllers::ControllerContext& ctx)
      -> Result<std::unique_ptr<controllers::Controller>> {
    auto client = std::make_unique<ApiSchedulerClient>(ctx.client());
    SchedulerOptions o = options;
    o.clock = ctx.clock();
    auto scheduler = Scheduler::Create(config, client.get(), o);
    if (!scheduler.ok()) return scheduler.status();
    auto component = std::make_unique<SchedulerComponent>(std::move(client), std::move(*scheduler));
    for (const Watched& w : kWatched) {
      client::SharedInformer* informer = ctx.Informer(w.group, w.resource);
      if (!informer) {
        LogWarning("scheduler", std::string("not watching ") + w.resource + ": not served");
        continue;
      }
      component->Watch(informer, w.kind);
    }
    return std::unique_ptr<controllers::Controller>(std::move(component));
  };
  return {{"scheduler", {}, true, std::move(make)}};
}

}  // namespace keelson::scheduler
