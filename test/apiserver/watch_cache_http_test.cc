// LIST and WATCH through real HTTP against an API server (in this process, on the embedded
// store in a temp dir): an informer that lists, watches from the list's resourceVersion,
// resumes and relists on 410 while several writers create, update and delete, and must see
// every change once and in order; too-old watches, bookmarks, sendInitialEvents, consistent
// and exact lists, the resourceVersionMatch errors, and a watcher that does not read.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "apiserver/apiserver.h"
#include "apiserver/http_server.h"
#include "store/mvcc/embedded_store.h"
#include "test/util/processes.h"

namespace keelson {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kConfigMaps = "/api/v1/namespaces/default/configmaps";

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads what is there within `timeout`; false on timeout, end of stream or error.
bool ReadSome(int fd, std::string* out, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  out->append(buf, static_cast<size_t>(n));
  return true;
}

// One HTTP exchange on a connection: the status, and the body decoded as it arrives
// (chunked or Content-Length).
class HttpStream {
 public:
  HttpStream(int port, const std::string& method, const std::string& target,
             const std::string& body = "", const std::string& accept = "application/json") {
    fd_ = Connect(port);
    if (fd_ < 0) return;
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: test\r\nAccept: " + accept +
                      "\r\nConnection: close\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n" + body;
    if (!SendAll(fd_, req)) return;
    auto deadline = Clock::now() + 10s;
    while (raw_.find("\r\n\r\n") == std::string::npos) {
      if (Clock::now() > deadline || !ReadSome(fd_, &raw_, 1s)) {
        if (Clock::now() > deadline) return;
      }
    }
    size_t end = raw_.find("\r\n\r\n");
    std::string head = raw_.substr(0, end);
    raw_.erase(0, end + 4);
    status_ = std::stoi(head.substr(head.find(' ') + 1, 3));
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    chunked_ = head.find("transfer-encoding: chunked") != std::string::npos;
    if (auto cl = head.find("content-length: "); cl != std::string::npos) {
      length_ = std::stoul(head.substr(cl + 16));
    }
    Decode();
  }
  ~HttpStream() {
    if (fd_ >= 0) close(fd_);
  }

  int status() const { return status_; }
  bool ended() const { return ended_; }

  // The next newline-terminated line of the body, waiting up to `timeout`.
  std::optional<std::string> NextLine(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      if (auto nl = data_.find('\n'); nl != std::string::npos) {
        std::string line = data_.substr(0, nl);
        data_.erase(0, nl + 1);
        return line;
      }
      if (ended_) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      if (!ReadSome(fd_, &raw_, left)) {
        if (Clock::now() < deadline) ended_ = true;  // closed
        continue;
      }
      Decode();
    }
  }
  // The whole body (for answers that are not streams).
  std::string Body(std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    while (!ended_ && Clock::now() < deadline) {
      if (!ReadSome(fd_, &raw_, 1s)) continue;
      Decode();
    }
    return data_;
  }

 private:
  void Decode() {
    if (!chunked_) {
      data_ += raw_;
      raw_.clear();
      if (data_.size() >= length_) ended_ = true;
      return;
    }
    while (true) {
      auto nl = raw_.find("\r\n");
      if (nl == std::string::npos) return;
      size_t size = std::stoul(raw_.substr(0, nl), nullptr, 16);
      if (size == 0) {
        ended_ = true;
        return;
      }
      if (raw_.size() < nl + 2 + size + 2) return;
      data_.append(raw_, nl + 2, size);
      raw_.erase(0, nl + 2 + size + 2);
    }
  }

  int fd_ = -1;
  int status_ = 0;
  bool chunked_ = false;
  size_t length_ = 0;
  bool ended_ = false;
  std::string raw_;   // as received
  std::string data_;  // decoded body not yet consumed
};

struct Reply {
  int status = 0;
  json::value body;
};

Reply Call(int port, const std::string& method, const std::string& target,
           const std::string& body = "") {
  HttpStream s(port, method, target, body);
  Reply r;
  r.status = s.status();
  boost::system::error_code ec;
  r.body = json::parse(s.Body(), ec);
  return r;
}

std::string Str(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* cur = &v;
  for (const char* p : path) {
    if (!cur->is_object()) return "";
    cur = cur->as_object().if_contains(p);
    if (cur == nullptr) return "";
  }
  return cur->is_string() ? std::string(cur->as_string()) : json::serialize(*cur);
}

int64_t Rv(const json::value& obj) { return std::stoll(Str(obj, {"metadata", "resourceVersion"})); }

// An API server on the embedded store, on a free port.
class Server {
 public:
  explicit Server(apiserver::ApiServerOptions opts = {}) {
    store::EmbeddedOptions eo;
    eo.data_dir = (dir_.path() / "store").string();
    eo.auto_compact_retention = std::chrono::seconds(0);
    store_ = std::move(store::OpenEmbeddedStore(eo).value());
    api_ = std::move(apiserver::ApiServer::Create(store_.get(), std::move(opts)).value());
    EXPECT_TRUE(api_->Bootstrap().ok());
    http_ = std::move(apiserver::HttpServer::Start({}, api_.get()).value());
  }
  ~Server() {
    api_->Shutdown();
    http_->Stop();
  }
  int port() const { return http_->port(); }
  store::Store* store() { return store_.get(); }

 private:
  testing::TempDir dir_{"keelson-watchcache-http"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<apiserver::ApiServer> api_;
  std::unique_ptr<apiserver::HttpServer> http_;
};

std::string ConfigMap(const std::string& name, const std::string& value, int64_t rv = 0) {
  std::string meta = R"({"name":")" + name + "\"";
  if (rv > 0) meta += R"(,"resourceVersion":")" + std::to_string(rv) + "\"";
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":)" + meta + R"(},"data":{"v":")" +
         value + R"("}})";
}

// A client-go style informer over configmaps of the default namespace: list (in pages), watch
// from the list's resourceVersion (with bookmarks and a short timeout, so it resumes often),
// list again on 410. Checks each event against its state as it goes.
class Informer {
 public:
  explicit Informer(int port) : port_(port) {}

  struct Item {
    int64_t rv;
    std::string value;
  };

  void List() {
    state_.clear();
    std::string cont;
    while (true) {
      std::string target = kConfigMaps + "?limit=7";
      if (!cont.empty()) target += "&continue=" + cont;
      Reply r = Call(port_, "GET", target);
      ASSERT_EQ(r.status, 200) << json::serialize(r.body);
      for (const auto& it : r.body.at("items").as_array()) {
        state_[Str(it, {"metadata", "name"})] = {Rv(it), Str(it, {"data", "v"})};
      }
      int64_t page_rv = std::stoll(Str(r.body, {"metadata", "resourceVersion"}));
      if (cont.empty()) rv_ = page_rv;
      EXPECT_EQ(page_rv, rv_) << "pages of one list must share its resourceVersion";
      cont = Str(r.body, {"metadata", "continue"});
      if (cont.empty()) break;
      for (size_t i = 0; i < cont.size(); ++i) {  // percent-encode the token's '|' and '/'
        if (cont[i] == '|' || cont[i] == '/') {
          cont.replace(i, 1, cont[i] == '|' ? "%7C" : "%2F");
        }
      }
    }
    ++lists_;
  }

  // Watches from rv_ until the stream ends (timeout, or 410 then a relist).
  void WatchOnce() {
    HttpStream w(port_, "GET",
                 kConfigMaps + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&"
                               "resourceVersion=" + std::to_string(rv_));
    ASSERT_EQ(w.status(), 200);
    ++watches_;
    while (auto line = w.NextLine(5s)) {
      json::value ev = json::parse(*line);
      std::string type = Str(ev, {"type"});
      const json::value& obj = ev.at("object");
      if (type == "ERROR") {
        EXPECT_EQ(Str(obj, {"code"}), "410") << *line;
        EXPECT_EQ(Str(obj, {"reason"}), "Expired") << *line;
        ++expired_;
        last_error_ = *line;
        List();
        return;
      }
      int64_t rv = Rv(obj);
      if (type == "BOOKMARK") {
        EXPECT_EQ(Str(obj, {"kind"}), "ConfigMap");
        EXPECT_GE(rv, rv_) << "bookmarks never go back";
        rv_ = rv;
        ++bookmarks_;
        continue;
      }
      EXPECT_GT(rv, rv_) << "events come in resourceVersion order: " << *line;
      rv_ = rv;
      std::string name = Str(obj, {"metadata", "name"});
      auto it = state_.find(name);
      if (type == "ADDED") {
        EXPECT_EQ(it, state_.end()) << "ADDED twice: " << *line;
        state_[name] = {rv, Str(obj, {"data", "v"})};
      } else if (type == "MODIFIED") {
        EXPECT_NE(it, state_.end()) << "MODIFIED unknown: " << *line;
        if (it != state_.end()) {
          EXPECT_GT(rv, it->second.rv);
        }
        state_[name] = {rv, Str(obj, {"data", "v"})};
      } else if (type == "DELETED") {
        EXPECT_NE(it, state_.end()) << "DELETED unknown: " << *line;
        if (it != state_.end()) state_.erase(it);
      } else {
        ADD_FAILURE() << "unexpected event " << *line;
      }
      seen_[name].push_back(type == "DELETED" ? type : type + " " + std::to_string(rv));
    }
  }

  int port_;
  int64_t rv_ = 0;
  std::map<std::string, Item> state_;
  std::map<std::string, std::vector<std::string>> seen_;  // per object, in order
  int lists_ = 0, watches_ = 0, expired_ = 0, bookmarks_ = 0;
  std::string last_error_;
};

// Writes to its own configmaps: creates, updates (compare-and-swap on the resourceVersion it
// holds), deletes. Logs what each object went through, as the informer should see it.
void Writer(int port, int id, int ops, std::map<std::string, std::vector<std::string>>* log,
            std::chrono::milliseconds pause = 0ms) {
  std::mt19937 rng(static_cast<unsigned>(id));
  std::map<std::string, int64_t> live;  // name -> rv
  for (int i = 0; i < ops; ++i) {
    if (pause.count() > 0) std::this_thread::sleep_for(pause * (rng() % 3));
    std::string name = "w" + std::to_string(id) + "-" + std::to_string(rng() % 6);
    auto it = live.find(name);
    if (it == live.end()) {
      Reply r = Call(port, "POST", kConfigMaps, ConfigMap(name, std::to_string(i)));
      ASSERT_EQ(r.status, 201) << json::serialize(r.body);
      live[name] = Rv(r.body);
      (*log)[name].push_back("ADDED " + std::to_string(Rv(r.body)));
    } else if (rng() % 10 < 7) {
      Reply r = Call(port, "PUT", kConfigMaps + "/" + name,
                     ConfigMap(name, std::to_string(i), it->second));
      ASSERT_EQ(r.status, 200) << json::serialize(r.body);
      EXPECT_EQ(Str(r.body, {"data", "v"}), std::to_string(i));
      it->second = Rv(r.body);
      (*log)[name].push_back("MODIFIED " + std::to_string(Rv(r.body)));
    } else {
      Reply r = Call(port, "DELETE", kConfigMaps + "/" + name);
      ASSERT_EQ(r.status, 200) << json::serialize(r.body);
      live.erase(it);
      (*log)[name].push_back("DELETED");
    }
  }
}

// The current revision as a consistent list reports it.
int64_t ListRevision(int port, const std::string& collection = kConfigMaps) {
  Reply r = Call(port, "GET", collection + "?limit=1");
  return std::stoll(Str(r.body, {"metadata", "resourceVersion"}));
}

TEST(WatchCacheHttpTest, InformerSeesEveryChangeOnceAndInOrderUnderConcurrentWriters) {
  apiserver::ApiServerOptions opts;
  opts.bookmark_interval = 300ms;
  Server server(opts);
  Informer inf(server.port());
  inf.List();
  std::atomic<bool> writers_done{false};
  std::atomic<int64_t> target{0};
  std::thread informer([&] {
    while (!writers_done.load() || inf.rv_ < target.load()) inf.WatchOnce();
  });
  constexpr int kWriters = 4;
  std::vector<std::map<std::string, std::vector<std::string>>> logs(kWriters);
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] { Writer(server.port(), i, 150, &logs[i], 10ms); });
  }
  for (auto& t : writers) t.join();
  target = ListRevision(server.port());
  writers_done = true;
  informer.join();

  EXPECT_EQ(inf.lists_, 1) << "no relist expected: " << inf.last_error_;
  EXPECT_GT(inf.watches_, 1) << "the informer resumed its watch";
  EXPECT_GT(inf.bookmarks_, 0);
  std::map<std::string, std::vector<std::string>> want;
  for (auto& l : logs) want.insert(l.begin(), l.end());
  EXPECT_EQ(inf.seen_, want);
  // The informer's final state is the store's.
  for (const auto& [name, events] : want) {
    Reply g = Call(server.port(), "GET", kConfigMaps + "/" + name);
    auto it = inf.state_.find(name);
    if (g.status == 404) {
      EXPECT_EQ(it, inf.state_.end()) << name;
      continue;
    }
    ASSERT_EQ(g.status, 200);
    ASSERT_NE(it, inf.state_.end()) << name;
    EXPECT_EQ(it->second.rv, Rv(g.body)) << name;
    EXPECT_EQ(it->second.value, Str(g.body, {"data", "v"})) << name;
  }
}

TEST(WatchCacheHttpTest, InformerRelistsWhenItsResourceVersionIsTooOld) {
  apiserver::ApiServerOptions opts;
  opts.watch_cache_ring = 20;
  Server server(opts);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Call(server.port(), "POST", kConfigMaps, ConfigMap("a" + std::to_string(i), "0")).status,
              201);
  }
  Informer inf(server.port());
  inf.List();
  int64_t listed = inf.rv_;
  // While the informer is away, more changes than the ring holds.
  std::map<std::string, std::vector<std::string>> log;
  Writer(server.port(), 7, 60, &log);
  inf.WatchOnce();  // 410, then a relist
  EXPECT_EQ(inf.expired_, 1);
  EXPECT_NE(inf.last_error_.find("too old resource version: " + std::to_string(listed) + " ("),
            std::string::npos)
      << inf.last_error_;
  EXPECT_EQ(inf.lists_, 2);
  // After the relist it follows changes again.
  ASSERT_EQ(Call(server.port(), "POST", kConfigMaps, ConfigMap("late", "x")).status, 201);
  int64_t target = ListRevision(server.port());
  while (inf.rv_ < target && inf.expired_ == 1) inf.WatchOnce();
  EXPECT_EQ(inf.expired_, 1);
  Reply all = Call(server.port(), "GET", kConfigMaps);
  std::map<std::string, int64_t> want;
  for (const auto& it : all.body.at("items").as_array()) want[Str(it, {"metadata", "name"})] = Rv(it);
  std::map<std::string, int64_t> got;
  for (const auto& [n, item] : inf.state_) got[n] = item.rv;
  EXPECT_EQ(got, want);
}

TEST(WatchCacheHttpTest, WatchFromATooOldResourceVersionGetsAnExpiredErrorEvent) {
  apiserver::ApiServerOptions opts;
  opts.watch_cache_ring = 5;
  Server server(opts);
  int64_t first = ListRevision(server.port());
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Call(server.port(), "POST", kConfigMaps, ConfigMap("c" + std::to_string(i), "0")).status,
              201);
  }
  HttpStream w(server.port(), "GET", kConfigMaps + "?watch=true&resourceVersion=" +
                                         std::to_string(first));
  EXPECT_EQ(w.status(), 200);
  auto line = w.NextLine(5s);
  ASSERT_TRUE(line.has_value());
  json::value ev = json::parse(*line);
  EXPECT_EQ(Str(ev, {"type"}), "ERROR");
  const auto& st = ev.at("object");
  EXPECT_EQ(Str(st, {"kind"}), "Status");
  EXPECT_EQ(Str(st, {"status"}), "Failure");
  EXPECT_EQ(Str(st, {"reason"}), "Expired");
  EXPECT_EQ(Str(st, {"code"}), "410");
  EXPECT_EQ(Str(st, {"message"}).rfind("too old resource version: " + std::to_string(first) + " (", 0),
            0u)
      << *line;
  EXPECT_FALSE(w.NextLine(2s).has_value());
  EXPECT_TRUE(w.ended());
}

TEST(WatchCacheHttpTest, BookmarksArriveWhenAskedAndFollowProgressElsewhere) {
  Server server;
  int64_t start = ListRevision(server.port());
  HttpStream quiet(server.port(), "GET",
                   kConfigMaps + "?watch=true&resourceVersion=" + std::to_string(start));
  HttpStream w(server.port(), "GET", kConfigMaps + "?watch=true&allowWatchBookmarks=true&"
                                                   "resourceVersion=" + std::to_string(start));
  ASSERT_EQ(w.status(), 200);
  // A write to another resource: the configmaps' bookmarks move past it.
  Reply s = Call(server.port(), "POST", "/api/v1/namespaces/default/secrets",
                 R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}})");
  ASSERT_EQ(s.status, 201);
  int64_t secret_rv = Rv(s.body);
  bool moved = false;
  auto deadline = Clock::now() + 10s;
  while (!moved && Clock::now() < deadline) {
    auto line = w.NextLine(3s);
    ASSERT_TRUE(line.has_value()) << "no bookmark";
    json::value ev = json::parse(*line);
    ASSERT_EQ(Str(ev, {"type"}), "BOOKMARK") << *line;
    const auto& obj = ev.at("object").as_object();
    EXPECT_EQ(Str(obj, {"kind"}), "ConfigMap");
    EXPECT_EQ(Str(obj, {"apiVersion"}), "v1");
    EXPECT_EQ(obj.at("metadata").as_object().size(), 1u) << *line;
    moved = Rv(obj) >= secret_rv;
  }
  EXPECT_TRUE(moved);
  EXPECT_FALSE(quiet.NextLine(1500ms).has_value()) << "bookmarks only when asked for";
  // Table watches get bookmarks that are valid Tables.
  HttpStream t(server.port(), "GET",
               kConfigMaps + "?watch=true&allowWatchBookmarks=true&resourceVersion=" +
                   std::to_string(start),
               "", "application/json;as=Table;v=v1;g=meta.k8s.io");
  auto line = t.NextLine(5s);
  ASSERT_TRUE(line.has_value());
  json::value ev = json::parse(*line);
  EXPECT_EQ(Str(ev, {"type"}), "BOOKMARK");
  EXPECT_EQ(Str(ev, {"object", "kind"}), "Table") << *line;
  EXPECT_GE(Rv(ev.at("object")), secret_rv) << *line;
}

TEST(WatchCacheHttpTest, SendInitialEventsEndsWithAnAnnotatedBookmark) {
  Server server;
  ASSERT_EQ(Call(server.port(), "POST", kConfigMaps, ConfigMap("one", "1")).status, 201);
  ASSERT_EQ(Call(server.port(), "POST", kConfigMaps, ConfigMap("two", "2")).status, 201);
  int64_t rv = ListRevision(server.port());
  HttpStream w(server.port(), "GET",
               kConfigMaps + "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&"
                             "resourceVersionMatch=NotOlderThan&resourceVersion=");
  ASSERT_EQ(w.status(), 200);
  std::vector<std::string> names;
  for (int i = 0; i < 2; ++i) {
    auto line = w.NextLine(5s);
    ASSERT_TRUE(line.has_value());
    json::value ev = json::parse(*line);
    EXPECT_EQ(Str(ev, {"type"}), "ADDED");
    names.push_back(Str(ev, {"object", "metadata", "name"}));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"one", "two"}));
  auto line = w.NextLine(5s);
  ASSERT_TRUE(line.has_value());
  json::value ev = json::parse(*line);
  EXPECT_EQ(Str(ev, {"type"}), "BOOKMARK");
  EXPECT_EQ(Str(ev, {"object", "metadata", "annotations", "k8s.io/initial-events-end"}), "true");
  EXPECT_GE(Rv(ev.at("object")), rv);
}

TEST(WatchCacheHttpTest, ResourceVersionMatchCombinationsAreRefusedAsUpstream) {
  Server server;
  auto expect = [&](const std::string& query, int code, const std::string& text) {
    Reply r = Call(server.port(), "GET", kConfigMaps + "?" + query);
    EXPECT_EQ(r.status, code) << query;
    EXPECT_NE(Str(r.body, {"message"}).find(text), std::string::npos)
        << query << ": " << json::serialize(r.body);
  };
  expect("resourceVersionMatch=NotOlderThan", 422,
         "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
         "resourceVersionMatch is forbidden unless resourceVersion is provided");
  expect("resourceVersionMatch=Exact&resourceVersion=0", 422,
         "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
  expect("resourceVersionMatch=Sometimes&resourceVersion=3", 422,
         "Unsupported value: \"Sometimes\"");
  expect("watch=true&resourceVersionMatch=NotOlderThan&resourceVersion=3", 422,
         "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided");
  expect("watch=true&sendInitialEvents=true", 422,
         "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
  expect("resourceVersion=abc", 400, "invalid resourceVersion: abc");
  expect("continue=5%7C%2Fx&resourceVersion=5", 400,
         "specifying resource version is not allowed when using continue");
  // A revision nobody has written yet.
  expect("resourceVersion=999999&resourceVersionMatch=NotOlderThan", 504,
         "Too large resource version: 999999");
}

TEST(WatchCacheHttpTest, ConsistentListsReadTheirWrites) {
  Server server;
  for (int i = 0; i < 30; ++i) {
    Reply c = Call(server.port(), "POST", kConfigMaps, ConfigMap("x" + std::to_string(i), "v"));
    ASSERT_EQ(c.status, 201);
    Reply l = Call(server.port(), "GET", kConfigMaps + "?labelSelector=");
    ASSERT_EQ(l.status, 200);
    EXPECT_GE(std::stoll(Str(l.body, {"metadata", "resourceVersion"})), Rv(c.body));
    EXPECT_EQ(l.body.at("items").as_array().size(), static_cast<size_t>(i + 1));
    // An idle resource's list is as new as the write elsewhere.
    Reply s = Call(server.port(), "GET", "/api/v1/secrets");
    EXPECT_GE(std::stoll(Str(s.body, {"metadata", "resourceVersion"})), Rv(c.body));
  }
}

TEST(WatchCacheHttpTest, ExactListsComeFromTheCacheOrTheStoreAndTooOldIsExpired) {
  apiserver::ApiServerOptions opts;
  opts.watch_cache_ring = 8;
  Server server(opts);
  Reply a = Call(server.port(), "POST", kConfigMaps, ConfigMap("a", "1"));
  int64_t at = Rv(a.body);
  ListRevision(server.port());  // starts the cache
  Call(server.port(), "PUT", kConfigMaps + "/a", ConfigMap("a", "2"));
  Call(server.port(), "POST", kConfigMaps, ConfigMap("b", "1"));
  auto exact = [&](int64_t rv) {
    return Call(server.port(), "GET", kConfigMaps + "?resourceVersionMatch=Exact&resourceVersion=" +
                                          std::to_string(rv));
  };
  Reply r = exact(at);
  ASSERT_EQ(r.status, 200) << json::serialize(r.body);
  EXPECT_EQ(Str(r.body, {"metadata", "resourceVersion"}), std::to_string(at));
  ASSERT_EQ(r.body.at("items").as_array().size(), 1u);
  EXPECT_EQ(Str(r.body.at("items").as_array()[0], {"data", "v"}), "1");
  // Past the ring: read from the store; compacted there: 410.
  for (int i = 0; i < 20; ++i) Call(server.port(), "PUT", kConfigMaps + "/b", ConfigMap("b", std::to_string(i)));
  r = exact(at);
  ASSERT_EQ(r.status, 200) << json::serialize(r.body);
  EXPECT_EQ(Str(r.body.at("items").as_array()[0], {"data", "v"}), "1");
  ASSERT_TRUE(server.store()->Compact(ListRevision(server.port())).ok());
  r = exact(at);
  EXPECT_EQ(r.status, 410);
  EXPECT_EQ(Str(r.body, {"reason"}), "Expired");
  EXPECT_EQ(Str(r.body, {"message"}), "The resourceVersion for the provided list is too old.");
}

TEST(WatchCacheHttpTest, AWatcherThatDoesNotReadIsClosedAndOthersCarryOn) {
  apiserver::ApiServerOptions opts;
  opts.max_watcher_backlog = 256 * 1024;
  Server server(opts);
  int64_t start = ListRevision(server.port());
  std::string from = std::to_string(start);
  HttpStream stuck(server.port(), "GET", kConfigMaps + "?watch=true&resourceVersion=" + from);
  ASSERT_EQ(stuck.status(), 200);
  std::atomic<int> seen{0};
  std::thread reader([&] {
    HttpStream w(server.port(), "GET", kConfigMaps + "?watch=true&resourceVersion=" + from);
    while (seen < 400 && w.NextLine(10s)) ++seen;
  });
  // 400 objects of 30 KB: far more than socket buffers and the backlog bound hold.
  std::string big(30000, 'z');
  for (int i = 0; i < 400; ++i) {
    ASSERT_EQ(Call(server.port(), "POST", kConfigMaps, ConfigMap("big" + std::to_string(i), big)).status,
              201);
  }
  reader.join();
  EXPECT_EQ(seen.load(), 400);
  // The stuck watcher's stream was ended short of everything.
  int got = 0;
  while (stuck.NextLine(3s)) ++got;
  EXPECT_TRUE(stuck.ended());
  EXPECT_LT(got, 400);
  HttpStream m(server.port(), "GET", "/metrics");
  EXPECT_NE(m.Body().find("apiserver_terminated_watchers_total{resource=\"configmaps\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace keelson
