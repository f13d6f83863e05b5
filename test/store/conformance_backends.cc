#include "test/store/conformance.h"

#include "store/mvcc/embedded_store.h"
#include "test/util/temp_dir.h"

namespace keelson::store {
namespace {

class EmbeddedBackend : public Backend {
 public:
  Status Open() {
    EmbeddedOptions opts;
    opts.data_dir = dir_.Sub("data");
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

}  // namespace

std::vector<const BackendFactory*> AllBackends() {
  static const EmbeddedFactory embedded;
  return {&embedded};
}

}  // namespace keelson::store
