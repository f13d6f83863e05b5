#include "api/protobuf.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ctime>
#include <unordered_map>
#include <vector>

#include "api/json_limits.h"
#include "api/wire.h"
#include "common/base64.h"

namespace keelson::api {
namespace {

namespace json = boost::json;

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return s_.empty(); }
  bool Varint(uint64_t* v) {
    uint64_t out = 0;
    for (int shift = 0; shift < 64 && !s_.empty(); shift += 7) {
      auto b = static_cast<unsigned char>(s_.front());
      s_.remove_prefix(1);
      out |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) {
        *v = out;
        return true;
      }
    }
    return false;
  }
  bool Fixed(size_t n, uint64_t* v) {
    if (s_.size() < n) return false;
    uint64_t out = 0;
    for (size_t i = 0; i < n; ++i) out |= uint64_t{static_cast<unsigned char>(s_[i])} << (8 * i);
    s_.remove_prefix(n);
    *v = out;
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!Varint(&n) || n > s_.size()) return false;
    *out = s_.substr(0, n);
    s_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view s_;
};

// Go's time.Duration.String().
std::string GoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  bool neg = ns < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::string out;
  auto frac = [](uint64_t v, int digits) {
    std::string s = std::to_string(v);
    s = std::string(static_cast<size_t>(digits) - std::min<size_t>(s.size(), digits), '0') + s;
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s.empty() ? std::string() : "." + s;
  };
  if (u < 1000000000ULL) {
    if (u < 1000) return (neg ? "-" : "") + std::to_string(u) + "ns";
    if (u < 1000000) return (neg ? "-" : "") + std::to_string(u / 1000) + frac(u % 1000, 3) + "µs";
    return (neg ? "-" : "") + std::to_string(u / 1000000) + frac(u % 1000000, 6) + "ms";
  }
  uint64_t secs = u / 1000000000ULL, nanos = u % 1000000000ULL;
  uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s) + frac(nanos, 9) + "s";
  return (neg ? "-" : "") + out;
}

std::string Rfc3339(int64_t seconds, int64_t nanos, bool micro) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (micro) {
    char f[32];
    std::snprintf(f, sizeof(f), ".%06lld", static_cast<long long>(nanos / 1000));
    out += f;
  }
  return out + "Z";
}

// Go's time.ParseDuration, to nanoseconds.
bool ParseGoDuration(std::string_view s, int64_t* ns) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *ns = 0;
    return true;
  }
  if (s.empty()) return false;
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return false;
    double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    double scale = unit == "ns" ? 1
                   : unit == "us" || unit == "µs" ? 1e3
                   : unit == "ms" ? 1e6
                   : unit == "s" ? 1e9
                   : unit == "m" ? 60e9
                   : unit == "h" ? 3600e9
                                 : -1;
    if (scale < 0) return false;
    total += v * scale;
    // Go refuses a duration beyond int64 nanoseconds (about 292 years) as "invalid duration".
    if (!(total < 9.2e18)) return false;
  }
  *ns = static_cast<int64_t>(neg ? -total : total);
  return true;
}

// RFC 3339 ("2024-01-02T03:04:05Z", with optional fraction and offset) to Unix time.
bool ParseRfc3339(std::string_view s, int64_t* seconds, int32_t* nanos) {
  std::tm tm{};
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 ||
      std::sscanf(std::string(s.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d,
                  &h, &mi, &sec) != 6) {
    return false;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  int64_t t = timegm(&tm);
  s.remove_prefix(19);
  int64_t frac = 0;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    int digits = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[0] - '0');
        ++digits;
      }
      s.remove_prefix(1);
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  if (s == "Z" || s == "z") {
    // UTC
  } else if (s.size() == 6 && (s[0] == '+' || s[0] == '-')) {
    int oh = (s[1] - '0') * 10 + (s[2] - '0'), om = (s[4] - '0') * 10 + (s[5] - '0');
    int64_t off = (oh * 60 + om) * 60;
    t -= s[0] == '+' ? off : -off;
  } else {
    return false;
  }
  *seconds = t;
  *nanos = static_cast<int32_t>(frac);
  return true;
}

Status Malformed(std::string_view what) {
  return InvalidArgumentError("protobuf: malformed " + std::string(what));
}

// Strings become JSON, which is UTF-8: invalid bytes would be stored and not read back.
Status NotUtf8() { return InvalidArgumentError("protobuf: a string is not valid UTF-8"); }

// --- decoding ---------------------------------------------------------------------------------

Result<std::optional<json::value>> DecodeMessage(const TypeDecl& type, std::string_view bytes,
                                                 int depth);
Result<json::object> DecodeEnveloped(std::string_view body, int depth);

// Messages nest at most this deep, counting the objects embedded in RawExtensions: every
// level costs a few bytes of input, so without a bound a body could nest deeper than the stack.
constexpr int kMaxMessageDepth = 64;



// A message-encoded leaf (Time, Quantity, ...) to its JSON form; nullopt when it is the zero
// value that JSON leaves out.
Result<std::optional<json::value>> DecodeLeaf(ValueKind kind, std::string_view bytes, int depth) {
  using R = std::optional<json::value>;
  Reader r(bytes);
  int64_t n1 = 0, n2 = 0;
  std::string_view s1, s3;
  bool has_s1 = false;
  while (!r.done()) {
    uint64_t key = 0, val = 0;
    std::string_view data;
    if (!r.Varint(&key)) return Malformed("field key");
    int wire = static_cast<int>(key & 7);
    bool ok = wire == 0 ? r.Varint(&val) : wire == 2 ? r.Bytes(&data) : false;
    if (!ok) return Malformed("value");
    switch (key >> 3) {
      case 1:
        if (wire == 2) {
          s1 = data;
          has_s1 = true;
        } else {
          n1 = static_cast<int64_t>(val);
        }
        break;
      case 2: n2 = static_cast<int64_t>(val); break;
      case 3: s3 = data; break;
      default: break;
    }
  }
  switch (kind) {
    case ValueKind::kTime:
    case ValueKind::kMicroTime: {
      // Go's Timestamp range (years 1 to 9999) and nanoseconds within a second; a Time keeps
      // whole seconds and a MicroTime microseconds (as upstream's JSON does), and what is
      // zero at that precision is the zero time JSON leaves out.
      if (n1 < -62135596800 || n1 > 253402300799 || n2 < 0 || n2 > 999999999) {
        return Malformed("time");
      }
      bool micro = kind == ValueKind::kMicroTime;
      if (n1 == 0 && (!micro || n2 / 1000 == 0)) return R();
      return R(json::string(Rfc3339(n1, static_cast<int32_t>(n2), micro)));
    }
    case ValueKind::kDuration: return R(json::string(GoDuration(n1)));
    case ValueKind::kQuantity:
      if (!IsValidUtf8(s1)) return NotUtf8();
      return R(json::string(s1));
    case ValueKind::kIntOrString:
      if (n1 == 1) {
        if (!IsValidUtf8(s3)) return NotUtf8();
        return R(json::string(s3));
      }
      return R(json::value(static_cast<int64_t>(static_cast<int32_t>(n2))));
    case ValueKind::kRawExtension:
    case ValueKind::kFieldsV1: {
      if (!has_s1 || s1.empty()) return R();
      if (kind == ValueKind::kRawExtension && s1.substr(0, 4) == std::string_view("k8s\0", 4)) {
        auto inner = DecodeEnveloped(s1, depth + 1);  // an object in the protobuf encoding
        if (!inner.ok()) return inner.status();
        return R(json::value(std::move(*inner)));
      }
      // Embedded JSON within the depth the whole object may have (api/json_limits.h): each
      // message level above is at most two JSON levels (a list or map, and the object).
      boost::json::parse_options opts = JsonParseOptions();
      opts.max_depth = static_cast<size_t>(std::max(1, static_cast<int>(kJsonMaxDepth) - 2 * depth - 2));
      boost::system::error_code ec;
      json::value v = json::parse(s1, ec, {}, opts);
      if (ec) return InvalidArgumentError("protobuf: an embedded object is not JSON (" + ec.message() + ")");
      return R(std::move(v));
    }
    case ValueKind::kStringList: {
      json::array a;
      Reader lr(bytes);
      while (!lr.done()) {
        uint64_t key = 0;
        std::string_view data;
        if (!lr.Varint(&key) || (key & 7) != 2 || !lr.Bytes(&data)) return Malformed("list");
        if ((key >> 3) == 1) {
          if (!IsValidUtf8(data)) return NotUtf8();
          a.emplace_back(json::string(data));
        }
      }
      return R(json::value(std::move(a)));
    }
    default: return InvalidArgumentError("protobuf: not a message-encoded value");
  }
}

// One value of `kind` from its wire form; nullopt for an empty string (left out in JSON).
Result<std::optional<json::value>> DecodeValue(const FieldDecl& f, int wire, uint64_t num,
                                               std::string_view data, int depth) {
  using R = std::optional<json::value>;
  switch (f.kind) {
    case ValueKind::kString:
      if (wire != 2) return Malformed("string");
      if (data.empty()) return R();
      if (!IsValidUtf8(data)) return NotUtf8();
      return R(json::string(data));
    case ValueKind::kBytes:
      if (wire != 2) return Malformed("bytes");
      return R(json::string(Base64Encode(data)));
    case ValueKind::kBool:
      if (wire != 0) return Malformed("bool");
      return R(json::value(num != 0));
    case ValueKind::kInt32:
      if (wire != 0) return Malformed("int32");
      return R(json::value(static_cast<int64_t>(static_cast<int32_t>(num))));
    case ValueKind::kInt64:
      if (wire != 0) return Malformed("int64");
      return R(json::value(static_cast<int64_t>(num)));
    case ValueKind::kDouble: {
      if (wire != 1) return Malformed("double");
      double d;
      std::memcpy(&d, &num, sizeof(d));
      return R(json::value(d));
    }
    case ValueKind::kObject:
      if (wire != 2) return Malformed("message");
      return DecodeMessage(*f.type, data, depth + 1);
    case ValueKind::kFreeform: return R();
    default:
      if (wire != 2) return Malformed("message");
      return DecodeLeaf(f.kind, data, depth);
  }
}

bool IsZero(const json::value& v) {
  return (v.is_bool() && !v.as_bool()) || (v.is_int64() && v.as_int64() == 0);
}

// Reads the fields of `bytes` into `out`; `outer` is the number of the embedded struct being
// read (0 for the message itself).
Status DecodeFields(const TypeDecl& type, int outer, std::string_view bytes, int depth,
                    json::object* out) {
  Reader r(bytes);
  while (!r.done()) {
    uint64_t key = 0;
    if (!r.Varint(&key)) return Malformed("field key");
    int wire = static_cast<int>(key & 7);
    int number = static_cast<int>(key >> 3);
    uint64_t num = 0;
    std::string_view data;
    bool ok = wire == 0 ? r.Varint(&num)
              : wire == 1 ? r.Fixed(8, &num)
              : wire == 5 ? r.Fixed(4, &num)
              : wire == 2 ? r.Bytes(&data)
                          : false;
    if (!ok) return Malformed("field " + std::to_string(number));
    const FieldDecl* f = type.ByNumber(outer, number);
    if (f == nullptr) {
      if (outer == 0 && wire == 2 && type.IsOuter(number)) {
        KEELSON_RETURN_IF_ERROR(DecodeFields(type, number, data, depth + 1, out));
      }
      continue;  // a field keelson has no declaration for is dropped, as pruning would
    }
    if (f->container == Container::kMap) {
      if (wire != 2) return Malformed("map entry");
      Reader e(data);
      std::string k;
      std::optional<json::value> v;
      while (!e.done()) {
        uint64_t ek = 0, en = 0;
        std::string_view ed;
        if (!e.Varint(&ek)) return Malformed("map entry");
        int ew = static_cast<int>(ek & 7);
        bool eok = ew == 0 ? e.Varint(&en) : ew == 1 ? e.Fixed(8, &en) : ew == 2 ? e.Bytes(&ed) : false;
        if (!eok) return Malformed("map entry");
        if ((ek >> 3) == 1) {
          if (!IsValidUtf8(ed)) return NotUtf8();
          k = std::string(ed);
        } else if ((ek >> 3) == 2) {
          auto ev = DecodeValue(*f, ew, en, ed, depth);
          if (!ev.ok()) return ev.status();
          v = std::move(*ev);
        }
      }
      if (!v && f->kind == ValueKind::kString) v = json::string("");
      auto& m = (*out)[f->name];
      if (!m.is_object()) m = json::object();
      m.as_object()[k] = v ? std::move(*v) : json::value(nullptr);
      continue;
    }
    if (f->container == Container::kArray) {
      bool numeric_list = f->kind == ValueKind::kInt32 || f->kind == ValueKind::kInt64 ||
                          f->kind == ValueKind::kBool || f->kind == ValueKind::kDouble;
      if (numeric_list && wire == 2 && data.empty()) continue;  // an empty packed list: unset
      auto& a = (*out)[f->name];
      if (!a.is_array()) a = json::array();
      bool numeric = f->kind == ValueKind::kInt32 || f->kind == ValueKind::kInt64 ||
                     f->kind == ValueKind::kBool || f->kind == ValueKind::kDouble;
      if (numeric && wire == 2) {  // packed
        Reader packed(data);
        while (!packed.done()) {
          uint64_t pn = 0;
          bool dbl = f->kind == ValueKind::kDouble;
          if (!(dbl ? packed.Fixed(8, &pn) : packed.Varint(&pn))) return Malformed("packed field");
          auto v = DecodeValue(*f, dbl ? 1 : 0, pn, {}, depth);
          if (!v.ok()) return v.status();
          if (*v) a.as_array().push_back(std::move(**v));
        }
        continue;
      }
      auto v = DecodeValue(*f, wire, num, data, depth);
      if (!v.ok()) return v.status();
      if (*v) {
        a.as_array().push_back(std::move(**v));
      } else if (f->kind == ValueKind::kString) {
        a.as_array().push_back(json::string(""));  // an empty string in a list is kept
      } else {
        a.as_array().push_back(json::object());
      }
      continue;
    }
    auto v = DecodeValue(*f, wire, num, data, depth);
    if (!v.ok()) return v.status();
    if (*v && !(f->zero_is_unset && IsZero(**v))) {
      (*out)[f->name] = std::move(**v);
    } else if (!*v && f->empty_is_value) {
      (*out)[f->name] = "";
    }
  }
  return Status::Ok();
}

Result<std::optional<json::value>> DecodeMessage(const TypeDecl& type, std::string_view bytes,
                                                 int depth) {
  using R = std::optional<json::value>;
  if (depth > kMaxMessageDepth) {
    return InvalidArgumentError("protobuf: messages nested more than " +
                                std::to_string(kMaxMessageDepth) + " levels deep");
  }
  if (type.kind != ValueKind::kObject) return DecodeLeaf(type.kind, bytes, depth);
  json::object out;
  KEELSON_RETURN_IF_ERROR(DecodeFields(type, 0, bytes, depth, &out));
  return R(json::value(std::move(out)));
}

// --- encoding ---------------------------------------------------------------------------------

using wire::PutBytes;
using wire::PutKey;
using wire::PutNumber;

// An integer as int64 without the exception to_number throws for a uint64 above INT64_MAX
// (which wraps, as the wire's varint would carry it).
int64_t AsInt64(const json::value& v) {
  return v.is_int64() ? v.as_int64() : static_cast<int64_t>(v.as_uint64());
}

Status TypeError(std::string_view path, std::string_view want) {
  return InvalidArgumentError("protobuf: " + std::string(path) + " is not " + std::string(want));
}

Status EncodeObject(const TypeDecl& type, const json::object& obj, std::string_view path,
                    int depth, std::string* out);

// The message body of a message-encoded leaf.
Status EncodeLeaf(ValueKind kind, const json::value& v, std::string_view path, std::string* out) {
  switch (kind) {
    case ValueKind::kTime:
    case ValueKind::kMicroTime: {
      if (!v.is_string()) return TypeError(path, "a time");
      int64_t s = 0;
      int32_t ns = 0;
      if (!ParseRfc3339(v.as_string(), &s, &ns)) return TypeError(path, "an RFC 3339 time");
      if (s != 0) PutNumber(out, 1, static_cast<uint64_t>(s));
      if (ns != 0) PutNumber(out, 2, static_cast<uint64_t>(static_cast<int64_t>(ns)));
      return Status::Ok();
    }
    case ValueKind::kDuration: {
      int64_t ns = 0;
      if (!v.is_string() || !ParseGoDuration(v.as_string(), &ns)) return TypeError(path, "a duration");
      PutNumber(out, 1, static_cast<uint64_t>(ns));
      return Status::Ok();
    }
    case ValueKind::kQuantity:
      if (v.is_string()) {
        PutBytes(out, 1, v.as_string());
      } else if (v.is_number()) {
        PutBytes(out, 1, json::serialize(v));
      } else {
        return TypeError(path, "a quantity");
      }
      return Status::Ok();
    case ValueKind::kIntOrString:
      if (v.is_string()) {
        PutNumber(out, 1, 1);
        PutNumber(out, 2, 0);
        PutBytes(out, 3, v.as_string());
      } else if (v.is_int64() || v.is_uint64()) {
        PutNumber(out, 1, 0);
        PutNumber(out, 2, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(AsInt64(v)))));
        PutBytes(out, 3, "");
      } else {
        return TypeError(path, "an integer or a string");
      }
      return Status::Ok();
    case ValueKind::kRawExtension:
    case ValueKind::kFieldsV1: PutBytes(out, 1, json::serialize(v)); return Status::Ok();
    case ValueKind::kStringList:
      if (!v.is_array()) return TypeError(path, "a list of strings");
      for (const auto& e : v.as_array()) {
        if (!e.is_string()) return TypeError(path, "a list of strings");
        PutBytes(out, 1, e.as_string());
      }
      return Status::Ok();
    default: return InternalError("protobuf: not a message-encoded value");
  }
}

// One value of field `f` as field `number`.
Status EncodeValue(const FieldDecl& f, int number, const json::value& v, std::string_view path,
                   int depth, std::string* out) {
  switch (f.kind) {
    case ValueKind::kString:
      if (!v.is_string()) return TypeError(path, "a string");
      PutBytes(out, number, v.as_string());
      return Status::Ok();
    case ValueKind::kBytes: {
      if (!v.is_string()) return TypeError(path, "base64");
      auto raw = Base64Decode(v.as_string());
      if (!raw.ok()) return TypeError(path, "base64");
      PutBytes(out, number, *raw);
      return Status::Ok();
    }
    case ValueKind::kBool:
      if (!v.is_bool()) return TypeError(path, "a boolean");
      PutNumber(out, number, v.as_bool() ? 1 : 0);
      return Status::Ok();
    case ValueKind::kInt32:
    case ValueKind::kInt64: {
      if (!v.is_int64() && !v.is_uint64()) return TypeError(path, "an integer");
      int64_t n = AsInt64(v);
      if (f.kind == ValueKind::kInt32) n = static_cast<int32_t>(n);
      PutNumber(out, number, static_cast<uint64_t>(n));
      return Status::Ok();
    }
    case ValueKind::kDouble: {
      if (!v.is_number()) return TypeError(path, "a number");
      double d = v.is_double() ? v.as_double()
                 : v.is_int64() ? static_cast<double>(v.as_int64())
                                : static_cast<double>(v.as_uint64());
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof(bits));
      PutKey(out, number, 1);
      for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
      return Status::Ok();
    }
    case ValueKind::kObject: {
      if (!v.is_object()) return TypeError(path, "an object");
      std::string body;
      KEELSON_RETURN_IF_ERROR(EncodeObject(*f.type, v.as_object(), path, depth + 1, &body));
      PutBytes(out, number, body);
      return Status::Ok();
    }
    case ValueKind::kFreeform: return Status::Ok();
    default: {
      std::string body;
      KEELSON_RETURN_IF_ERROR(EncodeLeaf(f.kind, v, path, &body));
      PutBytes(out, number, body);
      return Status::Ok();
    }
  }
}

Status EncodeField(const FieldDecl& f, const json::value& v, std::string_view path, int depth,
                   std::string* out) {
  if (f.container == Container::kArray) {
    if (!v.is_array()) return TypeError(path, "a list");
    for (const auto& e : v.as_array()) {
      KEELSON_RETURN_IF_ERROR(EncodeValue(f, f.proto_number, e, path, depth, out));
    }
    return Status::Ok();
  }
  if (f.container == Container::kMap) {
    if (!v.is_object()) return TypeError(path, "a map");
    for (const auto& [k, ev] : v.as_object()) {
      std::string entry;
      PutBytes(&entry, 1, k);
      if (!ev.is_null()) KEELSON_RETURN_IF_ERROR(EncodeValue(f, 2, ev, path, depth, &entry));
      PutBytes(out, f.proto_number, entry);
    }
    return Status::Ok();
  }
  return EncodeValue(f, f.proto_number, v, path, depth, out);
}

Status EncodeObject(const TypeDecl& type, const json::object& obj, std::string_view path,
                    int depth, std::string* out) {
  if (depth > 64) return InvalidArgumentError("protobuf: object nested too deeply");
  std::vector<const FieldDecl*> fields;
  std::vector<const json::value*> values;
  for (const auto& [k, v] : obj) {
    const FieldDecl* f = type.Field(k);
    if (f == nullptr || f->proto_number == 0 || v.is_null()) continue;
    fields.push_back(f);
  }
  // Fields in number order, as Go writes them; an embedded struct's fields go out together
  // inside its own field.
  auto order = [](const FieldDecl* f) {
    return std::pair(f->proto_outer ? f->proto_outer : f->proto_number, f->proto_number);
  };
  std::sort(fields.begin(), fields.end(),
            [&](const FieldDecl* a, const FieldDecl* b) { return order(a) < order(b); });
  std::string sub;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldDecl& f = *fields[i];
    std::string fpath = std::string(path) + (path.empty() ? "" : ".") + f.name;
    const json::value& v = obj.at(f.name);
    if (f.proto_outer == 0) {
      KEELSON_RETURN_IF_ERROR(EncodeField(f, v, fpath, depth, out));
      continue;
    }
    KEELSON_RETURN_IF_ERROR(EncodeField(f, v, fpath, depth, &sub));
    if (i + 1 == fields.size() || fields[i + 1]->proto_outer != f.proto_outer) {
      PutBytes(out, f.proto_outer, sub);
      sub.clear();
    }
  }
  return Status::Ok();
}

std::string Envelope(std::string_view api_version, std::string_view kind, std::string_view raw) {
  std::string type_meta;
  PutBytes(&type_meta, 1, api_version);
  PutBytes(&type_meta, 2, kind);
  std::string out("k8s\0", 4);
  PutBytes(&out, 1, type_meta);
  PutBytes(&out, 2, raw);
  PutBytes(&out, 3, "");
  PutBytes(&out, 4, "");
  return out;
}

}  // namespace

Result<json::value> DecodeProtoMessage(const TypeDecl& type, std::string_view bytes) {
  auto v = DecodeMessage(type, bytes, 0);
  if (!v.ok()) return v.status();
  if (!*v) return json::value(json::object());
  return std::move(**v);
}

Result<json::value> DecodeProtoMessage(std::string_view message, std::string_view bytes) {
  const TypeDecl* t = Schema::BuiltIn().ByProtoMessage(message);
  if (t == nullptr) return InvalidArgumentError("protobuf: no declaration of " + std::string(message));
  return DecodeProtoMessage(*t, bytes);
}

Result<json::object> DecodeKubernetesProtobuf(std::string_view body) {
  return DecodeEnveloped(body, 0);
}

namespace {

Result<json::object> DecodeEnveloped(std::string_view body, int depth) {
  if (depth > kMaxMessageDepth) {
    return InvalidArgumentError("protobuf: messages nested more than " +
                                std::to_string(kMaxMessageDepth) + " levels deep");
  }
  constexpr std::string_view kMagic("k8s\0", 4);
  if (body.substr(0, 4) != kMagic) {
    return InvalidArgumentError("the protobuf body does not start with the k8s magic bytes");
  }
  body.remove_prefix(4);
  Reader r(body);
  std::string api_version, kind, encoding;
  std::string_view raw;
  while (!r.done()) {
    uint64_t key = 0;
    std::string_view data;
    if (!r.Varint(&key) || (key & 7) != 2 || !r.Bytes(&data)) {
      return InvalidArgumentError("malformed protobuf envelope");
    }
    switch (key >> 3) {
      case 1: {  // TypeMeta
        Reader t(data);
        while (!t.done()) {
          uint64_t tk = 0;
          std::string_view tv;
          if (!t.Varint(&tk) || (tk & 7) != 2 || !t.Bytes(&tv)) {
            return InvalidArgumentError("malformed protobuf type meta");
          }
          if ((tk >> 3) == 1) api_version = std::string(tv);
          if ((tk >> 3) == 2) kind = std::string(tv);
        }
        break;
      }
      case 2: raw = data; break;
      case 3: encoding = std::string(data); break;
      default: break;
    }
  }
  if (!encoding.empty()) {
    return InvalidArgumentError("protobuf content encoding \"" + encoding + "\" is not supported");
  }
  const TypeDecl* type = Schema::BuiltIn().KindOf(api_version, kind);
  if (type == nullptr || type->proto_message.empty()) {
    return InvalidArgumentError("no protobuf decoding for " + api_version + ", Kind=" + kind);
  }
  auto v = DecodeMessage(*type, raw, depth);
  if (!v.ok()) return v.status();
  json::object obj = *v && (*v)->is_object() ? std::move((*v)->as_object()) : json::object();
  obj["apiVersion"] = api_version;
  obj["kind"] = kind;
  return obj;
}

}  // namespace

Result<std::string> EncodeProtoMessage(const TypeDecl& type, const json::object& obj) {
  std::string out;
  KEELSON_RETURN_IF_ERROR(EncodeObject(type, obj, "", 0, &out));
  return out;
}

Result<std::string> EncodeKubernetesProtobuf(const json::object& obj) {
  const auto* av = obj.if_contains("apiVersion");
  const auto* k = obj.if_contains("kind");
  if (av == nullptr || !av->is_string() || k == nullptr || !k->is_string()) {
    return InvalidArgumentError("protobuf: the object has no apiVersion and kind");
  }
  const TypeDecl* type = Schema::BuiltIn().KindOf(av->as_string(), k->as_string());
  if (type == nullptr || type->proto_message.empty()) {
    return InvalidArgumentError("no protobuf encoding for " + std::string(av->as_string()) +
                                ", Kind=" + std::string(k->as_string()));
  }
  auto raw = EncodeProtoMessage(*type, obj);
  if (!raw.ok()) return raw.status();
  return Envelope(av->as_string(), k->as_string(), *raw);
}

Result<std::string> EncodeWatchEventProtobuf(std::string_view type, const json::object& obj) {
  auto object = EncodeKubernetesProtobuf(obj);
  if (!object.ok()) return object.status();
  std::string raw_ext;
  PutBytes(&raw_ext, 1, *object);
  std::string event;
  PutBytes(&event, 1, type);
  PutBytes(&event, 2, raw_ext);
  // The stream frames the bare event (no envelope), each behind its 4-byte big-endian length;
  // the object inside is a whole enveloped encoding.
  std::string out;
  uint32_t n = static_cast<uint32_t>(event.size());
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((n >> s) & 0xff));
  return out + event;
}

bool AcceptsProtobuf(std::string_view accept) {
  // The client's first choice decides: "application/vnd.kubernetes.protobuf,application/json".
  auto comma = accept.find(',');
  std::string_view first = accept.substr(0, comma);
  while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
  return first.substr(0, kProtobufContentType.size()) == kProtobufContentType &&
         first.find("as=") == std::string_view::npos;
}

}  // namespace keelson::api
