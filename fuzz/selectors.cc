// Label and field selectors (`?labelSelector=`, `?fieldSelector=`): the first byte picks
// which, the rest is the selector. Invariants: nothing crashes, leaks or hangs; what parses
// prints (String()) to a selector that parses to the same selector and prints the same.
#include <algorithm>
#include <string>
#include <vector>

#include "api/fields.h"
#include "api/json_limits.h"
#include "api/labels.h"
#include "fuzz/fuzz_util.h"

using namespace keelson;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  // Invalid UTF-8 is read as U+FFFD, as upstream's parser ranging over a Go string does, while
  // terms are ordered by their raw text: the printed form of such a selector may order its
  // terms differently. Stability is checked for valid text.
  bool utf8 = api::IsValidUtf8(text);
  if (data[0] & 1) {
    auto sel = api::FieldSelector::Parse(text);
    if (!sel.ok() || !utf8) return 0;
    std::string printed = sel->String();
    auto again = api::FieldSelector::Parse(printed);
    fuzz::Check(again.ok(), "a printed field selector does not parse",
                printed + "\n" + again.status().message());
    // Terms are ordered by their raw text, as upstream's are, and "==" prints as "=": the
    // printed form holds the same terms, possibly in another order, and settles after one
    // more step.
    auto terms = [](const api::FieldSelector& f) {
      std::vector<std::string> out;
      for (const auto& r : f.Requirements()) {
        out.push_back(r.field + (r.op == api::FieldRequirement::Operator::kEquals ? "=" : "!=") +
                      r.value);
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    fuzz::Check(terms(*again) == terms(*sel), "field selector parse -> String -> parse changes it",
                printed);
    auto third = api::FieldSelector::Parse(again->String());
    fuzz::Check(third.ok() && third->String() == again->String(),
                "field selector String is not stable", printed);
    sel->Matches({{"metadata.name", "a"}, {"spec.nodeName", "n\\,="}});
  } else {
    auto sel = api::LabelSelector::Parse(text);
    if (!sel.ok() || !utf8) return 0;
    std::string printed = sel->String();
    auto again = api::LabelSelector::Parse(printed);
    fuzz::Check(again.ok(), "a printed label selector does not parse",
                printed + "\n" + again.status().message());
    fuzz::Check(*again == *sel, "label selector parse -> String -> parse is not stable", printed);
    fuzz::Check(again->String() == printed, "label selector String is not stable", printed);
    sel->Matches({{"app", "web"}, {"tier", "1"}});
  }
  return 0;
}
