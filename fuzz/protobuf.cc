// The Kubernetes protobuf codec: bodies in the protobuf encoding decoded, encoded and decoded
// again. Invariants: nothing crashes, leaks or hangs; what decodes encodes again, decodes to
// the same object, and reads back as JSON within the limits.
#include <boost/json.hpp>

#include "api/protobuf.h"
#include "fuzz/fuzz_util.h"

namespace json = boost::json;
using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto first = api::DecodeKubernetesProtobuf(body);
  if (!first.ok()) return 0;
  std::string text = fuzz::CheckReadable(*first, "a decoded protobuf object does not read back");
  auto encoded = api::EncodeKubernetesProtobuf(*first);
  fuzz::Check(encoded.ok(), "a decoded protobuf object does not encode",
              encoded.status().message() + "\n" + text);
  auto second = api::DecodeKubernetesProtobuf(*encoded);
  fuzz::Check(second.ok(), "an encoded object does not decode", second.status().message());
  fuzz::Check(*second == *first, "protobuf decode -> encode -> decode is not stable",
              text + "\n" + json::serialize(*second));
  return 0;
}
