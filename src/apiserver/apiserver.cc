#include "apiserver/apiserver.h"

#include <boost/json.hpp>

#include <atomic>
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
#include "apiserver/metrics.h"
#include "apiserver/negotiation.h"
#include "apiserver/openapi.h"
#include "apiserver/patch.h"
#include "apiserver/service_alloc.h"
#include "apiserver/table.h"

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

bool IsTrue(std::string_view v) { return v == "true" || v == "1"; }

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
    c["reason"] = "FieldValueInvalid";
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

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

bool IsDns1123Label(std::string_view s) {
  return s.size() <= 63 && IsDns1123Subdomain(s) && s.find('.') == std::string_view::npos;
}

// A Job without spec.manualSelector gets upstream's generated selector: its pods carry the
// job's name and uid as labels, and the selector matches the uid.
void GenerateJobSelector(json::object& job) {
  auto object_at = [](json::value& v) -> json::object& {
    if (!v.is_object()) v = json::object();
    return v.as_object();
  };
  json::object& spec = object_at(job["spec"]);
  auto manual = spec.if_contains("manualSelector");
  if (manual && manual->is_bool() && manual->as_bool()) return;
  const json::object& meta = job["metadata"].as_object();
  json::value name = meta.at("name"), uid = meta.at("uid");
  json::object& labels = object_at(object_at(object_at(spec["template"])["metadata"])["labels"]);
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

// --- the request, resolved -------------------------------------------------------------------

struct Target {
  const ResourceInfo* resource = nullptr;
  std::string ns;
  std::string name;
  std::string subresource;
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

// The value of a dotted field path in an object as a field selector sees it ("" if absent).
std::string FieldValue(const json::object& obj, std::string_view path) {
  const json::value* cur = nullptr;
  const json::object* o = &obj;
  while (true) {
    auto dot = path.find('.');
    auto part = path.substr(0, dot);
    cur = o->if_contains(part);
    if (cur == nullptr) return "";
    if (dot == std::string_view::npos) break;
    if (!cur->is_object()) return "";
    o = &cur->as_object();
    path.remove_prefix(dot + 1);
  }
  if (cur->is_string()) return std::string(cur->as_string());
  if (cur->is_bool()) return cur->as_bool() ? "true" : "false";
  if (cur->is_int64()) return std::to_string(cur->as_int64());
  if (cur->is_uint64()) return std::to_string(cur->as_uint64());
  return "";
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
    for (const auto& p : field_paths) fs.emplace(p, FieldValue(obj, p));
    return fields.Matches(fs);
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
  out->field_paths.assign(supported.begin(), supported.end());
  return std::nullopt;
}

// --- metrics ----------------------------------------------------------------------------------

// Records a request's code and duration when it is answered (for a streamed answer, when the
// stream ends), then passes everything through.
class ObservingExchange final : public Exchange {
 public:
  ObservingExchange(std::shared_ptr<Exchange> inner, RequestMetrics* metrics, RequestLabels labels)
      : inner_(std::move(inner)), metrics_(metrics), labels_(std::move(labels)),
        start_(std::chrono::steady_clock::now()) {}

  void Respond(HttpResponse response) override {
    Record(response.status);
    inner_->Respond(std::move(response));
  }
  void StartStream(int status, std::string content_type) override {
    status_ = status;
    inner_->StartStream(status, std::move(content_type));
  }
  bool Write(std::string data) override { return inner_->Write(std::move(data)); }
  void EndStream() override {
    Record(status_);
    inner_->EndStream();
  }
  size_t Backlog() const override { return inner_->Backlog(); }
  void OnClose(std::function<void()> fn) override { inner_->OnClose(std::move(fn)); }

 private:
  void Record(int code) {
    if (recorded_.exchange(true)) return;
    metrics_->Observe(labels_, code, std::chrono::steady_clock::now() - start_);
  }

  std::shared_ptr<Exchange> inner_;
  RequestMetrics* metrics_;
  RequestLabels labels_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int> status_{200};
  std::atomic<bool> recorded_{false};
};

// --- watch ------------------------------------------------------------------------------------

class ApiServerImpl;

// One watch request: a store watch stream turned into Kubernetes watch events on a chunked
// response. Pumped by the server's watch workers when the store says there is something.
class WatchPump : public std::enable_shared_from_this<WatchPump> {
 public:
  WatchPump(ApiServerImpl* server, const ResourceInfo* r, std::unique_ptr<store::WatchStream> s,
            std::shared_ptr<Exchange> ex, std::chrono::steady_clock::time_point deadline,
            Selection selection, bool as_table, std::string include_object)
      : server_(server), resource_(r), stream_(std::move(s)), ex_(std::move(ex)),
        deadline_(deadline), selection_(std::move(selection)), as_table_(as_table),
        include_object_(std::move(include_object)) {}

  // The object of a watch event as this watch sends it: the object, or a one-row Table.
  json::value Render(json::object obj) const {
    if (!as_table_) return obj;
    return ToTable(*resource_, json::array{std::move(obj)}, "", "", include_object_,
                   std::chrono::system_clock::now());
  }

  void Start();
  void Pump();  // on a watch worker
  bool Expired(std::chrono::steady_clock::time_point now) const { return now >= deadline_; }
  void Stop();

 private:
  ApiServerImpl* server_;
  const ResourceInfo* resource_;
  std::unique_ptr<store::WatchStream> stream_;
  std::shared_ptr<Exchange> ex_;
  std::chrono::steady_clock::time_point deadline_;
  Selection selection_;
  bool as_table_;
  std::string include_object_;
  std::mutex mu_;  // one pump at a time
  std::atomic<bool> done_{false};
};

// --- the server -------------------------------------------------------------------------------

class ApiServerImpl final : public ApiServer {
 public:
  ApiServerImpl(Store* store, ApiServerOptions opts, ServiceAllocator alloc)
      : store_(store), opts_(std::move(opts)), registry_(ResourceRegistry::BuiltIn()),
        openapi_(registry_, opts_.git_version),
        alloc_(std::move(alloc)) {
    for (int i = 0; i < 2; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    timer_ = std::thread([this] { TimerLoop(); });
  }
  ~ApiServerImpl() override { Shutdown(); }

  Status Bootstrap() override;
  // The stored object `t` names, or nullopt after answering NotFound or the store's error
  // (a value that does not decode counts as the latter).
  std::optional<store::KeyValue> ReadCurrent(const Target& t, Exchange& ex);
  // Writes `obj` at `key` unless something is there already.
  Status CreateIfMissing(const std::string& key, const json::object& obj);
  void Shutdown() override;
  void Serve(HttpRequest req, std::shared_ptr<Exchange> ex) override;

  void SchedulePump(std::shared_ptr<WatchPump> p) {
    Post([p = std::move(p)] { p->Pump(); });
  }
  // Runs `fn` on a worker thread (watch pumps, streamed lists).
  void Post(std::function<void()> fn) {
    {
      std::lock_guard l(work_mu_);
      work_.push_back(std::move(fn));
    }
    work_cv_.notify_one();
  }
  void Forget(WatchPump* p) {
    std::lock_guard l(watches_mu_);
    std::erase_if(watches_, [p](const auto& w) { return w.get() == p; });
  }

  // Encodes a stored value as the object a client sees (resourceVersion from the store).
  static Result<json::object> Decode(const store::KeyValue& kv, int64_t rv_override = 0);

 private:
  HttpResponse Version() const;
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
  void Get(const HttpRequest& req, const Target& t, Exchange& ex);
  void List(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  // A whole collection, read from the store in pages at one revision and written out in
  // chunks as it is read, so that memory stays small however large the list.
  void StreamList(const Target& t, Selection sel, std::string prefix,
                  std::shared_ptr<Exchange> ex);
  void Watch(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
  void Create(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex);
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
                                          json::object* obj, std::shared_ptr<Exchange>* ex);
  std::optional<ApiError> CheckNamespace(const Target& t);

  void WorkerLoop();
  void TimerLoop();

  Store* store_;
  ApiServerOptions opts_;
  const ResourceRegistry& registry_;
  const OpenApi openapi_;
  ServiceAllocator alloc_;

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::condition_variable timer_cv_;
  std::deque<std::function<void()>> work_;  // guarded by work_mu_
  bool stopping_ = false;                        // guarded by work_mu_
  std::vector<std::thread> workers_;
  std::thread timer_;

  std::mutex watches_mu_;
  std::vector<std::shared_ptr<WatchPump>> watches_;  // guarded by watches_mu_
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

void ApiServerImpl::TimerLoop() {
  std::unique_lock l(work_mu_);
  while (!stopping_) {
    // Its own condition variable: sharing the workers' would let it swallow the one
    // notify_one() meant for a worker, leaving that work queued.
    timer_cv_.wait_for(l, std::chrono::milliseconds(250));
    if (stopping_) return;
    l.unlock();
    auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<WatchPump>> expired;
    {
      std::lock_guard wl(watches_mu_);
      for (const auto& w : watches_) {
        if (w->Expired(now)) expired.push_back(w);
      }
    }
    for (auto& w : expired) w->Stop();
    l.lock();
  }
}

void ApiServerImpl::Shutdown() {
  {
    std::lock_guard l(work_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  std::vector<std::shared_ptr<WatchPump>> all;
  {
    std::lock_guard l(watches_mu_);
    all.swap(watches_);
  }
  for (auto& w : all) w->Stop();
  for (auto& t : workers_) t.join();
  if (timer_.joinable()) timer_.join();
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
  bootstrapped_ = true;
  return Status::Ok();
}

// --- routing ----------------------------------------------------------------------------------

void ApiServerImpl::Serve(HttpRequest req, std::shared_ptr<Exchange> ex) {
  auto parts = SplitPath(req.path);
  if (req.path == "/version" || req.path == "/version/") return ex->Respond(Version());
  if (!parts.empty() && (parts[0] == "healthz" || parts[0] == "livez" || parts[0] == "readyz")) {
    return ex->Respond(Health(req, parts));
  }
  if (req.path == "/metrics") return ex->Respond(Metrics());
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
  if (rest.size() >= 3 && rest[0] == "namespaces") {
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
  if (!t.subresource.empty()) {
    return ex->Respond(StatusResponse(
        {404, "NotFound", "the server could not find the requested resource", {}}));
  }
  ServeResource(req, t, std::move(ex));
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
  if (api::AcceptsProtobuf(req.Header("accept"))) {
    bool watch = m == "GET" && t.name.empty() && IsTrue(req.Query("watch"));
    ex = std::make_shared<ProtobufExchange>(std::move(ex), watch);
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
  for (const auto& r : registry_.all()) {
    store::RangeRequest rr;
    rr.key = r.StoragePrefix();
    rr.range_end = store::PrefixEnd(rr.key);
    rr.count_only = true;
    auto res = store_->Range(rr);
    std::string name = r.group.empty() ? r.resource : r.resource + "." + r.group;
    out += "apiserver_storage_objects{resource=\"" + name + "\"} " +
           (res.ok() ? std::to_string(res->count) : std::string("-1")) + "\n";
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
    if (r.group == group && r.version == version) resources.push_back(ResourceListEntry(r));
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
  } else {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec) return BadRequest("json: cannot parse the request body: " + ec.message());
    if (!v.is_object()) return BadRequest("the request body must be a JSON object");
    *obj = std::move(v.as_object());
  }
  auto* api_version = obj->if_contains("apiVersion");
  auto* kind = obj->if_contains("kind");
  if (kind == nullptr || !kind->is_string() || kind->as_string().empty()) {
    return BadRequest("Object 'Kind' is missing in '" + req.body.substr(0, 200) + "'");
  }
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
                                                       std::shared_ptr<Exchange>* ex) {
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
  api::ApplyDefaults(*type, obj);
  return std::nullopt;
}

std::optional<ApiError> ApiServerImpl::CheckNamespace(const Target& t) {
  if (!t.resource->namespaced) return std::nullopt;
  const ResourceInfo* ns = registry_.Find("", "v1", "namespaces");
  auto r = store_->Get(Key(*ns, "", t.ns));
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kNotFound) return NotFound(*ns, t.ns);
    return FromStoreStatus(r.status());
  }
  auto obj = Decode(*r);
  if (obj.ok()) {
    auto* meta = obj->if_contains("metadata");
    if (meta && meta->is_object() && meta->as_object().if_contains("deletionTimestamp")) {
      return ApiError{403, "Forbidden",
                      t.resource->resource + " \"" + t.name + "\" is forbidden: unable to create "
                      "new content in namespace " + t.ns + " because it is being terminated",
                      Details(*t.resource, t.name)};
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
                         std::shared_ptr<Exchange> exp) {
  Exchange& ex = *exp;
  const ResourceInfo& r = *t.resource;
  std::string prefix = CollectionPrefix(r, t.ns);
  store::RangeRequest rr;
  rr.key = prefix;
  rr.range_end = store::PrefixEnd(prefix);
  // Pagination: `continue` carries the last key returned and the revision of the snapshot.
  int64_t limit = 0;
  if (auto l = req.Query("limit"); !l.empty()) {
    try {
      limit = std::stoll(std::string(l));
    } catch (...) {
      return ex.Respond(StatusResponse(BadRequest("invalid limit: " + std::string(l))));
    }
  }
  std::string_view cont = req.Query("continue");
  if (!cont.empty()) {
    auto bar = cont.find('|');
    if (bar == std::string_view::npos) {
      return ex.Respond(StatusResponse(BadRequest("continue key is not valid")));
    }
    try {
      rr.revision = std::stoll(std::string(cont.substr(0, bar)));
    } catch (...) {
      return ex.Respond(StatusResponse(BadRequest("continue key is not valid")));
    }
    rr.key = std::string(cont.substr(bar + 1)) + '\0';
  }
  if (limit > 0) rr.limit = limit;
  // Counting the rest of the collection on every page would make paging quadratic; the
  // remaining item count is optional and left out.
  rr.skip_count = true;
  Selection sel;
  if (auto err = ParseSelection(req, r, &sel)) return ex.Respond(StatusResponse(*err));
  if (limit <= 0 && cont.empty() && !(WantsTable(req.Header("accept")) && HasPrinter(r))) {
    Post([this, t, sel = std::move(sel), prefix, exp]() mutable {
      StreamList(t, std::move(sel), prefix, exp);
    });
    return;
  }
  auto res = store_->Range(rr);
  if (!res.ok()) {
    if (res.status().code() == StatusCode::kGone) {
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
    if (obj.ok() && sel.Matches(*obj)) items.push_back(std::move(*obj));
  }
  int64_t rev = rr.revision > 0 ? rr.revision : res->revision;
  std::string continue_token;
  if (res->more && !res->kvs.empty()) {
    continue_token = std::to_string(rev) + "|" + res->kvs.back().key;
  }
  if (WantsTable(req.Header("accept")) && HasPrinter(r)) {
    HttpResponse resp;
    resp.body = json::serialize(ToTable(r, items, std::to_string(rev), continue_token,
                                        req.Query("includeObject"),
                                        std::chrono::system_clock::now()));
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
                               std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  constexpr int64_t kPage = 500;
  constexpr size_t kChunk = 256 * 1024;
  constexpr size_t kMaxBacklog = 8 << 20;
  store::RangeRequest rr;
  rr.key = prefix;
  rr.range_end = store::PrefixEnd(prefix);
  rr.limit = kPage;
  rr.skip_count = true;
  auto res = store_->Range(rr);
  if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
  rr.revision = res->revision;  // every page from the same snapshot
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
  auto& meta = obj["metadata"].as_object();
  std::string name;
  if (auto* n = meta.if_contains("name"); n && n->is_string()) name = std::string(n->as_string());
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
  bool valid = r.resource == "namespaces" ? IsDns1123Label(name) : IsDns1123Subdomain(name);
  if (!valid) {
    std::string what = r.resource == "namespaces"
                           ? "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                             "characters or '-', and must start and end with an alphanumeric "
                             "character (e.g. 'my-name',  or '123-abc', regex used for "
                             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                           : "a lowercase RFC 1123 subdomain must consist of lower case "
                             "alphanumeric characters, '-' or '.', and must start and end with "
                             "an alphanumeric character (e.g. 'example.com', regex used for "
                             "validation is "
                             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    return ex->Respond(StatusResponse(
        Invalid(r, name, {{"metadata.name", "Invalid value: \"" + name + "\": " + what}})));
  }
  if (auto err = CheckNamespace(Target{t.resource, t.ns, name, ""})) {
    return ex->Respond(StatusResponse(*err));
  }
  meta.erase("resourceVersion");
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = NowRfc3339();
  if (obj.contains("spec")) meta["generation"] = 1;
  if (r.kind == "Namespace") {
    auto& labels = meta["labels"];
    if (!labels.is_object()) labels = json::object();
    labels.as_object()["kubernetes.io/metadata.name"] = name;
    auto& status = obj["status"];
    if (!status.is_object()) status = json::object();
    status.as_object()["phase"] = "Active";
  }
  if (r.kind == "Pod") {
    // A new pod is Pending until it is scheduled and its kubelet reports.
    auto& status = obj["status"];
    if (!status.is_object()) status = json::object();
    if (!status.as_object().contains("phase")) status.as_object()["phase"] = "Pending";
  }
  if (r.group == "batch" && r.kind == "Job") GenerateJobSelector(obj);
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
  WriteUpdate(t, *old, std::move(obj), expect, ex, [ex, r = &r, name = t.name] {
    ex->Respond(StatusResponse(Conflict(*r, name)));
  });
}

void ApiServerImpl::WriteUpdate(const Target& t, const json::object& old, json::object obj,
                                int64_t expect, std::shared_ptr<Exchange> ex,
                                std::function<void()> on_conflict) {
  const ResourceInfo& r = *t.resource;
  if (r.kind == "Service") {
    auto errs = alloc_.CheckUpdate(old, &obj);
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
  if (auto* g = meta.if_contains("generation"); g && g->is_int64()) {
    const json::value* old_spec = old.if_contains("spec");
    const json::value* new_spec = obj.if_contains("spec");
    bool changed = (old_spec == nullptr) != (new_spec == nullptr) ||
                   (old_spec && *old_spec != *new_spec);
    if (changed) meta["generation"] = g->as_int64() + 1;
  }
  meta.erase("resourceVersion");
  std::string key = Key(r, t.ns, t.name);
  store::TxnRequest txn;
  txn.compare.push_back(store::Compare{store::Compare::Result::kEqual,
                                       store::Compare::Target::kMod, key, "", expect, ""});
  // An object being deleted goes away once its last finalizer is removed.
  bool finalized = meta.contains("deletionTimestamp") && Finalizers(obj).empty();
  if (finalized) {
    txn.success.push_back(store::RequestOp{store::DeleteRangeRequest{key, "", false}});
    if (r.kind == "Service") alloc_.Release(old, &txn);
  } else {
    txn.success.push_back(store::RequestOp{store::PutRequest{key, json::serialize(obj)}});
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

void ApiServerImpl::Delete(std::shared_ptr<const HttpRequest> req, Target t,
                           std::shared_ptr<Exchange> ex, int attempt) {
  const ResourceInfo& r = *t.resource;
  // DeleteOptions come in the body and/or the query.
  json::object opts;
  if (!req->body.empty()) {
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
  std::string key = Key(r, t.ns, t.name);
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto obj = Decode(*cur);
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
  if (r.kind == "Pod" && !FieldValue(*obj, "spec.nodeName").empty()) {
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
        if (!res.namespaced) continue;
        std::string prefix = res.StoragePrefix() + t.name + "/";
        txn.success.push_back(store::RequestOp{
            store::DeleteRangeRequest{prefix, store::PrefixEnd(prefix), false}});
      }
    }
  }
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
    item.name = FieldValue(*obj, "metadata.name");
    item.ns = FieldValue(*obj, "metadata.namespace");
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
  auto type = PatchTypeOf(req->Header("content-type"));
  if (!type.ok()) {
    return ex->Respond(StatusResponse({415, "UnsupportedMediaType", type.status().message(), {}}));
  }
  std::string key = Key(r, t.ns, t.name);
  auto cur = ReadCurrent(t, *ex);
  if (!cur) return;
  auto old = Decode(*cur);
  json::value doc = *old;
  const api::TypeDecl* schema = api::Schema::BuiltIn().Kind(r.group, r.version, r.kind);
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
    if ((a == nullptr) != (b == nullptr) || (a && *a != *b)) {
      return ex->Respond(StatusResponse(Invalid(
          r, t.name, {{std::string("metadata.") + f, "Invalid value: field is immutable"}})));
    }
  }
  // A resourceVersion in the patch is a precondition.
  if (auto* rv = meta.if_contains("resourceVersion"); rv && *rv != old_meta["resourceVersion"]) {
    return ex->Respond(StatusResponse(Conflict(r, t.name)));
  }
  WriteUpdate(t, *old, std::move(obj), cur->mod_revision, ex, [this, req, t, ex, attempt] {
    // Someone wrote in between: patch the new version, as upstream does.
    if (attempt < 5) return Patch(req, t, ex, attempt + 1);
    ex->Respond(StatusResponse(Conflict(*t.resource, t.name)));
  });
}

// --- watch ------------------------------------------------------------------------------------

void ApiServerImpl::Watch(const HttpRequest& req, const Target& t, std::shared_ptr<Exchange> ex) {
  const ResourceInfo& r = *t.resource;
  std::string prefix = CollectionPrefix(r, t.ns);
  int64_t rv = 0;
  std::string_view rvs = req.Query("resourceVersion");
  if (!rvs.empty()) {
    try {
      rv = std::stoll(std::string(rvs));
    } catch (...) {
      return ex->Respond(StatusResponse(BadRequest("invalid resourceVersion: " + std::string(rvs))));
    }
  }
  Selection sel;
  if (auto err = ParseSelection(req, r, &sel)) return ex->Respond(StatusResponse(*err));
  bool as_table = WantsTable(req.Header("accept")) && HasPrinter(r);
  std::string include_object(req.Query("includeObject"));
  std::vector<std::string> initial;
  int64_t start = rv + 1;
  if (rv == 0) {
    // No resourceVersion (or "0"): the current state as ADDED events, then the changes.
    store::RangeRequest rr;
    rr.key = prefix;
    rr.range_end = store::PrefixEnd(prefix);
    auto res = store_->Range(rr);
    if (!res.ok()) return ex->Respond(StatusResponse(FromStoreStatus(res.status())));
    for (const auto& kv : res->kvs) {
      auto obj = Decode(kv);
      if (!obj.ok() || !sel.Matches(*obj)) continue;
      json::object ev;
      ev["type"] = "ADDED";
      if (as_table) {
        ev["object"] = ToTable(r, json::array{std::move(*obj)}, "", "", include_object,
                               std::chrono::system_clock::now());
      } else {
        ev["object"] = std::move(*obj);
      }
      initial.push_back(json::serialize(ev) + "\n");
    }
    start = res->revision + 1;
  }
  store::WatchOptions wo;
  wo.key = prefix;
  wo.range_end = store::PrefixEnd(prefix);
  wo.start_revision = start;
  wo.prev_kv = true;
  auto stream = store_->Watch(wo);
  if (!stream.ok()) return ex->Respond(StatusResponse(FromStoreStatus(stream.status())));
  int64_t timeout = 1800;
  if (auto ts = req.Query("timeoutSeconds"); !ts.empty()) {
    try {
      timeout = std::stoll(std::string(ts));
    } catch (...) {
      return ex->Respond(StatusResponse(BadRequest("invalid timeoutSeconds")));
    }
  }
  ex->StartStream(200, kJson);
  for (auto& s : initial) ex->Write(std::move(s));
  auto pump = std::make_shared<WatchPump>(
      this, &r, std::move(*stream), ex,
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout), std::move(sel), as_table,
      std::move(include_object));
  {
    std::lock_guard l(watches_mu_);
    watches_.push_back(pump);
  }
  pump->Start();
}

void WatchPump::Start() {
  std::weak_ptr<WatchPump> weak = weak_from_this();
  stream_->SetReadyCallback([weak] {
    if (auto self = weak.lock()) self->server_->SchedulePump(self);
  });
  ex_->OnClose([weak] {
    if (auto self = weak.lock()) self->Stop();
  });
  server_->SchedulePump(shared_from_this());
}

void WatchPump::Stop() {
  if (done_.exchange(true)) return;
  stream_->Cancel();
  ex_->EndStream();
  server_->Forget(this);
}

void WatchPump::Pump() {
  std::lock_guard l(mu_);
  while (!done_.load()) {
    auto b = stream_->Next(std::chrono::milliseconds(0));
    if (!b.ok()) return Stop();
    if (b->canceled) {
      if (b->compact_revision > 0) {
        json::object ev;
        ev["type"] = "ERROR";
        json::value st = json::parse(
            StatusResponse({410, "Expired", "too old resource version", {}}).body);
        ev["object"] = std::move(st);
        ex_->Write(json::serialize(ev) + "\n");
      }
      return Stop();
    }
    if (b->events.empty()) return;
    std::string out;
    for (const auto& e : b->events) {
      // With selectors, an object that starts matching is ADDED and one that stops matching
      // is DELETED, as upstream's watch filtering does.
      const char* type = nullptr;
      Result<json::object> obj = InternalError("");
      if (e.type == store::Event::Type::kPut) {
        obj = ApiServerImpl::Decode(e.kv);
        if (!obj.ok()) continue;
        bool now = selection_.Matches(*obj);
        bool before = false;
        if (e.prev_kv && !selection_.Everything()) {
          auto prev = ApiServerImpl::Decode(*e.prev_kv);
          before = prev.ok() && selection_.Matches(*prev);
        } else {
          before = e.prev_kv.has_value();
        }
        if (now && before) {
          type = "MODIFIED";
        } else if (now) {
          type = "ADDED";
        } else if (before) {
          type = "DELETED";
        } else {
          continue;
        }
      } else {
        if (!e.prev_kv) continue;
        obj = ApiServerImpl::Decode(*e.prev_kv, e.kv.mod_revision);
        if (!obj.ok() || !selection_.Matches(*obj)) continue;
        type = "DELETED";
      }
      json::object ev;
      ev["type"] = type;
      ev["object"] = Render(std::move(*obj));
      out += json::serialize(ev);
      out += '\n';
    }
    if (out.empty()) continue;
    if (!ex_->Write(std::move(out))) return Stop();
  }
}

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::Create(store::Store* store,
                                                     ApiServerOptions options) {
  if (store == nullptr) return InvalidArgumentError("api server needs a store");
  ServiceAllocOptions ao;
  ao.service_cidr = options.service_cidr;
  auto alloc = ServiceAllocator::Create(store, ao);
  if (!alloc.ok()) return alloc.status();
  return std::unique_ptr<ApiServer>(
      std::make_unique<ApiServerImpl>(store, std::move(options), std::move(*alloc)));
}

}  // namespace keelson::apiserver
