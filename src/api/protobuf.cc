#include "api/protobuf.h"

#include <boost/json.hpp>

#include <cstring>
#include <ctime>
#include <unordered_map>
#include <vector>

namespace keelson::api {
namespace {

namespace json = boost::json;

struct Row {
  const char* message;
  const char* field;
  int number;
  const char* type;
  const char* label;
};

constexpr Row kRows[] = {
#include "api/proto_schema.inc"
};

struct FieldDef {
  std::string name;
  std::string type;        // scalar name or message name; for maps, the value type
  std::string key_type;    // for maps
  bool repeated = false;
  bool map = false;
};

using MessageDef = std::unordered_map<int, FieldDef>;

const std::unordered_map<std::string, MessageDef>& Schema() {
  static const auto* schema = [] {
    auto* s = new std::unordered_map<std::string, MessageDef>();
    for (const Row& r : kRows) {
      FieldDef f;
      f.name = r.field;
      std::string_view t = r.type;
      if (t.substr(0, 4) == "map<") {
        f.map = true;
        auto comma = t.find(',');
        f.key_type = std::string(t.substr(4, comma - 4));
        f.type = std::string(t.substr(comma + 1, t.size() - comma - 2));
      } else {
        f.type = std::string(t);
      }
      f.repeated = std::string_view(r.label) == "repeated";
      (*s)[r.message][r.number] = std::move(f);
    }
    return s;
  }();
  return *schema;
}

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

std::string Base64(std::string_view in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t{static_cast<unsigned char>(in[i])} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

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

constexpr std::string_view kMeta = "k8s.io.apimachinery.pkg.apis.meta.v1.";

bool IsScalar(const std::string& t) {
  return t == "string" || t == "bytes" || t == "bool" || t == "int32" || t == "int64" ||
         t == "double" || t == "float";
}

Result<std::optional<json::value>> Scalar(const std::string& type, int wire, uint64_t num,
                                          std::string_view bytes) {
  using R = std::optional<json::value>;
  if (type == "string") {
    if (wire != 2) return InvalidArgumentError("protobuf: a string field is not length-delimited");
    if (bytes.empty()) return R();
    return R(json::string(bytes));
  }
  if (type == "bytes") {
    if (wire != 2) return InvalidArgumentError("protobuf: a bytes field is not length-delimited");
    return R(json::string(Base64(bytes)));
  }
  if (wire == 2) return InvalidArgumentError("protobuf: a number field is length-delimited");
  if (type == "bool") return R(json::value(num != 0));
  if (type == "int32") return R(json::value(static_cast<int64_t>(static_cast<int32_t>(num))));
  if (type == "int64") return R(json::value(static_cast<int64_t>(num)));
  if (type == "double") {
    double d;
    std::memcpy(&d, &num, sizeof(d));
    return R(json::value(d));
  }
  if (type == "float") {
    uint32_t u = static_cast<uint32_t>(num);
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return R(json::value(static_cast<double>(f)));
  }
  return InvalidArgumentError("protobuf: unknown scalar type " + type);
}

Result<std::optional<json::value>> Decode(const std::string& type, std::string_view bytes,
                                          int depth);

// Messages whose JSON form is not an object.
Result<std::optional<json::value>> Special(const std::string& type, std::string_view bytes,
                                           bool* handled) {
  using R = std::optional<json::value>;
  *handled = true;
  if (type == std::string(kMeta) + "Time" || type == std::string(kMeta) + "MicroTime") {
    Reader r(bytes);
    int64_t seconds = 0, nanos = 0;
    while (!r.done()) {
      uint64_t key = 0, val = 0;
      if (!r.Varint(&key) || (key & 7) != 0 || !r.Varint(&val)) {
        return InvalidArgumentError("protobuf: malformed time");
      }
      if ((key >> 3) == 1) seconds = static_cast<int64_t>(val);
      if ((key >> 3) == 2) nanos = static_cast<int64_t>(static_cast<int32_t>(val));
    }
    if (seconds == 0 && nanos == 0) return R();
    return R(json::string(Rfc3339(seconds, nanos, type.find("MicroTime") != std::string::npos)));
  }
  if (type == std::string(kMeta) + "Duration") {
    Reader r(bytes);
    int64_t d = 0;
    while (!r.done()) {
      uint64_t key = 0, val = 0;
      if (!r.Varint(&key) || (key & 7) != 0 || !r.Varint(&val)) {
        return InvalidArgumentError("protobuf: malformed duration");
      }
      if ((key >> 3) == 1) d = static_cast<int64_t>(val);
    }
    return R(json::string(GoDuration(d)));
  }
  if (type == "k8s.io.apimachinery.pkg.api.resource.Quantity") {
    Reader r(bytes);
    std::string_view s;
    while (!r.done()) {
      uint64_t key = 0;
      if (!r.Varint(&key) || (key & 7) != 2 || !r.Bytes(&s)) {
        return InvalidArgumentError("protobuf: malformed quantity");
      }
    }
    return R(json::string(s));
  }
  if (type == "k8s.io.apimachinery.pkg.util.intstr.IntOrString") {
    Reader r(bytes);
    int64_t kind = 0, iv = 0;
    std::string_view sv;
    while (!r.done()) {
      uint64_t key = 0, val = 0;
      if (!r.Varint(&key)) return InvalidArgumentError("protobuf: malformed IntOrString");
      if ((key & 7) == 2) {
        if (!r.Bytes(&sv)) return InvalidArgumentError("protobuf: malformed IntOrString");
      } else if (!r.Varint(&val)) {
        return InvalidArgumentError("protobuf: malformed IntOrString");
      } else if ((key >> 3) == 1) {
        kind = static_cast<int64_t>(val);
      } else if ((key >> 3) == 2) {
        iv = static_cast<int32_t>(val);
      }
    }
    if (kind == 1) return R(json::string(sv));
    return R(json::value(iv));
  }
  if (type == "k8s.io.apimachinery.pkg.runtime.RawExtension" ||
      type == std::string(kMeta) + "FieldsV1") {
    Reader r(bytes);
    std::string_view raw;
    while (!r.done()) {
      uint64_t key = 0;
      if (!r.Varint(&key) || (key & 7) != 2 || !r.Bytes(&raw)) {
        return InvalidArgumentError("protobuf: malformed raw JSON");
      }
    }
    if (raw.empty()) return R();
    boost::system::error_code ec;
    json::value v = json::parse(raw, ec);
    if (ec) return InvalidArgumentError("protobuf: embedded object is not JSON");
    return R(std::move(v));
  }
  *handled = false;
  return R();
}

Result<std::optional<json::value>> Decode(const std::string& type, std::string_view bytes,
                                          int depth) {
  using R = std::optional<json::value>;
  if (depth > 64) return InvalidArgumentError("protobuf: message nested too deeply");
  bool handled = false;
  auto special = Special(type, bytes, &handled);
  if (handled) return special;
  const auto& schema = Schema();
  auto it = schema.find(type);
  if (it == schema.end()) return R();  // a message keelson has no facts for: left out
  const MessageDef& def = it->second;
  json::object out;
  Reader r(bytes);
  while (!r.done()) {
    uint64_t key = 0;
    if (!r.Varint(&key)) return InvalidArgumentError("protobuf: malformed field key");
    int wire = static_cast<int>(key & 7);
    int number = static_cast<int>(key >> 3);
    uint64_t num = 0;
    std::string_view data;
    bool ok = wire == 0 ? r.Varint(&num)
              : wire == 1 ? r.Fixed(8, &num)
              : wire == 5 ? r.Fixed(4, &num)
              : wire == 2 ? r.Bytes(&data)
                          : false;
    if (!ok) return InvalidArgumentError("protobuf: malformed field " + std::to_string(number));
    auto f = def.find(number);
    if (f == def.end()) continue;  // unknown fields are dropped, as pruning would
    const FieldDef& fd = f->second;
    if (fd.map) {
      if (wire != 2) return InvalidArgumentError("protobuf: malformed map entry");
      Reader e(data);
      std::string k;
      std::optional<json::value> v;
      while (!e.done()) {
        uint64_t ek = 0, en = 0;
        std::string_view ed;
        if (!e.Varint(&ek)) return InvalidArgumentError("protobuf: malformed map entry");
        int ew = static_cast<int>(ek & 7);
        bool eok = ew == 0 ? e.Varint(&en) : ew == 2 ? e.Bytes(&ed) : false;
        if (!eok) return InvalidArgumentError("protobuf: malformed map entry");
        if ((ek >> 3) == 1) {
          k = std::string(ed);
        } else if ((ek >> 3) == 2) {
          if (IsScalar(fd.type)) {
            auto sv = Scalar(fd.type, ew, en, ed);
            if (!sv.ok()) return sv.status();
            v = *sv;
            if (!v && fd.type == "string") v = json::string("");
          } else {
            auto mv = Decode(fd.type, ed, depth + 1);
            if (!mv.ok()) return mv.status();
            v = *mv;
          }
        }
      }
      auto& m = out[fd.name];
      if (!m.is_object()) m = json::object();
      m.as_object()[k] = v ? std::move(*v) : json::value(nullptr);
      continue;
    }
    std::vector<json::value> values;
    if (IsScalar(fd.type)) {
      if (fd.repeated && wire == 2 && fd.type != "string" && fd.type != "bytes") {
        Reader packed(data);  // packed numbers
        while (!packed.done()) {
          uint64_t pn = 0;
          bool pok = fd.type == "double" ? packed.Fixed(8, &pn)
                     : fd.type == "float" ? packed.Fixed(4, &pn)
                                          : packed.Varint(&pn);
          if (!pok) return InvalidArgumentError("protobuf: malformed packed field");
          auto sv = Scalar(fd.type, fd.type == "double" ? 1 : fd.type == "float" ? 5 : 0, pn, {});
          if (!sv.ok()) return sv.status();
          if (*sv) values.push_back(std::move(**sv));
        }
      } else {
        auto sv = Scalar(fd.type, wire, num, data);
        if (!sv.ok()) return sv.status();
        if (*sv) {
          values.push_back(std::move(**sv));
        } else if (fd.repeated) {
          values.push_back(json::string(""));  // an empty string in a list is kept
        }
      }
    } else {
      if (wire != 2) return InvalidArgumentError("protobuf: malformed message field");
      auto mv = Decode(fd.type, data, depth + 1);
      if (!mv.ok()) return mv.status();
      if (*mv) values.push_back(std::move(**mv));
    }
    if (fd.repeated) {
      auto& a = out[fd.name];
      if (!a.is_array()) a = json::array();
      for (auto& v : values) a.as_array().push_back(std::move(v));
    } else if (!values.empty()) {
      out[fd.name] = std::move(values.back());
    }
  }
  return R(json::value(std::move(out)));
}

}  // namespace

std::string ProtoMessageFor(std::string_view group, std::string_view version,
                            std::string_view kind) {
  std::string pkg = group.empty() ? "core" : std::string(group.substr(0, group.find('.')));
  std::string name = "k8s.io.api." + pkg + "." + std::string(version) + "." + std::string(kind);
  return Schema().count(name) ? name : "";
}

Result<json::value> DecodeProtoMessage(std::string_view type, std::string_view bytes) {
  auto v = Decode(std::string(type), bytes, 0);
  if (!v.ok()) return v.status();
  if (!*v) return json::value(json::object());
  return std::move(**v);
}

Result<json::object> DecodeKubernetesProtobuf(std::string_view body) {
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
  std::string_view gv = api_version;
  auto slash = gv.find('/');
  std::string_view group = slash == std::string_view::npos ? "" : gv.substr(0, slash);
  std::string_view version = slash == std::string_view::npos ? gv : gv.substr(slash + 1);
  std::string message = ProtoMessageFor(group, version, kind);
  if (message.empty()) {
    return InvalidArgumentError("no protobuf decoding for " + api_version + ", Kind=" + kind);
  }
  auto v = DecodeProtoMessage(message, raw);
  if (!v.ok()) return v.status();
  json::object obj = v->is_object() ? std::move(v->as_object()) : json::object();
  obj["apiVersion"] = api_version;
  obj["kind"] = kind;
  return obj;
}

}  // namespace keelson::api
