#include "apiserver/strategy.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "api/quantity.h"
#include "api/object.h"
#include "api/schema.h"
#include "api/validation.h"
#include "apiserver/validate.h"
#include "common/base64.h"

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

// The empty status of `type`: the fields the API always writes (its required scalars) at
// their zero values, as a freshly created object shows them.
json::object ZeroStatus(const api::TypeDecl* type) {
  json::object out;
  if (type == nullptr) return out;
  for (const auto& f : type->fields) {
    if (!f.required || f.container != api::Container::kNone) continue;
    switch (f.kind) {
      case api::ValueKind::kInt32:
      case api::ValueKind::kInt64:
        out[f.name] = 0;
        break;
      case api::ValueKind::kString:
        out[f.name] = "";
        break;
      case api::ValueKind::kBool:
        out[f.name] = false;
        break;
      default:
        break;
    }
  }
  return out;
}

// Sums of cpu and memory quantities (in nano units) over a pod's containers.
using Sums = std::map<std::string, __int128>;

}  // namespace

std::string PodQosClass(const json::object& pod) {
  Sums requests, limits;
  bool guaranteed = true;
  const json::value* spec = pod.if_contains("spec");
  for (const char* list : {"containers", "initContainers"}) {
    const json::value* cs = spec && spec->is_object() ? spec->as_object().if_contains(list)
                                                      : nullptr;
    if (cs == nullptr || !cs->is_array()) continue;
    for (const auto& c : cs->as_array()) {
      const json::value* res = c.is_object() ? c.as_object().if_contains("resources") : nullptr;
      auto quantities = [&](const char* which, Sums* sums) {
        std::set<std::string> found;
        const json::value* m = res && res->is_object() ? res->as_object().if_contains(which)
                                                       : nullptr;
        if (m == nullptr || !m->is_object()) return found;
        for (const auto& [name, q] : m->as_object()) {
          if (name != "cpu" && name != "memory") continue;
          std::optional<__int128> v;
          if (q.is_string()) v = api::QuantityNanos(q.as_string());
          if (q.is_int64()) v = static_cast<__int128>(q.as_int64()) * 1000000000;
          if (!v || *v <= 0) continue;
          (*sums)[name] += *v;
          found.insert(name);
        }
        return found;
      };
      quantities("requests", &requests);
      // Guaranteed needs cpu and memory limits on every container.
      if (quantities("limits", &limits).size() != 2) guaranteed = false;
    }
  }
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed) {
    for (const auto& [name, q] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second != q) guaranteed = false;
    }
  }
  return guaranteed && requests.size() == limits.size() ? "Guaranteed" : "Burstable";
}

void MergeSecretStringData(json::object* secret) {
  auto it = secret->find("stringData");
  if (it == secret->end()) return;
  if (it->value().is_object() && !it->value().as_object().empty()) {
    auto& data = (*secret)["data"];
    if (!data.is_object()) data = json::object();
    for (const auto& [key, text] : it->value().as_object()) {
      if (!text.is_string()) continue;
      data.as_object()[key] = Base64Encode(text.as_string());
    }
  }
  secret->erase(it);
}

Strategy::Strategy(const api::ResourceInfo& resource)
    : resource_(resource),
      type_(api::Schema::BuiltIn().Kind(resource.group, resource.version, resource.kind)) {}

std::vector<std::string> Strategy::NameErrors(std::string_view name, bool prefix) const {
  return api::NameIsDNSSubdomain(name, prefix);
}

void Strategy::Canonicalize(api::Object*) const {}

bool Strategy::HasStatusSubresource() const {
  const auto& subs = resource_.subresources;
  return std::find(subs.begin(), subs.end(), "status") != subs.end();
}

api::Object Strategy::InitialStatus(const api::Object&) const {
  const api::FieldDecl* status = type_ ? type_->Field("status") : nullptr;
  return ZeroStatus(status && status->kind == api::ValueKind::kObject ? status->type : nullptr);
}

void Strategy::PrepareForCreate(api::Object* obj) const {
  auto& meta = api::MutableMetadata(obj);
  if (TracksGeneration()) {
    meta["generation"] = 1;
  } else if (const auto* g = meta.if_contains("generation"); g && *g == 0) {
    meta.erase("generation");  // the zero a protobuf body carries
  }
  if (HasStatusSubresource()) (*obj)["status"] = InitialStatus(*obj);
}

api::FieldCauses Strategy::Validate(const api::Object& obj) const {
  return type_ ? ValidateObjectMeta(*type_, obj, nullptr) : api::FieldCauses();
}

void Strategy::PrepareForUpdate(api::Object* obj, const api::Object& old) const {
  if (HasStatusSubresource()) {
    if (const json::value* status = old.if_contains("status")) {
      (*obj)["status"] = *status;
    } else {
      obj->erase("status");
    }
  }
  // A change of the spec is a new generation; otherwise it stays.
  auto& meta = api::MutableMetadata(obj);
  int64_t generation = api::GetGeneration(old);
  if (TracksGeneration() && generation > 0) {
    const json::value* old_spec = old.if_contains("spec");
    const json::value* new_spec = obj->if_contains("spec");
    bool changed = (old_spec == nullptr) != (new_spec == nullptr) ||
                   (old_spec && *old_spec != *new_spec);
    meta["generation"] = changed ? generation + 1 : generation;
  } else if (const api::Object* om = api::GetMetadata(old); om && om->contains("generation")) {
    meta["generation"] = om->at("generation");
  } else {
    meta.erase("generation");
  }
}

api::FieldCauses Strategy::ValidateUpdate(const api::Object& obj, const api::Object& old) const {
  return type_ ? ValidateObjectMeta(*type_, obj, &old) : api::FieldCauses();
}

api::FieldCauses Strategy::ValidateStatusUpdate(const api::Object&, const api::Object&) const {
  return {};
}

std::optional<int64_t> Strategy::GracePeriod(const api::Object&, std::optional<int64_t>) const {
  return std::nullopt;
}

void Strategy::PrepareForDelete(api::Object*) const {}

const std::vector<std::string>& Strategy::FieldLabels() const {
  static const std::vector<std::string> kNone;
  return kNone;
}

std::vector<std::string> Strategy::SelectableFields() const {
  std::set<std::string> fields = {"metadata.name", "metadata.namespace"};
  for (const auto& f : FieldLabels()) fields.insert(f);
  return {fields.begin(), fields.end()};
}

const TablePrinter& Strategy::Printer() const { return *printers::Default(); }

StatusStrategy::StatusStrategy(const Strategy& main) : Strategy(main.resource()), main_(main) {}

void StatusStrategy::PrepareForUpdate(api::Object* obj, const api::Object& old) const {
  // The stored object with the new status: nothing else changes through /status.
  api::Object updated = old;
  if (const json::value* st = obj->if_contains("status")) {
    updated["status"] = *st;
  } else {
    updated.erase("status");
  }
  // The request's identity stays, for the identity checks of ValidateUpdate.
  auto& meta = api::MutableMetadata(&updated);
  for (const char* f : {"name", "namespace", "uid"}) {
    if (const auto* m = api::GetMetadata(*obj); m && m->contains(f)) {
      meta[f] = m->at(f);
    }
  }
  *obj = std::move(updated);
}

api::FieldCauses StatusStrategy::ValidateUpdate(const api::Object& obj,
                                                const api::Object& old) const {
  api::FieldCauses out = ValidateStatusMeta(obj, old);
  for (auto& c : main_.ValidateStatusUpdate(obj, old)) out.push_back(std::move(c));
  return out;
}

const Strategy* StrategyRegistry::Find(const api::ResourceInfo& r) const {
  auto it = by_resource_.find({r.group, r.resource});
  return it == by_resource_.end() ? nullptr : it->second.get();
}

void StrategyRegistry::Add(const api::ResourceInfo& served, std::unique_ptr<Strategy> s) {
  by_resource_[{served.group, served.resource}] = std::move(s);
}

}  // namespace keelson::apiserver
