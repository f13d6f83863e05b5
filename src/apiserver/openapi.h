// The OpenAPI documents of the served API, generated from the type declarations
// (api/schema.h) and the resource registry:
// - /openapi/v3: an index of group-versions, each at /openapi/v3/<api|apis/group>/<version>
//   (OpenAPI 3.0, JSON), which kubectl 1.29+ reads for validation, explain and apply;
// - /openapi/v2: one Swagger 2.0 document, in JSON or in the protobuf form of the gnostic
//   OpenAPIv2 messages (application/com.github.proto-openapi.spec.v2@v1.0+protobuf), which
//   kubectl 1.27 and 1.28 ask for.
// The documents carry what clients use: every kind's fields and types, required fields, list
// types and merge keys, x-kubernetes-group-version-kind, and per resource the paths and
// operations with their query parameters (fieldValidation among them: kubectl validates on
// the server when the PATCH operation of a kind lists it).
//
// Built once at construction; immutable and thread-safe afterwards.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "api/resources.h"

namespace keelson::apiserver {

class OpenApi {
 public:
  OpenApi(const api::ResourceRegistry& registry, std::string server_version);

  // GET /openapi/v3
  const std::string& V3Index() const { return v3_index_; }
  // GET /openapi/v3/<path> ("api/v1", "apis/apps/v1"); nullptr when there is no such
  // group-version.
  const std::string* V3(std::string_view path) const;
  // GET /openapi/v2 as JSON and as protobuf.
  const std::string& V2Json() const { return v2_json_; }
  const std::string& V2Protobuf() const { return v2_protobuf_; }

 private:
  std::map<std::string, std::string, std::less<>> v3_;  // path -> document
  std::string v3_index_;
  std::string v2_json_;
  std::string v2_protobuf_;
};

// What /openapi/v2 answers protobuf with (clients ask with a '@' in place of the second '.',
// which Go's media type parser refuses in a response).
inline constexpr std::string_view kOpenApiV2ProtobufType =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

}  // namespace keelson::apiserver
