// Name, label and annotation validation with the rules and the message texts of upstream
// Kubernetes (k8s.io/apimachinery: pkg/util/validation/validation.go,
// pkg/api/validation/generic.go and objectmeta.go, pkg/apis/meta/v1/validation).
//
// Kubernetes clients and operators match on these texts ("name part must be non-empty",
// "a lowercase RFC 1123 label must consist of ..."), so they are reproduced byte for byte,
// including upstream's double space in "(e.g. 'MyName',  or 'my.name', ...".
//
// The Is* checks return the list of problems; an empty vector means valid. The Validate*
// functions return FieldErrors whose `field` is relative to the value being validated, so
// the API server can prefix "metadata.labels" or "spec.selector" itself.
//
// Everything here is a pure function of its arguments and is safe to call from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace keelson::api {

// Labels and annotations: key -> value, ordered so that output is deterministic.
using Labels = std::map<std::string, std::string, std::less<>>;
using Annotations = Labels;

inline constexpr size_t kDNS1123LabelMaxLength = 63;
inline constexpr size_t kDNS1123SubdomainMaxLength = 253;
inline constexpr size_t kDNS1035LabelMaxLength = 63;
inline constexpr size_t kQualifiedNameMaxLength = 63;  // the name part of a label key
inline constexpr size_t kLabelValueMaxLength = 63;
// Sum of the byte lengths of all annotation keys and values.
inline constexpr size_t kTotalAnnotationSizeLimitBytes = 256 * 1024;

// Message building blocks, as upstream words them.
std::string MaxLenError(size_t length);  // "must be no more than 63 characters"
std::string EmptyError();                // "must be non-empty"
std::string RegexError(std::string_view msg, std::string_view regex,
                       const std::vector<std::string_view>& examples);

// A lowercase RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 bytes
// (namespace names, most generated names).
std::vector<std::string> IsDNS1123Label(std::string_view value);
// Dot-separated RFC 1123 labels, at most 253 bytes (most object names).
std::vector<std::string> IsDNS1123Subdomain(std::string_view value);
// An RFC 1035 label: like a 1123 label but starting with a letter (Service names).
std::vector<std::string> IsDNS1035Label(std::string_view value);
// A label key: [DNS subdomain prefix "/"] name, the name part at most 63 bytes.
std::vector<std::string> IsQualifiedName(std::string_view value);
// A label value: empty, or like a qualified name part; at most 63 bytes.
std::vector<std::string> IsValidLabelValue(std::string_view value);

// Object-name validators (generic.go's ValidateNameFunc). With `prefix` true the value is a
// metadata.generateName prefix, which may end in '-' because a random suffix follows.
std::vector<std::string> NameIsDNSSubdomain(std::string_view name, bool prefix);
std::vector<std::string> NameIsDNSLabel(std::string_view name, bool prefix);
std::vector<std::string> NameIsDNS1035Label(std::string_view name, bool prefix);

// One field-level validation failure (upstream's field.Error).
struct FieldError {
  enum class Type { kInvalid, kRequired, kForbidden, kTooLong, kNotSupported };

  Type type = Type::kInvalid;
  // Path relative to the validated value: "" for the value itself, "matchLabels",
  // "matchExpressions[0].values[1]". Joined to a base path by ToString.
  std::string field;
  // The offending value, raw. Shown (Go-quoted) only for kInvalid and kNotSupported.
  std::string bad_value;
  std::string detail;

  // The StatusCause reason: "FieldValueInvalid", "FieldValueRequired", ...
  std::string_view Reason() const;
  // Upstream's ErrorBody: `Invalid value: "bad": detail`, `Required value: detail`.
  std::string Body() const;
  // "<base>.<field>: <Body()>"; the base is omitted when empty, and a field starting with
  // '[' is appended without a dot.
  std::string ToString(std::string_view base = {}) const;

  bool operator==(const FieldError&) const = default;
};

// Joins errors the way upstream's utilerrors aggregate prints: a single message as is,
// several as "[m1, m2]" with duplicates dropped. `base` is passed to FieldError::ToString.
std::string AggregateMessage(const std::vector<FieldError>& errors, std::string_view base = {});
std::string AggregateMessage(const std::vector<std::string>& messages);

// metav1 validation.ValidateLabels: every key must be a qualified name and every value a
// label value. Errors carry field "" (upstream reports them against the labels map itself).
std::vector<FieldError> ValidateLabels(const Labels& labels);

// ValidateAnnotations: keys must be qualified names, ignoring case; total size of keys and
// values at most kTotalAnnotationSizeLimitBytes. Errors carry field "".
std::vector<FieldError> ValidateAnnotations(const Annotations& annotations);

// Go's strconv.Quote for a string, used to print bad values the way upstream does.
std::string GoQuote(std::string_view s);

}  // namespace keelson::api
