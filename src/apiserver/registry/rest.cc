#include "apiserver/registry/rest.h"

namespace keelson::apiserver {

bool Selection::Matches(const api::Object& obj) const {
  if (Everything()) return true;
  if (!labels.Matches(api::GetLabels(obj))) return false;
  if (fields.Empty()) return true;
  api::Fields fs;
  for (const auto& p : field_paths) fs.emplace(p, api::FieldText(obj, p));
  return fields.Matches(fs);
}

bool Selection::Matches(const CachedObject& obj) const {
  if (!labels.Empty() && !labels.Matches(obj.Labels())) return false;
  return fields.Empty() || fields.Matches(obj.Fields(field_paths));
}

ObjectFilter Selection::Filter() const {
  if (Everything()) return nullptr;
  return [sel = *this](const CachedObject& o) { return sel.Matches(o); };
}

api::ApiResult<api::Object> RestStorage::Get(const RequestContext&) {
  return api::NewMethodNotAllowed();
}

void RestStorage::List(const RequestContext&, const ListRequest&, ListCallback done) {
  done(api::NewMethodNotAllowed());
}

void RestStorage::Watch(const RequestContext&, const ListRequest&,
                        std::function<std::shared_ptr<WatchSink>()>, WatchCallback done) {
  done(api::NewMethodNotAllowed());
}

void RestStorage::Create(const RequestContext&, api::Object, ObjectCallback done) {
  done(api::NewMethodNotAllowed());
}

void RestStorage::Update(const RequestContext&, api::Object, ObjectCallback done) {
  done(api::NewMethodNotAllowed());
}

void RestStorage::Patch(const RequestContext&, PatchType, std::string, ObjectCallback done) {
  done(api::NewMethodNotAllowed());
}

void RestStorage::Apply(const RequestContext&, api::Object, bool, ApplyCallback done) {
  done(api::NewMethodNotAllowed(), false);
}

void RestStorage::Delete(const RequestContext&, const DeleteOptions&, ObjectCallback done) {
  done(api::NewMethodNotAllowed());
}

void RestStorage::DeleteCollection(const RequestContext&, const DeleteOptions&,
                                   const Selection&, DeletedCallback done) {
  done(api::NewMethodNotAllowed());
}

}  // namespace keelson::apiserver
