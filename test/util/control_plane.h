// An API server on an embedded store in a temporary directory, reached through the client
// library's in-process transport: the control plane the controller and scheduler tests run
// their components against (the same router, admission, storage and watch caches as over
// HTTP, without sockets).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "apiserver/apiserver.h"
#include "client/rest_client.h"
#include "common/clock.h"
#include "store/store.h"
#include "test/util/processes.h"

namespace keelson::testing {

class InProcessApi {
 public:
  // Starts and bootstraps the server; `clock` (the system's when null) is the server's, and
  // `admission` its admission plugins after NamespaceLifecycle and Priority. Fails the
  // calling test when it cannot (then client() is null).
  explicit InProcessApi(
      std::shared_ptr<const Clock> clock = nullptr,
      std::vector<std::shared_ptr<const apiserver::AdmissionPlugin>> admission = {});
  ~InProcessApi();
  InProcessApi(const InProcessApi&) = delete;
  InProcessApi& operator=(const InProcessApi&) = delete;

  apiserver::ApiServer* server() { return api_.get(); }
  // A client shared by the test (real clock, no rate limit).
  client::RestClient* client() { return client_.get(); }
  // A client of its own (its own transport), on `clock`: one per component under test.
  std::unique_ptr<client::RestClient> NewClient(std::shared_ptr<const Clock> clock = nullptr,
                                                std::string user_agent = "keelson-test");

  // The resource (built-in) in namespace `ns`, through client().
  client::ResourceClient Resource(std::string_view group, std::string_view resource,
                                  std::string_view ns = "");
  // Creates the object given as JSON or YAML; fails the test (and returns {}) on an error.
  api::Object Create(std::string_view group, std::string_view resource, std::string_view ns,
                     std::string_view manifest);
  // The object, or nullopt when it does not exist (other errors fail the test).
  std::optional<api::Object> Get(std::string_view group, std::string_view resource,
                                 std::string_view ns, std::string_view name);

 private:
  TempDir dir_{"keelson-control-plane"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<apiserver::ApiServer> api_;
  std::unique_ptr<client::RestClient> client_;
};

// Polls `pred` every 10 ms (real time) until it holds or `timeout` passes; returns its last
// value.
bool Eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace keelson::testing
