#include "client/indexer.h"

#include <algorithm>
#include <mutex>

namespace keelson::client {

std::string ObjectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string k;
  k.reserve(ns.size() + 1 + name.size());
  k.append(ns).push_back('/');
  k.append(name);
  return k;
}

std::string ObjectKey(const api::Object& obj) {
  return ObjectKey(api::GetNamespace(obj), api::GetName(obj));
}

IndexFunc NamespaceIndexFunc() {
  return [](const api::Object& o) -> std::vector<std::string> {
    std::string_view ns = api::GetNamespace(o);
    if (ns.empty()) return {};
    return {std::string(ns)};
  };
}

IndexFunc FieldIndexFunc(std::string path) {
  return [path = std::move(path)](const api::Object& o) -> std::vector<std::string> {
    std::string v = api::FieldText(o, path);
    if (v.empty()) return {};
    return {std::move(v)};
  };
}

IndexFunc NodeNameIndexFunc() { return FieldIndexFunc("spec.nodeName"); }

IndexFunc LabelIndexFunc(std::string key) {
  return [key = std::move(key)](const api::Object& o) -> std::vector<std::string> {
    const api::Object* meta = api::GetMetadata(o);
    if (meta == nullptr) return {};
    const auto* labels = meta->if_contains("labels");
    if (labels == nullptr || !labels->is_object()) return {};
    const auto* v = labels->as_object().if_contains(key);
    if (v == nullptr || !v->is_string()) return {};
    return {std::string(v->as_string())};
  };
}

Indexer::Indexer() { indexes_.emplace(std::string(kNamespaceIndex), Index{NamespaceIndexFunc(), {}}); }

void Indexer::IndexLocked(const std::string& key, const api::Object* old_obj,
                          const api::Object* obj) {
  for (auto& [name, index] : indexes_) {
    std::vector<std::string> old_values = old_obj ? index.fn(*old_obj) : std::vector<std::string>{};
    std::vector<std::string> new_values = obj ? index.fn(*obj) : std::vector<std::string>{};
    if (old_values == new_values) continue;
    for (const auto& v : old_values) {
      auto it = index.keys.find(v);
      if (it == index.keys.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.keys.erase(it);
    }
    for (auto& v : new_values) index.keys[std::move(v)].insert(key);
  }
}

Status Indexer::AddIndex(std::string name, IndexFunc fn) {
  std::unique_lock l(mu_);
  if (indexes_.contains(name)) return Status(StatusCode::kAlreadyExists, "index " + name + " exists");
  Index index{std::move(fn), {}};
  for (const auto& [key, obj] : items_) {
    for (auto& v : index.fn(*obj)) index.keys[std::move(v)].insert(key);
  }
  indexes_.emplace(std::move(name), std::move(index));
  return Status::Ok();
}

ObjectPtr Indexer::Upsert(ObjectPtr obj) {
  std::string key = ObjectKey(*obj);
  std::unique_lock l(mu_);
  auto [it, inserted] = items_.try_emplace(key, obj);
  ObjectPtr old;
  if (!inserted) {
    old = std::move(it->second);
    it->second = obj;
  }
  IndexLocked(key, old.get(), obj.get());
  return old;
}

ObjectPtr Indexer::Delete(std::string_view key) {
  std::unique_lock l(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = std::move(it->second);
  std::string k = it->first;
  items_.erase(it);
  IndexLocked(k, old.get(), nullptr);
  return old;
}

void Indexer::Replace(std::vector<ObjectPtr> objects) {
  std::unique_lock l(mu_);
  items_.clear();
  for (auto& [name, index] : indexes_) index.keys.clear();
  for (auto& obj : objects) {
    std::string key = ObjectKey(*obj);
    IndexLocked(key, nullptr, obj.get());
    items_[std::move(key)] = std::move(obj);
  }
}

ObjectPtr Indexer::Get(std::string_view key) const {
  std::shared_lock l(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

ObjectPtr Indexer::Get(std::string_view ns, std::string_view name) const {
  return Get(ObjectKey(ns, name));
}

std::vector<ObjectPtr> Indexer::List() const {
  std::shared_lock l(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

std::vector<std::string> Indexer::ListKeys() const {
  std::shared_lock l(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(k);
  return out;
}

size_t Indexer::Size() const {
  std::shared_lock l(mu_);
  return items_.size();
}

Result<std::vector<ObjectPtr>> Indexer::ByIndex(std::string_view index,
                                                std::string_view value) const {
  std::shared_lock l(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return NotFoundError("no index " + std::string(index));
  std::vector<ObjectPtr> out;
  auto it = idx->second.keys.find(std::string(value));
  if (it == idx->second.keys.end()) return out;
  out.reserve(it->second.size());
  for (const auto& key : it->second) {
    auto obj = items_.find(key);
    if (obj != items_.end()) out.push_back(obj->second);
  }
  return out;
}

Result<std::vector<std::string>> Indexer::IndexValues(std::string_view index) const {
  std::shared_lock l(mu_);
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return NotFoundError("no index " + std::string(index));
  std::vector<std::string> out;
  for (const auto& [v, keys] : idx->second.keys) out.push_back(v);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

bool LabelsMatch(const api::Object& obj, const api::LabelSelector& selector) {
  if (selector.Empty()) return true;
  return selector.Matches(api::GetLabels(obj));
}

}  // namespace

std::vector<ObjectPtr> Lister::List(const api::LabelSelector& selector) const {
  std::vector<ObjectPtr> out;
  for (auto& obj : indexer_->List()) {
    if (LabelsMatch(*obj, selector)) out.push_back(std::move(obj));
  }
  return out;
}

std::vector<ObjectPtr> Lister::List(std::string_view ns, const api::LabelSelector& selector) const {
  auto objs = indexer_->ByIndex(kNamespaceIndex, ns);
  std::vector<ObjectPtr> out;
  if (!objs.ok()) return out;
  for (auto& obj : *objs) {
    if (LabelsMatch(*obj, selector)) out.push_back(std::move(obj));
  }
  return out;
}

}  // namespace keelson::client
