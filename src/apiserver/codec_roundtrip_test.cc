// Every served kind, filled in every declared field, survives a protobuf round trip exactly as
// it survives a JSON round trip, and its list kind does too.
#include <gtest/gtest.h>

#include <tuple>

#include <boost/json.hpp>

#include "api/protobuf.h"
#include "api/schema.h"
#include "api/resources.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using api::Container;
using api::FieldDecl;
using api::TypeDecl;
using api::ValueKind;

// A value of `kind` that differs per call, so that a field read back into the wrong place
// shows.
json::value Sample(ValueKind kind, const TypeDecl* type, int depth, int* seq);

json::object SampleObject(const TypeDecl& t, int depth, int* seq) {
  json::object o;
  if (depth > 9) return o;  // recursive types (none today) stop here
  for (const FieldDecl& f : t.fields) {
    if (f.proto_number == 0) continue;  // no protobuf form: not part of the comparison
    json::value v = Sample(f.kind, f.type, depth + 1, seq);
    // A plain field's zero is left out by the protobuf reader (FieldDecl::zero_is_unset).
    if (v == false && f.zero_is_unset) v = true;
    if (f.container == Container::kArray) {
      o[f.name] = json::array{v, Sample(f.kind, f.type, depth + 1, seq)};
    } else if (f.container == Container::kMap) {
      o[f.name] = json::object{{"k" + std::to_string(++*seq), v}};
    } else {
      o[f.name] = v;
    }
  }
  return o;
}

json::value Sample(ValueKind kind, const TypeDecl* type, int depth, int* seq) {
  int n = ++*seq;
  switch (kind) {
    case ValueKind::kString: return json::string("s" + std::to_string(n));
    case ValueKind::kBytes: return json::string(n % 2 ? "aGVsbG8=" : "d29ybGQh");
    case ValueKind::kBool: return json::value(n % 2 == 0);
    case ValueKind::kInt32: return json::value(int64_t{n} * (n % 3 == 0 ? -1 : 1));
    case ValueKind::kInt64: return json::value(int64_t{n} * 10000000000LL);
    case ValueKind::kDouble: return json::value(n + 0.5);
    case ValueKind::kObject: return SampleObject(*type, depth, seq);
    case ValueKind::kFreeform: return json::object{{"free", n}};
    case ValueKind::kStringList: return json::array{"a" + std::to_string(n), "b"};
    case ValueKind::kQuantity: return json::string(std::to_string(n) + "Mi");
    case ValueKind::kIntOrString:
      return n % 2 ? json::value(int64_t{8000 + n}) : json::value("port" + std::to_string(n));
    case ValueKind::kTime:
      return json::string("2024-01-02T03:04:" + std::to_string(10 + n % 50) + "Z");
    case ValueKind::kMicroTime:
      return json::string("2024-01-02T03:04:05." + std::to_string(100000 + n) + "Z");
    case ValueKind::kDuration: return json::string("1h2m" + std::to_string(n % 60) + "s");
    case ValueKind::kRawExtension:
      return json::object{{"apiVersion", "v1"}, {"kind", "X"}, {"n", n}};
    case ValueKind::kFieldsV1: return json::object{{"f:metadata", json::object{{"f:n" + std::to_string(n), json::object{}}}}};
  }
  return nullptr;
}

TEST(CodecRoundTripTest, EveryServedKindAndItsListSurviveProtobufAsTheyDoJson) {
  const auto& schema = api::Schema::BuiltIn();
  int kinds = 0;
  std::vector<api::ResourceInfo> served = api::ResourceRegistry::BuiltIn().all();
  // The kinds of the subresources: scale, eviction, binding and serviceaccounts/token.
  for (auto [group, version, kind] : {std::tuple{"autoscaling", "v1", "Scale"},
                                      std::tuple{"policy", "v1", "Eviction"},
                                      std::tuple{"", "v1", "Binding"},
                                      std::tuple{"authentication.k8s.io", "v1", "TokenRequest"}}) {
    api::ResourceInfo r;
    r.group = group;
    r.version = version;
    r.kind = kind;
    r.stored = false;
    served.push_back(std::move(r));
  }
  for (const auto& r : served) {
    std::vector<std::string> names = {r.kind};
    if (r.stored) names.push_back(r.kind + "List");
    for (const std::string& kind : names) {
      SCOPED_TRACE(r.GroupVersion() + " " + kind);
      const TypeDecl* t = schema.Kind(r.group, r.version, kind);
      ASSERT_NE(t, nullptr) << "no type declared";
      ASSERT_FALSE(t->proto_message.empty());
      int seq = 0;
      json::object obj = SampleObject(*t, 0, &seq);
      obj.erase("apiVersion");
      obj.erase("kind");
      obj["apiVersion"] = r.GroupVersion();
      obj["kind"] = kind;
      json::value via_json = json::parse(json::serialize(obj));

      auto pb = api::EncodeKubernetesProtobuf(obj);
      ASSERT_TRUE(pb.ok()) << pb.status().ToString();
      auto back = api::DecodeKubernetesProtobuf(*pb);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(json::value(*back), via_json)
          << "json:     " << json::serialize(via_json) << "\nprotobuf: " << json::serialize(*back);
      ++kinds;
    }
  }
  // The 29 stored resources served today (and their lists), 2 reviews, 4 subresource kinds.
  EXPECT_GE(kinds, 2 * 29 + 2 + 4);
}

TEST(CodecRoundTripTest, WatchEventFramesCarryTheEnvelopedObject) {
  json::object cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                     {"metadata", {{"name", "c"}, {"resourceVersion", "12"}}},
                     {"data", {{"k", "v"}}}};
  auto frame = api::EncodeWatchEventProtobuf("ADDED", cm);
  ASSERT_TRUE(frame.ok());
  ASSERT_GT(frame->size(), 4u);
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>((*frame)[i]);
  EXPECT_EQ(n, frame->size() - 4);
  // The frame body is a bare metav1.WatchEvent.
  auto event = api::DecodeProtoMessage("k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent",
                                       std::string_view(*frame).substr(4));
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(event->at("type"), "ADDED");
  EXPECT_EQ(event->at("object"), json::value(cm));
}

TEST(CodecRoundTripTest, ValuesOfTheWrongTypeAreRefused) {
  json::object bad = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"},
                      {"spec", {{"replicas", "three"}}}};
  auto pb = api::EncodeKubernetesProtobuf(bad);
  ASSERT_FALSE(pb.ok());
  EXPECT_NE(pb.status().message().find("spec.replicas"), std::string::npos);
}

}  // namespace
}  // namespace keelson::apiserver
