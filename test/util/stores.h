// The embedded store in a temporary directory, for tests that need a real store.
#pragma once

#include <memory>

#include "store/store.h"
#include "test/util/processes.h"

namespace keelson::testing {

// Opens an embedded store in `dir`/store. Fails the calling test (and returns null) when it
// cannot.
std::unique_ptr<store::Store> OpenTestStore(const TempDir& dir);

}  // namespace keelson::testing
