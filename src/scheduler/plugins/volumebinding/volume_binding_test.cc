#include "scheduler/plugins/volumebinding/volume_binding.h"

#include "scheduler/plugins/test_util.h"

namespace keelson::scheduler::plugintest {
namespace {

class VolumeBindingTest : public ::testing::Test {
 protected:
  void Pvc(std::string name, std::string volume, std::string sc = "", bool deleting = false) {
    auto o = ParseObject(R"({"metadata":{"name":")" + name + R"(","namespace":"default")" +
                         (deleting ? R"(,"deletionTimestamp":"2026-01-01T00:00:00Z")" : "") +
                         R"(},"spec":{"volumeName":")" + volume + R"(","storageClassName":")" + sc + R"("}})");
    h_.mutable_listers().SetPvc("default", name, o.get());
  }
  TestHandle h_;
  volumebinding::VolumeBinding p_{&h_};
};

TEST_F(VolumeBindingTest, MissingOrDeletingClaims) {
  PluginStatus s = RunFilter(p_, *PodBuilder("p").Pvc("data").Info(), *MakeNodeInfo(NodeBuilder("n").View()));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "persistentvolumeclaim \"data\" not found");
  Pvc("data", "pv1", "", true);
  s = RunFilter(p_, *PodBuilder("p").Pvc("data").Info(), *MakeNodeInfo(NodeBuilder("n").View()));
  EXPECT_EQ(s.Message(), "persistentvolumeclaim \"data\" is being deleted");
}

TEST_F(VolumeBindingTest, BoundVolumeNodeAffinity) {
  Pvc("data", "pv1");
  auto pv = ParseObject(R"({"metadata":{"name":"pv1"},"spec":{"nodeAffinity":{"required":{"nodeSelectorTerms":[
      {"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"In","values":["n1"]}]}]}}}})");
  h_.mutable_listers().SetPv("pv1", pv.get());
  auto pod = PodBuilder("p").Pvc("data").Info();
  EXPECT_TRUE(RunFilter(p_, *pod, *MakeNodeInfo(NodeBuilder("n1").View())).IsSuccess());
  PluginStatus s = RunFilter(p_, *pod, *MakeNodeInfo(NodeBuilder("n2").View()));
  EXPECT_EQ(s.code(), Code::kUnschedulableAndUnresolvable);
  EXPECT_EQ(s.Message(), "node(s) had volume node affinity conflict");
}

TEST_F(VolumeBindingTest, UnboundImmediateClaimsBlock) {
  Pvc("data", "");
  PluginStatus s = RunFilter(p_, *PodBuilder("p").Pvc("data").Info(), *MakeNodeInfo(NodeBuilder("n").View()));
  EXPECT_EQ(s.Message(), "pod has unbound immediate PersistentVolumeClaims");
  auto sc = ParseObject(R"({"metadata":{"name":"local"},"volumeBindingMode":"WaitForFirstConsumer"})");
  h_.mutable_listers().SetStorageClass("local", sc.get());
  Pvc("data", "", "local");
  EXPECT_TRUE(RunFilter(p_, *PodBuilder("p").Pvc("data").Info(), *MakeNodeInfo(NodeBuilder("n").View())).IsSuccess());
}

}  // namespace
}  // namespace keelson::scheduler::plugintest
