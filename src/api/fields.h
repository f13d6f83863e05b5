// Kubernetes field selectors (`?fieldSelector=`, `kubectl --field-selector`), following
// k8s.io/apimachinery/pkg/fields/selector.go:
//   - terms "field=value", "field==value", "field!=value", joined by ',' (AND);
//   - in values, ',' '=' and '\' must be escaped as "\,", "\=", "\\"; field names are taken
//     literally up to the first operator (no trimming, no escapes);
//   - a field the object does not have reads as "", so "f!=x" matches it and "f=" matches it;
//   - terms are kept in the order of their sorted raw text; String() re-escapes values.
// Which fields a resource supports is the caller's knowledge: see CheckSupported.
//
// FieldSelector is an immutable value type, safe to share between threads.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keelson::api {

// Field path ("metadata.name", "spec.nodeName") -> value of one object.
using Fields = std::map<std::string, std::string, std::less<>>;

struct FieldRequirement {
  enum class Operator { kEquals, kNotEquals };  // "==" parses as kEquals, as upstream

  std::string field;
  Operator op = Operator::kEquals;
  std::string value;  // unescaped

  bool operator==(const FieldRequirement&) const = default;
};

class FieldSelector {
 public:
  // Matches everything.
  FieldSelector() = default;

  // "" and ",," yield Everything. InvalidArgument with upstream's texts:
  //   "invalid selector: 'a'; can't understand 'a'"
  //   "invalid field selector: invalid escape sequence: \x"
  //   "invalid field selector: unescaped character in value: 61"  (Go prints the rune number)
  static Result<FieldSelector> Parse(std::string_view selector);

  bool Matches(const Fields& fields) const;
  bool Empty() const { return requirements_.empty(); }
  std::string String() const;  // "a=b,c!=d", values escaped
  const std::vector<FieldRequirement>& Requirements() const { return requirements_; }

  // The value `field` must equal, if some term requires one (used for metadata.name and
  // spec.nodeName shortcuts in the API server).
  std::optional<std::string> RequiresExactMatch(std::string_view field) const;

  // InvalidArgument "field label not supported: <field>" for the first (in String() order)
  // field not in `supported` — the message of upstream's per-kind field label conversion
  // functions. `resource` is not part of upstream's text; it is accepted so that callers
  // pass what they check against and for future use in logs.
  Status CheckSupported(const std::set<std::string>& supported,
                        std::string_view resource) const;
  // For kinds without their own field label list upstream uses a default that allows only
  // metadata.name and metadata.namespace and says so:
  //   "\"spec.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
  Status CheckDefaultSupported() const;

  bool operator==(const FieldSelector&) const = default;

 private:
  std::vector<FieldRequirement> requirements_;
};

// "\" -> "\\", "," -> "\,", "=" -> "\=".
std::string EscapeFieldValue(std::string_view value);
// The inverse; InvalidArgument for an unknown escape or an unescaped ',' or '='.
Result<std::string> UnescapeFieldValue(std::string_view value);

}  // namespace keelson::api
