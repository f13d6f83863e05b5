#include "apiserver/strategy.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "api/quantity.h"
#include "api/schema.h"
#include "common/base64.h"

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

// The status type of a kind, as the schema declares it.
const api::TypeDecl* StatusType(const api::ResourceInfo& r) {
  const api::TypeDecl* kind = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
  const api::FieldDecl* status = kind ? kind->Field("status") : nullptr;
  return status && status->kind == api::ValueKind::kObject ? status->type : nullptr;
}

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

bool TracksGeneration(const api::ResourceInfo& r) {
  if (r.group.empty()) return r.kind == "Pod" || r.kind == "ReplicationController";
  if (r.group == "apps") return r.kind != "ControllerRevision";
  return r.group == "batch" || (r.group == "policy" && r.kind == "PodDisruptionBudget");
}

bool HasStatusSubresource(const api::ResourceInfo& r) {
  return std::find(r.subresources.begin(), r.subresources.end(), "status") !=
         r.subresources.end();
}

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

void PrepareStatusForCreate(const api::ResourceInfo& r, json::object* obj) {
  if (!HasStatusSubresource(r) || r.kind == "Node") return;  // a kubelet registers its node
  json::object status = ZeroStatus(StatusType(r));
  if (r.group.empty()) {
    if (r.kind == "Pod") {
      status["phase"] = "Pending";
      status["qosClass"] = PodQosClass(*obj);
    } else if (r.kind == "Namespace") {
      status["phase"] = "Active";
    } else if (r.kind == "PersistentVolume" || r.kind == "PersistentVolumeClaim") {
      status["phase"] = "Pending";  // until bound
    } else if (r.kind == "Service") {
      status["loadBalancer"] = json::object();
    }
  }
  (*obj)["status"] = std::move(status);
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

void KeepStatusOnUpdate(const api::ResourceInfo& r, const json::object& old, json::object* obj) {
  if (!HasStatusSubresource(r)) return;
  if (const json::value* status = old.if_contains("status")) {
    (*obj)["status"] = *status;
  } else {
    obj->erase("status");
  }
}

}  // namespace keelson::apiserver
