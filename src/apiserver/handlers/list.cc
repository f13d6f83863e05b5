// LIST: the objects as a <Kind>List (a whole collection written in chunks, holding back while
// the client is slow), or as a Table.
#include <boost/json.hpp>

#include <thread>

#include "apiserver/handlers/handlers.h"
#include "apiserver/table.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

constexpr size_t kChunk = 256 * 1024;
constexpr size_t kMaxBacklog = 2 << 20;

// upstream's answer to list options that do not go together: 422 Invalid on ListOptions.
api::ApiError InvalidListOptions(const std::vector<api::FieldError>& errs) {
  json::array cs;
  for (const auto& e : errs) {
    cs.push_back(json::object{{"reason", e.Reason()}, {"message", e.Body()}, {"field", e.field}});
  }
  return {422, "Invalid",
          "ListOptions.meta.k8s.io \"\" is invalid: " + api::AggregateMessage(errs),
          json::object{{"group", "meta.k8s.io"}, {"kind", "ListOptions"}, {"causes", cs}}};
}

std::string ListHead(const api::ResourceInfo& r, const ListResult& list) {
  std::string head = "{\"kind\":\"" + r.kind + "List\",\"apiVersion\":\"" + r.GroupVersion() +
                     "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(list.revision) +
                     "\"";
  if (!list.continue_token.empty()) {
    head += ",\"continue\":" + json::serialize(json::string(list.continue_token));
  }
  if (list.remaining_item_count) {
    head += ",\"remainingItemCount\":" + std::to_string(*list.remaining_item_count);
  }
  return head + "},\"items\":[";
}

// Queues `buf` as one chunk once the client has taken most of what came before. False when
// the client went away.
bool WriteChunk(Exchange& ex, std::string* buf) {
  while (ex.Backlog() > kMaxBacklog) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  bool ok = ex.Write(std::move(*buf));
  buf->clear();
  buf->reserve(kChunk + 4096);
  return ok;
}

// A whole collection, streamed: the items held, then the pages the list still reads.
void StreamList(const api::ResourceInfo& r, ListResult list, Exchange& ex) {
  ex.StartStream(200, "application/json");
  std::string buf = ListHead(r, list);
  bool first = true;
  std::vector<ObjectPtr> page = std::move(list.items);
  while (true) {
    for (const auto& o : page) {
      if (!first) buf += ',';
      first = false;
      buf += o->json();
      if (buf.size() >= kChunk && !WriteChunk(ex, &buf)) return;  // the client went away
    }
    if (!list.next_page) break;
    auto next = list.next_page();
    // The status line is gone: end the stream short; the client sees a broken list.
    if (!next.ok()) return ex.EndStream();
    if (next->empty()) break;
    page = std::move(*next);
  }
  buf += "]}";
  ex.Write(std::move(buf));
  ex.EndStream();
}

void WriteList(const RequestScope& scope, const HttpRequest& req, bool whole, ListResult list,
               Exchange& ex) {
  const api::ResourceInfo& r = *scope.route->resource;
  if (WantsTable(req.Header("accept")) && scope.route->strategy != nullptr) {
    json::array items;
    items.reserve(list.items.size());
    while (true) {
      for (const auto& o : list.items) items.push_back(ParseCached(*o));
      if (!list.next_page) break;
      auto next = list.next_page();
      if (!next.ok()) return WriteError(ex, next.error());
      if (next->empty()) break;
      list.items = std::move(*next);
    }
    return WriteObject(ex, 200,
                       ToTable(scope.route->strategy->Printer(), items,
                               std::to_string(list.revision), list.continue_token,
                               req.Query("includeObject"), scope.clock->Now()));
  }
  if (whole) return StreamList(r, std::move(list), ex);
  HttpResponse resp;
  resp.body = ListHead(r, list);
  for (size_t i = 0; i < list.items.size(); ++i) {
    if (i > 0) resp.body += ',';
    resp.body += list.items[i]->json();
  }
  resp.body += "]}";
  ex.Respond(std::move(resp));
}

}  // namespace

// The options and selectors of a LIST or WATCH; errors are answered.
std::optional<ListRequest> ReadListRequest(const RequestScope& scope, const HttpRequest& req,
                                           Exchange& ex) {
  auto opts = ParseListOptions(req);
  if (!opts.ok()) {
    WriteError(ex, api::NewBadRequest(opts.status().message()));
    return std::nullopt;
  }
  if (auto errs = ValidateListOptions(*opts); !errs.empty()) {
    WriteError(ex, InvalidListOptions(errs));
    return std::nullopt;
  }
  auto sel = ParseSelection(req, *scope.route);
  if (!sel.ok()) {
    WriteError(ex, sel.error());
    return std::nullopt;
  }
  return ListRequest{std::move(*opts), std::move(*sel)};
}

void HandleList(const RequestScope& scope, const HttpRequest& req, std::shared_ptr<Exchange> ex) {
  auto list_req = ReadListRequest(scope, req, *ex);
  if (!list_req) return;
  const bool whole = list_req->options.limit <= 0;
  scope.route->storage->List(
      scope.ctx, *list_req,
      [scope, req = std::make_shared<const HttpRequest>(req), whole,
       ex](api::ApiResult<ListResult> r) {
        if (!r.ok()) return WriteError(*ex, r.error());
        WriteList(scope, *req, whole, std::move(*r), *ex);
      });
}

}  // namespace keelson::apiserver
