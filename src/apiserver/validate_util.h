// Building blocks of the per-kind validation (validate_*.cc): reading fields of a decoded
// object and reporting problems with upstream's field paths and error bodies
// (field.ErrorBody: `Invalid value: <value>: <detail>`, `Required value`, `Unsupported value:
// "x": supported values: "a", "b"`, `Forbidden: ...`, `Duplicate value: ...`).
//
// Internal to the API server's validation; pure functions, safe from any thread.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/labels.h"
#include "api/validation.h"
#include "api/resources.h"

namespace keelson::apiserver::validation {

namespace json = boost::json;

// (field path, error body) pairs, in the order they were found.
using Causes = std::vector<std::pair<std::string, std::string>>;

// What a kind's rules see: the object, the stored object on an update (else null), and where
// to report.
struct Check {
  const api::ResourceInfo& r;
  const json::object& obj;
  const json::object* old;
  Causes* out;
  bool events_v1 = false;  // an Event written through events.k8s.io/v1
};

// --- Reading --------------------------------------------------------------------------------

// The value at a path of object keys, or null when any step is missing or not an object.
const json::value* At(const json::object& o, std::initializer_list<std::string_view> path);
const json::object* ObjectAt(const json::object& o, std::initializer_list<std::string_view> path);
const json::array* ArrayAt(const json::object& o, std::initializer_list<std::string_view> path);
const json::object* AsObject(const json::value* v);
const json::array* AsArray(const json::value* v);
// A string field, "" when absent or not a string.
std::string Str(const json::object& o, std::string_view key);
std::string Str(const json::value* v);
// Whether the field is present and not null.
bool Has(const json::object& o, std::string_view key);
// A map of strings (labels, a selector's matchLabels); non-strings read as "".
api::Labels StringMap(const json::value* v);
// The number of elements of an array or members of an object; 0 otherwise.
size_t SizeOf(const json::value* v);

// --- Paths and values -----------------------------------------------------------------------

std::string Child(const std::string& base, std::string_view name);  // "a.b"
std::string Index(const std::string& base, size_t i);               // "a[3]"
std::string Key(const std::string& base, std::string_view key);     // "a[key]"
// A bad value as upstream prints it: strings quoted the Go way, numbers and booleans bare,
// null as "null", anything else as JSON.
std::string ValueText(const json::value& v);
std::string ValueText(const json::value* v);

// --- Reporting ------------------------------------------------------------------------------

void Invalid(Causes* out, const std::string& path, const std::string& value_text,
             std::string_view detail);
void InvalidString(Causes* out, const std::string& path, std::string_view value,
                   std::string_view detail);
void Required(Causes* out, const std::string& path, std::string_view detail = {});
void Forbidden(Causes* out, const std::string& path, std::string_view detail);
void Duplicate(Causes* out, const std::string& path, const std::string& value_text);
void NotFound(Causes* out, const std::string& path, const std::string& value_text);
void NotSupportedValue(Causes* out, const std::string& path, std::string_view value,
                       const std::vector<std::string>& allowed);
// The field is a string and not one of `allowed` (absent, null and non-strings pass).
void NotSupported(const json::value* v, const std::string& path,
                  const std::vector<std::string>& allowed, Causes* out);

// Integer checks of field `key` of `o`, reported at `path`; absent fields pass.
void NonNegative(const json::object& o, std::string_view key, const std::string& path,
                 Causes* out);
void Positive(const json::object& o, std::string_view key, const std::string& path,
              Causes* out);
// A port number field: 1..65535. `required` reports an absent or zero value as required.
void PortNumber(const json::object& o, std::string_view key, const std::string& path,
                bool required, Causes* out);
// A named port (IANA_SVC_NAME): at most 15 characters, [-a-z0-9], a letter, no "--".
std::vector<std::string> IsValidPortName(std::string_view name);
// An int-or-string port: a number in range or a valid port name.
void PortNumOrName(const json::value* v, const std::string& path, Causes* out);

// `now` must equal `was` (both may be absent); else `<path>: Invalid value: <now>: field is
// immutable`.
void Immutable(const json::value* now, const json::value* was, const std::string& path,
               Causes* out);
bool SameValue(const json::value* a, const json::value* b);

// Name rules, each problem as `Invalid value: "name": <message>`.
void DNS1123Label(std::string_view value, const std::string& path, Causes* out);
void DNS1123Subdomain(std::string_view value, const std::string& path, Causes* out);
void QualifiedName(std::string_view value, const std::string& path, Causes* out);
// A label map (node selectors, service selectors) as metadata.labels is checked.
void LabelMap(const json::value* v, const std::string& path, Causes* out);
// A metav1.LabelSelector: operators, values and keys as ValidateLabelSelector checks them.
void LabelSelector(const json::value* v, const std::string& path, Causes* out);
// One requirement of a selector at `p`: In/NotIn need values, Exists/DoesNotExist none, and
// with `numeric` (node selectors) Gt/Lt one; the key; with `check_values`, the values as
// label values.
void SelectorRequirement(const json::object& rq, const std::string& p, bool numeric,
                         bool check_values, Causes* out);

// IP addresses: an IPv4 or IPv6 address as Go's net.ParseIP reads it.
bool IsIPv4(std::string_view s);
bool IsIPv6(std::string_view s);
bool IsIP(std::string_view s);
// Unspecified, loopback and link-local addresses are not endpoints (ValidateNonSpecialIP).
void NonSpecialIP(const std::string& ip, const std::string& path, Causes* out);
// "a.b.c.d/n" or an IPv6 CIDR.
bool IsCIDR(std::string_view s);

// A resource quantity's sign: -1, 0, 1; nullopt when it is not a quantity.
std::optional<int> QuantitySign(std::string_view q);

}  // namespace keelson::apiserver::validation
