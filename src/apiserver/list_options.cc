#include "apiserver/list_options.h"

#include <charconv>

namespace keelson::apiserver {
namespace {

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

api::FieldError Forbidden(std::string detail) {
  return {api::FieldError::Type::kForbidden, "resourceVersionMatch", "", std::move(detail)};
}

api::FieldError NotSupported(const std::string& value, std::string supported) {
  return {api::FieldError::Type::kNotSupported, "resourceVersionMatch", value,
          "supported values: " + std::move(supported)};
}

}  // namespace

Result<ListOptions> ParseListOptions(const HttpRequest& req) {
  ListOptions o;
  o.watch = req.QueryBool("watch");
  o.resource_version = std::string(req.Query("resourceVersion"));
  if (!o.resource_version.empty()) {
    auto v = ParseInt(o.resource_version);
    if (!v || *v < 0) {
      return InvalidArgumentError("invalid resourceVersion: " + o.resource_version);
    }
    o.revision = *v;
  }
  o.match = std::string(req.Query("resourceVersionMatch"));
  if (auto l = req.Query("limit"); !l.empty()) {
    auto v = ParseInt(l);
    if (!v) return InvalidArgumentError("invalid limit: " + std::string(l));
    o.limit = std::max<int64_t>(*v, 0);
  }
  o.continue_token = std::string(req.Query("continue"));
  if (req.HasQuery("sendInitialEvents")) {
    o.send_initial_events = req.QueryBool("sendInitialEvents");
  }
  o.allow_bookmarks = req.QueryBool("allowWatchBookmarks");
  if (auto t = req.Query("timeoutSeconds"); !t.empty()) {
    auto v = ParseInt(t);
    if (!v) return InvalidArgumentError("invalid timeoutSeconds");
    o.timeout_seconds = *v;
  }
  return o;
}

std::vector<api::FieldError> ValidateListOptions(const ListOptions& o) {
  std::vector<api::FieldError> errs;
  const std::string& m = o.match;
  if (o.watch) {
    if (o.send_initial_events && m != "NotOlderThan") {
      errs.push_back(Forbidden("sendInitialEvents requires setting resourceVersionMatch to "
                               "NotOlderThan"));
    }
    if (!m.empty()) {
      if (!o.send_initial_events) {
        errs.push_back(Forbidden("resourceVersionMatch is forbidden for watch unless "
                                 "sendInitialEvents is provided"));
      }
      if (m != "NotOlderThan") errs.push_back(NotSupported(m, "\"NotOlderThan\""));
      if (!o.continue_token.empty()) {
        errs.push_back(Forbidden("resourceVersionMatch is forbidden when continue is provided"));
      }
    }
    return errs;
  }
  if (!m.empty()) {
    if (o.resource_version.empty()) {
      errs.push_back(Forbidden("resourceVersionMatch is forbidden unless resourceVersion is "
                               "provided"));
    }
    if (!o.continue_token.empty()) {
      errs.push_back(Forbidden("resourceVersionMatch is forbidden when continue is provided"));
    }
    if (m != "Exact" && m != "NotOlderThan") {
      errs.push_back(NotSupported(m, "\"Exact\", \"NotOlderThan\", \"\""));
    }
    if (m == "Exact" && o.resource_version == "0") {
      errs.push_back(Forbidden("resourceVersionMatch \"exact\" is forbidden for resourceVersion "
                               "\"0\""));
    }
  }
  if (o.send_initial_events) {
    errs.push_back({api::FieldError::Type::kForbidden, "sendInitialEvents", "",
                    "sendInitialEvents is forbidden for list"});
  }
  return errs;
}

ListRead ListReadOf(const ListOptions& o) {
  if (o.resource_version.empty()) return ListRead::kConsistent;
  if (o.match == "Exact") return ListRead::kExact;
  if (o.match == "NotOlderThan") {
    return o.revision == 0 ? ListRead::kAny : ListRead::kNotOlderThan;
  }
  if (o.revision == 0) return ListRead::kAny;
  return o.limit > 0 ? ListRead::kExact : ListRead::kNotOlderThan;
}

std::string EncodeContinue(int64_t revision, std::string_view last_key) {
  return std::to_string(revision) + "|" + std::string(last_key);
}

Result<ContinueToken> DecodeContinue(std::string_view token) {
  auto bar = token.find('|');
  if (bar == std::string_view::npos) return InvalidArgumentError("continue key is not valid");
  auto rev = ParseInt(token.substr(0, bar));
  if (!rev || *rev <= 0) return InvalidArgumentError("continue key is not valid");
  return ContinueToken{*rev, std::string(token.substr(bar + 1))};
}

}  // namespace keelson::apiserver
