#include "apiserver/validate.h"

#include <boost/json.hpp>

#include "api/validation.h"
#include "apiserver/validate_kinds.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using validation::Causes;

void Required(const api::TypeDecl& t, const json::object& o, const std::string& path,
              Causes* out, int depth) {
  if (depth > 32) return;
  for (const auto& f : t.fields) {
    std::string fpath = path.empty() ? f.name : path + "." + f.name;
    const json::value* v = o.if_contains(f.name);
    if (v == nullptr || v->is_null()) {
      if (f.required) out->emplace_back(fpath, "Required value");
      continue;
    }
    if (f.kind != api::ValueKind::kObject) continue;
    if (f.container == api::Container::kNone && v->is_object()) {
      Required(*f.type, v->as_object(), fpath, out, depth + 1);
    } else if (f.container == api::Container::kArray && v->is_array()) {
      const auto& a = v->as_array();
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_object()) {
          Required(*f.type, a[i].as_object(), fpath + "[" + std::to_string(i) + "]", out,
                   depth + 1);
        }
      }
    } else if (f.container == api::Container::kMap && v->is_object()) {
      for (const auto& [k, e] : v->as_object()) {
        if (e.is_object()) {
          Required(*f.type, e.as_object(), fpath + "[" + std::string(k) + "]", out, depth + 1);
        }
      }
    }
  }
}

// Labels, annotations and finalizers (ValidateObjectMeta).
void Metadata(const json::object& obj, Causes* out) {
  const auto* m = validation::ObjectAt(obj, {"metadata"});
  if (m == nullptr) return;
  for (const auto& e : api::ValidateLabels(validation::StringMap(m->if_contains("labels")))) {
    out->emplace_back("metadata.labels", e.Body());
  }
  for (const auto& e :
       api::ValidateAnnotations(validation::StringMap(m->if_contains("annotations")))) {
    out->emplace_back("metadata.annotations", e.Body());
  }
  const auto* fins = validation::AsArray(m->if_contains("finalizers"));
  if (fins == nullptr) return;
  bool orphan = false, foreground = false;
  for (size_t i = 0; i < fins->size(); ++i) {
    std::string f = validation::Str(&(*fins)[i]);
    size_t before = out->size();
    validation::QualifiedName(f, "metadata.finalizers", out);
    if (out->size() == before && f.find('/') == std::string::npos && f != "kubernetes" &&
        f != "orphan" && f != "foregroundDeletion") {
      validation::InvalidString(
          out, validation::Index("metadata.finalizers", i), f,
          "name is neither a standard finalizer name nor is it fully qualified");
    }
    orphan = orphan || f == "orphan";
    foreground = foreground || f == "foregroundDeletion";
  }
  if (orphan && foreground) {
    validation::Invalid(out, "metadata.finalizers", json::serialize(*fins),
                        "finalizer orphan and foregroundDeletion cannot be both set");
  }
}

// metadata.ownerReferences (ValidateOwnerReferences): each names its owner fully, the owner is
// not an Event, and at most one is the controller.
void OwnerReferences(const json::object& meta, Causes* out) {
  const auto* refs = validation::AsArray(meta.if_contains("ownerReferences"));
  if (refs == nullptr) return;
  const std::string p = "metadata.ownerReferences";
  std::string first_controller;
  for (const auto& v : *refs) {
    const auto* ref = validation::AsObject(&v);
    if (ref == nullptr) continue;
    std::string api_version = validation::Str(*ref, "apiVersion");
    std::string kind = validation::Str(*ref, "kind");
    // schema.FromAPIVersionAndKind: "group/version", "version", or (more slashes) nothing.
    std::string group, version = api_version;
    if (auto slash = api_version.find('/'); slash != std::string::npos) {
      bool one = api_version.find('/', slash + 1) == std::string::npos;
      group = one ? api_version.substr(0, slash) : "";
      version = one ? api_version.substr(slash + 1) : "";
    }
    if (version.empty()) {
      validation::InvalidString(out, p + ".apiVersion", api_version,
                                "version must not be empty");
    }
    if (kind.empty()) validation::InvalidString(out, p + ".kind", kind, "must not be empty");
    for (const char* f : {"name", "uid"}) {
      std::string value = validation::Str(*ref, f);
      if (value.empty()) {
        validation::InvalidString(out, validation::Child(p, f), value, "must not be empty");
      }
    }
    if (group.empty() && version == "v1" && kind == "Event") {
      validation::Invalid(out, p, json::serialize(*ref),
                          "/v1, Kind=Event is disallowed from being an owner");
    }
    const auto* controller = ref->if_contains("controller");
    if (controller == nullptr || !controller->is_bool() || !controller->as_bool()) continue;
    std::string name = kind + "/" + validation::Str(*ref, "name");
    if (first_controller.empty()) {
      first_controller = name;
    } else {
      validation::Invalid(out, p, json::serialize(*refs),
                          "Only one reference can have Controller set to true. Found \"true\" "
                          "in references for " + first_controller + " and " + name);
    }
  }
}

// ValidateObjectMetaUpdate: what identifies an object stays. An update that leaves uid out
// keeps the stored one; one that leaves the namespace out is in the request's namespace.
void MetadataUpdate(const json::object& obj, const json::object& old, Causes* out) {
  for (const char* f : {"name", "namespace", "uid"}) {
    const json::value* now = validation::At(obj, {"metadata", f});
    const json::value* was = validation::At(old, {"metadata", f});
    if (std::string_view(f) != "name" && validation::Str(now).empty()) continue;
    if (validation::Str(now) != validation::Str(was)) {
      validation::InvalidString(out, std::string("metadata.") + f, validation::Str(now),
                                "field is immutable");
    }
  }
}

void TemplateEphemeralContainers(const json::value* spec, const std::string& base,
                                 Causes* out) {
  const auto* s = validation::AsObject(spec);
  if (s != nullptr && validation::SizeOf(s->if_contains("ephemeralContainers")) > 0) {
    validation::Forbidden(out, base + ".ephemeralContainers",
                          "ephemeral containers not allowed in pod template");
  }
}

}  // namespace

Result<api::LabelSelector> SelectorOf(const json::value& selector) {
  if (!selector.is_object()) return InvalidArgumentError("a label selector must be an object");
  const auto& s = selector.as_object();
  std::vector<api::MatchExpression> exprs;
  if (const auto* me = s.if_contains("matchExpressions"); me && me->is_array()) {
    for (const auto& e : me->as_array()) {
      if (!e.is_object()) return InvalidArgumentError("a match expression must be an object");
      api::MatchExpression x;
      const auto& eo = e.as_object();
      x.key = validation::Str(eo, "key");
      x.op = validation::Str(eo, "operator");
      if (const auto* vs = eo.if_contains("values"); vs && vs->is_array()) {
        for (const auto& v : vs->as_array()) {
          if (v.is_string()) x.values.emplace_back(v.as_string());
        }
      }
      exprs.push_back(std::move(x));
    }
  }
  return api::LabelSelector::FromMatch(validation::StringMap(s.if_contains("matchLabels")),
                                       exprs);
}

Causes ValidateObjectMeta(const api::TypeDecl& type, const json::object& obj,
                          const json::object* old) {
  Causes out;
  Metadata(obj, &out);
  if (const auto* m = validation::ObjectAt(obj, {"metadata"})) OwnerReferences(*m, &out);
  if (old != nullptr) MetadataUpdate(obj, *old, &out);
  Required(type, obj, "", &out, 0);
  return out;
}

Causes NameCauses(std::string_view field, std::string_view value,
                  const std::vector<std::string>& errors) {
  Causes out;
  for (const auto& e : errors) validation::InvalidString(&out, std::string(field), value, e);
  return out;
}

Causes ValidateStatusMeta(const json::object& obj, const json::object& old) {
  Causes out;
  MetadataUpdate(obj, old, &out);
  return out;
}

namespace validation {

void ValidatePod(const Check& c) {
  PodSpec(At(c.obj, {"spec"}), "spec", c.out);
  // Ephemeral containers are added through their own subresource, never on create.
  const auto* ephemeral = At(c.obj, {"spec", "ephemeralContainers"});
  if (c.old == nullptr && SizeOf(ephemeral) > 0) {
    Forbidden(c.out, "spec.ephemeralContainers", "cannot be set on create");
  }
  if (c.old != nullptr) PodUpdate(c.obj, *c.old, c.out);
}

void ValidatePodTemplate(const Check& c) {
  if (const auto* tmpl = At(c.obj, {"spec", "template", "spec"})) {
    PodSpec(tmpl, "spec.template.spec", c.out);
    TemplateEphemeralContainers(tmpl, "spec.template.spec", c.out);
  }
}

void ValidateJobTemplate(const Check& c) {
  if (const auto* jt = At(c.obj, {"spec", "jobTemplate", "spec", "template", "spec"})) {
    PodSpec(jt, "spec.jobTemplate.spec.template.spec", c.out);
    TemplateEphemeralContainers(jt, "spec.jobTemplate.spec.template.spec", c.out);
  }
}

}  // namespace validation
}  // namespace keelson::apiserver
