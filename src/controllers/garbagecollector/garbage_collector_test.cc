// The garbage collector in a controller manager against an in-process API server: owners
// and dependents are plain objects (config maps, secrets) linked by ownerReferences, deleted
// with each propagation policy.
#include "controllers/garbagecollector/garbage_collector.h"

#include <gtest/gtest.h>

#include "api/object.h"
#include "controllers/controller_manager.h"
#include "test/util/control_plane.h"

namespace keelson::controllers {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

class GarbageCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ControllerManagerOptions o;
    o.controllers = {"garbagecollector"};
    o.leader_elect = false;
    auto m = ControllerManager::Create(api_.client(), std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    manager_->Start();
    ASSERT_TRUE(manager_->WaitRunning(true, 10s));
  }

  // A config map in `default`, owned by `owners` ({name, uid, blockOwnerDeletion}).
  api::Object ConfigMap(const std::string& name, const std::vector<api::Object>& owners = {},
                        const std::string& extra_meta = "") {
    std::string refs;
    for (const auto& o : owners) {
      refs += std::string(refs.empty() ? "" : ",") + R"({"apiVersion":"v1","kind":"ConfigMap",)" +
              R"("name":")" + std::string(api::GetName(o)) + R"(","uid":")" +
              std::string(api::GetUid(o)) + R"(","blockOwnerDeletion":true})";
    }
    return api_.Create("", "configmaps", "default",
                       R"({"metadata":{"name":")" + name + R"(","ownerReferences":[)" + refs +
                           "]" + extra_meta + "}}");
  }
  bool Exists(const std::string& name) { return api_.Get("", "configmaps", "default", name).has_value(); }
  api::ApiResult<api::Object> Delete(const std::string& name, const std::string& policy) {
    client::DeleteOptions o;
    o.propagation_policy = policy;
    return api_.Resource("", "configmaps", "default").Delete(name, o);
  }

  testing::InProcessApi api_;
  std::unique_ptr<ControllerManager> manager_;
};

TEST_F(GarbageCollectorTest, BackgroundDeletionTakesTheDependentsAfterTheOwner) {
  auto owner = ConfigMap("owner");
  ConfigMap("dep-1", {owner});
  ConfigMap("dep-2", {owner});
  auto unrelated = ConfigMap("unrelated");
  ASSERT_TRUE(Delete("owner", "Background").ok());
  EXPECT_FALSE(Exists("owner"));
  EXPECT_TRUE(Eventually([&] { return !Exists("dep-1") && !Exists("dep-2"); }));
  EXPECT_TRUE(Exists("unrelated"));
}

TEST_F(GarbageCollectorTest, OrphanDeletionKeepsTheDependentsWithoutTheReference) {
  auto owner = ConfigMap("owner");
  auto other = ConfigMap("other");
  ConfigMap("dep", {owner, other});
  auto marked = Delete("owner", "Orphan");
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE(api::HasFinalizer(*marked, "orphan"));
  ASSERT_TRUE(Eventually([&] { return !Exists("owner"); }));
  auto dep = api_.Get("", "configmaps", "default", "dep");
  ASSERT_TRUE(dep);
  auto refs = api::GetOwnerReferences(*dep);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].name, "other");
}

TEST_F(GarbageCollectorTest, ForegroundDeletionWaitsForBlockingDependents) {
  auto owner = ConfigMap("owner");
  // A dependent held by a finalizer of someone else's: the owner waits for it.
  ConfigMap("held", {owner}, R"(,"finalizers":["example.com/hold"])");
  ConfigMap("free", {owner});
  auto marked = Delete("owner", "Foreground");
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE(api::HasFinalizer(*marked, "foregroundDeletion"));
  ASSERT_TRUE(Eventually([&] {
    auto held = api_.Get("", "configmaps", "default", "held");
    return !Exists("free") && held && api::IsBeingDeleted(*held);
  }));
  std::this_thread::sleep_for(300ms);
  auto waiting = api_.Get("", "configmaps", "default", "owner");
  ASSERT_TRUE(waiting);
  EXPECT_TRUE(api::HasFinalizer(*waiting, "foregroundDeletion"));
  // The dependent's finalizer done, it goes, then the owner.
  ASSERT_TRUE(api_.Resource("", "configmaps", "default")
                  .Patch("held", client::PatchType::kMerge, R"({"metadata":{"finalizers":null}})")
                  .ok());
  EXPECT_TRUE(Eventually([&] { return !Exists("held") && !Exists("owner"); }));
}

TEST_F(GarbageCollectorTest, ForegroundDeletionCascadesThroughLevels) {
  // top -> middle -> {leaf-1, leaf-2}: the middle is deleted in the foreground too, so the
  // top goes last.
  auto top = ConfigMap("top");
  auto middle = ConfigMap("middle", {top});
  ConfigMap("leaf-1", {middle}, R"(,"finalizers":["example.com/hold"])");
  ConfigMap("leaf-2", {middle});
  ASSERT_TRUE(Delete("top", "Foreground").ok());
  ASSERT_TRUE(Eventually([&] {
    auto m = api_.Get("", "configmaps", "default", "middle");
    return m && api::HasFinalizer(*m, "foregroundDeletion") && !Exists("leaf-2");
  }));
  EXPECT_TRUE(Exists("top"));
  ASSERT_TRUE(api_.Resource("", "configmaps", "default")
                  .Patch("leaf-1", client::PatchType::kMerge, R"({"metadata":{"finalizers":null}})")
                  .ok());
  EXPECT_TRUE(Eventually([&] { return !Exists("leaf-1") && !Exists("middle") && !Exists("top"); }));
}

TEST_F(GarbageCollectorTest, DanglingReferencesAreCollectedOrDropped) {
  // Only a missing owner: the object is collected.
  api::Object ghost{{"metadata", api::Object{{"name", "ghost"},
                                             {"uid", "00000000-0000-0000-0000-000000000001"}}}};
  ConfigMap("orphaned", {ghost});
  EXPECT_TRUE(Eventually([&] { return !Exists("orphaned"); }));
  // A missing owner beside a live one: the reference to the missing one goes.
  auto live = ConfigMap("live");
  ConfigMap("half", {live, ghost});
  ASSERT_TRUE(Eventually([&] {
    auto half = api_.Get("", "configmaps", "default", "half");
    return half && api::GetOwnerReferences(*half).size() == 1;
  }));
  EXPECT_EQ(api::GetOwnerReferences(*api_.Get("", "configmaps", "default", "half"))[0].name, "live");
  // An owner with the same name but another uid is not the owner.
  auto reborn = ConfigMap("reborn");
  auto old_self = reborn;
  api::MutableMetadata(&old_self)["uid"] = "00000000-0000-0000-0000-000000000002";
  ConfigMap("stale", {old_self});
  EXPECT_TRUE(Eventually([&] { return !Exists("stale"); }));
  EXPECT_TRUE(Exists("reborn"));
}

TEST_F(GarbageCollectorTest, AnOwnerOfAnUnknownKindLeavesTheObjectAlone) {
  api_.Create("", "configmaps", "default", R"({"metadata":{"name":"odd","ownerReferences":[
      {"apiVersion":"example.com/v1","kind":"Gadget","name":"g","uid":"u-1"}]}})");
  // The kind may be served later (a custom resource): as upstream, the object stays and the
  // collector looks again with backoff.
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(Exists("odd"));
}

}  // namespace
}  // namespace keelson::controllers
