// Backends the store conformance suite runs against.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace keelson::store {

// One opened store for one test. Destroying it releases the store (and whatever it needs).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Store* store() = 0;
  // True when no other test shares the store, so revisions are predictable.
  virtual bool exclusive() const = 0;
};

class BackendFactory {
 public:
  virtual ~BackendFactory() = default;
  virtual std::string name() const = 0;
  virtual Result<std::unique_ptr<Backend>> Open() const = 0;
};

// The embedded store on a fresh temporary directory, and a real etcd started once per run.
std::vector<const BackendFactory*> AllBackends();

}  // namespace keelson::store
