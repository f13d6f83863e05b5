// The namespace controller in a controller manager against an in-process API server: a
// deleted namespace shows Terminating, is emptied, reports what holds it, then goes.
#include "controllers/namespace/namespace_controller.h"

#include <gtest/gtest.h>

#include "api/object.h"
#include "controllers/controller_manager.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

class NamespaceControllerTest : public ::testing::Test {
 protected:
  void StartManager() {
    ControllerManagerOptions o;
    o.controllers = {"namespace"};
    o.leader_elect = false;
    auto m = ControllerManager::Create(api_.client(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    manager_->Start();
    ASSERT_TRUE(manager_->WaitRunning(true, 10s));
  }

  void CreateNamespace(std::string_view name) {
    api_.Create("", "namespaces", "", R"({"metadata":{"name":")" + std::string(name) + R"("}})");
  }
  void Delete(std::string_view name) {
    auto r = api_.Resource("", "namespaces").Delete(name);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  std::optional<api::Object> Namespace(std::string_view name) {
    return api_.Get("", "namespaces", "", name);
  }
  // The namespace's condition of `type` as "status reason: message".
  std::string Condition(std::string_view ns, std::string_view type) {
    auto obj = Namespace(ns);
    if (!obj) return "<gone>";
    const auto* conds = obj->at("status").as_object().if_contains("conditions");
    if (!conds) return "";
    for (const auto& c : conds->as_array()) {
      const auto& o = c.as_object();
      if (api::FieldText(o, "type") == type) {
        return api::FieldText(o, "status") + " " + api::FieldText(o, "reason") + ": " +
               api::FieldText(o, "message");
      }
    }
    return "";
  }

  testing::InProcessApi api_;
  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(NamespaceControllerTest, DeletedNamespaceIsTerminatingThenEmptiedThenGone) {
  CreateNamespace("team");
  api_.Create("", "configmaps", "team", R"({"metadata":{"name":"settings"}})");
  api_.Create("", "secrets", "team", R"({"metadata":{"name":"token"}})");
  api_.Create("", "pods", "team", R"({"metadata":{"name":"loose"},
      "spec":{"containers":[{"name":"c","image":"busybox"}]}})");
  api_.Create("apps", "deployments", "team", R"({"metadata":{"name":"web"},
      "spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":
      {"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}})");
  Delete("team");
  // Without the controller the namespace stays, marked, with everything in it.
  auto marked = Namespace("team");
  ASSERT_TRUE(marked);
  EXPECT_EQ(api::FieldText(*marked, "status.phase"), "Terminating");
  EXPECT_TRUE(api::IsBeingDeleted(*marked));
  EXPECT_TRUE(api_.Get("", "configmaps", "team", "settings"));
  // New content is refused meanwhile.
  auto refused = api_.Resource("", "configmaps", "team")
                     .Create(api::Object{{"metadata", api::Object{{"name", "late"}}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 403);

  StartManager();
  ASSERT_TRUE(Eventually([&] { return !Namespace("team"); }));
  EXPECT_FALSE(api_.Get("", "configmaps", "team", "settings"));
  EXPECT_FALSE(api_.Get("apps", "deployments", "team", "web"));
  // A namespace of the same name starts empty.
  CreateNamespace("team");
  auto list = api_.Resource("", "configmaps", "team").List();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->at("items").as_array().empty());
}

TEST_F(NamespaceControllerTest, ContentHeldByFinalizersIsReportedAndWaitedFor) {
  CreateNamespace("held");
  api_.Create("", "configmaps", "held",
              R"({"metadata":{"name":"kept","finalizers":["example.com/hold"]}})");
  api_.Create("", "configmaps", "held", R"({"metadata":{"name":"free"}})");
  StartManager();
  Delete("held");
  ASSERT_TRUE(Eventually([&] {
    return Condition("held", "NamespaceFinalizersRemaining") ==
           "True SomeFinalizersRemain: Some content in the namespace has finalizers remaining: "
           "example.com/hold in 1 resource instances";
  })) << Condition("held", "NamespaceFinalizersRemaining");
  EXPECT_EQ(Condition("held", "NamespaceContentRemaining"),
            "True SomeResourcesRemain: Some resources are remaining: configmaps. has 1 "
            "resource instances");
  EXPECT_EQ(Condition("held", "NamespaceDeletionContentFailure"),
            "False ContentDeleted: All content successfully deleted, may be waiting on "
            "finalization");
  EXPECT_FALSE(api_.Get("", "configmaps", "held", "free"));
  // The held object is marked, and the namespace waits for it.
  auto kept = api_.Get("", "configmaps", "held", "kept");
  ASSERT_TRUE(kept);
  EXPECT_TRUE(api::IsBeingDeleted(*kept));
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(Namespace("held"));

  // Its finalizer done, the object goes, then the namespace.
  auto cms = api_.Resource("", "configmaps", "held");
  ASSERT_TRUE(cms.Patch("kept", client::PatchType::kMerge,
                        R"({"metadata":{"finalizers":null}})").ok());
  ASSERT_TRUE(Eventually([&] { return !Namespace("held"); }, 70s));
}

TEST_F(NamespaceControllerTest, TerminatingPodsAreWaitedForNotTheirWholeGracePeriod) {
  CreateNamespace("busy");
  api_.Create("", "pods", "busy", R"({"metadata":{"name":"bound"},
      "spec":{"nodeName":"node-a","terminationGracePeriodSeconds":600,
      "containers":[{"name":"c","image":"busybox"}]}})");
  StartManager();
  Delete("busy");
  // The pod is being deleted gracefully: the namespace waits for it.
  ASSERT_TRUE(Eventually([&] {
    auto pod = api_.Get("", "pods", "busy", "bound");
    return pod && api::IsBeingDeleted(*pod);
  }));
  ASSERT_TRUE(Eventually([&] {
    return Condition("busy", "NamespaceContentRemaining").rfind("True", 0) == 0;
  }));
  // Its kubelet finishes the deletion: the namespace goes soon after, not in 600 s.
  client::DeleteOptions now;
  now.grace_period_seconds = 0;
  ASSERT_TRUE(api_.Resource("", "pods", "busy").Delete("bound", now).ok());
  EXPECT_TRUE(Eventually([&] { return !Namespace("busy"); }, 5s));
}

TEST_F(NamespaceControllerTest, ImmortalNamespacesCannotBeDeleted) {
  StartManager();
  auto r = api_.Resource("", "namespaces").Delete("kube-system");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 403);
  EXPECT_TRUE(Namespace("kube-system"));
}

}  // namespace
}  // namespace keelson::controllers
