// Strategies of the batch/v1 kinds.
#include <boost/json.hpp>

#include "api/object.h"
#include "apiserver/strategies/kind_strategy.h"

namespace keelson::apiserver::strategies {
namespace {

namespace json = boost::json;

json::object& ObjectAt(json::value& v) {
  if (!v.is_object()) v = json::object();
  return v.as_object();
}

// A Job without spec.manualSelector gets upstream's generated selector: its pods carry the
// job's name and uid as labels, and the selector matches the uid. A Job without labels of
// its own carries its pod template's. A Job deleted without a propagation policy orphans its
// pods, as batch/v1 always has.
class JobStrategy final : public KindStrategy {
 public:
  explicit JobStrategy(const api::ResourceInfo& r)
      : KindStrategy(r, {.tracks_generation = true,
                         .rules = {validation::ValidatePodTemplate, validation::Job},
                         .status_rules = {validation::JobStatus},
                         .field_labels = {"status.successful"},
                         .printer = printers::Job(),
                         .orphans_dependents = true}) {}

  void PrepareForCreate(api::Object* job) const override {
    KindStrategy::PrepareForCreate(job);
    json::object& spec = ObjectAt((*job)["spec"]);
    json::object& meta = api::MutableMetadata(job);
    json::object& labels = ObjectAt(ObjectAt(ObjectAt(spec["template"])["metadata"])["labels"]);
    auto manual = spec.if_contains("manualSelector");
    if (!manual || !manual->is_bool() || !manual->as_bool()) {
      json::value name = meta.at("name"), uid = meta.at("uid");
      for (const char* key : {"job-name", "batch.kubernetes.io/job-name"}) {
        if (!labels.contains(key)) labels[key] = name;
      }
      for (const char* key : {"controller-uid", "batch.kubernetes.io/controller-uid"}) {
        if (!labels.contains(key)) labels[key] = uid;
      }
      json::object& match = ObjectAt(ObjectAt(spec["selector"])["matchLabels"]);
      if (!match.contains("batch.kubernetes.io/controller-uid")) {
        match["batch.kubernetes.io/controller-uid"] = uid;
      }
    }
    const auto* own = meta.if_contains("labels");
    if ((own == nullptr || !own->is_object() || own->as_object().empty()) && !labels.empty()) {
      meta["labels"] = labels;
    }
  }
};

}  // namespace

std::unique_ptr<Strategy> NewJobStrategy(const api::ResourceInfo& r) {
  return std::make_unique<JobStrategy>(r);
}

std::unique_ptr<Strategy> NewCronJobStrategy(const api::ResourceInfo& r) {
  return std::make_unique<KindStrategy>(
      r, KindSpec{.tracks_generation = true,
                  .rules = {validation::ValidateJobTemplate, validation::CronJob},
                  .printer = printers::CronJob()});
}

}  // namespace keelson::apiserver::strategies
