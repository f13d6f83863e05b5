// Bad input never crashes: mutated protobuf bodies, YAML, JSON patches and apply
// configurations, decoded and applied the way requests are. Deterministic (fixed seeds), a
// few thousand cases per decoder.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>

#include "api/defaults.h"
#include "api/protobuf.h"
#include "api/prune.h"
#include "api/schema.h"
#include "api/yaml.h"
#include "apiserver/apply.h"
#include "apiserver/patch.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

constexpr std::string_view kDeployment = R"({"apiVersion":"apps/v1","kind":"Deployment",
  "metadata":{"name":"d","labels":{"a":"b"},"annotations":{"x":"y"}},"spec":{"replicas":2,
  "selector":{"matchLabels":{"a":"b"}},"strategy":{"type":"RollingUpdate","rollingUpdate":
  {"maxSurge":"25%","maxUnavailable":1}},"template":{"metadata":{"labels":{"a":"b"}},"spec":
  {"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}],"resources":
  {"limits":{"cpu":"1","memory":"1Gi"}},"env":[{"name":"A","value":"1"}]}],"volumes":
  [{"name":"v","emptyDir":{}}]}}}})";

std::string Mutate(std::string s, std::mt19937* rng) {
  int edits = 1 + static_cast<int>((*rng)() % 8);
  for (int i = 0; i < edits && !s.empty(); ++i) {
    size_t at = (*rng)() % s.size();
    switch ((*rng)() % 4) {
      case 0: s[at] = static_cast<char>((*rng)() % 256); break;
      case 1: s.erase(at, 1 + (*rng)() % 8); break;
      case 2: s.insert(at, 1, static_cast<char>((*rng)() % 256)); break;
      default: s.insert(at, s.substr(at, (*rng)() % 16)); break;
    }
  }
  return s;
}

TEST(DecoderFuzzTest, MutatedProtobufBodiesDecodeOrFailCleanly) {
  auto pb = api::EncodeKubernetesProtobuf(json::parse(kDeployment).as_object());
  ASSERT_TRUE(pb.ok());
  std::mt19937 rng(1);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    auto r = api::DecodeKubernetesProtobuf(Mutate(*pb, &rng));
    if (r.ok()) ++decoded;
  }
  EXPECT_GT(decoded, 0);  // some mutations still decode; the rest fail without crashing
}

TEST(DecoderFuzzTest, MutatedYamlAndJsonAreCheckedWithoutCrashing) {
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind("apps", "v1", "Deployment");
  ASSERT_NE(type, nullptr);
  std::mt19937 rng(2);
  for (int i = 0; i < 10000; ++i) {
    std::string text = Mutate(std::string(kDeployment), &rng);
    auto y = api::YamlToJson(text);
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    for (json::value* doc : {y.ok() ? &*y : nullptr, ec ? nullptr : &v}) {
      if (doc == nullptr || !doc->is_object()) continue;
      json::object obj = doc->as_object();
      api::PruneReport report = api::Prune(*type, &obj);
      if (report.type_error.empty()) api::ApplyDefaults(*type, &obj);
    }
  }
}

TEST(DecoderFuzzTest, MutatedPatchesAndApplyConfigurationsFailCleanly) {
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind("apps", "v1", "Deployment");
  const json::object live = json::parse(kDeployment).as_object();
  const std::string patches[] = {
      R"({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"c"}],"containers":[{"name":"c","image":"x"}]}}}})",
      R"([{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/z","value":"1"}])",
      R"({"metadata":{"labels":{"a":null}},"spec":{"replicas":5}})",
  };
  const PatchType types[] = {PatchType::kStrategic, PatchType::kJson, PatchType::kMerge};
  std::mt19937 rng(3);
  for (int i = 0; i < 10000; ++i) {
    int k = i % 3;
    json::value target = live;
    (void)ApplyPatch(types[k], Mutate(patches[k], &rng), type, &target);
    boost::system::error_code ec;
    json::value cfg = json::parse(Mutate(std::string(kDeployment), &rng), ec);
    if (ec || !cfg.is_object()) continue;
    json::object c = cfg.as_object();
    if (!api::Prune(*type, &c).type_error.empty()) continue;
    std::vector<ApplyConflict> conflicts;
    (void)ServerSideApply(*type, &live, c, {"fuzz", "apps/v1", "2026-01-01T00:00:00Z"}, false,
                          &conflicts);
  }
}

}  // namespace
}  // namespace keelson::apiserver
