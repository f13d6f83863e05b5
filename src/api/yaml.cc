#include "api/yaml.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "api/json_limits.h"

namespace keelson::api {
namespace {

namespace json = boost::json;

json::value Scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return json::string(s);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}) {
    if (s == t) return true;
  }
  for (const char* f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}) {
    if (s == f) return false;
  }
  errno = 0;
  char* end = nullptr;
  long long i = std::strtoll(s.c_str(), &end, 0);
  if (errno == 0 && end && *end == '\0' && s.find_first_of("0123456789") != std::string::npos &&
      !(s.size() > 1 && s[0] == '0' && s[1] != 'x' && s[1] != 'X')) {  // no octal surprises
    return static_cast<int64_t>(i);
  }
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  bool numeric = s.find_first_of("0123456789") != std::string::npos &&
                 s.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (errno == 0 && end && *end == '\0' && numeric) return d;
  return json::string(s);
}

// What a document may decode to, bounded by its own size: yaml-cpp shares the node an alias
// names, so a few hundred bytes of nested anchors ("billion laughs") describe an exponential
// tree that only appears while it is converted. Every node and scalar byte produced counts
// against the budget, and the conversion stops as soon as it is spent.
struct Budget {
  size_t nodes_left;
  size_t bytes_left;
  size_t input_size;

  Status Spend(size_t bytes) {
    if (nodes_left == 0 || bytes_left < bytes) {
      return InvalidArgumentError(
          "yaml: document contains excessive aliasing: it expands to more than " +
          std::to_string(nodes_left == 0 ? kYamlMaxExpansion * input_size + kYamlMinNodes
                                         : kYamlMaxExpansion * input_size + kYamlMinBytes) +
          (nodes_left == 0 ? " nodes" : " bytes") + " (at most " +
          std::to_string(kYamlMaxExpansion) + " per byte of the " + std::to_string(input_size) +
          "-byte document)");
    }
    --nodes_left;
    bytes_left -= bytes;
    return Status::Ok();
  }
};

// Strings become JSON, which is UTF-8: the parser does not check the encoding (and its escapes
// and encoding detection can produce invalid sequences from valid text), and invalid bytes
// would be stored as JSON that no longer parses.
Status NotUtf8() { return InvalidArgumentError("yaml: the document is not valid UTF-8"); }

Result<json::value> Convert(const YAML::Node& node, int depth, Budget* budget) {
  if (depth > 100) return InvalidArgumentError("yaml: the document is nested too deeply");
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      KEELSON_RETURN_IF_ERROR(budget->Spend(1));
      return json::value(nullptr);
    case YAML::NodeType::Scalar:
      KEELSON_RETURN_IF_ERROR(budget->Spend(node.Scalar().size() + 1));
      if (!IsValidUtf8(node.Scalar())) return NotUtf8();
      return Scalar(node);
    case YAML::NodeType::Sequence: {
      KEELSON_RETURN_IF_ERROR(budget->Spend(1));
      json::array a;
      for (const auto& e : node) {
        auto v = Convert(e, depth + 1, budget);
        if (!v.ok()) return v.status();
        a.push_back(std::move(*v));
      }
      return json::value(std::move(a));
    }
    case YAML::NodeType::Map: {
      KEELSON_RETURN_IF_ERROR(budget->Spend(1));
      json::object o;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return InvalidArgumentError("yaml: a map key is not a scalar");
        KEELSON_RETURN_IF_ERROR(budget->Spend(kv.first.Scalar().size() + 1));
        if (!IsValidUtf8(kv.first.Scalar())) return NotUtf8();
        auto v = Convert(kv.second, depth + 1, budget);
        if (!v.ok()) return v.status();
        o[kv.first.Scalar()] = std::move(*v);
      }
      return json::value(std::move(o));
    }
  }
  return json::value(nullptr);
}

// The YAML parser recurses once per level of nesting: refuse documents nested deeper than
// any Kubernetes object before parsing, so that no input can exhaust the stack.
Status CheckNesting(std::string_view text) {
  constexpr int kMaxFlowDepth = 100;
  constexpr size_t kMaxIndent = 1000;
  int depth = 0;
  size_t indent = 0;
  bool line_start = true;
  char quote = 0;
  for (char c : text) {
    if (c == '\n') {
      line_start = true;
      indent = 0;
      continue;
    }
    if (line_start) {
      if (c == ' ') {
        if (++indent > kMaxIndent) {
          return InvalidArgumentError("yaml: the document is indented too deeply");
        }
        continue;
      }
      line_start = false;
    }
    if (quote != 0) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxFlowDepth) {
        return InvalidArgumentError("yaml: the document is nested too deeply");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<json::value> YamlToJson(std::string_view text) {
  if (!IsValidUtf8(text)) return NotUtf8();
  KEELSON_RETURN_IF_ERROR(CheckNesting(text));
  try {
    YAML::Node root = YAML::Load(std::string(text));
    Budget budget{kYamlMaxExpansion * text.size() + kYamlMinNodes,
                  kYamlMaxExpansion * text.size() + kYamlMinBytes, text.size()};
    return Convert(root, 0, &budget);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("error converting YAML to JSON: yaml: line " +
                                std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

}  // namespace keelson::api
