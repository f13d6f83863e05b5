#include "apiserver/admission_priority.h"

#include <optional>

namespace keelson::apiserver {

namespace json = boost::json;

namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

const json::object* ObjectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<int64_t> IntAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return std::nullopt;
}

bool GlobalDefault(const json::object& pc) {
  const json::value* v = pc.if_contains("globalDefault");
  return v && v->is_bool() && v->as_bool();
}

// upstream's admission.NewForbidden: `pods "p" is forbidden: why`.
api::ApiError Forbidden(const RequestAttributes& a, std::string_view name, const std::string& why) {
  std::string qualified = a.api_group.empty() ? a.resource : a.resource + "." + a.api_group;
  json::object d{{"name", name}, {"kind", a.resource}};
  if (!a.api_group.empty()) d["group"] = a.api_group;
  return api::ApiError{403, "Forbidden", qualified + " " + Quote(name) + " is forbidden: " + why,
                       std::move(d)};
}

api::ApiError Internal(const std::string& why) {
  return api::ApiError{500, "InternalError", "Internal error occurred: " + why, {}};
}

class Priority final : public AdmissionPlugin {
 public:
  explicit Priority(PriorityClassReader classes) : classes_(std::move(classes)) {}

  std::string_view name() const override { return "Priority"; }

  std::optional<api::ApiError> Admit(const AdmissionRequest& r) const override {
    const RequestAttributes& a = r.attributes;
    if (!a.subresource.empty() || r.object == nullptr) return std::nullopt;
    if (a.api_group.empty() && a.resource == "pods") return AdmitPod(r);
    if (a.api_group == "scheduling.k8s.io" && a.resource == "priorityclasses") {
      return AdmitClass(r);
    }
    return std::nullopt;
  }

 private:
  std::optional<api::ApiError> AdmitPod(const AdmissionRequest& r) const {
    json::value* spec_v = r.object->if_contains("spec");
    if (spec_v == nullptr || !spec_v->is_object()) return std::nullopt;  // validation answers
    json::object& spec = spec_v->as_object();
    if (r.operation == "UPDATE") {
      // The priority a pod was given stays, should an update leave it out.
      const json::object* old_spec = r.old_object ? ObjectAt(*r.old_object, "spec") : nullptr;
      if (old_spec == nullptr) return std::nullopt;
      for (const char* key : {"priority", "preemptionPolicy"}) {
        if (!spec.contains(key) && old_spec->contains(key)) spec[key] = old_spec->at(key);
      }
      return std::nullopt;
    }
    if (r.operation != "CREATE") return std::nullopt;
    const RequestAttributes& a = r.attributes;
    std::string name = a.name;
    if (name.empty()) {
      if (const json::object* meta = ObjectAt(*r.object, "metadata")) {
        name = StringAt(*meta, "name");
      }
    }
    std::string class_name = StringAt(spec, "priorityClassName");
    int64_t priority = 0;
    std::string policy = "PreemptLowerPriority";
    if (class_name.empty()) {
      auto all = classes_.global_defaults();
      if (!all.ok()) {
        return Internal("failed to get default priority class: " + all.status().message());
      }
      const json::object* chosen = nullptr;
      for (const auto& pc : *all) {
        if (!GlobalDefault(pc)) continue;
        int64_t value = IntAt(pc, "value").value_or(0);
        if (chosen == nullptr || value < IntAt(*chosen, "value").value_or(0)) {
          chosen = &pc;
        }
      }
      if (chosen != nullptr) {
        const json::object* meta = ObjectAt(*chosen, "metadata");
        class_name = meta ? StringAt(*meta, "name") : "";
        priority = IntAt(*chosen, "value").value_or(0);
        policy = StringAt(*chosen, "preemptionPolicy");
        spec["priorityClassName"] = class_name;
      }
    } else {
      auto pc = classes_.get(class_name);
      if (!pc.ok()) {
        if (pc.status().code() == StatusCode::kNotFound) {
          return Forbidden(a, name, "no PriorityClass with name " + class_name + " was found");
        }
        return Internal("failed to get PriorityClass with name " + class_name + ": " +
                        pc.status().message());
      }
      priority = IntAt(*pc, "value").value_or(0);
      policy = StringAt(*pc, "preemptionPolicy");
    }
    if (auto given = IntAt(spec, "priority"); given && *given != priority) {
      return Forbidden(a, name,
                       "the integer value of priority (" + std::to_string(*given) +
                           ") must not be provided in pod spec; priority admission controller "
                           "computed " + std::to_string(priority) +
                           " from the given PriorityClass name");
    }
    spec["priority"] = priority;
    if (!policy.empty()) {
      std::string given = StringAt(spec, "preemptionPolicy");
      if (!given.empty() && given != policy) {
        return Forbidden(a, name,
                         "the string value of PreemptionPolicy (" + given +
                             ") must not be provided in pod spec; priority admission "
                             "controller computed " + policy +
                             " from the given PriorityClass name");
      }
      spec["preemptionPolicy"] = policy;
    }
    return std::nullopt;
  }

  std::optional<api::ApiError> AdmitClass(const AdmissionRequest& r) const {
    if (r.operation != "CREATE" && r.operation != "UPDATE") return std::nullopt;
    if (!GlobalDefault(*r.object)) return std::nullopt;
    const json::object* meta = ObjectAt(*r.object, "metadata");
    std::string name = meta ? StringAt(*meta, "name") : r.attributes.name;
    auto all = classes_.global_defaults();
    if (!all.ok()) return Internal(all.status().message());
    for (const auto& pc : *all) {
      const json::object* m = ObjectAt(pc, "metadata");
      std::string other = m ? StringAt(*m, "name") : "";
      if (GlobalDefault(pc) && other != name) {
        return Forbidden(r.attributes, name,
                         "PriorityClass " + other +
                             " is already marked as default. Only one default can exist");
      }
    }
    return std::nullopt;
  }

  PriorityClassReader classes_;
};

}  // namespace

std::shared_ptr<const AdmissionPlugin> PriorityAdmission(PriorityClassReader classes) {
  return std::make_shared<Priority>(std::move(classes));
}

}  // namespace keelson::apiserver
