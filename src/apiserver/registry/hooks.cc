#include "apiserver/registry/hooks.h"

#include <boost/json.hpp>

#include "api/json_limits.h"

namespace keelson::apiserver {
namespace {

api::FieldCauses Causes(const std::vector<AllocError>& errs) {
  api::FieldCauses out;
  for (const auto& e : errs) out.emplace_back(e.field, e.message);
  return out;
}

std::string Owner(const api::Object& svc) {
  return std::string(api::GetNamespace(svc)) + "/" + std::string(api::GetName(svc));
}

class ServiceHooks final : public WriteHooks {
 public:
  explicit ServiceHooks(ServiceAllocator* alloc) : alloc_(alloc) {}

  api::FieldCauses OnCreate(api::Object* svc, store::TxnRequest* txn) override {
    return Causes(alloc_->AllocateForCreate(svc, Owner(*svc), txn));
  }
  api::FieldCauses OnUpdate(const api::Object& old, api::Object* svc,
                            store::TxnRequest* txn) override {
    return Causes(alloc_->CheckUpdate(old, svc, Owner(old), txn));
  }
  void OnDelete(const api::Object& svc, store::TxnRequest* txn) override {
    alloc_->Release(svc, txn);
  }

 private:
  ServiceAllocator* alloc_;
};

class NamespaceHooks final : public WriteHooks {
 public:
  NamespaceHooks(const api::ResourceRegistry& registry, store::Store* store,
                 ServiceAllocator* alloc)
      : registry_(registry), store_(store), alloc_(alloc) {}

  api::FieldCauses OnCreate(api::Object*, store::TxnRequest*) override { return {}; }
  api::FieldCauses OnUpdate(const api::Object&, api::Object*, store::TxnRequest*) override {
    return {};
  }
  // The namespace's content goes in the same transaction, so that nothing is left behind to
  // reappear in a namespace of that name; its Services' addresses and node ports are freed.
  void OnDelete(const api::Object& ns, store::TxnRequest* txn) override {
    const std::string name(api::GetName(ns));
    if (const api::ResourceInfo* svcs = registry_.Find("", "v1", "services")) {
      store::RangeRequest in_ns;
      in_ns.key = svcs->StoragePrefix() + name + "/";
      in_ns.range_end = store::PrefixEnd(in_ns.key);
      if (auto list = store_->Range(in_ns); list.ok()) {
        for (const auto& kv : list->kvs) {
          boost::system::error_code ec;
          auto v = boost::json::parse(kv.value, ec, {}, api::JsonParseOptions());
          if (!ec && v.is_object()) alloc_->Release(v.as_object(), txn);
        }
      }
    }
    for (const auto& r : registry_.all()) {
      if (!r.namespaced || !r.stored) continue;
      std::string prefix = r.StoragePrefix() + name + "/";
      txn->success.push_back(
          store::RequestOp{store::DeleteRangeRequest{prefix, store::PrefixEnd(prefix), false}});
    }
  }

 private:
  const api::ResourceRegistry& registry_;
  store::Store* store_;
  ServiceAllocator* alloc_;
};

}  // namespace

std::unique_ptr<WriteHooks> NewServiceHooks(ServiceAllocator* alloc) {
  return std::make_unique<ServiceHooks>(alloc);
}

std::unique_ptr<WriteHooks> NewNamespaceHooks(const api::ResourceRegistry& registry,
                                              store::Store* store, ServiceAllocator* alloc) {
  return std::make_unique<NamespaceHooks>(registry, store, alloc);
}

}  // namespace keelson::apiserver
