#include "apiserver/registry/decode.h"

#include "api/defaults.h"
#include "api/prune.h"
#include "api/schema.h"

namespace keelson::apiserver {

std::optional<api::ApiError> DecodeChecks(const api::ResourceInfo& kind, const Strategy* strategy,
                                          const RequestContext& ctx, api::Object* obj,
                                          bool defaults) {
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind(kind.group, kind.version, kind.kind);
  if (type == nullptr) return std::nullopt;
  const std::string prefix = kind.kind + " in version \"" + kind.version +
                             "\" cannot be handled as a " + kind.kind + ": ";
  api::PruneReport report = api::Prune(*type, obj);
  if (!report.type_error.empty()) return api::NewBadRequest(prefix + report.type_error);
  if (!report.unknown.empty() && ctx.field_validation != FieldValidation::kIgnore) {
    std::string text;
    for (const auto& path : report.unknown) {
      std::string one = "unknown field \"" + path + "\"";
      text += (text.empty() ? "" : ", ") + one;
      if (ctx.field_validation == FieldValidation::kWarn && ctx.warnings) {
        ctx.warnings->Add(std::move(one));
      }
    }
    if (ctx.field_validation == FieldValidation::kStrict) {
      return api::NewBadRequest(prefix + "strict decoding error: " + text);
    }
  }
  if (strategy != nullptr) strategy->Canonicalize(obj);
  if (defaults) api::ApplyDefaults(*type, obj);
  return std::nullopt;
}

api::ApiError PatchFailure(const Status& st) {
  if (st.code() == StatusCode::kResourceExhausted) return api::NewRequestEntityTooLarge(st.message());
  return api::ApiError{422, "Invalid", st.message(), {}};
}

}  // namespace keelson::apiserver
