#include "test/store/conformance.h"

#include "store/etcd/etcd_store.h"
#include "store/mvcc/embedded_store.h"
#include "test/util/processes.h"

namespace keelson::store {
namespace {

class EmbeddedBackend : public Backend {
 public:
  Status Open() {
    EmbeddedOptions opts;
    opts.data_dir = (dir_.path() / "data").string();
    auto s = OpenEmbeddedStore(opts);
    if (!s.ok()) return s.status();
    store_ = std::move(*s);
    return Status::Ok();
  }
  Store* store() override { return store_.get(); }
  bool exclusive() const override { return true; }

 private:
  testing::TempDir dir_{"keelson-conf"};
  std::unique_ptr<Store> store_;
};

class EmbeddedFactory : public BackendFactory {
 public:
  std::string name() const override { return "Embedded"; }
  Result<std::unique_ptr<Backend>> Open() const override {
    auto b = std::make_unique<EmbeddedBackend>();
    KEELSON_RETURN_IF_ERROR(b->Open());
    return std::unique_ptr<Backend>(std::move(b));
  }
};

// One real etcd for the whole run, started on first use; tests keep to their own key
// prefixes. A fresh client per test.
class EtcdBackend : public Backend {
 public:
  explicit EtcdBackend(std::unique_ptr<Store> s) : store_(std::move(s)) {}
  Store* store() override { return store_.get(); }
  bool exclusive() const override { return false; }

 private:
  std::unique_ptr<Store> store_;
};

class EtcdFactory : public BackendFactory {
 public:
  std::string name() const override { return "Etcd"; }
  Result<std::unique_ptr<Backend>> Open() const override {
    static std::unique_ptr<testing::EtcdProcess> etcd;  // stopped when the binary exits
    static Status started;
    if (etcd == nullptr) {
      etcd = std::make_unique<testing::EtcdProcess>();
      started = etcd->Start();
    }
    if (!started.ok()) return started;
    EtcdOptions opts;
    opts.endpoints = {etcd->client_url()};
    auto s = OpenEtcdStore(opts);
    if (!s.ok()) return s.status();
    return std::unique_ptr<Backend>(std::make_unique<EtcdBackend>(std::move(*s)));
  }
};

}  // namespace

std::vector<const BackendFactory*> AllBackends() {
  static const EmbeddedFactory embedded;
  static const EtcdFactory etcd;
  return {&embedded, &etcd};
}

}  // namespace keelson::store
