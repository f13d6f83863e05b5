#include "api/prune.h"

#include <boost/json.hpp>

#include <cmath>
#include <limits>

#include "api/quantity.h"

namespace keelson::api {
namespace {

namespace json = boost::json;

std::string_view JsonTypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return "string";
    case json::kind::bool_: return "bool";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    default: return "number";
  }
}

std::string GoTypeName(const FieldDecl& f, bool element) {
  std::string elem;
  switch (f.kind) {
    case ValueKind::kString: elem = "string"; break;
    case ValueKind::kBytes: elem = "[]uint8"; break;
    case ValueKind::kBool: elem = "bool"; break;
    case ValueKind::kInt32: elem = "int32"; break;
    case ValueKind::kInt64: elem = "int64"; break;
    case ValueKind::kDouble: elem = "float64"; break;
    case ValueKind::kObject: {
      std::string_view n = f.type->name;
      n = n.substr(0, n.rfind('.'));
      elem = std::string(n.substr(n.rfind('.') + 1)) + "." + std::string(f.type->ShortName());
      break;
    }
    case ValueKind::kStringList: elem = "[]string"; break;
    case ValueKind::kQuantity: elem = "resource.Quantity"; break;
    case ValueKind::kIntOrString: elem = "intstr.IntOrString"; break;
    case ValueKind::kTime: elem = "v1.Time"; break;
    case ValueKind::kMicroTime: elem = "v1.MicroTime"; break;
    case ValueKind::kDuration: elem = "v1.Duration"; break;
    default: elem = "map[string]interface {}"; break;
  }
  if (element || f.container == Container::kNone) return elem;
  if (f.container == Container::kArray) return "[]" + elem;
  return "map[string]" + elem;
}

// A quantity: a signed decimal number and an optional suffix (binary SI, decimal SI or an
// exponent).
bool IsQuantity(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  bool dot = false;
  for (; i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot)); ++i) {
    if (s[i] == '.') {
      dot = true;
    } else {
      ++digits;
    }
  }
  if (digits == 0) return false;
  std::string_view suffix = s.substr(i);
  static constexpr std::string_view kSuffixes[] = {"",  "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n",
                                                   "u", "m",  "k",  "M",  "G",  "T",  "P",  "E"};
  for (auto k : kSuffixes) {
    if (suffix == k) return true;
  }
  if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t j = 1;
    if (j < suffix.size() && (suffix[j] == '+' || suffix[j] == '-')) ++j;
    if (j == suffix.size()) return false;
    for (; j < suffix.size(); ++j) {
      if (suffix[j] < '0' || suffix[j] > '9') return false;
    }
    return true;
  }
  return false;
}

class Pruner {
 public:
  explicit Pruner(PruneReport* report) : report_(report) {}

  void Object(const TypeDecl& t, json::object* obj, const std::string& path) {
    if (!report_->type_error.empty()) return;
    for (auto it = obj->begin(); it != obj->end();) {
      std::string fpath = path.empty() ? std::string(it->key()) : path + "." + std::string(it->key());
      const FieldDecl* f = t.Field(it->key());
      if (f == nullptr) {
        report_->unknown.push_back(fpath);
        it = obj->erase(it);
        continue;
      }
      if (it->value().is_null()) {
        it = obj->erase(it);
        continue;
      }
      Field(t, *f, &it->value(), fpath);
      if (!report_->type_error.empty()) return;
      ++it;
    }
  }

 private:
  void Field(const TypeDecl& parent, const FieldDecl& f, json::value* v, const std::string& path) {
    if (f.container == Container::kArray) {
      if (!v->is_array()) return Mismatch(parent, f, *v, path, false);
      auto& a = v->as_array();
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].is_null() && f.kind != ValueKind::kObject) continue;
        Value(parent, f, &a[i], path + "[" + std::to_string(i) + "]", true);
        if (!report_->type_error.empty()) return;
      }
      return;
    }
    if (f.container == Container::kMap) {
      if (!v->is_object()) return Mismatch(parent, f, *v, path, false);
      for (auto& [k, ev] : v->as_object()) {
        if (ev.is_null()) continue;
        Value(parent, f, &ev, path, true);  // Go names the map, not the key
        if (!report_->type_error.empty()) return;
      }
      return;
    }
    Value(parent, f, v, path, false);
  }

  void Value(const TypeDecl& parent, const FieldDecl& f, json::value* v, const std::string& path,
             bool element) {
    switch (f.kind) {
      case ValueKind::kString:
      case ValueKind::kBytes:
      case ValueKind::kTime:
      case ValueKind::kMicroTime:
      case ValueKind::kDuration:
        if (!v->is_string()) Mismatch(parent, f, *v, path, element);
        return;
      case ValueKind::kBool:
        if (!v->is_bool()) Mismatch(parent, f, *v, path, element);
        return;
      case ValueKind::kInt32:
      case ValueKind::kInt64: {
        if (v->is_double()) {
          double d = v->as_double();
          if (std::trunc(d) != d || std::abs(d) > 9.007199254740992e15) {
            return Mismatch(parent, f, *v, path, element);
          }
          *v = static_cast<int64_t>(d);
        }
        if (v->is_uint64() && v->as_uint64() > uint64_t(std::numeric_limits<int64_t>::max())) {
          return Mismatch(parent, f, *v, path, element);
        }
        if (!v->is_int64() && !v->is_uint64()) return Mismatch(parent, f, *v, path, element);
        int64_t n = v->to_number<int64_t>();
        if (f.kind == ValueKind::kInt32 && (n < std::numeric_limits<int32_t>::min() ||
                                            n > std::numeric_limits<int32_t>::max())) {
          return Mismatch(parent, f, *v, path, element);
        }
        *v = n;
        return;
      }
      case ValueKind::kDouble:
        if (!v->is_number()) Mismatch(parent, f, *v, path, element);
        return;
      case ValueKind::kObject:
        if (!v->is_object()) return Mismatch(parent, f, *v, path, element);
        return Object(*f.type, &v->as_object(), path);
      case ValueKind::kStringList:
        if (!v->is_array()) return Mismatch(parent, f, *v, path, element);
        for (const auto& e : v->as_array()) {
          if (!e.is_string()) return Mismatch(parent, f, *v, path, element);
        }
        return;
      case ValueKind::kQuantity:
        if (v->is_number()) {
          *v = json::string(json::serialize(*v));
        }
        if (!v->is_string()) return Mismatch(parent, f, *v, path, element);
        if (!IsQuantity(v->as_string())) {
          report_->type_error =
              "quantities must match the regular expression "
              "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
        } else if (auto canonical = CanonicalQuantity(v->as_string())) {
          *v = json::string(*canonical);  // stored and answered as upstream does
        }
        return;
      case ValueKind::kIntOrString:
        // Whole numbers only within the range an int64 holds exactly (a conversion beyond it
        // is undefined); others are a type mismatch below.
        if (v->is_double() && std::trunc(v->as_double()) == v->as_double() &&
            std::abs(v->as_double()) <= 9.007199254740992e15) {
          *v = static_cast<int64_t>(v->as_double());
        }
        if (!v->is_string() && !v->is_int64() && !v->is_uint64()) {
          Mismatch(parent, f, *v, path, element);
        }
        return;
      case ValueKind::kFreeform:
      case ValueKind::kFieldsV1:
        if (!v->is_object()) Mismatch(parent, f, *v, path, element);
        return;
      case ValueKind::kRawExtension: return;
    }
  }

  void Mismatch(const TypeDecl& parent, const FieldDecl& f, const json::value& v,
                const std::string& path, bool element) {
    std::string what(JsonTypeName(v));
    if (v.is_number()) what += " " + json::serialize(v);
    report_->type_error = "json: cannot unmarshal " + what + " into Go struct field " +
                          std::string(parent.ShortName()) + "." + path + " of type " +
                          GoTypeName(f, element);
  }

  PruneReport* report_;
};

}  // namespace

PruneReport Prune(const TypeDecl& type, json::object* obj) {
  PruneReport report;
  Pruner(&report).Object(type, obj, "");
  return report;
}

}  // namespace keelson::api
