// The Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf), decoding side:
// the 4-byte magic "k8s\0", then a runtime.Unknown envelope (typeMeta, raw object bytes),
// whose raw bytes are the object's message. Messages are decoded to the JSON form the rest of
// the API server works with, driven by the wire facts of every served kind
// (proto_schema.inc, written by tools/gen_proto_schema.py).
//
// The JSON mapping follows Kubernetes' own: bytes are base64, Time and MicroTime are RFC 3339
// (a zero time is left out), Duration is Go's duration text, Quantity its string,
// IntOrString a number or a string, RawExtension and FieldsV1 embedded JSON, maps objects.
// Empty strings are left out, as Go's omitempty does for the optional string fields that the
// encoder always writes.
//
// Thread-safe: the schema is built once, immutable afterwards.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "common/status.h"

namespace keelson::api {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

// The protobuf message of a served kind, e.g. ("apps", "v1", "Deployment") ->
// "k8s.io.api.apps.v1.Deployment"; "" when keelson has no wire facts for it.
std::string ProtoMessageFor(std::string_view group, std::string_view version,
                            std::string_view kind);

// Decodes a request body in the Kubernetes protobuf encoding into a JSON object carrying
// apiVersion and kind. Errors: InvalidArgument (no magic, malformed wire data, an unknown
// kind, a content encoding other than none).
Result<boost::json::object> DecodeKubernetesProtobuf(std::string_view body);

// Decodes one message of the fully qualified `type`.
Result<boost::json::value> DecodeProtoMessage(std::string_view type, std::string_view bytes);

}  // namespace keelson::api
