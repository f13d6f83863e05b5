// The Kubernetes protobuf encoding (application/vnd.kubernetes.protobuf): the 4-byte magic
// "k8s\0", then a runtime.Unknown envelope (typeMeta, raw object bytes), whose raw bytes are
// the object's message. Both directions are driven by the type declarations (api/schema.h),
// which carry every field's protobuf number.
//
// The JSON mapping follows Kubernetes' own: bytes are base64, Time and MicroTime are RFC 3339
// (a zero time is left out), Duration is Go's duration text, Quantity its string,
// IntOrString a number or a string, RawExtension and FieldsV1 embedded JSON, maps objects.
// Empty strings are left out on decoding, as Go's omitempty does for the optional string
// fields that Go's encoder always writes; so are the zeros of the plain (non-optional)
// scalar fields the wire always carries (FieldDecl::zero_is_unset).
//
// Thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "api/schema.h"
#include "common/status.h"

namespace keelson::api {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";
inline constexpr std::string_view kProtobufWatchContentType =
    "application/vnd.kubernetes.protobuf;stream=watch";

// Decodes a request body in the Kubernetes protobuf encoding into a JSON object carrying
// apiVersion and kind. Errors: InvalidArgument (no magic, malformed wire data, an unknown
// kind, a content encoding other than none).
Result<boost::json::object> DecodeKubernetesProtobuf(std::string_view body);

// Decodes one message of a declared type (or of the fully qualified protobuf message name).
Result<boost::json::value> DecodeProtoMessage(const TypeDecl& type, std::string_view bytes);
Result<boost::json::value> DecodeProtoMessage(std::string_view message, std::string_view bytes);

// Encodes an object of a declared type as its message (no envelope). Fields without a
// declaration are left out. Errors: InvalidArgument when a value does not have its field's
// type.
Result<std::string> EncodeProtoMessage(const TypeDecl& type, const boost::json::object& obj);

// Encodes an object carrying apiVersion and kind with the magic and the envelope.
Result<std::string> EncodeKubernetesProtobuf(const boost::json::object& obj);

// One event of a protobuf watch stream: the length-prefixed metav1.WatchEvent whose object is
// the enveloped encoding of `obj`.
Result<std::string> EncodeWatchEventProtobuf(std::string_view type, const boost::json::object& obj);

// Whether an Accept header prefers the protobuf encoding (its first media type).
bool AcceptsProtobuf(std::string_view accept);

}  // namespace keelson::api
