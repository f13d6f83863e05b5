#include "api/protobuf.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <vector>

namespace keelson::api {
namespace {

namespace json = boost::json;

std::string FromBase64(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// Protobuf writing helpers for hand-built messages.
std::string Varint(uint64_t v) {
  std::string s;
  while (v >= 0x80) {
    s.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
  return s;
}
std::string Len(int field, const std::string& data) {
  return Varint((static_cast<uint64_t>(field) << 3) | 2) + Varint(data.size()) + data;
}
std::string Num(int field, uint64_t v) { return Varint(static_cast<uint64_t>(field) << 3) + Varint(v); }

TEST(ProtobufTest, DecodesKubectlCreateNamespaceBody) {
  // What kubectl 1.32/1.33 send for `kubectl create namespace x`.
  std::string body = FromBase64("azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhkKEQoBeBIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==");
  auto obj = DecodeKubernetesProtobuf(body);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(obj->at("apiVersion"), "v1");
  EXPECT_EQ(obj->at("kind"), "Namespace");
  const auto& meta = obj->at("metadata").as_object();
  EXPECT_EQ(meta.at("name"), "x");
  // Empty strings, the zero generation and the zero creation time are left out, as JSON
  // would (the body carries all three).
  EXPECT_FALSE(meta.contains("generation"));
  EXPECT_FALSE(meta.contains("generateName"));
  EXPECT_FALSE(meta.contains("uid"));
  EXPECT_FALSE(meta.contains("creationTimestamp"));
}

TEST(ProtobufTest, ZerosOfPlainFieldsAreUnsetAndZerosOfOptionalOnesKept) {
  // As kubectl 1.32+ sends `create deployment --replicas=0`: the plain fields (paused,
  // minReadySeconds, stdin, hostNetwork, hostPort) are on the wire at zero; replicas is an
  // optional field set to 0, containerPort a required one.
  json::object d = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"d","generation":0},
    "spec":{"replicas":0,"paused":false,"minReadySeconds":0,"template":{"spec":{
      "hostNetwork":false,"terminationGracePeriodSeconds":0,"containers":[{"name":"c",
      "image":"nginx","stdin":false,"ports":[{"containerPort":80,"hostPort":0}]}]}}}})")
                       .as_object();
  auto pb = EncodeKubernetesProtobuf(d);
  ASSERT_TRUE(pb.ok()) << pb.status().ToString();
  auto back = DecodeKubernetesProtobuf(*pb);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(json::value(*back), json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"d"},
    "spec":{"replicas":0,"template":{"spec":{"terminationGracePeriodSeconds":0,
      "containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}]}]}}}})"));
  // An empty storage class is kept: it asks for no dynamic provisioning.
  json::object pvc = json::parse(R"({"apiVersion":"v1","kind":"PersistentVolumeClaim",
    "metadata":{"name":"c"},"spec":{"storageClassName":"","volumeName":""}})").as_object();
  auto pvc_back = DecodeKubernetesProtobuf(*EncodeKubernetesProtobuf(pvc));
  ASSERT_TRUE(pvc_back.ok());
  EXPECT_EQ(pvc_back->at("spec"), json::parse(R"({"storageClassName":""})"));
  const auto& schema = Schema::BuiltIn();
  EXPECT_TRUE(schema.Type("io.k8s.api.core.v1.Container")->Field("tty")->zero_is_unset);
  EXPECT_FALSE(schema.Type("io.k8s.api.apps.v1.DeploymentSpec")->Field("replicas")->zero_is_unset);
}

TEST(ProtobufTest, DecodesMapsListsIntOrStringQuantityAndTime) {
  using std::string;
  string meta = Len(1, "web") + Len(11, Len(1, "app") + Len(2, "web")) +
                Len(8, Num(1, 1700000000));  // name, labels{app: web}, creationTimestamp
  string port = Len(1, "http") + Num(3, 80) + Len(4, "TCP");
  string container = Len(1, "c") + Len(2, "nginx") + Len(6, port) +
                     Len(8, Len(1, Len(1, "cpu") + Len(2, Len(1, "250m"))));  // limits
  string pod_spec = Len(2, container);
  string tmpl = Len(1, Len(11, Len(1, "app") + Len(2, "web"))) + Len(2, pod_spec);
  string spec = Num(1, 3) + Len(3, tmpl);
  string deployment = Len(1, meta) + Len(2, spec);
  string envelope = string("k8s\0", 4) + Len(1, Len(1, "apps/v1") + Len(2, "Deployment")) +
                    Len(2, deployment);
  auto obj = DecodeKubernetesProtobuf(envelope);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  json::value v = *obj;
  EXPECT_EQ(v.at("kind"), "Deployment");
  EXPECT_EQ(v.at("metadata").at("labels").at("app"), "web");
  EXPECT_EQ(v.at("metadata").at("creationTimestamp"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(v.at("spec").at("replicas"), 3);
  const auto& c = v.at("spec").at("template").at("spec").at("containers").as_array().at(0);
  EXPECT_EQ(c.at("image"), "nginx");
  EXPECT_EQ(c.at("ports").as_array().at(0).at("containerPort"), 80);
  EXPECT_EQ(c.at("ports").as_array().at(0).at("protocol"), "TCP");
  EXPECT_EQ(c.at("resources").at("limits").at("cpu"), "250m");
}

TEST(ProtobufTest, DecodesIntOrStringBothWays) {
  using std::string;
  string by_name = Len(1, "http") + Len(2, "TCP") + Num(3, 80) + Len(4, Num(1, 1) + Len(3, "web"));
  string by_number = Len(1, "alt") + Num(3, 81) + Len(4, Num(1, 0) + Num(2, 8080)) + Num(5, 30080);
  string svc = Len(1, Len(1, "s")) + Len(2, Len(1, by_name) + Len(1, by_number) + Len(4, "NodePort"));
  auto obj = DecodeProtoMessage("k8s.io.api.core.v1.Service", svc);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  const auto& ports = obj->at("spec").at("ports").as_array();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].at("targetPort"), "web");
  EXPECT_EQ(ports[1].at("targetPort"), 8080);
  EXPECT_EQ(ports[1].at("nodePort"), 30080);
  EXPECT_EQ(obj->at("spec").at("type"), "NodePort");
}

TEST(ProtobufTest, RejectsMalformedInput) {
  EXPECT_FALSE(DecodeKubernetesProtobuf("{\"kind\":\"Namespace\"}").ok());
  std::string truncated = std::string("k8s\0", 4) + "\x0a\x20";
  EXPECT_FALSE(DecodeKubernetesProtobuf(truncated).ok());
  std::string unknown_kind = std::string("k8s\0", 4) + Len(1, Len(1, "v1") + Len(2, "Nope"));
  auto r = DecodeKubernetesProtobuf(unknown_kind);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Kind=Nope"), std::string::npos);
}

// Length-delimited field `number` holding `bytes`.
std::string Field(int number, std::string_view bytes) {
  std::string out;
  auto varint = [&](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  varint((static_cast<uint64_t>(number) << 3) | 2);
  varint(bytes.size());
  out.append(bytes);
  return out;
}

TEST(ProtobufTest, ObjectsNestedInRawExtensionsAreBoundedInDepth) {
  // A ControllerRevision whose data (a RawExtension) holds a ControllerRevision in the
  // protobuf encoding, whose data holds another, ... : each level costs a few bytes, so a
  // body could nest far deeper than the stack allows.
  const TypeDecl* cr = Schema::BuiltIn().KindOf("apps/v1", "ControllerRevision");
  ASSERT_NE(cr, nullptr);
  int data = cr->Field("data")->proto_number;
  auto envelope = [](std::string_view raw) {
    return std::string("k8s\0", 4) +
           Field(1, Field(1, "apps/v1") + Field(2, "ControllerRevision")) + Field(2, raw);
  };
  std::string body = envelope("");
  for (int i = 0; i < 10; ++i) body = envelope(Field(data, Field(1, body)));
  auto shallow = DecodeKubernetesProtobuf(body);
  ASSERT_TRUE(shallow.ok()) << shallow.status().message();
  EXPECT_TRUE(shallow->at("data").at("data").is_object());
  // 60,000 more levels (2 MB): each level is a prefix that depends only on the length of
  // what it wraps, so the body is built from the prefixes instead of by copying it each time.
  auto prefix = [](int number, size_t length) {
    std::string out;
    for (uint64_t v : {(static_cast<uint64_t>(number) << 3) | 2, uint64_t{length}}) {
      while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
      }
      out.push_back(static_cast<char>(v));
    }
    return out;
  };
  std::string type_meta = std::string("k8s\0", 4) +
                          Field(1, Field(1, "apps/v1") + Field(2, "ControllerRevision"));
  std::vector<std::string> prefixes;
  size_t length = body.size();
  for (int i = 0; i < 60000; ++i) {
    std::string inner = prefix(1, length);
    std::string mid = prefix(data, inner.size() + length);
    std::string outer = type_meta + prefix(2, mid.size() + inner.size() + length);
    prefixes.push_back(outer + mid + inner);
    length += prefixes.back().size();
  }
  std::string deep_body;
  deep_body.reserve(length);
  for (auto it = prefixes.rbegin(); it != prefixes.rend(); ++it) deep_body += *it;
  deep_body += body;
  auto deep = DecodeKubernetesProtobuf(deep_body);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("nested more than 64 levels deep"), std::string::npos)
      << deep.status().message();
}

TEST(ProtobufTest, EmbeddedJsonIsBoundedInDepth) {
  const TypeDecl* cr = Schema::BuiltIn().KindOf("apps/v1", "ControllerRevision");
  int data = cr->Field("data")->proto_number;
  std::string deep = std::string(200, '[') + std::string(200, ']');
  std::string body = std::string("k8s\0", 4) +
                     Field(1, Field(1, "apps/v1") + Field(2, "ControllerRevision")) +
                     Field(2, Field(data, Field(1, deep)));
  EXPECT_FALSE(DecodeKubernetesProtobuf(body).ok());
}

}  // namespace
}  // namespace keelson::api
