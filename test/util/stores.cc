#include "test/util/stores.h"

#include <gtest/gtest.h>

#include "store/mvcc/embedded_store.h"

namespace keelson::testing {

std::unique_ptr<store::Store> OpenTestStore(const TempDir& dir) {
  store::EmbeddedOptions eo;
  eo.data_dir = (dir.path() / "store").string();
  auto s = store::OpenEmbeddedStore(eo);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace keelson::testing
