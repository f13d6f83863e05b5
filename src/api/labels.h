// Kubernetes label selectors: the string form used by `?labelSelector=` and `kubectl -l`, and
// the structured form (matchLabels + matchExpressions) carried inside objects.
//
// Semantics, normalisation and error texts follow k8s.io/apimachinery/pkg/labels/selector.go
// and metav1's LabelSelectorAsSelector / ValidateLabelSelector:
//   - requirements are ANDed; an empty selector matches everything;
//   - `!=` and `notin` match when the key is absent, `=`, `==` and `in` do not;
//   - requirements are kept sorted by key (stable), values of a parsed requirement sorted and
//     de-duplicated, so String() of equivalent selectors is identical;
//   - `key>N` / `key<N` (upstream's Gt/Lt, integers only) are accepted by Parse as upstream
//     does, though the structured form allows only In, NotIn, Exists and DoesNotExist.
//
// LabelSelector is an immutable value type: copy it freely, share const instances between
// threads without locking.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/validation.h"
#include "common/status.h"

namespace keelson::api {

enum class SelectorOperator {
  kIn,
  kNotIn,
  kEquals,        // "="
  kDoubleEquals,  // "=="
  kNotEquals,     // "!="
  kExists,        // "key"
  kDoesNotExist,  // "!key"
  kGreaterThan,   // "key>N"
  kLessThan,      // "key<N"
};

// Upstream's selection.Operator spelling: "in", "notin", "=", "==", "!=", "exists", "!",
// "gt", "lt".
std::string_view OperatorName(SelectorOperator op);

// One term of a selector: a key, an operator and (for all but Exists/DoesNotExist) values.
class LabelRequirement {
 public:
  const std::string& key() const { return key_; }
  SelectorOperator op() const { return op_; }
  // For parsed selectors sorted and unique; for FromMatch in the order given.
  const std::vector<std::string>& values() const { return values_; }

  bool Matches(const Labels& labels) const;
  // "a=b", "a in (x,y)", "!a", "a>3" — values sorted on output.
  std::string String() const;

  bool operator==(const LabelRequirement&) const = default;

 private:
  friend class LabelSelector;
  LabelRequirement(std::string key, SelectorOperator op, std::vector<std::string> values)
      : key_(std::move(key)), op_(op), values_(std::move(values)) {}

  std::string key_;
  SelectorOperator op_ = SelectorOperator::kExists;
  std::vector<std::string> values_;
};

// One element of an object's selector.matchExpressions. The operator is kept as the text the
// client sent ("In", "NotIn", "Exists", "DoesNotExist") so that a bad one can be reported.
struct MatchExpression {
  std::string key;
  std::string op;
  std::vector<std::string> values;
};

class LabelSelector {
 public:
  // Matches everything (upstream's labels.Everything()).
  LabelSelector() = default;
  // Matches nothing (upstream's labels.Nothing(), used for a nil structured selector).
  static LabelSelector Nothing();

  // Parses the string form, e.g. "app=web,tier in (fe,be),!canary". "" yields Everything.
  // InvalidArgument with upstream's message ("unable to parse requirement: ...",
  // "found ',', expected: !, identifier, or 'end of string'", ...) on bad input.
  static Result<LabelSelector> Parse(std::string_view selector);

  // Builds a selector from the structured form. Both empty yields Everything. Accepts exactly
  // what upstream accepts; on failure InvalidArgument whose message is the aggregate of
  // ValidateMatch's errors relative to the selector ("matchExpressions[0].values: Required
  // value: must be specified when `operator` is 'In' or 'NotIn'").
  static Result<LabelSelector> FromMatch(const Labels& match_labels,
                                         const std::vector<MatchExpression>& match_expressions);

  // The checks of metav1 ValidateLabelSelector, with fields relative to the selector
  // ("matchLabels", "matchExpressions[1].operator", "matchExpressions[1].values[0]").
  static std::vector<FieldError> ValidateMatch(
      const Labels& match_labels, const std::vector<MatchExpression>& match_expressions);

  bool Matches(const Labels& labels) const;
  // True when the selector does not restrict anything (false for Nothing()).
  bool Empty() const { return !nothing_ && requirements_.empty(); }
  // Canonical form: requirements joined by ',' in key order. "" for Everything and Nothing.
  std::string String() const;

  const std::vector<LabelRequirement>& Requirements() const { return requirements_; }

  // The single value `key` must have (from "=", "==" or a one-value "in"), if any; lets the
  // API server use an index instead of a scan.
  std::optional<std::string> RequiresExactMatch(std::string_view key) const;

  bool operator==(const LabelSelector&) const = default;

 private:
  friend class LabelSelectorParser;
  explicit LabelSelector(std::vector<LabelRequirement> requirements);
  // Upstream's NewRequirement checks that can fail for a syntactically valid term: Gt/Lt
  // values must be integers, every value must be a label value. Error paths are relative to
  // the requirement ("values[0][key]").
  static Result<LabelRequirement> NewRequirement(std::string key, SelectorOperator op,
                                                 std::vector<std::string> values);

  std::vector<LabelRequirement> requirements_;
  bool nothing_ = false;
};

}  // namespace keelson::api
