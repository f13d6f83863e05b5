#include "apiserver/strategies/default_tolerations.h"

#include <boost/json.hpp>

#include <string_view>

namespace keelson::apiserver::strategies {

namespace json = boost::json;

namespace {

std::string_view Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

}  // namespace

void AddDefaultTolerationSeconds(api::Object* pod) {
  constexpr std::string_view kNotReady = "node.kubernetes.io/not-ready";
  constexpr std::string_view kUnreachable = "node.kubernetes.io/unreachable";
  auto& spec = (*pod)["spec"];
  if (!spec.is_object()) return;  // validation reports the missing spec
  auto& tolerations = spec.as_object()["tolerations"];
  if (!tolerations.is_array()) tolerations = json::array();
  bool not_ready = false, unreachable = false;
  for (const auto& t : tolerations.as_array()) {
    if (!t.is_object()) continue;
    std::string_view key = Str(t.as_object(), "key");
    std::string_view effect = Str(t.as_object(), "effect");
    if (!effect.empty() && effect != "NoExecute") continue;
    not_ready |= key.empty() || key == kNotReady;
    unreachable |= key.empty() || key == kUnreachable;
  }
  auto add = [&](std::string_view key, int64_t seconds) {
    tolerations.as_array().push_back(json::object{{"key", key},
                                                  {"operator", "Exists"},
                                                  {"effect", "NoExecute"},
                                                  {"tolerationSeconds", seconds}});
  };
  if (!not_ready) add(kNotReady, kDefaultNotReadyTolerationSeconds);
  if (!unreachable) add(kUnreachable, kDefaultUnreachableTolerationSeconds);
}

}  // namespace keelson::apiserver::strategies
