// WATCH: newline-delimited JSON events on a chunked answer, the objects as they are or as
// one-row Tables, from the resource's watch cache.
#include <boost/json.hpp>

#include <atomic>

#include "apiserver/handlers/handlers.h"
#include "apiserver/table.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;

// Writes a watch's events on its chunked answer.
class ExchangeWatchSink final : public WatchSink {
 public:
  ExchangeWatchSink(const api::ResourceInfo& r, std::shared_ptr<Exchange> ex,
                    const TablePrinter* printer, std::string include_object,
                    std::shared_ptr<const Clock> clock)
      : resource_(r), ex_(std::move(ex)), printer_(printer),
        include_object_(std::move(include_object)), clock_(std::move(clock)) {}

  size_t Add(const WatchEvent& e) override {
    static constexpr const char* kTypes[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
    buf_ += "{\"type\":\"";
    buf_ += kTypes[static_cast<int>(e.type)];
    buf_ += "\",\"object\":";
    if (e.type == WatchEventType::kBookmark) {
      AddBookmark(e);
    } else if (printer_ != nullptr) {
      json::object table = ToTable(*printer_, json::array{ParseCached(*e.object)}, "",
                                   "", include_object_, clock_->Now());
      // As upstream: the column definitions come with the first row only.
      if (columns_sent_) table["columnDefinitions"] = nullptr;
      columns_sent_ = true;
      buf_ += json::serialize(table);
    } else {
      buf_ += e.object->json();
    }
    buf_ += "}\n";
    return buf_.size();
  }
  bool Flush() override {
    if (buf_.empty()) return true;
    bool ok = ex_->Write(std::move(buf_));
    buf_.clear();
    return ok;
  }
  size_t Backlog() const override { return ex_->Backlog(); }
  void End() override { ex_->EndStream(); }

 private:
  void AddBookmark(const WatchEvent& e) {
    std::string rv = std::to_string(e.revision);
    if (printer_ != nullptr) {
      // A Table without rows whose list metadata carries the bookmark's resourceVersion.
      buf_ += json::serialize(
          ToTable(*printer_, json::array(), rv, "", include_object_, clock_->Now()));
      return;
    }
    buf_ += "{\"kind\":\"" + resource_.kind + "\",\"apiVersion\":\"" + resource_.GroupVersion() +
            "\",\"metadata\":{\"resourceVersion\":\"" + rv + "\"";
    if (e.initial_events_end) buf_ += ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}";
    buf_ += "}}";
  }

  const api::ResourceInfo& resource_;
  std::shared_ptr<Exchange> ex_;
  const TablePrinter* printer_;  // null: objects as they are
  std::string include_object_;
  std::shared_ptr<const Clock> clock_;
  std::string buf_;
  bool columns_sent_ = false;
};

}  // namespace

void HandleWatch(const RequestScope& scope, const HttpRequest& req,
                 std::shared_ptr<Exchange> ex) {
  auto list_req = ReadListRequest(scope, req, *ex);
  if (!list_req) return;
  const Route& route = *scope.route;
  const TablePrinter* printer = WantsTable(req.Header("accept")) && route.strategy != nullptr
                                    ? &route.strategy->Printer()
                                    : nullptr;
  auto sink = std::make_shared<ExchangeWatchSink>(*route.resource, ex, printer,
                                                  std::string(req.Query("includeObject")),
                                                  scope.clock);
  auto started = std::make_shared<std::atomic<bool>>(false);
  route.storage->Watch(
      scope.ctx, *list_req,
      [ex, sink, started]() -> std::shared_ptr<WatchSink> {
        started->store(true);
        ex->StartStream(200, "application/json");
        return sink;
      },
      [ex, started](api::ApiResult<std::shared_ptr<CacheWatch>> w) {
        if (w.ok()) {
          std::shared_ptr<CacheWatch> handle = std::move(*w);
          return ex->OnClose([handle] { handle->Stop(); });
        }
        if (!started->load()) return WriteError(*ex, w.error());
        // The stream has begun: the error is its last event.
        ex->Write("{\"type\":\"ERROR\",\"object\":" + w.error().ToJsonString() + "}\n");
        ex->EndStream();
      });
}

}  // namespace keelson::apiserver
