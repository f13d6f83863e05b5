// Writing the protobuf wire format: varints, keys, length-delimited fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keelson::api::wire {

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline void PutKey(std::string* out, int number, int wire_type) {
  PutVarint(out, (static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(wire_type));
}
inline void PutBytes(std::string* out, int number, std::string_view data) {
  PutKey(out, number, 2);
  PutVarint(out, data.size());
  out->append(data);
}
inline void PutNumber(std::string* out, int number, uint64_t v) {
  PutKey(out, number, 0);
  PutVarint(out, v);
}

}  // namespace keelson::api::wire
