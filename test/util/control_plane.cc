#include "test/util/control_plane.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/errors.h"
#include "api/yaml.h"
#include "client/transport.h"
#include "test/util/stores.h"

namespace keelson::testing {

InProcessApi::InProcessApi(
    std::shared_ptr<const Clock> clock,
    std::vector<std::shared_ptr<const apiserver::AdmissionPlugin>> admission) {
  store_ = OpenTestStore(dir_);
  if (!store_) return;
  apiserver::ApiServerOptions o;
  if (clock) o.clock = std::move(clock);
  o.admission = std::move(admission);
  auto api = apiserver::ApiServer::Create(store_.get(), std::move(o));
  if (!api.ok()) {
    ADD_FAILURE() << "API server: " << api.status().ToString();
    return;
  }
  api_ = std::move(*api);
  if (Status b = api_->Bootstrap(); !b.ok()) {
    ADD_FAILURE() << "bootstrap: " << b.ToString();
    return;
  }
  client_ = NewClient();
}

InProcessApi::~InProcessApi() {
  if (api_) api_->Shutdown();
}

std::unique_ptr<client::RestClient> InProcessApi::NewClient(std::shared_ptr<const Clock> clock,
                                                            std::string user_agent) {
  client::RestConfig rc;
  rc.server = "in-process";
  rc.user_agent = std::move(user_agent);
  return std::make_unique<client::RestClient>(
      rc, std::shared_ptr<client::Transport>(client::NewInProcessTransport(api_.get())),
      std::move(clock));
}

client::ResourceClient InProcessApi::Resource(std::string_view group, std::string_view resource,
                                              std::string_view ns) {
  auto r = client_->Resource(group, resource);
  if (!r.ok()) {
    ADD_FAILURE() << "no resource " << group << "/" << resource;
    std::abort();
  }
  return r->Namespace(ns);
}

api::Object InProcessApi::Create(std::string_view group, std::string_view resource,
                                 std::string_view ns, std::string_view manifest) {
  auto parsed = api::YamlToJson(manifest);
  if (!parsed.ok() || !parsed->is_object()) {
    ADD_FAILURE() << "not an object: " << manifest;
    return {};
  }
  auto created = Resource(group, resource, ns).Create(parsed->as_object());
  if (!created.ok()) {
    ADD_FAILURE() << "create " << resource << ": " << created.error().message;
    return {};
  }
  return std::move(*created);
}

std::optional<api::Object> InProcessApi::Get(std::string_view group, std::string_view resource,
                                             std::string_view ns, std::string_view name) {
  auto got = Resource(group, resource, ns).Get(name);
  if (got.ok()) return std::move(*got);
  if (!api::IsNotFound(got.error())) ADD_FAILURE() << "get " << name << ": " << got.error().message;
  return std::nullopt;
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace keelson::testing
