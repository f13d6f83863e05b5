// ResourceDiscovery: the resources the API server serves, read from its discovery documents
// (/api/v1, /apis and each group's preferred version) as the namespace controller and the
// garbage collector need them — every resource the server has, not a list compiled in.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/errors.h"
#include "api/resources.h"
#include "client/rest_client.h"
#include "common/clock.h"

namespace keelson::controllers {

class ResourceDiscovery {
 public:
  // Reads through `client` (which must outlive the discovery); a result is re-used for `ttl`
  // on the client's clock.
  explicit ResourceDiscovery(client::RestClient* client,
                             std::chrono::nanoseconds ttl = std::chrono::seconds(30));

  // The served resources (not subresources), each with its group, version, kind, scope and
  // verbs. Pointers stay valid as long as the discovery lives.
  api::ApiResult<std::vector<const api::ResourceInfo*>> Resources();
  // Forgets the cached answer: the next Resources() reads again.
  void Invalidate();

 private:
  api::ApiResult<std::vector<const api::ResourceInfo*>> Read();
  api::ApiResult<api::Object> GetJson(const std::string& path);
  const api::ResourceInfo* Intern(api::ResourceInfo info);

  client::RestClient* const client_;
  const std::chrono::nanoseconds ttl_;
  std::mutex mu_;
  std::vector<const api::ResourceInfo*> cached_;                    // guarded by mu_
  Clock::MonoTime read_at_{};                                       // guarded by mu_
  std::map<std::string, std::unique_ptr<api::ResourceInfo>> owned_;  // guarded by mu_
};

}  // namespace keelson::controllers
