#include "apiserver/apiserver.h"

#include <boost/json.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "api/defaults.h"
#include "api/fields.h"
#include "api/labels.h"
#include "api/protobuf.h"
#include "api/prune.h"
#include "api/schema.h"
#include "api/validation.h"
#include "api/yaml.h"
#include "apiserver/apply.h"
#include "apiserver/chain.h"
#include "apiserver/list_options.h"
#include "apiserver/events_v1.h"
#include "apiserver/metrics.h"
#include "apiserver/negotiation.h"
#include "apiserver/openapi.h"
#include "apiserver/patch.h"
#include "apiserver/service_alloc.h"
#include "apiserver/strategy.h"
#include "apiserver/table.h"
#include "apiserver/token.h"
#include "apiserver/validate.h"
#include "apiserver/watch_cache.h"

namespace keelson::apiserver {
namespace {

namespace json = boost::json;
using store::Store;

constexpr const char* kJson = "application/json";

// --- small helpers ---------------------------------------------------------------------------

std::string RfcTime(std::chrono::system_clock::time_point tp) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> Finalizers(const boost::json::object& obj) {
  std::vector<std::string> out;
  auto* m = obj.if_contains("metadata");
  if (!m || !m->is_object()) return out;
  auto* f = m->as_object().if_contains("finalizers");
  if (!f || !f->is_array()) return out;
  for (const auto& v : f->as_array()) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string NewUid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// A boolean query parameter as upstream's parameter codec reads it: any value but "0" and
// "false" (in any case) is true, so Python's "True" is too.
bool IsTrue(std::string_view v) {
  if (v.empty() || v == "0") return false;
  if (v.size() != 5) return true;
  for (size_t i = 0; i < 5; ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) != "false"[i]) return true;
  }
  return false;
}

// Who makes a write, for managedFields: the fieldManager parameter, else the client's name
// from its User-Agent ("kubectl/v1.33.1 (linux/amd64) ..." is "kubectl").
ManagerInfo Manager(const HttpRequest& req, const ResourceInfo& r) {
  std::string manager(req.Query("fieldManager"));
  if (manager.empty()) {
    std::string_view ua = req.Header("user-agent");
    manager = std::string(ua.substr(0, ua.find('/')));
  }
  if (manager.empty()) manager = "unknown";
  return {manager, r.GroupVersion(), NowRfc3339()};
}

// A metav1.Status failure.
struct ApiError {
  int code;
  std::string reason;
  std::string message;
  json::object details;
};

HttpResponse StatusResponse(const ApiError& e) {
  json::object s;
  s["kind"] = "Status";
  s["apiVersion"] = "v1";
  s["metadata"] = json::object();
  s["status"] = "Failure";
  s["message"] = e.message;
  s["reason"] = e.reason;
  if (!e.details.empty()) s["details"] = e.details;
  s["code"] = e.code;
  HttpResponse r;
  r.status = e.code;
  r.body = json::serialize(s);
  return r;
}

json::object Details(const ResourceInfo& r, std::string_view name) {
  json::object d;
  if (!name.empty()) d["name"] = name;
  if (!r.group.empty()) d["group"] = r.group;
  d["kind"] = r.resource;
  return d;
}

ApiError NotFound(const ResourceInfo& r, std::string_view name) {
  std::string qualified = r.group.empty() ? r.resource : r.resource + "." + r.group;
  return {404, "NotFound", qualified + " \"" + std::string(name) + "\" not found",
          Details(r, name)};
}

ApiError AlreadyExists(const ResourceInfo& r, std::string_view name) {
  std::string qualified = r.group.empty() ? r.resource : r.resource + "." + r.group;
  return {409, "AlreadyExists", qualified + " \"" + std::string(name) + "\" already exists",
          Details(r, name)};
}

ApiError Conflict(const ResourceInfo& r, std::string_view name) {
  std::string qualified = r.group.empty() ? r.resource : r.resource + "." + r.group;
  return {409, "Conflict",
          "Operation cannot be fulfilled on " + qualified + " \"" + std::string(name) +
              "\": the object has been modified; please apply your changes to the latest "
              "version and try again",
          Details(r, name)};
}

ApiError BadRequest(std::string message) { return {400, "BadRequest", std::move(message), {}}; }

// A JSON patch that is not a list of operations does not decode: upstream's 400, with its
// decoder's words (a patch that decodes but does not apply is a 422).
std::optional<ApiError> PatchDecodeError(PatchType type, std::string_view body) {
  if (type != PatchType::kJson) return std::nullopt;
  boost::system::error_code ec;
  json::value ops = json::parse(body, ec);
  if (ec) return BadRequest("error decoding patch: " + ec.message());
  const char* kind = ops.is_object() ? "object"
                     : ops.is_string() ? "string"
                     : ops.is_bool()   ? "bool"
                     : ops.is_number() ? "number"
                                       : nullptr;
  if (kind == nullptr) return std::nullopt;
  return BadRequest(std::string("error decoding patch: json: cannot unmarshal ") + kind +
                    " into Go value of type []handlers.jsonPatchOp");
}

ApiError FromStoreStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kGone:
      return {410, "Expired", "The resourceVersion for the provided list is too old.", {}};
    case StatusCode::kResourceExhausted:
      return {413, "RequestEntityTooLarge", st.message(), {}};
    case StatusCode::kUnavailable:
      return {503, "ServiceUnavailable", st.message(), {}};
    case StatusCode::kInvalidArgument:
      return BadRequest(st.message());
    default:
      return {500, "InternalError", "Internal error occurred: " + st.message(), {}};
  }
}

// Invalid: 422 with field causes.
ApiError Invalid(const ResourceInfo& r, std::string_view name,
                 const std::vector<std::pair<std::string, std::string>>& causes) {
  json::object d = Details(r, name);
  d["kind"] = r.kind;
  json::array cs;
  std::string msg;
  for (const auto& [field, text] : causes) {
    json::object c;
    std::string_view t = text;
    c["reason"] = t.starts_with("Required value")      ? "FieldValueRequired"
                  : t.starts_with("Unsupported value") ? "FieldValueNotSupported"
                  : t.starts_with("Duplicate value")   ? "FieldValueDuplicate"
                  : t.starts_with("Forbidden")         ? "FieldValueForbidden"
                  : t.starts_with("Too long")          ? "FieldValueTooLong"
                  : t.starts_with("Too many")          ? "FieldValueTooMany"
                  : t.starts_with("Not found")         ? "FieldValueNotFound"
                                                       : "FieldValueInvalid";
    c["message"] = text;
    c["field"] = field;
    cs.push_back(std::move(c));
    if (!msg.empty()) msg += ", ";
    msg += field + ": " + text;
  }
  d["causes"] = std::move(cs);
  std::string qualified = r.group.empty() ? r.kind : r.kind + "." + r.group;
  return {422, "Invalid",
          qualified + " \"" + std::string(name) + "\" is invalid: " +
              (causes.size() > 1 ? "[" + msg + "]" : msg),
          std::move(d)};
}

// A Job without spec.manualSelector gets upstream's generated selector: its pods carry the
// job's name and uid as labels, and the selector matches the uid.
void GenerateJobSelector(json::object& job) {
  auto object_at = [](json::value& v) -> json::object& {
    if (!v.is_object()) v = json::object();
    return v.as_object();
  };
  json::object& spec = object_at(job["spec"]);
  json::object& meta = job["metadata"].as_object();
  json::object& labels = object_at(object_at(object_at(spec["template"])["metadata"])["labels"]);
  auto manual = spec.if_contains("manualSelector");
  if (!manual || !manual->is_bool() || !manual->as_bool()) {
    json::value name = meta.at("name"), uid = meta.at("uid");
    for (const char* key : {"job-name", "batch.kubernetes.io/job-name"}) {
      if (!labels.contains(key)) labels[key] = name;
    }
    for (const char* key : {"controller-uid", "batch.kubernetes.io/controller-uid"}) {
      if (!labels.contains(key)) labels[key] = uid;
    }
    json::object& match = object_at(object_at(spec["selector"])["matchLabels"]);
    if (!match.contains("batch.kubernetes.io/controller-uid")) {
      match["batch.kubernetes.io/controller-uid"] = uid;
    }
  }
  // A Job without labels of its own carries its pod template's (upstream's defaulting).
  const auto* own = meta.if_contains("labels");
  if ((own == nullptr || !own->is_object() || own->as_object().empty()) && !labels.empty()) {
    meta["labels"] = labels;
  }
}

// --- the request, resolved -------------------------------------------------------------------

struct Target {
  const ResourceInfo* resource = nullptr;
  std::string ns;
  std::string name;
  std::string subresource;
  // Set when the request named events.k8s.io/v1 events, served as core/v1 events.
  bool events_v1 = false;
  // Who asks what (authentication and routing); null for requests the server makes itself.
  std::shared_ptr<const RequestAttributes> attrs = nullptr;
  // ?dryRun=All: every stage runs, nothing is written.
  bool dry_run = false;
};

// --- selectors --------------------------------------------------------------------------------

// The field labels each kind can be selected by, beyond metadata.name and metadata.namespace
// (upstream's per-kind field label conversion functions).
const std::vector<std::string>& ExtraFieldLabels(const ResourceInfo& r) {
  static const std::vector<std::string> kNone;
  static const std::unordered_map<std::string, std::vector<std::string>> kByKind = {
      {"Pod",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}},
      {"Secret", {"type"}},
      {"Namespace", {"status.phase"}},
      {"Node", {"spec.unschedulable"}},
      {"ReplicationController", {"status.replicas"}},
      {"ReplicaSet", {"status.replicas"}},
      {"Job", {"status.successful"}},
      {"Event",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}},
  };
  auto it = kByKind.find(r.kind);
  return it == kByKind.end() ? kNone : it->second;
}


// metadata.name, metadata.namespace and the kind's field labels, sorted: what the watch cache
// indexes for field selectors.
std::vector<std::string> SupportedFieldPaths(const ResourceInfo& r) {
  std::set<std::string> supported = {"metadata.name", "metadata.namespace"};
  for (const auto& f : ExtraFieldLabels(r)) supported.insert(f);
  return {supported.begin(), supported.end()};
}

// A list or watch request's label and field selectors.
struct Selection {
  api::LabelSelector labels;
  api::FieldSelector fields;
  std::vector<std::string> field_paths;  // the paths `fields` reads

  bool Everything() const { return labels.Empty() && fields.Empty(); }

  bool Matches(const json::object& obj) const {
    if (Everything()) return true;
    api::Labels ls;
    if (auto* m = obj.if_contains("metadata"); m && m->is_object()) {
      if (auto* l = m->as_object().if_contains("labels"); l && l->is_object()) {
        for (const auto& [k, v] : l->as_object()) {
          if (v.is_string()) ls.emplace(std::string(k), std::string(v.as_string()));
        }
      }
    }
    if (!labels.Matches(ls)) return false;
    if (fields.Empty()) return true;
    api::Fields fs;
    for (const auto& p : field_paths) fs.emplace(p, FieldText(obj, p));
    return fields.Matches(fs);
  }

  // The same test against the watch cache's index of an object.
  bool Matches(const CachedObject& obj) const {
    if (!labels.Empty() && !labels.Matches(obj.Labels())) return false;
    return fields.Empty() || fields.Matches(obj.Fields(field_paths));
  }

  // A filter for the watch cache; null when everything matches.
  ObjectFilter Filter() const {
    if (Everything()) return nullptr;
    return [sel = *this](const CachedObject& o) { return sel.Matches(o); };
  }
};

std::optional<ApiError> ParseSelection(const HttpRequest& req, const ResourceInfo& r,
                                       Selection* out) {
  auto ls = api::LabelSelector::Parse(req.Query("labelSelector"));
  if (!ls.ok()) return BadRequest(ls.status().message());
  auto fs = api::FieldSelector::Parse(req.Query("fieldSelector"));
  if (!fs.ok()) return BadRequest(fs.status().message());
  std::set<std::string> supported = {"metadata.name", "metadata.namespace"};
  for (const auto& f : ExtraFieldLabels(r)) supported.insert(f);
  Status st = ExtraFieldLabels(r).empty() ? fs->CheckDefaultSupported()
                                          : fs->CheckSupported(supported, r.resource);
  if (!st.ok()) return BadRequest(st.message());
  out->labels = std::move(*ls);
  out->fields = std::move(*fs);
  out->field_paths = SupportedFieldPaths(r);
  return std::nullopt;
}

// --- metrics ----------------------------------------------------------------------------------

// Records a request's code and duration when it is answered (for a streamed answer, when the
// stream ends), then passes everything through.
class ObservingExchange final : public ForwardingExchange {
 public:
  ObservingExchange(std::shared_ptr<Exchange> inner, RequestMetrics* metrics, RequestLabels labels)
      : ForwardingExchange(std::move(inner)), metrics_(metrics), labels_(std::move(labels)),
        start_(std::chrono::steady_clock::now()) {
    metrics_->Begin(labels_);
  }
  // A request dropped without an answer still ends.
  ~ObservingExchange() override {
    if (!recorded_.exchange(true)) metrics_->End(labels_);
  }

  void Respond(HttpResponse response) override {
    Record(response.status);
    inner_->Respond(std::move(response));
  }
  void StartStream(int status, std::string content_type) override {
    status_ = status;
    inner_->StartStream(status, std::move(content_type));
  }
  void EndStream() override {
    Record(status_);
    inner_->EndStream();
  }

 private:
  void Record(int code) {
    if (recorded_.exchange(true)) return;
    metrics_->Observe(labels_, code, std::chrono::steady_clock::now() - start_);
    metrics_->End(labels_);
  }

  RequestMetrics* metrics_;
  RequestLabels labels_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int> status_{200};
  std::atomic<bool> recorded_{false};
};

// --- list and watch ---------------------------------------------------------------------------

// How long a read waits for the watch cache to catch up with a revision (upstream's 3 s).
constexpr auto kFreshWait = std::chrono::seconds(3);

// upstream's answer to list options that do not go together: 422 Invalid on ListOptions.
// The cause upstream gives for dry-run values other than "All"; nullopt when all are "All".
std::optional<std::pair<std::string, std::string>> UnsupportedDryRun(
    const std::vector<std::string>& values) {
  if (std::all_of(values.begin(), values.end(), [](const auto& d) { return d == "All"; })) {
    return std::nullopt;
  }
  std::string list;
  for (const auto& d : values) list += (list.empty() ? "" : ", ") + api::GoQuote(d);
  return std::pair<std::string, std::string>(
      "dryRun", "Unsupported value: []string{" + list + "}: supported values: \"All\"");
}

ResourceInfo OptionsKind(std::string kind) {
  ResourceInfo r;
  r.group = "meta.k8s.io";
  r.version = "v1";
  r.kind = std::move(kind);
  return r;
}

// The query's dryRun values of a create, update or patch, checked as upstream checks its
// CreateOptions, UpdateOptions and PatchOptions.
std::optional<ApiError> WriteOptionsError(const HttpRequest& req) {
  std::vector<std::string> dry_run;
  for (const auto& [k, v] : req.query) {
    if (k == "dryRun") dry_run.push_back(v);
  }
  auto cause = UnsupportedDryRun(dry_run);
  if (!cause) return std::nullopt;
  const char* kind = req.method == "POST" ? "CreateOptions"
                     : req.method == "PUT" ? "UpdateOptions"
                                           : "PatchOptions";
  return Invalid(OptionsKind(kind), "", {*cause});
}

ApiError InvalidListOptions(const std::vector<api::FieldError>& errs) {
  json::object d;
  d["group"] = "meta.k8s.io";
  d["kind"] = "ListOptions";
  json::array cs;
  for (const auto& e : errs) {
    json::object c;
    c["reason"] = e.Reason();
    c["message"] = e.Body();
    c["field"] = e.field;
    cs.push_back(std::move(c));
  }
  d["causes"] = std::move(cs);
  return {422, "Invalid",
          "ListOptions.meta.k8s.io \"\" is invalid: " + api::AggregateMessage(errs),
          std::move(d)};
}

// A resourceVersion the cache did not reach in time (upstream's TooLargeResourceVersion).
ApiError TooLargeResourceVersion(const std::string& message) {
  json::object d;
  json::object cause;
  cause["reason"] = "ResourceVersionTooLarge";
  cause["message"] = "Too large resource version";
  d["causes"] = json::array{std::move(cause)};
  d["retryAfterSeconds"] = 1;
  return {504, "Timeout", "Timeout: " + message, std::move(d)};
}

ApiError Initializing() {
  json::object d;
  d["retryAfterSeconds"] = 1;
  return {429, "TooManyRequests", "storage is (re)initializing", std::move(d)};
}

// A watch event carrying a Status, as a line of a watch stream.
std::string ErrorEvent(const ApiError& e) {
  json::object ev;
  ev["type"] = "ERROR";
  ev["object"] = json::parse(StatusResponse(e).body);
  return json::serialize(ev) + "\n";
}

// Writes a watch's events on its chunked response: newline-delimited JSON, the objects as
// they are or as one-row Tables.
class ExchangeWatchSink final : public WatchSink {
 public:
  ExchangeWatchSink(const ResourceInfo* r, std::shared_ptr<Exchange> ex, bool as_table,
                    std::string include_object)
      : resource_(r), ex_(std::move(ex)), as_table_(as_table),
        include_object_(std::move(include_object)) {}

  size_t Add(const WatchEvent& e) override {
    static constexpr const char* kTypes[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
    buf_ += "{\"type\":\"";
    buf_ += kTypes[static_cast<int>(e.type)];
    buf_ += "\",\"object\":";
    auto now = std::chrono::system_clock::now();
    if (e.type == WatchEventType::kBookmark) {
      std::string rv = std::to_string(e.revision);
      if (as_table_) {
        // A Table without rows whose list metadata carries the bookmark's resourceVersion.
        buf_ += json::serialize(ToTable(*resource_, json::array(), rv, "", include_object_, now));
      } else {
        buf_ += "{\"kind\":\"" + resource_->kind + "\",\"apiVersion\":\"" +
                resource_->GroupVersion() + "\",\"metadata\":{\"resourceVersion\":\"" + rv + "\"";
        if (e.initial_events_end) buf_ += ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}";
        buf_ += "}}";
      }
    } else if (as_table_) {
      json::value v = json::parse(e.object->json());
      json::object table = ToTable(*resource_, json::array{std::move(v)}, "", "",
                                   include_object_, now);
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
  const ResourceInfo* resource_;
  std::shared_ptr<Exchange> ex_;
  bool as_table_;
  std::string include_object_;
  std::string buf_;
  bool columns_sent_ = false;
};

// What a LIST needs once it has waited for the watch cache: everything by value.
struct ListQuery {
  Target target;
  Selection sel;
  std::string prefix;
  int64_t limit = 0;
  std::string after;     // a continued list: the last key returned
  bool continued = false;
  bool table = false;
  std::string include_object;
};

// --- the server -------------------------------------------------------------------------------

class ApiServerImpl final : public ApiServer {
 public:
  ApiServerImpl(Store* store, ApiServerOptions opts, ServiceAllocator alloc)
      : store_(store), opts_(std::move(opts)), registry_(ResourceRegistry::BuiltIn()),
        openapi_(registry_, opts_.git_version),
        alloc_(std::move(alloc)) {
    admission_.push_back(NamespaceLifecycle([this](const std::string& name) {
      return ReadObject(*registry_.Find("", "v1", "namespaces"), "", name);
    }));
    for (auto& p : opts_.admission) admission_.push_back(p);
    for (int i = 0; i < 2; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }
  ~ApiServerImpl() override { Shutdown(); }

  Status Bootstrap() override;
  Status PublishEndpoint(const std::string& address, int port) override;
  // The stored object `t` names, or nullopt after answering NotFound or the store's error
  // (a value that does not decode counts as the latter).
  std::optional<store::KeyValue> ReadCurrent(const Target& t, Exchange& ex);
  // Writes `obj` at `key` unless something is there already.
  Status CreateIfMissing(const std::string& key, const json::object& obj);
  void Shutdown() override;
  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override;

  // Runs `fn` on a worker thread (lists, deletecollection).
  void Post(std::function<void()> fn) {
    {
      std::lock_guard l(work_mu_);
      work_.push_back(std::move(fn));
    }
    work_cv_.notify_one();
  }
  // Encodes a stored value as the object a client sees (resourceVersion from the store).
  static Result<json::object> Decode(const store::KeyValue& kv, int64_t rv_override = 0);

 private:
  HttpResponse Version() const;
  // Service account issuer discovery: /.well-known/openid-configuration and /openid/v1/jwks,
  // with which other parties verify the tokens this server signs.
  HttpResponse OpenIdDocument(const std::string& path);
  // /openapi/v2, /openapi/v3 and /openapi/v3/<group-version path>.
  HttpResponse OpenApiDocument(const HttpRequest& req,
                               const std::vector<std::string_view>& parts) const;
  // Prometheus text: the request metrics and apiserver_storage_objects.
  HttpResponse Metrics();
  // /healthz, /livez, /readyz (and /<endpoint>/<check>), with ?verbose and ?exclude=.
  HttpResponse Health(const HttpRequest& req, const std::vector<std::string_view>& parts);
  HttpResponse Discovery(const HttpRequest& req, const std::vector<std::string_view>& parts);
  json::object ResourceListEntry(const ResourceInfo& r) const;
  json::object AggregatedResource(const ResourceInfo& r) const;
  HttpResponse Aggregated(bool core, const std::string& version) const;

  void ServeResource(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // events.k8s.io/v1 events: served by the core Event paths, converting bodies and answers.
  void ServeEventsV1(HttpRequest req, Target t, std::shared_ptr<Exchange> ex);
  // A review (SelfSubjectAccessReview, SelfSubjectReview): answered from the request's
  // user and the authorizer, not stored.
  void Review(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // POST serviceaccounts/NAME/token: a TokenRequest answered with a signed token for the
  // service account (bound to a pod, secret or node when asked), never stored.
  void IssueToken(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // PUT namespaces/NAME/finalize: sets the namespace's spec.finalizers (what the namespace
  // controller clears once the namespace's content is gone), nothing else.
  void Finalize(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // POST pods/NAME/eviction: a delete that respects the pod's disruption budgets (429 when
  // one allows no disruption now).
  void Evict(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // POST pods/NAME/binding: sets spec.nodeName of a pod not yet bound (409 otherwise).
  void Bind(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // The status and scale subresources: GET, PUT and PATCH of the part they own.
  void ServeSubresource(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  void Get(const HttpRequest& req, const Target& t, Exchange& ex);
  // LIST: from the watch cache once it has caught up as far as the request needs (see
  // ListRead), from the store when the cache cannot serve it.
  void List(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // The list at `revision` (0: the cache's current state) from the cache, or from the store
  // when the cache does not hold that revision. On a worker.
  void ListFromCache(std::shared_ptr<const ListQuery> q, int64_t revision,
                     std::shared_ptr<Exchange> ex);
  // The list at `revision` (0: current) from the store.
  void ListFromStore(std::shared_ptr<const ListQuery> q, int64_t revision,
                     std::shared_ptr<Exchange> ex);
  // A whole collection, read from the store in pages at one revision and written out in
  // chunks as it is read, so that memory stays small however large the list.
  void StreamList(const Target& t, Selection sel, std::string prefix, int64_t revision,
                  std::shared_ptr<Exchange> ex);
  // WATCH, from the watch cache.
  void Watch(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // The watch cache of `r`, started on first use.
  WatchCache* CacheFor(const ResourceInfo& r);
  // The store's current revision.
  Result<int64_t> CurrentRevision(const std::string& key);
  void Create(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // Upstream's validation of an object about to be written (validate.h); answers 422 and
  // returns false when it fails.
  bool Valid(const ResourceInfo& r, const json::object& obj, const json::object* old,
             std::string_view name, Exchange& ex, bool events_v1);
  // The create pipeline after decoding and defaulting: names, identity, field management,
  // storage.
  void CreateObject(const HttpRequest& req, const Target& t, json::object obj,
                    std::shared_ptr<Exchange> ex, bool track_fields);
  // Services claim their ClusterIP and node ports in their create transaction.
  void CreateService(json::object obj, const std::string& ns, const std::string& name,
                     std::shared_ptr<Exchange> ex);
  void Update(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  void Delete(std::shared_ptr<const HttpRequest> req, Target t, std::shared_ptr<Exchange> ex,
              int attempt);
  // Writes `obj` over `old` (read at revision `expect`), carrying over the fields the server
  // owns and bumping generation on a spec change; deletes it instead when it is being deleted
  // and has no finalizers left. Calls `on_conflict` when the object changed since `expect`.
  void WriteUpdate(const Target& t, const json::object& old, json::object obj, int64_t expect,
                   std::shared_ptr<Exchange> ex, std::function<void()> on_conflict);
  // deletecollection: every object the selectors match, each deleted as a single DELETE with
  // the same options would be; answers the list of what was deleted. Runs on a worker.
  void DeleteCollection(std::shared_ptr<const HttpRequest> req, Target t,
                        std::shared_ptr<Exchange> ex);
  // One read-patch-write attempt; retried on a write conflict.
  void Patch(std::shared_ptr<const HttpRequest> req, Target t, std::shared_ptr<Exchange> ex,
             int attempt);
  // Server-side apply (PATCH application/apply-patch+yaml): creates or merges, per apply.h.
  void Apply(std::shared_ptr<const HttpRequest> req, Target t, std::shared_ptr<Exchange> ex,
             int attempt);

  std::string Key(const ResourceInfo& r, std::string_view ns, std::string_view name) const {
    return r.StoragePrefix() + (r.namespaced ? std::string(ns) + "/" : "") + std::string(name);
  }
  std::string CollectionPrefix(const ResourceInfo& r, std::string_view ns) const {
    return r.StoragePrefix() + (r.namespaced && !ns.empty() ? std::string(ns) + "/" : "");
  }
  // Decodes and checks a request body for `t`. Fills `obj`.
  std::optional<ApiError> DecodeBody(const HttpRequest& req, const Target& t, json::object* obj);
  // The decoding checks of an object about to be written, per its kind's declaration: unknown
  // fields (an error with fieldValidation=Strict, a warning by default, nothing with Ignore),
  // values of the wrong type, then defaulting. Wraps `ex` to carry the warnings.
  std::optional<ApiError> CheckAndDefault(const HttpRequest& req, const ResourceInfo& r,
                                          json::object* obj, std::shared_ptr<Exchange>* ex,
                                          bool defaults = true);
  // What every write of the main resource passes before it is stored: the stored status
  // kept, admission, validation. Answers the error and returns false when one refuses.
  bool PrepareUpdate(const Target& t, const json::object& old, json::object* obj, Exchange& ex);
  // The admission plugins' verdict on a write of `r` (operation CREATE, UPDATE or DELETE).
  std::optional<ApiError> Admit(const Target& t, std::string_view operation,
                                const json::object* old, json::object* obj);
  // A stored object as clients see it; NotFound when there is none.
  Result<json::object> ReadObject(const ResourceInfo& r, const std::string& ns,
                                  const std::string& name);

  void WorkerLoop();

  Store* store_;
  ApiServerOptions opts_;
  std::vector<std::shared_ptr<const AdmissionPlugin>> admission_;
  std::mutex external_mu_;
  std::string external_url_;  // where clients reach the API (PublishEndpoint); external_mu_
  const ResourceRegistry& registry_;
  const OpenApi openapi_;
  ServiceAllocator alloc_;

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> work_;  // guarded by work_mu_
  bool stopping_ = false;                        // guarded by work_mu_
  std::vector<std::thread> workers_;

  std::mutex caches_mu_;
  std::map<const ResourceInfo*, std::unique_ptr<WatchCache>> caches_;  // guarded by caches_mu_
  bool caches_stopped_ = false;                                        // guarded by caches_mu_
  std::atomic<bool> bootstrapped_{false};
  RequestMetrics metrics_;
};

Result<json::object> ApiServerImpl::Decode(const store::KeyValue& kv, int64_t rv_override) {
  boost::system::error_code ec;
  json::value v = json::parse(kv.value, ec);
  if (ec || !v.is_object()) return InternalError("stored object at " + kv.key + " is not JSON");
  auto& obj = v.as_object();
  auto& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object();
  meta.as_object()["resourceVersion"] =
      std::to_string(rv_override ? rv_override : kv.mod_revision);
  return std::move(obj);
}

void ApiServerImpl::WorkerLoop() {
  std::unique_lock l(work_mu_);
  while (true) {
    work_cv_.wait(l, [&] { return stopping_ || !work_.empty(); });
    if (stopping_) return;
    auto fn = std::move(work_.front());
    work_.pop_front();
    l.unlock();
    fn();
    l.lock();
  }
}

Status ApiServerImpl::PublishEndpoint(const std::string& address, int port) {
  {
    std::lock_guard l(external_mu_);
    external_url_ = "http://" + address + ":" + std::to_string(port);
  }
  const ResourceInfo* svcs = registry_.Find("", "v1", "services");
  std::string svc_key = Key(*svcs, "default", "kubernetes");
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto cur = store_->Get(svc_key);
    if (!cur.ok()) return cur.status();
    auto svc = Decode(*cur);
    if (!svc.ok()) return svc.status();
    auto& ports = (*svc)["spec"].as_object()["ports"];
    json::object want{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", port}};
    if (ports.is_array() && ports.as_array().size() == 1 && ports.as_array()[0] == want) break;
    ports = json::array{want};
    (*svc)["metadata"].as_object().erase("resourceVersion");
    store::TxnRequest txn;
    txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                         store::Compare::Target::kMod, svc_key, "",
                                         cur->mod_revision, ""});
    txn.success.push_back(store::RequestOp{store::PutRequest{svc_key, json::serialize(*svc)}});
    auto res = store_->Txn(std::move(txn));
    if (!res.ok()) return res.status();
    if (res->succeeded) break;
  }
  json::object port_entry{{"name", "https"}, {"port", port}, {"protocol", "TCP"}};
  json::object endpoints{
      {"apiVersion", "v1"},
      {"kind", "Endpoints"},
      {"metadata", json::object{{"name", "kubernetes"}, {"namespace", "default"},
                                {"labels", json::object{{"endpointslice.kubernetes.io/skip-mirror",
                                                         "true"}}}}},
      {"subsets", json::array{json::object{
                      {"addresses", json::array{json::object{{"ip", address}}}},
                      {"ports", json::array{port_entry}}}}}};
  json::object slice{
      {"apiVersion", "discovery.k8s.io/v1"},
      {"kind", "EndpointSlice"},
      {"metadata", json::object{{"name", "kubernetes"}, {"namespace", "default"},
                                {"labels", json::object{{"kubernetes.io/service-name", "kubernetes"}}}}},
      {"addressType", "IPv4"},
      {"endpoints", json::array{json::object{
                        {"addresses", json::array{address}},
                        {"conditions", json::object{{"ready", true}}}}}},
      {"ports", json::array{port_entry}}};
  for (auto* obj : {&endpoints, &slice}) {
    const ResourceInfo* r = obj == &endpoints
                                ? registry_.Find("", "v1", "endpoints")
                                : registry_.Find("discovery.k8s.io", "v1", "endpointslices");
    std::string key = Key(*r, "default", "kubernetes");
    auto& meta = (*obj)["metadata"].as_object();
    auto cur = store_->Get(key);
    if (cur.ok()) {
      auto old = Decode(*cur);
      if (old.ok()) {
        const auto& om = (*old)["metadata"].as_object();
        meta["uid"] = om.contains("uid") ? om.at("uid") : json::value(NewUid());
        meta["creationTimestamp"] =
            om.contains("creationTimestamp") ? om.at("creationTimestamp") : json::value(NowRfc3339());
        json::object cmp = *old;
        cmp["metadata"].as_object().erase("resourceVersion");
        if (cmp == *obj) continue;  // already says so
      }
    } else {
      meta["uid"] = NewUid();
      meta["creationTimestamp"] = NowRfc3339();
    }
    auto put = store_->Put(key, json::serialize(*obj));
    if (!put.ok()) return put.status();
  }
  return Status::Ok();
}

void ApiServerImpl::Shutdown() {
  {
    std::lock_guard l(work_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  std::vector<WatchCache*> caches;
  {
    std::lock_guard l(caches_mu_);
    caches_stopped_ = true;
    for (auto& [r, c] : caches_) caches.push_back(c.get());
  }
  // Stopped, not destroyed: a request in flight may still hold one; they go with the server.
  for (auto* c : caches) c->Stop();  // ends every watch
  for (auto& t : workers_) t.join();
}

WatchCache* ApiServerImpl::CacheFor(const ResourceInfo& r) {
  std::lock_guard l(caches_mu_);
  if (caches_stopped_) return nullptr;
  auto& c = caches_[&r];
  if (!c) {
    WatchCacheOptions o;
    o.field_paths = SupportedFieldPaths(r);
    o.ring_capacity = opts_.watch_cache_ring;
    o.max_watcher_backlog = opts_.max_watcher_backlog;
    o.bookmark_interval = opts_.bookmark_interval;
    c = WatchCache::Start(store_, r.StoragePrefix(), std::move(o));
  }
  return c.get();
}

Result<int64_t> ApiServerImpl::CurrentRevision(const std::string& key) {
  store::RangeRequest rr;
  rr.key = key;  // one key: cheap, and the answer carries the store's revision
  rr.keys_only = true;
  auto res = store_->Range(rr);
  if (!res.ok()) return res.status();
  return res->revision;
}

std::optional<store::KeyValue> ApiServerImpl::ReadCurrent(const Target& t, Exchange& ex) {
  auto cur = store_->Get(Key(*t.resource, t.ns, t.name));
  if (!cur.ok()) {
    ex.Respond(StatusResponse(cur.status().code() == StatusCode::kNotFound
                                  ? NotFound(*t.resource, t.name)
                                  : FromStoreStatus(cur.status())));
    return std::nullopt;
  }
  if (auto obj = Decode(*cur); !obj.ok()) {
    ex.Respond(StatusResponse(FromStoreStatus(obj.status())));
    return std::nullopt;
  }
  return std::move(*cur);
}

Status ApiServerImpl::CreateIfMissing(const std::string& key, const json::object& obj) {
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                       store::Compare::Target::kCreate, key, "", 0, ""});
  txn.success.push_back(store::RequestOp{store::PutRequest{key, json::serialize(obj)}});
  auto r = store_->Txn(std::move(txn));
  return r.ok() ? Status::Ok() : r.status();
}

Status ApiServerImpl::Bootstrap() {
  // Before serving: reconcile Service address and port allocations with the Services.
  KEELSON_RETURN_IF_ERROR(alloc_.Repair());
  const ResourceInfo* ns = registry_.Find("", "v1", "namespaces");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    json::object obj;
    obj["apiVersion"] = "v1";
    obj["kind"] = "Namespace";
    json::object meta;
    meta["name"] = name;
    meta["uid"] = NewUid();
    meta["creationTimestamp"] = NowRfc3339();
    json::object labels;
    labels["kubernetes.io/metadata.name"] = name;
    meta["labels"] = std::move(labels);
    obj["metadata"] = std::move(meta);
    json::object spec;
    spec["finalizers"] = json::array{"kubernetes"};
    obj["spec"] = std::move(spec);
    json::object status;
    status["phase"] = "Active";
    obj["status"] = std::move(status);
    KEELSON_RETURN_IF_ERROR(CreateIfMissing(Key(*ns, "", name), obj));
  }
  // The `kubernetes` Service, on the first address of the service range.
  const ResourceInfo* svcs = registry_.Find("", "v1", "services");
  std::string svc_key = Key(*svcs, "default", "kubernetes");
  if (auto cur = store_->Get(svc_key); !cur.ok() && cur.status().code() == StatusCode::kNotFound) {
    json::object svc = json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{
      "name":"kubernetes","namespace":"default","labels":{"component":"apiserver",
      "provider":"kubernetes"}},"spec":{"type":"ClusterIP","sessionAffinity":"None",
      "ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}})").as_object();
    auto& meta = svc["metadata"].as_object();
    meta["uid"] = NewUid();
    meta["creationTimestamp"] = NowRfc3339();
    svc["spec"].as_object()["clusterIP"] = alloc_.FirstAddress();
    store::TxnRequest txn;
    txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                         store::Compare::Target::kCreate, svc_key, "", 0, ""});
    auto errs = alloc_.AllocateForCreate(&svc, "default/kubernetes", &txn);
    if (!errs.empty()) return InternalError("the kubernetes service: " + errs[0].message);
    txn.success.push_back(store::RequestOp{store::PutRequest{svc_key, json::serialize(svc)}});
    auto res = store_->Txn(std::move(txn));
    if (!res.ok()) return res.status();
  }
  // The two built-in priority classes, as upstream creates them.
  const ResourceInfo* pc = registry_.Find("scheduling.k8s.io", "v1", "priorityclasses");
  struct Builtin {
    const char* name;
    int64_t value;
    const char* description;
  };
  for (const Builtin& b :
       {Builtin{"system-node-critical", 2000001000,
                "Used for system critical pods that must not be moved from their current node."},
        Builtin{"system-cluster-critical", 2000000000,
                "Used for system critical pods that must run in the cluster, but can be moved "
                "to another node if necessary."}}) {
    json::object obj;
    obj["apiVersion"] = "scheduling.k8s.io/v1";
    obj["kind"] = "PriorityClass";
    json::object meta;
    meta["name"] = b.name;
    meta["uid"] = NewUid();
    meta["creationTimestamp"] = NowRfc3339();
    obj["metadata"] = std::move(meta);
    obj["value"] = b.value;
    obj["globalDefault"] = false;
    obj["description"] = b.description;
    obj["preemptionPolicy"] = "PreemptLowerPriority";
    KEELSON_RETURN_IF_ERROR(CreateIfMissing(Key(*pc, "", b.name), obj));
  }
  // The caches load in the background: serving does not wait for them (a LIST that comes
  // first waits for its own cache, as it would have anyway).
  if (opts_.start_watch_caches) {
    for (const auto& r : registry_.all()) {
      if (r.stored && !(r.group == "events.k8s.io")) CacheFor(r);
    }
  }
  bootstrapped_ = true;
  return Status::Ok();
}

HttpResponse ApiServerImpl::OpenIdDocument(const std::string& path) {
  HttpResponse resp;
  resp.headers.emplace_back("Cache-Control", "public, max-age=3600");
  if (path == "/openid/v1/jwks") {
    resp.content_type = "application/jwk-set+json";
    resp.body = json::serialize(
        json::object{{"keys", json::array{opts_.token_signer->PublicJwk()}}});
    return resp;
  }
  std::string base;
  {
    std::lock_guard l(external_mu_);
    base = external_url_;
  }
  resp.body = json::serialize(json::object{
      {"issuer", opts_.service_account_issuer},
      {"jwks_uri", base + "/openid/v1/jwks"},
      {"response_types_supported", json::array{"id_token"}},
      {"subject_types_supported", json::array{"public"}},
      {"id_token_signing_alg_values_supported", json::array{"RS256"}}});
  return resp;
}

// --- routing ----------------------------------------------------------------------------------

void ApiServerImpl::Serve(HttpRequest req, std::shared_ptr<Exchange> ex) {
  auto parts = SplitPath(req.path);
  // Authentication, then authorization of requests for paths other than the API's resources.
  auto user = opts_.authenticator->Authenticate(req);
  if (!user.ok()) {
    return ex->Respond(StatusResponse({401, "Unauthorized", "Unauthorized", {}}));
  }
  const bool resource_path = parts.size() >= 3 && (parts[0] == "api" || parts[0] == "apis") &&
                             !(parts[0] == "apis" && parts.size() == 3);
  if (!resource_path) {
    auto a = AttributesOf(req, *user, "", "", "", "", "", "");
    if (auto d = opts_.authorizer->Authorize(a); !d.allowed) {
      return ex->Respond(StatusResponse({403, "Forbidden", ForbiddenMessage(a, d.reason), {}}));
    }
  }
  if (req.path == "/version" || req.path == "/version/") return ex->Respond(Version());
  if (!parts.empty() && (parts[0] == "healthz" || parts[0] == "livez" || parts[0] == "readyz")) {
    return ex->Respond(Health(req, parts));
  }
  if (req.path == "/metrics") return ex->Respond(Metrics());
  if (req.path == "/.well-known/openid-configuration" || req.path == "/openid/v1/jwks") {
    return ex->Respond(OpenIdDocument(req.path));
  }
  if (!parts.empty() && parts[0] == "openapi") return ex->Respond(OpenApiDocument(req, parts));
  bool core = !parts.empty() && parts[0] == "api";
  bool groups = !parts.empty() && parts[0] == "apis";
  if (!core && !groups) {
    return ex->Respond(StatusResponse(
        {404, "NotFound", "the server could not find the requested resource", {}}));
  }
  // Discovery: /api, /api/v1, /apis, /apis/g, /apis/g/v
  size_t base = core ? 2 : 3;  // index of the first segment after the group version
  if (parts.size() < base || (req.method == "GET" && parts.size() == base)) {
    return ex->Respond(Discovery(req, parts));
  }
  std::string_view group = core ? "" : parts[1];
  std::string_view version = core ? parts[1] : parts[2];
  std::vector<std::string_view> rest(parts.begin() + static_cast<long>(base), parts.end());

  Target t;
  std::string_view resource;
  // namespaces/NAME/status and namespaces/NAME/finalize are a namespace's subresources;
  // any other namespaces/NAME/... names a resource in that namespace.
  const bool ns_subresource =
      core && rest.size() == 3 && rest[0] == "namespaces" &&
      (rest[2] == "status" || rest[2] == "finalize");
  if (rest.size() >= 3 && rest[0] == "namespaces" && !ns_subresource) {
    t.ns = std::string(rest[1]);
    resource = rest[2];
    if (rest.size() >= 4) t.name = std::string(rest[3]);
    if (rest.size() >= 5) t.subresource = std::string(rest[4]);
    if (rest.size() > 5) resource = "";
  } else {
    resource = rest[0];
    if (rest.size() >= 2) t.name = std::string(rest[1]);
    if (rest.size() >= 3) t.subresource = std::string(rest[2]);
    if (rest.size() > 3) resource = "";
  }
  t.resource = registry_.Find(group, version, resource);
  if (t.resource == nullptr || (!t.ns.empty() && !t.resource->namespaced)) {
    return ex->Respond(StatusResponse(
        {404, "NotFound", "the server could not find the requested resource", {}}));
  }
  auto attrs = std::make_shared<RequestAttributes>(AttributesOf(
      req, std::move(*user), group, version, t.resource->resource, t.subresource, t.ns, t.name));
  if (auto d = opts_.authorizer->Authorize(*attrs); !d.allowed) {
    json::object details{{"kind", t.resource->resource}};
    if (!t.name.empty()) details["name"] = t.name;
    if (!t.resource->group.empty()) details["group"] = t.resource->group;
    return ex->Respond(StatusResponse(
        {403, "Forbidden", ForbiddenMessage(*attrs, d.reason), std::move(details)}));
  }
  t.attrs = std::move(attrs);
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    if (auto err = WriteOptionsError(req)) return ex->Respond(StatusResponse(*err));
  }
  t.dry_run = req.Query("dryRun") == "All";
  if (!t.subresource.empty()) return ServeSubresource(req, t, std::move(ex));
  if (t.resource->group == "events.k8s.io") return ServeEventsV1(std::move(req), t, std::move(ex));
  ServeResource(req, t, std::move(ex));
}

void ApiServerImpl::ServeEventsV1(HttpRequest req, Target t, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& v1 = *t.resource;
  t.resource = registry_.Find("", "v1", "events");
  t.events_v1 = true;
  const std::string& m = req.method;
  if (m == "POST" || m == "PUT") {
    json::object obj;
    Target as_v1 = t;
    as_v1.resource = &v1;
    if (auto err = DecodeBody(req, as_v1, &obj)) return ex->Respond(StatusResponse(*err));
    if (auto err = CheckAndDefault(req, v1, &obj, &ex, /*defaults=*/false)) {
      return ex->Respond(StatusResponse(*err));
    }
    req.body = json::serialize(V1EventToCore(obj));
    for (auto& [k, v] : req.headers) {
      if (k == "content-type") v = "application/json";
    }
  } else if (m == "PATCH" && !t.name.empty()) {
    // The patch speaks events.k8s.io/v1: apply it to the v1 form, store the core form.
    auto cur = ReadCurrent(t, *ex);
    if (!cur) return;
    auto old = Decode(*cur);
    json::value doc = CoreEventToV1(*old);
    auto type = PatchTypeOf(req.Header("content-type"));
    if (!type.ok()) {
      return ex->Respond(StatusResponse({415, "UnsupportedMediaType", type.status().message(), {}}));
    }
    const api::TypeDecl* schema = api::Schema::BuiltIn().Kind("events.k8s.io", "v1", "Event");
    if (auto err = PatchDecodeError(*type, req.body)) return ex->Respond(StatusResponse(*err));
    if (Status st = ApplyPatch(*type, req.body, schema, &doc); !st.ok()) {
      return ex->Respond(StatusResponse({422, "Invalid", st.message(), {}}));
    }
    if (!doc.is_object()) return ex->Respond(StatusResponse(BadRequest("the patched object is not an object")));
    json::object core = V1EventToCore(doc.as_object());
    auto& meta = core["metadata"];
    if (!meta.is_object()) meta = json::object();
    meta.as_object()["resourceVersion"] = std::to_string(cur->mod_revision);
    req.method = "PUT";
    req.body = json::serialize(core);
    for (auto& [k, v] : req.headers) {
      if (k == "content-type") v = "application/json";
    }
  }
  ServeResource(req, t, std::move(ex));
}

namespace {

// The label selector of a workload as the text Scale.status.selector carries.
std::string SelectorText(const json::object& obj) {
  const json::value* sel = nullptr;
  if (const auto* spec = obj.if_contains("spec"); spec && spec->is_object()) {
    sel = spec->as_object().if_contains("selector");
  }
  if (sel == nullptr || !sel->is_object()) return "";
  const auto& so = sel->as_object();
  if (so.contains("matchLabels") || so.contains("matchExpressions")) {
    auto s = SelectorOf(*sel);
    return s.ok() ? s->String() : "";
  }
  // A ReplicationController's selector is a plain map.
  api::Labels labels;
  for (const auto& [k, v] : so) {
    if (v.is_string()) labels.emplace(std::string(k), std::string(v.as_string()));
  }
  auto s = api::LabelSelector::FromMatch(labels, {});
  return s.ok() ? s->String() : "";
}

// The autoscaling/v1 Scale of a workload.
json::object ScaleOf(const json::object& obj) {
  json::object meta;
  const auto& m = obj.at("metadata").as_object();
  for (const char* f : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    if (const auto* v = m.if_contains(f)) meta[f] = *v;
  }
  int64_t want = 0, have = 0;
  if (const auto* spec = obj.if_contains("spec"); spec && spec->is_object()) {
    if (const auto* r = spec->as_object().if_contains("replicas"); r && r->is_int64()) {
      want = r->as_int64();
    }
  }
  if (const auto* st = obj.if_contains("status"); st && st->is_object()) {
    if (const auto* r = st->as_object().if_contains("replicas"); r && r->is_int64()) {
      have = r->as_int64();
    }
  }
  json::object status{{"replicas", have}};
  if (auto sel = SelectorText(obj); !sel.empty()) status["selector"] = sel;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", std::move(meta)},
          {"spec", json::object{{"replicas", want}}},
          {"status", std::move(status)}};
}

// Rewrites a successful JSON object answer (e.g. the workload a scale wrote, as its Scale).
class TransformExchange final : public ForwardingExchange {
 public:
  TransformExchange(std::shared_ptr<Exchange> inner,
                    std::function<json::object(const json::object&)> fn)
      : ForwardingExchange(std::move(inner)), fn_(std::move(fn)) {}
  void Respond(HttpResponse response) override {
    if (response.status / 100 == 2) {
      boost::system::error_code ec;
      json::value v = json::parse(response.body, ec);
      if (!ec && v.is_object() && v.as_object().contains("metadata")) {
        response.body = json::serialize(fn_(v.as_object()));
      }
    }
    inner_->Respond(std::move(response));
  }

 private:
  std::function<json::object(const json::object&)> fn_;
};

}  // namespace

void ApiServerImpl::Review(const HttpRequest& req, const Target& t,
                           std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  json::object obj;
  if (auto err = DecodeBody(req, t, &obj)) return ex->Respond(StatusResponse(*err));
  if (auto err = CheckAndDefault(req, r, &obj, &ex)) return ex->Respond(StatusResponse(*err));
  // The reviews answer for the requesting user: what the authorizer would decide, who the
  // authenticator says they are.
  UserInfo user = t.attrs ? t.attrs->user : UserInfo{};
  json::object status;
  if (r.kind == "SelfSubjectAccessReview") {
    const json::object* spec = nullptr;
    if (const auto* sp = obj.if_contains("spec"); sp && sp->is_object()) spec = &sp->as_object();
    const json::value* res = spec ? spec->if_contains("resourceAttributes") : nullptr;
    const json::value* non = spec ? spec->if_contains("nonResourceAttributes") : nullptr;
    if ((res == nullptr) == (non == nullptr) || (res && !res->is_object()) ||
        (non && !non->is_object())) {
      return ex->Respond(StatusResponse(Invalid(
          r, "", {{"spec.resourceAttributes",
                   "Invalid value: \"null\": exactly one of nonResourceAttributes or "
                   "resourceAttributes must be specified"}})));
    }
    RequestAttributes a;
    a.user = user;
    if (res != nullptr) {
      const auto& o = res->as_object();
      a.resource_request = true;
      a.verb = FieldText(o, "verb");
      a.api_group = FieldText(o, "group");
      a.api_version = FieldText(o, "version");
      a.resource = FieldText(o, "resource");
      a.subresource = FieldText(o, "subresource");
      a.ns = FieldText(o, "namespace");
      a.name = FieldText(o, "name");
    } else {
      a.verb = FieldText(non->as_object(), "verb");
      a.path = FieldText(non->as_object(), "path");
    }
    auto d = opts_.authorizer->Authorize(a);
    status["allowed"] = d.allowed;
    if (!d.allowed) status["denied"] = true;
    if (!d.reason.empty()) status["reason"] = d.reason;
  } else {
    json::object info{{"username", user.name}};
    if (!user.uid.empty()) info["uid"] = user.uid;
    json::array groups;
    for (const auto& g : user.groups) groups.push_back(json::string(g));
    if (!groups.empty()) info["groups"] = std::move(groups);
    status["userInfo"] = std::move(info);
  }
  obj["status"] = std::move(status);
  auto& meta = obj["metadata"].as_object();
  meta["creationTimestamp"] = nullptr;
  meta.erase("namespace");
  HttpResponse resp;
  resp.status = 201;
  resp.body = json::serialize(obj);
  ex->Respond(std::move(resp));
}

void ApiServerImpl::IssueToken(const HttpRequest& req, const Target& t,
                               std::shared_ptr<Exchange> ex) {
  static const ResourceInfo kTokenRequest = [] {
    ResourceInfo r;
    r.group = "authentication.k8s.io";
    r.version = "v1";
    r.resource = "tokenrequests";
    r.kind = "TokenRequest";
    r.stored = false;
    return r;
  }();
  json::object obj;
  if (auto err = DecodeBody(req, Target{&kTokenRequest, t.ns, t.name, ""}, &obj)) {
    return ex->Respond(StatusResponse(*err));
  }
  if (auto err = CheckAndDefault(req, kTokenRequest, &obj, &ex)) {
    return ex->Respond(StatusResponse(*err));
  }
  auto& meta = obj["metadata"].as_object();
  if (const auto* n = meta.if_contains("name");
      n && n->is_string() && !n->as_string().empty() && n->as_string() != t.name) {
    return ex->Respond(StatusResponse(Invalid(
        kTokenRequest, t.name,
        {{"metadata.name", "Invalid value: " + json::serialize(*n) +
                               ": must match the service account name if specified"}})));
  }
  auto sa_kv = ReadCurrent(t, *ex);
  if (!sa_kv) return;
  auto sa = Decode(*sa_kv);
  const std::string sa_uid = FieldText(*sa, "metadata.uid");

  auto& spec_v = obj["spec"];
  if (!spec_v.is_object()) spec_v = json::object();
  auto& spec = spec_v.as_object();
  auto* auds = spec.if_contains("audiences");
  if (auds == nullptr || !auds->is_array() || auds->as_array().empty()) {
    spec["audiences"] = json::array{json::string(opts_.service_account_issuer)};
  }
  if (!spec.contains("expirationSeconds") || spec.at("expirationSeconds").is_null()) {
    spec["expirationSeconds"] = 3600;  // the API's default
  }
  const int64_t secs = spec.at("expirationSeconds").to_number<int64_t>();
  std::vector<std::pair<std::string, std::string>> problems;
  if (secs < 600) {
    problems.emplace_back("spec.expirationSeconds", "Invalid value: " + std::to_string(secs) +
                                                        ": may not specify a duration less "
                                                        "than 10 minutes");
  } else if (secs > (int64_t{1} << 32)) {
    problems.emplace_back("spec.expirationSeconds", "Invalid value: " + std::to_string(secs) +
                                                        ": may not specify a duration larger "
                                                        "than 2^32 seconds");
  }
  if (!problems.empty()) return ex->Respond(StatusResponse(Invalid(kTokenRequest, "", problems)));

  // The object the token is bound to, if any: it must exist (with the given uid).
  json::object bound;  // "pod" / "secret" / "node" -> {name, uid}
  if (const auto* ref = spec.if_contains("boundObjectRef"); ref && ref->is_object()) {
    std::string kind = FieldText(ref->as_object(), "kind");
    std::string api_version = FieldText(ref->as_object(), "apiVersion");
    std::string name = FieldText(ref->as_object(), "name");
    std::string want_uid = FieldText(ref->as_object(), "uid");
    const bool core = api_version.find('/') == std::string::npos;
    const ResourceInfo* target = nullptr;
    if (core && kind == "Pod") target = registry_.Find("", "v1", "pods");
    if (core && kind == "Secret") target = registry_.Find("", "v1", "secrets");
    if (core && kind == "Node") target = registry_.Find("", "v1", "nodes");
    if (target == nullptr) {
      std::string group = core ? "" : api_version.substr(0, api_version.find('/'));
      std::string version = core ? api_version : api_version.substr(api_version.find('/') + 1);
      return ex->Respond(StatusResponse(BadRequest(
          "cannot bind token to object of type " + (group.empty() ? "" : group + "/") + version +
          ", Kind=" + kind)));
    }
    if (name.empty()) return ex->Respond(StatusResponse(BadRequest("Name parameter required.")));
    auto kv = ReadCurrent(Target{target, target->namespaced ? t.ns : "", name, ""}, *ex);
    if (!kv) return;
    auto o = Decode(*kv);
    std::string uid = FieldText(*o, "metadata.uid");
    if (kind == "Pod") {
      std::string pod_sa = FieldText(*o, "spec.serviceAccountName");
      if (pod_sa != t.name) {
        return ex->Respond(StatusResponse(BadRequest(
            "cannot bind token for serviceaccount \"" + t.name +
            "\" to pod running with different serviceaccount name.")));
      }
      bound["pod"] = json::object{{"name", name}, {"uid", uid}};
      if (std::string node = FieldText(*o, "spec.nodeName"); !node.empty()) {
        json::object n{{"name", node}};
        const ResourceInfo* nodes = registry_.Find("", "v1", "nodes");
        if (auto nkv = store_->Get(Key(*nodes, "", node)); nkv.ok()) {
          if (auto nobj = Decode(*nkv); nobj.ok()) n["uid"] = FieldText(*nobj, "metadata.uid");
        }
        bound["node"] = std::move(n);
      }
    } else {
      bound[kind == "Secret" ? "secret" : "node"] = json::object{{"name", name}, {"uid", uid}};
    }
    if (!want_uid.empty() && want_uid != uid) {
      json::object d{{"name", name}, {"kind", kind}};
      return ex->Respond(StatusResponse(
          {409, "Conflict",
           "Operation cannot be fulfilled on " + kind + " \"" + name +
               "\": the UID in the bound object reference (" + want_uid +
               ") does not match the UID in record. The object might have been deleted and "
               "then recreated",
           std::move(d)}));
    }
  }

  const auto now = std::chrono::system_clock::now();
  const int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(
                          now.time_since_epoch()).count();
  json::object k8s{{"namespace", t.ns},
                   {"serviceaccount", json::object{{"name", t.name}, {"uid", sa_uid}}}};
  for (auto& [key, value] : bound) k8s[key] = std::move(value);
  json::object claims{{"aud", spec.at("audiences")},
                      {"exp", iat + secs},
                      {"iat", iat},
                      {"iss", opts_.service_account_issuer},
                      {"jti", NewUid()},
                      {"kubernetes.io", std::move(k8s)},
                      {"nbf", iat},
                      {"sub", "system:serviceaccount:" + t.ns + ":" + t.name}};
  auto token = opts_.token_signer->Sign(claims);
  if (!token.ok()) return ex->Respond(StatusResponse(FromStoreStatus(token.status())));
  meta["name"] = t.name;
  meta["namespace"] = t.ns;
  meta["uid"] = sa_uid;
  meta["creationTimestamp"] = RfcTime(now);
  obj["status"] = json::object{{"token", std::move(*token)},
                               {"expirationTimestamp", RfcTime(now + std::chrono::seconds(secs))}};
  HttpResponse resp;
  resp.status = 201;
  resp.body = json::serialize(obj);
  ex->Respond(std::move(resp));
}

namespace {

// Answers a Status Success (with `code`) in place of the object a handler answers.
class SuccessExchange final : public ForwardingExchange {
 public:
  SuccessExchange(std::shared_ptr<Exchange> inner, int code)
      : ForwardingExchange(std::move(inner)), code_(code) {}
  void Respond(HttpResponse response) override {
    if (response.status / 100 == 2) {
      response.status = code_;
      response.body = json::serialize(json::object{{"kind", "Status"},
                                                   {"apiVersion", "v1"},
                                                   {"metadata", json::object()},
                                                   {"status", "Success"},
                                                   {"code", code_}});
    }
    inner_->Respond(std::move(response));
  }

 private:
  int code_;
};

}  // namespace

void ApiServerImpl::Evict(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  boost::system::error_code ec;
  json::value body;
  std::string_view ct = req.Header("content-type");
  if (ct.substr(0, ct.find(';')) == api::kProtobufContentType) {
    auto decoded = api::DecodeKubernetesProtobuf(req.body);
    if (decoded.ok()) body = std::move(*decoded);
  } else {
    body = json::parse(req.body, ec);
  }
  if (ec || !body.is_object()) {
    return ex->Respond(StatusResponse(BadRequest("the body of an eviction must be an Eviction")));
  }
  const auto* kind = body.as_object().if_contains("kind");
  if (kind && *kind != json::value("Eviction")) {
    return ex->Respond(StatusResponse(BadRequest("the body of an eviction must be an Eviction")));
  }
  if (const auto* meta = body.as_object().if_contains("metadata"); meta && meta->is_object()) {
    const auto* n = meta->as_object().if_contains("name");
    if (n && n->is_string() && n->as_string() != t.name) {
      return ex->Respond(StatusResponse(BadRequest(
          "name in URL does not match name in Eviction object")));
    }
  }
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto pod = Decode(*cur);
  // Disruption budgets of the namespace that select the pod must allow one more disruption.
  const ResourceInfo* pdbs = registry_.Find("policy", "v1", "poddisruptionbudgets");
  store::RangeRequest rr;
  rr.key = CollectionPrefix(*pdbs, t.ns);
  rr.range_end = store::PrefixEnd(rr.key);
  auto budgets = store_->Range(rr);
  if (!budgets.ok()) return ex->Respond(StatusResponse(FromStoreStatus(budgets.status())));
  api::Labels labels;
  if (const auto* l = (*pod)["metadata"].as_object().if_contains("labels"); l && l->is_object()) {
    for (const auto& [k, v] : l->as_object()) {
      if (v.is_string()) labels.emplace(std::string(k), std::string(v.as_string()));
    }
  }
  bool terminal = false;
  if (const auto* st = pod->if_contains("status"); st && st->is_object()) {
    const auto* phase = st->as_object().if_contains("phase");
    terminal = phase && (*phase == "Succeeded" || *phase == "Failed");
  }
  for (const auto& kv : budgets->kvs) {
    auto pdb = Decode(kv);
    if (!pdb.ok() || terminal) continue;
    const auto* spec = pdb->if_contains("spec");
    const auto* sel = spec && spec->is_object() ? spec->as_object().if_contains("selector") : nullptr;
    if (sel == nullptr || !sel->is_object()) continue;
    // An empty selector selects every pod of the namespace (policy/v1).
    auto selector = SelectorOf(*sel);
    if (!selector.ok() || !selector->Matches(labels)) continue;
    int64_t allowed = 0;
    if (const auto* st = pdb->if_contains("status"); st && st->is_object()) {
      if (const auto* a = st->as_object().if_contains("disruptionsAllowed"); a && a->is_int64()) {
        allowed = a->as_int64();
      }
    }
    if (allowed < 1) {
      std::string name(pdb->at("metadata").at("name").as_string());
      ApiError e{429, "TooManyRequests",
                 "Cannot evict pod as it would violate the pod's disruption budget.", {}};
      e.details = json::object{{"causes", json::array{json::object{
                                   {"reason", "DisruptionBudget"},
                                   {"message", "The disruption budget " + name +
                                                   " needs more healthy pods to allow this "
                                                   "disruption."}}}}};
      return ex->Respond(StatusResponse(e));
    }
  }
  // The eviction's delete options, as a DELETE of the pod would take them.
  auto del = std::make_shared<HttpRequest>();
  del->method = "DELETE";
  del->path = req.path.substr(0, req.path.rfind('/'));
  const auto* opts = body.as_object().if_contains("deleteOptions");
  del->body = opts && opts->is_object() ? json::serialize(*opts) : "";
  for (const auto& q : req.query) {
    if (q.first == "dryRun") del->query.push_back(q);
  }
  Delete(del, Target{&r, t.ns, t.name, ""}, std::make_shared<SuccessExchange>(std::move(ex), 201),
         0);
}

void ApiServerImpl::Bind(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  boost::system::error_code ec;
  json::value body = json::parse(req.body, ec);
  const json::value* target = nullptr;
  if (!ec && body.is_object()) target = body.as_object().if_contains("target");
  const json::value* node = target && target->is_object()
                                ? target->as_object().if_contains("name") : nullptr;
  if (node == nullptr || !node->is_string() || node->as_string().empty()) {
    return ex->Respond(StatusResponse(
        Invalid(r, t.name, {{"target.name", "Required value: name is required"}})));
  }
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto old = Decode(*cur);
  json::object obj = *old;
  auto& spec = obj["spec"];
  if (!spec.is_object()) spec = json::object();
  if (const auto* bound = spec.as_object().if_contains("nodeName");
      bound && bound->is_string() && !bound->as_string().empty()) {
    return ex->Respond(StatusResponse(
        {409, "Conflict",
         "Operation cannot be fulfilled on pods/binding \"" + t.name + "\": pod " + t.name +
             " is already assigned to node \"" + std::string(bound->as_string()) + "\"",
         Details(r, t.name)}));
  }
  if ((*old)["metadata"].as_object().contains("deletionTimestamp")) {
    return ex->Respond(StatusResponse(
        {409, "Conflict", "pod " + t.name + " is being deleted, cannot be assigned to a host",
         Details(r, t.name)}));
  }
  spec.as_object()["nodeName"] = *node;
  if (const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind)) {
    TrackUpdate(*type, &*old, &obj, Manager(req, r));
  }
  Target pod = t;
  pod.subresource.clear();
  WriteUpdate(pod, *old, std::move(obj), cur->mod_revision,
              std::make_shared<SuccessExchange>(ex, 201), [ex, r = &r, name = t.name] {
                ex->Respond(StatusResponse(Conflict(*r, name)));
              });
}

void ApiServerImpl::Finalize(const HttpRequest& req, const Target& t,
                             std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  json::object body;
  if (auto err = DecodeBody(req, t, &body)) return ex->Respond(StatusResponse(*err));
  if (auto err = CheckAndDefault(req, r, &body, &ex)) return ex->Respond(StatusResponse(*err));
  if (const auto* n = body["metadata"].as_object().if_contains("name");
      n && n->is_string() && n->as_string() != t.name) {
    return ex->Respond(StatusResponse(
        BadRequest("the name of the object (" + std::string(n->as_string()) +
                   ") does not match the name on the URL (" + t.name + ")")));
  }
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto old = Decode(*cur);
  if (const auto* rv = body["metadata"].as_object().if_contains("resourceVersion");
      rv && rv->is_string() && !rv->as_string().empty() &&
      rv->as_string() != std::to_string(cur->mod_revision)) {
    return ex->Respond(StatusResponse(Conflict(r, t.name)));
  }
  json::object obj = *old;
  auto& spec = obj["spec"];
  if (!spec.is_object()) spec = json::object();
  const json::value* want = nullptr;
  if (const auto* bs = body.if_contains("spec"); bs && bs->is_object()) {
    want = bs->as_object().if_contains("finalizers");
  }
  if (want != nullptr && want->is_array() && !want->as_array().empty()) {
    spec.as_object()["finalizers"] = *want;
  } else {
    spec.as_object().erase("finalizers");
  }
  if (!Valid(r, obj, &*old, t.name, *ex, false)) return;
  if (const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind)) {
    TrackUpdate(*type, &*old, &obj, Manager(req, r));
  }
  WriteUpdate(t, *old, std::move(obj), cur->mod_revision, ex, [ex, r = &r, name = t.name] {
    ex->Respond(StatusResponse(Conflict(*r, name)));
  });
}

void ApiServerImpl::ServeSubresource(const HttpRequest& req, const Target& t,
                                     std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  const auto& subs = r.subresources;
  if (r.kind == "Pod" && !t.name.empty() && req.method == "POST") {
    if (t.subresource == "eviction") return Evict(req, t, std::move(ex));
    if (t.subresource == "binding") return Bind(req, t, std::move(ex));
  }
  if (r.kind == "ServiceAccount" && t.subresource == "token" && !t.name.empty() &&
      req.method == "POST") {
    return IssueToken(req, t, std::move(ex));
  }
  if (r.kind == "Namespace" && t.subresource == "finalize" && !t.name.empty() &&
      req.method == "PUT") {
    return Finalize(req, t, std::move(ex));
  }
  bool served = (t.subresource == "status" || t.subresource == "scale") &&
                std::find(subs.begin(), subs.end(), t.subresource) != subs.end();
  if (!served || t.name.empty()) {
    return ex->Respond(StatusResponse(
        {404, "NotFound", "the server could not find the requested resource", {}}));
  }
  const bool scale = t.subresource == "scale";
  if (scale) ex = std::make_shared<TransformExchange>(std::move(ex), ScaleOf);
  const std::string& m = req.method;
  if (m == "GET") return Get(req, t, *ex);
  if (m != "PUT" && m != "PATCH") {
    return ex->Respond(StatusResponse({405, "MethodNotAllowed",
                                       "the server does not allow this method on the "
                                       "requested resource",
                                       {}}));
  }
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto old = Decode(*cur);
  // The new value of the part the subresource owns: the whole Scale or status.
  json::value part;
  if (m == "PUT") {
    boost::system::error_code ec;
    part = json::parse(req.body, ec);
    if (ec || !part.is_object()) {
      return ex->Respond(StatusResponse(BadRequest("the request body must be a JSON object")));
    }
    const auto* rv = part.as_object().if_contains("metadata");
    rv = rv && rv->is_object() ? rv->as_object().if_contains("resourceVersion") : nullptr;
    if (rv && rv->is_string() && !rv->as_string().empty() &&
        rv->as_string() != std::to_string(cur->mod_revision)) {
      return ex->Respond(StatusResponse(Conflict(r, t.name)));
    }
  } else {
    auto type = PatchTypeOf(req.Header("content-type"));
    if (!type.ok()) {
      return ex->Respond(StatusResponse({415, "UnsupportedMediaType", type.status().message(), {}}));
    }
    part = scale ? json::value(ScaleOf(*old)) : json::value(*old);
    const api::TypeDecl* schema =
        scale ? api::Schema::BuiltIn().Type("io.k8s.api.autoscaling.v1.Scale")
              : api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
    if (auto err = PatchDecodeError(*type, req.body)) return ex->Respond(StatusResponse(*err));
    if (Status st = ApplyPatch(*type, req.body, schema, &part); !st.ok()) {
      return ex->Respond(StatusResponse({422, "Invalid", st.message(), {}}));
    }
  }
  json::object obj = *old;
  if (scale) {
    const auto* spec = part.as_object().if_contains("spec");
    const auto* want = spec && spec->is_object() ? spec->as_object().if_contains("replicas")
                                                 : nullptr;
    if (want == nullptr || !want->is_int64() || want->as_int64() < 0) {
      return ex->Respond(StatusResponse(Invalid(
          r, t.name, {{"spec.replicas", "Invalid value: must be greater than or equal to 0"}})));
    }
    if (!obj["spec"].is_object()) obj["spec"] = json::object();
    obj["spec"].as_object()["replicas"] = want->as_int64();
  } else if (const auto* st = part.as_object().if_contains("status")) {
    obj["status"] = *st;
  } else {
    obj.erase("status");
  }
  if (!scale) {
    if (auto causes = ValidateStatusUpdate(r, obj, *old); !causes.empty()) {
      return ex->Respond(StatusResponse(Invalid(r, t.name, causes)));
    }
  }
  if (const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind)) {
    TrackUpdate(*type, &*old, &obj, Manager(req, r));
  }
  WriteUpdate(t, *old, std::move(obj), cur->mod_revision, ex, [ex, r = &r, name = t.name] {
    ex->Respond(StatusResponse(Conflict(*r, name)));
  });
}

void ApiServerImpl::ServeResource(const HttpRequest& req, const Target& t,
                                  std::shared_ptr<Exchange> raw_ex) {
  const auto& m = req.method;
  RequestLabels labels;
  labels.verb = m;
  if (m == "GET" && t.name.empty()) labels.verb = IsTrue(req.Query("watch")) ? "WATCH" : "LIST";
  if (m == "DELETE" && t.name.empty()) labels.verb = "DELETECOLLECTION";
  labels.group = t.resource->group;
  labels.version = t.resource->version;
  labels.resource = t.resource->resource;
  labels.subresource = t.subresource;
  labels.scope = !t.name.empty() ? "resource" : !t.ns.empty() ? "namespace" : "cluster";
  labels.dry_run = std::string(req.Query("dryRun"));
  std::shared_ptr<Exchange> ex =
      std::make_shared<ObservingExchange>(std::move(raw_ex), &metrics_, std::move(labels));
  if (auto version = MetadataExchange::Wanted(req.Header("accept")); !version.empty()) {
    bool watch = m == "GET" && t.name.empty() && IsTrue(req.Query("watch"));
    ex = std::make_shared<MetadataExchange>(std::move(ex), watch, std::move(version));
  } else if (api::AcceptsProtobuf(req.Header("accept"))) {
    bool watch = m == "GET" && t.name.empty() && IsTrue(req.Query("watch"));
    ex = std::make_shared<ProtobufExchange>(std::move(ex), watch);
  }
  if (t.events_v1) {  // innermost: the encoders above see events.k8s.io/v1 objects
    bool watch = m == "GET" && t.name.empty() && IsTrue(req.Query("watch"));
    ex = std::make_shared<EventsV1Exchange>(std::move(ex), watch);
  }
  if (!t.resource->stored) {
    if (m == "POST" && t.name.empty()) return Review(req, t, std::move(ex));
    return ex->Respond(StatusResponse({405, "MethodNotAllowed",
                                       "the server does not allow this method on the "
                                       "requested resource",
                                       {}}));
  }
  if (m == "GET") {
    if (t.name.empty()) {
      if (IsTrue(req.Query("watch"))) return Watch(req, t, std::move(ex));
      return List(req, t, std::move(ex));
    }
    return Get(req, t, *ex);
  }
  if (m == "POST" && t.name.empty()) return Create(req, t, std::move(ex));
  if (m == "PUT" && !t.name.empty()) return Update(req, t, std::move(ex));
  if (m == "DELETE" && !t.name.empty()) {
    return Delete(std::make_shared<const HttpRequest>(req), t, std::move(ex), 0);
  }
  if (m == "DELETE" && t.name.empty()) {
    auto shared = std::make_shared<const HttpRequest>(req);
    return Post([this, shared, t, ex] { DeleteCollection(shared, t, ex); });
  }
  if (m == "PATCH" && !t.name.empty()) {
    return Patch(std::make_shared<const HttpRequest>(req), t, std::move(ex), 0);
  }
  ex->Respond(StatusResponse({405, "MethodNotAllowed",
                              "the server does not allow this method on the requested resource",
                              {}}));
}

// --- metrics ----------------------------------------------------------------------------------

HttpResponse ApiServerImpl::Metrics() {
  std::string out = metrics_.Text();
  out +=
      "# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last "
      "check split by kind. In case of a fetching error, the value will be -1.\n"
      "# TYPE apiserver_storage_objects gauge\n";
  // Resources with a watch cache are counted there; the others in the store.
  std::map<const ResourceInfo*, WatchCacheStats> cached;
  {
    std::lock_guard l(caches_mu_);
    for (const auto& [r, c] : caches_) cached[r] = c->Stats();
  }
  auto name_of = [](const ResourceInfo& r) {
    return r.group.empty() ? r.resource : r.resource + "." + r.group;
  };
  for (const auto& r : registry_.all()) {
    if (!r.stored) continue;
    std::string count = "-1";
    if (auto it = cached.find(&r); it != cached.end() && it->second.ready) {
      count = std::to_string(it->second.objects);
    } else {
      store::RangeRequest rr;
      rr.key = r.StoragePrefix();
      rr.range_end = store::PrefixEnd(rr.key);
      rr.count_only = true;
      if (auto res = store_->Range(rr); res.ok()) count = std::to_string(res->count);
    }
    out += "apiserver_storage_objects{resource=\"" + name_of(r) + "\"} " + count + "\n";
  }
  struct CacheMetric {
    const char* name;
    const char* type;
    const char* help;
    std::function<std::string(const WatchCacheStats&)> value;
  };
  const CacheMetric kCacheMetrics[] = {
      {"apiserver_watch_cache_resource_version", "gauge",
       "Current resource version of watch cache broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.revision); }},
      {"apiserver_watch_cache_events_received_total", "counter",
       "Counter of events received in watch cache broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.events_received); }},
      {"apiserver_watch_cache_events_dispatched_total", "counter",
       "Counter of events dispatched in watch cache broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.events_dispatched); }},
      {"apiserver_watch_cache_initializations_total", "counter",
       "Counter of watch cache initializations broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.initializations); }},
      {"apiserver_terminated_watchers_total", "counter",
       "Counter of watchers closed due to unresponsiveness broken by resource type.",
       [](const WatchCacheStats& s) { return std::to_string(s.terminated_watchers); }},
      {"apiserver_registered_watchers", "gauge",
       "Number of currently registered watchers for a given resources",
       [](const WatchCacheStats& s) { return std::to_string(s.watchers); }},
  };
  for (const auto& m : kCacheMetrics) {
    out += std::string("# HELP ") + m.name + " " + m.help + "\n# TYPE " + m.name + " " +
           m.type + "\n";
    for (const auto& [r, st] : cached) {
      out += std::string(m.name) + "{resource=\"" + name_of(*r) + "\"} " + m.value(st) + "\n";
    }
  }
  HttpResponse resp;
  resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
  resp.body = std::move(out);
  return resp;
}

// --- health -----------------------------------------------------------------------------------

HttpResponse ApiServerImpl::Health(const HttpRequest& req,
                                   const std::vector<std::string_view>& parts) {
  struct Check {
    std::string name;
    std::function<Status()> run;
  };
  std::vector<Check> checks = {
      {"ping", [] { return Status::Ok(); }},
      {"etcd",
       [this] {
         store::RangeRequest rr;
         rr.key = "/registry/health";
         rr.count_only = true;
         auto r = store_->Range(rr);
         return r.ok() ? Status::Ok() : r.status();
       }},
      {"poststarthook/bootstrap-controller",
       [this] {
         return bootstrapped_.load() ? Status::Ok() : UnavailableError("not finished");
       }},
  };
  if (parts[0] == "readyz") {
    checks.push_back({"shutdown", [this] {
                        std::lock_guard l(work_mu_);
                        return stopping_ ? UnavailableError("shutting down") : Status::Ok();
                      }});
  }
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  std::string which;
  for (size_t i = 1; i < parts.size(); ++i) which += (i > 1 ? "/" : "") + std::string(parts[i]);
  if (!which.empty()) {
    for (const auto& c : checks) {
      if (c.name != which) continue;
      Status st = c.run();
      r.status = st.ok() ? 200 : 500;
      r.body = st.ok() ? "ok" : "internal server error: " + st.message();
      return r;
    }
    r.status = 404;
    r.body = "404 page not found\n";
    return r;
  }
  std::vector<std::string> excluded;
  for (const auto& [k, v] : req.query) {
    if (k == "exclude") excluded.push_back(v);
  }
  bool verbose = req.HasQuery("verbose");
  bool ok = true;
  std::string out;
  for (const auto& c : checks) {
    if (std::find(excluded.begin(), excluded.end(), c.name) != excluded.end()) {
      out += "[+]" + c.name + " excluded: ok\n";
      continue;
    }
    Status st = c.run();
    ok = ok && st.ok();
    out += st.ok() ? "[+]" + c.name + " ok\n" : "[-]" + c.name + " failed: reason withheld\n";
  }
  std::string name(parts[0]);
  if (ok) {
    r.body = verbose ? out + name + " check passed\n" : "ok";
  } else {
    r.status = 500;
    r.body = out + name + " check failed\n";
  }
  return r;
}

// --- discovery --------------------------------------------------------------------------------

HttpResponse ApiServerImpl::OpenApiDocument(const HttpRequest& req,
                                            const std::vector<std::string_view>& parts) const {
  HttpResponse r;
  if (parts.size() == 2 && parts[1] == "v2") {
    if (req.Header("accept").find("protobuf") != std::string_view::npos) {
      r.content_type = std::string(kOpenApiV2ProtobufType);
      r.body = openapi_.V2Protobuf();
    } else {
      r.body = openapi_.V2Json();
    }
    return r;
  }
  if (parts.size() == 2 && parts[1] == "v3") {
    r.body = openapi_.V3Index();
    return r;
  }
  if (parts.size() > 2 && parts[1] == "v3") {
    std::string path;
    for (size_t i = 2; i < parts.size(); ++i) path += (i > 2 ? "/" : "") + std::string(parts[i]);
    if (const std::string* doc = openapi_.V3(path)) {
      r.body = *doc;
      return r;
    }
  }
  return StatusResponse({404, "NotFound", "the server could not find the requested resource", {}});
}

HttpResponse ApiServerImpl::Version() const {
  json::object v;
  v["major"] = opts_.major;
  v["minor"] = opts_.minor;
  v["gitVersion"] = opts_.git_version;
  v["gitCommit"] = "";
  v["gitTreeState"] = "clean";
  v["buildDate"] = "";
  v["goVersion"] = "";
  v["compiler"] = "g++";
  v["platform"] = "linux/amd64";
  HttpResponse r;
  r.body = json::serialize(v);
  return r;
}

// verbs, shortNames and categories, shared by both discovery forms.
void AddVerbsAndNames(const ResourceInfo& r, json::object* e) {
  auto strings = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.push_back(json::string(s));
    return a;
  };
  (*e)["verbs"] = strings(r.verbs);
  if (!r.short_names.empty()) (*e)["shortNames"] = strings(r.short_names);
  if (!r.categories.empty()) (*e)["categories"] = strings(r.categories);
}

namespace {

struct SubresourceInfo {
  std::string name, group, version, kind;
  std::vector<std::string> verbs;
};

// The subresources of `r` that are served (see ServeSubresource), as discovery lists them.
std::vector<SubresourceInfo> ServedSubresources(const ResourceInfo& r) {
  std::vector<SubresourceInfo> out;
  for (const auto& sub : r.subresources) {
    if (sub == "status") {
      out.push_back({sub, r.group, r.version, r.kind, {"get", "patch", "update"}});
    } else if (sub == "scale") {
      out.push_back({sub, "autoscaling", "v1", "Scale", {"get", "patch", "update"}});
    } else if (sub == "eviction" && r.kind == "Pod") {
      out.push_back({sub, "policy", "v1", "Eviction", {"create"}});
    } else if (sub == "binding" && r.kind == "Pod") {
      out.push_back({sub, "", "v1", "Binding", {"create"}});
    } else if (sub == "finalize" && r.kind == "Namespace") {
      out.push_back({sub, "", "v1", "Namespace", {"update"}});
    } else if (sub == "token" && r.kind == "ServiceAccount") {
      out.push_back({sub, "authentication.k8s.io", "v1", "TokenRequest", {"create"}});
    }
  }
  return out;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.push_back(json::string(s));
  return a;
}

}  // namespace

json::object ApiServerImpl::ResourceListEntry(const ResourceInfo& r) const {
  json::object e;
  e["name"] = r.resource;
  e["singularName"] = r.singular;
  e["namespaced"] = r.namespaced;
  e["kind"] = r.kind;
  AddVerbsAndNames(r, &e);
  return e;
}

json::object ApiServerImpl::AggregatedResource(const ResourceInfo& r) const {
  json::object e;
  e["resource"] = r.resource;
  json::object kind;
  kind["group"] = r.group;
  kind["version"] = r.version;
  kind["kind"] = r.kind;
  e["responseKind"] = std::move(kind);
  e["scope"] = r.namespaced ? "Namespaced" : "Cluster";
  e["singularResource"] = r.singular;
  AddVerbsAndNames(r, &e);
  json::array subs;
  for (const auto& sub : ServedSubresources(r)) {
    subs.push_back(json::object{
        {"subresource", sub.name},
        {"responseKind",
         json::object{{"group", sub.group}, {"version", sub.version}, {"kind", sub.kind}}},
        {"verbs", Strings(sub.verbs)}});
  }
  if (!subs.empty()) e["subresources"] = std::move(subs);
  return e;
}

HttpResponse ApiServerImpl::Aggregated(bool core, const std::string& version) const {
  json::array items;
  std::vector<std::string> groups = core ? std::vector<std::string>{""} : registry_.Groups();
  for (const auto& g : groups) {
    json::object item;
    json::object meta;
    if (!core) {
      meta["name"] = g;
      meta["creationTimestamp"] = nullptr;
    }
    item["metadata"] = std::move(meta);
    json::array resources;
    for (const auto& r : registry_.all()) {
      if (r.group == g) resources.push_back(AggregatedResource(r));
    }
    json::object v;
    v["version"] = "v1";
    v["resources"] = std::move(resources);
    v["freshness"] = "Current";
    item["versions"] = json::array{std::move(v)};
    items.push_back(std::move(item));
  }
  json::object list;
  list["kind"] = "APIGroupDiscoveryList";
  list["apiVersion"] = "apidiscovery.k8s.io/" + version;
  list["metadata"] = json::object();
  list["items"] = std::move(items);
  HttpResponse r;
  r.content_type = "application/json;g=apidiscovery.k8s.io;v=" + version +
                   ";as=APIGroupDiscoveryList";
  r.body = json::serialize(list);
  return r;
}

HttpResponse ApiServerImpl::Discovery(const HttpRequest& req,
                                      const std::vector<std::string_view>& parts) {
  bool core = parts[0] == "api";
  if (parts.size() == 1) {
    // Aggregated discovery when the client offers it (v2 first, then v2beta1).
    std::string_view accept = req.Header("accept");
    if (accept.find("as=APIGroupDiscoveryList") != std::string_view::npos) {
      if (accept.find("v=v2;") != std::string_view::npos ||
          accept.find("v=v2,") != std::string_view::npos ||
          (accept.find("v=v2") != std::string_view::npos &&
           accept.find("v=v2beta1") == std::string_view::npos)) {
        return Aggregated(core, "v2");
      }
      if (accept.find("v=v2beta1") != std::string_view::npos) return Aggregated(core, "v2beta1");
    }
    json::object o;
    if (core) {
      o["kind"] = "APIVersions";
      o["versions"] = json::array{"v1"};
      json::object addr;
      addr["clientCIDR"] = "0.0.0.0/0";
      addr["serverAddress"] = std::string(req.Header("host"));
      o["serverAddressByClientCIDRs"] = json::array{std::move(addr)};
    } else {
      o["kind"] = "APIGroupList";
      o["apiVersion"] = "v1";
      json::array gs;
      for (const auto& g : registry_.Groups()) {
        json::object gv;
        gv["groupVersion"] = g + "/v1";
        gv["version"] = "v1";
        json::object group;
        group["name"] = g;
        group["versions"] = json::array{gv};
        group["preferredVersion"] = gv;
        gs.push_back(std::move(group));
      }
      o["groups"] = std::move(gs);
    }
    HttpResponse r;
    r.body = json::serialize(o);
    return r;
  }
  std::string group = core ? "" : std::string(parts[1]);
  if (!core && parts.size() == 2) {
    // /apis/<group>
    auto groups = registry_.Groups();
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) {
      return StatusResponse({404, "NotFound", "the server could not find the requested resource", {}});
    }
    json::object gv;
    gv["groupVersion"] = group + "/v1";
    gv["version"] = "v1";
    json::object o;
    o["kind"] = "APIGroup";
    o["apiVersion"] = "v1";
    o["name"] = group;
    o["versions"] = json::array{gv};
    o["preferredVersion"] = gv;
    HttpResponse r;
    r.body = json::serialize(o);
    return r;
  }
  std::string version(core ? parts[1] : parts[2]);
  json::array resources;
  for (const auto& r : registry_.all()) {
    if (r.group != group || r.version != version) continue;
    resources.push_back(ResourceListEntry(r));
    for (const auto& sub : ServedSubresources(r)) {
      json::object e{{"name", r.resource + "/" + sub.name},
                     {"singularName", ""},
                     {"namespaced", r.namespaced},
                     {"kind", sub.kind},
                     {"verbs", Strings(sub.verbs)}};
      if (sub.group != r.group || sub.version != r.version) {
        e["group"] = sub.group;
        e["version"] = sub.version;
      }
      resources.push_back(std::move(e));
    }
  }
  if (resources.empty()) {
    return StatusResponse({404, "NotFound", "the server could not find the requested resource", {}});
  }
  json::object o;
  o["kind"] = "APIResourceList";
  o["apiVersion"] = "v1";
  o["groupVersion"] = core ? version : group + "/" + version;
  o["resources"] = std::move(resources);
  HttpResponse r;
  r.body = json::serialize(o);
  return r;
}

// --- objects ----------------------------------------------------------------------------------

std::optional<ApiError> ApiServerImpl::DecodeBody(const HttpRequest& req, const Target& t,
                                                  json::object* obj) {
  const ResourceInfo& r = *t.resource;
  std::string_view ct = req.Header("content-type");
  ct = ct.substr(0, ct.find(';'));
  if (ct == api::kProtobufContentType) {
    auto decoded = api::DecodeKubernetesProtobuf(req.body);
    if (!decoded.ok()) return BadRequest(decoded.status().message());
    *obj = std::move(*decoded);
  } else if (!ct.empty() && ct != "application/json" && ct != "application/yaml" &&
             ct != "*/*") {
    return ApiError{415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json, application/vnd.kubernetes.protobuf",
                    {}};
  } else if (ct == "application/yaml") {
    auto v = api::YamlToJson(req.body);
    if (!v.ok()) return BadRequest(v.status().message());
    if (!v->is_object()) return BadRequest("the request body must be an object");
    *obj = std::move(v->as_object());
  } else {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) return BadRequest("json: cannot parse the request body: " + ec.message());
    if (!v.is_object()) return BadRequest("the request body must be a JSON object");
    *obj = std::move(v.as_object());
  }
  // As upstream's decoder: a body that leaves apiVersion or kind out (the client libraries'
  // typed objects often do) is taken as the kind the URL names; one that gives them must
  // agree with it.
  auto unset = [](const json::value* v) {
    return v == nullptr || v->is_null() || (v->is_string() && v->as_string().empty());
  };
  if (unset(obj->if_contains("kind")) || unset(obj->if_contains("apiVersion"))) {
    json::object typed;
    typed["kind"] = unset(obj->if_contains("kind")) ? json::value(r.kind) : obj->at("kind");
    typed["apiVersion"] = unset(obj->if_contains("apiVersion")) ? json::value(r.GroupVersion())
                                                                : obj->at("apiVersion");
    for (auto& [k, v] : *obj) {
      if (k != "kind" && k != "apiVersion") typed[k] = std::move(v);
    }
    *obj = std::move(typed);
  }
  auto* kind = obj->if_contains("kind");
  auto* api_version = obj->if_contains("apiVersion");
  if (!kind->is_string()) return BadRequest("Object 'Kind' is missing in '" + req.body.substr(0, 200) + "'");
  if (kind->as_string() != r.kind) {
    return BadRequest("the kind in the data (" + std::string(kind->as_string()) +
                      ") does not match the expected kind (" + r.kind + ")");
  }
  if (api_version == nullptr || !api_version->is_string() ||
      api_version->as_string() != r.GroupVersion()) {
    std::string got = api_version && api_version->is_string()
                          ? std::string(api_version->as_string())
                          : std::string();
    return BadRequest("the API version in the data (" + got +
                      ") does not match the expected API version (" + r.GroupVersion() + ")");
  }
  auto& meta = (*obj)["metadata"];
  if (meta.is_null()) meta = json::object();
  if (!meta.is_object()) return BadRequest("metadata must be an object");
  auto& m = meta.as_object();
  if (auto* ns = m.if_contains("namespace"); ns && ns->is_string() && !ns->as_string().empty()) {
    if (!r.namespaced) {
      m.erase("namespace");
    } else if (ns->as_string() != t.ns) {
      return BadRequest(
          "the namespace of the provided object does not match the namespace sent on the "
          "request");
    }
  }
  if (r.namespaced) m["namespace"] = t.ns;
  return std::nullopt;
}

std::optional<ApiError> ApiServerImpl::CheckAndDefault(const HttpRequest& req,
                                                       const ResourceInfo& r, json::object* obj,
                                                       std::shared_ptr<Exchange>* ex,
                                                       bool defaults) {
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
  if (type == nullptr) return std::nullopt;
  std::string_view mode = req.Query("fieldValidation");
  if (!mode.empty() && mode != "Strict" && mode != "Warn" && mode != "Ignore") {
    return BadRequest("fieldValidation parameter unsupported value: \"" + std::string(mode) +
                      "\"; supported values: \"Ignore\", \"Strict\", \"Warn\"");
  }
  api::PruneReport report = api::Prune(*type, obj);
  if (!report.type_error.empty()) {
    return BadRequest(r.kind + " in version \"" + r.version + "\" cannot be handled as a " +
                      r.kind + ": " + report.type_error);
  }
  if (!report.unknown.empty() && mode != "Ignore") {
    std::string text;
    std::vector<std::string> warnings;
    for (const auto& path : report.unknown) {
      std::string one = "unknown field \"" + path + "\"";
      text += (text.empty() ? "" : ", ") + one;
      warnings.push_back(std::move(one));
    }
    if (mode == "Strict") {
      return BadRequest(r.kind + " in version \"" + r.version + "\" cannot be handled as a " +
                        r.kind + ": strict decoding error: " + text);
    }
    *ex = std::make_shared<WarningExchange>(std::move(*ex), std::move(warnings));
  }
  if (r.group.empty() && r.kind == "Secret") MergeSecretStringData(obj);
  if (defaults) api::ApplyDefaults(*type, obj);
  return std::nullopt;
}

Result<json::object> ApiServerImpl::ReadObject(const ResourceInfo& r, const std::string& ns,
                                               const std::string& name) {
  auto kv = store_->Get(Key(r, ns, name));
  if (!kv.ok()) return kv.status();
  return Decode(*kv);
}

bool ApiServerImpl::PrepareUpdate(const Target& t, const json::object& old, json::object* obj,
                                  Exchange& ex) {
  const ResourceInfo& r = *t.resource;
  KeepStatusOnUpdate(r, old, obj);
  if (auto err = Admit(t, "UPDATE", &old, obj)) {
    ex.Respond(StatusResponse(*err));
    return false;
  }
  return Valid(r, *obj, &old, t.name, ex, t.events_v1);
}

std::optional<ApiError> ApiServerImpl::Admit(const Target& t, std::string_view operation,
                                             const json::object* old, json::object* obj) {
  const ResourceInfo& r = *t.resource;
  RequestAttributes a;
  if (t.attrs) {
    a = *t.attrs;
  } else {
    a.resource_request = true;
    a.api_group = r.group;
    a.api_version = r.version;
    a.resource = r.resource;
  }
  a.ns = t.ns;
  a.name = t.name;
  for (const auto& plugin : admission_) {
    if (auto err = plugin->Admit(AdmissionRequest{operation, a, old, obj})) {
      return ApiError{err->code, err->reason, err->message, std::move(err->details)};
    }
  }
  return std::nullopt;
}

void ApiServerImpl::Get(const HttpRequest& req, const Target& t, Exchange& ex) {
  auto r = store_->Get(Key(*t.resource, t.ns, t.name));
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kNotFound) {
      return ex.Respond(StatusResponse(NotFound(*t.resource, t.name)));
    }
    return ex.Respond(StatusResponse(FromStoreStatus(r.status())));
  }
  auto obj = Decode(*r);
  if (!obj.ok()) return ex.Respond(StatusResponse(FromStoreStatus(obj.status())));
  HttpResponse resp;
  if (WantsTable(req.Header("accept")) && HasPrinter(*t.resource)) {
    resp.body = json::serialize(ToTable(*t.resource, json::array{std::move(*obj)}, "", "",
                                        req.Query("includeObject"),
                                        std::chrono::system_clock::now()));
  } else {
    resp.body = json::serialize(*obj);
  }
  ex.Respond(std::move(resp));
}

void ApiServerImpl::List(const HttpRequest& req, const Target& t,
                         std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  auto opts = ParseListOptions(req);
  if (!opts.ok()) return ex->Respond(StatusResponse(BadRequest(opts.status().message())));
  if (auto errs = ValidateListOptions(*opts); !errs.empty()) {
    return ex->Respond(StatusResponse(InvalidListOptions(errs)));
  }
  auto q = std::make_shared<ListQuery>();
  q->target = t;
  q->prefix = CollectionPrefix(r, t.ns);
  q->limit = opts->limit;
  q->table = WantsTable(req.Header("accept")) && HasPrinter(r);
  q->include_object = std::string(req.Query("includeObject"));
  if (auto err = ParseSelection(req, r, &q->sel)) return ex->Respond(StatusResponse(*err));
  WatchCache* cache = CacheFor(r);
  if (!opts->continue_token.empty()) {
    // Pagination: `continue` carries the revision of the list's snapshot and the last key
    // returned; every page is read at that revision.
    if (!opts->resource_version.empty() && opts->resource_version != "0") {
      return ex->Respond(StatusResponse(
          BadRequest("specifying resource version is not allowed when using continue")));
    }
    auto tok = DecodeContinue(opts->continue_token);
    if (!tok.ok()) return ex->Respond(StatusResponse(BadRequest(tok.status().message())));
    q->after = tok->last_key;
    q->continued = true;
    std::shared_ptr<const ListQuery> cq = q;
    return Post([this, cq, rev = tok->revision, ex] { ListFromCache(cq, rev, ex); });
  }
  std::shared_ptr<const ListQuery> cq = q;
  if (cache == nullptr) return Post([this, cq, ex] { ListFromStore(cq, 0, ex); });
  ListRead read = ListReadOf(*opts);
  int64_t n = opts->revision;
  // The revision the cache must have reached: for a consistent read the store's current one
  // (upstream's consistent list from the watch cache), else the one asked for.
  int64_t min_revision = read == ListRead::kAny ? 0 : n;
  if (read == ListRead::kConsistent) {
    auto current = CurrentRevision(q->prefix);
    if (!current.ok()) return Post([this, cq, ex] { ListFromStore(cq, 0, ex); });
    min_revision = *current;
  }
  cache->WhenFresh(
      min_revision, std::chrono::steady_clock::now() + kFreshWait,
      [this, cq, ex, read, n](Result<int64_t> fresh) {
        if (!fresh.ok() && fresh.status().code() == StatusCode::kDeadlineExceeded &&
            (read == ListRead::kNotOlderThan || read == ListRead::kExact)) {
          return ex->Respond(StatusResponse(TooLargeResourceVersion(fresh.status().message())));
        }
        int64_t at = read == ListRead::kExact ? n : 0;
        if (!fresh.ok()) {
          // Not ready, or behind the store for longer than it should be: read the store.
          return Post([this, cq, at, ex] { ListFromStore(cq, at, ex); });
        }
        Post([this, cq, at, ex] { ListFromCache(cq, at, ex); });
      });
}

void ApiServerImpl::ListFromCache(std::shared_ptr<const ListQuery> q, int64_t revision,
                                  std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *q->target.resource;
  WatchCache* cache = CacheFor(r);
  if (cache == nullptr) return ListFromStore(q, revision, ex);
  CacheListRequest cr;
  cr.prefix = q->prefix;
  cr.after = q->after;
  cr.limit = q->limit;
  cr.revision = revision;
  cr.filter = q->sel.Filter();
  auto res = cache->List(cr);
  if (!res.ok()) return ListFromStore(q, revision, ex);  // a revision the cache does not hold
  std::string rv = std::to_string(res->revision);
  std::string continue_token;
  if (res->more && !res->items.empty()) {
    continue_token = EncodeContinue(res->revision, res->items.back()->key());
  }
  if (q->table) {
    json::array items;
    items.reserve(res->items.size());
    for (const auto& o : res->items) items.push_back(json::parse(o->json()));
    HttpResponse resp;
    resp.body = json::serialize(ToTable(r, items, rv, continue_token, q->include_object,
                                        std::chrono::system_clock::now()));
    return ex->Respond(std::move(resp));
  }
  std::string head = "{\"kind\":\"" + r.kind + "List\",\"apiVersion\":\"" + r.GroupVersion() +
                     "\",\"metadata\":{\"resourceVersion\":\"" + rv + "\"";
  if (!continue_token.empty()) {
    head += ",\"continue\":" + json::serialize(json::string(continue_token));
  }
  head += "},\"items\":[";
  if (q->limit > 0) {
    size_t size = head.size() + 2;
    for (const auto& o : res->items) size += o->json().size() + 1;
    HttpResponse resp;
    resp.body.reserve(size);
    resp.body = std::move(head);
    for (size_t i = 0; i < res->items.size(); ++i) {
      if (i > 0) resp.body += ',';
      resp.body += res->items[i]->json();
    }
    resp.body += "]}";
    return ex->Respond(std::move(resp));
  }
  // A whole collection: written in chunks, holding back while the client is slow rather than
  // copying it all at once.
  constexpr size_t kChunk = 256 * 1024;
  constexpr size_t kMaxBacklog = 2 << 20;
  ex->StartStream(200, kJson);
  std::string buf = std::move(head);
  for (size_t i = 0; i < res->items.size(); ++i) {
    if (i > 0) buf += ',';
    buf += res->items[i]->json();
    if (buf.size() >= kChunk) {
      while (ex->Backlog() > kMaxBacklog) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (!ex->Write(std::move(buf))) return;  // the client went away
      buf.clear();
      buf.reserve(kChunk + 4096);
    }
  }
  buf += "]}";
  ex->Write(std::move(buf));
  ex->EndStream();
}

void ApiServerImpl::ListFromStore(std::shared_ptr<const ListQuery> q, int64_t revision,
                                  std::shared_ptr<Exchange> exp) {
  Exchange& ex = *exp;
  const ResourceInfo& r = *q->target.resource;
  if (q->limit <= 0 && !q->continued && !q->table) {
    return StreamList(q->target, q->sel, q->prefix, revision, exp);
  }
  store::RangeRequest rr;
  rr.key = q->continued ? q->after + '\0' : q->prefix;
  rr.range_end = store::PrefixEnd(q->prefix);
  rr.revision = revision;
  if (q->limit > 0) rr.limit = q->limit;
  // Counting the rest of the collection on every page would make paging quadratic; the
  // remaining item count is optional and left out.
  rr.skip_count = true;
  auto res = store_->Range(rr);
  if (!res.ok()) {
    if (res.status().code() == StatusCode::kGone && q->continued) {
      return ex.Respond(StatusResponse(
          {410, "Expired",
           "The provided continue parameter is too old to display a consistent list result. "
           "You can start a new list without the continue parameter.",
           {}}));
    }
    return ex.Respond(StatusResponse(FromStoreStatus(res.status())));
  }
  json::array items;
  for (const auto& kv : res->kvs) {
    auto obj = Decode(kv);
    if (obj.ok() && q->sel.Matches(*obj)) items.push_back(std::move(*obj));
  }
  int64_t rev = rr.revision > 0 ? rr.revision : res->revision;
  std::string continue_token;
  if (res->more && !res->kvs.empty()) continue_token = EncodeContinue(rev, res->kvs.back().key);
  if (q->table) {
    HttpResponse resp;
    resp.body = json::serialize(ToTable(r, items, std::to_string(rev), continue_token,
                                        q->include_object, std::chrono::system_clock::now()));
    return ex.Respond(std::move(resp));
  }
  json::object list;
  list["kind"] = r.kind + "List";
  list["apiVersion"] = r.GroupVersion();
  json::object meta;
  meta["resourceVersion"] = std::to_string(rev);
  if (!continue_token.empty()) meta["continue"] = continue_token;
  list["metadata"] = std::move(meta);
  list["items"] = std::move(items);
  HttpResponse resp;
  resp.body = json::serialize(list);
  ex.Respond(std::move(resp));
}

void ApiServerImpl::StreamList(const Target& t, Selection sel, std::string prefix,
                               int64_t revision, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  constexpr int64_t kPage = 500;
  constexpr size_t kChunk = 256 * 1024;
  constexpr size_t kMaxBacklog = 8 << 20;
  store::RangeRequest rr;
  rr.key = prefix;
  rr.range_end = store::PrefixEnd(prefix);
  rr.limit = kPage;
  rr.revision = revision;
  rr.skip_count = true;
  auto res = store_->Range(rr);
  if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
  if (rr.revision <= 0) rr.revision = res->revision;  // every page from the same snapshot
  ex->StartStream(200, kJson);
  std::string buf = "{\"kind\":\"" + r.kind + "List\",\"apiVersion\":\"" + r.GroupVersion() +
                    "\",\"metadata\":{\"resourceVersion\":\"" + std::to_string(rr.revision) +
                    "\"},\"items\":[";
  bool first = true;
  while (true) {
    for (const auto& kv : res->kvs) {
      auto obj = Decode(kv);
      if (!obj.ok() || !sel.Matches(*obj)) continue;
      if (!first) buf += ',';
      first = false;
      buf += json::serialize(*obj);
      if (buf.size() >= kChunk) {
        // Hold back while the client is slow rather than buffering the whole list.
        while (ex->Backlog() > kMaxBacklog) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (!ex->Write(std::move(buf))) return;  // the client went away
        buf.clear();
      }
    }
    if (!res->more || res->kvs.empty()) break;
    rr.key = res->kvs.back().key + '\0';
    res = store_->Range(rr);
    if (!res.ok()) {
      // The status line is gone: end the stream short; the client sees a broken list.
      ex->EndStream();
      return;
    }
  }
  buf += "]}";
  ex->Write(std::move(buf));
  ex->EndStream();
}

void ApiServerImpl::Create(const HttpRequest& req, const Target& t,
                           std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  json::object obj;
  if (auto err = DecodeBody(req, t, &obj)) return ex->Respond(StatusResponse(*err));
  if (auto err = CheckAndDefault(req, r, &obj, &ex)) return ex->Respond(StatusResponse(*err));
  CreateObject(req, t, std::move(obj), std::move(ex), true);
}

bool ApiServerImpl::Valid(const ResourceInfo& r, const json::object& obj,
                          const json::object* old, std::string_view name, Exchange& ex,
                          bool events_v1) {
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
  if (type == nullptr) return true;
  auto causes = ValidateObject(r, *type, obj, old, events_v1);
  if (causes.empty()) return true;
  ex.Respond(StatusResponse(Invalid(r, name, causes)));
  return false;
}

void ApiServerImpl::CreateObject(const HttpRequest& req, const Target& t, json::object obj,
                                 std::shared_ptr<Exchange> ex, bool track_fields) {
  const ResourceInfo& r = *t.resource;
  auto& meta = obj["metadata"].as_object();
  std::string name;
  if (auto* n = meta.if_contains("name"); n && n->is_string()) name = std::string(n->as_string());
  std::string validation_generate_name;
  if (auto* gn = meta.if_contains("generateName"); gn && gn->is_string()) {
    validation_generate_name = std::string(gn->as_string());
  }
  if (name.empty()) {
    auto* gn = meta.if_contains("generateName");
    if (gn && gn->is_string() && !gn->as_string().empty()) {
      static const char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
      thread_local std::mt19937 rng{std::random_device{}()};
      name = std::string(gn->as_string());
      for (int i = 0; i < 5; ++i) name += kAlnum[rng() % (sizeof(kAlnum) - 1)];
      meta["name"] = name;
    } else {
      return ex->Respond(StatusResponse(
          Invalid(r, "", {{"metadata.name", "Required value: name or generateName is required"}})));
    }
  }
  auto causes = ValidateGenerateName(r, validation_generate_name);
  for (auto& c : ValidateName(r, name)) causes.push_back(std::move(c));
  if (!causes.empty()) return ex->Respond(StatusResponse(Invalid(r, name, causes)));
  Target named = t;
  named.name = name;
  named.subresource.clear();
  if (auto err = Admit(named, "CREATE", nullptr, &obj)) return ex->Respond(StatusResponse(*err));
  meta.erase("resourceVersion");
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = NowRfc3339();
  if (TracksGeneration(r)) {
    meta["generation"] = 1;
  } else if (auto* g = meta.if_contains("generation"); g && *g == 0) {
    meta.erase("generation");
  }
  if (r.kind == "Namespace") {
    auto& labels = meta["labels"];
    if (!labels.is_object()) labels = json::object();
    labels.as_object()["kubernetes.io/metadata.name"] = name;
    // The namespace controller's finalizer, which it clears once the content is gone.
    auto& spec = obj["spec"];
    if (!spec.is_object()) spec = json::object();
    auto& fins = spec.as_object()["finalizers"];
    if (!fins.is_array()) fins = json::array();
    if (std::find(fins.as_array().begin(), fins.as_array().end(), json::value("kubernetes")) ==
        fins.as_array().end()) {
      fins.as_array().push_back("kubernetes");
    }
  }
  PrepareStatusForCreate(r, &obj);
  if (r.group == "batch" && r.kind == "Job") GenerateJobSelector(obj);
  if (!Valid(r, obj, nullptr, name, *ex, t.events_v1)) return;
  if (track_fields) {
    if (const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind)) {
      TrackUpdate(*type, nullptr, &obj, Manager(req, r));
    }
  }
  if (req.Query("dryRun") == "All") {
    HttpResponse resp;
    resp.status = 201;
    resp.body = json::serialize(obj);
    return ex->Respond(std::move(resp));
  }
  std::string key = Key(r, t.ns, name);
  if (r.kind == "Service") return CreateService(std::move(obj), t.ns, name, ex);
  std::string value = json::serialize(obj);
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                       store::Compare::Target::kCreate, key, "", 0, ""});
  txn.success.push_back(store::RequestOp{store::PutRequest{key, value}});
  store_->TxnAsync(std::move(txn), [ex, obj = std::move(obj), r = &r,
                                    name](Result<store::TxnResponse> res) mutable {
    if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
    if (!res->succeeded) return ex->Respond(StatusResponse(AlreadyExists(*r, name)));
    obj["metadata"].as_object()["resourceVersion"] = std::to_string(res->revision);
    HttpResponse resp;
    resp.status = 201;
    resp.body = json::serialize(obj);
    ex->Respond(std::move(resp));
  });
}

void ApiServerImpl::CreateService(json::object obj, const std::string& ns,
                                  const std::string& name, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *registry_.Find("", "v1", "services");
  std::string key = Key(r, ns, name);
  // A concurrent create may claim an address between our look and our write: try again with
  // fresh allocations a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    json::object candidate = obj;
    store::TxnRequest txn;
    txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                         store::Compare::Target::kCreate, key, "", 0, ""});
    auto errs = alloc_.AllocateForCreate(&candidate, ns + "/" + name, &txn);
    if (!errs.empty()) {
      std::vector<std::pair<std::string, std::string>> causes;
      for (auto& e : errs) causes.emplace_back(e.field, e.message);
      return ex->Respond(StatusResponse(Invalid(r, name, causes)));
    }
    txn.success.push_back(store::RequestOp{store::PutRequest{key, json::serialize(candidate)}});
    auto res = store_->Txn(std::move(txn));
    if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
    if (res->succeeded) {
      candidate["metadata"].as_object()["resourceVersion"] = std::to_string(res->revision);
      HttpResponse resp;
      resp.status = 201;
      resp.body = json::serialize(candidate);
      return ex->Respond(std::move(resp));
    }
    auto existing = store_->Get(key);
    if (existing.ok()) return ex->Respond(StatusResponse(AlreadyExists(r, name)));
  }
  ex->Respond(StatusResponse(
      {409, "Conflict", "failed to allocate an address for the service; try again", {}}));
}

void ApiServerImpl::Update(const HttpRequest& req, const Target& t,
                           std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  json::object obj;
  if (auto err = DecodeBody(req, t, &obj)) return ex->Respond(StatusResponse(*err));
  if (auto err = CheckAndDefault(req, r, &obj, &ex)) return ex->Respond(StatusResponse(*err));
  auto& meta = obj["metadata"].as_object();
  auto* n = meta.if_contains("name");
  if (n == nullptr || !n->is_string() || n->as_string() != t.name) {
    return ex->Respond(StatusResponse(
        BadRequest("the name of the object (" +
                   (n && n->is_string() ? std::string(n->as_string()) : std::string()) +
                   ") does not match the name on the URL (" + t.name + ")")));
  }
  std::string key = Key(r, t.ns, t.name);
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto old = Decode(*cur);
  int64_t expect = cur->mod_revision;
  if (auto* rv = meta.if_contains("resourceVersion"); rv && rv->is_string() &&
                                                     !rv->as_string().empty()) {
    try {
      expect = std::stoll(std::string(rv->as_string()));
    } catch (...) {
      return ex->Respond(StatusResponse(
          Invalid(r, t.name, {{"metadata.resourceVersion", "Invalid value: must be a number"}})));
    }
    if (expect != cur->mod_revision) return ex->Respond(StatusResponse(Conflict(r, t.name)));
  }
  if (!PrepareUpdate(t, *old, &obj, *ex)) return;
  if (const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind)) {
    TrackUpdate(*type, &*old, &obj, Manager(req, r));
  }
  WriteUpdate(t, *old, std::move(obj), expect, ex, [ex, r = &r, name = t.name] {
    ex->Respond(StatusResponse(Conflict(*r, name)));
  });
}

void ApiServerImpl::WriteUpdate(const Target& t, const json::object& old, json::object obj,
                                int64_t expect, std::shared_ptr<Exchange> ex,
                                std::function<void()> on_conflict) {
  const ResourceInfo& r = *t.resource;
  store::TxnRequest txn;
  if (r.kind == "Service") {
    auto errs = alloc_.CheckUpdate(old, &obj, t.ns + "/" + t.name, &txn);
    if (!errs.empty()) {
      std::vector<std::pair<std::string, std::string>> causes;
      for (auto& e : errs) causes.emplace_back(e.field, e.message);
      return ex->Respond(StatusResponse(Invalid(r, t.name, causes)));
    }
  }
  auto& meta = obj["metadata"].as_object();
  const auto& old_meta = old.at("metadata").as_object();
  // Fields the server owns carry over from the stored object.
  for (const char* f : {"uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation"}) {
    if (auto* v = old_meta.if_contains(f)) {
      meta[f] = *v;
    } else {
      meta.erase(f);
    }
  }
  // A change of the spec is a new generation.
  if (auto* g = meta.if_contains("generation"); g && g->is_int64() && TracksGeneration(r)) {
    const json::value* old_spec = old.if_contains("spec");
    const json::value* new_spec = obj.if_contains("spec");
    bool changed = (old_spec == nullptr) != (new_spec == nullptr) ||
                   (old_spec && *old_spec != *new_spec);
    if (changed) meta["generation"] = g->as_int64() + 1;
  }
  meta.erase("resourceVersion");
  std::string key = Key(r, t.ns, t.name);
  // An object being deleted goes away once its last finalizer is removed.
  bool finalized = meta.contains("deletionTimestamp") && Finalizers(obj).empty();
  if (finalized) txn = store::TxnRequest();  // nothing to claim for an object that goes
  txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                       store::Compare::Target::kMod, key, "", expect, ""});
  if (finalized) {
    txn.success.push_back(store::RequestOp{store::DeleteRangeRequest{key, "", false}});
    if (r.kind == "Service") alloc_.Release(old, &txn);
  } else {
    txn.success.push_back(store::RequestOp{store::PutRequest{key, json::serialize(obj)}});
  }
  if (t.dry_run) {
    // What the write would store, at the revision it was computed from; nothing is written.
    if (const auto* rv = old.at("metadata").as_object().if_contains("resourceVersion")) {
      meta["resourceVersion"] = *rv;
    }
    HttpResponse resp;
    resp.body = json::serialize(obj);
    return ex->Respond(std::move(resp));
  }
  store_->TxnAsync(std::move(txn), [ex, obj = std::move(obj), on_conflict = std::move(on_conflict)](
                                       Result<store::TxnResponse> res) mutable {
    if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
    if (!res->succeeded) return on_conflict();
    obj["metadata"].as_object()["resourceVersion"] = std::to_string(res->revision);
    HttpResponse resp;
    resp.body = json::serialize(obj);
    ex->Respond(std::move(resp));
  });
}

// Upstream's checks of DeleteOptions (from the body or the query): a known propagation
// policy, not together with orphanDependents, and dry runs of "All" only.
std::optional<ApiError> DeleteOptionsError(const HttpRequest& req, const json::object& opts) {
  static const ResourceInfo kDeleteOptions = OptionsKind("DeleteOptions");
  std::optional<std::string> policy;
  if (const auto* p = opts.if_contains("propagationPolicy"); p && p->is_string()) {
    policy = std::string(p->as_string());
  }
  if (req.HasQuery("propagationPolicy")) policy = std::string(req.Query("propagationPolicy"));
  bool orphan = (opts.contains("orphanDependents") && !opts.at("orphanDependents").is_null()) ||
                req.HasQuery("orphanDependents");
  std::vector<std::string> dry_run;
  if (const auto* d = opts.if_contains("dryRun"); d && d->is_array()) {
    for (const auto& v : d->as_array()) {
      dry_run.push_back(v.is_string() ? std::string(v.as_string()) : json::serialize(v));
    }
  }
  for (const auto& [k, v] : req.query) {
    if (k == "dryRun") dry_run.push_back(v);
  }
  std::vector<std::pair<std::string, std::string>> causes;
  if (policy && orphan) {
    causes.emplace_back("propagationPolicy",
                        "Invalid value: " + api::GoQuote(*policy) +
                            ": orphanDependents and deletionPropagation cannot be both set");
  }
  if (policy && *policy != "Foreground" && *policy != "Background" && *policy != "Orphan") {
    causes.emplace_back("propagationPolicy",
                        "Unsupported value: " + api::GoQuote(*policy) +
                            ": supported values: \"Foreground\", \"Background\", \"Orphan\", "
                            "\"nil\"");
  }
  if (auto cause = UnsupportedDryRun(dry_run)) causes.push_back(std::move(*cause));
  if (causes.empty()) return std::nullopt;
  return Invalid(kDeleteOptions, "", causes);
}

void ApiServerImpl::Delete(std::shared_ptr<const HttpRequest> req, Target t,
                           std::shared_ptr<Exchange> ex, int attempt) {
  const ResourceInfo& r = *t.resource;
  // DeleteOptions come in the body and/or the query.
  json::object opts;
  std::string_view ct = req->Header("content-type");
  if (!req->body.empty() && ct.substr(0, ct.find(';')) == api::kProtobufContentType) {
    auto decoded = api::DecodeKubernetesProtobuf(req->body);
    if (!decoded.ok()) {
      return ex->Respond(StatusResponse(BadRequest("the body of a delete must be DeleteOptions: " +
                                                   decoded.status().message())));
    }
    opts = std::move(*decoded);
  } else if (!req->body.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(req->body, ec);
    if (ec || !v.is_object()) {
      return ex->Respond(StatusResponse(BadRequest("the body of a delete must be DeleteOptions")));
    }
    opts = std::move(v.as_object());
  }
  std::optional<int64_t> grace;
  if (auto* g = opts.if_contains("gracePeriodSeconds"); g && g->is_int64()) grace = g->as_int64();
  if (auto q = req->Query("gracePeriodSeconds"); !q.empty()) {
    try {
      grace = std::stoll(std::string(q));
    } catch (...) {
      return ex->Respond(StatusResponse(BadRequest("invalid gracePeriodSeconds: " + std::string(q))));
    }
  }
  if (auto err = DeleteOptionsError(*req, opts)) return ex->Respond(StatusResponse(*err));
  std::string key = Key(r, t.ns, t.name);
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto obj = Decode(*cur);
  if (auto err = Admit(t, "DELETE", &*obj, nullptr)) return ex->Respond(StatusResponse(*err));
  auto& meta = (*obj)["metadata"].as_object();
  if (auto* pre = opts.if_contains("preconditions"); pre && pre->is_object()) {
    auto check = [&](const char* field, const char* what) -> std::optional<ApiError> {
      auto* want = pre->as_object().if_contains(field);
      if (want == nullptr || !want->is_string()) return std::nullopt;
      auto* have = meta.if_contains(field);
      std::string h = have && have->is_string() ? std::string(have->as_string()) : "";
      if (want->as_string() == h) return std::nullopt;
      return ApiError{409, "Conflict",
                      std::string("Precondition failed: ") + what + " in precondition: " +
                          std::string(want->as_string()) + ", " + what + " in object meta: " + h,
                      Details(r, t.name)};
    };
    if (auto e = check("uid", "UID")) return ex->Respond(StatusResponse(*e));
    if (auto e = check("resourceVersion", "ResourceVersion")) return ex->Respond(StatusResponse(*e));
  }
  auto respond_object = [ex](json::object o) {
    HttpResponse resp;
    resp.body = json::serialize(o);
    ex->Respond(std::move(resp));
  };
  if (meta.contains("deletionTimestamp") && !(grace && *grace == 0 && r.kind == "Pod")) {
    return respond_object(std::move(*obj));  // deletion already under way
  }
  // Graceful deletion: a pod on a node is marked and its kubelet finishes the deletion once
  // the containers have stopped (or anyone deletes it again with a grace period of 0).
  int64_t pod_grace = 0;
  if (r.kind == "Pod" && !FieldText(*obj, "spec.nodeName").empty()) {
    pod_grace = 30;
    if (auto* tg = obj->if_contains("spec"); tg && tg->is_object()) {
      if (auto* v = tg->as_object().if_contains("terminationGracePeriodSeconds");
          v && v->is_int64()) {
        pod_grace = v->as_int64();
      }
    }
    if (grace) pod_grace = *grace;
  }
  bool mark = !Finalizers(*obj).empty() || pod_grace > 0;
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                       store::Compare::Target::kMod, key, "", cur->mod_revision,
                                       ""});
  if (mark) {
    meta["deletionTimestamp"] = RfcTime(std::chrono::system_clock::now() +
                                        std::chrono::seconds(pod_grace));
    meta["deletionGracePeriodSeconds"] = pod_grace;
    if (r.kind == "Namespace") {
      auto& status = (*obj)["status"];
      if (!status.is_object()) status = json::object();
      status.as_object()["phase"] = "Terminating";
    }
    json::object stored = *obj;
    stored["metadata"].as_object().erase("resourceVersion");
    txn.success.push_back(store::RequestOp{store::PutRequest{key, json::serialize(stored)}});
  } else {
    txn.success.push_back(store::RequestOp{store::DeleteRangeRequest{key, "", false}});
    if (r.kind == "Service") alloc_.Release(*obj, &txn);
    if (r.kind == "Namespace") {
      // Until the namespace controller runs, the namespace's contents go with it, in the same
      // transaction, so that nothing is left behind to reappear in a namespace of that name.
      // Its Services' addresses and node ports are freed with them.
      const ResourceInfo* svcs = registry_.Find("", "v1", "services");
      std::string svc_prefix = svcs->StoragePrefix() + t.name + "/";
      store::RangeRequest in_ns;
      in_ns.key = svc_prefix;
      in_ns.range_end = store::PrefixEnd(svc_prefix);
      if (auto list = store_->Range(in_ns); list.ok()) {
        for (const auto& kv : list->kvs) {
          if (auto svc = Decode(kv); svc.ok()) alloc_.Release(*svc, &txn);
        }
      }
      for (const auto& res : registry_.all()) {
        if (!res.namespaced || !res.stored) continue;
        std::string prefix = res.StoragePrefix() + t.name + "/";
        txn.success.push_back(store::RequestOp{
            store::DeleteRangeRequest{prefix, store::PrefixEnd(prefix), false}});
      }
    }
  }
  // A dry run answers what the delete would answer, and writes nothing.
  bool dry_run = req->Query("dryRun") == "All";
  if (const auto* d = opts.if_contains("dryRun"); d && d->is_array()) {
    for (const auto& v : d->as_array()) dry_run = dry_run || v == "All";
  }
  if (dry_run) return respond_object(std::move(*obj));
  store_->TxnAsync(std::move(txn), [this, req, t, ex, attempt, mark, obj = std::move(*obj),
                                    respond_object](Result<store::TxnResponse> res) mutable {
    if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
    if (!res->succeeded) {
      if (attempt < 5) return Delete(req, t, ex, attempt + 1);
      return ex->Respond(StatusResponse(Conflict(*t.resource, t.name)));
    }
    if (mark) obj["metadata"].as_object()["resourceVersion"] = std::to_string(res->revision);
    respond_object(std::move(obj));
  });
}

// An Exchange that keeps the one response it is given, for requests the server makes to
// itself.
class CapturingExchange final : public Exchange {
 public:
  void Respond(HttpResponse response) override {
    std::lock_guard l(mu_);
    response_ = std::move(response);
    cv_.notify_all();
  }
  void StartStream(int, std::string) override {}
  bool Write(std::string) override { return false; }
  void EndStream() override {}
  size_t Backlog() const override { return 0; }
  void OnClose(std::function<void()>) override {}
  HttpResponse Wait() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return response_.has_value(); });
    return std::move(*response_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<HttpResponse> response_;
};

void ApiServerImpl::DeleteCollection(std::shared_ptr<const HttpRequest> req, Target t,
                                     std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  if (std::find(r.verbs.begin(), r.verbs.end(), "deletecollection") == r.verbs.end()) {
    return ex->Respond(StatusResponse(
        {405, "MethodNotAllowed",
         "the server does not allow this method on the requested resource", {}}));
  }
  Selection sel;
  if (auto err = ParseSelection(*req, r, &sel)) return ex->Respond(StatusResponse(*err));
  std::string prefix = CollectionPrefix(r, t.ns);
  store::RangeRequest rr;
  rr.key = prefix;
  rr.range_end = store::PrefixEnd(prefix);
  auto res = store_->Range(rr);
  if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
  json::array deleted;
  for (const auto& kv : res->kvs) {
    auto obj = Decode(kv);
    if (!obj.ok() || !sel.Matches(*obj)) continue;
    Target item = t;
    item.name = FieldText(*obj, "metadata.name");
    item.ns = FieldText(*obj, "metadata.namespace");
    auto capture = std::make_shared<CapturingExchange>();
    Delete(req, item, capture, 0);
    HttpResponse one = capture->Wait();
    if (one.status == 404) continue;  // gone meanwhile
    if (one.status != 200) return ex->Respond(std::move(one));
    boost::system::error_code ec;
    json::value v = json::parse(one.body, ec);
    if (!ec) deleted.push_back(std::move(v));
  }
  json::object list;
  list["kind"] = r.kind + "List";
  list["apiVersion"] = r.GroupVersion();
  json::object meta;
  meta["resourceVersion"] = std::to_string(res->revision);
  list["metadata"] = std::move(meta);
  list["items"] = std::move(deleted);
  HttpResponse resp;
  resp.body = json::serialize(list);
  ex->Respond(std::move(resp));
}

void ApiServerImpl::Patch(std::shared_ptr<const HttpRequest> req, Target t,
                          std::shared_ptr<Exchange> ex, int attempt) {
  const ResourceInfo& r = *t.resource;
  std::string_view ct = req->Header("content-type");
  if (ct.substr(0, ct.find(';')) == "application/apply-patch+yaml") {
    return Apply(std::move(req), std::move(t), std::move(ex), attempt);
  }
  auto type = PatchTypeOf(ct);
  if (!type.ok()) {
    return ex->Respond(StatusResponse({415, "UnsupportedMediaType", type.status().message(), {}}));
  }
  std::string key = Key(r, t.ns, t.name);
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto old = Decode(*cur);
  json::value doc = *old;
  const api::TypeDecl* schema = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
  if (auto err = PatchDecodeError(*type, req->body)) return ex->Respond(StatusResponse(*err));
  if (Status st = ApplyPatch(*type, req->body, schema, &doc); !st.ok()) {
    return ex->Respond(StatusResponse({422, "Invalid", st.message(), {}}));
  }
  if (!doc.is_object() || !doc.as_object()["metadata"].is_object()) {
    return ex->Respond(StatusResponse(BadRequest("the patched object is not a valid object")));
  }
  auto& obj = doc.as_object();
  if (auto err = CheckAndDefault(*req, r, &obj, &ex)) return ex->Respond(StatusResponse(*err));
  if (!obj["metadata"].is_object()) obj["metadata"] = json::object();
  auto& meta = obj["metadata"].as_object();
  auto& old_meta = (*old)["metadata"].as_object();
  for (const char* f : {"apiVersion", "kind"}) {
    if (obj[f] != (*old)[f]) {
      return ex->Respond(StatusResponse(BadRequest(std::string("a patch cannot change ") + f)));
    }
  }
  for (const char* f : {"name", "namespace", "uid"}) {
    auto* a = meta.if_contains(f);
    auto* b = old_meta.if_contains(f);
    // A patch that drops the uid keeps the stored one.
    if (std::string_view(f) == "uid" && (a == nullptr || *a == "")) continue;
    if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) {
      std::string now = a != nullptr && a->is_string() ? std::string(a->as_string()) : "";
      return ex->Respond(StatusResponse(
          Invalid(r, t.name, {{std::string("metadata.") + f,
                               "Invalid value: " + api::GoQuote(now) + ": field is immutable"}})));
    }
  }
  // A resourceVersion in the patch is a precondition.
  if (auto* rv = meta.if_contains("resourceVersion"); rv && *rv != old_meta["resourceVersion"]) {
    return ex->Respond(StatusResponse(Conflict(r, t.name)));
  }
  if (!PrepareUpdate(t, *old, &obj, *ex)) return;
  if (schema != nullptr) TrackUpdate(*schema, &*old, &obj, Manager(*req, r));
  WriteUpdate(t, *old, std::move(obj), cur->mod_revision, ex, [this, req, t, ex, attempt] {
    // Someone wrote in between: patch the new version, as upstream does.
    if (attempt < 5) return Patch(req, t, ex, attempt + 1);
    ex->Respond(StatusResponse(Conflict(*t.resource, t.name)));
  });
}

void ApiServerImpl::Apply(std::shared_ptr<const HttpRequest> req, Target t,
                          std::shared_ptr<Exchange> ex, int attempt) {
  const ResourceInfo& r = *t.resource;
  const api::TypeDecl* type = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
  if (type == nullptr) {
    return ex->Respond(StatusResponse(
        {415, "UnsupportedMediaType", "apply is not supported for " + r.resource, {}}));
  }
  if (req->Query("fieldManager").empty()) {
    return ex->Respond(StatusResponse(
        BadRequest("PATCH requests with the apply content type must set a fieldManager")));
  }
  // The body is YAML (JSON being YAML too); JSON is read directly.
  boost::system::error_code ec;
  json::value body = json::parse(req->body, ec);
  if (ec) {
    auto y = api::YamlToJson(req->body);
    if (!y.ok()) return ex->Respond(StatusResponse(BadRequest(y.status().message())));
    body = std::move(*y);
  }
  if (!body.is_object()) {
    return ex->Respond(StatusResponse(BadRequest("the apply configuration must be an object")));
  }
  json::object config = std::move(body.as_object());
  // The main resource's status belongs to the status subresource: not applied, not owned.
  if (HasStatusSubresource(r)) config.erase("status");
  const auto* av = config.if_contains("apiVersion");
  const auto* kind = config.if_contains("kind");
  if (!av || *av != json::value(r.GroupVersion()) || !kind || *kind != json::value(r.kind)) {
    return ex->Respond(StatusResponse(BadRequest(
        "the apply configuration must have apiVersion " + r.GroupVersion() + " and kind " +
        r.kind)));
  }
  auto& meta = config["metadata"];
  if (!meta.is_object()) meta = json::object();
  auto& m = meta.as_object();
  if (const auto* n = m.if_contains("name"); n && *n != json::value(t.name)) {
    return ex->Respond(StatusResponse(
        BadRequest("the name of the object (" + json::serialize(*n) +
                   ") does not match the name on the URL (" + t.name + ")")));
  }
  m["name"] = t.name;
  if (r.namespaced) m["namespace"] = t.ns;
  if (auto err = CheckAndDefault(*req, r, &config, &ex, /*defaults=*/false)) {
    return ex->Respond(StatusResponse(*err));
  }
  ManagerInfo who = Manager(*req, r);
  bool force = IsTrue(req->Query("force"));
  auto cur = store_->Get(Key(r, t.ns, t.name));
  std::vector<ApplyConflict> conflicts;
  if (!cur.ok() && cur.status().code() == StatusCode::kNotFound) {
    json::object obj = ServerSideApply(*type, nullptr, config, who, force, &conflicts);
    api::ApplyDefaults(*type, &obj);
    if (r.group.empty() && r.kind == "Secret") MergeSecretStringData(&obj);
    return CreateObject(*req, t, std::move(obj), std::move(ex), /*track_fields=*/false);
  }
  if (!cur.ok()) return ex->Respond(StatusResponse(FromStoreStatus(cur.status())));
  auto old = Decode(*cur);
  if (!old.ok()) return ex->Respond(StatusResponse(FromStoreStatus(old.status())));
  json::object obj = ServerSideApply(*type, &*old, config, who, force, &conflicts);
  if (!conflicts.empty()) {
    ApiError e{409, "Conflict", "", {}};
    e.message = "Apply failed with " + std::to_string(conflicts.size()) +
                (conflicts.size() == 1 ? " conflict: " : " conflicts: ");
    json::array causes;
    for (size_t i = 0; i < conflicts.size(); ++i) {
      std::string text = "conflict with \"" + conflicts[i].manager + "\" using " +
                         r.GroupVersion();
      e.message += (i ? ", " : "") + text + ": " + conflicts[i].field;
      causes.push_back(json::object{{"reason", "FieldManagerConflict"},
                                    {"message", text},
                                    {"field", conflicts[i].field}});
    }
    e.details = Details(r, t.name);
    e.details["causes"] = std::move(causes);
    return ex->Respond(StatusResponse(e));
  }
  api::ApplyDefaults(*type, &obj);
  if (r.group.empty() && r.kind == "Secret") MergeSecretStringData(&obj);
  if (!PrepareUpdate(t, *old, &obj, *ex)) return;
  WriteUpdate(t, *old, std::move(obj), cur->mod_revision, ex, [this, req, t, ex, attempt] {
    if (attempt < 5) return Apply(req, t, ex, attempt + 1);
    ex->Respond(StatusResponse(Conflict(*t.resource, t.name)));
  });
}

// --- watch ------------------------------------------------------------------------------------

void ApiServerImpl::Watch(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  auto opts = ParseListOptions(req);
  if (!opts.ok()) return ex->Respond(StatusResponse(BadRequest(opts.status().message())));
  if (auto errs = ValidateListOptions(*opts); !errs.empty()) {
    return ex->Respond(StatusResponse(InvalidListOptions(errs)));
  }
  Selection sel;
  if (auto err = ParseSelection(req, r, &sel)) return ex->Respond(StatusResponse(*err));
  WatchCache* cache = CacheFor(r);
  if (cache == nullptr) return ex->Respond(StatusResponse(Initializing()));
  CacheWatchRequest wr;
  wr.prefix = CollectionPrefix(r, t.ns);
  wr.filter = sel.Filter();
  // Without sendInitialEvents, "" and "0" start with the current state as ADDED events and
  // N with the changes after N. sendInitialEvents=true starts with the state at least as new
  // as N (the latest for "", any for "0") and marks its end with a bookmark.
  wr.initial_events = opts->send_initial_events.value_or(opts->revision == 0);
  wr.resource_version = opts->revision;
  wr.bookmarks = opts->allow_bookmarks;
  wr.initial_events_end = opts->send_initial_events.value_or(false) && opts->allow_bookmarks;
  wr.deadline = std::chrono::steady_clock::now() +
                std::chrono::seconds(opts->timeout_seconds.value_or(1800));
  bool must_reach = wr.initial_events && opts->revision > 0;
  int64_t min_revision = must_reach ? opts->revision : 0;
  if (opts->resource_version.empty()) {  // from the latest state
    auto current = CurrentRevision(wr.prefix);
    if (!current.ok()) return ex->Respond(StatusResponse(FromStoreStatus(current.status())));
    min_revision = *current;
  }
  bool as_table = WantsTable(req.Header("accept")) && HasPrinter(r);
  auto sink = std::make_shared<ExchangeWatchSink>(&r, ex, as_table,
                                                  std::string(req.Query("includeObject")));
  cache->WhenFresh(
      min_revision, std::chrono::steady_clock::now() + kFreshWait,
      [cache, wr = std::move(wr), sink, ex, must_reach](Result<int64_t> fresh) mutable {
        if (!fresh.ok()) {
          if (fresh.status().code() == StatusCode::kUnavailable) {
            return ex->Respond(StatusResponse(Initializing()));
          }
          if (must_reach) {
            return ex->Respond(
                StatusResponse(TooLargeResourceVersion(fresh.status().message())));
          }
          // Consistent start, but the cache lags: start from what it has.
        }
        // No resourceVersion and no initial events: the changes from now on.
        if (!wr.initial_events && wr.resource_version == 0 && fresh.ok()) {
          wr.resource_version = *fresh;
        }
        ex->StartStream(200, kJson);
        auto w = cache->Watch(std::move(wr), sink);
        if (!w.ok()) {
          ApiError e = w.status().code() == StatusCode::kGone
                           ? ApiError{410, "Expired", w.status().message(), {}}
                           : Initializing();
          ex->Write(ErrorEvent(e));
          return ex->EndStream();
        }
        std::shared_ptr<CacheWatch> handle = std::move(*w);
        ex->OnClose([handle] { handle->Stop(); });
      });
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::Create(store::Store* store,
                                                     ApiServerOptions options) {
  if (store == nullptr) return InvalidArgumentError("api server needs a store");
  if (options.authenticator == nullptr) options.authenticator = AnonymousAuthenticator();
  if (options.authorizer == nullptr) options.authorizer = AlwaysAllowAuthorizer();
  ServiceAllocOptions ao;
  ao.service_cidr = options.service_cidr;
  auto alloc = ServiceAllocator::Create(store, ao);
  if (!alloc.ok()) return alloc.status();
  if (options.token_signer == nullptr) {
    auto signer = TokenSigner::Ephemeral();
    if (!signer.ok()) return signer.status();
    options.token_signer = std::move(*signer);
  }
  return std::unique_ptr<ApiServer>(
      std::make_unique<ApiServerImpl>(store, std::move(options), std::move(*alloc)));
}

}  // namespace keelson::apiserver
