// `keelson store`: the embedded store behind the etcd v3 API, for etcd clients and for
// keelson servers that run against "etcd". Flags follow etcd's names and meanings.
#include <signal.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <string_view>

#include "cmd/commands.h"
#include "store/etcdserver/etcd_server.h"
#include "store/mvcc/embedded_store.h"

namespace keelson::cmd {
namespace {

constexpr const char* kUsage = R"(Usage: keelson store [flags]

Serves keelson's embedded store over the etcd v3 gRPC API (as a one-member etcd 3.4).

Flags:
  --listen-client-urls URL           http://127.0.0.1:PORT to serve on (port 0 picks one)
                                     (default http://127.0.0.1:2379)
  --data-dir DIR                     where the store keeps its data (required)
  --quota-backend-bytes N            largest database size; writes past it fail with
                                     "etcdserver: mvcc: database space exceeded" (default 8 GiB)
  --max-request-bytes N              largest request accepted (default 1572864)
  --auto-compaction-retention D      history to keep: a Go duration (5m, 1h30m) or a number of
                                     hours as etcd reads it; 0 disables (default 5m)
  --experimental-watch-progress-notify-interval D
                                     how often progress_notify watches hear from an idle store
                                     (default 10m)
  -h, --help                         show this help
)";

struct Flags {
  std::string listen_url = "http://127.0.0.1:2379";
  std::string data_dir;
  int64_t quota_bytes = int64_t{8} << 30;
  int64_t max_request_bytes = 1536 * 1024;
  std::chrono::milliseconds retention{std::chrono::minutes(5)};
  std::chrono::milliseconds progress_interval{std::chrono::minutes(10)};
};

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (INT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// A Go duration ("1h30m", "5m", "90s", "500ms"); a bare number means hours, as etcd's
// periodic auto-compaction reads it.
bool ParseDuration(std::string_view s, std::chrono::milliseconds* out) {
  int64_t hours = 0;
  if (ParseInt(s, &hours)) {
    *out = std::chrono::hours(hours);
    return true;
  }
  if (s.empty()) return false;
  double total_ms = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return false;
    double num = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && s[j] >= 'a' && s[j] <= 'z') ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    if (unit == "h") total_ms += num * 3600e3;
    else if (unit == "m") total_ms += num * 60e3;
    else if (unit == "s") total_ms += num * 1e3;
    else if (unit == "ms") total_ms += num;
    else return false;
  }
  *out = std::chrono::milliseconds(static_cast<int64_t>(total_ms));
  return true;
}

int Fail(const std::string& msg) {
  std::cerr << "keelson store: " << msg << "\n";
  return 1;
}

// "http://127.0.0.1:PORT" -> "127.0.0.1:PORT".
bool ListenAddress(const std::string& url, std::string* address, std::string* error) {
  if (url.find(',') != std::string::npos) {
    *error = "--listen-client-urls: only one URL is supported: " + url;
    return false;
  }
  if (url.rfind("https://", 0) == 0) {
    *error = "--listen-client-urls: TLS is not supported yet: " + url;
    return false;
  }
  if (url.rfind("http://", 0) != 0) {
    *error = "--listen-client-urls: want http://HOST:PORT, got " + url;
    return false;
  }
  std::string rest = url.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  int64_t port = 0;
  if (colon == std::string::npos || colon == 0 || !ParseInt(rest.substr(colon + 1), &port) ||
      port > 65535) {
    *error = "--listen-client-urls: want http://HOST:PORT, got " + url;
    return false;
  }
  *address = rest;
  return true;
}

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

}  // namespace

int RunStoreCommand(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    }
    std::string name = arg, value;
    bool has_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    auto take = [&]() -> bool {
      if (has_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    if (name == "--listen-client-urls") {
      if (!take()) return Fail("--listen-client-urls needs a value");
      f.listen_url = value;
    } else if (name == "--data-dir") {
      if (!take()) return Fail("--data-dir needs a value");
      f.data_dir = value;
    } else if (name == "--quota-backend-bytes") {
      if (!take() || !ParseInt(value, &f.quota_bytes) || f.quota_bytes <= 0) {
        return Fail("--quota-backend-bytes needs a positive number of bytes");
      }
    } else if (name == "--max-request-bytes") {
      if (!take() || !ParseInt(value, &f.max_request_bytes) || f.max_request_bytes <= 0) {
        return Fail("--max-request-bytes needs a positive number of bytes");
      }
    } else if (name == "--auto-compaction-retention") {
      if (!take() || !ParseDuration(value, &f.retention)) {
        return Fail("--auto-compaction-retention needs a duration (5m, 1h) or hours, got '" +
                    value + "'");
      }
    } else if (name == "--experimental-watch-progress-notify-interval") {
      if (!take() || !ParseDuration(value, &f.progress_interval) ||
          f.progress_interval.count() <= 0) {
        return Fail(name + " needs a positive duration, got '" + value + "'");
      }
    } else {
      return Fail("unknown flag " + arg + " (see --help)");
    }
  }
  if (f.data_dir.empty()) return Fail("--data-dir is required (see --help)");
  std::string address, error;
  if (!ListenAddress(f.listen_url, &address, &error)) return Fail(error);

  // Signals are taken by sigwait below; block them before any thread starts so that no
  // other thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::path data_dir = std::filesystem::absolute(f.data_dir, ec);
  if (ec) return Fail("--data-dir " + f.data_dir + ": " + ec.message());

  store::EmbeddedOptions eopts;
  eopts.data_dir = data_dir.string();
  eopts.quota_bytes = f.quota_bytes;
  eopts.limits.max_request_bytes = static_cast<size_t>(f.max_request_bytes);
  eopts.auto_compact_retention =
      std::chrono::duration_cast<std::chrono::seconds>(f.retention);
  auto store = store::OpenEmbeddedStore(eopts);
  if (!store.ok()) return Fail("cannot open the store: " + store.status().ToString());

  store::EtcdServerOptions sopts;
  sopts.listen_address = address;
  sopts.limits = eopts.limits;
  sopts.progress_notify_interval = f.progress_interval;
  sopts.inline_reads = true;  // the embedded store's reads never block
  // Workers only pump watch streams and wait for short commits (lease grants, compaction):
  // one per core is enough, and more only switch contexts under a watch fan-out.
  sopts.worker_threads = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  // Ids stay the same across restarts on the same data.
  sopts.cluster_id = Fnv1a64("keelson-cluster/" + eopts.data_dir);
  sopts.member_id = Fnv1a64("keelson-member/" + eopts.data_dir);
  auto server = store::EtcdServer::Start(**store, sopts);
  if (!server.ok()) return Fail(server.status().ToString());

  std::cout << "keelson store: serving etcd v3 API on " << (*server)->client_url() << std::endl;

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  std::cerr << "keelson store: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
            << " received, shutting down\n";
  (*server)->Shutdown();
  server->reset();
  store->reset();
  return 0;
}

}  // namespace keelson::cmd
