// The service accounts controller in a controller manager against an in-process API server.
#include "controllers/serviceaccount/serviceaccounts_controller.h"

#include <gtest/gtest.h>

#include "controllers/controller_manager.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

class ServiceAccountsControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ControllerManagerOptions o;
    o.controllers = {"serviceaccount-controller"};
    o.leader_elect = false;
    auto m = ControllerManager::Create(api_.client(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
  }

  bool HasDefault(std::string_view ns) {
    return api_.Get("", "serviceaccounts", ns, "default").has_value();
  }

  testing::InProcessApi api_;
  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(ServiceAccountsControllerTest, EveryNamespaceGetsADefaultServiceAccount) {
  api_.Create("", "namespaces", "", R"({"metadata":{"name":"before"}})");
  manager_->Start();
  ASSERT_TRUE(manager_->WaitRunning(true, 10s));
  // The namespaces there at start, and new ones.
  EXPECT_TRUE(Eventually([&] { return HasDefault("before") && HasDefault("kube-system"); }));
  api_.Create("", "namespaces", "", R"({"metadata":{"name":"after"}})");
  EXPECT_TRUE(Eventually([&] { return HasDefault("after"); }));
  // No others.
  auto list = api_.Resource("", "serviceaccounts", "after").List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->at("items").as_array().size(), 1u);
}

TEST_F(ServiceAccountsControllerTest, ADeletedDefaultServiceAccountComesBack) {
  api_.Create("", "namespaces", "", R"({"metadata":{"name":"team"}})");
  manager_->Start();
  ASSERT_TRUE(Eventually([&] { return HasDefault("team"); }));
  auto old = api_.Get("", "serviceaccounts", "team", "default");
  ASSERT_TRUE(api_.Resource("", "serviceaccounts", "team").Delete("default").ok());
  ASSERT_TRUE(Eventually([&] {
    auto sa = api_.Get("", "serviceaccounts", "team", "default");
    return sa && api::GetUid(*sa) != api::GetUid(*old);
  }));
  // Another account's deletion changes nothing.
  api_.Create("", "serviceaccounts", "team", R"({"metadata":{"name":"builder"}})");
  ASSERT_TRUE(api_.Resource("", "serviceaccounts", "team").Delete("builder").ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(api_.Get("", "serviceaccounts", "team", "builder").has_value());
}

}  // namespace
}  // namespace keelson::controllers
