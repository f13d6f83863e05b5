#include "kubelet/volumes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace keelson::kubelet {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/keelson-volumes-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(WriteAtomically, LayoutThroughDataSymlink) {
  TempDir d;
  ASSERT_TRUE(WriteAtomically(d.path() / "v", {{"a", "1", 0644}, {"dir/b", "2", 0600}}).ok());
  EXPECT_EQ(Read(d.path() / "v/a"), "1");
  EXPECT_EQ(Read(d.path() / "v/dir/b"), "2");
  EXPECT_TRUE(fs::is_symlink(d.path() / "v/..data"));
  EXPECT_TRUE(fs::is_symlink(d.path() / "v/a"));
  EXPECT_EQ(fs::read_symlink(d.path() / "v/a"), fs::path("..data/a"));
  struct stat st {};
  ASSERT_EQ(stat((d.path() / "v/dir/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(WriteAtomically, UpdateSwapsPayloadAndDropsOldNames) {
  TempDir d;
  const fs::path v = d.path() / "v";
  ASSERT_TRUE(WriteAtomically(v, {{"a", "1", 0644}, {"b", "2", 0644}}).ok());
  fs::path first = fs::read_symlink(v / "..data");
  // Unchanged: the same payload directory stays.
  ASSERT_TRUE(WriteAtomically(v, {{"a", "1", 0644}, {"b", "2", 0644}}).ok());
  EXPECT_EQ(fs::read_symlink(v / "..data"), first);
  ASSERT_TRUE(WriteAtomically(v, {{"a", "changed", 0644}}).ok());
  EXPECT_NE(fs::read_symlink(v / "..data"), first);
  EXPECT_EQ(Read(v / "a"), "changed");
  EXPECT_FALSE(fs::exists(v / "b"));
  EXPECT_FALSE(fs::exists(v / first));  // the old payload is gone
}

TEST(WriteAtomically, RejectsPathsLeavingTheVolume) {
  TempDir d;
  EXPECT_FALSE(WriteAtomically(d.path() / "v", {{"../escape", "x", 0644}}).ok());
  EXPECT_FALSE(WriteAtomically(d.path() / "v", {{"/abs", "x", 0644}}).ok());
  EXPECT_FALSE(WriteAtomically(d.path() / "v", {{"..hidden", "x", 0644}}).ok());
  EXPECT_FALSE(fs::exists(d.path() / "escape"));
}

class MapSource : public ObjectSource {
 public:
  Result<api::Object> ConfigMap(const std::string& ns, const std::string& name) override {
    auto it = maps.find(ns + "/" + name);
    if (it == maps.end()) return NotFoundError(name);
    return it->second;
  }
  Result<api::Object> Secret(const std::string& ns, const std::string& name) override {
    auto it = secrets.find(ns + "/" + name);
    if (it == secrets.end()) return NotFoundError(name);
    return it->second;
  }
  std::map<std::string, api::Object> maps, secrets;
};

api::Object Pod(std::string_view spec) {
  api::Object pod = json::parse(R"({"metadata":{"name":"p","namespace":"ns","uid":"uid-1",
      "labels":{"app":"web","tier":"front"}},"status":{"podIP":"10.1.2.3"}})")
                        .as_object();
  pod["spec"] = json::parse(spec);
  return pod;
}

TEST(VolumeManager, ConfigMapItemsDownwardApiAndMissingReferences) {
  TempDir d;
  MapSource src;
  NodeFacts node;
  src.maps["ns/cfg"] = json::parse(R"({"data":{"a.conf":"A","b.conf":"B"}})").as_object();
  VolumeManager vm((d.path() / "pods").string(), &src, nullptr, &node);
  api::Object pod = Pod(R"({"containers":[{"name":"c","volumeMounts":[
      {"name":"cfg","mountPath":"/etc/cfg"},{"name":"info","mountPath":"/etc/info"},
      {"name":"one","mountPath":"/etc/a.conf","subPath":"a.conf"}]}],
    "volumes":[{"name":"cfg","configMap":{"name":"cfg","items":[{"key":"b.conf","path":"x/b"}]}},
               {"name":"one","configMap":{"name":"cfg"}},
               {"name":"info","downwardAPI":{"items":[
                  {"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}},
                  {"path":"name","fieldRef":{"fieldPath":"metadata.name"}}]}}]})");
  Status s = vm.SetUp(pod);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Read(vm.VolumeDir("uid-1", "cfg") + "/x/b"), "B");
  EXPECT_FALSE(fs::exists(vm.VolumeDir("uid-1", "cfg") + "/a.conf"));  // not in items
  EXPECT_EQ(Read(vm.VolumeDir("uid-1", "info") + "/labels"), "app=\"web\"\ntier=\"front\"\n");
  EXPECT_EQ(Read(vm.VolumeDir("uid-1", "info") + "/name"), "p");

  auto mounts = vm.Mounts(pod, pod["spec"].as_object()["containers"].as_array()[0].as_object());
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ASSERT_EQ(mounts->size(), 3u);
  EXPECT_EQ((*mounts)[0].container_path(), "/etc/cfg");
  EXPECT_TRUE((*mounts)[0].readonly());
  EXPECT_EQ(Read((*mounts)[2].host_path()), "A");  // the subPath's file itself

  // A missing ConfigMap is an error naming it, unless optional.
  api::Object missing = Pod(R"({"containers":[],"volumes":[{"name":"v",
      "configMap":{"name":"nope"}}]})");
  s = vm.SetUp(missing);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("configmap \"nope\" not found"), std::string::npos) << s.message();
  api::Object optional = Pod(R"({"containers":[],"volumes":[{"name":"v",
      "configMap":{"name":"nope","optional":true}}]})");
  EXPECT_TRUE(vm.SetUp(optional).ok());

  // A mount of a volume the pod lacks, and a subPath escaping it.
  api::Object bad = Pod(R"({"containers":[{"name":"c","volumeMounts":[
      {"name":"cfg","mountPath":"/x","subPath":"../../etc"}]}],
      "volumes":[{"name":"cfg","emptyDir":{}}]})");
  EXPECT_FALSE(
      vm.Mounts(bad, bad["spec"].as_object()["containers"].as_array()[0].as_object()).ok());

  ASSERT_TRUE(vm.TearDown("uid-1").ok());
  EXPECT_FALSE(fs::exists(d.path() / "pods/uid-1"));
}

TEST(VolumeManager, SubPathExprExpandsTheContainersEnvironment) {
  TempDir d;
  MapSource src;
  NodeFacts node;
  VolumeManager vm((d.path() / "pods").string(), &src, nullptr, &node);
  api::Object pod = Pod(R"({"containers":[{"name":"c","volumeMounts":[
      {"name":"logs","mountPath":"/logs","subPathExpr":"$(POD_NAME)/out"}]}],
      "volumes":[{"name":"logs","emptyDir":{}}]})");
  ASSERT_TRUE(vm.SetUp(pod).ok());
  const auto& c = pod["spec"].as_object()["containers"].as_array()[0].as_object();
  auto mounts = vm.Mounts(pod, c, {{"POD_NAME", "p"}});
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].host_path(), vm.VolumeDir("uid-1", "logs") + "/p/out");
  EXPECT_TRUE(fs::is_directory((*mounts)[0].host_path()));
  auto missing = vm.Mounts(pod, c, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "volumeMount logs: subPathExpr $(POD_NAME)/out: missing value for POD_NAME");
  // What it expands to is held to subPath's rules.
  auto escape = vm.Mounts(pod, c, {{"POD_NAME", ".."}});
  EXPECT_FALSE(escape.ok());
}

TEST(VolumeManager, EtcHostsIsWrittenOnceAndReplacedWhole) {
  TempDir d;
  MapSource src;
  NodeFacts node;
  VolumeManager vm((d.path() / "pods").string(), &src, nullptr, &node);
  auto m = vm.EtcHostsMount("uid-1", "one\n");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->container_path(), "/etc/hosts");
  EXPECT_FALSE(m->readonly());
  EXPECT_EQ(Read(m->host_path()), "one\n");
  const auto inode = fs::status(m->host_path()).permissions();
  struct stat before {};
  ::stat(m->host_path().c_str(), &before);
  ASSERT_TRUE(vm.EtcHostsMount("uid-1", "one\n").ok());
  struct stat same {};
  ::stat(m->host_path().c_str(), &same);
  EXPECT_EQ(before.st_ino, same.st_ino) << "an unchanged file is left alone";
  ASSERT_TRUE(vm.EtcHostsMount("uid-1", "two\n").ok());
  EXPECT_EQ(Read(m->host_path()), "two\n");
  EXPECT_EQ(inode, fs::status(m->host_path()).permissions());
  ASSERT_TRUE(vm.TearDown("uid-1").ok());
  EXPECT_FALSE(fs::exists(m->host_path()));
}

TEST(VolumeManager, HostPathTypes) {
  TempDir d;
  MapSource src;
  NodeFacts node;
  VolumeManager vm((d.path() / "pods").string(), &src, nullptr, &node);
  std::string dir = (d.path() / "made").string();
  api::Object create = Pod(R"({"containers":[],"volumes":[{"name":"h","hostPath":{"path":")" + dir +
                           R"(","type":"DirectoryOrCreate"}}]})");
  ASSERT_TRUE(vm.SetUp(create).ok());
  EXPECT_TRUE(fs::is_directory(dir));
  api::Object wrong = Pod(R"({"containers":[],"volumes":[{"name":"h","hostPath":{"path":")" + dir +
                          R"(","type":"File"}}]})");
  Status s = vm.SetUp(wrong);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is not a file"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace keelson::kubelet
